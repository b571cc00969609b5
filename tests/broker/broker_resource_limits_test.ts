import assert from "node:assert/strict";
import { brokerMetrics } from "../../lib/broker/broker_metrics.ts";
import { resolveBrokerLimits } from "../../lib/broker/broker_limits.ts";
import { PartitionHandleCache } from "../../lib/broker/partition_handle_cache.ts";
import { PartitionLog } from "../../lib/broker/partition_log.ts";
import { TopicStore } from "../../lib/broker/topic_store.ts";
import {
  call,
  createConsumer,
  produceJson,
  readRecords,
  startTestBroker,
  V2,
} from "../_helpers/broker_http.ts";

async function openDescriptors(): Promise<number> {
  let n = 0;
  for await (const _ of Deno.readDir("/proc/self/fd")) n++;
  return n;
}

async function topicDirs(dataDir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(`${dataDir}/topics`)) names.push(e.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

Deno.test("broker refuses a topic past maxTopics with 400 40002 and leaves no directory for it", async () => {
  await using tb = await startTestBroker({ maxTopics: 3 });
  for (const t of ["a", "b", "c"]) {
    assert.equal((await produceJson(tb, t, [{ value: 1 }])).status, 200);
  }
  const refused = await produceJson(tb, "d", [{ value: 1 }]);
  assert.equal(refused.status, 400);
  assert.deepEqual(refused.body, {
    error_code: 40002,
    message: 'Cannot create topic "d": the broker has 3 topics, its limit (BROKER_MAX_TOPICS) is 3',
  });
  assert.deepEqual(await topicDirs(tb.dataDir), ["a", "b", "c"]);
  assert.deepEqual((await call(tb.url("/topics"), { headers: { accept: V2 } })).body, [
    "a",
    "b",
    "c",
  ]);
  // existing topics still take records
  assert.equal((await produceJson(tb, "a", [{ value: 2 }])).status, 200);
  assert.equal(tb.broker.stats().refused.topics, 1);
});

Deno.test("broker refuses a topic that would pass maxPartitions with 400 40002", async () => {
  await using tb = await startTestBroker({ maxPartitions: 7, partitions: 3 });
  assert.equal((await produceJson(tb, "a", [{ value: 1 }])).status, 200);
  assert.equal((await produceJson(tb, "b", [{ value: 1 }])).status, 200);
  const refused = await produceJson(tb, "c", [{ value: 1 }]);
  assert.equal(refused.status, 400);
  assert.deepEqual(refused.body, {
    error_code: 40002,
    message: 'Cannot create topic "c" with 3 partitions: the broker has 6 partitions, its ' +
      "limit (BROKER_MAX_PARTITIONS) is 7",
  });
  assert.deepEqual(await topicDirs(tb.dataDir), ["a", "b"]);
  assert.equal(tb.broker.stats().refused.partitions, 1);
});

Deno.test("broker descriptors do not grow with topics: partition files are opened through a bounded cache", async () => {
  await using tb = await startTestBroker({ maxOpenPartitions: 4 });
  assert.equal((await produceJson(tb, "warm-up", [{ value: 1 }])).status, 200);
  const before = await openDescriptors();
  for (let i = 0; i < 150; i++) {
    const res = await produceJson(tb, `flood-${i}`, [{ key: i, value: i }]);
    assert.equal(res.status, 200);
  }
  const after = await openDescriptors();
  // 150 topics × 3 partitions kept 900 descriptors open before; now at most 4 × 2 stay open
  assert.ok(after - before <= 8, `descriptors grew from ${before} to ${after}`);
  assert.ok(tb.broker.stats().openPartitionFiles <= 4);
  // a partition whose files were closed reads back what it holds
  await createConsumer(tb, "g", { name: "c", format: "json", "auto.offset.reset": "earliest" });
  const sub = await call(tb.url("/consumers/g/instances/c/subscription"), {
    method: "POST",
    headers: { "content-type": V2 },
    body: { topics: ["flood-0"] },
  });
  assert.equal(sub.status, 204);
  let values: unknown[] = [];
  for (let i = 0; i < 10 && values.length === 0; i++) {
    values = (await readRecords(tb, "g", "c")).body.map((r: { value: unknown }) => r.value);
  }
  assert.deepEqual(values, [0]);
});

Deno.test("TopicStore removes the directory of a topic whose creation fails halfway", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "topic_fail_" });
  let failNext = false;
  const store = await TopicStore.open(dataDir, {
    handles: new PartitionHandleCache(4),
    openPartition: (path, options) => {
      if (failNext && path.endsWith("/2.log")) {
        return Promise.reject(
          Object.assign(new Error("Too many open files (os error 24)"), { code: "EMFILE" }),
        );
      }
      return PartitionLog.open(path, options);
    },
  });
  try {
    failNext = true;
    await assert.rejects(store.getOrCreate("half", 3), /Too many open files/);
    assert.deepEqual(await topicDirs(dataDir), []);
    assert.equal(store.get("half"), undefined);
    failNext = false;
    const topic = await store.getOrCreate("half", 3);
    assert.equal(topic.partitions.length, 3);
    assert.deepEqual(await topicDirs(dataDir), ["half"]);
    await store.close();
    // a restart knows the topic once, from its one registration
    const reopened = await TopicStore.open(dataDir);
    assert.deepEqual(reopened.names(), ["half"]);
    await reopened.close();
  } finally {
    await store.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("broker answers 429 42901 past maxInstancesPerGroup and maxInstances, until one leaves", async () => {
  await using tb = await startTestBroker({ maxInstancesPerGroup: 2, maxInstances: 3 });
  assert.equal((await createConsumer(tb, "g1", { name: "a" })).status, 200);
  assert.equal((await createConsumer(tb, "g1", { name: "b" })).status, 200);
  const perGroup = await createConsumer(tb, "g1", { name: "c" });
  assert.equal(perGroup.status, 429);
  assert.deepEqual(perGroup.body, {
    error_code: 42901,
    message: 'Cannot create a consumer instance in group "g1": it has 2 instances, the limit ' +
      "(BROKER_MAX_INSTANCES_PER_GROUP) is 2; delete one or wait for an idle one to expire",
  });
  assert.equal((await createConsumer(tb, "g2", { name: "a" })).status, 200);
  const total = await createConsumer(tb, "g3", { name: "a" });
  assert.equal(total.status, 429);
  assert.deepEqual(total.body, {
    error_code: 42901,
    message: "Cannot create a consumer instance: the broker has 3 instances, the limit " +
      "(BROKER_MAX_INSTANCES) is 3; delete one or wait for an idle one to expire",
  });
  const deleted = await call(tb.url("/consumers/g1/instances/a"), {
    method: "DELETE",
    headers: { "content-type": V2 },
  });
  assert.equal(deleted.status, 204);
  assert.equal((await createConsumer(tb, "g3", { name: "a" })).status, 200);
  const stats = tb.broker.stats();
  assert.equal(stats.refused.group_instances, 1);
  assert.equal(stats.refused.instances, 1);
});

Deno.test("broker metrics count refusals by reason and show connections, open files and held bytes", async () => {
  await using tb = await startTestBroker({ maxTopics: 1 });
  await produceJson(tb, "a", [{ value: 1 }]);
  await produceJson(tb, "b", [{ value: 1 }]);
  const { registry } = brokerMetrics({ stats: () => tb.broker.stats() });
  const text = registry.render();
  assert.match(text, /^wikistream_broker_refused_total\{reason="topics"\} 1$/m);
  assert.match(text, /^wikistream_broker_refused_total\{reason="connections"\} 0$/m);
  assert.match(text, /^wikistream_broker_accept_errors_total 0$/m);
  assert.match(text, /^wikistream_broker_connections \d+$/m);
  assert.match(text, /^wikistream_broker_open_partition_files [1-9]\d*$/m);
  assert.match(text, /^wikistream_broker_buffered_body_bytes 0$/m);
});

Deno.test("resolveBrokerLimits applies defaults and rejects nonsense limits", () => {
  assert.equal(resolveBrokerLimits({}).maxConnections, 512);
  assert.throws(
    () => resolveBrokerLimits({ maxTopics: 0 }),
    new RangeError(
      "Cannot start the broker as 'maxTopics' must be a positive integer: current value is 0",
    ),
  );
  assert.throws(
    () => resolveBrokerLimits({ maxBodyBytes: 10, maxBufferedBytes: 5 }),
    new RangeError(
      "Cannot start the broker as 'maxBufferedBytes' must be at least 'maxBodyBytes': " +
        "current values are 5 and 10",
    ),
  );
});
