// The admission gate's memory when both generations are full (2 x 65,536 decisions, as
// packages/core/src/overload/admission-gate.ts keeps them): heap used after a GC, before and after.
// Usage: node --expose-gc gate-memory.mjs
gc();
const before = process.memoryUsage().heapUsed;
const current = new Map();
const previous = new Map();
for (let n = 0; n < 65_536; n++) {
  current.set((n * 2654435761) >>> 0, n % 2 === 0);
  previous.set((n * 40503 + 7) >>> 0, false);
}
gc();
console.log(`${((process.memoryUsage().heapUsed - before) / 1e6).toFixed(1)} MB for ${current.size + previous.size} decisions`);
