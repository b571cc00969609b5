/**
 * {@linkcode UnmatchedWikiCheck}: catches a typo in `FILTER_WIKIS` (`enwik` for
 * `enwiki`), which would otherwise filter out every event in silence. It watches
 * the `wiki` of the first {@linkcode DEFAULT_UNMATCHED_WIKI_CHECK_AFTER} events
 * that reach the filter; then, once, it warns about every filter value that no
 * event matched, naming up to three wikis it saw that look close (one name a
 * prefix of the other, or one edit away). A wiki name cannot be validated up
 * front: there are about a thousand, and new ones appear. Small wikis can be quiet for a while, so this is
 * a warning, not an error. After the check it costs one comparison per event.
 *
 * 10000 events are about 4 to 8 minutes of the live stream (20 to 50 events/s).
 *
 * @module
 */
import type { Logger } from "../cli/log.ts";

/** After this many events the unmatched filter values are reported. */
export const DEFAULT_UNMATCHED_WIKI_CHECK_AFTER = 10_000;

/** Distinct wiki names remembered for suggestions (the live stream has about a thousand). */
const MAX_SEEN_WIKIS = 5000;

/** Options for {@linkcode UnmatchedWikiCheck}. */
export interface UnmatchedWikiCheckOptions {
  /** The `FILTER_WIKIS` values. */
  wikis: readonly string[];
  /** Where the warning goes. */
  log: Logger;
  /** Events to watch before reporting. @default 10000 */
  afterEvents?: number;
}

function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        prev[j]! + 1,
        row[j - 1]! + 1,
        prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** Watches the first events for filter values that match none of them. */
export class UnmatchedWikiCheck {
  readonly #wikis: ReadonlySet<string>;
  readonly #log: Logger;
  readonly #after: number;
  readonly #matched = new Set<string>();
  readonly #seen = new Map<string, number>();
  #events = 0;
  #done: boolean;

  /**
   * Creates the check; with no wiki filter it is done at once.
   *
   * @param options the filter values, the logger and when to report
   */
  constructor(options: UnmatchedWikiCheckOptions) {
    this.#wikis = new Set(options.wikis);
    this.#log = options.log;
    this.#after = options.afterEvents ?? DEFAULT_UNMATCHED_WIKI_CHECK_AFTER;
    this.#done = this.#wikis.size === 0;
  }

  /** True once the report was made (or when there is no wiki filter). */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Counts one event that reached the filter.
   *
   * @param wiki the event's `wiki`
   */
  observe(wiki: string | undefined): void {
    if (this.#done) return;
    if (wiki !== undefined) {
      if (this.#wikis.has(wiki)) this.#matched.add(wiki);
      const n = this.#seen.get(wiki);
      if (n !== undefined) this.#seen.set(wiki, n + 1);
      else if (this.#seen.size < MAX_SEEN_WIKIS) this.#seen.set(wiki, 1);
    }
    if (++this.#events >= this.#after) this.#report();
  }

  #report(): void {
    this.#done = true;
    for (const wiki of this.#wikis) {
      if (this.#matched.has(wiki)) continue;
      const close = this.#closeNames(wiki);
      this.#log.warn(
        `FILTER_WIKIS value "${wiki}" matched no event in the first ${this.#events} events: ` +
          "wiki names are database names such as enwiki, commonswiki, wikidatawiki" +
          (close.length > 0
            ? `; seen here and close: ${close.map((c) => JSON.stringify(c)).join(", ")}`
            : ""),
        { wiki, events: this.#events, close, distinctWikisSeen: this.#seen.size },
      );
    }
    this.#seen.clear();
  }

  #closeNames(wiki: string): string[] {
    const value = wiki.toLowerCase();
    const scored: { name: string; distance: number; count: number }[] = [];
    for (const [name, count] of this.#seen) {
      const prefix = name.startsWith(value) || value.startsWith(name);
      const distance = prefix ? Math.abs(name.length - value.length) : editDistance(value, name, 1);
      if (prefix || distance <= 1) scored.push({ name, distance, count });
    }
    scored.sort((a, b) =>
      a.distance - b.distance || b.count - a.count || (a.name < b.name ? -1 : 1)
    );
    return scored.slice(0, 3).map((s) => s.name);
  }
}
