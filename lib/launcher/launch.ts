/**
 * The launcher behind every `deno task` that runs a program:
 * `deno run … lib/launcher/launch.ts consumer [options]` reads the configuration the
 * program will see (environment with `.env` applied, and its options), computes
 * the program's narrow permissions with {@linkcode permissionFlags} (exactly the
 * folders configured, see `lib/launcher/program_permissions.ts`) and runs
 * `deno run <those flags> consumer.ts [options]` as its child.
 *
 * The launcher loads no third-party code; it needs `--allow-env`, `--allow-read`
 * (for `Deno.execPath`) and `--allow-run` (to start the same Deno binary). The
 * program, which loads npm packages, gets only its own flags.
 *
 * Signals: SIGINT and SIGTERM are forwarded to the child (so `kill`, `docker
 * stop` and `deno task`'s own forwarding reach it); the child treats signals that
 * arrive together as one (a terminal's Ctrl-C reaches every process of the
 * group). The launcher exits with the child's exit code.
 *
 * The child also gets glibc allocator settings that keep its resident memory down
 * (`allocator_env.ts`), unless the environment sets them.
 *
 * `--print-flags` before the program name prints the flags and exits.
 *
 * @module
 */
import { redactUrlsInText } from "../cli/redact_url.ts";
import { allocatorEnv } from "./allocator_env.ts";
import { permissionFlags, PermissionPathError, PROGRAM_PROFILES } from "./program_permissions.ts";

/** The repository root: the folder above `lib/`. */
export const REPOSITORY_ROOT: string = decodeURIComponent(
  new URL("../../", import.meta.url).pathname,
)
  .replace(/\/$/, "");

/** What {@linkcode planLaunch} decided. */
export interface LaunchPlan {
  /** Arguments for the Deno binary. */
  args: string[];
  /** Variables added to the inherited environment (the allocator settings, see `allocatorEnv`). */
  env: Record<string, string>;
}

/**
 * The `deno` arguments that run a program with its permissions.
 *
 * @param program a key of `PROGRAM_PROFILES`
 * @param args the program's own arguments
 * @param env the environment it will see
 * @param root the repository root
 * @returns `run`, the flags, the entry file and the arguments
 */
export function planLaunch(
  program: string,
  args: readonly string[],
  env: Record<string, string | undefined>,
  root: string = REPOSITORY_ROOT,
): LaunchPlan {
  const profile = PROGRAM_PROFILES[program]!;
  const flags = permissionFlags(program, { env, args, root });
  return { args: ["run", ...flags, `${root}/${profile.entry}`, ...args], env: allocatorEnv(env) };
}

function writeErr(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(redactUrlsInText(text) + "\n"));
}

/**
 * Runs the launcher.
 *
 * @param argv `[--print-flags] <program> [program options…]`
 * @returns the exit code
 */
export async function launch(argv: readonly string[]): Promise<number> {
  const printOnly = argv[0] === "--print-flags";
  const [program, ...args] = printOnly ? argv.slice(1) : argv;
  if (program === undefined || !(program in PROGRAM_PROFILES)) {
    writeErr(
      `error: lib/launcher/launch.ts runs a wikistream program: expected one of ${
        Object.keys(PROGRAM_PROFILES).join(", ")
      }, got ${program === undefined ? "nothing" : `"${program}"`}`,
    );
    return 2;
  }
  let plan: LaunchPlan;
  try {
    plan = planLaunch(program, args, Deno.env.toObject());
  } catch (error) {
    if (error instanceof PermissionPathError) {
      writeErr(`error: ${error.message}`);
      return 2;
    }
    throw error;
  }
  if (printOnly) {
    // the program's arguments may hold URLs with credentials (--stream-url http://user:pw@…)
    const shown = plan.args.map((arg) => redactUrlsInText(arg));
    Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(shown) + "\n"));
    return 0;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: plan.args,
    env: plan.env,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const forward = (signal: Deno.Signal) => () => {
    try {
      child.kill(signal);
    } catch {
      // already exited
    }
  };
  const handlers: [Deno.Signal, () => void][] = [
    ["SIGINT", forward("SIGINT")],
    ["SIGTERM", forward("SIGTERM")],
  ];
  for (const [signal, fn] of handlers) Deno.addSignalListener(signal, fn);
  try {
    const status = await child.status;
    return status.code;
  } finally {
    for (const [signal, fn] of handlers) Deno.removeSignalListener(signal, fn);
  }
}

if (import.meta.main) Deno.exit(await launch(Deno.args));
