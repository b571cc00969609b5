/**
 * The fencing paths of consumer groups, in one process with the local broker over real HTTP:
 * a zombie whose unit's place was claimed while it was cut off, a partition revoked between
 * a unit's claim and its upload, and the state every path must end in (each event exactly
 * once, `verifyLake` clean).
 */
import assert from "node:assert/strict";
import { startBroker } from "../../lib/broker/broker_server.ts";
import { createLogger, memorySink } from "../../lib/cli/log.ts";
import { runConsumer } from "../../lib/consumer/consumer_pipeline.ts";
import { defaultInstanceName } from "../../lib/consumer/instance_name.ts";
import type { ConsumerStats } from "../../lib/consumer/consumer_stats.ts";
import { verifyLake } from "../../lib/lake/lake_verifier.ts";
import { LocalObjectStore } from "../../lib/object_store/local_object_store.ts";
import type { PutOptions } from "../../lib/object_store/object_store.ts";
import {
  assertNoDuplicates,
  readLakeRows,
  testConsumerConfig,
} from "../_helpers/consumer_setup.ts";
import { DelegatingStore } from "../_helpers/delegating_store.ts";
import { loadRecordedEvents, produceEvents } from "../_helpers/produce_events.ts";

/** A store whose writes of chosen keys wait at a gate until it is opened. */
class GatedStore extends DelegatingStore {
  #open = Promise.withResolvers<void>();
  /** Says which writes wait; the first waiting write resolves `held`. */
  holds: (key: string, kind: "put" | "create") => boolean = () => false;
  /** Resolves when the first write is held at the gate. */
  readonly held = Promise.withResolvers<string>();

  /** Lets every held write through, and every later one. */
  open(): void {
    this.holds = () => false;
    this.#open.resolve();
  }
  async #gate(key: string, kind: "put" | "create", signal?: AbortSignal): Promise<void> {
    if (!this.holds(key, kind)) return;
    this.held.resolve(key);
    const aborted = Promise.withResolvers<never>();
    const onAbort = () => aborted.reject(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await Promise.race([this.#open.promise, aborted.promise]);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }
  override async put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<void> {
    await this.#gate(key, "put", options?.signal);
    return super.put(key, bytes, options);
  }
  override async create(key: string, bytes: Uint8Array, options?: PutOptions) {
    await this.#gate(key, "create", options?.signal);
    return super.create(key, bytes, options);
  }
}

/**
 * The local broker as Redpanda's HTTP Proxy answers: no `…/assignments` and no `…/positions`
 * (404), commits as `{"partitions": […]}` (translated to the broker's `offsets`).
 */
const redpandaFetch: typeof fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (/\/(assignments|positions)$/.test(url.pathname)) {
    return Promise.resolve(
      Response.json({ error_code: 40401, message: "HTTP 404 Not Found" }, { status: 404 }),
    );
  }
  if (url.pathname.endsWith("/offsets") && init?.method === "POST" && init.body) {
    const { partitions } = JSON.parse(String(init.body));
    init = { ...init, body: JSON.stringify({ offsets: partitions }) };
  }
  return fetch(input, init);
};

/** A fetch that fails every call while `cut` is set, as a network partition would. */
function partitionableFetch(inner: typeof fetch): { fetch: typeof fetch; cut: boolean } {
  const state: { fetch: typeof fetch; cut: boolean } = {
    cut: false,
    fetch:
      ((input: RequestInfo | URL, init?: RequestInit) =>
        state.cut
          ? Promise.reject(new TypeError("test: network partition"))
          : inner(input, init)) as typeof fetch,
  };
  return state;
}

async function withGroup(
  partitions: number,
  fn: (ctx: {
    url: URL;
    lake: string;
    events: Record<string, unknown>[];
    config: (id: string, extra?: Record<string, string>) => ReturnType<typeof testConsumerConfig>;
  }) => Promise<void>,
) {
  const dataDir = await Deno.makeTempDir();
  const lake = await Deno.makeTempDir();
  const broker = await startBroker({ dataDir, partitions, instanceTimeoutMs: 1500 });
  try {
    const events = await loadRecordedEvents(1200);
    await produceEvents(broker.url, events);
    await fn({
      url: broker.url,
      lake,
      events,
      config: (id, extra = {}) =>
        testConsumerConfig({
          KAFKA_REST_URL: broker.url.href,
          OUTPUT_URL: lake,
          CONSUMER_INSTANCE_ID: id,
          CONSUMER_UNTIL_IDLE_MS: "2500",
          CONSUMER_HEARTBEAT_MS: "200",
          FLUSH_MAX_ROWS: "150",
          CONSUMER_MAX_BYTES: "65536",
          ...extra,
        }),
    });
  } finally {
    await broker.close();
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(lake, { recursive: true });
  }
}

async function assertLakeExact(lake: string, events: readonly Record<string, unknown>[]) {
  const rows = await readLakeRows(lake);
  assertNoDuplicates(rows);
  assert.deepEqual(
    new Set(rows.map((r) => r.id)),
    new Set(events.map((e) => (e.meta as { id: string }).id)),
    "every event is in the lake",
  );
  const report = await verifyLake({ store: new LocalObjectStore({ root: lake }) });
  assert.deepEqual(report.problems, []);
}

for (const flavor of ["confluent", "redpanda"] as const) {
  const proxyFetch = flavor === "redpanda" ? redpandaFetch : fetch;
  Deno.test(`${flavor}: a zombie consumer whose unit's place was claimed while it was cut off discards the unit and commits nothing for it`, async () => {
    await withGroup(1, async ({ lake, events, config }) => {
      const flavored = (id: string) => config(id, { KAFKA_REST_FLAVOR: flavor });
      const store = new GatedStore(new LocalObjectStore({ root: lake }));
      // the zombie's first claim waits at the gate, and then its network goes
      store.holds = (key) => key.startsWith("_manifests/") && key.includes("/partition=0/");
      const net = partitionableFetch(proxyFetch);
      const zombieLog = memorySink();
      const zombie = runConsumer(flavored("zombie"), {
        log: createLogger({ sink: zombieLog, level: "info" }),
        signal: new AbortController().signal,
        store,
        fetch: net.fetch,
      });
      await store.held.promise;
      net.cut = true;
      // the proxy expires the zombie's instance; the successor takes the partition and writes
      // the whole topic, its first unit in the place the zombie is about to claim
      const successor = await runConsumer(flavored("successor"), {
        log: createLogger({ sink: memorySink(), level: "error" }),
        signal: new AbortController().signal,
        fetch: proxyFetch,
      });
      assert.ok(successor.unitsCommitted > 0);
      net.cut = false;
      store.open();
      const stats: ConsumerStats = await zombie;
      assert.ok(stats.fencedUnits >= 1, JSON.stringify(zombieLog.records.slice(-5)));
      assert.ok(zombieLog.records.some((r) => r.message.startsWith("unit fenced")));
      assert.equal(stats.unitsCommitted, 0, "the zombie published nothing");
      await assertLakeExact(lake, events);
    });
  });
}

Deno.test("a partition revoked between a unit's claim and its upload, whose old owner then dies, is completed by the new owner and committed by it alone", async () => {
  await withGroup(1, async ({ lake, events, config }) => {
    const store = new GatedStore(new LocalObjectStore({ root: lake }));
    // the first owner's first data file waits at the gate, after its claim was won
    store.holds = (key, kind) => kind === "put" && key.endsWith(".parquet");
    const stopFirst = new AbortController();
    const first = runConsumer(config("z-first"), {
      log: createLogger({ sink: memorySink(), level: "error" }),
      signal: stopFirst.signal,
      store,
      drainTimeoutMs: 200,
    });
    await store.held.promise;
    // "a-second" sorts first, so the range assignor moves the partition to it
    const second = await runConsumer(config("a-second", { CONSUMER_UNTIL_IDLE_MS: "4000" }), {
      log: createLogger({ sink: memorySink(), level: "error" }),
      signal: new AbortController().signal,
    });
    // the first owner never uploads: it is stopped while its upload still waits
    stopFirst.abort(new Error("test: stop"));
    const firstStats = await first;
    assert.equal(second.unitsRedone, 1, "the new owner completed the claimed unit");
    assert.equal(firstStats.unitsCommitted, 0, "the old owner committed nothing");
    await assertLakeExact(lake, events);
  });
});

Deno.test("default instance names: consumers running on one host get distinct slots, a restarted one gets its slot back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await defaultInstanceName("lake", dir);
    const b = await defaultInstanceName("lake", dir);
    const other = await defaultInstanceName("another-group", dir);
    const host = Deno.hostname().replace(/[^A-Za-z0-9._-]/g, "-");
    assert.equal(a.name, `wikistream-${host}-0`);
    assert.equal(b.name, `wikistream-${host}-1`);
    assert.equal(other.name, `wikistream-${host}-0`);
    a.release(); // the process ended (the OS releases the lock of a killed one the same way)
    const restarted = await defaultInstanceName("lake", dir);
    assert.equal(restarted.name, a.name);
    for (const n of [b, other, restarted]) n.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
