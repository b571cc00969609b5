import assert from "node:assert/strict";
import {
  type ProducerPosition,
  ProducerStateStore,
} from "../../lib/producer/producer_state_store.ts";

function position(n: number): ProducerPosition {
  return {
    lastEventId: `[{"topic":"t","partition":0,"timestamp":${n}}]`,
    lastEventTimeMs: n,
    savedAtMs: n,
  };
}

function update(added: string[], all: string[], timeMs: number) {
  return { added, timeMs, snapshot: () => ({ ids: all, timeMs }) };
}

Deno.test("ProducerStateStore ignores a torn last journal line and keeps the saved ids", async () => {
  const dir = await Deno.makeTempDir();
  const store = new ProducerStateStore({ dir });
  await store.save(position(1), update(["a", "b"], ["a", "b"], 1));
  await store.save(position(2), update(["c"], ["a", "b", "c"], 2));
  store.close();
  // A crash in the middle of the next append leaves half a line.
  await Deno.writeTextFile(store.journalPath, '{"t":3,"ids":["d","e', { append: true });
  const reopened = new ProducerStateStore({ dir });
  const state = await reopened.load();
  assert.equal(state?.lastEventId, position(2).lastEventId);
  assert.deepEqual(state?.recentIds, ["a", "b", "c"]);
  assert.deepEqual(state?.recentIdTimesMs, [1, 1, 2]);
  // The next save rewrites the journal, so the torn bytes cannot corrupt later lines.
  await reopened.save(position(4), update(["f"], ["a", "b", "c", "f"], 4));
  await reopened.save(position(5), update(["g"], ["a", "b", "c", "f", "g"], 5));
  reopened.close();
  assert.doesNotMatch(await Deno.readTextFile(store.journalPath), /"d"/);
  const again = await new ProducerStateStore({ dir }).load();
  assert.deepEqual(again?.recentIds, ["a", "b", "c", "f", "g"]);
  assert.equal(again?.lastEventTimeMs, 5);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("ProducerStateStore compacts the id journal once it grows past its limit", async () => {
  const dir = await Deno.makeTempDir();
  const store = new ProducerStateStore({ dir, journalMaxBytes: 200 });
  const all: string[] = [];
  for (let i = 0; i < 40; i++) {
    const id = `id-${String(i).padStart(4, "0")}`;
    all.push(id);
    // The snapshot keeps only the last 5 ids, as the pipeline keeps only a window.
    await store.save(position(i), update([id], all.slice(-5), i));
  }
  store.close();
  const text = await Deno.readTextFile(store.journalPath);
  assert.ok(text.length < 400, `journal not compacted: ${text.length} bytes`);
  const state = await new ProducerStateStore({ dir }).load();
  assert.deepEqual(state?.recentIds.slice(-5), all.slice(-5));
  assert.ok(!state?.recentIds.includes("id-0000"));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("ProducerStateStore loads a state file of the previous format with recentIds", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/state.json`,
    JSON.stringify({ ...position(7), recentIds: ["x", "y"] }),
  );
  const state = await new ProducerStateStore({ dir }).load();
  assert.deepEqual(state?.recentIds, ["x", "y"]);
  assert.deepEqual(state?.recentIdTimesMs, [7, 7]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("ProducerStateStore rejects a corrupt complete journal line", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/state.json`, JSON.stringify(position(1)));
  await Deno.writeTextFile(`${dir}/recent-ids.ndjson`, 'garbage\n{"t":1,"ids":["a"]}\n');
  await assert.rejects(new ProducerStateStore({ dir }).load(), SyntaxError);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("ProducerStateStore takes the position from the journal's last line; state.json is its readable copy", async () => {
  const dir = await Deno.makeTempDir();
  const store = new ProducerStateStore({ dir });
  await store.save(position(1), update(["a"], ["a"], 1));
  await store.save(position(2), update(["b"], ["a", "b"], 2));
  await store.save(position(3), update([], ["a", "b"], 3));
  store.close(); // as after a crash: no finish()
  const stateFile = JSON.parse(await Deno.readTextFile(`${dir}/state.json`));
  assert.equal(stateFile.lastEventTimeMs, 1, "written at the first save's compaction only");
  const state = await new ProducerStateStore({ dir }).load();
  assert.equal(state?.lastEventId, position(3).lastEventId);
  assert.deepEqual(state?.recentIds, ["a", "b"]);
  // finish() refreshes the readable copy.
  const next = new ProducerStateStore({ dir });
  await next.save(position(4), update(["c"], ["a", "b", "c"], 4));
  await next.finish();
  assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/state.json`)).lastEventTimeMs, 4);
  await Deno.remove(dir, { recursive: true });
});
