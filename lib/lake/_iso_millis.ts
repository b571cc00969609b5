/**
 * Fast strict parser for the ISO-8601 instants found in `meta.dt`
 * (`2026-05-05T11:17:40.822Z`, `2018-03-07T16:16:17+00:00`). Private to the batch builder.
 *
 * @module
 */

let cachedHourKey = -1;
let cachedHourMs = 0;

function digits2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  if (a < 0 || a > 9 || b < 0 || b > 9) return -1;
  return a * 10 + b;
}

/**
 * Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM|±HHMM)` to epoch milliseconds (fraction
 * truncated to milliseconds).
 *
 * @param s the text
 * @returns epoch milliseconds, or NaN when the text is not such an instant
 */
export function parseIsoMillis(s: string): number {
  const n = s.length;
  if (n < 20) return NaN;
  const y1 = digits2(s, 0);
  const y2 = digits2(s, 2);
  const month = digits2(s, 5);
  const day = digits2(s, 8);
  const hour = digits2(s, 11);
  const minute = digits2(s, 14);
  const second = digits2(s, 17);
  if (
    y1 < 0 || y2 < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 ||
    hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 ||
    s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(13) !== 58 ||
    s.charCodeAt(16) !== 58
  ) {
    return NaN;
  }
  const t = s.charCodeAt(10);
  if (t !== 84 && t !== 116) return NaN; // 'T' or 't'
  let i = 19;
  let ms = 0;
  if (s.charCodeAt(i) === 46) { // '.'
    i++;
    let scale = 100;
    const first = i;
    for (; i < n; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      ms += d * scale;
      scale /= 10;
    }
    if (i === first) return NaN;
    ms = Math.floor(ms);
  }
  let offsetMinutes = 0;
  const z = s.charCodeAt(i);
  if (z === 90 || z === 122) { // 'Z' or 'z'
    if (i + 1 !== n) return NaN;
  } else if (z === 43 || z === 45) { // '+' or '-'
    const oh = digits2(s, i + 1);
    let om: number;
    if (s.charCodeAt(i + 3) === 58) {
      om = digits2(s, i + 4);
      if (i + 6 !== n) return NaN;
    } else {
      om = digits2(s, i + 3);
      if (i + 5 !== n) return NaN;
    }
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return NaN;
    offsetMinutes = (oh * 60 + om) * (z === 45 ? -1 : 1);
  } else {
    return NaN;
  }
  const key = ((y1 * 100 + y2) * 100 + month) * 10000 + day * 100 + hour;
  if (key !== cachedHourKey) {
    const year = y1 * 100 + y2;
    const hourMs = Date.UTC(year, month - 1, day, hour);
    const check = new Date(hourMs);
    if (check.getUTCDate() !== day || check.getUTCFullYear() !== year) return NaN;
    cachedHourKey = key;
    cachedHourMs = hourMs;
  }
  return cachedHourMs + minute * 60000 + second * 1000 + ms - offsetMinutes * 60000;
}
