import assert from "node:assert/strict";
import { checkLakeAgainstInput, selectRecordedEvents } from "../_helpers/e2e_events.ts";
import {
  type ManagedProcess,
  PipelineHarness,
  readProducerState,
  waitUntil,
} from "../_helpers/pipeline_harness.ts";
import { seededRandom } from "../_helpers/test_utils.ts";

/** Seed of the fault schedule; `CHAOS_SEED=123 deno test -A tests/e2e/chaos_test.ts`. */
const SEED = Number(Deno.env.get("CHAOS_SEED") ?? "20261130");

type FaultKind =
  | "kill-producer"
  | "kill-consumer"
  | "kill-broker"
  | "cut-sse"
  | "proxy-500"
  | "proxy-429"
  | "record-50003"
  | "consumer-read-500"
  | "s3-outage"
  | "expire-instances";

/** How many of each fault one run injects (the order and timing are seeded). */
const DECK: Record<FaultKind, number> = {
  "kill-producer": 6,
  "kill-consumer": 7,
  "kill-broker": 4,
  "cut-sse": 4,
  "proxy-500": 4,
  "proxy-429": 3,
  "record-50003": 2,
  "consumer-read-500": 2,
  "s3-outage": 2,
  "expire-instances": 2,
};

/** Slows produce requests so the run lasts long enough for every fault to hit live traffic. */
const PACING_RULE = { method: "POST", path: "^/topics/", "delay_ms": 250 };

const PRODUCER_ENV = { PRODUCE_BATCH_MAX_RECORDS: "25", PRODUCE_REQUEST_TIMEOUT_MS: "5000" };
const CONSUMER_ENV = {
  FLUSH_MAX_ROWS: "300",
  FLUSH_INTERVAL_MS: "1000",
  CONSUMER_MAX_BYTES: "262144",
  WIKISTREAM_TEST_PAUSE_AT: "after-manifest:250,after-file:50,after-upload:250",
};
const BROKER_ARGS = { faults: true, extraArgs: ["--instance-timeout-ms", "3000"] };

Deno.test({
  name: `pipeline under ${
    Object.values(DECK).reduce((a, b) => a + b)
  } seeded faults (SIGKILLs, SSE cuts, proxy 500/429/50003, S3 outage, instance expiry) ` +
    "ends with the lake exactly equal to the input",
  async fn() {
    const random = seededRandom(SEED);
    const between = (lo: number, hi: number) =>
      lo + Math.floor(random() * (hi - lo));
    const events = await selectRecordedEvents({
      editgroups: 8,
      sat99496: 1,
      rzan: 3,
      pageledger: 4,
    });
    const last = JSON.parse(events.at(-1)!) as { meta: { dt: string } };
    const lastMs = Date.parse(last.meta.dt);
    assert.equal(
      events.filter((l) => Date.parse(JSON.parse(l).meta.dt) === lastMs).length,
      1,
      "the last event's meta.dt must be unique (it marks the end of the run)",
    );

    const h = await PipelineHarness.create({ events, prefix: "wikistream-chaos-" });
    const started = Date.now();
    const faultLog: string[] = [];
    const note = (fault: string, detail = "") => {
      const t = ((Date.now() - started) / 1000).toFixed(3).padStart(7);
      faultLog.push(`seed=${SEED} t=+${t}s ${fault}${detail ? ` ${detail}` : ""}`);
    };
    const unexpectedExits: string[] = [];
    let ok = false;
    let producer: ManagedProcess | undefined;
    let consumer: ManagedProcess | undefined;
    let faultRules: Record<string, unknown>[] = [];

    const installRules = async () => {
      await h.admin("DELETE", "faults");
      for (const rule of [...faultRules, PACING_RULE]) await h.admin("POST", "faults", rule);
      faultRules = [];
    };
    const startProducer = async () => {
      const state = await readProducerState(h.producerStateDir);
      producer = await h.startProducer(
        state ? [] : ["--since", "2000-01-01T00:00:00Z"],
        PRODUCER_ENV,
      );
    };
    const startConsumer = async () => {
      consumer = await h.startConsumer([], CONSUMER_ENV);
    };
    const supervise = async () => {
      for (
        const [role, p, start] of [
          ["producer", producer, startProducer],
          ["consumer", consumer, startConsumer],
        ] as const
      ) {
        if (p && !p.running && !p.stopRequested) {
          const s = p.exitStatus!;
          unexpectedExits.push(`${role} exited with code ${s.code}:\n${p.tail}`);
          note(`unexpected-exit-${role}`, `code=${s.code} (restarted)`);
          await start();
        }
      }
    };
    const sleep = async (ms: number) => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
        await supervise();
      }
    };

    try {
      await Promise.all([h.startS3(), h.startBroker(BROKER_ARGS), h.startSse({ cutEvery: 400 })]);
      await installRules();
      await startProducer();
      await startConsumer();

      const deck: FaultKind[] = [];
      for (const [kind, n] of Object.entries(DECK)) {
        for (let i = 0; i < n; i++) deck.push(kind as FaultKind);
      }
      for (let i = deck.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [deck[i], deck[j]] = [deck[j]!, deck[i]!];
      }

      for (const kind of deck) {
        await sleep(between(300, 1200));
        switch (kind) {
          case "kill-producer": {
            await producer!.kill("SIGKILL");
            note(kind);
            await sleep(between(50, 500));
            await startProducer();
            break;
          }
          case "kill-consumer": {
            await consumer!.kill("SIGKILL");
            note(kind);
            await sleep(between(50, 500));
            await startConsumer();
            break;
          }
          case "kill-broker": {
            await h.latest("broker")!.kill("SIGKILL");
            note(kind, "(restarted on the same port and data folder)");
            await sleep(between(100, 1000));
            await h.startBroker(BROKER_ARGS);
            await installRules();
            break;
          }
          case "cut-sse": {
            await h.latest("sse")!.kill("SIGKILL");
            note(kind, "(SSE server killed mid-stream, restarted on the same port)");
            await sleep(between(50, 600));
            await h.startSse({ cutEvery: 400 });
            break;
          }
          case "proxy-500":
          case "proxy-429": {
            const status = kind === "proxy-500" ? 500 : 429;
            const count = between(2, 6);
            faultRules.push({
              method: "POST",
              path: "^/topics/",
              status,
              error_code: status === 500 ? 50001 : 42901,
              count,
            });
            await installRules();
            note(kind, `next ${count} produce requests`);
            break;
          }
          case "record-50003": {
            const count = between(2, 5);
            faultRules.push({
              method: "POST",
              path: "^/topics/",
              per_record_error_code: 50003,
              every: 2,
              count,
            });
            await installRules();
            note(kind, `every 2nd record of the next ${count} produce requests`);
            break;
          }
          case "consumer-read-500": {
            const count = between(2, 5);
            faultRules.push({ method: "GET", path: "/records$", status: 500, count });
            await installRules();
            note(kind, `next ${count} consumer reads`);
            break;
          }
          case "s3-outage": {
            await h.latest("s3rver")!.kill("SIGKILL");
            const ms = between(1500, 3500);
            note(kind, `${ms} ms`);
            await sleep(ms);
            await h.startS3();
            break;
          }
          case "expire-instances": {
            const r = await h.admin("POST", "expire-instances") as { expired?: unknown };
            note(kind, `expired=${JSON.stringify(r?.expired ?? null)}`);
            break;
          }
        }
      }
      note("faults-over", "(pacing removed, waiting for the producer to reach the end)");
      await h.admin("DELETE", "faults");

      await waitUntil("the producer to acknowledge the last event", async () => {
        await supervise();
        const s = await readProducerState(h.producerStateDir);
        return s?.lastEventTimeMs === lastMs;
      }, 90_000);
      const pStatus = await producer!.kill("SIGTERM");
      assert.equal(pStatus.code, 0, `producer did not stop cleanly:\n${producer!.tail}`);
      // wait until it reads, so this checks the steady-state drain (SIGTERM during start-up
      // recovery is not covered here)
      await consumer!.waitFor(/consumer instance ready/, 30_000);
      const cStatus = await consumer!.kill("SIGTERM");
      assert.equal(cStatus.code, 0, `consumer did not stop cleanly:\n${consumer!.tail}`);
      consumer = await h.startConsumer(["--until-idle", "2500"], CONSUMER_ENV);
      const fStatus = await consumer.status;
      assert.equal(fStatus.code, 0, `final consumer run failed:\n${consumer.tail}`);

      const verify = await h.runVerify();
      assert.equal(verify.code, 0, `verify found problems:\n${verify.output}`);
      const download = `${h.root}/download`;
      await h.downloadLake(download);
      const summary = await checkLakeAgainstInput(download, events);
      assert.equal(summary.rows, events.length);

      // transient proxy errors are retried, never dead-lettered
      const deadLetters = await Deno.readTextFile(`${h.producerStateDir}/dead-letter.ndjson`)
        .catch(() => "");
      assert.equal(deadLetters, "", "the producer dead-lettered events under transient faults");
      const faults = faultLog.filter((l) => !/faults-over|unexpected-exit/.test(l)).length;
      assert.ok(faults >= 30, `only ${faults} faults`);
      assert.deepEqual(unexpectedExits, [], "a process crashed on its own");
      // Kafka duplicates come only from a crash between the proxy's acknowledgement and the
      // producer's state write (producer or broker SIGKILL): at most one batch each
      const dupes = Number(/(\d+) duplicates dropped/.exec(verify.output)?.[1]);
      const crashes = DECK["kill-producer"] + DECK["kill-broker"];
      const batch = Number(PRODUCER_ENV.PRODUCE_BATCH_MAX_RECORDS);
      assert.ok(dupes <= crashes * batch, `${dupes} duplicates > ${crashes} crashes × ${batch}`);
      const consumerLog = await Deno.readTextFile(`${h.logsDir}/consumer.log`);
      const rebuilt = consumerLog.split("rebuilding it from the topic").length - 1;
      note(
        "done",
        `${events.length} events, ${summary.rows} rows in ${summary.files} files, ` +
          `${dupes} Kafka duplicates dropped by the consumer, ${rebuilt} incomplete units ` +
          `rebuilt, ${h.processes.filter((p) => p.name === "producer").length} producer and ` +
          `${h.processes.filter((p) => p.name === "consumer").length} consumer processes`,
      );
      ok = true;
    } finally {
      // deno-lint-ignore no-console
      console.log(`chaos fault log (CHAOS_SEED=${SEED}):\n${faultLog.join("\n")}`);
      // deno-lint-ignore no-console
      if (!ok) console.error(await h.logTails());
      await h.close();
    }
  },
});
