/**
 * {@linkcode inspectRecentChange}: the producer's slow path, one `JSON.parse` of an
 * event's `data` text reading only what filtering, keying and dedupe need, for the
 * events the byte scanner (`recentchange_scan.ts`) does not accept: malformed data,
 * canaries, escaped field names, multi-line data.
 *
 * @module
 */

/** The fields of a recentchange event the producer looks at. */
export interface RecentChangeFacts {
  /** Always `"event"`. */
  kind: "event";
  /** `meta.id`, the dedupe key. */
  metaId: string;
  /** `meta.dt` in epoch milliseconds. */
  eventTimeMs: number;
  /** `wiki` (database name), when present. */
  wiki: string | undefined;
  /** `type`, when present (kept as text). */
  type: string | undefined;
  /** `bot`, when present. */
  bot: boolean | undefined;
  /** `title`, when present. */
  title: string | undefined;
  /** `server_name`, else `meta.domain`, when present. */
  serverName: string | undefined;
}

/** A canary event (`meta.domain == "canary"`), always dropped. */
export interface CanaryEvent {
  /** Always `"canary"`. */
  kind: "canary";
}

/** Data that cannot be produced: not JSON or missing `meta.id` / `meta.dt`. */
export interface MalformedEvent {
  /** Always `"malformed"`. */
  kind: "malformed";
  /** What is wrong. */
  reason: string;
}

/** The outcome of {@linkcode inspectRecentChange}. */
export type InspectedEvent = RecentChangeFacts | CanaryEvent | MalformedEvent;

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/**
 * Parses an event's `data` text once and extracts the fields the producer needs.
 * Canaries are recognised before any validation (they have no `type`, `wiki`, `title`).
 *
 * @param raw the `data` text as received
 * @returns the facts, a canary marker, or the reason the data is malformed
 */
export function inspectRecentChange(raw: string): InspectedEvent {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return {
      kind: "malformed",
      reason: `not JSON: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { kind: "malformed", reason: "not a JSON object" };
  }
  const e = value as Record<string, unknown>;
  const meta = e.meta;
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) {
    return { kind: "malformed", reason: "missing meta object" };
  }
  const m = meta as Record<string, unknown>;
  if (m.domain === "canary") return { kind: "canary" };
  const metaId = m.id;
  if (typeof metaId !== "string" || metaId === "") {
    return { kind: "malformed", reason: "missing meta.id" };
  }
  const dt = m.dt;
  const eventTimeMs = typeof dt === "string" ? Date.parse(dt) : NaN;
  if (!Number.isFinite(eventTimeMs)) {
    return { kind: "malformed", reason: "missing or unparsable meta.dt" };
  }
  return {
    kind: "event",
    metaId,
    eventTimeMs,
    wiki: str(e.wiki),
    type: str(e.type),
    bot: typeof e.bot === "boolean" ? e.bot : undefined,
    title: str(e.title),
    serverName: str(e.server_name) ?? str(m.domain),
  };
}
