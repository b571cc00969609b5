/**
 * {@linkcode RestAccessError}: the REST Proxy refused who we are (401, 403) or the TLS
 * handshake with it failed. Both are the operator's to fix, so the program stops with exit
 * code 2 instead of retrying.
 *
 * @module
 */
import { UsageError } from "../cli/usage_error.ts";

/** The proxy refused our credentials, or TLS to it failed: a configuration error (exit 2). */
export class RestAccessError extends UsageError {
  /** HTTP status of a refusal (401, 403), or 0 for a TLS failure. */
  readonly status: number;

  /**
   * Creates the error.
   *
   * @param message what failed, for which URL, and which variables to set
   * @param status the HTTP status, 0 for a TLS failure
   * @param options the cause
   */
  constructor(message: string, status: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "RestAccessError";
    this.status = status;
  }
}
