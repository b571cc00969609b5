/**
 * Runs a wikistream program the way its `deno task` does, never with `-A`.
 *
 * Every program task in deno.json is `deno run <launcher flags> lib/launcher/launch.ts
 * <program>`; the launcher computes the program's permissions from its
 * configuration and runs `deno run <flags> <program>.ts`. Tests that kill a
 * program (SIGKILL, SIGSTOP) spawn that final command directly, computed by the
 * launcher's own {@linkcode planLaunch} for the same environment and arguments,
 * so the signal reaches the program; tests of the terminal path run `deno task`.
 *
 * @module
 */
import { planLaunch, REPOSITORY_ROOT } from "../../lib/launcher/launch.ts";
import { PROGRAM_PROFILES } from "../../lib/launcher/program_permissions.ts";

const ROOT = new URL("../../", import.meta.url);

/** The tasks of deno.json, read once per call. */
export function denoTasks(): Record<string, string> {
  const tasks = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT))).tasks as Record<
    string,
    string | { command: string }
  >;
  return Object.fromEntries(
    Object.entries(tasks).map(([k, v]) => [k, typeof v === "string" ? v : v.command]),
  );
}

/**
 * The program a task launches, checked against deno.json.
 *
 * @param task the task name (`produce`, `consume`, `broker`, `start`, `query`, `verify`)
 * @returns the launcher's program name
 * @throws {Error} when the task is not `deno run … lib/launcher/launch.ts <program>`
 */
export function taskProgram(task: string): string {
  const command = denoTasks()[task];
  const words = command?.trim().split(/\s+/) ?? [];
  const program = words.at(-1) ?? "";
  if (words[0] !== "deno" || words[1] !== "run" || words.at(-2) !== "lib/launcher/launch.ts") {
    throw new Error(
      `task ${task} is not "deno run … lib/launcher/launch.ts <program>": ${command}`,
    );
  }
  if (!(program in PROGRAM_PROFILES) || PROGRAM_PROFILES[program]!.task !== task) {
    throw new Error(`task ${task} launches "${program}", which is not its program`);
  }
  return program;
}

/**
 * `deno` arguments that run the task's program with exactly the permissions
 * the task grants for this environment and these arguments.
 *
 * @param task the task name
 * @param args the program's arguments
 * @param env the variables the test adds to the inherited environment
 * @param inherit false when the child gets only `env` (`clearEnv: true`)
 * @returns arguments for `Deno.execPath()`
 */
export function programArgs(
  task: string,
  args: readonly string[] = [],
  env: Record<string, string> = {},
  inherit = true,
): string[] {
  const seen = inherit ? { ...Deno.env.toObject(), ...env } : env;
  return planLaunch(taskProgram(task), args, seen, REPOSITORY_ROOT).args;
}

/**
 * Spawns a task's program with that task's flags (see {@linkcode programArgs}), `env` added to
 * the environment, stdin and stdout closed and stderr piped (the programs log there).
 *
 * @param task the `deno task` name, for example `consume`
 * @param args the program's arguments
 * @param env variables for the program (and for its flags)
 * @returns the child process
 */
export function spawnTaskProgram(
  task: string,
  args: readonly string[],
  env: Record<string, string>,
): Deno.ChildProcess {
  const plan = planLaunch(taskProgram(task), args, { ...Deno.env.toObject(), ...env });
  return new Deno.Command(Deno.execPath(), {
    args: plan.args,
    env: { ...plan.env, ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

/**
 * The task's own command as `deno` arguments (what `deno task <task>` runs), with
 * the launcher path made absolute so any working folder works.
 *
 * @param task the task name
 * @returns arguments for `Deno.execPath()`
 */
export function taskArgs(task: string): string[] {
  taskProgram(task);
  return denoTasks()[task]!.trim().split(/\s+/).slice(1).map((w) =>
    w === "lib/launcher/launch.ts" ? `${REPOSITORY_ROOT}/lib/launcher/launch.ts` : w
  );
}

/** Which task runs an entry file (`…/consumer.ts` → `consume`), if it is a program. */
export function taskOfEntry(path: string): string | undefined {
  const file = path.split("/").at(-1);
  return Object.values(PROGRAM_PROFILES).find((p) => p.entry === file)?.task;
}

/** Whether a `deno run` argument grants every permission at once (which no program may get). */
export function isBlanketPermission(arg: string): boolean {
  return arg === "-A" || arg === "--allow-all";
}
