import assert from "node:assert/strict";
import { tableFromIPC } from "apache-arrow";
import { readParquet } from "parquet-wasm";
import { readEventIds } from "../../lib/lake/parquet_reader.ts";
import { LakeLayout } from "../../lib/lake/lake_layout.ts";
import { LakeUnit } from "../../lib/lake/lake_writer.ts";
import { parseOutputUrl } from "../../lib/object_store/output_url.ts";
import type { ConsumerRecord } from "../../lib/rest_proxy/rest_consumer_client.ts";
import { TEST_LAYOUT, UNBOUNDED_LIMITS } from "../_helpers/lake_unit_options.ts";
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

const LIMITS = UNBOUNDED_LIMITS;
const layout = TEST_LAYOUT;

function records(events: unknown[], partition = 2): ConsumerRecord[] {
  return events.map((value, i) => ({
    topic: "wikimedia-changes",
    key: null,
    value,
    partition,
    offset: 100 + i,
  }));
}

Deno.test("LakeUnit rebuilds the same rows and dead letters byte for byte from its manifest", async () => {
  const events = await loadRecordedEvents(600);
  const input = records([...events, "bad value", events[5]]);
  const seal = (unit: LakeUnit) => unit.seal({ rotation: "age", compression: "zstd", nowMs: 0 });
  const first = new LakeUnit({
    partition: 2,
    owner: "c0",
    seq: 7,
    topic: "wikimedia-changes",
    layout,
    ingestedAtMs: 1e12,
    limits: LIMITS,
  });
  for (const r of input) first.add(r);
  const a = await seal(first);
  assert.equal(a.manifest.counts.duplicates, 1);
  assert.equal(a.manifest.counts.dlq, 1);
  // rebuild by another owner: duplicates taken from the manifest, not from a window
  const again = new LakeUnit({
    partition: 2,
    owner: "c0",
    seq: 7,
    topic: "wikimedia-changes",
    layout,
    ingestedAtMs: 1e12,
    limits: LIMITS,
    replayDuplicates: a.manifest.duplicates,
  });
  for (const r of input) again.add(r);
  const b = await seal(again);
  assert.deepEqual(b.manifest, a.manifest);
  // the rebuilt unit's ids (for the dedupe window) are the rows' ids, as the original's
  assert.deepEqual(new Set(b.eventIds), new Set(a.eventIds));
  assert.equal(b.eventIds.size, 600);
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
    /^lake\/wikimedia-changes\/date=\d{4}-\d\d-\d\d\/hour=\d\d\/wikistream-p2-000000000007-000\.parquet$/,
  );
  assert.equal(
    a.objects.at(-1)!.key,
    "lake/_dlq/wikimedia-changes/partition=2/000000000007.ndjson",
  );
  assert.deepEqual(a.manifest.ranges, [{ partition: 2, start: 100, end: 100 + input.length - 1 }]);
  assert.deepEqual(a.manifest.positions, [{ partition: 2, offset: 100 + input.length - 1 }]);
});

Deno.test("LakeUnit refuses a record of another partition", async () => {
  const [event] = await loadRecordedEvents(1);
  const unit = new LakeUnit({
    partition: 0,
    owner: "c0",
    seq: 0,
    topic: "wikimedia-changes",
    layout,
    ingestedAtMs: 0,
    limits: LIMITS,
  });
  assert.throws(() => unit.add(records([event], 1)[0]!), /offered to a unit of partition 0/);
});

Deno.test("LakeUnit asks for a seal before a record that needs one file too many or a full file", async () => {
  const events = await loadRecordedEvents(60);
  const limits = { ...LIMITS, maxOpenFiles: 1, maxRows: 10 };
  const unit = new LakeUnit({
    partition: 2,
    owner: "c0",
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
    l.dataKey(Date.UTC(2026, 4, 5, 11, 59), 2, 3, 1),
    "t/date=2026-05-05/hour=11/wikistream-p2-000000000003-001.parquet",
  );
  assert.equal(l.manifestKey(2, 12), "_manifests/t/partition=2/000000000012.json");
  assert.deepEqual(l.parseManifestKey("_manifests/t/partition=2/000000000012.json"), {
    partition: 2,
    seq: 12,
  });
  assert.equal(l.parseManifestKey("_manifests/t/000000000012.json"), undefined);
  assert.ok(l.isSingleWriterManifestKey("_manifests/t/000000000012.json"));
  assert.equal(l.dlqKey(2, 1), "_dlq/t/partition=2/000000000001.ndjson");
  assert.equal(l.pointerKey(2), "_state/t/partition=2.json");
});

Deno.test("readEventIds reads back the event ids of a data file in file order", async () => {
  const events = await loadRecordedEvents(3000);
  const unit = new LakeUnit({
    partition: 2,
    owner: "c0",
    seq: 0,
    topic: "wikimedia-changes",
    layout,
    ingestedAtMs: 0,
    limits: LIMITS,
  });
  for (const r of records(events)) unit.add(r);
  const sealed = await unit.seal({
    rotation: "rows",
    compression: "zstd",
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

Deno.test("LakeUnit seals an hour whose only records were dead-lettered or canaries without a file for it", async () => {
  const [good] = await loadRecordedEvents(1);
  const event = good as { meta: { dt: string; domain: string; id: string }; namespace: unknown };
  const later = (hours: number, change: (e: typeof event) => void) => {
    const copy = structuredClone(event);
    copy.meta.dt = new Date(Date.parse(event.meta.dt) + hours * 3_600_000).toISOString();
    copy.meta.id = `${event.meta.id.slice(0, 30)}-${hours}`;
    change(copy);
    return copy;
  };
  // hour +1 holds only a record the schema refuses, hour +2 only a canary
  const bad = later(1, (e) => (e.namespace = "0"));
  const canary = later(2, (e) => (e.meta.domain = "canary"));
  const unit = new LakeUnit({
    partition: 2,
    owner: "c0",
    seq: 0,
    topic: "wikimedia-changes",
    layout,
    ingestedAtMs: 1e12,
    limits: LIMITS,
  });
  assert.deepEqual(records([good, bad, canary]).map((r) => unit.add(r)), ["row", "dlq", "canary"]);
  const sealed = await unit.seal({ rotation: "age", compression: "zstd", nowMs: 0 });
  assert.equal(sealed.manifest.files.length, 1);
  assert.equal(sealed.manifest.files[0]!.rows, 1);
  assert.equal(sealed.manifest.counts.dlq, 1);
  assert.equal(sealed.manifest.counts.canaries, 1);
  assert.match(sealed.manifest.files[0]!.key, /-000\.parquet$/);
});
