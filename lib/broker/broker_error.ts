/**
 * The error the local broker's handlers throw to answer with a REST Proxy error body
 * (`{"error_code", "message"}`) and an HTTP status.
 *
 * @module
 */

/** An error answered as `{"error_code": errorCode, "message": message}` with `status`. */
export class BrokerError extends Error {
  /** HTTP status. */
  readonly status: number;
  /** REST Proxy error code (plain status or 5-digit code). */
  readonly errorCode: number;

  /**
   * Creates a `BrokerError`.
   *
   * @param status HTTP status
   * @param errorCode REST Proxy error code
   * @param message the body's message, worded like the Confluent proxy's
   */
  constructor(status: number, errorCode: number, message: string) {
    super(message);
    this.name = "BrokerError";
    this.status = status;
    this.errorCode = errorCode;
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
