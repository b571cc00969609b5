/**
 * Checks a lake against its manifests (`_manifests/<topic>/<seq>.json`, see
 * `unit_manifest.ts`) through the {@linkcode ObjectStore} interface, so a
 * local folder and S3 are checked the same way:
 *
 * - manifests are numbered 0…N without a gap, each parses;
 * - per Kafka partition, the units' offset ranges are contiguous from the first
 *   to the last committed offset: no gap, no overlap;
 * - every data file listed exists, is readable Parquet, has the manifest's row
 *   count, and its rows' `(kafka_partition, kafka_offset)` lie inside the
 *   unit's ranges and match the file's per-partition offsets;
 * - per unit, every offset of a range is accounted for exactly once: a row, a
 *   dropped duplicate, a dead letter (from the dead-letter object's lines) or a
 *   canary (counted);
 * - no data file exists that no manifest lists (it would duplicate rows);
 * - no `event_id` appears twice in the whole lake.
 *
 * Units newer than the `_state/<topic>/last_committed.json` pointer whose
 * objects are not all written are in-flight (the consumer finishes them on
 * restart): they are reported, not counted as violations, as long as only the
 * newest unit is affected.
 *
 * Memory: one data file at a time plus one set entry per distinct `event_id`
 * (about 100 bytes each).
 *
 * @module
 */
import { describeError } from "../cli/log.ts";
import type { ObjectStore } from "../object_store/object_store.ts";
import { LakeLayout } from "./lake_layout.ts";
import { type FileRows, readParquetRows } from "./parquet_reader.ts";
import { parseManifest, type UnitManifest } from "./unit_manifest.ts";

/** Options for {@linkcode verifyLake}. */
export interface VerifyLakeOptions {
  /** The lake's store. */
  store: ObjectStore;
  /** Key prefix of the lake inside the store (no slashes at the ends). @default "" */
  prefix?: string;
  /** Topics to check. @default every topic that has manifests */
  topics?: readonly string[];
  /** Decodes a data file. @default parquet-wasm */
  readRows?: (bytes: Uint8Array) => FileRows;
  /** Stops the check. */
  signal?: AbortSignal;
}

/** What was found for one partition. */
export interface PartitionSummary {
  /** Kafka partition. */
  partition: number;
  /** First offset covered. */
  first: number;
  /** Last offset covered. */
  last: number;
  /** Units that cover the partition. */
  units: number;
}

/** What was found for one topic. */
export interface TopicSummary {
  /** Kafka topic. */
  topic: string;
  /** Units checked (committed or complete). */
  units: number;
  /** The in-flight unit left out, if any. */
  pendingSeq: number | undefined;
  /** Sequence number in the state pointer, if present. */
  pointerSeq: number | undefined;
  /** Data files read. */
  files: number;
  /** Rows read. */
  rows: number;
  /** Records per manifest counts. */
  counts: { records: number; dlq: number; canaries: number; duplicates: number };
  /** Per-partition offset coverage. */
  partitions: PartitionSummary[];
}

/** The result of {@linkcode verifyLake}. */
export interface LakeReport {
  /** Per topic. */
  topics: TopicSummary[];
  /** Distinct `event_id`s seen. */
  distinctEventIds: number;
  /** Every violation, one sentence each; empty when the lake is sound. */
  problems: string[];
  /** Remarks that are not violations. */
  notes: string[];
}

interface TopicContext {
  store: ObjectStore;
  layout: LakeLayout;
  topic: string;
  readRows: (bytes: Uint8Array) => FileRows;
  signal: AbortSignal | undefined;
  ids: Set<string>;
  problems: string[];
  notes: string[];
}

function rangeText(a: number, b: number): string {
  return a === b ? `${a}` : `${a}–${b}`;
}

async function readManifests(ctx: TopicContext): Promise<Map<number, UnitManifest>> {
  const { store, layout, signal } = ctx;
  const manifests = new Map<number, UnitManifest>();
  for (const key of await store.list(layout.manifestPrefix, { signal })) {
    const seq = layout.seqOfManifestKey(key);
    if (seq === undefined) {
      ctx.notes.push(`${ctx.topic}: ignored "${key}" in the manifest folder`);
      continue;
    }
    const bytes = await store.get(key, { signal });
    if (!bytes) {
      ctx.problems.push(`${ctx.topic}: manifest "${key}" was listed but cannot be read`);
      continue;
    }
    try {
      manifests.set(seq, parseManifest(bytes, key));
    } catch (error) {
      ctx.problems.push(`${ctx.topic}: ${describeError(error)}`);
    }
  }
  return manifests;
}

async function readPointer(ctx: TopicContext): Promise<number | undefined> {
  const bytes = await ctx.store.get(ctx.layout.pointerKey, { signal: ctx.signal });
  if (!bytes) return undefined;
  try {
    const { seq } = JSON.parse(new TextDecoder().decode(bytes)) as { seq: unknown };
    if (typeof seq === "number" && Number.isSafeInteger(seq)) return seq;
  } catch {
    // reported below
  }
  ctx.problems.push(`${ctx.topic}: state pointer "${ctx.layout.pointerKey}" is not readable`);
  return undefined;
}

async function missingObjects(ctx: TopicContext, manifest: UnitManifest): Promise<string[]> {
  const keys = manifest.files.map((f) => f.key);
  if (manifest.dlq) keys.push(manifest.dlq.key);
  const missing: string[] = [];
  for (const key of keys) {
    if (!(await ctx.store.exists(key, { signal: ctx.signal }))) missing.push(key);
  }
  return missing;
}

function trackIds(ctx: TopicContext, ids: readonly string[], key: string): void {
  let repeated = 0;
  let first: string | undefined;
  for (const id of ids) {
    if (ctx.ids.has(id)) {
      repeated++;
      first ??= id;
    }
    ctx.ids.add(id);
  }
  if (repeated > 0) {
    ctx.problems.push(
      `event_id appears twice: ${repeated} ids of "${key}" are already in the lake (first "${first}")`,
    );
  }
}

/** Offsets of one unit's partition, accounted for by rows, duplicates and dead letters. */
class OffsetLedger {
  #seen = new Map<number, Set<number>>();
  #clashes = 0;

  add(partition: number, offset: number): void {
    let set = this.#seen.get(partition);
    if (!set) this.#seen.set(partition, set = new Set());
    if (set.has(offset)) this.#clashes++;
    set.add(offset);
  }

  get clashes(): number {
    return this.#clashes;
  }

  count(partition: number): number {
    return this.#seen.get(partition)?.size ?? 0;
  }
}

async function checkUnit(
  ctx: TopicContext,
  m: UnitManifest,
  summary: TopicSummary,
): Promise<void> {
  const unit = `${ctx.topic} unit ${m.seq}`;
  const ranges = new Map(m.ranges.map((r) => [r.partition, r]));
  const ledger = new OffsetLedger();
  const inRange = (p: number, o: number) => {
    const r = ranges.get(p);
    return r !== undefined && o >= r.start && o <= r.end;
  };
  const sum = m.counts.rows + m.counts.dlq + m.counts.canaries + m.counts.duplicates;
  if (sum !== m.counts.records) {
    ctx.problems.push(
      `${unit}: counts do not add up: rows ${m.counts.rows} + dead letters ${m.counts.dlq} + canaries ${m.counts.canaries} + duplicates ${m.counts.duplicates} != records ${m.counts.records}`,
    );
  }
  let rows = 0;
  let filesRead = 0;
  for (const file of m.files) {
    const bytes = await ctx.store.get(file.key, { signal: ctx.signal });
    if (!bytes) {
      ctx.problems.push(`${unit}: data file "${file.key}" is missing`);
      continue;
    }
    let data: FileRows;
    try {
      data = ctx.readRows(bytes);
    } catch (error) {
      ctx.problems.push(
        `${unit}: data file "${file.key}" is not readable: ${describeError(error)}`,
      );
      continue;
    }
    summary.files++;
    filesRead++;
    rows += data.eventIds.length;
    if (data.eventIds.length !== file.rows) {
      ctx.problems.push(
        `${unit}: data file "${file.key}" has ${data.eventIds.length} rows, the manifest says ${file.rows}`,
      );
    }
    const perPartition = new Map<number, { first: number; last: number; count: number }>();
    let outside = 0;
    for (let i = 0; i < data.eventIds.length; i++) {
      const p = data.partitions[i]!;
      const o = data.offsets[i]!;
      if (!inRange(p, o)) outside++;
      ledger.add(p, o);
      const s = perPartition.get(p);
      if (!s) perPartition.set(p, { first: o, last: o, count: 1 });
      else {
        s.first = Math.min(s.first, o);
        s.last = Math.max(s.last, o);
        s.count++;
      }
    }
    trackIds(ctx, data.eventIds, file.key);
    if (outside > 0) {
      ctx.problems.push(
        `${unit}: ${outside} rows of "${file.key}" have offsets outside the unit's ranges`,
      );
    }
    const expected = [...file.offsets].sort((a, b) => a.partition - b.partition);
    const actual = [...perPartition].sort((a, b) => a[0] - b[0])
      .map(([partition, s]) => ({ partition, ...s }));
    if (JSON.stringify(expected) !== JSON.stringify(actual)) {
      ctx.problems.push(
        `${unit}: offsets in "${file.key}" are ${JSON.stringify(actual)}, the manifest says ${
          JSON.stringify(expected)
        }`,
      );
    }
  }
  summary.rows += rows;
  if (filesRead === m.files.length && rows !== m.counts.rows) {
    ctx.problems.push(`${unit}: its files hold ${rows} rows, the manifest counts ${m.counts.rows}`);
  }
  for (const [partition, first, last] of m.duplicates) {
    for (let o = first; o <= last; o++) {
      if (!inRange(partition, o)) {
        ctx.problems.push(`${unit}: duplicate ${partition}:${o} lies outside the unit's ranges`);
        break;
      }
      ledger.add(partition, o);
    }
  }
  if (m.dlq) {
    const bytes = await ctx.store.get(m.dlq.key, { signal: ctx.signal });
    if (!bytes) ctx.problems.push(`${unit}: dead-letter object "${m.dlq.key}" is missing`);
    else {
      const lines = new TextDecoder().decode(bytes).split("\n").filter((l) => l !== "");
      if (lines.length !== m.dlq.count) {
        ctx.problems.push(
          `${unit}: dead-letter object "${m.dlq.key}" has ${lines.length} lines, the manifest says ${m.dlq.count}`,
        );
      }
      for (const line of lines) {
        try {
          const { partition, offset } = JSON.parse(line) as { partition: number; offset: number };
          if (inRange(partition, offset)) ledger.add(partition, offset);
          else {ctx.problems.push(
              `${unit}: dead letter ${partition}:${offset} is outside its ranges`,
            );}
        } catch {
          ctx.problems.push(
            `${unit}: dead-letter object "${m.dlq.key}" has a line that is not JSON`,
          );
          break;
        }
      }
    }
  }
  if (ledger.clashes > 0) {
    ctx.problems.push(
      `${unit}: ${ledger.clashes} offsets are held twice (as rows, duplicates or dead letters)`,
    );
  }
  let unaccounted = 0;
  for (const r of m.ranges) unaccounted += r.end - r.start + 1 - ledger.count(r.partition);
  if (unaccounted !== m.counts.canaries) {
    ctx.problems.push(
      `${unit}: ${unaccounted} offsets of its ranges are neither a row, a duplicate nor a dead letter, but the manifest counts ${m.counts.canaries} canaries`,
    );
  }
}

async function verifyTopic(ctx: TopicContext): Promise<TopicSummary> {
  const summary: TopicSummary = {
    topic: ctx.topic,
    units: 0,
    pendingSeq: undefined,
    pointerSeq: undefined,
    files: 0,
    rows: 0,
    counts: { records: 0, dlq: 0, canaries: 0, duplicates: 0 },
    partitions: [],
  };
  const manifests = await readManifests(ctx);
  summary.pointerSeq = await readPointer(ctx);
  const seqs = [...manifests.keys()].sort((a, b) => a - b);
  if (seqs.length === 0) {
    ctx.problems.push(`${ctx.topic}: no manifest found under "${ctx.layout.manifestPrefix}"`);
    return summary;
  }
  const newest = seqs.at(-1)!;
  for (let s = 0; s <= newest; s++) {
    if (!manifests.has(s)) ctx.problems.push(`${ctx.topic}: manifest of unit ${s} is missing`);
  }
  if (summary.pointerSeq !== undefined && summary.pointerSeq > newest) {
    ctx.problems.push(
      `${ctx.topic}: the state pointer names unit ${summary.pointerSeq} but the newest manifest is ${newest}`,
    );
  }
  const listed = new Set<string>();
  const coverage = new Map<number, PartitionSummary>();
  for (const seq of seqs) {
    const m = manifests.get(seq)!;
    const missing = await missingObjects(ctx, m);
    const committed = summary.pointerSeq !== undefined && seq <= summary.pointerSeq;
    if (missing.length > 0 && !committed && seq === newest) {
      summary.pendingSeq = seq;
      ctx.notes.push(
        `${ctx.topic}: unit ${seq} is in flight (${missing.length} of its objects not written yet, offsets not committed); the consumer completes it on restart`,
      );
      for (const f of m.files) listed.add(f.key);
      continue;
    }
    summary.units++;
    for (const f of m.files) listed.add(f.key);
    summary.counts.records += m.counts.records;
    summary.counts.dlq += m.counts.dlq;
    summary.counts.canaries += m.counts.canaries;
    summary.counts.duplicates += m.counts.duplicates;
    for (const r of [...m.ranges].sort((a, b) => a.partition - b.partition)) {
      if (r.end < r.start) {
        ctx.problems.push(`${ctx.topic} unit ${seq}: partition ${r.partition} range is reversed`);
        continue;
      }
      const c = coverage.get(r.partition);
      if (!c) {
        coverage.set(r.partition, {
          partition: r.partition,
          first: r.start,
          last: r.end,
          units: 1,
        });
        continue;
      }
      if (r.start > c.last + 1) {
        ctx.problems.push(
          `${ctx.topic} partition ${r.partition}: gap, offsets ${
            rangeText(c.last + 1, r.start - 1)
          } are in no unit (unit ${seq} starts at ${r.start})`,
        );
      } else if (r.start <= c.last) {
        ctx.problems.push(
          `${ctx.topic} partition ${r.partition}: overlap, unit ${seq} covers ${
            rangeText(r.start, Math.min(r.end, c.last))
          } again`,
        );
      }
      c.last = Math.max(c.last, r.end);
      c.units++;
    }
    await checkUnit(ctx, m, summary);
  }
  summary.partitions = [...coverage.values()].sort((a, b) => a.partition - b.partition);
  for (const key of await ctx.store.list(ctx.layout.dataPrefix, { signal: ctx.signal })) {
    if (!key.endsWith(".parquet") || listed.has(key)) continue;
    ctx.problems.push(`${ctx.topic}: data file "${key}" is in no manifest (orphan or copy)`);
    const bytes = await ctx.store.get(key, { signal: ctx.signal });
    if (!bytes) continue;
    try {
      trackIds(ctx, ctx.readRows(bytes).eventIds, key);
    } catch (error) {
      ctx.problems.push(
        `${ctx.topic}: data file "${key}" is not readable: ${describeError(error)}`,
      );
    }
  }
  return summary;
}

const MAX_REPORTED_PROBLEMS = 200;

/**
 * Checks a lake; never throws for a violation, only for store failures.
 *
 * @param options store, prefix and topics
 * @returns per-topic summaries and every violation found
 */
export async function verifyLake(options: VerifyLakeOptions): Promise<LakeReport> {
  const prefix = (options.prefix ?? "").replace(/^\/+|\/+$/g, "");
  const root = prefix === "" ? "" : prefix + "/";
  let topics = options.topics ? [...options.topics] : undefined;
  if (!topics) {
    const found = new Set<string>();
    for (const key of await options.store.list(`${root}_manifests/`, { signal: options.signal })) {
      const topic = key.slice(`${root}_manifests/`.length).split("/")[0];
      if (topic) found.add(topic);
    }
    topics = [...found].sort();
  }
  const ids = new Set<string>();
  const problems: string[] = [];
  const notes: string[] = [];
  const summaries: TopicSummary[] = [];
  for (const topic of topics) {
    summaries.push(
      await verifyTopic({
        store: options.store,
        layout: new LakeLayout({ prefix, topic }),
        topic,
        readRows: options.readRows ?? readParquetRows,
        signal: options.signal,
        ids,
        problems,
        notes,
      }),
    );
  }
  if (problems.length > MAX_REPORTED_PROBLEMS) {
    const more = problems.length - MAX_REPORTED_PROBLEMS;
    problems.splice(MAX_REPORTED_PROBLEMS, more, `… and ${more} more problems`);
  }
  return { topics: summaries, distinctEventIds: ids.size, problems, notes };
}

/**
 * Renders a report as text for a terminal.
 *
 * @param report the report
 * @param where the lake's location, for the first line
 * @returns the text, ending with a line feed
 */
export function formatLakeReport(report: LakeReport, where: string): string {
  const lines = [`lake ${where}`];
  for (const t of report.topics) {
    lines.push(
      `topic ${t.topic}: ${t.units} units, ${t.files} data files, ${t.rows} rows; ` +
        `${t.counts.records} records = rows + ${t.counts.dlq} dead letters + ` +
        `${t.counts.canaries} canaries + ${t.counts.duplicates} duplicates dropped` +
        (t.pointerSeq === undefined ? "" : `; committed up to unit ${t.pointerSeq}`),
    );
    for (const p of t.partitions) {
      lines.push(
        `  partition ${p.partition}: offsets ${rangeText(p.first, p.last)} in ${p.units} units`,
      );
    }
  }
  lines.push(`event_id: ${report.distinctEventIds} distinct`);
  for (const note of report.notes) lines.push(`note: ${note}`);
  if (report.problems.length === 0) lines.push("OK: no violation found");
  else {
    lines.push(`FAILED: ${report.problems.length} violations`);
    for (const problem of report.problems) lines.push(`  - ${problem}`);
  }
  return lines.join("\n") + "\n";
}
