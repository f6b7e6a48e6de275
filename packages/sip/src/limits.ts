/**
 * Size limits applied while framing and parsing. A message that breaks one is rejected with a
 * coded error (`ERR_SIP_*_TOO_*`, answered 513 Message Too Large) before any of it is trusted.
 */
export interface SipLimits {
  /** Bytes of start line plus header section, including the final empty line. */
  readonly maxHeaderBytes: number;
  /** Header lines (a folded header counts once; a comma-separated list counts once). */
  readonly maxHeaders: number;
  /** Bytes of body. */
  readonly maxBodyBytes: number;
  /** Bytes of one start line or one header field including its folded continuation lines. */
  readonly maxLineLength: number;
}

export const DEFAULT_LIMITS: SipLimits = Object.freeze({
  maxHeaderBytes: 16 * 1024,
  maxHeaders: 128,
  maxBodyBytes: 64 * 1024,
  maxLineLength: 8 * 1024,
});

/** Fills unset limits with the defaults and checks the given ones are positive integers. */
export function resolveLimits(limits?: Partial<SipLimits>): SipLimits {
  if (limits === undefined) return DEFAULT_LIMITS;
  const resolved = { ...DEFAULT_LIMITS, ...limits };
  for (const [key, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`SIP limit ${key} must be a positive integer, got ${String(value)}`);
    }
  }
  return Object.freeze(resolved);
}
