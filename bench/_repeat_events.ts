/**
 * Repeats a recording to any length with unique `meta.id`s and a `meta.dt` that
 * moves forward by one minute per repetition, by text substitution only.
 *
 * @module
 */

const META_ID_REGEXP = /"id":"([0-9a-f-]{36})"/;
const DT_REGEXP = /"dt":"([^"]+)"/;

/**
 * The i-th line of the repeated recording.
 *
 * @param base the recorded lines (compact JSON, 2026 envelope)
 * @param i the index
 * @returns the line and its event time
 */
export function repeatedLine(base: readonly string[], i: number): { line: string; timeMs: number } {
  const round = Math.floor(i / base.length);
  let line = base[i % base.length]!;
  const dt = DT_REGEXP.exec(line)![1]!;
  const timeMs = Date.parse(dt) + round * 60_000;
  if (round > 0) {
    const round8 = round.toString(16).padStart(8, "0");
    line = line.replace(META_ID_REGEXP, (_m, id: string) => `"id":"${round8}${id.slice(8)}"`)
      .replace(DT_REGEXP, `"dt":"${new Date(timeMs).toISOString()}"`);
  }
  return { line, timeMs };
}
