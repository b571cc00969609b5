/**
 * {@linkcode RestV3ProducerClient}: produces records through the REST Proxy v3 API
 * (`POST {base}/v3/clusters/{id}/topics/{topic}/records`, contract §3.2), the produce API of
 * Confluent Cloud. It implements the same {@linkcode RecordSink} as the v2 client, so the
 * sender's retry and dead-letter rules apply unchanged.
 *
 * One request per batch, in the streaming form: the body is the batch's records as
 * concatenated JSON objects (`v3_produce_format.ts`, sent with a `Content-Length`), and the
 * answer is one delivery report per record, in order, read as it streams in. A report maps to
 * the record at its position; records whose report never came (the answer ended early, the
 * connection broke, the deadline passed) are failed-retriable (50003), never acknowledged,
 * so they are sent again: nothing is lost and a duplicate is at most one batch. A request
 * the proxy refuses as a whole (404 unknown cluster or topic, 401, 415, 422 ...) raises a
 * {@linkcode RestProxyError} like the v2 client.
 *
 * The cluster id is `clusterId`, or `data[0].cluster_id` of `GET {base}/v3/clusters`, asked
 * before the first produce and kept (asked again only if that request failed). The answer
 * is read with caps: 64 KiB per report and {@linkcode produceAnswerMaxBytes} in all.
 *
 * @module
 */
import { redactUrl, redactUrlsInText } from "../cli/redact_url.ts";
import { JsonObjectSplitter } from "./json_object_splitter.ts";
import {
  produceAnswerMaxBytes,
  type ProduceRecord,
  type ProduceResponse,
  type RecordResult,
  type RecordSink,
} from "./rest_producer_client.ts";
import { RestProxyError, restProxyErrorFrom } from "./rest_proxy_error.ts";
import { fetchClusterId, underBase } from "./v3_cluster_id.ts";
import {
  buildV3ProduceBody,
  failedRetriable,
  recordResultFromReport,
} from "./v3_produce_format.ts";

/** The longest delivery report read. */
export const REPORT_MAX_BYTES = 64 * 1024;

/** Options for {@linkcode RestV3ProducerClient}. */
export interface RestV3ProducerClientOptions {
  /** Base URL of the REST Proxy with its base path, for example `https://pkc-x:443/kafka`. */
  baseUrl: URL | string;
  /** Topic to produce to. */
  topic: string;
  /** Kafka cluster id. @default data[0].cluster_id of `GET {baseUrl}/v3/clusters` */
  clusterId?: string;
  /** Deadline of one request (cluster id, or one batch and its reports) in ms. @default 30000 */
  requestTimeoutMs?: number;
  /**
   * The fetch implementation (authentication and TLS go here); it must take its copy of the
   * body before it returns (one buffer is reused for every request body).
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
}

/** A REST Proxy v3 produce client. */
export class RestV3ProducerClient implements RecordSink {
  readonly #base: URL;
  readonly #topic: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  #clusterId: Promise<string> | undefined;
  #scratch = new Uint8Array(0);

  /**
   * Creates a `RestV3ProducerClient`.
   *
   * @param options proxy URL, topic, cluster id, timeout and fetch
   */
  constructor(options: RestV3ProducerClientOptions) {
    this.#base = new URL(options.baseUrl);
    this.#topic = options.topic;
    this.#timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#fetch = options.fetch ?? globalThis.fetch;
    if (options.clusterId !== undefined) this.#clusterId = Promise.resolve(options.clusterId);
  }

  /**
   * The produce endpoint (asks for the cluster id first when it is not known yet).
   *
   * @param signal aborts the cluster id request
   * @returns the URL records are posted to
   * @throws {RestProxyError} when the cluster id cannot be found
   */
  async url(signal?: AbortSignal): Promise<URL> {
    const id = await this.clusterId(signal);
    return underBase(
      this.#base,
      `v3/clusters/${encodeURIComponent(id)}/topics/${encodeURIComponent(this.#topic)}/records`,
    );
  }

  /**
   * The cluster id: the configured one, or the proxy's (asked once; again after a failure).
   *
   * @param signal aborts the request
   * @returns the cluster id
   * @throws {RestProxyError} when the proxy cannot tell it
   */
  clusterId(signal?: AbortSignal): Promise<string> {
    if (this.#clusterId === undefined) {
      const asked = fetchClusterId(this.#base, {
        fetch: this.#fetch,
        timeoutMs: this.#timeoutMs,
        ...(signal ? { signal } : {}),
      });
      this.#clusterId = asked;
      asked.catch(() => {
        if (this.#clusterId === asked) this.#clusterId = undefined;
      });
    }
    return this.#clusterId;
  }

  /**
   * Produces records in one streaming request.
   *
   * @param records the records, at least one
   * @param signal aborts the request
   * @returns one result per record, in request order
   * @throws {RestProxyError} when the request is refused as a whole or the proxy is unreachable
   */
  async produce(records: readonly ProduceRecord[], signal?: AbortSignal): Promise<ProduceResponse> {
    if (records.length === 0) {
      throw new RangeError("Cannot produce an empty batch: at least one record is required");
    }
    const url = await this.url(signal);
    const shown = redactUrl(url);
    const body = buildV3ProduceBody(records, (size) => {
      if (this.#scratch.length < size) {
        this.#scratch = new Uint8Array(
          Math.max(size, Math.min(2 * this.#scratch.length, 1 << 26)),
        );
      }
      return this.#scratch;
    });
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const requestSignal = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body,
        signal: requestSignal,
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const what = timeout.aborted ? `timed out after ${this.#timeoutMs} ms` : "unreachable";
      throw new RestProxyError(
        `Cannot produce to "${shown}": ${what}: ${
          redactUrlsInText(error instanceof Error ? error.message : String(error))
        }; check that the REST Proxy runs and KAFKA_REST_URL points at it`,
        0,
        0,
        { cause: error },
      );
    }
    if (!response.ok) {
      const error = await restProxyErrorFrom(`Cannot produce to "${shown}"`, response);
      if (response.status !== 404) throw error;
      throw new RestProxyError(
        `${error.message}; v3 produce does not create topics: create "${this.#topic}" ` +
          "(KAFKA_TOPIC) first, and check KAFKA_REST_CLUSTER_ID and the /kafka path of " +
          "KAFKA_REST_URL",
        error.status,
        error.errorCode,
      );
    }
    const results = await this.#readReports(response, records.length);
    if (signal?.aborted) throw signal.reason;
    return { results, requestBytes: body.length };
  }

  /** Reads one report per record; records without one are failed-retriable. */
  async #readReports(response: Response, expected: number): Promise<RecordResult[]> {
    const results: RecordResult[] = [];
    const limit = produceAnswerMaxBytes(expected);
    const splitter = new JsonObjectSplitter(REPORT_MAX_BYTES);
    const utf8 = new TextDecoder();
    let why = "the answer ended";
    let read = 0;
    const reader = response.body?.getReader();
    try {
      while (reader && results.length < expected) {
        const { done, value } = await reader.read();
        if (done) {
          if (splitter.end()) why = splitter.error!.message;
          break;
        }
        read += value.length;
        for (const report of splitter.push(value)) {
          if (results.length === expected) break;
          let parsed: unknown;
          try {
            parsed = JSON.parse(utf8.decode(report));
          } catch {
            parsed = undefined;
          }
          results.push(
            parsed === undefined
              ? failedRetriable("the delivery report is not JSON")
              : recordResultFromReport(parsed),
          );
        }
        if (splitter.error) {
          why = splitter.error.message;
          break;
        }
        if (read > limit && results.length < expected) {
          why = `the answer is larger than ${limit} bytes`;
          break;
        }
      }
    } catch (error) {
      why = `the answer broke off (${
        redactUrlsInText(error instanceof Error ? error.message : String(error))
      })`;
    } finally {
      await reader?.cancel().catch(() => {});
    }
    const got = results.length;
    while (results.length < expected) {
      results.push(
        failedRetriable(`no delivery report: ${why} after ${got} of ${expected} reports`),
      );
    }
    return results;
  }
}
