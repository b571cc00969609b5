/**
 * Exponential backoff with full jitter and a cap, reset after a healthy period.
 *
 * @module
 */

/** Options for {@linkcode Backoff}. */
export interface BackoffOptions {
  /** First delay. @default 1000 */
  initialMs?: number;
  /** Largest delay. @default 60000 */
  maxMs?: number;
  /** Growth factor per failure. @default 2 */
  factor?: number;
  /** Random source in [0, 1), for tests. @default Math.random */
  random?: () => number;
}

/**
 * Produces the delay before each retry: `min(max, initial * factor^n)`, then
 * a random value between half of it and all of it ("equal jitter"), so that
 * retries never collapse to zero and never synchronise.
 *
 * @example Usage
 * ```ts
 * import { Backoff } from "./backoff.ts";
 * const b = new Backoff({ initialMs: 100, random: () => 1 });
 * b.next(); // 100
 * b.next(); // 200
 * b.reset();
 * ```
 */
export class Backoff {
  #initial: number;
  #max: number;
  #factor: number;
  #random: () => number;
  #attempt = 0;

  /**
   * Creates a `Backoff`.
   *
   * @param options delays and random source
   */
  constructor(options: BackoffOptions = {}) {
    this.#initial = options.initialMs ?? 1000;
    this.#max = options.maxMs ?? 60_000;
    this.#factor = options.factor ?? 2;
    this.#random = options.random ?? Math.random;
  }

  /** Failures since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /**
   * The delay before the next attempt; each call grows it.
   *
   * @returns the delay in ms before the next attempt
   */
  next(): number {
    const ceiling = Math.min(this.#max, this.#initial * this.#factor ** this.#attempt);
    this.#attempt++;
    return Math.round(ceiling / 2 + (ceiling / 2) * this.#random());
  }

  /** Starts again from the initial delay after a success. */
  reset(): void {
    this.#attempt = 0;
  }
}
