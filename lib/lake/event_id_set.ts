/**
 * {@linkcode EventIdSet}: a set of event ids (`meta.id`) that holds the canonical UUIDs the
 * stream uses (36 characters, lowercase hex) as 16 bytes each in one open-addressed table,
 * instead of one JS string and one `Set` entry per id (about 90 bytes, and an object for the
 * garbage collector to trace). Any other id is kept as a string in a plain `Set`. Membership is
 * exact in both: two ids are the same only when their strings are equal (a UUID written in
 * capitals is another id, and is stored as a string).
 *
 * @module
 */

/** Value of each ASCII code as a lowercase hex digit, -1 for anything else. */
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[97 + i] = 10 + i;

/** The 36-character lowercase UUID's 4 words, written into `out`; false for any other text. */
function packUuid(id: string, out: Int32Array): boolean {
  if (id.length !== 36) return false;
  let word = 0;
  let digits = 0;
  let w = 0;
  for (let i = 0; i < 36; i++) {
    const c = id.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false; // "-"
      continue;
    }
    const v = c < 128 ? HEX[c]! : -1;
    if (v < 0) return false;
    word = (word << 4) | v;
    if (++digits === 8) {
      out[w++] = word;
      word = 0;
      digits = 0;
    }
  }
  return true;
}

function hashWords(k: Int32Array): number {
  let h = Math.imul(k[0]! ^ 0x2545f491, 0x9e3779b1);
  h = Math.imul(h ^ k[1]!, 0x85ebca6b);
  h = Math.imul(h ^ k[2]!, 0xc2b2ae35);
  h = Math.imul(h ^ k[3]!, 0x27d4eb2f);
  return (h ^ (h >>> 15)) >>> 0;
}

/**
 * An event id prepared once for lookups in several {@linkcode EventIdSet}s (a unit's own ids and
 * each unit of the dedupe window): a canonical UUID's four words and their hash, or else the
 * string itself. One key is meant to be reused for record after record.
 */
export class EventIdKey {
  /** The UUID's four words (when {@linkcode EventIdKey.uuid}). */
  readonly words: Int32Array = new Int32Array(4);
  /** Whether the id is a canonical UUID (held as words); else it is held as a string. */
  uuid = false;
  /** Hash of the words (when {@linkcode EventIdKey.uuid}). */
  hash = 0;
  /** The id. */
  id = "";

  /**
   * Prepares the key for an id.
   *
   * @param id the event id
   * @returns this key
   */
  of(id: string): this {
    this.id = id;
    this.uuid = packUuid(id, this.words);
    if (this.uuid) this.hash = hashWords(this.words);
    return this;
  }
}

/** A set of event ids, compact for UUIDs. */
export class EventIdSet {
  /** 4 words per slot; a slot is used when `#used[slot]` is 1. */
  #keys: Int32Array;
  #used: Uint8Array;
  #mask: number;
  #uuids = 0;
  #other: Set<string> | undefined;
  #key = new EventIdKey();

  /**
   * Creates an empty set.
   *
   * @param expected how many ids it will probably hold (it grows past that)
   */
  constructor(expected = 64) {
    let slots = 64;
    while (slots < expected * 2) slots *= 2;
    this.#keys = new Int32Array(slots * 4);
    this.#used = new Uint8Array(slots);
    this.#mask = slots - 1;
  }

  /** The number of ids held. */
  get size(): number {
    return this.#uuids + (this.#other?.size ?? 0);
  }

  /** Bytes of the table and an estimate for the ids kept as strings. */
  get byteSize(): number {
    return this.#keys.byteLength + this.#used.byteLength + (this.#other?.size ?? 0) * 96;
  }

  /**
   * Adds an id.
   *
   * @param id the event id
   * @returns true when it was not in the set yet
   */
  add(id: string): boolean {
    return this.addKey(this.#key.of(id));
  }

  /**
   * Adds a prepared id.
   *
   * @param key the id's key
   * @returns true when it was not in the set yet
   */
  addKey(key: EventIdKey): boolean {
    if (!key.uuid) {
      const other = this.#other ??= new Set();
      if (other.has(key.id)) return false;
      other.add(key.id);
      return true;
    }
    if (this.#find(key.words, key.hash) >= 0) return false;
    if ((this.#uuids + 1) * 2 > this.#used.length) this.#grow();
    this.#insert(key.words, key.hash);
    this.#uuids++;
    return true;
  }

  /**
   * Says whether the set holds an id.
   *
   * @param id the event id
   * @returns true when it does
   */
  has(id: string): boolean {
    return this.hasKey(this.#key.of(id));
  }

  /**
   * Says whether the set holds a prepared id.
   *
   * @param key the id's key
   * @returns true when it does
   */
  hasKey(key: EventIdKey): boolean {
    if (!key.uuid) return this.#other?.has(key.id) ?? false;
    return this.#find(key.words, key.hash) >= 0;
  }

  /** The ids, UUIDs first (in table order), then the others. */
  *[Symbol.iterator](): Generator<string> {
    const keys = this.#keys;
    for (let slot = 0; slot < this.#used.length; slot++) {
      if (this.#used[slot] === 0) continue;
      let hex = "";
      for (let w = 0; w < 4; w++) hex += (keys[slot * 4 + w]! >>> 0).toString(16).padStart(8, "0");
      yield `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
        hex.slice(20)
      }`;
    }
    if (this.#other) yield* this.#other;
  }

  /** The slot holding `k` (of hash `hash`), or -1. */
  #find(k: Int32Array, hash: number): number {
    const keys = this.#keys;
    const used = this.#used;
    for (let slot = hash & this.#mask;; slot = (slot + 1) & this.#mask) {
      if (used[slot] === 0) return -1;
      const at = slot * 4;
      if (
        keys[at] === k[0] && keys[at + 1] === k[1] && keys[at + 2] === k[2] &&
        keys[at + 3] === k[3]
      ) return slot;
    }
  }

  #insert(k: Int32Array, hash: number): void {
    let slot = hash & this.#mask;
    while (this.#used[slot] !== 0) slot = (slot + 1) & this.#mask;
    this.#used[slot] = 1;
    this.#keys.set(k, slot * 4);
  }

  #grow(): void {
    const keys = this.#keys;
    const used = this.#used;
    const slots = used.length * 2;
    this.#keys = new Int32Array(slots * 4);
    this.#used = new Uint8Array(slots);
    this.#mask = slots - 1;
    const k = new Int32Array(4);
    for (let slot = 0; slot < used.length; slot++) {
      if (used[slot] === 0) continue;
      k.set(keys.subarray(slot * 4, slot * 4 + 4));
      this.#insert(k, hashWords(k));
    }
  }
}
