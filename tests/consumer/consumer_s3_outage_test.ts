import assert from "node:assert/strict";
import { startBroker } from "../../lib/broker/broker_server.ts";
import { runConsumer } from "../../lib/consumer/consumer_pipeline.ts";
import { createConsumerStats } from "../../lib/consumer/consumer_stats.ts";
import { LakeLayout } from "../../lib/lake/lake_layout.ts";
import { createLogger, memorySink } from "../../lib/cli/log.ts";
import {
  type ObjectStore,
  ObjectStoreError,
  type PutOptions,
} from "../../lib/object_store/object_store.ts";
import { DelegatingStore } from "../_helpers/delegating_store.ts";
import {
  type ConsumerClient,
  type PartitionOffset,
  RestConsumerClient,
} from "../../lib/rest_proxy/rest_consumer_client.ts";
import { S3ObjectStore } from "../../lib/object_store/s3_object_store.ts";
import { parseManifest } from "../../lib/lake/unit_manifest.ts";
import {
  assertNoDuplicates,
  downloadStore,
  readLakeRows,
  testConsumerConfig,
} from "../_helpers/consumer_setup.ts";
import { loadRecordedEvents, produceEvents } from "../_helpers/produce_events.ts";
import { startS3Server } from "../_helpers/s3_server.ts";

/** Refuses every upload while `down` is set, like an S3 outage (503). */
class FlakyStore extends DelegatingStore {
  down = true;
  refused = 0;
  override put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<void> {
    if (this.down) {
      this.refused++;
      return Promise.reject(new ObjectStoreError(`Cannot upload ${key}: HTTP 503`, true));
    }
    return super.put(key, bytes, options);
  }
  override create(key: string, bytes: Uint8Array, options?: PutOptions) {
    if (this.down) {
      this.refused++;
      return Promise.reject(new ObjectStoreError(`Cannot create ${key}: HTTP 503`, true));
    }
    return super.create(key, bytes, options);
  }
}

/** Records commits and checks, at each one, that the lake already holds the offsets. */
function watchCommits(inner: ConsumerClient, store: ObjectStore, layout: LakeLayout) {
  const commits: PartitionOffset[][] = [];
  const violations: string[] = [];
  const client: ConsumerClient = {
    get instanceId() {
      return inner.instanceId;
    },
    create: (s) => inner.create(s),
    subscribe: (t, s) => inner.subscribe(t, s),
    read: (s) => inner.read(s),
    seek: (o, s) => inner.seek(o, s),
    assignments: (s) => inner.assignments(s),
    delete: (s) => inner.delete(s),
    async commit(offsets, signal) {
      const durable = new Map<number, number>();
      for (const key of await store.list(layout.manifestPrefix)) {
        const m = parseManifest((await store.get(key))!, key);
        const keys = [...m.files.map((f) => f.key), ...(m.dlq ? [m.dlq.key] : [])];
        const present = await Promise.all(keys.map((k) => store.exists(k)));
        if (!present.every(Boolean)) continue;
        for (const p of m.positions) {
          durable.set(p.partition, Math.max(p.offset, durable.get(p.partition) ?? -1));
        }
      }
      for (const o of offsets) {
        if (o.offset > (durable.get(o.partition) ?? -1)) {
          violations.push(`committed ${o.partition}:${o.offset} before it was durable`);
        }
      }
      commits.push([...offsets]);
      await inner.commit(offsets, signal);
    },
  };
  return { client, commits, violations };
}

async function waitFor(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("an S3 outage delays uploads without loss, duplicates or early offset commits", async () => {
  const dataDir = await Deno.makeTempDir();
  const download = await Deno.makeTempDir();
  try {
    await using broker = await startBroker({ dataDir, partitions: 2 });
    await using s3 = await startS3Server();
    const events = await loadRecordedEvents(1200);
    await produceEvents(broker.url, events);
    const s3store = new S3ObjectStore({
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: s3.credentials,
    });
    const store = new FlakyStore(s3store);
    const layout = new LakeLayout({ prefix: "", topic: "wikimedia-changes" });
    const config = testConsumerConfig({
      KAFKA_REST_URL: broker.url.href,
      FLUSH_MAX_ROWS: "400",
      FLUSH_INTERVAL_MS: "500",
      CONSUMER_HEARTBEAT_MS: "200",
    });
    const watched = watchCommits(
      new RestConsumerClient({
        baseUrl: broker.url,
        group: config.consumerGroup,
        namePrefix: "outage-test",
        readTimeoutMs: 200,
      }),
      s3store,
      layout,
    );
    const stats = createConsumerStats();
    const stop = new AbortController();
    const run = runConsumer(config, {
      log: createLogger({ sink: memorySink(), level: "warn" }),
      signal: stop.signal,
      store,
      client: watched.client,
      stats,
    });
    try {
      // a refusal is counted when the call is made, its retry once the failure is seen
      await waitFor("refused uploads", () => store.refused >= 3 && stats.storeRetries >= 3);
      assert.equal(watched.commits.length, 0, "no offset commit during the outage");
      assert.equal(stats.rowsWritten, 0);
      assert.ok(stats.storeRetries >= 3);
      store.down = false;
      await waitFor("all rows", () => stats.rowsWritten >= events.length);
    } finally {
      stop.abort();
      await run;
    }
    assert.deepEqual(watched.violations, []);
    assert.ok(watched.commits.length >= 3);
    await downloadStore(s3store, download);
    s3store.close();
    const rows = await readLakeRows(download);
    assertNoDuplicates(rows);
    assert.deepEqual(
      new Set(rows.map((r) => r.id)),
      new Set(events.map((e) => (e.meta as { id: string }).id)),
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(download, { recursive: true });
  }
});
