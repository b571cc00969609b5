import assert from "node:assert/strict";
import { checkLakeAgainstInput, selectRecordedEvents } from "../_helpers/e2e_events.ts";
import { PipelineHarness } from "../_helpers/pipeline_harness.ts";

Deno.test({
  name: "pipeline of separate processes (SSE server → producer → broker → consumer → s3rver) " +
    "puts every recorded event in the lake exactly once with identical values",
  async fn() {
    const events = await selectRecordedEvents({
      editgroups: 6,
      sat99496: 1,
      rzan: 2,
      pageledger: 4,
    });
    assert.ok(events.length >= 2000 && events.length <= 4000, `${events.length} events`);
    const h = await PipelineHarness.create({ events });
    let ok = false;
    try {
      await Promise.all([h.startS3(), h.startBroker(), h.startSse({ cutEvery: 700 })]);
      const producer = await h.startProducer([
        "--since",
        "2000-01-01T00:00:00Z",
        "--max-events",
        String(events.length),
      ], { PRODUCE_BATCH_MAX_RECORDS: "200" });
      // the consumer runs alongside; --until-idle may end it early while the producer
      // starts, so it is started again until the producer is done and the topic is idle
      let consumerRuns = 0;
      let producerDone = false;
      const producerExit = producer.status.then((s) => {
        producerDone = true;
        return s;
      });
      for (;;) {
        const finishedBefore = producerDone;
        consumerRuns++;
        const consumer = await h.startConsumer(["--until-idle", "2500"], {
          FLUSH_MAX_ROWS: "1000",
          FLUSH_INTERVAL_MS: "1500",
        });
        const status = await consumer.status;
        assert.equal(status.code, 0, `consumer failed:\n${consumer.tail}`);
        if (finishedBefore) break;
        assert.ok(consumerRuns < 10, "the consumer keeps going idle while the producer runs");
      }
      const pStatus = await producerExit;
      assert.equal(pStatus.code, 0, `producer failed:\n${producer.tail}`);
      assert.match(producer.tail, /reached --max-events/);

      const verify = await h.runVerify();
      assert.equal(verify.code, 0, `verify found problems:\n${verify.output}`);

      const download = `${h.root}/download`;
      const keys = await h.downloadLake(download);
      assert.ok(keys.some((k) => k.startsWith("_manifests/")), "no manifests in the lake");
      assert.ok(!keys.some((k) => k.startsWith("_dlq/")), "recorded events were dead-lettered");
      assert.ok(
        keys.filter((k) => k.endsWith(".parquet")).every((k) =>
          /^wikimedia-changes\/date=\d{4}-\d\d-\d\d\/hour=\d\d\/[^/]+\.parquet$/.test(k)
        ),
        "a data file outside the Hive layout",
      );
      const summary = await checkLakeAgainstInput(download, events);
      assert.equal(summary.rows, events.length);
      ok = true;
    } finally {
      // deno-lint-ignore no-console
      if (!ok) console.error(await h.logTails());
      await h.close();
    }
  },
});
