/**
 * Inputs and the independent lake check of the end-to-end tests: a subset of the shared
 * recordings (all four files, the 2018 envelope included, every unusual shape kept) in
 * stream order, and a DuckDB comparison of a downloaded lake with those events.
 *
 * @module
 */
import assert from "node:assert/strict";
import { queryDuckDb, sqlString } from "./duckdb.ts";

/** Folder of the shared recordings. */
export const RECORDINGS: URL = new URL("../../../shared/data/recentchange/", import.meta.url);

/** The recordings in time order (2018–2019, then 2026), so the stream is roughly monotonic. */
const FILES_IN_TIME_ORDER = [
  "wikidata-editgroups_2018-2019_wikidatawiki.ndjson",
  "sat99496-wikistream-lakehouse_2026-02-26.ndjson",
  "6rzan-real-time-system_2026-05-05.ndjson",
  "danielbasso-pageledger_2026-07-17_enwiki.ndjson",
];

/** A parsed recorded event (the fields the checks read). */
export type RecordedEvent = Record<string, unknown> & {
  meta: Record<string, unknown> & { id: string; dt: string };
};

function unusual(e: RecordedEvent, line: string): boolean {
  const big = 2 ** 31;
  const revision = e.revision as { new?: number } | undefined;
  return e.type === "log" || /[\u{10000}-\u{10FFFF}]/u.test(line) ||
    (typeof e.comment === "string" && e.comment.includes("\n")) ||
    (revision?.new ?? 0) > big || ((e.id as number | null) ?? 0) > big;
}

/**
 * Picks every `stride`-th event of each recording plus every unusual one (log events,
 * non-BMP titles, multi-line comments, integers above 2^31),
 * keeping each file's order, files in time order.
 *
 * @param strides stride per file (by file-name prefix); 1 keeps everything
 * @returns the raw event lines, exactly as recorded
 */
export async function selectRecordedEvents(
  strides: { editgroups: number; sat99496: number; rzan: number; pageledger: number },
): Promise<string[]> {
  const strideOf = [strides.editgroups, strides.sat99496, strides.rzan, strides.pageledger];
  const out: string[] = [];
  for (const [i, name] of FILES_IN_TIME_ORDER.entries()) {
    const text = await Deno.readTextFile(new URL(name, RECORDINGS));
    const lines = text.split("\n").filter((l) => l.trim() !== "");
    for (const [j, line] of lines.entries()) {
      if (j % strideOf[i]! === 0 || j === lines.length - 1 || unusual(JSON.parse(line), line)) {
        out.push(line);
      }
    }
  }
  return out;
}

/** What {@linkcode checkLakeAgainstInput} found. */
export interface LakeCheckSummary {
  /** Rows in the lake. */
  rows: number;
  /** Data files read. */
  files: number;
}

function num(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

function optional<T>(v: T | undefined | null): T | null {
  return v === undefined ? null : v;
}

/**
 * Reads every data file of a downloaded lake with DuckDB and asserts that it holds each
 * input event exactly once (by `event_id`) with identical field values.
 *
 * @param dir the lake folder (topic folders and `_…` folders below it)
 * @param lines the input events as NDJSON lines
 * @returns row and file counts
 */
export async function checkLakeAgainstInput(
  dir: string,
  lines: readonly string[],
): Promise<LakeCheckSummary> {
  const events = lines.map((l) => JSON.parse(l) as RecordedEvent);
  const byId = new Map(events.map((e) => [e.meta.id, e]));
  assert.equal(byId.size, events.length, "the input repeats a meta.id");
  const glob = `${dir}/**/*.parquet`;
  const rows = await queryDuckDb(
    `SELECT event_id, epoch_ms(event_time) AS event_ms, title, wiki, type, "namespace", rc_id,
            revision_new, revision_old, length_new, length_old, bot, minor, patrolled, comment,
            "user", log_params_json, log_type, log_action, schema_uri, meta_domain, meta_offset,
            server_name, extra_json, kafka_partition, kafka_offset,
            CAST("date" AS VARCHAR) AS "date", "hour", filename
     FROM read_parquet(${sqlString(glob)}, hive_partitioning = true, filename = true)`,
  );
  const seen = new Set<string>();
  const duplicates: string[] = [];
  const unexpected: string[] = [];
  for (const r of rows) {
    const id = r.event_id as string;
    if (seen.has(id)) duplicates.push(id);
    seen.add(id);
    if (!byId.has(id)) unexpected.push(id);
  }
  const missing = [...byId.keys()].filter((id) => !seen.has(id));
  assert.deepEqual(
    { missing: missing.length, duplicates: duplicates.length, unexpected: unexpected.length },
    { missing: 0, duplicates: 0, unexpected: 0 },
    `lake differs from the input: missing ${missing.slice(0, 5)}, duplicates ${
      duplicates.slice(0, 5)
    }, unexpected ${unexpected.slice(0, 5)}`,
  );
  assert.equal(rows.length, events.length);
  const positions = new Set(rows.map((r) => `${r.kafka_partition}:${r.kafka_offset}`));
  assert.equal(positions.size, rows.length, "two rows share a (kafka_partition, kafka_offset)");

  for (const r of rows) {
    const e = byId.get(r.event_id as string)!;
    const revision = (e.revision ?? {}) as { new?: number | null; old?: number | null };
    const length = (e.length ?? {}) as { new?: number | null; old?: number | null };
    const actual = {
      eventMs: num(r.event_ms),
      title: r.title,
      wiki: r.wiki,
      type: r.type,
      namespace: r.namespace,
      rcId: num(r.rc_id),
      revisionNew: num(r.revision_new),
      revisionOld: num(r.revision_old),
      lengthNew: num(r.length_new),
      lengthOld: num(r.length_old),
      bot: r.bot,
      minor: r.minor,
      patrolled: r.patrolled,
      comment: r.comment,
      user: r.user,
      logParams: r.log_params_json === null ? null : JSON.parse(r.log_params_json as string),
      logType: r.log_type,
      logAction: r.log_action,
      schemaUri: r.schema_uri,
      domain: r.meta_domain,
      metaOffset: num(r.meta_offset),
      serverName: r.server_name,
      extra: r.extra_json === null ? null : JSON.parse(r.extra_json as string),
    };
    const expected = {
      eventMs: Date.parse(e.meta.dt),
      title: e.title,
      wiki: e.wiki,
      type: e.type,
      namespace: e.namespace,
      rcId: optional(e.id as number | null),
      revisionNew: optional(revision.new),
      revisionOld: optional(revision.old),
      lengthNew: optional(length.new),
      lengthOld: optional(length.old),
      bot: optional(e.bot),
      minor: optional(e.minor),
      patrolled: optional(e.patrolled),
      comment: optional(e.comment),
      user: optional(e.user),
      logParams: optional(e.log_params),
      logType: optional(e.log_type),
      logAction: optional(e.log_action),
      schemaUri: (e.$schema ?? e.meta.schema_uri ?? null) as string | null,
      domain: e.meta.domain,
      metaOffset: optional(e.meta.offset as number | undefined),
      serverName: optional(e.server_name),
      extra: null,
    };
    assert.deepEqual(actual, expected, `row of event ${e.meta.id} differs from the input`);
    // the Hive partition is the UTC hour of meta.dt, never processing time
    const iso = new Date(Date.parse(e.meta.dt)).toISOString();
    assert.equal(String(r.date).slice(0, 10), iso.slice(0, 10), `date of ${e.meta.id}`);
    assert.equal(Number(r.hour), Number(iso.slice(11, 13)), `hour of ${e.meta.id}`);
  }
  const files = new Set(rows.map((r) => r.filename as string));
  return { rows: rows.length, files: files.size };
}
