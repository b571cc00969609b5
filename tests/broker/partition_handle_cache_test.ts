import assert from "node:assert/strict";
import { type Closable, PartitionHandleCache } from "../../lib/broker/partition_handle_cache.ts";

class FakeHandle implements Closable {
  closed = false;
  constructor(readonly name: string, readonly log: string[]) {
    log.push(`open ${name}`);
  }
  close(): void {
    this.closed = true;
    this.log.push(`close ${this.name}`);
  }
}

function opener(name: string, log: string[]): () => Promise<FakeHandle> {
  return () => Promise.resolve(new FakeHandle(name, log));
}

Deno.test("PartitionHandleCache opens on first use, reuses open handles and closes the least recently used idle entry", async () => {
  const log: string[] = [];
  const cache = new PartitionHandleCache(2);
  const [a, b, c] = [{}, {}, {}];
  {
    using _a = await cache.acquire(a, opener("a", log));
  }
  {
    using _b = await cache.acquire(b, opener("b", log));
  }
  {
    using _a = await cache.acquire(a, opener("a", log)); // a is now the most recently used
  }
  {
    using _c = await cache.acquire(c, opener("c", log));
  }
  assert.deepEqual(log, ["open a", "open b", "close b", "open c"]);
  assert.deepEqual(cache.stats(), { open: 2, capacity: 2, opened: 3, evicted: 1 });
});

Deno.test("PartitionHandleCache waits while every entry is in use and never opens more than its capacity", async () => {
  const log: string[] = [];
  const cache = new PartitionHandleCache(1);
  const [a, b] = [{}, {}];
  const leaseA = await cache.acquire(a, opener("a", log));
  let gotB = false;
  const waiting = cache.acquire(b, opener("b", log)).then((lease) => {
    gotB = true;
    return lease;
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(gotB, false);
  assert.deepEqual(log, ["open a"]);
  leaseA[Symbol.dispose]();
  const leaseB = await waiting;
  assert.deepEqual(log, ["open a", "close a", "open b"]);
  assert.equal(cache.stats().open, 1);
  leaseB[Symbol.dispose]();
});

Deno.test("PartitionHandleCache does not keep an entry whose open failed, and evict closes after the last lease", async () => {
  const log: string[] = [];
  const cache = new PartitionHandleCache(2);
  const a = {};
  await assert.rejects(
    cache.acquire(a, () => Promise.reject(new Error("Too many open files (os error 24)"))),
    /Too many open files/,
  );
  assert.equal(cache.stats().open, 0);
  const lease = await cache.acquire(a, opener("a", log));
  cache.evict(a);
  assert.deepEqual(log, ["open a"], "still in use");
  lease[Symbol.dispose]();
  assert.deepEqual(log, ["open a", "close a"]);
  assert.equal(cache.stats().open, 0);
  assert.throws(() => new PartitionHandleCache(0), RangeError);
});
