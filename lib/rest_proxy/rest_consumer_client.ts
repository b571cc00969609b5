/**
 * A client for one Confluent REST Proxy v2 consumer instance at a time, behind
 * the {@linkcode ConsumerClient} interface: create (json format, explicit
 * offset reset, auto-commit off), subscribe, read, commit explicit offsets,
 * seek, list assignments, delete. Idempotent calls are retried on network
 * errors, 429 and 5xx with {@linkcode Backoff}; reads are never retried (a lost
 * read response loses records, contract §4.6), the caller re-creates the
 * instance instead. Instance URLs are built from the configured proxy URL unless
 * `useBaseUri` is set (contract §8 #11). With `flavor: "redpanda"` it speaks
 * Redpanda's HTTP Proxy dialect (`lib/rest_proxy/rest_flavor.ts`): `partitions` commit
 * body, 204 commit answers; `seek` and `assignments` throw, as Redpanda has no
 * such endpoints. Every call carries `Content-Type: application/vnd.kafka.v2+json`
 * (Redpanda answers 415 otherwise, also on DELETE) and an explicit `Accept`.
 *
 * Every answer is read with a cap: a read's at {@linkcode readAnswerMaxBytes} (twice
 * `max_bytes` plus 1 MiB), the instance and assignment answers at 1 MiB, error bodies at
 * 8 KiB; a larger answer is a retriable 502 {@linkcode RestProxyError}, cancelled unread.
 * A retry waits at least the `Retry-After` of a 429 or 503 (clamped to 0.5 s – 5 min).
 *
 * @module
 */
import { Backoff } from "../cli/backoff.ts";
import { BodyTooLargeError, readBoundedBytes } from "../cli/bounded_body.ts";
import { type Clock, SYSTEM_CLOCK } from "../cli/delay.ts";
import type { Logger } from "../cli/log.ts";
import { redactUrlsInText } from "../cli/redact_url.ts";
import {
  commitBody,
  createInstanceBody,
  type RestFlavor,
  restFlavorCanSeek,
} from "./rest_flavor.ts";
import { RestAccessError } from "./rest_access_error.ts";
import { RestProxyError, restProxyErrorFrom } from "./rest_proxy_error.ts";
import { V2_EMBEDDED_JSON, V2_JSON } from "./rest_proxy_media.ts";
import { parseRecordsBody } from "./records_body.ts";

/** One record of a `format: json` read. */
export interface ConsumerRecord {
  /** Topic name. */
  topic: string;
  /** Record key (JSON) or null. */
  key: unknown;
  /** Record value (JSON) or null. */
  value: unknown;
  /** Kafka partition. */
  partition: number;
  /** Kafka offset. */
  offset: number;
  /**
   * Set when the proxy's answer held this record's value as text that is not JSON (`value`
   * is then `null`): why, and the record's text, for its dead letter.
   */
  unreadable?: { reason: string; text: string };
}

/** A partition and an offset. */
export interface PartitionOffset {
  /** Topic name. */
  topic: string;
  /** Kafka partition. */
  partition: number;
  /** For commits the last processed offset, for seeks the next offset to read. */
  offset: number;
}

/** A topic partition. */
export interface TopicPartition {
  /** Topic name. */
  topic: string;
  /** Kafka partition. */
  partition: number;
}

/** The consumer-instance operations the pipeline depends on. */
export interface ConsumerClient {
  /** Id of the current instance, or `undefined` before `create`. */
  readonly instanceId: string | undefined;
  /** Creates a new instance (a fresh name each time) and makes it current. */
  create(signal?: AbortSignal): Promise<void>;
  /** Subscribes the current instance to topics. */
  subscribe(topics: readonly string[], signal?: AbortSignal): Promise<void>;
  /** One read; not retried. */
  read(signal?: AbortSignal): Promise<ConsumerRecord[]>;
  /** Commits explicit offsets (last processed record per partition). */
  commit(offsets: readonly PartitionOffset[], signal?: AbortSignal): Promise<void>;
  /** Sets the next offsets to read. */
  seek(offsets: readonly PartitionOffset[], signal?: AbortSignal): Promise<void>;
  /** The current assignment; a cheap call that keeps the instance alive. */
  assignments(signal?: AbortSignal): Promise<TopicPartition[]>;
  /** Deletes the current instance; a missing instance is not an error. */
  delete(signal?: AbortSignal): Promise<void>;
}

/** Options for {@linkcode RestConsumerClient}. */
export interface RestConsumerClientOptions {
  /** Proxy root URL, for example `http://localhost:8082`. */
  baseUrl: URL;
  /** Consumer group. */
  group: string;
  /** Instance name prefix; a counter is appended per created instance (without `instanceName`). */
  namePrefix: string;
  /**
   * A stable instance name, used for every instance this client creates. A dead instance
   * holding it (a crashed process's, until the proxy expires it) is deleted and the name
   * created again, so its partitions are given out at once. Two live processes must not
   * share one: the second would take the first's instance over.
   */
  instanceName?: string;
  /** Called when a dead instance holding `instanceName` was deleted to take the name back. */
  onTakeover?: () => void;
  /** `auto.offset.reset` for new groups. @default "earliest" */
  autoOffsetReset?: "earliest" | "latest";
  /** Upper bound of a read's unencoded bytes (`max_bytes`). @default 8388608 */
  maxBytes?: number;
  /** Read wait (`consumer.request.timeout.ms` and `timeout`). @default 1000 */
  readTimeoutMs?: number;
  /** `fetch.min.bytes` of the instance (−1 disables). @default 1048576 */
  fetchMinBytes?: number;
  /** Use the `base_uri` the proxy returns instead of building instance URLs. @default false */
  useBaseUri?: boolean;
  /** REST Proxy dialect. @default "confluent" */
  flavor?: RestFlavor;
  /** Deadline of one HTTP call other than a read. @default 30000 */
  requestTimeoutMs?: number;
  /** Attempts of an idempotent call on retriable failures. @default 6 */
  maxAttempts?: number;
  /** Delays between attempts. @default 250 ms doubling to 5 s */
  backoff?: Backoff;
  /** The fetch function. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Where retries are logged. */
  log?: Logger;
  /** Clock for sleeping between attempts. @default SYSTEM_CLOCK */
  clock?: Clock;
}

/** The largest answer to a create or an assignments call, in bytes. */
const SMALL_ANSWER_MAX_BYTES = 1024 * 1024;

/**
 * The largest answer to a read with `max_bytes` accepted: twice `max_bytes` (the JSON
 * envelope of each record and re-serialised values) plus 1 MiB.
 *
 * @param maxBytes the read's `max_bytes`
 * @returns the cap in bytes
 */
export function readAnswerMaxBytes(maxBytes: number): number {
  return 2 * maxBytes + 1024 * 1024;
}

const UTF8 = new TextDecoder();
const NO_BODY = new Uint8Array(0);

interface CallOptions {
  body?: unknown;
  accept?: string;
  retry: boolean;
  timeoutMs?: number;
  signal: AbortSignal | undefined;
  /**
   * Read the whole body, at most this many bytes, before the deadline and the abort signal
   * are released; without it the body is cancelled unread.
   */
  maxBodyBytes?: number;
  /** What a too-large answer's message adds. */
  tooLargeHint?: string;
}

/** A REST Proxy v2 consumer-instance client. */
export class RestConsumerClient implements ConsumerClient {
  #base: URL;
  #group: string;
  #namePrefix: string;
  #autoOffsetReset: string;
  #maxBytes: number;
  #readTimeoutMs: number;
  #fetchMinBytes: number;
  #useBaseUri: boolean;
  #flavor: RestFlavor;
  #requestTimeoutMs: number;
  #maxAttempts: number;
  #backoff: Backoff;
  #fetch: typeof fetch;
  #log: Logger | undefined;
  #clock: Clock;
  #created = 0;
  #instanceName: string | undefined;
  #onTakeover: (() => void) | undefined;
  #instanceId: string | undefined;
  #instanceUrl: string | undefined;

  /**
   * Creates an instance.
   *
   * @param options proxy URL, group, read sizes and retry policy
   */
  constructor(options: RestConsumerClientOptions) {
    this.#base = new URL(options.baseUrl.href.replace(/\/+$/, "") + "/");
    this.#group = options.group;
    this.#namePrefix = options.namePrefix;
    this.#instanceName = options.instanceName;
    this.#onTakeover = options.onTakeover;
    this.#autoOffsetReset = options.autoOffsetReset ?? "earliest";
    this.#maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
    this.#readTimeoutMs = options.readTimeoutMs ?? 1000;
    this.#fetchMinBytes = options.fetchMinBytes ?? 1024 * 1024;
    this.#useBaseUri = options.useBaseUri ?? false;
    this.#flavor = options.flavor ?? "confluent";
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#maxAttempts = options.maxAttempts ?? 6;
    this.#backoff = options.backoff ?? new Backoff({ initialMs: 250, maxMs: 5_000 });
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#log = options.log;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
  }

  /** Id of the current instance. */
  get instanceId(): string | undefined {
    return this.#instanceId;
  }

  #url(path: string): string {
    return new URL(path, this.#base).href;
  }

  #instance(path: string): string {
    if (this.#instanceUrl === undefined) {
      throw new Error("No consumer instance: call create() first");
    }
    return this.#instanceUrl + path;
  }

  async #call(
    what: string,
    method: string,
    url: string,
    o: CallOptions,
  ): Promise<Uint8Array<ArrayBuffer>> {
    for (let attempt = 1;; attempt++) {
      o.signal?.throwIfAborted();
      const controller = new AbortController();
      const onAbort = () => controller.abort(o.signal!.reason);
      o.signal?.addEventListener("abort", onAbort, { once: true });
      const timer = setTimeout(
        () => controller.abort(new DOMException(`${what}: no answer in time`, "TimeoutError")),
        o.timeoutMs ?? this.#requestTimeoutMs,
      );
      let failure: RestProxyError;
      try {
        // Redpanda wants this exact Content-Type on every consumer call, bodiless ones too
        const headers: Record<string, string> = {
          "accept": o.accept ?? V2_JSON,
          "content-type": V2_JSON,
        };
        const response = await this.#fetch(url, {
          method,
          headers,
          body: o.body === undefined ? undefined : JSON.stringify(o.body),
          signal: controller.signal,
        });
        if (response.ok) {
          // a body that stalls after the headers must not outlive the deadline or a stop,
          // and a huge one must not grow memory: read it here, with its cap
          let body: Uint8Array<ArrayBuffer> = NO_BODY;
          if (o.maxBodyBytes === undefined) await response.body?.cancel();
          else body = await readBoundedBytes(response, o.maxBodyBytes);
          this.#backoff.reset();
          return body;
        }
        failure = await restProxyErrorFrom(what, response, this.#clock.now());
      } catch (error) {
        if (o.signal?.aborted) throw o.signal.reason;
        if (error instanceof RestProxyError || error instanceof RestAccessError) throw error;
        failure = error instanceof BodyTooLargeError
          ? new RestProxyError(
            `${what}: the proxy's answer is larger than ${error.limit} bytes${
              o.tooLargeHint ?? ""
            }`,
            502,
            502,
            { cause: error },
          )
          : new RestProxyError(
            `${what}: cannot reach the REST Proxy at ${this.#base.origin} (${
              redactUrlsInText(error instanceof Error ? error.message : String(error))
            }); check KAFKA_REST_URL and that the proxy is running`,
            0,
            0,
            { cause: error },
          );
      } finally {
        clearTimeout(timer);
        o.signal?.removeEventListener("abort", onAbort);
      }
      if (!o.retry || !failure.retriable || failure.errorCode === 40801) throw failure;
      if (attempt >= this.#maxAttempts) throw failure;
      // the proxy's Retry-After is a minimum: the backoff may wait longer, never shorter
      const wait = Math.max(this.#backoff.next(), failure.retryAfterMs ?? 0);
      this.#log?.warn("REST Proxy call failed: retrying", {
        what,
        attempt,
        waitMs: wait,
        error: failure.message,
      });
      await this.#clock.sleep(wait, o.signal);
    }
  }

  async #callNoContent(what: string, method: string, url: string, o: CallOptions): Promise<void> {
    await this.#call(what, method, url, o);
  }

  /**
   * Creates a new instance and makes it current: named `instanceName`, or `<namePrefix>-<n>`.
   * With `instanceName`, a 40902 (the name is taken) means a dead instance of this consumer
   * (a crashed run, or this run's own earlier instance whose delete failed) holds it: it is
   * deleted and created again.
   */
  async create(signal?: AbortSignal): Promise<void> {
    const stable = this.#instanceName;
    const name = stable ?? `${this.#namePrefix}-${this.#created + 1}`;
    this.#created++;
    try {
      await this.#createNamed(name, signal);
    } catch (error) {
      if (!(error instanceof RestProxyError && error.errorCode === 40902)) throw error;
      // names are unique per process: 40902 means an earlier attempt of this call got through
      if (stable === undefined) return this.#setInstance(name, undefined);
      this.#log?.warn("consumer instance name is held by a dead instance: taking it back", {
        instance: name,
        group: this.#group,
      });
      await this.#deleteNamed(name, signal);
      this.#onTakeover?.();
      await this.#createNamed(name, signal);
    }
  }

  async #createNamed(name: string, signal: AbortSignal | undefined): Promise<void> {
    const body = createInstanceBody(this.#flavor, {
      name,
      autoOffsetReset: this.#autoOffsetReset as "earliest" | "latest",
      fetchMinBytes: this.#fetchMinBytes,
      requestTimeoutMs: this.#readTimeoutMs,
    });
    const what = `Cannot create consumer instance "${name}" in group "${this.#group}"`;
    const bytes = await this.#call(
      what,
      "POST",
      this.#url(`consumers/${encodeURIComponent(this.#group)}`),
      { body, retry: true, signal, maxBodyBytes: SMALL_ANSWER_MAX_BYTES },
    );
    const answer = JSON.parse(UTF8.decode(bytes)) as { instance_id?: unknown; base_uri?: unknown };
    const id = typeof answer.instance_id === "string" ? answer.instance_id : name;
    this.#setInstance(id, typeof answer.base_uri === "string" ? answer.base_uri : undefined);
  }

  async #deleteNamed(name: string, signal: AbortSignal | undefined): Promise<void> {
    const url = this.#url(
      `consumers/${encodeURIComponent(this.#group)}/instances/${encodeURIComponent(name)}`,
    );
    try {
      await this.#callNoContent(`Cannot delete consumer instance "${name}"`, "DELETE", url, {
        retry: true,
        signal,
      });
    } catch (error) {
      if (error instanceof RestProxyError && error.instanceGone) return;
      throw error;
    }
  }

  #setInstance(id: string, baseUri: string | undefined): void {
    this.#instanceId = id;
    this.#instanceUrl = this.#useBaseUri && baseUri ? baseUri.replace(/\/+$/, "") : this.#url(
      `consumers/${encodeURIComponent(this.#group)}/instances/${encodeURIComponent(id)}`,
    );
  }

  /** Subscribes to topics (204). */
  subscribe(topics: readonly string[], signal?: AbortSignal): Promise<void> {
    return this.#callNoContent(
      `Cannot subscribe to ${topics.join(",")}`,
      "POST",
      this.#instance("/subscription"),
      { body: { topics }, retry: true, signal },
    );
  }

  /**
   * Reads once with the configured `timeout` and `max_bytes`; parses the body once, or, when
   * that fails on a complete array, record by record (see {@linkcode parseRecordsBody}).
   */
  async read(signal?: AbortSignal): Promise<ConsumerRecord[]> {
    const url = this.#instance(
      `/records?timeout=${this.#readTimeoutMs}&max_bytes=${this.#maxBytes}`,
    );
    const bytes = await this.#call("Cannot read records", "GET", url, {
      accept: V2_EMBEDDED_JSON,
      retry: false,
      timeoutMs: this.#readTimeoutMs + this.#requestTimeoutMs,
      signal,
      maxBodyBytes: readAnswerMaxBytes(this.#maxBytes),
      tooLargeHint: ` (twice max_bytes ${this.#maxBytes} plus 1 MiB); CONSUMER_MAX_BYTES must ` +
        `be far above the largest record`,
    });
    let records: unknown;
    try {
      records = parseRecordsBody(UTF8.decode(bytes));
    } catch (error) {
      throw new RestProxyError(
        `Cannot read records: the response body was cut or is not JSON (${
          error instanceof Error ? error.message : String(error)
        })`,
        0,
        0,
        { cause: error },
      );
    }
    if (!Array.isArray(records)) {
      throw new RestProxyError("Cannot read records: the response is not a JSON array", 502, 502);
    }
    return records as ConsumerRecord[];
  }

  /**
   * Commits explicit offsets (`offset` = last processed record); never the empty body. The
   * answer is 200 `[]` (Confluent) or 204 (Redpanda).
   */
  async commit(offsets: readonly PartitionOffset[], signal?: AbortSignal): Promise<void> {
    if (offsets.length === 0) return;
    await this.#callNoContent("Cannot commit offsets", "POST", this.#instance("/offsets"), {
      body: commitBody(this.#flavor, offsets),
      retry: true,
      signal,
    });
  }

  #unsupported(what: string): RestProxyError {
    return new RestProxyError(
      `${what}: Redpanda's HTTP Proxy (KAFKA_REST_FLAVOR=redpanda) has no such endpoint`,
      404,
      40401,
    );
  }

  /** Seeks: `offset` is the next offset to read. Not available on Redpanda. */
  seek(offsets: readonly PartitionOffset[], signal?: AbortSignal): Promise<void> {
    if (!restFlavorCanSeek(this.#flavor)) return Promise.reject(this.#unsupported("Cannot seek"));
    return this.#callNoContent("Cannot seek", "POST", this.#instance("/positions"), {
      body: { offsets: offsets.map((o) => ({ ...o })) },
      retry: true,
      signal,
    });
  }

  /** Lists the current assignment. Not available on Redpanda. */
  async assignments(signal?: AbortSignal): Promise<TopicPartition[]> {
    if (!restFlavorCanSeek(this.#flavor)) throw this.#unsupported("Cannot list assignments");
    const bytes = await this.#call(
      "Cannot list assignments",
      "GET",
      this.#instance("/assignments"),
      { retry: true, signal, maxBodyBytes: SMALL_ANSWER_MAX_BYTES },
    );
    const body = JSON.parse(UTF8.decode(bytes)) as { partitions?: TopicPartition[] };
    return body.partitions ?? [];
  }

  /** Deletes the current instance; 40403 counts as deleted. */
  async delete(signal?: AbortSignal): Promise<void> {
    if (this.#instanceUrl === undefined) return;
    const url = this.#instanceUrl;
    this.#instanceUrl = undefined;
    this.#instanceId = undefined;
    try {
      await this.#callNoContent("Cannot delete consumer instance", "DELETE", url, {
        retry: true,
        signal,
      });
    } catch (error) {
      if (error instanceof RestProxyError && error.instanceGone) return;
      throw error;
    }
  }
}
