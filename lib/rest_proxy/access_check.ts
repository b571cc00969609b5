/**
 * {@linkcode checkRestAccess}: one cheap call to the REST Proxy at start (`GET /topics`,
 * which Confluent's proxy, Redpanda's and the local broker all serve, or `GET /v3/clusters`
 * for the v3 API of Confluent Cloud), so wrong credentials or
 * a TLS problem stop the program at once, not when the first batch is ready, which on a
 * filtered stream may be minutes later. A proxy that is down or slow only warns: the program
 * retries its own calls.
 *
 * @module
 */
import { readErrorText } from "../cli/bounded_body.ts";
import { describeError, type Logger } from "../cli/log.ts";
import type { RestAccess } from "./rest_access.ts";
import { RestAccessError } from "./rest_access_error.ts";
import { V2_JSON } from "./rest_proxy_media.ts";

/** Options for {@linkcode checkRestAccess}. */
export interface RestAccessCheckOptions {
  /** Logger for the outcome. */
  log: Logger;
  /** Aborts the check (the program's stop signal). */
  signal: AbortSignal;
  /** Longest wait for the answer. @default 10000 */
  timeoutMs?: number;
  /** The path asked, relative to `KAFKA_REST_URL`. @default "topics" */
  path?: string;
}

/**
 * Calls `GET <KAFKA_REST_URL>/topics` (or `options.path`) through the access and says how it
 * went.
 *
 * @param access the REST Proxy access
 * @param options logger, stop signal and timeout
 * @returns whether the proxy answered 2xx (false when it could not be asked or the signal
 *   aborted the check)
 * @throws {RestAccessError} when the proxy refuses the credentials (401) or TLS fails
 */
export async function checkRestAccess(
  access: RestAccess,
  options: RestAccessCheckOptions,
): Promise<boolean> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const base = access.url.href.endsWith("/") ? access.url : `${access.url}/`;
  const url = new URL(options.path ?? "topics", base);
  try {
    const response = await access.fetch(url, {
      headers: { accept: options.path?.startsWith("v3/") ? "application/json" : V2_JSON },
      signal: AbortSignal.any([options.signal, timeout]),
    });
    const text = await readErrorText(response);
    if (response.ok) {
      options.log.debug("REST Proxy access checked", { status: response.status });
      return true;
    }
    options.log.warn("REST Proxy answered the access check with an error: going on", {
      status: response.status,
      body: text.slice(0, 200),
    });
  } catch (error) {
    // a stop during the check is a stop like any other: the program winds down as usual
    if (options.signal.aborted) return false;
    // a 403 on listing topics may still allow producing to ours: the first call will tell
    if (error instanceof RestAccessError && error.status !== 403) throw error;
    options.log.warn("cannot check the REST Proxy at start: going on, calls are retried", {
      error: describeError(error),
    });
  }
  return false;
}
