/**
 * `deno task compile`: builds `dist/wikistream-producer`, `dist/wikistream-consumer`
 * and `dist/wikistream-broker` with `deno compile`. The permission flags are
 * the ones `deno task` grants each program through `lib/launcher/launch.ts`, computed by
 * the same function for the folders configured when compiling (relative to the
 * binary's working folder), and no .env value is embedded, so the binaries and
 * the tasks cannot drift apart.
 *
 * `deno compile` downloads the Deno runtime (denort) from dl.deno.land on first
 * use; where that host is unreachable the script fails with one clear message.
 *
 * @module
 */

import { planLaunch } from "../lib/launcher/launch.ts";

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
 * Turns the launcher's plan for a program into `deno compile` arguments: the same
 * permissions `deno task` grants for this environment (folders relative to the
 * binary's working folder), so set STATE_DIR, BROKER_DATA_DIR or OUTPUT_URL before
 * compiling to bake in other folders.
 *
 * @param program `producer`, `consumer` or `broker`
 * @param env the environment whose configuration decides the folders
 * @returns the plan
 */
export function compilePlan(
  program: string,
  env: Record<string, string | undefined>,
): CompilePlan {
  const run = planLaunch(program, [], env, ".").args;
  const output = `dist/wikistream-${program}`;
  return { program, output, args: ["compile", "--output", output, ...run.slice(1)] };
}

function writeErr(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(text));
}

const UNREACHABLE_REGEXP = /dl\.deno\.land|dns error|error sending request|Connect|denort/i;

async function main(): Promise<number> {
  let plans: CompilePlan[];
  try {
    plans = PROGRAMS.map((p) => compilePlan(p, Deno.env.toObject()));
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
