import assert from "node:assert/strict";
import { type ProduceBatch, ProduceBatcher } from "../../lib/producer/produce_batcher.ts";

function rec(i: number) {
  const value = new TextEncoder().encode(`{"i":${i}}`);
  return { key: undefined, value, metaId: `m${i}`, eventTimeMs: i, sseId: `s${i}` };
}

Deno.test("ProduceBatcher makes the caller wait when the queue and in-flight slots are full", async () => {
  const releases: (() => void)[] = [];
  const committed: number[] = [];
  const batcher = new ProduceBatcher({
    maxRecords: 2,
    maxBytes: 1_000_000,
    lingerMs: 10,
    maxInFlight: 1,
    queueMaxBatches: 1,
    send: () => new Promise<void>((resolve) => releases.push(resolve)),
    commit: (batches: ProduceBatch[]) => {
      committed.push(...batches.map((b) => b.seq));
      return Promise.resolve();
    },
  });
  let waits = 0;
  for (let i = 0; i < 6; i++) {
    const w = batcher.add(rec(i));
    if (w) {
      waits++;
      // Let the sender finish one batch so the reader can go on.
      while (releases.length === 0) await new Promise((r) => setTimeout(r, 1));
      releases.shift()!();
      await w;
    }
  }
  assert.ok(waits > 0, "the reader was paused");
  const closing = batcher.close();
  while (committed.length < 3) {
    await new Promise((r) => setTimeout(r, 1));
    releases.shift()?.();
  }
  await closing;
  assert.deepEqual(committed, [0, 1, 2]);
});

Deno.test("ProduceBatcher commits in sequence order even when later batches finish first", async () => {
  const pending = new Map<number, () => void>();
  const committed: number[] = [];
  const batcher = new ProduceBatcher({
    maxRecords: 1,
    maxBytes: 1_000_000,
    lingerMs: 10,
    maxInFlight: 3,
    queueMaxBatches: 3,
    send: (b) => new Promise<void>((resolve) => pending.set(b.seq, resolve)),
    commit: (batches) => {
      committed.push(...batches.map((b) => b.seq));
      return Promise.resolve();
    },
  });
  for (let i = 0; i < 3; i++) await batcher.add(rec(i));
  while (pending.size < 3) await new Promise((r) => setTimeout(r, 1));
  pending.get(2)!();
  pending.get(1)!();
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(committed, [], "nothing commits past the unacknowledged batch 0");
  pending.get(0)!();
  await batcher.close();
  assert.deepEqual(committed, [0, 1, 2]);
});

Deno.test("ProduceBatcher sends a record bigger than maxBytes alone, between its neighbours", async () => {
  const sent: string[][] = [];
  const batcher = new ProduceBatcher({
    maxRecords: 100,
    maxBytes: 1000,
    lingerMs: 10,
    maxInFlight: 1,
    queueMaxBatches: 4,
    send: (batch) => {
      sent.push(batch.records.map((r) => r.metaId));
      return Promise.resolve();
    },
    commit: () => Promise.resolve(),
  });
  const big = {
    ...rec(2),
    value: new TextEncoder().encode(JSON.stringify({ comment: "x".repeat(5000) })),
  };
  for (const r of [rec(0), rec(1), big, rec(3)]) await batcher.add(r);
  await batcher.close();
  assert.deepEqual(sent, [["m0", "m1"], ["m2"], ["m3"]]);
});
