/**
 * A bounded cache of open file handles, shared by every partition log of a broker, so that
 * the descriptors the broker holds do not grow with its topics. A partition's handles are
 * opened on first use and stay open while they are used; when the cache is full, the least
 * recently used idle entry is closed to make room, and a caller finding every entry in use
 * waits for one to be released.
 *
 * @module
 */

/** Anything the cache can close. */
export interface Closable {
  /** Releases the handles. */
  close(): void;
}

/** A pinned cache entry: its handles stay open until the lease is disposed. */
export interface HandleLease<T> extends Disposable {
  /** The open handles. */
  readonly handles: T;
}

/** Counters of a {@linkcode PartitionHandleCache}, for metrics. */
export interface HandleCacheStats {
  /** Entries open now (each is one partition's handles). */
  open: number;
  /** Most entries open at once. */
  capacity: number;
  /** Entries opened since the start. */
  opened: number;
  /** Idle entries closed to make room. */
  evicted: number;
}

interface Entry {
  handles: Closable | undefined;
  opening: Promise<void> | undefined;
  users: number;
  evictWhenIdle: boolean;
}

/** A least-recently-used cache of open handles with a fixed capacity. */
export class PartitionHandleCache {
  readonly #capacity: number;
  /** Map order is use order: the first entry is the least recently used. */
  readonly #entries = new Map<object, Entry>();
  #waiters: (() => void)[] = [];
  #opened = 0;
  #evicted = 0;

  /**
   * Creates a cache.
   *
   * @param capacity most entries open at once
   * @throws {RangeError} when the capacity is not a positive integer
   * @example Open a file on first use and reuse it
   * ```ts
   * import assert from "node:assert/strict";
   * const cache = new PartitionHandleCache(1);
   * const owner = {};
   * const path = await Deno.makeTempFile();
   * {
   *   using lease = await cache.acquire(owner, () => Deno.open(path));
   *   assert.ok(lease.handles instanceof Deno.FsFile);
   * }
   * assert.equal(cache.stats().open, 1);
   * cache.evict(owner);
   * assert.equal(cache.stats().open, 0);
   * await Deno.remove(path);
   * ```
   */
  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Cannot create the handle cache as 'capacity' must be a positive integer: current value is ${capacity}`,
      );
    }
    this.#capacity = capacity;
  }

  /**
   * Pins the owner's handles, opening them (and closing an idle entry to make room) when
   * they are not open; waits while every entry is in use.
   *
   * @param owner the object the handles belong to (the cache key)
   * @param open opens the handles
   * @returns a lease; dispose it when the handles are no longer used
   * @throws whatever `open` throws (the entry is then not cached)
   */
  async acquire<T extends Closable>(
    owner: object,
    open: () => Promise<T>,
  ): Promise<HandleLease<T>> {
    for (;;) {
      const entry = this.#entries.get(owner);
      if (entry) {
        entry.users++;
        try {
          await entry.opening;
        } catch (error) {
          this.#release(owner, entry);
          throw error;
        }
        this.#touch(owner, entry);
        return this.#lease(owner, entry) as HandleLease<T>;
      }
      if (this.#entries.size < this.#capacity || this.#evictIdle()) {
        const fresh: Entry = {
          handles: undefined,
          opening: undefined,
          users: 1,
          evictWhenIdle: false,
        };
        fresh.opening = open().then((handles) => {
          fresh.handles = handles;
          fresh.opening = undefined;
          this.#opened++;
        });
        this.#entries.set(owner, fresh);
        try {
          await fresh.opening;
        } catch (error) {
          this.#entries.delete(owner);
          this.#wakeAll();
          throw error;
        }
        return this.#lease(owner, fresh) as HandleLease<T>;
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /**
   * Closes the owner's handles now, or as soon as the last lease is released.
   *
   * @param owner the owner
   */
  evict(owner: object): void {
    const entry = this.#entries.get(owner);
    if (!entry) return;
    if (entry.users > 0 || entry.opening) {
      entry.evictWhenIdle = true;
      return;
    }
    this.#close(owner, entry);
  }

  /**
   * Current counters.
   *
   * @returns open entries, capacity, opens and evictions
   */
  stats(): HandleCacheStats {
    return {
      open: this.#entries.size,
      capacity: this.#capacity,
      opened: this.#opened,
      evicted: this.#evicted,
    };
  }

  #lease(owner: object, entry: Entry): HandleLease<Closable> {
    let released = false;
    return {
      handles: entry.handles!,
      [Symbol.dispose]: () => {
        if (released) return;
        released = true;
        this.#release(owner, entry);
      },
    };
  }

  #release(owner: object, entry: Entry): void {
    entry.users--;
    if (entry.users > 0) return;
    if (entry.evictWhenIdle && !entry.opening && this.#entries.get(owner) === entry) {
      this.#close(owner, entry);
    }
    this.#wakeAll();
  }

  #touch(owner: object, entry: Entry): void {
    this.#entries.delete(owner);
    this.#entries.set(owner, entry);
  }

  #evictIdle(): boolean {
    for (const [owner, entry] of this.#entries) {
      if (entry.users === 0 && !entry.opening) {
        this.#close(owner, entry);
        this.#evicted++;
        return true;
      }
    }
    return false;
  }

  #close(owner: object, entry: Entry): void {
    this.#entries.delete(owner);
    try {
      entry.handles?.close();
    } finally {
      this.#wakeAll();
    }
  }

  #wakeAll(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
