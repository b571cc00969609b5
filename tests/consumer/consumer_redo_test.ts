import assert from "node:assert/strict";
import { CommitProtocol } from "../../lib/lake/commit_protocol.ts";
import { runConsumer } from "../../lib/consumer/consumer_pipeline.ts";
import { GAP_REWINDS } from "../../lib/consumer/partition_lanes.ts";
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
  const sealed = await unit.seal({
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

Deno.test("consumer rebuilds an incomplete unit when the proxy loses its first seek back to it (no false offset gap)", async () => {
  const topic = "wikimedia-changes";
  const layout = new LakeLayout({ prefix: "", topic });
  const store = new MemoryObjectStore();
  const events = await loadRecordedEvents(3);
  const record = (offset: number): ConsumerRecord => ({
    topic,
    key: null,
    value: events[offset - 1000]!,
    partition: 0,
    offset,
  });
  // the incomplete unit covers offsets 1000-1001; a crash left only its manifest
  const unit = new LakeUnit({
    partition: 0,
    seq: 0,
    owner: "crashed",
    topic,
    layout,
    ingestedAtMs: Date.parse("2026-01-01T00:00:00Z"),
    limits: { maxRows: 1e9, maxFileBytes: 1e12, maxOpenFiles: 1e6, maxBufferBytes: 1e12 },
  });
  for (const offset of [1000, 1001]) unit.add(record(offset));
  const sealed = await unit.seal({ rotation: "rows", compression: "zstd", nowMs: 0 });
  const protocol = new CommitProtocol({ store, layout, log: createLogger({ sink: memorySink() }) });
  assert.equal(await protocol.claim(sealed, new AbortController().signal), "won");

  // the proxy delivers from 1002 (ahead of the unit); the first seek back is lost, as when the
  // proxy restarts between the seek and the read; the second one lands
  let position = 1002;
  const seeks: number[] = [];
  const commits: PartitionOffset[][] = [];
  const client: ConsumerClient = {
    instanceId: "fake",
    create: () => Promise.resolve(),
    subscribe: () => Promise.resolve(),
    read: () => {
      const out: ConsumerRecord[] = [];
      for (; out.length < 10 && position <= 1002; position++) out.push(record(position));
      return Promise.resolve(out);
    },
    commit: (offsets) => {
      commits.push([...offsets]);
      return Promise.resolve();
    },
    seek: (offsets) => {
      seeks.push(offsets[0]!.offset);
      position = seeks.length === 1 ? 1002 : offsets[0]!.offset;
      return Promise.resolve();
    },
    assignments: () => Promise.resolve([{ topic, partition: 0 }]),
    delete: () => Promise.resolve(),
  };
  const sink = memorySink();
  await runConsumer(
    testConsumerConfig({ OUTPUT_URL: "file:///unused", CONSUMER_UNTIL_IDLE_MS: "1" }),
    { log: createLogger({ sink }), signal: new AbortController().signal, store, client },
  );
  assert.deepEqual(seeks, [1000, 1000]);
  assert.ok(
    !sink.records.some((r) => r.message.includes("no records between")),
    "no offset gap is concluded",
  );
  for (const f of sealed.manifest.files) assert.ok(await store.exists(f.key), f.key);
  assert.deepEqual(commits[0], [{ topic, partition: 0, offset: 1001 }]);
});

Deno.test("consumer accepts a real offset gap (retention) after GAP_REWINDS send-backs and goes on", async () => {
  const topic = "wikimedia-changes";
  const store = new MemoryObjectStore();
  const events = await loadRecordedEvents(20);
  // the lake ends at offset 99 (a committed unit); the topic now starts at 105
  const layout = new LakeLayout({ prefix: "", topic });
  const first = new LakeUnit({
    partition: 0,
    seq: 0,
    owner: "earlier",
    topic,
    layout,
    ingestedAtMs: 0,
    limits: { maxRows: 1e9, maxFileBytes: 1e12, maxOpenFiles: 1e6, maxBufferBytes: 1e12 },
  });
  first.add({ value: events[0]!, partition: 0, offset: 99 });
  const sealed = await first.seal({ rotation: "rows", compression: "zstd", nowMs: 0 });
  const protocol = new CommitProtocol({ store, layout, log: createLogger({ sink: memorySink() }) });
  assert.equal(await protocol.claim(sealed, new AbortController().signal), "won");
  for (const o of sealed.objects) await store.put(o.key, o.bytes, { contentType: o.contentType });

  let position = 105;
  let seeks = 0;
  const commits: PartitionOffset[][] = [];
  const client: ConsumerClient = {
    instanceId: "fake",
    create: () => Promise.resolve(),
    subscribe: () => Promise.resolve(),
    read: () => {
      const out: ConsumerRecord[] = [];
      for (; out.length < 10 && position < 110; position++) {
        out.push({
          topic,
          key: null,
          value: events[position - 100]!,
          partition: 0,
          offset: position,
        });
      }
      return Promise.resolve(out);
    },
    commit: (offsets) => {
      commits.push([...offsets]);
      return Promise.resolve();
    },
    seek: () => {
      seeks++;
      position = 105; // nothing below 105 is left
      return Promise.resolve();
    },
    assignments: () => Promise.resolve([{ topic, partition: 0 }]),
    delete: () => Promise.resolve(),
  };
  const sink = memorySink();
  const stats = await runConsumer(
    testConsumerConfig({ OUTPUT_URL: "file:///unused", CONSUMER_UNTIL_IDLE_MS: "1" }),
    { log: createLogger({ sink }), signal: new AbortController().signal, store, client },
  );
  assert.equal(seeks, GAP_REWINDS);
  assert.equal(stats.offsetGaps, 1);
  assert.equal(stats.rowsWritten, 5);
  assert.deepEqual(commits.at(-1), [{ topic, partition: 0, offset: 109 }]);
});
