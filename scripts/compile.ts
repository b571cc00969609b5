/**
 * `deno task compile`: builds `dist/wikistream-producer`, `dist/wikistream-consumer`
 * and `dist/wikistream-broker` with `deno compile`. The permission flags are
 * taken from the deno.json task that runs each program, minus `--env-file`
 * (compiling with it would embed the .env values in the binary), so the
 * binaries and the tasks cannot drift apart.
 *
 * `deno compile` downloads the Deno runtime (denort) from dl.deno.land on first
 * use; where that host is unreachable the script fails with one clear message.
 *
 * @module
 */

/** The programs that get a binary. */
export const PROGRAMS = ["producer", "consumer", "broker"] as const;

/** How a binary is built. */
export interface CompilePlan {
  /** Program name. */
  program: string;
  /** Output path. */
  output: string;
  /** Arguments for `deno`. */
  args: string[];
}

/**
 * Finds the `deno run` task of an entry file and turns it into `deno compile` arguments.
 *
 * @param tasks the `tasks` object of deno.json
 * @param program `producer`, `consumer` or `broker`
 * @returns the plan
 * @throws {Error} when no single task runs `<program>.ts`
 */
export function compilePlan(
  tasks: Record<string, string | { command: string }>,
  program: string,
): CompilePlan {
  const entry = `${program}.ts`;
  const commands = Object.values(tasks)
    .map((t) => (typeof t === "string" ? t : t.command).trim())
    .filter((c) => c.startsWith("deno run ") && c.split(/\s+/).at(-1) === entry);
  if (commands.length !== 1) {
    throw new Error(
      `Cannot plan the ${program} binary: deno.json must have exactly one task ending in "deno run … ${entry}", found ${commands.length}`,
    );
  }
  const flags = commands[0]!.split(/\s+/).slice(2, -1).filter((a) => !a.startsWith("--env-file"));
  const output = `dist/wikistream-${program}`;
  return { program, output, args: ["compile", "--output", output, ...flags, entry] };
}

function writeErr(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(text));
}

const UNREACHABLE_REGEXP = /dl\.deno\.land|dns error|error sending request|Connect|denort/i;

async function main(): Promise<number> {
  const config = JSON.parse(await Deno.readTextFile("deno.json"));
  let plans: CompilePlan[];
  try {
    plans = PROGRAMS.map((p) => compilePlan(config.tasks, p));
  } catch (error) {
    writeErr(`error: ${error instanceof Error ? error.message : error}\n`);
    return 2;
  }
  for (const plan of plans) {
    // "deno" from PATH, as the tasks use it (`--allow-run=deno` names it so).
    const out = await new Deno.Command("deno", {
      args: plan.args,
      stdout: "inherit",
      stderr: "piped",
      signal: AbortSignal.timeout(300_000),
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    if (out.success) {
      writeErr(stderr);
      continue;
    }
    const message = UNREACHABLE_REGEXP.test(stderr) && !Deno.env.get("DENORT_BIN")
      ? "error: Cannot build the binaries: deno compile needs to download the Deno runtime " +
        "(denort) from dl.deno.land, which is unreachable from this machine; run " +
        "`deno task compile` on a machine with internet access, or set DENORT_BIN to a " +
        "downloaded denort binary of the same Deno version"
      : `error: Cannot build ${plan.output}: deno ${plan.args.join(" ")} failed:\n${stderr}`;
    writeErr(message + "\n");
    return 1;
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
