/**
 * {@linkcode throwRunErrors}: once the producer has stopped and flushed, decides which of
 * the errors that ended reading and sending the run throws, and maps configuration errors
 * (stream HTTP errors, a proxy's non-retriable refusal) to {@linkcode UsageError}s.
 *
 * @module
 */
import type { Logger } from "../cli/log.ts";
import { UsageError } from "../cli/usage_error.ts";
import { RestProxyError } from "../rest_proxy/rest_proxy_error.ts";
import { SseHttpError } from "../sse/sse_client.ts";
import { streamErrorToUsage } from "./stream_error_hint.ts";

/** How a producer run ended, for {@linkcode throwRunErrors}. */
export interface ProducerRunEnd {
  /** What ended the read loop (undefined when it ended normally). */
  readError: unknown;
  /** What the batcher's close threw (undefined when every batch was flushed). */
  sendError: unknown;
  /** The read loop's signal (the stop signal or an aborted send). */
  readSignal: AbortSignal;
  /** The senders' signal, aborted at the drain timeout. */
  sendSignal: AbortSignal;
  /** The drain timeout, for the log line of an unfinished drain. */
  drainTimeoutMs: number;
  /** The state directory, named in the hints. */
  stateDir: string;
  /** The state file, for the log line of an unfinished drain. */
  statePath: string;
  /** Logger. */
  log: Logger;
}

/**
 * Throws the error a finished run reports, if any: a send failure first (a drain timeout is
 * only logged), then a read failure that is not the send failure or the stop itself.
 *
 * @param end how the run ended
 * @throws {UsageError} for a stream HTTP error or a non-retriable proxy error
 */
export function throwRunErrors(end: ProducerRunEnd): void {
  const { readError, sendError, readSignal, sendSignal } = end;
  if (sendError !== undefined) {
    if (sendSignal.aborted && sendError === sendSignal.reason) {
      end.log.warn(
        "stopped before every batch was acknowledged: those events are re-read on restart",
        { drainTimeoutMs: end.drainTimeoutMs, state: end.statePath },
      );
    } else if (sendError instanceof RestProxyError && !sendError.retriable) {
      throw new UsageError(
        `${sendError.message}; check KAFKA_REST_URL and KAFKA_TOPIC`,
        { cause: sendError },
      );
    } else throw sendError;
  }
  if (readError !== undefined && readError !== sendError) {
    if (readError instanceof SseHttpError) throw streamErrorToUsage(readError, end.stateDir);
    if (!(readError === sendError || readSignal.aborted && readError === readSignal.reason)) {
      throw readError;
    }
  }
}
