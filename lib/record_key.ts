/**
 * {@linkcode recordKeyOf}: the Kafka record key for an event, as JSON text for a
 * `json` produce request (the proxy stores a JSON string key with its quotes).
 *
 * @module
 */
import type { RecentChangeFacts } from "./recentchange_event.ts";

/** Key modes: `page` (`server_name/title`), `wiki`, `id` (`meta.id`) or `none`. */
export type RecordKeyMode = "page" | "wiki" | "id" | "none";

/** Every {@linkcode RecordKeyMode}. */
export const RECORD_KEY_MODES: readonly RecordKeyMode[] = ["page", "wiki", "id", "none"];

/**
 * Computes the record key.
 *
 * `page` keeps every change of one page in one partition, in order:
 * `"<server_name>/<title>"` (for example `"en.wikipedia.org/Main Page"`); a server
 * name never contains `/`, so the key is unambiguous. An event without the needed
 * field gets a null key (spread over partitions by the proxy).
 *
 * @param event the inspected event
 * @param mode the key mode
 * @returns the key as JSON text, or `undefined` for a null key
 */
export function recordKeyOf(event: RecentChangeFacts, mode: RecordKeyMode): string | undefined {
  switch (mode) {
    case "page":
      if (event.serverName === undefined || event.title === undefined) return undefined;
      return JSON.stringify(`${event.serverName}/${event.title}`);
    case "wiki":
      return event.wiki === undefined ? undefined : JSON.stringify(event.wiki);
    case "id":
      return JSON.stringify(event.metaId);
    case "none":
      return undefined;
  }
}
