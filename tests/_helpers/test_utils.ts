/**
 * Small helpers shared by test servers and harnesses.
 *
 * @module
 */

export { seededRandom } from "../../lib/replay/seeded_random.ts";

/**
 * Parses `--name value` and `--name=value` arguments of a test helper's CLI.
 *
 * @param args the command-line arguments
 * @returns the values by name
 */
export function parseCliFlags(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("--")) continue;
    const eq = a.indexOf("=");
    if (eq !== -1) out[a.slice(2, eq)] = a.slice(eq + 1);
    else out[a.slice(2)] = args[++i] ?? "";
  }
  return out;
}
