/**
 * A decaying error rate: each observation weighs `1 - 1/window` times less
 * than the next, so the rate reflects roughly the last `window` records.
 *
 * @module
 */

/** Options for {@linkcode ErrorBudget}. */
export interface ErrorBudgetOptions {
  /** Largest tolerated rate in (0, 1]; 1 never trips. */
  maxRate: number;
  /** Effective number of recent observations. @default 1000 */
  window?: number;
  /** Observations needed before the budget can trip. @default 100 */
  minObservations?: number;
}

/** Tracks the share of bad records over a decaying window. */
export class ErrorBudget {
  #maxRate: number;
  #decay: number;
  #min: number;
  #bad = 0;
  #total = 0;
  #seen = 0;

  /**
   * Creates an `ErrorBudget`.
   *
   * @param options limit and window
   */
  constructor(options: ErrorBudgetOptions) {
    this.#maxRate = options.maxRate;
    this.#decay = 1 - 1 / (options.window ?? 1000);
    this.#min = options.minObservations ?? 100;
  }

  /** The current decayed rate. */
  get rate(): number {
    return this.#total === 0 ? 0 : this.#bad / this.#total;
  }

  /**
   * Records one observation.
   *
   * @param bad whether the record was bad
   * @returns true when the budget is exhausted
   */
  observe(bad: boolean): boolean {
    this.#bad = this.#bad * this.#decay + (bad ? 1 : 0);
    this.#total = this.#total * this.#decay + 1;
    this.#seen++;
    return this.#maxRate < 1 && this.#seen >= this.#min && this.rate > this.#maxRate;
  }
}
