/**
 * {@linkcode recordKeyOf}: the Kafka record key for an event, as JSON text for a
 * `json` produce request (the proxy stores a JSON string key with its quotes);
 * {@linkcode recordKeyBytes}: the same key as UTF-8 parts, taken straight from a
 * scanned event's bytes when its fields hold no escapes (byte-identical to the
 * encoded {@linkcode recordKeyOf} text).
 *
 * @module
 */
import type { RecentChangeFacts } from "../recentchange/recentchange_event.ts";
import { ScannedRecentChange } from "../recentchange/recentchange_scan.ts";

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

const QUOTE = Uint8Array.of(0x22);
const SLASH = Uint8Array.of(0x2f);
const encoder = new TextEncoder();

function rawKey(event: ScannedRecentChange, mode: RecordKeyMode): Uint8Array[] | null | undefined {
  switch (mode) {
    case "page": {
      const server = event.raw("serverName");
      const title = event.raw("title");
      if (server === null || title === null) return null;
      if (server === undefined || title === undefined) return undefined;
      return [QUOTE, server, SLASH, title, QUOTE];
    }
    case "wiki":
    case "id": {
      const raw = event.raw(mode === "wiki" ? "wiki" : "metaId");
      return raw === null ? null : raw === undefined ? undefined : [QUOTE, raw, QUOTE];
    }
    case "none":
      return undefined;
  }
}

/**
 * Computes the record key as UTF-8 JSON parts (see `ProduceRecord.key`).
 *
 * A string without escapes is the same text in the event and in `JSON.stringify`
 * output (control characters, quotes and backslashes are always escaped; valid
 * UTF-8 holds no lone surrogates), so its bytes are used as they are; otherwise
 * the key is built from the decoded fields.
 *
 * @param event the inspected or scanned event
 * @param mode the key mode
 * @returns the key parts, or `undefined` for a null key
 */
export function recordKeyBytes(
  event: RecentChangeFacts,
  mode: RecordKeyMode,
): Uint8Array[] | undefined {
  if (event instanceof ScannedRecentChange) {
    const raw = rawKey(event, mode);
    if (raw !== null) return raw;
  }
  const text = recordKeyOf(event, mode);
  return text === undefined ? undefined : [encoder.encode(text)];
}
