/**
 * Small HTTP helpers for the broker conformance tests: a temporary in-process broker
 * and REST Proxy v2 calls that always consume the response body.
 *
 * @module
 */
import {
  type BrokerOptions,
  type RunningBroker,
  startBroker,
} from "../../lib/broker/broker_server.ts";

/** Media types used by the tests. */
export const V2 = "application/vnd.kafka.v2+json";
/** Embedded JSON type. */
export const V2_JSON_EMBEDDED = "application/vnd.kafka.json.v2+json";
/** Embedded binary type. */
export const V2_BINARY_EMBEDDED = "application/vnd.kafka.binary.v2+json";

/** A broker on a temporary data directory, removed on dispose. */
export interface TestBroker extends AsyncDisposable {
  /** The broker. */
  broker: RunningBroker;
  /** Its data directory. */
  dataDir: string;
  /** Resolves a path against the broker URL. */
  url(path: string): URL;
}

/**
 * Starts a broker on a fresh temporary directory.
 *
 * @param options broker options except the data directory
 * @returns the broker; dispose it to stop it and delete the directory
 */
export async function startTestBroker(
  options: Partial<BrokerOptions> = {},
): Promise<TestBroker> {
  const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "broker_test_" });
  const broker = await startBroker({ ...options, dataDir });
  return {
    broker,
    dataDir,
    url: (path) => new URL(path.replace(/^\//, ""), broker.url),
    async [Symbol.asyncDispose]() {
      await broker.close();
      if (!options.dataDir) await Deno.remove(dataDir, { recursive: true });
    },
  };
}

/** A completed HTTP exchange. */
export interface Reply {
  /** HTTP status. */
  status: number;
  /** Content-Type header. */
  contentType: string | null;
  /** Raw body text. */
  text: string;
  /** Parsed body (undefined when empty or not JSON). */
  // deno-lint-ignore no-explicit-any
  body: any;
}

/**
 * Sends a request and reads the whole response.
 *
 * @param url the URL
 * @param init method, headers, body (objects are JSON-encoded)
 * @returns status, content type and body
 */
export async function call(
  url: URL | string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<Reply> {
  const body = init.body === undefined
    ? undefined
    : typeof init.body === "string"
    ? init.body
    : JSON.stringify(init.body);
  const res = await fetch(url, { method: init.method ?? "GET", headers: init.headers, body });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, contentType: res.headers.get("content-type"), text, body: parsed };
}

/**
 * Produces JSON records.
 *
 * @param tb the broker
 * @param topic the topic
 * @param records `{key?, value, partition?}` records
 * @returns the reply
 */
export function produceJson(tb: TestBroker, topic: string, records: unknown[]): Promise<Reply> {
  return call(tb.url(`/topics/${topic}`), {
    method: "POST",
    headers: { "content-type": V2_JSON_EMBEDDED, accept: V2 },
    body: { records },
  });
}

/**
 * Creates a consumer instance.
 *
 * @param tb the broker
 * @param group the group
 * @param config the create body
 * @returns the reply
 */
export function createConsumer(
  tb: TestBroker,
  group: string,
  config: Record<string, unknown>,
): Promise<Reply> {
  return call(tb.url(`/consumers/${group}`), {
    method: "POST",
    headers: { "content-type": V2, accept: V2 },
    body: config,
  });
}

/**
 * POSTs a v2 body to an instance sub-path.
 *
 * @param tb the broker
 * @param group the group
 * @param instance the instance
 * @param path the sub-path (`subscription`, `offsets`, …)
 * @param body the body (undefined = empty)
 * @returns the reply
 */
export function instancePost(
  tb: TestBroker,
  group: string,
  instance: string,
  path: string,
  body?: unknown,
): Promise<Reply> {
  return call(tb.url(`/consumers/${group}/instances/${instance}/${path}`), {
    method: "POST",
    headers: { "content-type": V2, accept: V2 },
    body,
  });
}

/**
 * Reads records.
 *
 * @param tb the broker
 * @param group the group
 * @param instance the instance
 * @param accept the Accept header (omitted when null)
 * @param query extra query text, e.g. `max_bytes=100`
 * @returns the reply
 */
export function readRecords(
  tb: TestBroker,
  group: string,
  instance: string,
  accept: string | null = V2_JSON_EMBEDDED,
  query = "",
): Promise<Reply> {
  return call(tb.url(`/consumers/${group}/instances/${instance}/records?${query}`), {
    headers: accept === null ? {} : { accept },
  });
}

/**
 * Loads the first `n` recorded Wikimedia events.
 *
 * @param n how many
 * @returns parsed events
 */
export async function recordedEvents(n: number): Promise<Record<string, unknown>[]> {
  const dir = new URL("../../../shared/data/recentchange/", import.meta.url);
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".ndjson")) names.push(e.name);
  names.sort();
  const text = await Deno.readTextFile(new URL(names[0]!, dir));
  return text.split("\n").filter((l) => l.trim() !== "").slice(0, n).map((l) => JSON.parse(l));
}
