/**
 * A local lake folder the operating system refuses (EACCES) is a storage failure like a full
 * disk (issue 12): the consumer, run with its task's permissions, warns with the path and the
 * OS error, waits with backoff, and fills the lake once the folder is writable again, instead
 * of stopping with a hint about Deno's `--allow-write` flags.
 *
 * As root (which `chmod` does not stop) the consumer runs under `setpriv` without
 * `CAP_DAC_OVERRIDE` (`tests/_helpers/without_dac.ts`).
 *
 * @module
 */
import assert from "node:assert/strict";
import { startBroker } from "../../lib/broker/broker_server.ts";
import { readLakeRows } from "../_helpers/consumer_setup.ts";
import { loadRecordedEvents, produceEvents } from "../_helpers/produce_events.ts";
import { programArgs } from "../_helpers/program_command.ts";
import { withoutDacOverride } from "../_helpers/without_dac.ts";

Deno.test({
  name: "consumer waits out a read-only lake folder (EACCES) with a warning and fills it once " +
    "writable",
  sanitizeResources: false, // the child's pipes are drained to their end below
  async fn() {
    const prefix = await withoutDacOverride();
    if (prefix === undefined) throw new Error("setpriv cannot drop CAP_DAC_OVERRIDE here");
    const dir = await Deno.makeTempDir({ prefix: "wikistream-eacces-" });
    const lake = `${dir}/lake`;
    try {
      await using broker = await startBroker({ dataDir: `${dir}/broker`, partitions: 2 });
      const events = await loadRecordedEvents(300);
      await produceEvents(broker.url, events);
      await Deno.mkdir(lake);
      await Deno.chmod(lake, 0o555);
      const env = {
        KAFKA_REST_URL: broker.url.href,
        OUTPUT_URL: lake,
        CONSUMER_GROUP: "eacces",
        CONSUMER_UNTIL_IDLE_MS: "1500",
        LOG_FORMAT: "json",
      };
      const command = [...prefix, Deno.execPath(), ...programArgs("consume", [], env)];
      const child = new Deno.Command(command[0]!, {
        args: command.slice(1),
        env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      let log = "";
      let madeWritable = false;
      const pump = async (stream: ReadableStream<Uint8Array>) => {
        for await (const text of stream.pipeThrough(new TextDecoderStream())) {
          log += text;
          if (!madeWritable && /lake store failing/.test(log)) {
            madeWritable = true;
            await Deno.chmod(lake, 0o755);
          }
        }
      };
      const timeout = setTimeout(() => child.kill("SIGKILL"), 60_000);
      await Promise.all([pump(child.stdout), pump(child.stderr)]);
      const status = await child.status;
      clearTimeout(timeout);

      assert.equal(status.code, 0, log.slice(-3000));
      const warning = log.split("\n").find((l) => l.includes("lake store failing"));
      assert.ok(warning, log.slice(-3000));
      const record = JSON.parse(warning);
      assert.equal(record.level, "warn");
      assert.ok(record.error.includes(lake), record.error);
      assert.match(record.error, /Permission denied \(os error 13\)/);
      assert.doesNotMatch(log, /--allow-write|unrecoverable/);
      assert.equal((await readLakeRows(lake)).length, events.length);
    } finally {
      await Deno.chmod(lake, 0o755).catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});
