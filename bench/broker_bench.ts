/**
 * Throughput of the local broker over real HTTP on recorded events:
 * `deno bench -A bench/broker_bench.ts`. Each iteration produces 10 batches of 500 events
 * (json format, keyed by meta.id; one fsync per partition per batch), and the consume
 * bench reads 5000 events back through a json consumer with max_bytes 8 MiB.
 *
 * @module
 */
import { startBroker } from "../lib/broker/broker_server.ts";

const dir = new URL("../../shared/data/recentchange/", import.meta.url);
const text = await Deno.readTextFile(new URL("6rzan-real-time-system_2026-05-05.ndjson", dir));
const events = text.split("\n").filter((l) => l.trim() !== "").slice(0, 500).map((l) =>
  JSON.parse(l)
);
const body = JSON.stringify({
  records: events.map((e) => ({ key: e.meta.id, value: e })),
});
const dataDir = await Deno.makeTempDir({ prefix: "broker_bench_" });
const broker = await startBroker({ dataDir });
const JSON_TYPE = "application/vnd.kafka.json.v2+json";
let group = 0;

async function produceBatches(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await fetch(new URL("topics/bench", broker.url), {
      method: "POST",
      headers: { "content-type": JSON_TYPE },
      body,
    });
    await res.arrayBuffer();
  }
}

Deno.bench("produce 5000 events (10 POSTs of 500, ~700 KB each)", async () => {
  await produceBatches(10);
});

Deno.bench("consume 5000 events (json, max_bytes 8 MiB)", async (b) => {
  await produceBatches(10);
  const base = new URL(`consumers/bench-${group++}/`, broker.url);
  const v2 = { "content-type": "application/vnd.kafka.v2+json" };
  const created = await fetch(base, {
    method: "POST",
    headers: v2,
    body: JSON.stringify({
      name: "c",
      format: "json",
      "auto.offset.reset": "earliest",
      "fetch.min.bytes": 1,
    }),
  }).then((r) => r.json());
  await fetch(`${created.base_uri}/assignments`, {
    method: "POST",
    headers: v2,
    body: JSON.stringify({ partitions: [0, 1, 2].map((p) => ({ topic: "bench", partition: p })) }),
  }).then((r) => r.arrayBuffer());
  b.start();
  let got = 0;
  while (got < 5000) {
    const res = await fetch(`${created.base_uri}/records?max_bytes=8388608`, {
      headers: { accept: JSON_TYPE },
    });
    got += (await res.json()).length;
  }
  b.end();
  await fetch(created.base_uri, { method: "DELETE" }).then((r) => r.arrayBuffer());
});

// deno bench has no afterAll: remove the temporary data directory when the process ends
globalThis.addEventListener("unload", () => Deno.removeSync(dataDir, { recursive: true }));
