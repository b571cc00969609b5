/**
 * Abortable waiting and the clock interface that lets tests control time.
 *
 * @module
 */

/** Time as seen by components; tests pass a fake one. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The longest delay one `setTimeout` can wait (2^31-1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Waits `ms` milliseconds (any length: longer ones than a timer can hold are waited in
 * steps); rejects with the signal's reason when it aborts first.
 *
 * @param ms how long to wait
 * @param signal aborts the wait
 * @returns a promise that resolves after the wait
 * @throws the abort reason when the signal aborts
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    // setTimeout turns a delay above 2^31-1 ms into 1 ms: wait in steps instead
    let left = Number.isNaN(ms) ? 0 : Math.max(0, ms);
    let timer: ReturnType<typeof setTimeout>;
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const arm = () => {
      const step = Math.min(left, MAX_TIMER_MS);
      left -= step;
      timer = setTimeout(() => {
        if (left > 0) return arm();
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, step);
    };
    arm();
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The real clock. */
export const SYSTEM_CLOCK: Clock = Object.freeze({
  now: () => Date.now(),
  sleep: delay,
});

/**
 * Waits `ms` milliseconds and resolves `false` instead of rejecting when the signal aborts.
 *
 * @param clock the clock to sleep on
 * @param ms how long to wait
 * @param signal aborts the wait early
 * @returns true when the full time passed, false when aborted
 */
export async function sleepUnlessAborted(
  clock: Clock,
  ms: number,
  signal?: AbortSignal,
): Promise<boolean> {
  try {
    await clock.sleep(ms, signal);
    return true;
  } catch (error) {
    if (signal?.aborted) return false;
    throw error;
  }
}
