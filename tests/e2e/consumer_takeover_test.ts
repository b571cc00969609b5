/**
 * Fast takeover with stable instance names, with real processes run by their task's flags: a
 * consumer SIGKILLed while it holds the topic's partition leaves its instance in the group
 * until the proxy expires it (here 300 s, Confluent's default). A consumer started under
 * another name gets nothing in that time (the dead instance keeps the partition); restarted under its own `CONSUMER_INSTANCE_ID`, it deletes
 * the dead instance, gets the partitions at once and completes the lake.
 */
import assert from "node:assert/strict";
import { spawnBroker } from "../_helpers/broker_process.ts";
import { assertNoDuplicates, readLakeRows } from "../_helpers/consumer_setup.ts";
import { loadRecordedEvents, produceEvents } from "../_helpers/produce_events.ts";
import { spawnTaskProgram } from "../_helpers/program_command.ts";

function consumerEnv(brokerUrl: URL, lake: string, id: string): Record<string, string> {
  return {
    KAFKA_REST_URL: brokerUrl.href,
    OUTPUT_URL: lake,
    CONSUMER_INSTANCE_ID: id,
    FLUSH_MAX_ROWS: "200",
    CONSUMER_MAX_BYTES: "131072",
    PROGRESS_INTERVAL_MS: "0",
    LOG_LEVEL: "info",
    LOG_FORMAT: "json",
  };
}

function consume(env: Record<string, string>, args: string[] = []): Deno.ChildProcess {
  return spawnTaskProgram("consume", args, env);
}

Deno.test({
  name: "a consumer restarted under its CONSUMER_INSTANCE_ID after SIGKILL takes its dead " +
    "instance's partitions at once, instead of after the proxy's 300 s instance expiry",
  sanitizeResources: false,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "wikistream-takeover-broker-" });
    const lake = await Deno.makeTempDir({ prefix: "wikistream-takeover-lake-" });
    const broker = await spawnBroker({
      dataDir,
      // one partition: the range assignor gives it to "lake-1", dead or alive, before "lake-2"
      extraArgs: ["--partitions", "1", "--instance-timeout-ms", "300000"],
    });
    try {
      const events = await loadRecordedEvents(3000);
      await produceEvents(broker.url, events.slice(0, 1500));
      // the first run holds every partition and is killed once a unit is in the lake
      const first = consume({
        ...consumerEnv(broker.url, lake, "lake-1"),
        WIKISTREAM_TEST_PAUSE_AT: "after-upload:400",
      });
      const firstLog = first.stderr.pipeThrough(new TextDecoderStream());
      for await (const chunk of firstLog) if (chunk.includes('"unit committed"')) break;
      first.kill("SIGKILL");
      await first.status;
      await produceEvents(broker.url, events.slice(1500));

      // another name: the dead instance still holds every partition, nothing arrives
      const other = consume(consumerEnv(broker.url, lake, "lake-2"), ["--until-idle", "3000"]);
      const [otherStatus, otherText] = await Promise.all([
        other.status,
        new Response(other.stderr).text(),
      ]);
      assert.equal(otherStatus.code, 0, otherText);
      assert.ok(!otherText.includes('"partition taken on"'), otherText.slice(-2000));

      // its own name: the dead instance is deleted and the partitions come at once
      const started = performance.now();
      const again = consume(consumerEnv(broker.url, lake, "lake-1"), ["--until-idle", "2000"]);
      const [status, text] = await Promise.all([again.status, new Response(again.stderr).text()]);
      const seconds = (performance.now() - started) / 1000;
      assert.equal(status.code, 0, text);
      assert.match(text, /held by a dead instance: taking it back/);
      const rows = await readLakeRows(lake);
      assertNoDuplicates(rows);
      assert.equal(rows.length, events.length, "the restarted consumer completed the lake");
      // start-up, catch-up of 3,000 events and the 2 s idle wait, far below the 300 s expiry
      assert.ok(seconds < 30, `took ${seconds.toFixed(1)} s`);
      // deno-lint-ignore no-console
      console.log(`takeover run: ${seconds.toFixed(1)} s including the 2 s idle wait`);
    } finally {
      await broker.kill("SIGKILL").catch(() => {});
      await Deno.remove(dataDir, { recursive: true });
      await Deno.remove(lake, { recursive: true });
    }
  },
});
