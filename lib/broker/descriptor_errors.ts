/**
 * Recognising "no file descriptor left" (`EMFILE`, `ENFILE`) and answering it as a
 * retriable refusal instead of an internal error: the condition passes once connections
 * or files are closed.
 *
 * @module
 */
import { BrokerError } from "./broker_error.ts";

const EXHAUSTED_CODES = new Set(["EMFILE", "ENFILE"]);

/**
 * Tells whether an error (or one of its causes) says the process or the system has no
 * file descriptor left.
 *
 * @param error what was thrown
 * @returns true for `EMFILE` and `ENFILE`
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const error = Object.assign(new Error("Too many open files (os error 24)"), { code: "EMFILE" });
 * assert.ok(isOutOfDescriptors(new Error("Cannot append", { cause: error })));
 * assert.ok(!isOutOfDescriptors(new Error("other")));
 * ```
 */
export function isOutOfDescriptors(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && EXHAUSTED_CODES.has(code)) return true;
  }
  return false;
}

/**
 * The 503 answered when a request needs a descriptor and none is left.
 *
 * @param cause the `EMFILE`/`ENFILE` error
 * @returns the error, with `Retry-After: 1`
 */
export function outOfDescriptors(cause: unknown): BrokerError {
  return new BrokerError(
    503,
    503,
    "Service Unavailable: the broker has no file descriptor left; retry later",
    { cause, refusal: "descriptors", retryAfterS: 1 },
  );
}
