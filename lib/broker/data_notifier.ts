/**
 * Wakes long-polling reads when records are appended, so a read with `fetch.min.bytes`
 * returns as soon as enough data arrived instead of polling on a timer.
 *
 * @module
 */

interface Waiter {
  resolve: () => void;
  timer: ReturnType<typeof setTimeout>;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/** A broadcast "something changed" signal with timed waits. */
export class DataNotifier {
  #waiters = new Set<Waiter>();

  /** Wakes every current waiter. */
  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = new Set();
    for (const w of waiters) settle(w);
  }

  /**
   * Waits until the next {@linkcode DataNotifier.notify}, `ms` elapsed, or the signal aborts.
   * Never rejects.
   *
   * @param ms the longest wait
   * @param signal ends the wait early
   * @returns a promise that resolves when woken
   */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve,
        signal,
        timer: undefined as unknown as ReturnType<typeof setTimeout>,
        onAbort: () => {
          this.#waiters.delete(waiter);
          settle(waiter);
        },
      };
      waiter.timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        settle(waiter);
      }, ms);
      signal?.addEventListener("abort", waiter.onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }
}

function settle(w: Waiter): void {
  clearTimeout(w.timer);
  w.signal?.removeEventListener("abort", w.onAbort);
  w.resolve();
}
