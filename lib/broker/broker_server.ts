/**
 * The local broker: an HTTP server speaking the Confluent REST Proxy v2 API (plus the v3
 * cluster calls, topic creation and streaming produce, `produce_v3_handler.ts`) over durable
 * Kafka-like topic logs. It is the offline mode of
 * wikistream and the test double of every integration test.
 *
 * {@linkcode startBroker} opens the data directory (recovering from crashes), listens,
 * and returns a {@linkcode RunningBroker}; `close()` ends pending reads, drains
 * requests, auto-commits and closes every file. Its limits (`broker_limits.ts`) bound
 * connections, request bodies, topics, open files and consumer instances, so that what
 * arrives on the socket cannot exhaust its descriptors or memory.
 *
 * @module
 */
import { sleepUnlessAborted, SYSTEM_CLOCK } from "../cli/delay.ts";
import type { Logger } from "../cli/log.ts";
import { V2_JSON } from "../rest_proxy/rest_proxy_media.ts";
import { BodyBudget } from "./body_budget.ts";
import { BodyReader } from "./body_reader.ts";
import { BrokerError } from "./broker_error.ts";
import { type BrokerLimitOptions, resolveBrokerLimits } from "./broker_limits.ts";
import { type BrokerAuth, requireAuth } from "./broker_auth.ts";
import {
  type ConnectionServer,
  type ConnectionTls,
  serveConnections,
} from "./connection_server.ts";
import {
  assign,
  commit,
  committed,
  type ConsumerHandlerContext,
  createInstance,
  getAssignments,
  getSubscription,
  seek,
  seekTo,
  subscribe,
  unsubscribe,
} from "./consumer_handlers.ts";
import { ConsumerGroups } from "./consumer_groups.ts";
import { DataNotifier } from "./data_notifier.ts";
import { isOutOfDescriptors, outOfDescriptors } from "./descriptor_errors.ts";
import { type FaultDecision, FaultInjector, parseFaultRule } from "./fault_injector.ts";
import {
  isV2Type,
  mediaTypeOf,
  negotiateRecords,
  negotiateV2,
  produceFormat,
} from "./media_negotiation.ts";
import { OffsetStore } from "./offset_store.ts";
import { PartitionHandleCache } from "./partition_handle_cache.ts";
import { DEFAULT_MAX_RECORD_BYTES, handleProduce, type ProduceContext } from "./produce_handler.ts";
import { TopicStore } from "./topic_store.ts";
import { clusterNotFound, handleProduceV3 } from "./produce_v3_handler.ts";
import { createTopicV3 } from "./v3_topics_handler.ts";
import { type BrokerCounts, type BrokerStats, createBrokerCounts } from "./broker_stats.ts";

export { FaultInjector } from "./fault_injector.ts";
export type { FaultRule } from "./fault_injector.ts";

/** Options for {@linkcode startBroker}; the limits are described in `broker_limits.ts`. */
export interface BrokerOptions extends BrokerLimitOptions {
  /** Directory of the durable logs (created if missing). */
  dataDir: string;
  /** Address to bind. @default "127.0.0.1" */
  hostname?: string;
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
  /** Partition count of auto-created topics. @default 3 */
  partitions?: number;
  /** `consumer.instance.timeout.ms`. @default 300000 */
  instanceTimeoutMs?: number;
  /** Server default of `consumer.request.timeout.ms`. @default 1000 */
  requestTimeoutMs?: number;
  /** Base URL for consumer `base_uri` values. @default from the request's Host header */
  advertisedUrl?: string;
  /**
   * Largest record (key + value bytes) accepted; a bigger one fails per record with 50002
   * like Kafka's `RecordTooLargeException`. @default 1048576 (Kafka's `max.request.size`)
   */
  maxRecordBytes?: number;
  /** Serve the `/_admin` fault endpoints. @default false */
  faults?: boolean;
  /** Answer 401 to every request without credentials it accepts. @default no authentication */
  auth?: BrokerAuth;
  /** Serve HTTPS with this certificate and key. @default plain HTTP */
  tls?: ConnectionTls;
  /** Logger. @default silent */
  log?: Logger;
}

/** A started broker. */
export interface RunningBroker extends AsyncDisposable {
  /** Root URL with a trailing slash, for example `http://127.0.0.1:41234/`. */
  readonly url: URL;
  /** In-process fault injection (always available, rules apply to every request). */
  readonly faults: FaultInjector;
  /** Destroys every consumer instance now (later calls get 40403). */
  expireInstances(): void;
  /** A snapshot of topics, offsets, instances and request counts. */
  stats(): BrokerStats;
  /** Stops the server and closes the logs. */
  close(): Promise<void>;
}

/** The fixed cluster id answered by `GET /v3/clusters`. */
export const LOCAL_CLUSTER_ID = "wikistream-local-broker";
/** Hard cap of a read's key+value bytes (`consumer.request.max.bytes`). */
export const MAX_READ_BYTES = 64 * 1024 * 1024;

interface Services {
  topics: TopicStore;
  offsets: OffsetStore;
  groups: ConsumerGroups;
  notifier: DataNotifier;
  faults: FaultInjector;
  produce: ProduceContext;
  consumers: ConsumerHandlerContext;
  options: BrokerOptions;
  shutdown: AbortSignal;
  log: Logger | undefined;
  bodies: BodyReader;
  counts: BrokerCounts;
}

type Handler = (
  req: Request,
  params: string[],
  s: Services,
  fault?: FaultDecision,
) => Promise<Response>;

interface Route {
  pattern: RegExp;
  methods: Partial<Record<string, Handler>>;
  admin?: boolean;
}

const SEGMENT = "([^/]+)";
const INSTANCE = `/consumers/${SEGMENT}/instances/${SEGMENT}`;

function json(status: number, body: unknown, contentType = V2_JSON): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": contentType },
  });
}

function errorResponse(
  status: number,
  errorCode: number,
  message: string,
  retryAfterS?: number,
): Response {
  const response = json(status, { error_code: errorCode, message });
  if (retryAfterS !== undefined) response.headers.set("retry-after", String(retryAfterS));
  return response;
}

function noContent(): Response {
  return new Response(null, { status: 204 });
}

/** Answers a v2 metadata/management call with the negotiated type, or 406. */
function v2(req: Request, status: number, body: unknown): Response {
  const type = negotiateV2(req.headers.get("accept"));
  if (type === undefined) return new Response(null, { status: 406 });
  return json(status, body, type);
}

/** Rejects a body-carrying consumer call whose Content-Type is not a v2 type. */
function requireV2Body(req: Request): void {
  const type = mediaTypeOf(req.headers.get("content-type"));
  if (type !== undefined && !isV2Type(type)) {
    throw new BrokerError(415, 415, "HTTP 415 Unsupported Media Type");
  }
}

async function v2Body(req: Request, s: Services): Promise<unknown> {
  requireV2Body(req);
  if (negotiateV2(req.headers.get("accept")) === undefined) throw NOT_ACCEPTABLE;
  return await s.bodies.readJson(req);
}

const NOT_ACCEPTABLE = new BrokerError(406, 406, "");

function topicMetadata(s: Services, name: string): Record<string, unknown> {
  const topic = s.topics.get(name);
  if (!topic) throw new BrokerError(404, 40401, "Topic not found.");
  return {
    name,
    configs: { "cleanup.policy": "delete", "retention.ms": "-1" },
    partitions: topic.partitions.map((_, p) => partitionMetadata(p)),
  };
}

function partitionMetadata(p: number): Record<string, unknown> {
  return { partition: p, leader: 1, replicas: [{ broker: 1, leader: true, in_sync: true }] };
}

function partitionIndex(s: Services, topic: string, text: string): number {
  const t = s.topics.get(topic);
  if (!t) throw new BrokerError(404, 40401, "Topic not found.");
  const p = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(p < t.partitions.length)) throw new BrokerError(404, 40402, "Partition not found.");
  return p;
}

function clusterBody(root: string): Record<string, unknown> {
  const self = `${root}v3/clusters/${LOCAL_CLUSTER_ID}`;
  return {
    kind: "KafkaCluster",
    metadata: { self, resource_name: `crn:///kafka=${LOCAL_CLUSTER_ID}` },
    cluster_id: LOCAL_CLUSTER_ID,
    controller: { related: `${self}/brokers/1` },
    acls: { related: `${self}/acls` },
    brokers: { related: `${self}/brokers` },
    broker_configs: { related: `${self}/broker-configs` },
    consumer_groups: { related: `${self}/consumer-groups` },
    topics: { related: `${self}/topics` },
    partition_reassignments: { related: `${self}/topics/-/partitions/-/reassignment` },
  };
}

function rootOf(req: Request, s: Services): string {
  if (s.options.advertisedUrl) {
    const u = s.options.advertisedUrl;
    return u.endsWith("/") ? u : `${u}/`;
  }
  const url = new URL(req.url);
  const host = req.headers.get("host") ?? url.host;
  return `${url.protocol}//${host}/`;
}

async function produce(
  req: Request,
  params: string[],
  s: Services,
  fault?: FaultDecision,
): Promise<Response> {
  const format = produceFormat(mediaTypeOf(req.headers.get("content-type")));
  if (!format) throw new BrokerError(415, 415, "HTTP 415 Unsupported Media Type");
  const type = negotiateV2(req.headers.get("accept"));
  if (type === undefined) return new Response(null, { status: 406 });
  const body = await s.bodies.readJson(req);
  const topic = params[0]!;
  let pathPartition: number | undefined;
  if (params[1] !== undefined) {
    pathPartition = /^\d+$/.test(params[1]) ? Number(params[1]) : NaN;
    if (Number.isNaN(pathPartition)) throw new BrokerError(404, 40402, "Partition not found.");
  }
  const result = await handleProduce(
    { topic, pathPartition, format, body, fault: fault?.recordFault ? fault : undefined },
    s.produce,
  );
  return json(200, result, type);
}

async function readRecords(req: Request, params: string[], s: Services): Promise<Response> {
  const instance = s.groups.get(params[0]!, params[1]!);
  const negotiated = negotiateRecords(req.headers.get("accept"));
  if (!negotiated) return new Response(null, { status: 406 });
  if (negotiated.format !== instance.config.format) {
    throw new BrokerError(
      406,
      40601,
      "The requested embedded data format does not match the deserializer for this consumer instance",
    );
  }
  const query = new URL(req.url).searchParams;
  const timeout = queryInt(query, "timeout");
  const maxBytesParam = queryInt(query, "max_bytes");
  const maxBytes = maxBytesParam === undefined || maxBytesParam <= 0
    ? MAX_READ_BYTES
    : Math.min(maxBytesParam, MAX_READ_BYTES);
  const { body } = await instance.exclusive(() => {
    if (instance.closed) throw new BrokerError(404, 40403, "Consumer instance not found.");
    return instance.read({ timeoutMs: timeout, maxBytes, signal: s.shutdown });
  });
  return new Response(body, { status: 200, headers: { "content-type": negotiated.contentType } });
}

function queryInt(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null || v === "") return undefined;
  if (!/^-?\d+$/.test(v)) throw new BrokerError(404, 404, "HTTP 404 Not Found");
  return Number(v);
}

function instanceOf(params: string[], s: Services) {
  return s.groups.get(params[0]!, params[1]!);
}

const ROUTES: Route[] = [
  { pattern: /^\/$/, methods: { GET: (req) => Promise.resolve(v2(req, 200, {})) } },
  {
    pattern: /^\/v3\/clusters\/?$/,
    methods: {
      GET: (req, _p, s) => {
        const root = rootOf(req, s);
        return Promise.resolve(json(200, {
          kind: "KafkaClusterList",
          metadata: { self: `${root}v3/clusters`, next: null },
          data: [clusterBody(root)],
        }, "application/json"));
      },
    },
  },
  {
    pattern: new RegExp(`^/v3/clusters/${SEGMENT}$`),
    methods: {
      GET: (req, p, s) => {
        if (p[0] !== LOCAL_CLUSTER_ID) {
          return Promise.resolve(
            json(
              404,
              { error_code: 404, message: `Cluster ${p[0]} cannot be found.` },
              "application/json",
            ),
          );
        }
        return Promise.resolve(json(200, clusterBody(rootOf(req, s)), "application/json"));
      },
    },
  },
  {
    pattern: new RegExp(`^/v3/clusters/${SEGMENT}/topics$`),
    methods: {
      POST: async (req, p, s) => {
        if (p[0] !== LOCAL_CLUSTER_ID) throw clusterNotFound(p[0]!);
        const body = await s.bodies.readJson(req);
        const topic = await createTopicV3(body, LOCAL_CLUSTER_ID, rootOf(req, s), s.produce);
        return json(201, topic, "application/json");
      },
    },
  },
  {
    pattern: new RegExp(`^/v3/clusters/${SEGMENT}/topics/${SEGMENT}/records$`),
    methods: {
      POST: (req, p, s, fault) =>
        handleProduceV3(req, { clusterId: p[0]!, topic: p[1]! }, {
          ...s.produce,
          clusterId: LOCAL_CLUSTER_ID,
          bodies: s.bodies,
        }, fault),
    },
  },
  {
    pattern: /^\/topics\/?$/,
    methods: { GET: (req, _p, s) => Promise.resolve(v2(req, 200, s.topics.names())) },
  },
  {
    pattern: new RegExp(`^/topics/${SEGMENT}$`),
    methods: {
      GET: (req, p, s) => Promise.resolve(v2(req, 200, topicMetadata(s, p[0]!))),
      POST: produce,
    },
  },
  {
    pattern: new RegExp(`^/topics/${SEGMENT}/partitions$`),
    methods: {
      GET: (req, p, s) =>
        Promise.resolve(v2(req, 200, topicMetadata(s, p[0]!).partitions as unknown[])),
    },
  },
  {
    pattern: new RegExp(`^/topics/${SEGMENT}/partitions/${SEGMENT}$`),
    methods: {
      GET: (req, p, s) =>
        Promise.resolve(v2(req, 200, partitionMetadata(partitionIndex(s, p[0]!, p[1]!)))),
      POST: produce,
    },
  },
  {
    pattern: new RegExp(`^/topics/${SEGMENT}/partitions/${SEGMENT}/offsets$`),
    methods: {
      GET: (req, p, s) => {
        const index = partitionIndex(s, p[0]!, p[1]!);
        const log = s.topics.get(p[0]!)!.partitions[index]!;
        return Promise.resolve(
          v2(req, 200, { beginning_offset: log.beginningOffset, end_offset: log.highWatermark }),
        );
      },
    },
  },
  {
    pattern: new RegExp(`^/consumers/${SEGMENT}/?$`),
    methods: {
      POST: async (req, p, s) => {
        const body = await v2Body(req, s);
        const root = rootOf(req, s);
        const group = p[0]!;
        const created = createInstance(
          s.consumers,
          group,
          body,
          (id) =>
            `${root}consumers/${encodeURIComponent(group)}/instances/${encodeURIComponent(id)}`,
        );
        return v2(req, 200, created);
      },
    },
  },
  {
    pattern: new RegExp(`^${INSTANCE}/?$`),
    methods: {
      DELETE: async (req, p, s) => {
        await v2Body(req, s);
        await s.groups.close(instanceOf(p, s), "deleted");
        return noContent();
      },
    },
  },
  {
    pattern: new RegExp(`^${INSTANCE}/subscription$`),
    methods: {
      POST: async (req, p, s) => {
        const body = await v2Body(req, s);
        await subscribe(s.consumers, instanceOf(p, s), body);
        return noContent();
      },
      GET: (req, p, s) =>
        Promise.resolve(v2(req, 200, getSubscription(s.consumers, instanceOf(p, s)))),
      DELETE: async (req, p, s) => {
        await v2Body(req, s);
        await unsubscribe(s.consumers, instanceOf(p, s));
        return noContent();
      },
    },
  },
  {
    pattern: new RegExp(`^${INSTANCE}/assignments$`),
    methods: {
      POST: async (req, p, s) => {
        const body = await v2Body(req, s);
        await assign(instanceOf(p, s), body);
        return noContent();
      },
      GET: (req, p, s) => Promise.resolve(v2(req, 200, getAssignments(instanceOf(p, s)))),
    },
  },
  {
    pattern: new RegExp(`^${INSTANCE}/positions$`),
    methods: {
      POST: async (req, p, s) => {
        const body = await v2Body(req, s);
        await seek(s.consumers, instanceOf(p, s), body);
        return noContent();
      },
    },
  },
  {
    pattern: new RegExp(`^${INSTANCE}/positions/(beginning|end)$`),
    methods: {
      POST: async (req, p, s) => {
        const body = await v2Body(req, s);
        await seekTo(s.consumers, instanceOf(p, s), body, p[2] as "beginning" | "end");
        return noContent();
      },
    },
  },
  { pattern: new RegExp(`^${INSTANCE}/records$`), methods: { GET: readRecords } },
  {
    pattern: new RegExp(`^${INSTANCE}/offsets$`),
    methods: {
      POST: async (req, p, s) => {
        const body = await v2Body(req, s);
        return v2(req, 200, await commit(s.consumers, instanceOf(p, s), body));
      },
      GET: async (req, p, s) => {
        const body = await v2Body(req, s);
        return v2(req, 200, committed(s.consumers, instanceOf(p, s), body));
      },
    },
  },
  {
    pattern: /^\/_admin\/faults$/,
    admin: true,
    methods: {
      GET: (_req, _p, s) =>
        Promise.resolve(json(200, { rules: s.faults.rules }, "application/json")),
      POST: async (req, _p, s) => {
        const body = await s.bodies.readJson(req);
        let rule;
        try {
          rule = parseFaultRule(body);
        } catch (error) {
          throw new BrokerError(422, 422, error instanceof Error ? error.message : String(error));
        }
        s.faults.add(rule);
        return json(200, { rules: s.faults.rules }, "application/json");
      },
      DELETE: (_req, _p, s) => {
        s.faults.clear();
        return Promise.resolve(noContent());
      },
    },
  },
  {
    pattern: /^\/_admin\/expire-instances$/,
    admin: true,
    methods: {
      POST: async (_req, _p, s) => {
        const expired = await s.groups.expireAll();
        return json(200, { expired }, "application/json");
      },
    },
  },
];

async function route(req: Request, s: Services): Promise<Response> {
  const url = new URL(req.url);
  const path = url.pathname;
  for (const r of ROUTES) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    if (r.admin && !s.options.faults) break;
    const handler = r.methods[req.method];
    if (!handler) return errorResponse(405, 405, "HTTP 405 Method Not Allowed");
    let fault: FaultDecision | undefined;
    if (!r.admin) {
      fault = s.faults.decide(req.method, path);
      if (fault && fault.recordFault === undefined) {
        if (fault.delayMs > 0) await sleepUnlessAborted(SYSTEM_CLOCK, fault.delayMs, s.shutdown);
        if (fault.error) {
          await req.body?.cancel();
          return errorResponse(fault.error.status, fault.error.errorCode, fault.error.message);
        }
      }
    }
    let params: string[];
    try {
      params = m.slice(1).map((x) => decodeURIComponent(x));
    } catch {
      return errorResponse(404, 404, "HTTP 404 Not Found");
    }
    return await handler(req, params, s, fault);
  }
  return errorResponse(404, 404, "HTTP 404 Not Found");
}

async function handle(req: Request, s: Services): Promise<Response> {
  s.counts.requests[req.method] = (s.counts.requests[req.method] ?? 0) + 1;
  try {
    const response = await route(req, s);
    if (response.status >= 500) s.counts.serverErrors++;
    return response;
  } catch (thrown) {
    const error = isOutOfDescriptors(thrown) ? outOfDescriptors(thrown) : thrown;
    if (error instanceof BrokerError) {
      if (error.status === 406 && error.errorCode === 406) {
        return new Response(null, { status: 406 });
      }
      if (error.refusal) s.counts.refused[error.refusal]++;
      if (error.status >= 500) s.counts.serverErrors++;
      return errorResponse(error.status, error.errorCode, error.message, error.retryAfterS);
    }
    s.counts.serverErrors++;
    s.log?.error("request failed", {
      method: req.method,
      path: new URL(req.url).pathname,
      error,
    });
    return errorResponse(500, 500, "Internal Server Error");
  } finally {
    s.bodies.release(req);
    if (req.body && !req.body.locked) await req.body.cancel().catch(() => {});
  }
}

/**
 * Opens the data directory and starts serving.
 *
 * @param options data directory, address, behaviour and limits
 * @returns the running broker
 * @throws {Deno.errors.AddrInUse} naming the port when another process holds it
 * @throws {RangeError} when a limit is not a positive integer
 * @example Start a broker for a test
 * ```ts ignore
 * await using broker = await startBroker({ dataDir: await Deno.makeTempDir() });
 * const res = await fetch(new URL("topics", broker.url));
 * ```
 */
export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const log = options.log;
  const limits = resolveBrokerLimits(options);
  await Deno.mkdir(options.dataDir, { recursive: true });
  const handles = new PartitionHandleCache(limits.maxOpenPartitions);
  const topics = await TopicStore.open(options.dataDir, {
    log,
    handles,
    maxTopics: limits.maxTopics,
    maxPartitions: limits.maxPartitions,
  });
  let offsets: OffsetStore;
  try {
    offsets = await OffsetStore.open(`${options.dataDir}/offsets.log`, { log });
  } catch (error) {
    await topics.close();
    throw error;
  }
  const notifier = new DataNotifier();
  const instanceTimeoutMs = options.instanceTimeoutMs ?? 300_000;
  const groups = new ConsumerGroups({
    topics,
    offsets,
    notifier,
    instanceTimeoutMs,
    maxInstances: limits.maxInstances,
    maxInstancesPerGroup: limits.maxInstancesPerGroup,
    log,
  });
  const faults = new FaultInjector();
  const shutdown = new AbortController();
  const bodies = new BodyReader({
    maxBodyBytes: limits.maxBodyBytes,
    idleTimeoutMs: limits.bodyIdleTimeoutMs,
    budget: new BodyBudget(limits.maxBufferedBytes),
    signal: shutdown.signal,
  });
  const services: Services = {
    topics,
    offsets,
    groups,
    notifier,
    faults,
    produce: {
      topics,
      notifier,
      defaultPartitions: options.partitions ?? 3,
      maxRecordBytes: options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
      now: Date.now,
    },
    consumers: { groups, topics, offsets, requestTimeoutMs: options.requestTimeoutMs ?? 1000 },
    options,
    shutdown: shutdown.signal,
    log,
    bodies,
    counts: createBrokerCounts(),
  };
  const counts = services.counts;
  let server: ConnectionServer;
  try {
    server = serveConnections({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 0,
      handler: requireAuth((req) => handle(req, services), options.auth),
      ...(options.tls ? { tls: options.tls } : {}),
      maxConnections: limits.maxConnections,
      headerTimeoutMs: limits.headerTimeoutMs,
      onRefused: (reason) => counts.refused[reason]++,
      onAcceptError: () => counts.acceptErrors++,
      log,
    });
  } catch (error) {
    await offsets.close();
    await topics.close();
    if (error instanceof Deno.errors.AddrInUse) {
      throw new Deno.errors.AddrInUse(
        `Cannot start the broker: port ${options.port ?? 0} on ${
          options.hostname ?? "127.0.0.1"
        } is already in use; stop the other process or set BROKER_PORT to a free port ` +
          "(0 picks one)",
        { cause: error },
      );
    }
    throw error;
  }
  const tick = Math.max(10, Math.min(1000, Math.floor(instanceTimeoutMs / 4)));
  let expiring = false;
  const expiry = setInterval(() => {
    if (expiring) return;
    expiring = true;
    groups.expireIdle().catch((error) => log?.error("instance expiry failed", { error }))
      .finally(() => expiring = false);
  }, tick);
  const addr = server.addr;
  const host = addr.hostname === "0.0.0.0" || addr.hostname === "::"
    ? "127.0.0.1"
    : addr.hostname.includes(":")
    ? `[${addr.hostname}]`
    : addr.hostname;
  const url = new URL(`${options.tls ? "https" : "http"}://${host}:${addr.port}/`);
  log?.info("broker ready", { url: url.href, dataDir: options.dataDir });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(expiry);
      shutdown.abort();
      await server.shutdown();
      await groups.expireAll();
      await offsets.close();
      await topics.close();
      log?.info("broker stopped", { url: url.href });
    })();
    return closing;
  };
  return {
    url,
    faults,
    expireInstances: () => {
      groups.expireAll().catch((error) => log?.error("instance expiry failed", { error }));
    },
    stats: () => ({
      requests: { ...counts.requests },
      serverErrors: counts.serverErrors,
      refused: { ...counts.refused },
      acceptErrors: counts.acceptErrors,
      connections: server.connections,
      openPartitionFiles: handles.stats().open,
      bufferedBodyBytes: bodies.heldBytes,
      partitions: topics.names().flatMap((name) =>
        (topics.get(name)?.partitions ?? []).map((p, partition) => ({
          topic: name,
          partition,
          beginningOffset: p.beginningOffset,
          endOffset: p.highWatermark,
        }))
      ),
      consumerInstances: groups.size,
    }),
    close,
    [Symbol.asyncDispose]: close,
  };
}
