/**
 * Small helpers shared by test servers and harnesses.
 *
 * @module
 */

/**
 * A seeded pseudo-random generator (mulberry32), so a failing run can be reproduced.
 *
 * @param seed any 32-bit integer
 * @returns a function giving numbers in [0, 1)
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
