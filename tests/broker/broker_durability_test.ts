import assert from "node:assert/strict";
import { spawnBroker } from "../_helpers/broker_process.ts";
import {
  call,
  createConsumer,
  instancePost,
  produceJson,
  readRecords,
  recordedEvents,
  startTestBroker,
  type TestBroker,
  V2,
  V2_JSON_EMBEDDED,
} from "../_helpers/broker_http.ts";

function asTestBroker(url: URL): TestBroker {
  return {
    // only url() is used by the helpers
    broker: undefined as never,
    dataDir: "",
    url: (path) => new URL(path.replace(/^\//, ""), url),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}

Deno.test("broker killed with SIGKILL keeps every acknowledged record and committed offset", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "broker_kill_" });
  try {
    const events = await recordedEvents(200);
    const first = await spawnBroker({ dataDir });
    let produced;
    try {
      const tb = asTestBroker(first.url);
      produced = await produceJson(
        tb,
        "wikimedia-changes",
        events.map((e) => ({ key: (e.meta as { id: string }).id, value: e })),
      );
      assert.equal(produced.status, 200);
      await createConsumer(tb, "g", { name: "c", format: "json", "auto.commit.enable": "false" });
      const commit = await instancePost(tb, "g", "c", "offsets", {
        offsets: [{ topic: "wikimedia-changes", partition: 0, offset: 9 }],
      });
      assert.equal(commit.status, 200);
    } finally {
      const status = await first.kill("SIGKILL");
      assert.equal(status.signal, "SIGKILL");
    }
    const second = await spawnBroker({ dataDir });
    try {
      const tb = asTestBroker(second.url);
      // instances are in memory only: gone after the restart
      assert.equal((await readRecords(tb, "g", "c")).body.error_code, 40403);
      let total = 0;
      for (let p = 0; p < 3; p++) {
        const o = await call(tb.url(`/topics/wikimedia-changes/partitions/${p}/offsets`));
        total += o.body.end_offset;
      }
      assert.equal(total, events.length);
      await createConsumer(tb, "g", {
        name: "d",
        format: "json",
        "auto.commit.enable": "false",
        "consumer.request.timeout.ms": 200,
      });
      await instancePost(tb, "g", "d", "assignments", {
        partitions: [{ topic: "wikimedia-changes", partition: 0 }],
      });
      const got = await readRecords(tb, "g", "d", V2_JSON_EMBEDDED);
      const want = events.filter((_, i) => produced.body.offsets[i].partition === 0).slice(10);
      assert.deepEqual(got.body.map((r: { value: unknown }) => r.value), want);
      assert.equal(got.body[0].offset, 10, "resumes at committed offset 9 + 1");
    } finally {
      const status = await second.kill("SIGTERM");
      assert.equal(status.success, true, "SIGTERM stops the broker cleanly");
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("broker truncates a torn last frame on restart and never serves it", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "broker_torn_" });
  try {
    {
      await using tb = await startTestBroker({ dataDir });
      const r = await produceJson(tb, "t", [1, 2, 3].map((v) => ({ value: v, partition: 0 })));
      assert.equal(r.status, 200);
    }
    // a crash mid-write: a frame header promising 1000 bytes followed by a few bytes
    const logPath = `${dataDir}/topics/t/0.log`;
    const sizeBefore = (await Deno.stat(logPath)).size;
    const garbage = new Uint8Array([0, 0, 3, 232, 1, 2, 3, 4, 5, 6, 7]);
    await Deno.writeFile(logPath, garbage, { append: true });
    await Deno.writeFile(`${dataDir}/offsets.log`, new Uint8Array([0, 0, 0, 9, 0xde, 0xad]), {
      append: true,
    });
    {
      await using tb = await startTestBroker({ dataDir });
      assert.equal((await Deno.stat(logPath)).size, sizeBefore, "torn tail truncated");
      const offsets = await call(tb.url("/topics/t/partitions/0/offsets"));
      assert.deepEqual(offsets.body, { beginning_offset: 0, end_offset: 3 });
      const next = await produceJson(tb, "t", [{ value: 4, partition: 0 }]);
      assert.equal(next.body.offsets[0].offset, 3);
      await createConsumer(tb, "g", {
        name: "c",
        format: "json",
        "auto.offset.reset": "earliest",
        "consumer.request.timeout.ms": 100,
      });
      await instancePost(tb, "g", "c", "subscription", { topics: ["t"] });
      const got = await readRecords(tb, "g", "c");
      assert.deepEqual(got.body.map((r: { value: number }) => r.value), [1, 2, 3, 4]);
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("broker detects a corrupt frame by its CRC and drops it and everything after", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "broker_crc_" });
  try {
    {
      await using tb = await startTestBroker({ dataDir });
      await produceJson(tb, "t", [{ value: "aaaa", partition: 1 }]);
      await produceJson(tb, "t", [{ value: "bbbb", partition: 1 }]);
    }
    const logPath = `${dataDir}/topics/t/1.log`;
    const bytes = await Deno.readFile(logPath);
    bytes[bytes.length - 2] ^= 0xff; // flip a byte inside the last record's value
    await Deno.writeFile(logPath, bytes);
    await using tb = await startTestBroker({ dataDir });
    const offsets = await call(tb.url("/topics/t/partitions/1/offsets"), {
      headers: { accept: V2 },
    });
    assert.deepEqual(offsets.body, { beginning_offset: 0, end_offset: 1 });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
