/**
 * The event ids of the newest committed units, kept to drop events the
 * producer sent twice. Whole units are evicted oldest first once the rest
 * still holds at least `window` ids.
 *
 * @module
 */
import { EventIdKey, EventIdSet } from "../lake/event_id_set.ts";
import type { SeenIds } from "../lake/lake_writer.ts";

/** Ids of recent units. */
export class DedupeWindow implements SeenIds {
  #window: number;
  #units: { seq: number; ids: EventIdSet }[] = [];
  #size = 0;

  /**
   * Creates an instance.
   *
   * @param window the number of ids to keep at least (0 keeps none)
   */
  constructor(window: number) {
    this.#window = window;
  }

  /** Ids held. */
  get size(): number {
    return this.#size;
  }

  /** The number of ids kept at least. */
  get capacity(): number {
    return this.#window;
  }

  /**
   * Changes how many ids are kept at least, evicting the oldest units beyond it.
   *
   * @param window the new number (0 keeps none)
   */
  resize(window: number): void {
    this.#window = window;
    if (window === 0) {
      this.#units = [];
      this.#size = 0;
    }
    this.#evict();
  }

  #evict(): void {
    while (this.#units.length > 1 && this.#size - this.#units[0]!.ids.size >= this.#window) {
      this.#size -= this.#units.shift()!.ids.size;
    }
  }

  /**
   * Says whether a recent unit wrote the id.
   *
   * @param key the id, prepared once for every unit's set
   * @returns true when one did
   */
  has(key: EventIdKey): boolean {
    for (let i = this.#units.length - 1; i >= 0; i--) {
      if (this.#units[i]!.ids.hasKey(key)) return true;
    }
    return false;
  }

  /**
   * Adds a committed unit's ids (units must come oldest first).
   *
   * @param seq the unit's sequence number
   * @param ids its event ids (a set is kept as it is, not copied)
   */
  addUnit(seq: number, ids: EventIdSet | Iterable<string>): void {
    if (this.#window === 0) return;
    let set: EventIdSet;
    if (ids instanceof EventIdSet) set = ids;
    else {
      set = new EventIdSet();
      for (const id of ids) set.add(id);
    }
    this.#units.push({ seq, ids: set });
    this.#size += set.size;
    this.#evict();
  }
}
