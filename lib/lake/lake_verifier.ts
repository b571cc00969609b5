/**
 * Checks a lake against its manifests (`_manifests/<topic>/partition=<p>/<seq>.json`,
 * see `unit_manifest.ts`) through the {@linkcode ObjectStore} interface, so a
 * local folder and S3 are checked the same way, per Kafka partition, whichever
 * consumer processes (owners) wrote the units:
 *
 * - a partition's manifests are numbered 0…N without a gap, each parses and
 *   covers the partition of its key;
 * - the partition's units' offset ranges are contiguous from the first to the
 *   last committed offset: no gap, no overlap, across owners;
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
  /** Distinct consumer instances that wrote them. */
  owners: number;
  /** Sequence number in the partition's state pointer, if present. */
  pointerSeq: number | undefined;
}

/** What was found for one topic. */
export interface TopicSummary {
  /** Kafka topic. */
  topic: string;
  /** Units checked (committed or complete). */
  units: number;
  /** The in-flight units left out (`partition/seq`), at most one per partition. */
  pending: string[];
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

async function readManifests(
  ctx: TopicContext,
): Promise<Map<number, Map<number, UnitManifest>>> {
  const { store, layout, signal } = ctx;
  const byPartition = new Map<number, Map<number, UnitManifest>>();
  for (const key of await store.list(layout.manifestPrefix, { signal })) {
    const where = layout.parseManifestKey(key);
    if (where === undefined) {
      if (layout.isSingleWriterManifestKey(key)) {
        ctx.problems.push(
          `${ctx.topic}: "${key}" is a unit of the single-writer format, which this version ` +
            "does not check; verify that lake with the version that wrote it",
        );
      } else ctx.notes.push(`${ctx.topic}: ignored "${key}" in the manifest folder`);
      continue;
    }
    const bytes = await store.get(key, { signal });
    if (!bytes) {
      ctx.problems.push(`${ctx.topic}: manifest "${key}" was listed but cannot be read`);
      continue;
    }
    let m: UnitManifest;
    try {
      m = parseManifest(bytes, key);
    } catch (error) {
      ctx.problems.push(`${ctx.topic}: ${describeError(error)}`);
      continue;
    }
    if (m.partition !== where.partition || m.seq !== where.seq) {
      ctx.problems.push(
        `${ctx.topic}: manifest "${key}" says partition ${m.partition} unit ${m.seq}`,
      );
      continue;
    }
    let seqs = byPartition.get(where.partition);
    if (!seqs) byPartition.set(where.partition, seqs = new Map());
    seqs.set(where.seq, m);
  }
  return byPartition;
}

async function readPointer(ctx: TopicContext, partition: number): Promise<number | undefined> {
  const key = ctx.layout.pointerKey(partition);
  const bytes = await ctx.store.get(key, { signal: ctx.signal });
  if (!bytes) return undefined;
  try {
    const { seq } = JSON.parse(new TextDecoder().decode(bytes)) as { seq: unknown };
    if (typeof seq === "number" && Number.isSafeInteger(seq)) return seq;
  } catch {
    // reported below
  }
  ctx.problems.push(`${ctx.topic}: state pointer "${key}" is not readable`);
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
  const unit = `${ctx.topic} partition ${m.partition} unit ${m.seq}`;
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

async function verifyPartition(
  ctx: TopicContext,
  partition: number,
  manifests: Map<number, UnitManifest>,
  summary: TopicSummary,
  listed: Set<string>,
): Promise<PartitionSummary | undefined> {
  const where = `${ctx.topic} partition ${partition}`;
  const pointerSeq = await readPointer(ctx, partition);
  const seqs = [...manifests.keys()].sort((a, b) => a - b);
  const newest = seqs.at(-1)!;
  for (let s = 0; s <= newest; s++) {
    if (!manifests.has(s)) ctx.problems.push(`${where}: manifest of unit ${s} is missing`);
  }
  if (pointerSeq !== undefined && pointerSeq > newest) {
    ctx.problems.push(
      `${where}: the state pointer names unit ${pointerSeq} but the newest manifest is ${newest}`,
    );
  }
  let coverage: PartitionSummary | undefined;
  const owners = new Set<string>();
  for (const seq of seqs) {
    const m = manifests.get(seq)!;
    for (const f of m.files) listed.add(f.key);
    const missing = await missingObjects(ctx, m);
    const committed = pointerSeq !== undefined && seq <= pointerSeq;
    if (missing.length > 0 && !committed && seq === newest) {
      summary.pending.push(`${partition}/${seq}`);
      ctx.notes.push(
        `${where}: unit ${seq} is in flight (${missing.length} of its objects not written yet, offsets not committed); the consumer that takes the partition on completes it`,
      );
      continue;
    }
    summary.units++;
    owners.add(m.owner);
    summary.counts.records += m.counts.records;
    summary.counts.dlq += m.counts.dlq;
    summary.counts.canaries += m.counts.canaries;
    summary.counts.duplicates += m.counts.duplicates;
    const r = m.ranges[0]!;
    if (r.partition !== partition) {
      ctx.problems.push(`${where} unit ${seq}: its range is of partition ${r.partition}`);
    } else if (r.end < r.start) {
      ctx.problems.push(`${where} unit ${seq}: range is reversed`);
    } else if (!coverage) {
      coverage = { partition, first: r.start, last: r.end, units: 1, owners: 0, pointerSeq };
    } else {
      if (r.start > coverage.last + 1) {
        ctx.problems.push(
          `${where}: gap, offsets ${
            rangeText(coverage.last + 1, r.start - 1)
          } are in no unit (unit ${seq} starts at ${r.start})`,
        );
      } else if (r.start <= coverage.last) {
        ctx.problems.push(
          `${where}: overlap, unit ${seq} covers ${
            rangeText(r.start, Math.min(r.end, coverage.last))
          } again`,
        );
      }
      coverage.last = Math.max(coverage.last, r.end);
      coverage.units++;
    }
    await checkUnit(ctx, m, summary);
  }
  if (coverage) coverage.owners = owners.size;
  return coverage;
}

async function verifyTopic(ctx: TopicContext): Promise<TopicSummary> {
  const summary: TopicSummary = {
    topic: ctx.topic,
    units: 0,
    pending: [],
    files: 0,
    rows: 0,
    counts: { records: 0, dlq: 0, canaries: 0, duplicates: 0 },
    partitions: [],
  };
  const byPartition = await readManifests(ctx);
  if (byPartition.size === 0) {
    ctx.problems.push(`${ctx.topic}: no manifest found under "${ctx.layout.manifestPrefix}"`);
    return summary;
  }
  const listed = new Set<string>();
  for (const partition of [...byPartition.keys()].sort((a, b) => a - b)) {
    const found = await verifyPartition(
      ctx,
      partition,
      byPartition.get(partition)!,
      summary,
      listed,
    );
    if (found) summary.partitions.push(found);
  }
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
        `${t.counts.canaries} canaries + ${t.counts.duplicates} duplicates dropped`,
    );
    for (const p of t.partitions) {
      lines.push(
        `  partition ${p.partition}: offsets ${rangeText(p.first, p.last)} in ${p.units} units ` +
          `by ${p.owners} ${p.owners === 1 ? "owner" : "owners"}` +
          (p.pointerSeq === undefined ? "" : `, committed up to unit ${p.pointerSeq}`),
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
