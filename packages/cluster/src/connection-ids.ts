/**
 * Connection ids unique across the workers of a model: the high part is the origin (0 for the
 * supervisor, a fresh number for every worker started, replacements included), the low 32 bits a
 * counter. Ids stay exact integers in a double up to origin 2^21.
 */
const ORIGIN_SCALE = 2 ** 32;

export function connectionIdAllocator(origin: number): () => number {
  let counter = 0;
  return () => origin * ORIGIN_SCALE + (++counter % ORIGIN_SCALE);
}

export function originOf(connectionId: number): number {
  return Math.floor(connectionId / ORIGIN_SCALE);
}
