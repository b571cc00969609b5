/**
 * The error the local broker's handlers throw to answer with a REST Proxy error body
 * (`{"error_code", "message"}`) and an HTTP status.
 *
 * @module
 */

/**
 * Why the broker refused a connection or a request because of one of its limits; the
 * metrics count refusals by this reason (`wikistream_broker_refused_total{reason}`).
 */
export type RefusalReason = typeof REFUSAL_REASONS[number];

/** Every {@linkcode RefusalReason}, so that metrics show each from the start. */
export const REFUSAL_REASONS = [
  "connections",
  "header_timeout",
  "body_timeout",
  "body_too_large",
  "buffer_full",
  "topics",
  "partitions",
  "instances",
  "group_instances",
  "descriptors",
] as const;

/** Options for {@linkcode BrokerError}. */
export interface BrokerErrorOptions extends ErrorOptions {
  /** The limit that refused the request, when one did. */
  refusal?: RefusalReason;
  /** Seconds to send in a `Retry-After` header. */
  retryAfterS?: number;
}

/** An error answered as `{"error_code": errorCode, "message": message}` with `status`. */
export class BrokerError extends Error {
  /** HTTP status. */
  readonly status: number;
  /** REST Proxy error code (plain status or 5-digit code). */
  readonly errorCode: number;
  /** The limit that refused the request, when one did. */
  readonly refusal: RefusalReason | undefined;
  /** Seconds for a `Retry-After` header, when the condition is expected to pass. */
  readonly retryAfterS: number | undefined;

  /**
   * Creates a `BrokerError`.
   *
   * @param status HTTP status
   * @param errorCode REST Proxy error code
   * @param message the body's message, worded like the Confluent proxy's
   * @param options the refusing limit, `Retry-After` and cause
   */
  constructor(status: number, errorCode: number, message: string, options?: BrokerErrorOptions) {
    super(message, options);
    this.name = "BrokerError";
    this.status = status;
    this.errorCode = errorCode;
    this.refusal = options?.refusal;
    this.retryAfterS = options?.retryAfterS;
  }
}

/**
 * The 40403 error of every call on an unknown or expired consumer instance.
 *
 * @returns the error
 */
export function instanceNotFound(): BrokerError {
  return new BrokerError(404, 40403, "Consumer instance not found.");
}

/**
 * The 40903 illegal-state error.
 *
 * @param detail what is illegal
 * @returns the error
 */
export function illegalState(detail: string): BrokerError {
  return new BrokerError(409, 40903, `Illegal state: ${detail}`);
}
