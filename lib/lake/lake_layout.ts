/**
 * Object keys of the lake. Units are numbered per Kafka partition. Data files are
 * Hive-partitioned by event time (UTC):
 * `<prefix>/<topic>/date=YYYY-MM-DD/hour=HH/wikistream-p<partition>-<seq>-<n>.parquet`.
 * Everything else lives below a segment starting with `_`, so a glob over
 * `**\/*.parquet` reads exactly the data:
 * `<prefix>/_manifests/<topic>/partition=<p>/<seq>.json` (the unit's claim),
 * `<prefix>/_dlq/<topic>/partition=<p>/<seq>.ndjson`,
 * `<prefix>/_state/<topic>/partition=<p>.json` (pointer to the last committed unit).
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

  /** Key of a data file of unit `seq` of `partition` for the hour holding `eventTimeMs`. */
  dataKey(eventTimeMs: number, partition: number, seq: number, index: number): string {
    const iso = new Date(hourStart(eventTimeMs)).toISOString();
    return `${this.#root}${this.#topic}/date=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/` +
      `wikistream-p${partition}-${formatSeq(seq)}-${String(index).padStart(3, "0")}.parquet`;
  }

  /** Prefix below which every data file of the topic lives. */
  get dataPrefix(): string {
    return `${this.#root}${this.#topic}/`;
  }

  /** Prefix of every manifest of the topic (all partitions). */
  get manifestPrefix(): string {
    return `${this.#root}_manifests/${this.#topic}/`;
  }

  /** Prefix of the manifests of one partition. */
  partitionManifestPrefix(partition: number): string {
    return `${this.manifestPrefix}partition=${partition}/`;
  }

  /** Key of the manifest of unit `seq` of `partition`: created once, by the unit's owner. */
  manifestKey(partition: number, seq: number): string {
    return `${this.partitionManifestPrefix(partition)}${formatSeq(seq)}.json`;
  }

  /** Partition and sequence number of a manifest key, or `undefined` for other keys. */
  parseManifestKey(key: string): { partition: number; seq: number } | undefined {
    if (!key.startsWith(this.manifestPrefix)) return undefined;
    const m = /^partition=(\d+)\/(\d+)\.json$/.exec(key.slice(this.manifestPrefix.length));
    return m ? { partition: Number(m[1]), seq: Number(m[2]) } : undefined;
  }

  /**
   * Says whether a key is a manifest of the single-writer format (`_manifests/<topic>/<seq>.json`,
   * one sequence for all partitions), which this version cannot continue.
   */
  isSingleWriterManifestKey(key: string): boolean {
    return key.startsWith(this.manifestPrefix) &&
      /^\d+\.json$/.test(key.slice(this.manifestPrefix.length));
  }

  /** Key of the dead-letter object of unit `seq` of `partition`. */
  dlqKey(partition: number, seq: number): string {
    return `${this.#root}_dlq/${this.#topic}/partition=${partition}/${formatSeq(seq)}.ndjson`;
  }

  /** Key of the pointer to the last committed unit of `partition` (a hint: saves listing). */
  pointerKey(partition: number): string {
    return `${this.#root}_state/${this.#topic}/partition=${partition}.json`;
  }

  /** Key under which the store's conditional create is probed at start. */
  probeKey(id: string): string {
    return `${this.#root}_state/${this.#topic}/probe-${id}.json`;
  }
}
