import assert from "node:assert/strict";
import { tableFromIPC } from "apache-arrow";
import { readParquet } from "parquet-wasm";
import { readEventIds } from "../../lib/lake/parquet_reader.ts";
import { LakeLayout } from "../../lib/lake/lake_layout.ts";
import { LakeUnit, type UnitLimits } from "../../lib/lake/lake_writer.ts";
import { parseOutputUrl } from "../../lib/object_store/output_url.ts";
import type { ConsumerRecord } from "../../lib/rest_proxy/rest_consumer_client.ts";
import { loadRecordedEvents } from "../_helpers/produce_events.ts";

function columns(parquet: Uint8Array): Record<string, string> {
  const table = tableFromIPC(readParquet(parquet).intoIPCStream());
  return Object.fromEntries(
    table.schema.fields.map((f) => [
      f.name,
      JSON.stringify(
        Array.from(
          table.getChild(f.name)!.toArray() as ArrayLike<unknown>,
          (v) => typeof v === "bigint" ? String(v) : v,
        ),
      ),
    ]),
  );
}

const LIMITS: UnitLimits = {
  maxRows: 1_000_000,
  maxFileBytes: 1 << 30,
  maxOpenFiles: 1000,
  maxBufferBytes: 1 << 30,
};
const layout = new LakeLayout({ prefix: "lake", topic: "wikimedia-changes" });

function records(events: unknown[]): ConsumerRecord[] {
  return events.map((value, i) => ({
    topic: "wikimedia-changes",
    key: null,
    value,
    partition: i % 3,
    offset: Math.floor(i / 3),
  }));
}

Deno.test("LakeUnit rebuilds the same rows and dead letters whatever the cross-partition read order", async () => {
  const events = await loadRecordedEvents(600);
  const input = records([...events, "bad value", events[5]]);
  const seal = (unit: LakeUnit) =>
    unit.seal({ rotation: "age", compression: "zstd", previousPositions: [], nowMs: 0 });
  const first = new LakeUnit({
    seq: 7,
    topic: "wikimedia-changes",
    layout,
    ingestedAtMs: 1e12,
    limits: LIMITS,
  });
  for (const r of input) first.add(r);
  const a = seal(first);
  assert.equal(a.manifest.counts.duplicates, 1);
  assert.equal(a.manifest.counts.dlq, 1);
  // rebuild: partitions interleaved differently, duplicates taken from the manifest
  const byPartition = [0, 1, 2].flatMap((p) => input.filter((r) => r.partition === p));
  const again = new LakeUnit({
    seq: 7,
    topic: "wikimedia-changes",
    layout,
    ingestedAtMs: 1e12,
    limits: LIMITS,
    replayDuplicates: a.manifest.duplicates,
  });
  for (const r of byPartition.reverse()) again.add(r);
  const b = seal(again);
  assert.deepEqual(b.manifest, a.manifest);
  assert.equal(b.objects.length, a.objects.length);
  for (const [i, o] of a.objects.entries()) {
    const other = b.objects[i]!;
    assert.equal(other.key, o.key);
    assert.equal(other.bytes.length, o.bytes.length);
    assert.deepEqual(other.bytes, o.bytes, `${o.key} is rebuilt byte for byte`);
    if (o.key.endsWith(".parquet")) assert.deepEqual(columns(other.bytes), columns(o.bytes));
  }
  assert.match(
    a.objects[0]!.key,
    /^lake\/wikimedia-changes\/date=\d{4}-\d\d-\d\d\/hour=\d\d\/wikistream-000000000007-000\.parquet$/,
  );
  assert.equal(a.objects.at(-1)!.key, "lake/_dlq/wikimedia-changes/000000000007.ndjson");
});

Deno.test("LakeUnit asks for a seal before a record that needs one file too many or a full file", async () => {
  const events = await loadRecordedEvents(60);
  const limits = { ...LIMITS, maxOpenFiles: 1, maxRows: 10 };
  const unit = new LakeUnit({
    seq: 0,
    topic: "wikimedia-changes",
    layout,
    ingestedAtMs: 0,
    limits,
  });
  const rs = records(events);
  unit.add(rs[0]!);
  const otherHour = structuredClone(events[1]) as { meta: { dt: string } };
  otherHour.meta.dt = "2001-01-01T00:00:00Z";
  assert.equal(unit.limitBefore({ ...rs[1]!, value: otherHour }), "open_files");
  for (let i = 1; i < 10; i++) assert.equal(unit.limitBefore(rs[i]!), undefined), unit.add(rs[i]!);
  assert.equal(unit.limitBefore(rs[10]!), "rows");
});

Deno.test("parseOutputUrl reads s3, file URLs and plain paths", () => {
  assert.deepEqual(parseOutputUrl("s3://my-bucket/a/b/"), {
    kind: "s3",
    bucket: "my-bucket",
    prefix: "a/b",
  });
  assert.deepEqual(parseOutputUrl("s3://my-bucket"), {
    kind: "s3",
    bucket: "my-bucket",
    prefix: "",
  });
  assert.deepEqual(parseOutputUrl("file:///tmp/my%20lake/"), {
    kind: "file",
    path: "/tmp/my lake",
  });
  assert.deepEqual(parseOutputUrl("./lake"), { kind: "file", path: "lake" });
  assert.deepEqual(parseOutputUrl("/data/x/../lake"), { kind: "file", path: "/data/lake" });
  assert.throws(() => parseOutputUrl("gs://bucket/x"), TypeError);
  assert.throws(() => parseOutputUrl("s3://Bad_Bucket/x"), TypeError);
});

Deno.test("LakeLayout puts everything but data under _ segments", () => {
  const l = new LakeLayout({ prefix: "", topic: "t" });
  assert.equal(
    l.dataKey(Date.UTC(2026, 4, 5, 11, 59), 3, 1),
    "t/date=2026-05-05/hour=11/wikistream-000000000003-001.parquet",
  );
  assert.equal(l.manifestKey(12), "_manifests/t/000000000012.json");
  assert.equal(l.seqOfManifestKey("_manifests/t/000000000012.json"), 12);
  assert.equal(l.dlqKey(1), "_dlq/t/000000000001.ndjson");
  assert.equal(l.pointerKey, "_state/t/last_committed.json");
});

Deno.test("readEventIds reads back the event ids of a data file in file order", async () => {
  const events = await loadRecordedEvents(3000);
  const unit = new LakeUnit({
    seq: 0,
    topic: "wikimedia-changes",
    layout,
    ingestedAtMs: 0,
    limits: LIMITS,
  });
  for (const r of records(events)) unit.add(r);
  const sealed = unit.seal({
    rotation: "rows",
    compression: "zstd",
    previousPositions: [],
    nowMs: 0,
  });
  const all: string[] = [];
  for (const object of sealed.objects) {
    if (!object.key.endsWith(".parquet")) continue;
    const ids = await readEventIds(object.bytes);
    assert.deepEqual(ids, JSON.parse(columns(object.bytes).event_id));
    all.push(...ids);
  }
  assert.equal(all.length, sealed.manifest.counts.rows);
  assert.deepEqual(new Set(all), new Set(sealed.eventIds));
});
