/**
 * Delays a peer asks for (an SSE `retry:` field, a `Retry-After` header in seconds or as an
 * HTTP-date) are never trusted as given: {@linkcode clampServerDelay} keeps every one within
 * {@linkcode SERVER_DELAY_MIN_MS} – {@linkcode SERVER_DELAY_MAX_MS}, so a hostile or broken
 * peer can neither cause a hot reconnect loop (`retry: 0`, or `retry: 3000000000`, which
 * overflows `setTimeout` into a 1 ms timer) nor park a client for weeks.
 *
 * @module
 */

/** The shortest delay a peer may ask for, in milliseconds (0.5 s). */
export const SERVER_DELAY_MIN_MS = 500;
/** The longest delay a peer may ask for, in milliseconds (5 min). */
export const SERVER_DELAY_MAX_MS = 300_000;

const SECONDS_REGEXP = /^\d+$/;
/** An HTTP-date starts with a weekday name (IMF-fixdate, RFC 850 and asctime forms). */
const HTTP_DATE_START_REGEXP = /^[A-Za-z]{3,9},? /;

/**
 * Keeps a delay asked for by a peer within {@linkcode SERVER_DELAY_MIN_MS} –
 * {@linkcode SERVER_DELAY_MAX_MS}.
 *
 * @param ms the delay the peer asked for (any number, `Infinity` included)
 * @returns the delay to use
 * @example Usage
 * ```ts
 * import { clampServerDelay } from "./server_delay.ts";
 * clampServerDelay(3_000_000_000); // 300000
 * clampServerDelay(0); // 500
 * ```
 */
export function clampServerDelay(ms: number): number {
  if (Number.isNaN(ms)) return SERVER_DELAY_MIN_MS;
  return Math.min(SERVER_DELAY_MAX_MS, Math.max(SERVER_DELAY_MIN_MS, Math.round(ms)));
}

/**
 * Reads a `Retry-After` header (RFC 9110 §10.2.3: delay-seconds or an HTTP-date), clamped
 * with {@linkcode clampServerDelay}.
 *
 * @param value the header value, or `null` when absent
 * @param nowMs the current time, for an HTTP-date
 * @returns the delay in milliseconds, or `undefined` when the header is absent or unreadable
 * @example Usage
 * ```ts
 * import { parseRetryAfter } from "./server_delay.ts";
 * parseRetryAfter("7", 0); // 7000
 * parseRetryAfter("Thu, 01 Jan 1970 00:00:20 GMT", 0); // 20000
 * parseRetryAfter("soon", 0); // undefined
 * ```
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (text === "") return undefined;
  if (SECONDS_REGEXP.test(text)) return clampServerDelay(Number(text) * 1000);
  if (!HTTP_DATE_START_REGEXP.test(text)) return undefined;
  // HTTP-dates are in GMT; the asctime form does not say so
  const at = Date.parse(/ (GMT|UTC)$/i.test(text) ? text : `${text} GMT`);
  if (!Number.isFinite(at)) return undefined;
  return clampServerDelay(at - nowMs);
}
