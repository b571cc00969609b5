/**
 * The error a REST Proxy client raises for a non-2xx answer or an unreachable proxy.
 *
 * @module
 */

/** A REST Proxy answered with an error body (`{"error_code", "message"}`) or not at all. */
export class RestProxyError extends Error {
  /** HTTP status, or 0 when the proxy could not be reached. */
  readonly status: number;
  /** The body's `error_code` (for example 40403), or the status when there was none. */
  readonly errorCode: number;

  /**
   * Creates a `RestProxyError`.
   *
   * @param message what failed, with the proxy's own message
   * @param status HTTP status (0 for network errors)
   * @param errorCode Kafka REST error code
   * @param options the cause
   */
  constructor(message: string, status: number, errorCode: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "RestProxyError";
    this.status = status;
    this.errorCode = errorCode;
  }

  /** True for network errors, timeouts, 429, 5xx and 50003: worth retrying with backoff. */
  get retriable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500 ||
      this.errorCode === 50003 || this.status === 408;
  }

  /** True when the consumer instance is gone (expired or proxy restarted). */
  get instanceGone(): boolean {
    return this.errorCode === 40403 && !/topic|partition/i.test(this.message);
  }
}

/**
 * Builds a {@linkcode RestProxyError} from an error response, consuming its body.
 *
 * @param what the action that failed, for example `Cannot commit offsets`
 * @param response the error response
 * @returns the error to throw
 */
export async function restProxyErrorFrom(
  what: string,
  response: Response,
): Promise<RestProxyError> {
  const text = await response.text().catch(() => "");
  let code = response.status;
  let message = text.slice(0, 500);
  try {
    const body = JSON.parse(text) as { error_code?: unknown; message?: unknown };
    if (typeof body.error_code === "number") code = body.error_code;
    if (typeof body.message === "string") message = body.message;
  } catch {
    // not JSON (406 has an empty body): keep the raw text
  }
  return new RestProxyError(
    `${what}: HTTP ${response.status}, error_code ${code}: ${message || "(empty body)"}`,
    response.status,
    code,
  );
}
