/** The kit's time bounds, with the unit last in each name. */
export interface ConformanceLimits {
  /** Time a helper has to answer one request. */
  readonly responseTimeoutMs: number;
  /** Time a helper has to exit after its stdin closes (the protocol's rule). */
  readonly eofExitMs: number;
  /** Time a helper has to answer or close after a broken or oversized frame. */
  readonly refusalTimeoutMs: number;
  /** Time during which a second response to a cancelled request is watched for. */
  readonly duplicateWatchMs: number;
  /** Scenarios run at once (each in its own process, except the shared fixture session). */
  readonly concurrency: number;
}

/** Defaults for {@link ConformanceLimits}. */
export const defaultConformanceLimits: ConformanceLimits = {
  responseTimeoutMs: 10_000,
  eofExitMs: 2_000,
  refusalTimeoutMs: 5_000,
  duplicateWatchMs: 300,
  concurrency: 2,
};
