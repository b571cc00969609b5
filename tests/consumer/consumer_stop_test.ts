import assert from "node:assert/strict";
import { startBroker } from "../../lib/broker/broker_server.ts";
import { runConsumer } from "../../lib/consumer/consumer_pipeline.ts";
import { createLogger, memorySink } from "../../lib/cli/log.ts";
import { LocalObjectStore } from "../../lib/object_store/local_object_store.ts";
import {
  ObjectStoreError,
  type PutOptions,
  type StoreCallOptions,
} from "../../lib/object_store/object_store.ts";
import { DelegatingStore } from "../_helpers/delegating_store.ts";
import {
  assertNoDuplicates,
  readLakeRows,
  testConsumerConfig,
} from "../_helpers/consumer_setup.ts";
import { loadRecordedEvents, produceEvents } from "../_helpers/produce_events.ts";
import { programArgs } from "../_helpers/program_command.ts";

const EVENTS = 1500;

/** A store that calls hooks before delegating, to stop or fail the consumer at a chosen step. */
class HookedStore extends DelegatingStore {
  onGet: (key: string) => void = () => {};
  /** Called before every write, `put` or `create`. */
  onPut: (key: string) => void = () => {};

  override put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<void> {
    this.onPut(key);
    return super.put(key, bytes, options);
  }
  override create(key: string, bytes: Uint8Array, options?: PutOptions) {
    this.onPut(key);
    return super.create(key, bytes, options);
  }
  override get(key: string, options?: StoreCallOptions): Promise<Uint8Array | undefined> {
    this.onGet(key);
    return super.get(key, options);
  }
}

function config(brokerUrl: URL, lake: string, extra: Record<string, string> = {}) {
  return testConsumerConfig({
    KAFKA_REST_URL: brokerUrl.href,
    OUTPUT_URL: lake,
    CONSUMER_UNTIL_IDLE_MS: "1000",
    FLUSH_MAX_ROWS: "400",
    ...extra,
  });
}

/**
 * Writes units to the lake and leaves the newest one incomplete, as a crash between the
 * manifest and the last data file would (its offsets are not committed).
 */
async function lakeWithIncompleteUnit(brokerUrl: URL, lake: string): Promise<void> {
  const store = new HookedStore(new LocalObjectStore({ root: lake }));
  let files = 0;
  store.onPut = (key) => {
    if (key.endsWith(".parquet") && ++files === 3) {
      throw new ObjectStoreError("test: the store refuses this upload", false);
    }
  };
  await assert.rejects(
    runConsumer(config(brokerUrl, lake), {
      log: createLogger({ sink: memorySink(), level: "error" }),
      signal: new AbortController().signal,
      store,
    }),
    /refuses this upload/,
  );
}

async function checkLakeOnce(lake: string, events: readonly Record<string, unknown>[]) {
  const rows = await readLakeRows(lake);
  assertNoDuplicates(rows);
  assert.deepEqual(
    new Set(rows.map((r) => r.id)),
    new Set(events.map((e) => (e.meta as { id: string }).id)),
  );
}

async function withLake(
  fn: (brokerUrl: URL, lake: string, events: Record<string, unknown>[]) => Promise<void>,
): Promise<void> {
  const dataDir = await Deno.makeTempDir();
  const lake = await Deno.makeTempDir();
  try {
    await using broker = await startBroker({ dataDir, partitions: 2 });
    const events = await loadRecordedEvents(EVENTS);
    await produceEvents(broker.url, events);
    await fn(broker.url, lake, events);
    assert.equal(broker.stats().consumerInstances, 0, "every consumer instance was deleted");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(lake, { recursive: true });
  }
}

for (
  const [step, trigger] of [
    ["reads the lake state", (key: string) => key.startsWith("_state/")],
    ["loads the dedupe ids", (key: string) => key.endsWith(".parquet")],
  ] as const
) {
  Deno.test(`consumer stops cleanly when the stop request arrives while it ${step}`, async () => {
    await withLake(async (brokerUrl, lake, events) => {
      // a complete lake with several units, then more events to read
      await runConsumer(config(brokerUrl, lake), {
        log: createLogger({ sink: memorySink(), level: "error" }),
        signal: new AbortController().signal,
      });
      const stop = new AbortController();
      const store = new HookedStore(new LocalObjectStore({ root: lake }));
      let hit = false;
      store.onGet = (key) => {
        if (!hit && trigger(key)) {
          hit = true;
          stop.abort(new DOMException("received SIGTERM", "AbortError"));
        }
      };
      const sink = memorySink();
      // a new group reads the topic from the start, so the consumer takes partitions on
      const stats = await runConsumer(config(brokerUrl, lake, { CONSUMER_GROUP: "again" }), {
        log: createLogger({ sink, level: "info" }),
        signal: stop.signal,
        store,
      });
      assert.ok(hit, "the stop request arrived at the intended step");
      assert.equal(stats.recordsIn, 0);
      assert.ok(
        sink.records.some((r) => r.message.startsWith("stopped before finishing")),
        JSON.stringify(sink.records),
      );
      await checkLakeOnce(lake, events);
    });
  });
}

Deno.test("consumer stops cleanly when the stop request arrives during a rebuild, which the next start redoes", async () => {
  await withLake(async (brokerUrl, lake, events) => {
    await lakeWithIncompleteUnit(brokerUrl, lake);
    const stop = new AbortController();
    // the stop request arrives as the rebuild starts reading the unit's records back
    const sink = memorySink();
    const stopAtRebuild = (record: Parameters<typeof sink>[0]) => {
      sink(record);
      if (record.message.startsWith("newest unit of the partition is incomplete")) {
        stop.abort(new Error("received SIGTERM"));
      }
    };
    const stopped = await runConsumer(config(brokerUrl, lake, { CONSUMER_MAX_BYTES: "65536" }), {
      log: createLogger({ sink: stopAtRebuild, level: "info" }),
      signal: stop.signal,
    });
    assert.ok(stop.signal.aborted, "the rebuild started");
    assert.equal(stopped.unitsRedone, 0);
    assert.ok(
      sink.records.some((r) => r.message === "consumer stopped"),
      JSON.stringify(sink.records),
    );
    const stats = await runConsumer(config(brokerUrl, lake), {
      log: createLogger({ sink: memorySink(), level: "error" }),
      signal: new AbortController().signal,
    });
    assert.equal(stats.unitsRedone, 1);
    await checkLakeOnce(lake, events);
  });
});

Deno.test("consumer abandons an upload that outlasts the drain timeout, stops cleanly, and the next start finishes it", async () => {
  await withLake(async (brokerUrl, lake, events) => {
    const stop = new AbortController();
    let reads = 0;
    const stopOnThirdRead: typeof fetch = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.pathname.endsWith("/records") && ++reads === 3) stop.abort(new Error("SIGTERM"));
      return fetch(input, init);
    };
    const store = new HookedStore(new LocalObjectStore({ root: lake }));
    const hanging = (signal?: AbortSignal) =>
      new Promise<never>((_, reject) => {
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
    const put = store.put.bind(store);
    store.put = (key, bytes, options) =>
      key.endsWith(".parquet") ? hanging(options?.signal) : put(key, bytes, options);
    const sink = memorySink();
    await runConsumer(
      config(brokerUrl, lake, { FLUSH_MAX_ROWS: "100000", FLUSH_INTERVAL_MS: "600000" }),
      {
        log: createLogger({ sink, level: "info" }),
        signal: stop.signal,
        fetch: stopOnThirdRead,
        store,
        drainTimeoutMs: 300,
      },
    );
    const stopped = sink.records.find((r) => r.message.startsWith("stopped before finishing"));
    assert.equal(stopped?.properties.reason, "drain timeout", JSON.stringify(sink.records));
    const stats = await runConsumer(config(brokerUrl, lake), {
      log: createLogger({ sink: memorySink(), level: "error" }),
      signal: new AbortController().signal,
    });
    assert.equal(stats.unitsRedone, 1);
    await checkLakeOnce(lake, events);
  });
});

Deno.test({
  name: "consumer process exits 0 on SIGTERM during start-up and the next run completes the lake",
  sanitizeResources: false, // the child's pipes are drained and closed explicitly
  async fn() {
    await withLake(async (brokerUrl, lake, events) => {
      await lakeWithIncompleteUnit(brokerUrl, lake);
      const env = {
        KAFKA_REST_URL: brokerUrl.href,
        OUTPUT_URL: lake,
        FLUSH_MAX_ROWS: "400",
        LOG_FORMAT: "json",
      };
      const child = new Deno.Command(Deno.execPath(), {
        args: programArgs("consume", [], env),
        env,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      let log = "";
      const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
      while (!log.includes("consumer starting")) {
        const { value, done } = await reader.read();
        if (done) break;
        log += value;
      }
      child.kill("SIGTERM");
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        log += value;
      }
      const status = await child.status;
      assert.equal(status.code, 0, log);
      assert.doesNotMatch(log, /unrecoverable error/);
      const stats = await runConsumer(config(brokerUrl, lake), {
        log: createLogger({ sink: memorySink(), level: "error" }),
        signal: new AbortController().signal,
      });
      assert.equal(stats.unitsRedone, 1, "the rebuild was abandoned and redone");
      await checkLakeOnce(lake, events);
    });
  },
});
