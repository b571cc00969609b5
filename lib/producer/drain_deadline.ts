/**
 * {@linkcode startDrainDeadline}: once the stop signal fires, in-flight sends
 * get a bounded time to finish before they are aborted.
 *
 * @module
 */

/** A deadline armed by a stop signal. */
export interface DrainDeadline {
  /** Aborts `ms` after the stop signal fired (never before it). */
  readonly signal: AbortSignal;
  /** Disarms the deadline and stops listening to the stop signal. */
  dispose(): void;
}

/**
 * Arms a deadline that aborts `ms` after `stop` aborts.
 *
 * @param stop the program's stop signal
 * @param ms how long draining may take after the stop
 * @returns the deadline's signal and its disposer
 */
export function startDrainDeadline(stop: AbortSignal, ms: number): DrainDeadline {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onStop = () => {
    timer = setTimeout(() => {
      controller.abort(new DOMException("drain timeout", "AbortError"));
    }, ms);
  };
  if (stop.aborted) onStop();
  else stop.addEventListener("abort", onStop, { once: true });
  return {
    signal: controller.signal,
    dispose() {
      stop.removeEventListener("abort", onStop);
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
