/**
 * {@linkcode RestProducerClient}: produces records through the Confluent REST
 * Proxy v2 API (`POST /topics/{topic}`, `application/vnd.kafka.json.v2+json`).
 * Keys and values are UTF-8 JSON bytes: the request body is built by copying
 * them, so an event's JSON is sent exactly as received, never decoded or re-serialised. Answers
 * are mapped to one {@linkcode RecordResult} per record.
 *
 * The pipeline depends only on {@linkcode RecordSink}. With `flavor: "redpanda"`
 * the answer (one entry per partition batch, contract §7) is mapped by
 * `redpandaProduceResults` in `lib/rest_proxy/rest_flavor.ts`: all records acknowledged,
 * or all failed retriable; per-record offsets are then `null`.
 *
 * Answers are read with a cap ({@linkcode produceAnswerMaxBytes}: 64 KiB plus 1 KiB per
 * record; error bodies 8 KiB), so a proxy answering with a huge body cannot grow memory.
 * The proxy URL in messages has its credentials removed.
 *
 * @module
 */
import { BodyTooLargeError, readBoundedText } from "../cli/bounded_body.ts";
import { redactUrl, redactUrlsInText } from "../cli/redact_url.ts";
import { redpandaProduceResults, type RestFlavor } from "./rest_flavor.ts";
import { RestAccessError } from "./rest_access_error.ts";
import { RestProxyError, restProxyErrorFrom } from "./rest_proxy_error.ts";
import { V2_EMBEDDED_JSON, V2_JSON } from "./rest_proxy_media.ts";

/** One record to produce. */
export interface ProduceRecord {
  /**
   * The key as UTF-8 JSON text split in parts that are written one after the other
   * (for example `"`, `en.wikipedia.org`, `/`, `Main Page`, `"`), or `undefined` for a
   * null key. Parts may be views of the event's bytes: nothing is copied until the body is built.
   */
  key: readonly Uint8Array[] | undefined;
  /** The value as UTF-8 JSON text, sent verbatim (do not modify). */
  value: Uint8Array;
}

/** Bytes of a key's JSON text. */
export function keyLength(key: readonly Uint8Array[] | undefined): number {
  if (key === undefined) return 0;
  let n = 0;
  for (let i = 0; i < key.length; i++) n += key[i]!.length;
  return n;
}

/** The outcome for one record, in request order. */
export interface RecordResult {
  /** Partition written to, or `null` on failure. */
  partition: number | null;
  /** Offset written at, or `null` on failure. */
  offset: number | null;
  /** Kafka REST error code (50002 non-retriable, 50003 retriable, ...), or `null` on success. */
  errorCode: number | null;
  /** The error text, or `null`. */
  error: string | null;
}

/** The outcome of one produce request. */
export interface ProduceResponse {
  /** One entry per record, in request order. */
  results: RecordResult[];
  /** Bytes of the request body. */
  requestBytes: number;
}

/** Something records can be produced to; the produce pipeline depends on this only. */
export interface RecordSink {
  /**
   * Produces records in one request.
   *
   * @param records the records, at least one
   * @param signal aborts the request
   * @returns one result per record
   * @throws {RestProxyError} for a failed request (status 0 when unreachable)
   */
  produce(records: readonly ProduceRecord[], signal?: AbortSignal): Promise<ProduceResponse>;
}

/** Options for {@linkcode RestProducerClient}. */
export interface RestProducerClientOptions {
  /** Base URL of the REST Proxy, for example `http://localhost:8082`. */
  baseUrl: URL | string;
  /** Topic to produce to. */
  topic: string;
  /** Per-request deadline in milliseconds. @default 30000 */
  requestTimeoutMs?: number;
  /**
   * The fetch implementation; like `globalThis.fetch` it must take its copy of the body
   * before it returns (the client reuses one buffer for every request body).
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
  /** REST Proxy dialect of the answers. @default "confluent" */
  flavor?: RestFlavor;
}

const ascii = (text: string) => new TextEncoder().encode(text);
const BODY_START = ascii('{"records":[');
const BODY_END = ascii("]}");
const KEYED_START = ascii('{"key":');
const VALUE_AFTER_KEY = ascii(',"value":');
const UNKEYED_START = ascii('{"value":');

function produceBodySize(records: readonly ProduceRecord[]): number {
  let size = BODY_START.length + BODY_END.length;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    size += r.value.length + 2 +
      (r.key === undefined
        ? UNKEYED_START.length
        : KEYED_START.length + VALUE_AFTER_KEY.length + keyLength(r.key));
  }
  return size;
}

/**
 * Builds the v2 JSON produce body from key and value JSON bytes, copying each once.
 *
 * @param records the records
 * @param allocate returns a buffer of at least the given size to write into (for example one
 *   reused across requests) @default a new buffer
 * @returns `{"records":[{"key":K,"value":V},...]}` as UTF-8 (a view of the buffer)
 */
export function buildProduceBody(
  records: readonly ProduceRecord[],
  allocate: (size: number) => Uint8Array<ArrayBuffer> = (size) => new Uint8Array(size),
): Uint8Array<ArrayBuffer> {
  const body = allocate(produceBodySize(records));
  let at = put(body, 0, BODY_START);
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (i > 0) body[at++] = 0x2c; // ,
    if (r.key === undefined) at = put(body, at, UNKEYED_START);
    else {
      at = put(body, at, KEYED_START);
      for (let k = 0; k < r.key.length; k++) at = put(body, at, r.key[k]!);
      at = put(body, at, VALUE_AFTER_KEY);
    }
    at = put(body, at, r.value);
    body[at++] = 0x7d; // }
  }
  at = put(body, at, BODY_END);
  return body.subarray(0, at);
}

/** Copies `part` into `body` at `at`: a plain loop for short parts, `set` for long ones. */
function put(body: Uint8Array, at: number, part: Uint8Array): number {
  const n = part.length;
  if (n < 48) {
    for (let i = 0; i < n; i++) body[at + i] = part[i]!;
  } else body.set(part, at);
  return at + n;
}

/**
 * The largest produce answer read: 64 KiB plus 1 KiB per record (an offsets entry is about
 * 60 bytes, more with an error text).
 *
 * @param records the records in the request
 * @returns the cap in bytes
 */
export function produceAnswerMaxBytes(records: number): number {
  return 64 * 1024 + 1024 * records;
}

function intOrNull(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** A v2 REST Proxy produce client. */
export class RestProducerClient implements RecordSink {
  #url: URL;
  #shownUrl: string;
  #timeoutMs: number;
  #fetch: typeof fetch;
  #flavor: RestFlavor;
  #scratch = new Uint8Array(0);

  /**
   * Creates a `RestProducerClient`.
   *
   * @param options proxy URL, topic, timeout and fetch
   */
  constructor(options: RestProducerClientOptions) {
    const base = new URL(options.baseUrl);
    if (!base.pathname.endsWith("/")) base.pathname += "/";
    this.#url = new URL(`topics/${encodeURIComponent(options.topic)}`, base);
    this.#shownUrl = redactUrl(this.#url);
    this.#timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#flavor = options.flavor ?? "confluent";
  }

  /** The produce endpoint. */
  get url(): URL {
    return this.#url;
  }

  /**
   * Produces records in one request.
   *
   * @param records the records, at least one
   * @param signal aborts the request
   * @returns one result per record, in request order
   * @throws {RestProxyError} for a non-2xx answer, an unreachable proxy or a malformed answer
   */
  async produce(
    records: readonly ProduceRecord[],
    signal?: AbortSignal,
  ): Promise<ProduceResponse> {
    if (records.length === 0) {
      throw new RangeError("Cannot produce an empty batch: at least one record is required");
    }
    // fetch copies the body when called, so one buffer serves every request.
    const body = buildProduceBody(records, (size) => {
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
      response = await this.#fetch(this.#url, {
        method: "POST",
        headers: { "content-type": V2_EMBEDDED_JSON, accept: V2_JSON },
        body,
        signal: requestSignal,
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof RestAccessError) throw error;
      const what = timeout.aborted ? `timed out after ${this.#timeoutMs} ms` : "unreachable";
      throw new RestProxyError(
        `Cannot produce to "${this.#shownUrl}": ${what}: ${
          redactUrlsInText(error instanceof Error ? error.message : String(error))
        }; check that the REST Proxy runs and KAFKA_REST_URL points at it`,
        0,
        0,
        { cause: error },
      );
    }
    if (!response.ok) {
      throw await restProxyErrorFrom(`Cannot produce to "${this.#shownUrl}"`, response);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readBoundedText(response, produceAnswerMaxBytes(records.length)));
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof BodyTooLargeError) {
        throw new RestProxyError(
          `Cannot produce to "${this.#shownUrl}": the answer is larger than ${error.limit} ` +
            `bytes for ${records.length} records; is KAFKA_REST_URL a REST Proxy?`,
          502,
          502,
          { cause: error },
        );
      }
      throw new RestProxyError(
        `Cannot produce to "${this.#shownUrl}": the answer is not JSON`,
        0,
        0,
        { cause: error },
      );
    }
    if (this.#flavor === "redpanda") {
      try {
        return {
          results: redpandaProduceResults(parsed, records.length),
          requestBytes: body.length,
        };
      } catch (error) {
        throw new RestProxyError(
          `Cannot produce to "${this.#shownUrl}": unexpected answer (${(error as Error).message})`,
          502,
          502,
          { cause: error },
        );
      }
    }
    const offsets = (parsed as { offsets?: unknown })?.offsets;
    if (!Array.isArray(offsets) || offsets.length !== records.length) {
      throw new RestProxyError(
        `Cannot produce to "${this.#shownUrl}": expected ${records.length} offsets in the answer, got ${
          Array.isArray(offsets) ? offsets.length : "none"
        }`,
        502,
        502,
      );
    }
    const results: RecordResult[] = offsets.map((o: Record<string, unknown> | null) => {
      const errorCode = intOrNull(o?.error_code);
      const partition = intOrNull(o?.partition);
      const offset = intOrNull(o?.offset);
      const error = typeof o?.error === "string" ? o.error : null;
      if (errorCode === null && (partition === null || offset === null)) {
        return { partition, offset, errorCode: 50003, error: error ?? "no offset in the answer" };
      }
      return { partition, offset, errorCode, error };
    });
    return { results, requestBytes: body.length };
  }
}
