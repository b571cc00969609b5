/**
 * The bytes of request bodies the broker may hold at once, shared by all requests: a
 * request reserves what it reads and gives it back when it is answered, so that many
 * concurrent large bodies cannot add up to more memory than this.
 *
 * @module
 */

/** A shared byte budget. */
export class BodyBudget {
  readonly #limit: number;
  #used = 0;

  /**
   * Creates a budget.
   *
   * @param limit bytes that may be reserved at once
   * @throws {RangeError} when the limit is not a positive integer
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * const budget = new BodyBudget(10);
   * assert.ok(budget.tryReserve(8));
   * assert.ok(!budget.tryReserve(3));
   * budget.release(8);
   * assert.equal(budget.used, 0);
   * ```
   */
  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError(
        `Cannot create the body budget as 'limit' must be a positive integer: current value is ${limit}`,
      );
    }
    this.#limit = limit;
  }

  /** Bytes that may be reserved at once. */
  get limit(): number {
    return this.#limit;
  }

  /** Bytes reserved now. */
  get used(): number {
    return this.#used;
  }

  /**
   * Reserves bytes if they fit.
   *
   * @param bytes how many
   * @returns false (and nothing reserved) when they do not fit
   */
  tryReserve(bytes: number): boolean {
    if (this.#used + bytes > this.#limit) return false;
    this.#used += bytes;
    return true;
  }

  /**
   * Gives reserved bytes back.
   *
   * @param bytes how many
   */
  release(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}
