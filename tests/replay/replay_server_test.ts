import assert from "node:assert/strict";
import { startReplayServer } from "../../lib/replay/replay_server.ts";
import { readRecordedLines } from "../_helpers/sse_server.ts";

const FILE = "sat99496-wikistream-lakehouse_2026-02-26.ndjson";

/** Reads `count` complete frames from the stream, then cancels. */
async function readFrames(
  url: URL,
  count: number,
): Promise<{ id: string; data: string; at: number }[]> {
  const res = await fetch(url);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const frames: { id: string; data: string; at: number }[] = [];
  while (frames.length < count) {
    const r = await reader.read();
    if (r.done) break;
    buffer += r.value;
    let end: number;
    while ((end = buffer.indexOf("\n\n")) !== -1 && frames.length < count) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (block === ":ok") continue;
      const id = /^id: (.*)$/m.exec(block)![1]!;
      const data = /^data: (.*)$/m.exec(block)![1]!;
      frames.push({ id, data, at: Date.now() });
    }
  }
  await reader.cancel();
  return frames;
}

Deno.test("startReplayServer with loop serves past the last event with new meta.ids and later ids", async () => {
  const lines = await readRecordedLines(FILE, 3);
  await using server = await startReplayServer({ events: lines, loop: true });
  const frames = await readFrames(new URL("?since=0", server.url), 10);
  assert.equal(frames.length, 10);
  assert.deepEqual(frames.slice(0, 3).map((f) => f.data), lines, "round 0 is byte for byte");
  const events = frames.map((f) => JSON.parse(f.data));
  assert.equal(new Set(events.map((e) => e.meta.id)).size, 10);
  for (let i = 0; i < 10; i++) {
    const position = JSON.parse(frames[i]!.id);
    assert.equal(position[0].timestamp, Date.parse(events[i].meta.dt) + 1, "id = meta.dt + 1");
  }
  assert.ok(Date.parse(events[3].meta.dt) > Date.parse(events[2].meta.dt));
});

Deno.test("startReplayServer with a rate publishes events over time: history at once, then at the rate; no position joins live", async () => {
  const lines = await readRecordedLines(FILE, 50);
  const rate = 20; // one event per 50 ms
  await using server = await startReplayServer({ events: lines, rate });
  await new Promise((r) => setTimeout(r, 400)); // about 8 events published
  const started = Date.now();
  const history = await readFrames(new URL("?since=0", server.url), 12);
  assert.deepEqual(history.map((f) => f.data), lines.slice(0, 12));
  const published = history.filter((f) => f.at - started < 40).length;
  assert.ok(published >= 5 && published <= 11, `${published} events came at once`);
  const elapsed = history.at(-1)!.at - started;
  assert.ok(elapsed >= 100, `the events after the live end were paced (${elapsed} ms)`);
  await readFrames(server.url, 1); // no position: the live end
  const live = server.connections.at(-1)!.startIndex;
  assert.ok(live >= 12 && live <= 30, `joined live at ${live}`);
});
