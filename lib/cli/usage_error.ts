/**
 * The error a program raises for a condition that is the user's to fix; the process edge
 * (`runProgram` in `program.ts`) prints its message and exits with code 2.
 *
 * @module
 */

/** Raised by a program for a condition that is the user's to fix (exit code 2). */
export class UsageError extends Error {
  /**
   * Creates the error.
   *
   * @param message what is wrong and what to do
   * @param options the cause
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}
