/**
 * The lake side of the exactly-once protocol, per Kafka partition. A unit is
 * published as: (1) create its manifest with a conditional create — the claim
 * of the unit's place (partition, sequence number); the first claim wins and a
 * loser uploads nothing — (2) PUT its data files and dead letters under keys
 * fixed by partition, sequence number and hour, then the caller (3) commits the
 * Kafka offset of the partition and (4) updates the partition's `_state`
 * pointer. When a consumer takes a partition on, {@linkcode CommitProtocol.recover}
 * finds the partition's newest manifest; if any of its objects is missing the
 * unit is rebuilt from the topic (same range, same ingestion time, same
 * duplicate list, so the same bytes) and uploaded again under the same keys.
 * Store failures that may pass (network, 5xx) are retried with backoff for
 * as long as it takes: nothing is committed before the data is durable.
 *
 * @module
 */
import { Backoff } from "../cli/backoff.ts";
import { type Clock, SYSTEM_CLOCK } from "../cli/delay.ts";
import type { LakeLayout } from "./lake_layout.ts";
import type { SealedUnit } from "./lake_writer.ts";
import { readEventIds } from "./parquet_reader.ts";
import type { Logger } from "../cli/log.ts";
import { type ObjectStore, ObjectStoreError } from "../object_store/object_store.ts";
import { probeConditionalCreate } from "../object_store/conditional_create_probe.ts";
import { encodeManifest, parseManifest, type UnitManifest } from "./unit_manifest.ts";

/** Test-only pauses that widen crash windows (set by `WIKISTREAM_TEST_PAUSE_AT`). */
export interface TestPauses {
  /** Milliseconds to wait after the manifest is written. */
  afterManifest?: number;
  /** Milliseconds to wait after each data file is written. */
  afterFile?: number;
  /** Milliseconds to wait after all objects are written, before the commit. */
  afterUpload?: number;
}

/** Options for {@linkcode CommitProtocol}. */
export interface CommitProtocolOptions {
  /** The lake's store. */
  store: ObjectStore;
  /** Key layout. */
  layout: LakeLayout;
  /** Logger. */
  log: Logger;
  /** Delays between attempts after store failures. @default 500 ms doubling to 30 s */
  backoff?: Backoff;
  /** Clock. @default SYSTEM_CLOCK */
  clock?: Clock;
  /** Test-only pauses. */
  pauses?: TestPauses;
  /** Called on each failed store attempt that will be retried. */
  onRetry?: (error: unknown) => void;
}

/** What a claim found: `won` when this writer created the manifest, `lost` when another had. */
export type ClaimResult = "won" | "lost";

/** A partition's state in the lake. */
export interface LakeState {
  /** The partition's newest manifest, if any. */
  last: UnitManifest | undefined;
  /** Whether all objects of `last` exist. */
  complete: boolean;
}

/** Publishes units and recovers the lake state. */
export class CommitProtocol {
  #store: ObjectStore;
  #layout: LakeLayout;
  #log: Logger;
  #backoff: Backoff;
  #clock: Clock;
  #pauses: TestPauses;
  #onRetry: ((error: unknown) => void) | undefined;

  /**
   * Creates an instance.
   *
   * @param options store, layout, logger and retry policy
   */
  constructor(options: CommitProtocolOptions) {
    this.#store = options.store;
    this.#layout = options.layout;
    this.#log = options.log;
    this.#backoff = options.backoff ?? new Backoff({ initialMs: 500, maxMs: 30_000 });
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#pauses = options.pauses ?? {};
    this.#onRetry = options.onRetry;
  }

  /**
   * Runs a store operation until it succeeds, retrying failures that may pass.
   *
   * @param what description for logs
   * @param signal stops retrying
   * @param fn the operation
   * @returns its result
   * @throws non-retriable {@linkcode ObjectStoreError}s and the abort reason
   */
  async durably<T>(what: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    for (;;) {
      signal.throwIfAborted();
      try {
        const result = await fn();
        this.#backoff.reset();
        return result;
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (error instanceof ObjectStoreError && !error.retriable) throw error;
        if (!(error instanceof ObjectStoreError)) throw error;
        this.#onRetry?.(error);
        const wait = this.#backoff.next();
        this.#log.warn("lake store failing: will retry, nothing is committed meanwhile", {
          what,
          waitMs: wait,
          error: error.message,
        });
        await this.#clock.sleep(wait, signal);
      }
    }
  }

  async #pause(ms: number | undefined): Promise<void> {
    if (ms) await this.#clock.sleep(ms);
  }

  /**
   * Refuses a lake written by the single-writer format (one unit sequence for all
   * partitions), which this version cannot continue.
   *
   * @param signal stops the listing
   * @throws {Error} naming the folder to move away
   */
  async refuseSingleWriterLake(signal: AbortSignal): Promise<void> {
    // single-writer manifests are `<seq>.json` with 12 digits: they sort before `partition=`
    const keys = await this.durably(
      "list manifests",
      signal,
      () => this.#store.list(`${this.#layout.manifestPrefix}0`, { signal }),
    );
    const old = keys.find((k) => this.#layout.isSingleWriterManifestKey(k));
    if (old !== undefined) {
      throw new Error(
        `Cannot continue this lake: it was written by an earlier wikistream whose units span ` +
          `all partitions ("${old}"); consumer groups need units per partition. Point ` +
          `OUTPUT_URL at a new folder or prefix (the old data stays readable by query and DuckDB)`,
      );
    }
  }

  /**
   * Says whether the store honours conditional creates (creates a probe key twice).
   *
   * @param signal stops the probe
   * @returns true when the second create was refused
   */
  probeConditionalCreate(signal: AbortSignal): Promise<boolean> {
    const key = this.#layout.probeKey(crypto.randomUUID().slice(0, 12));
    return this.durably(
      "probe conditional create",
      signal,
      () => probeConditionalCreate(this.#store, key, signal),
    );
  }

  /**
   * Reads a partition's newest manifest and checks whether all its objects exist.
   *
   * @param partition the Kafka partition
   * @param signal stops the scan
   * @returns the state
   */
  async recover(partition: number, signal: AbortSignal): Promise<LakeState> {
    const pointerKey = this.#layout.pointerKey(partition);
    const pointer = await this.durably(
      "read pointer",
      signal,
      () => this.#store.get(pointerKey, { signal }),
    );
    let startAfter: string | undefined;
    let pointed: number | undefined;
    if (pointer) {
      try {
        const { seq } = JSON.parse(new TextDecoder().decode(pointer)) as { seq: number };
        if (Number.isSafeInteger(seq) && seq >= 0) {
          startAfter = seq > 0 ? this.#layout.manifestKey(partition, seq - 1) : undefined;
          pointed = seq;
        }
      } catch {
        this.#log.warn("ignoring an unreadable state pointer: listing all manifests", {
          key: pointerKey,
        });
      }
    }
    const prefix = this.#layout.partitionManifestPrefix(partition);
    const keys = await this.durably(
      "list manifests",
      signal,
      () => this.#store.list(prefix, { startAfter, signal }),
    );
    const seqs: number[] = [];
    for (const key of keys) {
      const parsed = this.#layout.parseManifestKey(key);
      if (parsed?.partition === partition) seqs.push(parsed.seq);
    }
    // the pointed unit counts even when a (lagging) listing misses it; never restart at 0
    if (pointed !== undefined) seqs.push(pointed);
    if (seqs.length === 0) return { last: undefined, complete: true };
    const newest = seqs.reduce((a, b) => (b > a ? b : a));
    const last = await this.readManifest(partition, newest, signal);
    if (!last) {
      throw new Error(
        `Cannot read manifest ${partition}/${newest}: it was listed or named by the state ` +
          "pointer but is gone",
      );
    }
    return { last, complete: await this.isComplete(last, signal) };
  }

  /**
   * Reads one manifest.
   *
   * @param partition the Kafka partition
   * @param seq unit sequence number within the partition
   * @param signal stops retries
   * @returns the manifest, or `undefined` when missing
   */
  async readManifest(
    partition: number,
    seq: number,
    signal: AbortSignal,
  ): Promise<UnitManifest | undefined> {
    const key = this.#layout.manifestKey(partition, seq);
    const bytes = await this.durably(
      "read manifest",
      signal,
      () => this.#store.get(key, { signal }),
    );
    return bytes ? parseManifest(bytes, key) : undefined;
  }

  /**
   * Says whether every object of a unit exists.
   *
   * @param manifest the unit
   * @param signal stops retries
   * @returns true when none is missing
   */
  async isComplete(manifest: UnitManifest, signal: AbortSignal): Promise<boolean> {
    const keys = manifest.files.map((f) => f.key);
    if (manifest.dlq) keys.push(manifest.dlq.key);
    for (const key of keys) {
      const exists = await this.durably(
        "check object",
        signal,
        () => this.#store.exists(key, { signal }),
      );
      if (!exists) return false;
    }
    return true;
  }

  /**
   * Claims a sealed unit's place: creates its manifest unless one exists. A manifest that
   * exists with exactly these bytes is this writer's own earlier attempt (a create whose
   * answer was lost), so the claim is won.
   *
   * @param unit the sealed unit
   * @param signal stops retries
   * @returns `won`, or `lost` when another writer holds the place
   */
  async claim(unit: SealedUnit, signal: AbortSignal): Promise<ClaimResult> {
    const { partition, seq } = unit.manifest;
    const key = this.#layout.manifestKey(partition, seq);
    const bytes = encodeManifest(unit.manifest);
    const created = await this.durably(
      "claim unit (create its manifest)",
      signal,
      () => this.#store.create(key, bytes, { contentType: "application/json", signal }),
    );
    await this.#pause(this.#pauses.afterManifest);
    if (created === "created") return "won";
    const held = await this.durably(
      "read manifest",
      signal,
      () => this.#store.get(key, { signal }),
    );
    return held !== undefined && sameBytes(held, bytes) ? "won" : "lost";
  }

  /**
   * Uploads a claimed unit's data files and dead letters (never its manifest).
   *
   * @param unit the sealed unit
   * @param signal stops retries
   */
  async upload(unit: SealedUnit, signal: AbortSignal): Promise<void> {
    for (const object of unit.objects) {
      await this.durably(
        "upload object",
        signal,
        () =>
          this.#store.put(object.key, object.bytes, { contentType: object.contentType, signal }),
      );
      await this.#pause(this.#pauses.afterFile);
    }
    await this.#pause(this.#pauses.afterUpload);
  }

  /**
   * Records the last committed unit so that a restart need not list every manifest.
   *
   * @param manifest the unit just committed
   * @param signal stops retries
   */
  async writePointer(manifest: UnitManifest, signal: AbortSignal): Promise<void> {
    const { partition, seq } = manifest;
    const bytes = new TextEncoder().encode(
      JSON.stringify({ partition, seq, key: this.#layout.manifestKey(partition, seq) }) + "\n",
    );
    await this.durably(
      "write state pointer",
      signal,
      () =>
        this.#store.put(this.#layout.pointerKey(partition), bytes, {
          contentType: "application/json",
          signal,
        }),
    );
  }

  /**
   * Reads back the event ids of a partition's newest units, newest first, until `window` ids
   * are held.
   *
   * @param last the newest (complete) unit
   * @param window how many ids to load at least
   * @param signal stops retries
   * @returns per unit, its sequence number and ids, newest first
   */
  async loadRecentIds(
    last: UnitManifest,
    window: number,
    signal: AbortSignal,
  ): Promise<{ seq: number; ids: string[] }[]> {
    const out: { seq: number; ids: string[] }[] = [];
    let total = 0;
    let manifest: UnitManifest | undefined = last;
    while (manifest && total < window) {
      const ids: string[] = [];
      for (const file of manifest.files) {
        const key = file.key;
        const bytes = await this.durably(
          "read data file",
          signal,
          () => this.#store.get(key, { signal }),
        );
        if (!bytes) throw new Error(`Cannot load dedupe ids: "${key}" is missing from the lake`);
        for (const id of await readEventIds(bytes)) ids.push(id);
      }
      out.push({ seq: manifest.seq, ids });
      total += ids.length;
      manifest = manifest.seq > 0
        ? await this.readManifest(manifest.partition, manifest.seq - 1, signal)
        : undefined;
    }
    return out;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
