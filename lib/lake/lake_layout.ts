/**
 * Object keys of the lake. Data files are Hive-partitioned by event time (UTC):
 * `<prefix>/<topic>/date=YYYY-MM-DD/hour=HH/wikistream-<seq>-<n>.parquet`.
 * Everything else lives below a segment starting with `_`, so a glob over
 * `**\/*.parquet` reads exactly the data:
 * `<prefix>/_manifests/<topic>/<seq>.json`, `<prefix>/_dlq/<topic>/<seq>.ndjson`,
 * `<prefix>/_state/<topic>/last_committed.json`.
 *
 * @module
 */

/** Digits of a zero-padded unit sequence number (keys sort in sequence order). */
export const SEQ_DIGITS = 12;

const HOUR_MS = 3_600_000;

/** Options for {@linkcode LakeLayout}. */
export interface LakeLayoutOptions {
  /** Key prefix inside the store, without slashes at the ends; may be empty. */
  prefix: string;
  /** Kafka topic name. */
  topic: string;
}

/**
 * Formats a unit sequence number with leading zeros.
 *
 * @param seq a non-negative integer
 * @returns the padded number
 */
export function formatSeq(seq: number): string {
  return String(seq).padStart(SEQ_DIGITS, "0");
}

/**
 * Returns the start of the UTC hour that holds a time.
 *
 * @param ms epoch milliseconds
 * @returns epoch milliseconds of the hour start
 */
export function hourStart(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/** Builds and parses the keys of one topic's lake. */
export class LakeLayout {
  #root: string;
  #topic: string;

  /**
   * Creates a `LakeLayout`.
   *
   * @param options prefix and topic
   */
  constructor(options: LakeLayoutOptions) {
    const prefix = options.prefix.replace(/^\/+|\/+$/g, "");
    if (!/^[A-Za-z0-9._-]+$/.test(options.topic) || options.topic.startsWith("_")) {
      throw new TypeError(`Cannot use topic "${options.topic}" as a lake folder name`);
    }
    this.#root = prefix === "" ? "" : prefix + "/";
    this.#topic = options.topic;
  }

  /** Key of a data file for the hour holding `eventTimeMs`. */
  dataKey(eventTimeMs: number, seq: number, index: number): string {
    const iso = new Date(hourStart(eventTimeMs)).toISOString();
    return `${this.#root}${this.#topic}/date=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/` +
      `wikistream-${formatSeq(seq)}-${String(index).padStart(3, "0")}.parquet`;
  }

  /** Prefix below which every data file of the topic lives. */
  get dataPrefix(): string {
    return `${this.#root}${this.#topic}/`;
  }

  /** Prefix of the manifests. */
  get manifestPrefix(): string {
    return `${this.#root}_manifests/${this.#topic}/`;
  }

  /** Key of the manifest of unit `seq`. */
  manifestKey(seq: number): string {
    return `${this.manifestPrefix}${formatSeq(seq)}.json`;
  }

  /** Sequence number of a manifest key, or `undefined` for other keys. */
  seqOfManifestKey(key: string): number | undefined {
    if (!key.startsWith(this.manifestPrefix)) return undefined;
    const m = /^(\d+)\.json$/.exec(key.slice(this.manifestPrefix.length));
    return m ? Number(m[1]) : undefined;
  }

  /** Key of the dead-letter object of unit `seq`. */
  dlqKey(seq: number): string {
    return `${this.#root}_dlq/${this.#topic}/${formatSeq(seq)}.ndjson`;
  }

  /** Key of the pointer to the last committed unit. */
  get pointerKey(): string {
    return `${this.#root}_state/${this.#topic}/last_committed.json`;
  }
}
