import assert from "node:assert/strict";
import { readReplayEvents } from "../../lib/replay/replay_events.ts";

const SAMPLE = new URL("../../samples/recentchange-sample.ndjson.gz", import.meta.url).pathname;

async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("readReplayEvents reads plain and gzip NDJSON alike, skipping blank lines and CRs", async () => {
  const text = '{"a":1}\r\n\n{"b":2}\n';
  const files: Record<string, Uint8Array> = {
    "plain.ndjson": new TextEncoder().encode(text),
    "packed.bin": await gzip(text),
  };
  const readFile = (p: string) => Promise.resolve(files[p]!);
  assert.deepEqual(await readReplayEvents(["plain.ndjson", "packed.bin"], { readFile }), [
    '{"a":1}',
    '{"b":2}',
    '{"a":1}',
    '{"b":2}',
  ]);
});

Deno.test("readReplayEvents names the file and line of a non-JSON line without quoting it", async () => {
  const readFile = () => Promise.resolve(new TextEncoder().encode('{"a":1}\nSECRET=hunter2\n'));
  await assert.rejects(
    readReplayEvents([".env"], { readFile }),
    (e: unknown) =>
      e instanceof SyntaxError &&
      e.message ===
        'Cannot read events from ".env": line 2 is not a JSON object; a replay file is NDJSON ' +
          "with one recentchange event per line",
  );
  await assert.rejects(
    readReplayEvents(["empty"], { readFile: () => Promise.resolve(new Uint8Array()) }),
    /the file holds no event/,
  );
});

Deno.test("the shipped sample holds 2476 recentchange events, under 1 MB compressed", async () => {
  assert.ok((await Deno.stat(SAMPLE)).size < 1_000_000);
  const events = await readReplayEvents([SAMPLE]);
  assert.equal(events.length, 2476);
  const types = new Set(events.map((e) => JSON.parse(e).type));
  assert.deepEqual([...types].sort(), ["categorize", "edit", "log", "new"]);
  assert.equal(new Set(events.map((e) => JSON.parse(e).meta.id)).size, 2476);
});
