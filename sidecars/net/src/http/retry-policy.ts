import type { NetLimits } from '../net-limits.js';

/**
 * The delay asked for by a `Retry-After` header, in milliseconds: either delta-seconds or an HTTP
 * date. Returns null for an absent or unreadable value, and 0 for a date in the past.
 */
export function retryAfterMs(value: string | undefined, nowMs: number): number | null {
  if (value === undefined) return null;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return null;
  const atMs = Date.parse(text);
  if (Number.isNaN(atMs)) return null;
  return Math.max(0, atMs - nowMs);
}

/**
 * Exponential backoff with equal jitter: retry `n` (0-based) waits between half and all of
 * `retryBaseDelayMs * 2^n`, capped at `retryDelayMsMax`. `random` returns a number in [0, 1).
 */
export function backoffDelayMs(retry: number, limits: NetLimits, random: () => number = Math.random): number {
  const ceiling = Math.min(limits.retryDelayMsMax, limits.retryBaseDelayMs * 2 ** Math.min(retry, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Whether an HTTP status is worth another attempt: 429 and every 5xx. Other 4xx never are. */
export function isRetryableStatus(statusCode: number): boolean {
  return statusCode === 429 || (statusCode >= 500 && statusCode <= 599);
}

/** Whether a status may carry a `Retry-After` the sidecar honours (429 and 503). */
export function honoursRetryAfter(statusCode: number): boolean {
  return statusCode === 429 || statusCode === 503;
}
