/**
 * {@linkcode RecentIdSet}: a set of the most recent ids with a fixed capacity;
 * adding past the capacity forgets the oldest id. Used to drop events that a
 * resume replays (`meta.id` dedupe).
 *
 * @module
 */

/** A bounded, insertion-ordered set of strings. */
export class RecentIdSet {
  #ids = new Set<string>();
  #ring: string[] = [];
  #head = 0;
  #capacity: number;

  /**
   * Creates a `RecentIdSet`.
   *
   * @param capacity the most ids kept (at least 1)
   */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Cannot create RecentIdSet as 'capacity' must be a positive integer: current value is ${capacity}`,
      );
    }
    this.#capacity = capacity;
  }

  /** Number of ids held. */
  get size(): number {
    return this.#ids.size;
  }

  /**
   * Says whether an id is held.
   *
   * @param id the id
   * @returns true when held
   */
  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /**
   * Adds an id, forgetting the oldest one when full.
   *
   * @param id the id
   */
  add(id: string): void {
    if (!this.#ids.has(id)) this.#insert(id);
  }

  /**
   * Adds an id unless it is held (one lookup instead of `has` + `add`).
   *
   * @param id the id
   * @returns true when the id was new
   */
  addIfAbsent(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#insert(id);
    return true;
  }

  #insert(id: string): void {
    if (this.#ring.length < this.#capacity) this.#ring.push(id);
    else {
      // Evict through a ring buffer: iterating a Set from its start is slow after many deletes.
      this.#ids.delete(this.#ring[this.#head]!);
      this.#ring[this.#head] = id;
      this.#head = (this.#head + 1) % this.#capacity;
    }
    this.#ids.add(id);
  }

  /**
   * The ids in the set.
   *
   * @returns the ids, oldest first
   */
  values(): string[] {
    return [...this.#ring.slice(this.#head), ...this.#ring.slice(0, this.#head)];
  }
}
