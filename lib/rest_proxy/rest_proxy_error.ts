/**
 * The error a REST Proxy client raises for a non-2xx answer or an unreachable proxy. Of an
 * error body only the first 8 KiB are read (`lib/cli/bounded_body.ts`); the `Retry-After`
 * of a 429 or 503 is kept, clamped to 0.5 s – 5 min (`lib/cli/server_delay.ts`).
 *
 * @module
 */
import { readErrorText } from "../cli/bounded_body.ts";
import { parseRetryAfter } from "../cli/server_delay.ts";

/** Options for {@linkcode RestProxyError}. */
export interface RestProxyErrorOptions extends ErrorOptions {
  /** The clamped `Retry-After` of the answer, in milliseconds. */
  retryAfterMs?: number;
}

/** A REST Proxy answered with an error body (`{"error_code", "message"}`) or not at all. */
export class RestProxyError extends Error {
  /** HTTP status, or 0 when the proxy could not be reached. */
  readonly status: number;
  /** The body's `error_code` (for example 40403), or the status when there was none. */
  readonly errorCode: number;
  /**
   * How long the proxy asked to wait (`Retry-After` of a 429 or 503, clamped to
   * 0.5 s – 5 min), when it said; a retry waits at least this long.
   */
  readonly retryAfterMs: number | undefined;

  /**
   * Creates a `RestProxyError`.
   *
   * @param message what failed, with the proxy's own message
   * @param status HTTP status (0 for network errors)
   * @param errorCode Kafka REST error code
   * @param options the cause and the `Retry-After` delay
   */
  constructor(
    message: string,
    status: number,
    errorCode: number,
    options?: RestProxyErrorOptions,
  ) {
    super(message, options);
    this.name = "RestProxyError";
    this.status = status;
    this.errorCode = errorCode;
    this.retryAfterMs = options?.retryAfterMs;
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
 * Builds a {@linkcode RestProxyError} from an error response, reading at most the first
 * 8 KiB of its body (the rest is cancelled unread).
 *
 * @param what the action that failed, for example `Cannot commit offsets`
 * @param response the error response
 * @param nowMs the current time, for a `Retry-After` HTTP-date @default Date.now()
 * @returns the error to throw
 */
export async function restProxyErrorFrom(
  what: string,
  response: Response,
  nowMs: number = Date.now(),
): Promise<RestProxyError> {
  const text = await readErrorText(response);
  let code = response.status;
  let message = text.slice(0, 500);
  try {
    const body = JSON.parse(text) as { error_code?: unknown; message?: unknown };
    if (typeof body.error_code === "number") code = body.error_code;
    if (typeof body.message === "string") message = body.message;
  } catch {
    // not JSON (406 has an empty body): keep the raw text
  }
  const retryAfterMs = response.status === 429 || response.status === 503
    ? parseRetryAfter(response.headers.get("retry-after"), nowMs)
    : undefined;
  return new RestProxyError(
    `${what}: HTTP ${response.status}, error_code ${code}: ${
      message.slice(0, 500) || "(empty body)"
    }`,
    response.status,
    code,
    retryAfterMs === undefined ? {} : { retryAfterMs },
  );
}
