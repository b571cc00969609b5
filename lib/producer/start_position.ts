/**
 * Where a producer run starts reading: {@linkcode loadSavedState} reads the state a
 * previous run saved, and {@linkcode resolveStartPosition} picks `--since`, `--from-now`,
 * the saved position (rewound by the resume margin) or the live end of the stream.
 *
 * @module
 */
import type { Logger } from "../cli/log.ts";
import { UsageError } from "../cli/usage_error.ts";
import type { ProducerConfig } from "./producer_config.ts";
import type { ProducerState, ProducerStateStore } from "./producer_state_store.ts";
import { rewindLastEventId } from "./resume_position.ts";

/**
 * The state a previous run saved, if any.
 *
 * @param store the state store of the state directory
 * @returns the saved state, or undefined when there is none
 * @throws {UsageError} when the state file is corrupt
 */
export async function loadSavedState(
  store: ProducerStateStore,
): Promise<ProducerState | undefined> {
  try {
    return await store.load();
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new UsageError(
      `${error.message}: delete the file, or start with --from-now or --since`,
      { cause: error },
    );
  }
}

/** Where to connect to the stream first. */
export interface StartPosition {
  /** The stream URL, with `since` set for `--since`. */
  url: URL;
  /** The `Last-Event-ID` of the first connection (undefined: the live end or `since`). */
  startId: string | undefined;
}

/**
 * Picks the first connection's URL and `Last-Event-ID` and logs the choice.
 *
 * @param config the producer configuration (`streamUrl`, `since`, `fromNow`, `resumeMarginMs`)
 * @param saved the saved state, if any
 * @param log logger
 * @param statePath the state file, named when its position is unusable
 * @returns the stream URL and the first `Last-Event-ID`
 */
export function resolveStartPosition(
  config: ProducerConfig,
  saved: ProducerState | undefined,
  log: Logger,
  statePath: string,
): StartPosition {
  const margin = config.resumeMarginMs;
  const url = new URL(config.streamUrl);
  let startId: string | undefined;
  if (config.since !== undefined) {
    url.searchParams.set("since", new Date(config.since).toISOString());
    log.info("starting from --since", { since: new Date(config.since).toISOString() });
  } else if (config.fromNow) {
    log.info("starting at the live end of the stream (--from-now)");
  } else if (saved) {
    startId = rewindLastEventId(saved.lastEventId, {
      marginMs: margin,
      ...(saved.lastEventTimeMs === null ? {} : { fallbackTimestampMs: saved.lastEventTimeMs }),
    });
    if (startId === undefined) {
      log.warn("the saved position is not an EventStreams id: starting at the live end", {
        state: statePath,
      });
    } else {
      log.info("resuming from the saved position", {
        lastEventId: saved.lastEventId,
        marginMs: margin,
        knownIds: saved.recentIds.length,
      });
    }
  } else log.info("no saved position: starting at the live end of the stream");
  return { url, startId };
}
