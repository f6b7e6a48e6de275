/**
 * The one base of Switchboard's errors: a stable `code` from a registry (code → what it means),
 * a message, and a plain form for postMessage and process IPC (`toJSON`), where classes and codes
 * do not survive. Each subclass carries its registry as `static codes`, so the errors doc test can
 * walk every exported error class and its codes both ways (as fastify's errors test does).
 */
export type ErrorRegistry = Readonly<Record<string, string | { readonly description: string }>>;

export class CodedError<C extends string = string> extends Error {
  /** The registry of this class: every code it may carry. Subclasses set their own. */
  static readonly codes: ErrorRegistry = {};
  readonly code: C;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }

  toJSON(): { code: C; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isCodedError(value: unknown): value is CodedError {
  return value instanceof CodedError;
}

/** The plain `{code, message}` of anything thrown: coded errors keep their code, others get `fallback`. */
export function errorRecord(error: unknown, fallback: string): { code: string; message: string } {
  if (error instanceof CodedError) return { code: error.code, message: error.message };
  const code = (error as { code?: unknown } | null)?.code;
  return { code: typeof code === 'string' ? code : fallback, message: error instanceof Error ? error.message : String(error) };
}
