import assert from "node:assert/strict";
import {
  clampServerDelay,
  parseRetryAfter,
  SERVER_DELAY_MAX_MS,
  SERVER_DELAY_MIN_MS,
} from "../../lib/cli/server_delay.ts";

Deno.test("clampServerDelay() keeps a peer's delay within 0.5 s – 5 min", () => {
  assert.equal(SERVER_DELAY_MIN_MS, 500);
  assert.equal(SERVER_DELAY_MAX_MS, 300_000);
  assert.equal(clampServerDelay(3_000_000_000), 300_000);
  assert.equal(clampServerDelay(2_000_000_000), 300_000);
  assert.equal(clampServerDelay(Infinity), 300_000);
  assert.equal(clampServerDelay(0), 500);
  assert.equal(clampServerDelay(-5), 500);
  assert.equal(clampServerDelay(NaN), 500);
  assert.equal(clampServerDelay(1500), 1500);
});

Deno.test("parseRetryAfter() reads delay-seconds and the three HTTP-date forms, clamped", () => {
  const now = Date.parse("2026-11-20T10:00:00Z");
  assert.equal(parseRetryAfter("7", now), 7000);
  assert.equal(parseRetryAfter(" 120 ", now), 120_000);
  assert.equal(parseRetryAfter("0", now), 500);
  assert.equal(parseRetryAfter("99999999999999999999", now), 300_000);
  assert.equal(parseRetryAfter("Fri, 20 Nov 2026 10:00:20 GMT", now), 20_000);
  assert.equal(parseRetryAfter("Friday, 20-Nov-26 10:01:00 GMT", now), 60_000);
  assert.equal(parseRetryAfter("Fri Nov 20 10:00:30 2026", now), 30_000);
  assert.equal(parseRetryAfter("Fri, 20 Nov 2026 09:00:00 GMT", now), 500, "a date in the past");
  assert.equal(parseRetryAfter("Sat, 20 Nov 2027 10:00:00 GMT", now), 300_000);
});

Deno.test("parseRetryAfter() gives undefined for an absent or unreadable header", () => {
  for (const value of [null, "", "soon", "-1", "1.5", "2026-11-20T10:00:20Z", "Fri, garbage"]) {
    assert.equal(parseRetryAfter(value, 0), undefined, String(value));
  }
});
