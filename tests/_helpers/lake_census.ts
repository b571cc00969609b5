/**
 * Counts what a lake holds against what the topic and the input hold, for tests where
 * several writers may have damaged the lake: every data file is read with DuckDB (one by
 * one when the set cannot be read at once, so an unreadable file is counted, not thrown),
 * and the rows are compared by Kafka position (`kafka_partition`, `kafka_offset`) with the
 * topic's records and by `event_id` with the input's `meta.id`s.
 *
 * A topic record counts as missing when neither it nor another copy of its `meta.id`
 * (a producer-side duplicate, which the consumer drops) is in the lake.
 *
 * @module
 */
import { queryDuckDb, sqlString } from "./duckdb.ts";
import type { TopicRecord } from "./read_topic.ts";

/** What {@linkcode censusLake} found; every count but `rows`, `files` and `topicRecords` is 0 in a good lake. */
export interface LakeCensus {
  /** Rows in the lake's data files. */
  rows: number;
  /** Data files read. */
  files: number;
  /** Records in the topic. */
  topicRecords: number;
  /** Data files DuckDB cannot read. */
  unreadableFiles: number;
  /** Topic records of which no copy (same `meta.id`) is in the lake. */
  missingPositions: number;
  /** Extra rows at a position that is already in the lake (n rows at one position add n - 1). */
  duplicatedPositions: number;
  /** Rows whose position is not in the topic or holds another `meta.id` there. */
  foreignPositions: number;
  /** Input `meta.id`s not in the lake. */
  missingIds: number;
  /** Extra rows of an `event_id` already in the lake (n rows of one id add n - 1). */
  duplicatedIds: number;
  /** Rows whose `event_id` is not an input `meta.id`. */
  unexpectedIds: number;
  /** Input `meta.id`s that never reached the topic (a producer fault, not the consumer's). */
  idsNotInTopic: number;
  /** A few examples of each problem, for the assertion message. */
  samples: Record<string, string[]>;
}

/** Options of {@linkcode censusLake}. */
export interface LakeCensusOptions {
  /** The input events (NDJSON lines), each with a distinct `meta.id`. */
  input: readonly string[];
  /** Every record of the topic (`value.meta.id` is read from each). */
  topic: readonly TopicRecord[];
}

const SAMPLES = 5;

async function dataFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string): Promise<void> => {
    for await (const e of Deno.readDir(path)) {
      if (e.name.startsWith("_") || e.name.startsWith(".")) continue;
      if (e.isDirectory) await walk(`${path}/${e.name}`);
      else if (e.name.endsWith(".parquet")) out.push(`${path}/${e.name}`);
    }
  };
  await walk(dir);
  return out.sort();
}

function rowsQuery(files: readonly string[]): string {
  return `SELECT kafka_partition, kafka_offset, event_id, filename
          FROM read_parquet([${files.map(sqlString).join(", ")}], filename = true)`;
}

/**
 * Reads every data file of a lake folder and counts missing, duplicated and foreign
 * positions and ids (see {@linkcode LakeCensus}).
 *
 * @param dir the lake folder (topic folders and `_…` folders below it)
 * @param options the input events and the topic's records
 * @returns the counts and a few examples of each problem
 */
export async function censusLake(dir: string, options: LakeCensusOptions): Promise<LakeCensus> {
  const samples: Record<string, string[]> = {};
  const sample = (kind: string, text: string) => {
    const list = samples[kind] ??= [];
    if (list.length < SAMPLES) list.push(text);
  };
  const files = await dataFiles(dir);
  let rows: Record<string, unknown>[] = [];
  let unreadableFiles = 0;
  if (files.length > 0) {
    try {
      rows = await queryDuckDb(rowsQuery(files));
    } catch {
      for (const file of files) {
        try {
          rows.push(...await queryDuckDb(rowsQuery([file])));
        } catch (error) {
          unreadableFiles++;
          sample("unreadableFiles", `${file}: ${error instanceof Error ? error.message : error}`);
        }
      }
    }
  }

  const inputIds = new Set(
    options.input.map((l) => (JSON.parse(l) as { meta: { id: string } }).meta.id),
  );
  const idAt = new Map<string, string>();
  const positionsOf = new Map<string, string[]>();
  for (const r of options.topic) {
    const id = String((r.value as { meta?: { id?: unknown } } | null)?.meta?.id);
    const at = `${r.partition}:${r.offset}`;
    idAt.set(at, id);
    const list = positionsOf.get(id);
    if (list) list.push(at);
    else positionsOf.set(id, [at]);
  }

  const rowsAt = new Map<string, number>();
  const rowsOf = new Map<string, number>();
  let foreignPositions = 0;
  let unexpectedIds = 0;
  for (const r of rows) {
    const at = `${r.kafka_partition}:${r.kafka_offset}`;
    const id = String(r.event_id);
    rowsAt.set(at, (rowsAt.get(at) ?? 0) + 1);
    rowsOf.set(id, (rowsOf.get(id) ?? 0) + 1);
    if (idAt.get(at) !== id) {
      foreignPositions++;
      sample("foreignPositions", `${at} holds ${id} (topic: ${idAt.get(at) ?? "no record"})`);
    }
    if (!inputIds.has(id)) {
      unexpectedIds++;
      sample("unexpectedIds", id);
    }
  }
  let duplicatedPositions = 0;
  for (const [at, n] of rowsAt) {
    if (n < 2) continue;
    duplicatedPositions += n - 1;
    sample("duplicatedPositions", `${at} x${n}`);
  }
  let duplicatedIds = 0;
  for (const [id, n] of rowsOf) {
    if (n < 2) continue;
    duplicatedIds += n - 1;
    sample("duplicatedIds", `${id} x${n}`);
  }
  let missingPositions = 0;
  for (const [id, positions] of positionsOf) {
    if (rowsOf.has(id)) continue;
    missingPositions += positions.length;
    sample("missingPositions", positions.join(","));
  }
  let missingIds = 0;
  let idsNotInTopic = 0;
  for (const id of inputIds) {
    if (!positionsOf.has(id)) {
      idsNotInTopic++;
      sample("idsNotInTopic", id);
    }
    if (rowsOf.has(id)) continue;
    missingIds++;
    sample("missingIds", id);
  }
  return {
    rows: rows.length,
    files: files.length,
    topicRecords: options.topic.length,
    unreadableFiles,
    missingPositions,
    duplicatedPositions,
    foreignPositions,
    missingIds,
    duplicatedIds,
    unexpectedIds,
    idsNotInTopic,
    samples,
  };
}

/**
 * The problem counts of a census (each 0 in a good lake).
 *
 * @param census what {@linkcode censusLake} found
 * @returns the counts by name
 */
export function censusProblems(census: LakeCensus): Record<string, number> {
  return {
    unreadableFiles: census.unreadableFiles,
    missingPositions: census.missingPositions,
    duplicatedPositions: census.duplicatedPositions,
    foreignPositions: census.foreignPositions,
    missingIds: census.missingIds,
    duplicatedIds: census.duplicatedIds,
    unexpectedIds: census.unexpectedIds,
    idsNotInTopic: census.idsNotInTopic,
  };
}

/**
 * One paragraph for an assertion message: the counts, then a few examples of each problem.
 *
 * @param census what {@linkcode censusLake} found
 * @returns the text
 */
export function formatCensus(census: LakeCensus): string {
  const problems = Object.entries(censusProblems(census)).map(([k, v]) => `${k}=${v}`);
  const lines = [
    `lake: ${census.rows} rows in ${census.files} files; topic: ${census.topicRecords} records; ` +
    problems.join(" "),
  ];
  for (const [kind, list] of Object.entries(census.samples)) {
    lines.push(`  e.g. ${kind}: ${list.join("; ")}`);
  }
  return lines.join("\n");
}
