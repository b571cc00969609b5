/**
 * {@linkcode fetchClusterId}: the Kafka cluster id a v3 produce URL needs, from
 * `GET {base}/v3/clusters` (`data[0].cluster_id`, contract §3.1), for producers that were not
 * given `KAFKA_REST_CLUSTER_ID`. The answer is read with a 64 KiB cap.
 *
 * @module
 */
import { BodyTooLargeError, readBoundedText } from "../cli/bounded_body.ts";
import { redactUrl, redactUrlsInText } from "../cli/redact_url.ts";
import { RestProxyError, restProxyErrorFrom } from "./rest_proxy_error.ts";

/** The largest `GET /v3/clusters` answer read. */
export const CLUSTER_LIST_MAX_BYTES = 64 * 1024;

/** Options for {@linkcode fetchClusterId}. */
export interface FetchClusterIdOptions {
  /** The fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Deadline of the request in milliseconds. @default 30000 */
  timeoutMs?: number;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/**
 * Joins a path to a base URL, keeping the base's own path (`https://h/kafka` + `v3/clusters`
 * is `https://h/kafka/v3/clusters`).
 *
 * @param base the REST Proxy base URL
 * @param path a relative path without a leading slash
 * @returns the URL
 */
export function underBase(base: URL | string, path: string): URL {
  const url = new URL(base);
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return new URL(path, url);
}

/**
 * Asks the REST Proxy for its cluster id.
 *
 * @param baseUrl the REST Proxy base URL (with its base path, for example `…/kafka`)
 * @param options fetch, deadline and signal
 * @returns `data[0].cluster_id`
 * @throws {RestProxyError} for an error answer, an unreachable proxy (status 0) or an answer
 *   without a cluster id (502)
 */
export async function fetchClusterId(
  baseUrl: URL | string,
  options: FetchClusterIdOptions = {},
): Promise<string> {
  const url = underBase(baseUrl, "v3/clusters");
  const shown = redactUrl(url);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const what = `Cannot find the Kafka cluster id at "${shown}"`;
  let response: Response;
  try {
    response = await (options.fetch ?? globalThis.fetch)(url, {
      headers: { accept: "application/json" },
      signal,
    });
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    const why = timeout.aborted ? `timed out after ${timeoutMs} ms` : "unreachable";
    throw new RestProxyError(
      `${what}: ${why}: ${
        redactUrlsInText(error instanceof Error ? error.message : String(error))
      }; check KAFKA_REST_URL (Confluent Cloud: https://<cluster endpoint>:443/kafka)`,
      0,
      0,
      { cause: error },
    );
  }
  if (!response.ok) throw await restProxyErrorFrom(what, response);
  let id: unknown;
  try {
    const list = JSON.parse(await readBoundedText(response, CLUSTER_LIST_MAX_BYTES));
    id = list?.data?.[0]?.cluster_id;
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    const why = error instanceof BodyTooLargeError
      ? `the answer is larger than ${CLUSTER_LIST_MAX_BYTES} bytes`
      : "the answer is not JSON";
    throw new RestProxyError(`${what}: ${why}; set KAFKA_REST_CLUSTER_ID`, 502, 502, {
      cause: error,
    });
  }
  if (typeof id !== "string" || id === "") {
    throw new RestProxyError(
      `${what}: the answer has no data[0].cluster_id; is KAFKA_REST_URL a REST Proxy with the ` +
        "v3 API? Set KAFKA_REST_CLUSTER_ID to skip this request",
      502,
      502,
    );
  }
  return id;
}
