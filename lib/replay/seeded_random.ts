/**
 * {@linkcode seededRandom}: a small seeded pseudo-random generator (mulberry32), so a
 * run with injected faults (random stream cuts) can be reproduced from its seed.
 *
 * @module
 */

/**
 * Creates a seeded pseudo-random generator.
 *
 * @param seed any 32-bit integer
 * @returns a function giving numbers in [0, 1)
 * @example Two generators with one seed give the same numbers
 * ```ts
 * import assert from "node:assert/strict";
 * import { seededRandom } from "./seeded_random.ts";
 * assert.equal(seededRandom(7)(), seededRandom(7)());
 * ```
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
