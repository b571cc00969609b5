/**
 * {@linkcode eventSelection}: the filter that decides which events are
 * produced (`--wikis`, `--types`, `--exclude-bots`) and the check that reports
 * `--wikis` values no event matched.
 *
 * @module
 */
import type { Logger } from "../cli/log.ts";
import type { RecentChangeFacts } from "../recentchange/recentchange_event.ts";
import { createEventFilter } from "./event_filter.ts";
import type { ProducerConfig } from "./producer_config.ts";
import { UnmatchedWikiCheck } from "./unmatched_wiki_check.ts";

/** The filter and the unmatched-wiki check of one run. */
export interface EventSelection {
  /** Says whether an event passes the filters. */
  filter: (event: RecentChangeFacts) => boolean;
  /** Reports `--wikis` values that matched no event. */
  wikiCheck: UnmatchedWikiCheck;
}

/**
 * Builds the selection from the configured filters.
 *
 * @param config the producer configuration
 * @param log where the unmatched-wiki report goes
 * @param checkAfter events after which unmatched wikis are reported (default: the check's own)
 * @returns the filter and the check
 */
export function eventSelection(
  config: ProducerConfig,
  log: Logger,
  checkAfter?: number,
): EventSelection {
  return {
    filter: createEventFilter({
      wikis: config.wikis,
      types: config.types,
      excludeBots: config.excludeBots,
    }),
    wikiCheck: new UnmatchedWikiCheck({
      wikis: config.wikis,
      log,
      ...(checkAfter === undefined ? {} : { afterEvents: checkAfter }),
    }),
  };
}
