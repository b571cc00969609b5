/**
 * Turns Deno's "Requires … access" errors into one line that says what the
 * program needs and the exact way to run it, instead of Deno's raw error.
 *
 * @module
 */

/** A permission Deno refused. */
export interface PermissionRefusal {
  /** `read`, `write`, `env`, `net`, `sys`, `run` or `ffi`. */
  kind: string;
  /** The path, variable, host or name asked for, when Deno named it. */
  target?: string;
  /** Deno's message. */
  message: string;
}

const REQUIRES_REGEXP = /Requires (\w+) access(?: to "?([^",]+?)"?)?, (?:run again with|specify)/;

/**
 * Finds a refused permission in an error or its causes.
 *
 * @param error anything thrown
 * @returns the refusal, or `undefined` when the error is not about permissions
 */
export function permissionRefusal(error: unknown): PermissionRefusal | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; depth++) {
    const match = REQUIRES_REGEXP.exec(e.message);
    if (
      match &&
      (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied ||
        e.cause === undefined)
    ) {
      const refusal: PermissionRefusal = { kind: match[1]!, message: match[0] };
      if (match[2] !== undefined) refusal.target = match[2];
      return refusal;
    }
    e = e.cause;
  }
  return undefined;
}

/**
 * One line for a refused permission.
 *
 * @param refusal what was refused
 * @param program the program's name
 * @param task the `deno task` that runs it, when there is one
 * @returns the message
 */
export function permissionHint(
  refusal: PermissionRefusal,
  program: string,
  task?: string,
): string {
  // Deno 2.9 asks for sys "ca" but its --allow-sys=<list> cannot name it
  const named = refusal.target !== undefined &&
    !(refusal.kind === "sys" && refusal.target === "ca");
  const flag = `--allow-${refusal.kind}${named ? `=${refusal.target}` : ""}`;
  const what = `${refusal.kind} access${refusal.target ? ` to "${refusal.target}"` : ""}`;
  const through = task
    ? `run it with \`deno task ${task}\`, which grants exactly the folders and variables you configure (in .env or as options)`
    : "run it through its deno task";
  return `${program} was refused ${what}: ${through}; with a plain \`deno run\` or a compiled ` +
    `binary, add ${flag}`;
}
