/**
 * {@linkcode createEventFilter}: the producer's `--wikis`, `--types` and
 * `--exclude-bots` filters as one predicate. (Canaries are dropped earlier, by
 * `inspectRecentChange`.)
 *
 * @module
 */
import type { RecentChangeFacts } from "../recentchange/recentchange_event.ts";

/** Every `type` the recentchange schema allows (`external` is allowed but not seen live). */
export const RECENTCHANGE_TYPES = ["edit", "new", "log", "categorize", "external"] as const;

/** One recentchange `type`. */
export type RecentChangeType = typeof RECENTCHANGE_TYPES[number];

/** Options for {@linkcode createEventFilter}. */
export interface EventFilterOptions {
  /** Keep only these wikis (database names such as `enwiki`); empty keeps all. @default [] */
  wikis?: readonly string[];
  /** Keep only these types (`edit`, `new`, `log`, `categorize`, ...); empty keeps all. @default [] */
  types?: readonly string[];
  /** Drop events with `bot: true`. @default false */
  excludeBots?: boolean;
}

/**
 * Builds the filter predicate.
 *
 * @param options which wikis and types to keep, and whether to drop bots
 * @returns a function that says whether an event passes
 */
export function createEventFilter(
  options: EventFilterOptions = {},
): (event: RecentChangeFacts) => boolean {
  const wikis = options.wikis?.length ? new Set(options.wikis) : undefined;
  const types = options.types?.length ? new Set(options.types) : undefined;
  const excludeBots = options.excludeBots ?? false;
  return (event) => {
    if (wikis && (event.wiki === undefined || !wikis.has(event.wiki))) return false;
    if (types && (event.type === undefined || !types.has(event.type))) return false;
    if (excludeBots && event.bot === true) return false;
    return true;
  };
}
