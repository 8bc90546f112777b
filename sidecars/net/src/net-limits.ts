/** Every bound the net sidecar applies to one provider call, with the unit last in each name. */
export interface NetLimits {
  /** Time allowed to open a TCP (and TLS) connection to the provider. */
  readonly connectTimeoutMs: number;
  /** Time allowed between sending a request and receiving the response headers. */
  readonly headersTimeoutMs: number;
  /** Time allowed between two chunks of the response body (a stalled stream). */
  readonly bodyTimeoutMs: number;
  /** Time allowed for a whole call, retries and waits included. */
  readonly callTimeoutMs: number;
  /** Largest response body read from a provider; a longer one is aborted. */
  readonly responseBytesMax: number;
  /** Largest error body read to explain a failed status. */
  readonly errorBodyBytesMax: number;
  /** Largest single server-sent event (all of its `data:` lines together). */
  readonly sseEventBytesMax: number;
  /** Retries after the first attempt, for 429, 5xx and connection failures. */
  readonly retriesMax: number;
  /** First backoff delay; it doubles on each retry, with jitter. */
  readonly retryBaseDelayMs: number;
  /** Largest backoff delay computed without a `Retry-After` header. */
  readonly retryDelayMsMax: number;
  /** Longest `Retry-After` the sidecar honours; a longer one fails the call at once. */
  readonly retryAfterMsMax: number;
  /** `max_tokens` sent to a provider that requires one when the call gives none. */
  readonly defaultMaxTokens: number;
}

/** Defaults for {@link NetLimits}. */
export const defaultNetLimits: NetLimits = {
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 120_000,
  bodyTimeoutMs: 120_000,
  callTimeoutMs: 600_000,
  responseBytesMax: 8 * 1024 * 1024,
  errorBodyBytesMax: 16 * 1024,
  sseEventBytesMax: 1024 * 1024,
  retriesMax: 3,
  retryBaseDelayMs: 500,
  retryDelayMsMax: 8_000,
  retryAfterMsMax: 60_000,
  defaultMaxTokens: 4_096,
};

/** The names of {@link NetLimits}, for validating configuration. */
export const netLimitNames = Object.keys(defaultNetLimits) as (keyof NetLimits)[];
