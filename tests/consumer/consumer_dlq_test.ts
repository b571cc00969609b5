import assert from "node:assert/strict";
import { startBroker } from "../../lib/broker/broker_server.ts";
import { runConsumer } from "../../lib/consumer/consumer_pipeline.ts";
import { createLogger, memorySink } from "../../lib/cli/log.ts";
import { MemoryObjectStore } from "../../lib/object_store/memory_object_store.ts";
import { parseManifest } from "../../lib/lake/unit_manifest.ts";
import { testConsumerConfig } from "../_helpers/consumer_setup.ts";
import { loadRecordedEvents, produceEvents } from "../_helpers/produce_events.ts";

async function produceBinary(url: URL, values: string[]): Promise<void> {
  const records = values.map((v) => ({ value: btoa(v) }));
  const response = await fetch(new URL("topics/wikimedia-changes", url), {
    method: "POST",
    headers: {
      "content-type": "application/vnd.kafka.binary.v2+json",
      accept: "application/vnd.kafka.v2+json",
    },
    body: JSON.stringify({ records }),
  });
  assert.equal(response.status, 200, await response.text());
}

Deno.test("consumer dead-letters bad and non-JSON records with their position and moves on", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    await using broker = await startBroker({ dataDir, partitions: 1 });
    const events = await loadRecordedEvents(50);
    await produceEvents(broker.url, events.slice(0, 20));
    const noWiki = structuredClone(events[20]!);
    delete noWiki.wiki;
    const canary = structuredClone(events[21]!) as { meta: Record<string, unknown> };
    canary.meta.domain = "canary";
    await produceEvents(broker.url, [noWiki, "just a string", canary], { key: () => null });
    await produceBinary(broker.url, ["{not json"]);
    await produceEvents(broker.url, events.slice(22));
    const store = new MemoryObjectStore();
    const stats = await runConsumer(
      testConsumerConfig({ KAFKA_REST_URL: broker.url.href, CONSUMER_UNTIL_IDLE_MS: "1000" }),
      {
        log: createLogger({ sink: memorySink(), level: "error" }),
        signal: new AbortController().signal,
        store,
      },
    );
    assert.equal(stats.rowsWritten, 48);
    assert.equal(stats.dlqRecords, 3);
    assert.equal(stats.canaries, 1);
    const dlqKey = [...store.objects.keys()].find((k) => k.startsWith("_dlq/wikimedia-changes/"))!;
    const lines = new TextDecoder().decode(store.objects.get(dlqKey)!.bytes).trim().split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => [l.partition, l.offset]), [[0, 20], [0, 21], [0, 23]]);
    assert.equal(lines[0].topic, "wikimedia-changes");
    assert.match(lines[0].reason, /wiki/);
    assert.equal(lines[0].value.meta.id, (noWiki.meta as { id: string }).id);
    assert.equal(lines[1].value, "just a string");
    assert.match(lines[2].reason, /not JSON/);
    const manifestKey = [...store.objects.keys()].find((k) => k.startsWith("_manifests/"))!;
    const manifest = parseManifest(store.objects.get(manifestKey)!.bytes, manifestKey);
    assert.deepEqual(manifest.ranges, [{ partition: 0, start: 0, end: 51 }]);
    assert.equal(manifest.dlq?.count, 3);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("consumer stops loudly when most records are bad (DLQ_MAX_ERROR_RATE)", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    await using broker = await startBroker({ dataDir, partitions: 1 });
    await produceEvents(broker.url, Array.from({ length: 300 }, (_, i) => ({ n: i })), {
      key: () => null,
    });
    const store = new MemoryObjectStore();
    await assert.rejects(
      runConsumer(
        testConsumerConfig({ KAFKA_REST_URL: broker.url.href, CONSUMER_UNTIL_IDLE_MS: "1000" }),
        {
          log: createLogger({ sink: memorySink(), level: "error" }),
          signal: new AbortController().signal,
          store,
        },
      ),
      /dead-lettered \(DLQ_MAX_ERROR_RATE 0\.5\)/,
    );
    assert.equal(
      [...store.objects.keys()].filter((k) => k.startsWith("_manifests/")).length,
      0,
      "nothing committed",
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
