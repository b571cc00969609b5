/**
 * The consumer pipeline: REST Proxy consumer group → lake units → Parquet in an
 * object store, exactly once per Kafka record.
 *
 * Invariant: the lake's newest manifest says, per partition, the last offset
 * whose record is in the lake, and every record up to it is in exactly one
 * committed unit. Units are published in sequence (manifest, objects, offset
 * commit, pointer); on start an incomplete newest unit is rebuilt byte for byte
 * from the topic before anything else is read, and every record at or below
 * the lake's position for its partition is skipped, whatever the proxy replays.
 * Kafka's committed offsets only save re-reading; the lake is the truth.
 *
 * @module
 */
import { Backoff } from "../cli/backoff.ts";
import { CommitProtocol, type TestPauses } from "../lake/commit_protocol.ts";
import { type ConsumerConfig, validateConsumerConfig } from "./consumer_config.ts";
import { ConsumerSession, type PoisonRecord } from "./consumer_session.ts";
import { type ConsumerStats, createConsumerStats, progressProperties } from "./consumer_stats.ts";
import { DedupeWindow } from "./dedupe_window.ts";
import { type Clock, SYSTEM_CLOCK } from "../cli/delay.ts";
import { ErrorBudget } from "./error_budget.ts";
import { LakeLayout } from "../lake/lake_layout.ts";
import {
  LakeUnit,
  type RecordOutcome,
  type SealedUnit,
  type UnitLimits,
} from "../lake/lake_writer.ts";
import type { Logger } from "../cli/log.ts";
import type { ObjectStore } from "../object_store/object_store.ts";
import { openObjectStore } from "../object_store/open_object_store.ts";
import { formatOutputLocation } from "../object_store/output_url.ts";
import {
  type ConsumerClient,
  type ConsumerRecord,
  type PartitionOffset,
  RestConsumerClient,
} from "../rest_proxy/rest_consumer_client.ts";
import type { PartitionPosition, RotationReason, UnitManifest } from "../lake/unit_manifest.ts";

/** Dependencies of {@linkcode runConsumer}. */
export interface RunConsumerOptions {
  /** Logger. */
  log: Logger;
  /** Stops reading; the pipeline then seals, uploads, commits and returns. */
  signal: AbortSignal;
  /** Fetch for the REST Proxy client. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Lake store; opened from `OUTPUT_URL` when absent (with an empty key prefix when given). */
  store?: ObjectStore;
  /** Consumer client; a {@linkcode RestConsumerClient} when absent. */
  client?: ConsumerClient;
  /** Clock. @default SYSTEM_CLOCK */
  clock?: Clock;
  /** Time allowed to seal and upload after `signal` aborts. @default 25000 */
  drainTimeoutMs?: number;
  /** Stats object to update (so callers can watch progress). @default a new one */
  stats?: ConsumerStats;
  /** Longest wait for the records of an incomplete unit during a rebuild (longer than the
   * proxy instance timeout, since a crashed instance may hold partitions until it expires).
   * @default 600000 */
  redoStallMs?: number;
}

/**
 * Parses `WIKISTREAM_TEST_PAUSE_AT` (`after-manifest:200,after-file:50,after-upload:200`).
 *
 * @param text the option value
 * @returns the pauses
 * @throws {TypeError} for unknown names
 */
export function parseTestPauses(text: string | undefined): TestPauses {
  const pauses: TestPauses = {};
  for (const part of (text ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    const [name, ms] = part.split(":");
    const value = Number(ms ?? "0");
    if (name === "after-manifest") pauses.afterManifest = value;
    else if (name === "after-file") pauses.afterFile = value;
    else if (name === "after-upload") pauses.afterUpload = value;
    else throw new TypeError(`Unknown WIKISTREAM_TEST_PAUSE_AT entry "${part}"`);
  }
  return pauses;
}

function toOffsets(topic: string, positions: readonly PartitionPosition[]): PartitionOffset[] {
  return positions.map((p) => ({ topic, partition: p.partition, offset: p.offset }));
}

/** Time allowed to delete the consumer instance once the work is over or abandoned. */
const CLOSE_TIMEOUT_MS = 4000;

/**
 * Says whether `error` only reports that one of `signals` aborted (a stop request or the
 * drain deadline), as opposed to a failure that happened to coincide with the stop.
 *
 * @param error the error thrown
 * @param signals the stop and drain signals
 * @returns true when the error is an abort
 */
export function isAbortError(error: unknown, signals: readonly AbortSignal[]): boolean {
  for (let e = error, depth = 0; e !== undefined && depth < 8; depth++) {
    if (signals.some((s) => s.aborted && s.reason === e)) return true;
    if (e instanceof DOMException && (e.name === "AbortError" || e.name === "TimeoutError")) {
      return true;
    }
    e = e instanceof Error ? e.cause : undefined;
  }
  return false;
}

/**
 * Runs the consumer until `signal` aborts or, with `consumerUntilIdleMs`, until the topic is
 * idle; then seals, uploads and commits what it holds and deletes the consumer instance.
 *
 * @param config the consumer configuration
 * @param options logger, stop signal and injectable dependencies
 * @returns the final stats
 * @throws when the lake store refuses access, the error budget is exhausted, or an
 *   incomplete unit cannot be rebuilt
 */
export async function runConsumer(
  config: ConsumerConfig,
  options: RunConsumerOptions,
): Promise<ConsumerStats> {
  const { log, signal } = options;
  validateConsumerConfig(config);
  const clock = options.clock ?? SYSTEM_CLOCK;
  const stats = options.stats ?? createConsumerStats();
  const topic = config.kafkaTopic;
  let store = options.store;
  let prefix = "";
  let where = store?.description ?? "";
  if (!store) {
    const opened = openObjectStore(config.outputUrl, {
      region: config.awsRegion,
      endpoint: config.s3Endpoint,
      forcePathStyle: config.s3ForcePathStyle,
      ...(config.awsCaBundle === undefined ? {} : { caBundleFile: config.awsCaBundle }),
    }, log);
    store = opened.store;
    prefix = opened.prefix;
    where = formatOutputLocation(opened.location);
  }
  const layout = new LakeLayout({ prefix, topic });
  const protocol = new CommitProtocol({
    store,
    layout,
    log: log.child("lake"),
    clock,
    pauses: parseTestPauses(config.testPauseAt),
    onRetry: () => stats.storeRetries++,
  });
  const client = options.client ?? new RestConsumerClient({
    baseUrl: config.kafkaRestUrl,
    group: config.consumerGroup,
    namePrefix: `wikistream-${crypto.randomUUID().slice(0, 8)}`,
    autoOffsetReset: config.consumerAutoOffsetReset,
    maxBytes: config.consumerMaxBytes,
    readTimeoutMs: config.consumerReadTimeoutMs,
    fetchMinBytes: config.consumerFetchMinBytes,
    useBaseUri: config.consumerUseBaseUri,
    flavor: config.kafkaRestFlavor,
    fetch: options.fetch,
    log: log.child("rest"),
    clock,
  });
  const session = new ConsumerSession({
    client,
    topic,
    log: log.child("session"),
    heartbeatMs: config.consumerHeartbeatMs,
    clock,
    backoff: new Backoff({ initialMs: 200, maxMs: 10_000 }),
    onInstanceCreated: () => stats.instancesCreated++,
    flavor: config.kafkaRestFlavor,
  });
  // Sealing goes on after the stop signal, up to the drain timeout.
  const sealing = new AbortController();
  const drainTimeoutMs = options.drainTimeoutMs ?? 25_000;
  let drainTimer: ReturnType<typeof setTimeout> | undefined;
  const onStop = () => {
    drainTimer = setTimeout(
      () => sealing.abort(new Error("Cannot finish the last upload within the drain timeout")),
      drainTimeoutMs,
    );
  };
  if (signal.aborted) onStop();
  else signal.addEventListener("abort", onStop, { once: true });

  const limits: UnitLimits = {
    maxRows: config.flushMaxRows,
    maxFileBytes: config.flushMaxBytes,
    maxOpenFiles: config.maxOpenFiles,
    maxBufferBytes: config.maxBufferBytes,
  };
  const window = new DedupeWindow(config.dedupeWindow);
  // what the pipeline is doing, for the log line of a stop that abandons it
  let step = "starting";
  const budget = new ErrorBudget({ maxRate: config.dlqMaxErrorRate });
  const next = new Map<number, number>();
  let positions: PartitionPosition[] = [];
  let seq = 0;

  const committed = async (manifest: UnitManifest, maxEventTimeMs: number | undefined) => {
    const ok = await session.commit(toOffsets(topic, manifest.positions), sealing.signal);
    stats.lastCommitOk = ok;
    if (ok) stats.lastCommitTimeMs = clock.now();
    if (
      maxEventTimeMs !== undefined &&
      (stats.newestCommittedEventTimeMs === undefined ||
        maxEventTimeMs > stats.newestCommittedEventTimeMs)
    ) stats.newestCommittedEventTimeMs = maxEventTimeMs;
    await protocol.writePointer(manifest, sealing.signal);
  };

  const publish = async (sealed: SealedUnit) => {
    await session.keepAlive(() =>
      protocol.publish(sealed, { writeManifest: true, signal: sealing.signal })
    );
    const m = sealed.manifest;
    positions = m.positions;
    stats.filesWritten += m.files.length;
    stats.bytesWritten += m.files.reduce((n, f) => n + f.bytes, 0);
    stats.rowsWritten += m.counts.rows;
    stats.unitsCommitted++;
    await committed(m, sealed.maxEventTimeMs);
    window.addUnit(m.seq, sealed.eventIds);
    log.info("unit committed", {
      seq: m.seq,
      rotation: m.rotation,
      records: m.counts.records,
      rows: m.counts.rows,
      files: m.files.length,
      dlq: m.counts.dlq,
      duplicates: m.counts.duplicates,
    });
  };

  const redo = async (m: UnitManifest) => {
    step = `rebuilding incomplete unit ${m.seq}`;
    log.warn("newest unit is incomplete: rebuilding it from the topic", { seq: m.seq });
    const unit = new LakeUnit({
      seq: m.seq,
      topic,
      layout,
      ingestedAtMs: Date.parse(m.ingestedAt),
      limits: {
        maxRows: Infinity,
        maxFileBytes: Infinity,
        maxOpenFiles: Infinity,
        maxBufferBytes: Infinity,
      },
      replayDuplicates: m.duplicates,
    });
    const ranges = new Map(m.ranges.map((r) => [r.partition, r]));
    const reached = new Map<number, number>();
    const approached = new Map<number, number>();
    const done = () => m.ranges.every((r) => (reached.get(r.partition) ?? -1) >= r.end);
    const take = (partition: number, offset: number, add: () => void) => {
      const r = ranges.get(partition);
      if (!r) return false;
      if (offset < r.start) {
        // the proxy resumed below the unit (a lost commit, Redpanda's restart-at-0): moving
        // towards it is progress too, however long the catch-up takes
        if (offset <= (approached.get(partition) ?? -1)) return false;
        approached.set(partition, offset);
        return true;
      }
      const last = reached.get(partition) ?? r.start - 1;
      if (offset <= last) return false;
      reached.set(partition, offset);
      if (offset <= r.end) add();
      return true;
    };
    let progressAt = clock.now();
    while (!done()) {
      const read = await session.read(signal);
      let progressed = false;
      for (const record of read.records) {
        if (
          record.topic === topic && take(record.partition, record.offset, () => unit.add(record))
        ) {
          progressed = true;
        }
      }
      const poison = read.poison;
      if (poison && take(poison.partition, poison.offset, () => unit.addPoison(poison))) {
        progressed = true;
      }
      if (progressed) progressAt = clock.now();
      else if (clock.now() - progressAt > (options.redoStallMs ?? 600_000)) {
        throw new Error(
          `Cannot rebuild lake unit ${m.seq}: its records (${
            JSON.stringify(m.ranges)
          }) did not come back from topic ${topic}; were they deleted by retention? ` +
            `Inspect ${layout.manifestKey(m.seq)} before removing it`,
        );
      }
    }
    const sealed = unit.seal({
      rotation: m.rotation,
      compression: m.compression as ConsumerConfig["parquetCompression"],
      previousPositions: m.positions,
      nowMs: Date.parse(m.sealedAt),
    });
    const again = sealed.manifest;
    if (
      again.counts.rows !== m.counts.rows || again.counts.records !== m.counts.records ||
      JSON.stringify(again.files.map((f) => [f.key, f.rows])) !==
        JSON.stringify(m.files.map((f) => [f.key, f.rows])) ||
      (again.dlq?.key ?? null) !== (m.dlq?.key ?? null)
    ) {
      throw new Error(
        `Cannot rebuild lake unit ${m.seq}: the topic now yields different rows than the ` +
          `manifest lists (${again.counts.rows} rows vs ${m.counts.rows}); refusing to write`,
      );
    }
    if (
      JSON.stringify(again.files.map((f) => f.bytes)) !==
        JSON.stringify(m.files.map((f) => f.bytes))
    ) {
      log.warn("rebuilt files differ in size from the first attempt (encoder changed?)", {
        seq: m.seq,
      });
    }
    await session.keepAlive(() =>
      protocol.publish(sealed, { writeManifest: false, signal: sealing.signal })
    );
    stats.unitsRedone++;
    stats.filesWritten += m.files.length;
    stats.rowsWritten += m.counts.rows;
    await committed(m, sealed.maxEventTimeMs);
    // records past the unit were read and dropped: resume from the committed offsets
    await session.reset(signal);
    log.info("incomplete unit rebuilt and committed", { seq: m.seq, rows: m.counts.rows });
  };

  try {
    log.info("consumer starting", {
      proxy: config.kafkaRestUrl.href,
      topic,
      group: config.consumerGroup,
      lake: where,
    });
    step = "reading the lake state";
    const state = await protocol.recover(signal);
    if (state.last) {
      const m = state.last;
      if (!state.complete) await redo(m);
      else {
        step = `committing the offsets of unit ${m.seq}`;
        await session.commit(toOffsets(topic, m.positions), signal);
        await protocol.writePointer(m, signal);
      }
      positions = m.positions;
      seq = m.seq + 1;
      for (const p of positions) next.set(p.partition, p.offset + 1);
      if (config.dedupeWindow > 0) {
        step = "loading the event ids of the dedupe window";
        const units = await protocol.loadRecentIds(m, config.dedupeWindow, signal);
        for (const u of units.reverse()) window.addUnit(u.seq, u.ids);
      }
      log.info("resuming after the lake's last unit", {
        seq: m.seq,
        positions: JSON.stringify(positions),
        dedupeIds: window.size,
      });
    }

    let unit: LakeUnit | undefined;
    const seal = async (reason: RotationReason) => {
      const current = unit!;
      unit = undefined;
      step = `sealing and uploading unit ${current.seq}`;
      stats.rotations[reason]++;
      const sealed = current.seal({
        rotation: reason,
        compression: config.parquetCompression,
        previousPositions: positions,
        nowMs: clock.now(),
      });
      stats.openFiles = 0;
      stats.bufferBytes = 0;
      await publish(sealed);
      seq++;
      step = "reading";
    };
    const open = (now: number) =>
      unit ??= new LakeUnit({ seq, topic, layout, ingestedAtMs: now, limits, seen: window });
    const account = (outcome: RecordOutcome) => {
      stats.recordsIn++;
      if (outcome === "dlq") stats.dlqRecords++;
      else if (outcome === "duplicate") stats.duplicates++;
      else if (outcome === "canary") stats.canaries++;
      if (budget.observe(outcome === "dlq")) {
        throw new Error(
          `Stopping: ${Math.round(budget.rate * 100)}% of the recent records were dead-lettered ` +
            `(DLQ_MAX_ERROR_RATE ${config.dlqMaxErrorRate}); the topic holds mostly bad data, ` +
            `see ${layout.dlqKey(seq)} and the log, fix the producer or raise the limit`,
        );
      }
    };
    const fresh = (partition: number, offset: number) => {
      const n = next.get(partition);
      if (n !== undefined && offset < n) {
        stats.recordsSkipped++;
        return false;
      }
      return true;
    };

    step = "reading";
    const startedAt = clock.now();
    let lastRecordAt = startedAt;
    let progressAt = startedAt;
    let progressRecords = stats.recordsIn;
    while (!signal.aborted) {
      let read: { records: ConsumerRecord[]; poison?: PoisonRecord };
      try {
        read = await session.read(signal);
      } catch (error) {
        if (signal.aborted) break;
        throw error;
      }
      const now = clock.now();
      if (stats.lastCommitOk === false && !session.commitPending) {
        // a failed commit went through when the session retried it after this read
        stats.lastCommitOk = true;
        stats.lastCommitTimeMs = now;
      }
      let got = 0;
      for (const record of read.records) {
        if (record.topic !== topic || !fresh(record.partition, record.offset)) continue;
        got++;
        const before = unit?.limitBefore(record);
        if (before) await seal(before);
        const outcome = open(now).add(record);
        next.set(record.partition, record.offset + 1);
        account(outcome);
        const after = unit!.limitAfter();
        if (after) await seal(after);
      }
      if (read.poison && fresh(read.poison.partition, read.poison.offset)) {
        got++;
        open(now).addPoison(read.poison);
        next.set(read.poison.partition, read.poison.offset + 1);
        account("dlq");
      }
      if (got > 0) lastRecordAt = now;
      if (unit) {
        stats.openFiles = unit.openFiles;
        stats.bufferBytes = unit.bufferBytes;
        if (now - unit.ingestedAtMs >= config.flushIntervalMs) await seal("age");
      }
      if (config.progressIntervalMs > 0 && now - progressAt >= config.progressIntervalMs) {
        log.info("progress", progressProperties(stats, progressRecords, now - progressAt, now));
        progressAt = now;
        progressRecords = stats.recordsIn;
      }
      const idle = config.consumerUntilIdleMs;
      if (idle !== undefined && now - lastRecordAt >= idle) {
        log.info("no new record: stopping (until-idle)", { idleMs: now - lastRecordAt });
        break;
      }
    }
    if (unit && unit.recordCount > 0) await seal("shutdown");
    log.info("consumer stopped", progressProperties(stats, 0, 0, clock.now()));
    return stats;
  } catch (error) {
    // A stop request always ends in a clean stop: whatever was cut short (reading the lake
    // state, a rebuild, an upload past the drain timeout) is safe to abandon, since the
    // next start finds the same lake state and finishes or redoes it.
    if (!signal.aborted || !isAbortError(error, [signal, sealing.signal])) throw error;
    log.warn("stopped before finishing: the next start resumes from the lake", {
      step,
      reason: sealing.signal.aborted ? "drain timeout" : "stop request",
      drainTimeoutMs,
    });
    log.info("consumer stopped", progressProperties(stats, 0, 0, clock.now()));
    return stats;
  } finally {
    signal.removeEventListener("abort", onStop);
    if (drainTimer !== undefined) clearTimeout(drainTimer);
    const closing = new AbortController();
    const closeTimer = setTimeout(
      () => closing.abort(new Error("Cannot delete the consumer instance in time")),
      CLOSE_TIMEOUT_MS,
    );
    try {
      await session.close(closing.signal);
    } finally {
      clearTimeout(closeTimer);
    }
    if (!options.store) store.close?.();
  }
}
