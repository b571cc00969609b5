import assert from "node:assert/strict";
import { delay } from "../../lib/cli/delay.ts";

Deno.test("delay() longer than setTimeout's 2^31-1 ms limit does not fire early", async () => {
  // setTimeout turns 3_000_000_000 ms into 1 ms: the hot loop of issue 12's `retry:` finding
  const stop = new AbortController();
  let fired = false;
  const waiting = delay(3_000_000_000, stop.signal).then(() => (fired = true), () => {});
  await new Promise((r) => setTimeout(r, 50));
  stop.abort();
  await waiting;
  assert.equal(fired, false);
});

Deno.test("delay() resolves after a short wait and rejects with the reason on abort", async () => {
  await delay(1);
  const stop = new AbortController();
  const waiting = delay(60_000, stop.signal);
  stop.abort(new Error("stop"));
  await assert.rejects(waiting, Error, "stop");
});
