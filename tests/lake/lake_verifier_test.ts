import assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { LakeLayout } from "../../lib/lake/lake_layout.ts";
import { formatLakeReport, verifyLake } from "../../lib/lake/lake_verifier.ts";
import { LocalObjectStore } from "../../lib/object_store/local_object_store.ts";
import {
  encodeManifest,
  MANIFEST_FORMAT,
  type UnitManifest,
} from "../../lib/lake/unit_manifest.ts";
import { programArgs } from "../_helpers/program_command.ts";

const TOPIC = "wikimedia-changes";
const layout = new LakeLayout({ prefix: "", topic: TOPIC });
const HOUR = Date.parse("2026-11-20T13:00:00Z");

type Row = [id: string, partition: number, offset: number];

interface UnitSpec {
  partition: number;
  seq: number;
  owner?: string;
  rows: Row[];
  range: [start: number, end: number];
  duplicates?: [number, number, number][];
  dlq?: [partition: number, offset: number][];
  canaries?: number;
}

/**
 * Five committed units over partitions 0 and 1, written by three owners, with a duplicate, a
 * dead letter and a canary.
 */
const UNITS: UnitSpec[] = [
  {
    partition: 0,
    seq: 0,
    owner: "c0",
    rows: [["a0", 0, 0], ["a1", 0, 1], ["a2", 0, 2]],
    range: [0, 4],
    duplicates: [[0, 3, 3]],
    dlq: [[0, 4]],
  },
  {
    partition: 1,
    seq: 0,
    owner: "c1",
    rows: [["b0", 1, 0], ["b1", 1, 1]],
    range: [0, 2],
    canaries: 1,
  },
  { partition: 0, seq: 1, owner: "c1", rows: [["a5", 0, 5], ["a6", 0, 6]], range: [5, 6] },
  { partition: 1, seq: 1, owner: "c0", rows: [["b3", 1, 3], ["b4", 1, 4]], range: [3, 4] },
  { partition: 0, seq: 2, owner: "c2", rows: [["a7", 0, 7], ["a8", 0, 8]], range: [7, 8] },
];

async function parquetOf(rows: Row[]): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "wikistream_pq_" });
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const values = rows.map(([id, p, o]) => `('${id}', ${p}, ${o})`).join(", ");
    await connection.run(
      `COPY (SELECT event_id, kafka_partition::INTEGER AS kafka_partition, kafka_offset::BIGINT AS kafka_offset, TIMESTAMPTZ '2026-11-20 13:30:00+00' AS event_time FROM (VALUES ${values}) t(event_id, kafka_partition, kafka_offset)) TO '${dir}/f.parquet' (FORMAT parquet)`,
    );
    return await Deno.readFile(`${dir}/f.parquet`);
  } finally {
    connection.closeSync();
    instance.closeSync();
    await Deno.remove(dir, { recursive: true });
  }
}

function fileOffsets(rows: Row[]): UnitManifest["files"][number]["offsets"] {
  const map = new Map<number, { first: number; last: number; count: number }>();
  for (const [, p, o] of rows) {
    const s = map.get(p);
    if (!s) map.set(p, { first: o, last: o, count: 1 });
    else {
      s.first = Math.min(s.first, o);
      s.last = Math.max(s.last, o);
      s.count++;
    }
  }
  return [...map].sort((a, b) => a[0] - b[0]).map(([partition, s]) => ({ partition, ...s }));
}

/** Writes the units into a temporary folder; each partition's pointer names its newest unit,
 * or `pointers[partition]`. */
async function makeLake(units = UNITS, pointers: Record<number, number> = {}) {
  const root = await Deno.makeTempDir({ prefix: "wikistream_verify_" });
  const store = new LocalObjectStore({ root });
  const newest = new Map<number, number>();
  for (const unit of units) {
    const { partition, seq } = unit;
    newest.set(partition, Math.max(seq, newest.get(partition) ?? -1));
    const bytes = await parquetOf(unit.rows);
    const key = layout.dataKey(HOUR, partition, seq, 0);
    const dlqLines = (unit.dlq ?? []).map(([partition, offset]) =>
      JSON.stringify({ topic: TOPIC, partition, offset, reason: "bad", value: "x" })
    );
    const duplicates = unit.duplicates ?? [];
    const dupCount = duplicates.reduce((n, [, a, b]) => n + b - a + 1, 0);
    const manifest: UnitManifest = {
      format: MANIFEST_FORMAT,
      partition,
      seq,
      owner: unit.owner ?? "c0",
      topic: TOPIC,
      schemaVersion: "1",
      compression: "zstd",
      ingestedAt: "2026-11-20T13:30:00.000Z",
      sealedAt: "2026-11-20T13:31:00.000Z",
      rotation: "rows",
      ranges: [{ partition, start: unit.range[0], end: unit.range[1] }],
      positions: [{ partition, offset: unit.range[1] }],
      duplicates,
      files: [{
        key,
        rows: unit.rows.length,
        bytes: bytes.length,
        minEventTime: "2026-11-20T13:30:00.000Z",
        maxEventTime: "2026-11-20T13:30:00.000Z",
        offsets: fileOffsets(unit.rows),
      }],
      dlq: dlqLines.length > 0
        ? { key: layout.dlqKey(partition, seq), count: dlqLines.length, bytes: 0 }
        : null,
      counts: {
        records: unit.rows.length + dlqLines.length + (unit.canaries ?? 0) + dupCount,
        rows: unit.rows.length,
        dlq: dlqLines.length,
        canaries: unit.canaries ?? 0,
        duplicates: dupCount,
      },
    };
    await store.put(layout.manifestKey(partition, seq), encodeManifest(manifest));
    await store.put(key, bytes);
    if (dlqLines.length > 0) {
      await store.put(
        layout.dlqKey(partition, seq),
        new TextEncoder().encode(dlqLines.join("\n") + "\n"),
      );
    }
  }
  for (const [partition, seq] of newest) {
    const pointed = pointers[partition] ?? seq;
    await store.put(
      layout.pointerKey(partition),
      new TextEncoder().encode(JSON.stringify({ partition, seq: pointed })),
    );
  }
  return {
    root,
    store,
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

Deno.test("verifyLake() passes a sound lake and summarises partitions and counts", async () => {
  await using lake = await makeLake();
  const report = await verifyLake({ store: lake.store });
  assert.deepEqual(report.problems, []);
  assert.equal(report.distinctEventIds, 11);
  const [topic] = report.topics;
  assert.equal(topic!.units, 5);
  assert.equal(topic!.files, 5);
  assert.equal(topic!.rows, 11);
  assert.deepEqual(topic!.counts, { records: 14, dlq: 1, canaries: 1, duplicates: 1 });
  assert.deepEqual(topic!.partitions, [
    { partition: 0, first: 0, last: 8, units: 3, owners: 3, pointerSeq: 2 },
    { partition: 1, first: 0, last: 4, units: 2, owners: 2, pointerSeq: 1 },
  ]);
  const text = formatLakeReport(report, "file:///lake");
  assert.match(text, /partition 0: offsets 0–8 in 3 units/);
  assert.match(text, /OK: no violation found\n$/);
});

Deno.test("verifyLake() reports a copied data file as an orphan with repeated event ids", async () => {
  await using lake = await makeLake();
  const bytes = await lake.store.get(layout.dataKey(HOUR, 0, 1, 0));
  await lake.store.put(layout.dataKey(HOUR, 0, 1, 1), bytes!);
  const report = await verifyLake({ store: lake.store });
  assert.ok(
    report.problems.some((p) =>
      /wikistream-p0-000000000001-001\.parquet" is in no manifest/.test(p)
    ),
  );
  assert.ok(report.problems.includes(
    `event_id appears twice: 2 ids of "${
      layout.dataKey(HOUR, 0, 1, 1)
    }" are already in the lake (first "a5")`,
  ));
  assert.match(formatLakeReport(report, "x"), /FAILED: 2 violations/);
});

Deno.test("verifyLake() reports a deleted data file of a committed unit", async () => {
  await using lake = await makeLake();
  await lake.store.delete(layout.dataKey(HOUR, 0, 1, 0));
  const report = await verifyLake({ store: lake.store });
  assert.ok(report.problems.includes(
    `${TOPIC} partition 0 unit 1: data file "${layout.dataKey(HOUR, 0, 1, 0)}" is missing`,
  ));
});

Deno.test("verifyLake() reports an offset gap when a unit's manifest is gone", async () => {
  await using lake = await makeLake();
  await lake.store.delete(layout.manifestKey(0, 1));
  const report = await verifyLake({ store: lake.store });
  assert.ok(report.problems.includes(`${TOPIC} partition 0: manifest of unit 1 is missing`));
  assert.ok(report.problems.includes(
    `${TOPIC} partition 0: gap, offsets 5–6 are in no unit (unit 2 starts at 7)`,
  ));
});

Deno.test("verifyLake() reports overlapping ranges of two units", async () => {
  const units: UnitSpec[] = [
    UNITS[0]!,
    { partition: 0, seq: 1, owner: "c1", rows: [["a4", 0, 4], ["a5", 0, 5]], range: [4, 5] },
  ];
  await using lake = await makeLake(units);
  const report = await verifyLake({ store: lake.store });
  assert.ok(report.problems.includes(`${TOPIC} partition 0: overlap, unit 1 covers 4 again`));
});

Deno.test("verifyLake() reports unaccounted offsets and unreadable files", async () => {
  const units: UnitSpec[] = [
    { partition: 0, seq: 0, rows: [["a0", 0, 0], ["a2", 0, 2]], range: [0, 2] },
  ];
  await using lake = await makeLake(units);
  await lake.store.put(layout.dataKey(HOUR, 0, 7, 0), new TextEncoder().encode("not parquet"));
  const report = await verifyLake({ store: lake.store });
  assert.ok(report.problems.includes(
    `${TOPIC} partition 0 unit 0: 1 offsets of its ranges are neither a row, a duplicate nor a dead letter, but the manifest counts 0 canaries`,
  ));
  assert.ok(
    report.problems.some((p) =>
      p.startsWith(`${TOPIC}: data file "${layout.dataKey(HOUR, 0, 7, 0)}" is not readable`)
    ),
  );
});

Deno.test("verifyLake() treats the newest uncommitted, incomplete unit as in flight", async () => {
  await using lake = await makeLake(UNITS, { 0: 1 });
  await lake.store.delete(layout.dataKey(HOUR, 0, 2, 0));
  const report = await verifyLake({ store: lake.store });
  assert.deepEqual(report.problems, []);
  assert.deepEqual(report.topics[0]!.pending, ["0/2"]);
  assert.match(report.notes[0]!, /partition 0: unit 2 is in flight/);
  await lake.store.delete(layout.dataKey(HOUR, 0, 1, 0));
  const broken = await verifyLake({ store: lake.store });
  assert.ok(broken.problems.some((p) => /unit 1: data file .* is missing/.test(p)));
});

Deno.test("verifyLake() reports a unit of the single-writer format instead of checking it", async () => {
  await using lake = await makeLake();
  await lake.store.put(`_manifests/${TOPIC}/000000000000.json`, new TextEncoder().encode("{}"));
  const report = await verifyLake({ store: lake.store });
  assert.ok(report.problems.some((p) => /is a unit of the single-writer format/.test(p)));
});

async function runVerify(root: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: programArgs("verify", ["--output-url", root]),
    cwd: new URL("../../", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test("verify.ts exits 0 on a sound lake, 1 on a violation and 2 on a missing lake", async () => {
  await using lake = await makeLake();
  const good = await runVerify(lake.root);
  assert.equal(good.code, 0, good.stderr);
  assert.match(
    good.stdout,
    /^lake file:\/\/.*\ntopic wikimedia-changes: 5 units, 5 data files, 11 rows/,
  );
  assert.match(good.stdout, /partition 0: offsets 0–8 in 3 units by 3 owners/);
  await lake.store.delete(layout.dataKey(HOUR, 0, 0, 0));
  const bad = await runVerify(lake.root);
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stdout, /FAILED: \d+ violations/);
  const missing = await runVerify(`${lake.root}/nothing-here`);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /the folder does not exist/);
});
