import assert from "node:assert/strict";
import { CommitProtocol } from "../../lib/lake/commit_protocol.ts";
import { runConsumer } from "../../lib/consumer/consumer_pipeline.ts";
import { LakeLayout } from "../../lib/lake/lake_layout.ts";
import { LakeUnit } from "../../lib/lake/lake_writer.ts";
import { createLogger, memorySink } from "../../lib/cli/log.ts";
import { MemoryObjectStore } from "../../lib/object_store/memory_object_store.ts";
import type {
  ConsumerClient,
  ConsumerRecord,
  PartitionOffset,
} from "../../lib/rest_proxy/rest_consumer_client.ts";
import { testConsumerConfig } from "../_helpers/consumer_setup.ts";
import { loadRecordedEvents } from "../_helpers/produce_events.ts";

Deno.test("consumer rebuilds an incomplete unit when the proxy resumes far below it", async () => {
  const topic = "wikimedia-changes";
  const layout = new LakeLayout({ prefix: "", topic });
  const store = new MemoryObjectStore();
  const events = await loadRecordedEvents(2);
  // the incomplete unit covers offsets 1000 and 1001 of partition 0
  const unitRecords: ConsumerRecord[] = events.map((value, i) => ({
    topic,
    key: null,
    value,
    partition: 0,
    offset: 1000 + i,
  }));
  const unit = new LakeUnit({
    partition: 0,
    seq: 3,
    owner: "crashed",
    topic,
    layout,
    ingestedAtMs: Date.parse("2026-01-01T00:00:00Z"),
    limits: { maxRows: 1e9, maxFileBytes: 1e12, maxOpenFiles: 1e6, maxBufferBytes: 1e12 },
  });
  for (const r of unitRecords) unit.add(r);
  const sealed = unit.seal({
    rotation: "rows",
    compression: "zstd",
    nowMs: Date.parse("2026-01-01T00:00:01Z"),
  });
  // crash after the manifest: none of the data files made it
  const protocol = new CommitProtocol({ store, layout, log: createLogger({ sink: memorySink() }) });
  assert.equal(await protocol.claim(sealed, new AbortController().signal), "won");

  // the proxy resumes at offset 0 (a lost commit, Redpanda's restart-at-0), 100 records a read,
  // and each read takes a minute: reaching offset 1000 takes ten minutes
  let now = Date.parse("2026-01-02T00:00:00Z");
  const clock = {
    now: () => now,
    sleep: (ms: number) => {
      now += ms;
      return Promise.resolve();
    },
  };
  let position = 0;
  const commits: PartitionOffset[][] = [];
  const client: ConsumerClient = {
    instanceId: "fake",
    create: () => Promise.resolve(),
    subscribe: () => Promise.resolve(),
    read: () => {
      now += 60_000;
      const out: ConsumerRecord[] = [];
      for (; out.length < 100 && position < 1002; position++) {
        out.push(
          position >= 1000
            ? unitRecords[position - 1000]!
            : { topic, key: null, value: { filler: position }, partition: 0, offset: position },
        );
      }
      return Promise.resolve(out);
    },
    commit: (offsets) => {
      commits.push([...offsets]);
      return Promise.resolve();
    },
    seek: () => Promise.resolve(),
    assignments: () => Promise.resolve([{ topic, partition: 0 }]),
    delete: () => {
      position = 1002;
      return Promise.resolve();
    },
  };
  const config = testConsumerConfig({
    OUTPUT_URL: "file:///unused",
    CONSUMER_UNTIL_IDLE_MS: "1",
    DEDUPE_WINDOW: "0",
  });
  await runConsumer(config, {
    log: createLogger({ sink: memorySink() }),
    signal: new AbortController().signal,
    store,
    client,
    clock,
    redoStallMs: 5 * 60_000,
  });
  for (const f of sealed.manifest.files) assert.ok(await store.exists(f.key), f.key);
  assert.deepEqual(commits[0], [{ topic, partition: 0, offset: 1001 }]);
});
