/**
 * {@linkcode ProduceSender}: sends one batch through a {@linkcode RecordSink}
 * until every record is acknowledged or dead-lettered. Transient failures
 * (unreachable proxy, timeouts, 408, 429, 5xx, per-record 50003) are retried
 * with backoff (at least the `Retry-After` of a 429 or 503, clamped to 0.5 s – 5 min),
 * re-sending only the records that failed; a record with a
 * non-retriable per-record error (50002, too large, ...) goes to the dead-letter
 * file with the reason. A request the proxy refuses for good (401, 403, 404,
 * 415, 422, ...) stops the producer.
 *
 * Retrying only failed records can reorder records of one key inside a batch;
 * batches are still committed in order (see `produce_batcher.ts`).
 *
 * @module
 */
import { Backoff } from "../cli/backoff.ts";
import type { DeadLetterSink } from "./dead_letter_writer.ts";
import type { Clock } from "../cli/delay.ts";
import type { Logger } from "../cli/log.ts";
import type { BatchRecord, ProduceBatch } from "./produce_batcher.ts";
import type { RecordResult, RecordSink } from "../rest_proxy/rest_producer_client.ts";
import { RestProxyError } from "../rest_proxy/rest_proxy_error.ts";

const UTF8 = new TextDecoder();

/** Counters the sender updates. */
export interface ProduceSenderStats {
  /** Retry rounds (a failed request, or a request with failed records). */
  retries: number;
  /** Records sent to the dead-letter file. */
  deadLettered: number;
  /** Records acknowledged. */
  eventsProduced: number;
  /** Request body bytes of successful requests. */
  bytesProduced: number;
  /** Produce requests made. */
  produceRequests: number;
}

/** Per-record error codes worth retrying. */
export const RETRIABLE_RECORD_ERROR_CODES: ReadonlySet<number> = new Set([
  50003,
  42901,
  50302,
  40404,
]);

/** Options for {@linkcode ProduceSender}. */
export interface ProduceSenderOptions {
  /** Where records go. */
  sink: RecordSink;
  /** Where undeliverable records go. */
  deadLetters: DeadLetterSink;
  /** Counters to update. */
  stats: ProduceSenderStats;
  /** First retry delay. @default 500 */
  backoffInitialMs?: number;
  /** Largest retry delay. @default 30000 */
  backoffMaxMs?: number;
  /** Clock for retry delays. */
  clock: Clock;
  /** Logger. */
  log: Logger;
  /** Aborts requests and retry waits (the drain deadline). */
  signal: AbortSignal;
  /** Receives the acknowledged placement of each record (for tests and metrics). */
  onAcked?: (record: BatchRecord, result: RecordResult) => void;
}

/** Sends batches with retries and dead-lettering. */
export class ProduceSender {
  #options: ProduceSenderOptions;

  /**
   * Creates a `ProduceSender`.
   *
   * @param options sink, dead-letter sink, counters, backoff and signal
   */
  constructor(options: ProduceSenderOptions) {
    this.#options = options;
  }

  /**
   * Sends a batch until every record is acknowledged or dead-lettered.
   *
   * @param batch the batch
   * @throws {RestProxyError} when the proxy refuses the request for good
   * @throws the signal's reason when aborted
   */
  async send(batch: ProduceBatch): Promise<void> {
    const { sink, stats, clock, log, signal } = this.#options;
    const backoff = new Backoff({
      initialMs: this.#options.backoffInitialMs ?? 500,
      maxMs: this.#options.backoffMaxMs ?? 30_000,
    });
    let pending: BatchRecord[] = batch.records;
    while (pending.length > 0) {
      signal.throwIfAborted();
      stats.produceRequests++;
      let results: RecordResult[];
      try {
        const response = await sink.produce(pending, signal);
        results = response.results;
        stats.bytesProduced += response.requestBytes;
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (!(error instanceof RestProxyError) || !error.retriable) throw error;
        stats.retries++;
        // the proxy's Retry-After (clamped to 0.5 s – 5 min) is a minimum
        const delayMs = Math.max(backoff.next(), error.retryAfterMs ?? 0);
        log.warn("produce request failed: retrying", {
          batch: batch.seq,
          records: pending.length,
          attempt: backoff.attempt,
          delayMs,
          error: error.message,
        });
        await clock.sleep(delayMs, signal);
        continue;
      }
      const retry: BatchRecord[] = [];
      let firstError = "";
      for (let i = 0; i < pending.length; i++) {
        const record = pending[i]!;
        const result = results[i]!;
        if (result.errorCode === null) {
          stats.eventsProduced++;
          this.#options.onAcked?.(record, result);
        } else if (RETRIABLE_RECORD_ERROR_CODES.has(result.errorCode)) {
          retry.push(record);
          firstError ||= `error_code ${result.errorCode}: ${result.error ?? ""}`;
        } else {
          await this.#options.deadLetters.write({
            reason: `produce failed with error_code ${result.errorCode}: ${result.error ?? ""}`,
            raw: UTF8.decode(record.value),
            sseId: record.sseId,
          });
          stats.deadLettered++;
          log.warn("record refused by the proxy: written to the dead-letter file", {
            metaId: record.metaId,
            errorCode: result.errorCode,
            error: result.error,
          });
        }
      }
      pending = retry;
      if (pending.length > 0) {
        stats.retries++;
        const delayMs = backoff.next();
        log.warn("some records failed: retrying them", {
          batch: batch.seq,
          failed: pending.length,
          attempt: backoff.attempt,
          delayMs,
          error: firstError,
        });
        await clock.sleep(delayMs, signal);
      }
    }
  }
}
