/**
 * Several consumer processes of one consumer group writing one lake, as separate
 * processes with their tasks' permissions: the SSE replay server, the producer(s), the
 * local broker (faults on, `--instance-timeout-ms 3000`) and consumers `c0`, `c1`, `c2`
 * (`CONSUMER_INSTANCE_ID`), under a seeded schedule of consumer SIGKILLs, SIGSTOPs longer
 * than the instance timeout, graceful leaves and later joins, broker SIGKILLs, forced
 * instance expiries, producer SIGKILLs and failing reads. Once the pipeline is idle the lake
 * is counted against the topic and the input with DuckDB (no missing, duplicated or foreign
 * `(kafka_partition, kafka_offset)`, every `meta.id` once) and `deno task verify` must pass.
 *
 * - `GROUP_CHAOS_SEED=n` varies the schedule (printed with the fault log on failure).
 * - `GROUP_CHAOS_LONG=1` also runs the long variant (more events, about 90 faults).
 * - `GROUP_CHAOS_S3=1` also runs every variant with the lake in the test s3rver (which
 *   honours conditional PUTs as AWS does). It is not in `deno task test`: once in CI the
 *   s3rver test double refused connections after a broker restart (ECONNREFUSED in the
 *   harness, before any lake check), a harness problem still to find.
 *
 * @module
 */
import assert from "node:assert/strict";
import { checkLakeAgainstInput, selectRecordedEvents } from "../_helpers/e2e_events.ts";
import {
  censusLake,
  censusProblems,
  formatCensus,
  type LakeCensus,
} from "../_helpers/lake_census.ts";
import {
  E2E_TOPIC,
  type LakeKind,
  PipelineHarness,
  readProducerState,
  waitUntil,
} from "../_helpers/pipeline_harness.ts";
import { ProcessFleet } from "../_helpers/process_fleet.ts";
import { readAllRecords } from "../_helpers/read_topic.ts";
import { seededRandom } from "../_helpers/test_utils.ts";

/** Seed of the fault schedule: `GROUP_CHAOS_SEED=7 deno test -A tests/e2e/consumer_group_chaos_test.ts`. */
const SEED = Number(Deno.env.get("GROUP_CHAOS_SEED") ?? "20261204");
const LONG = Deno.env.get("GROUP_CHAOS_LONG") === "1";
const S3 = Deno.env.get("GROUP_CHAOS_S3") === "1";

const GROUP = "wikistream-group-chaos";
const INSTANCE_TIMEOUT_MS = 3000;
const BROKER_ARGS = {
  faults: true,
  partitions: 4,
  extraArgs: ["--instance-timeout-ms", String(INSTANCE_TIMEOUT_MS)],
};
const PRODUCER_ENV = { PRODUCE_BATCH_MAX_RECORDS: "25", PRODUCE_REQUEST_TIMEOUT_MS: "5000" };
const CONSUMER_ENV = {
  CONSUMER_GROUP: GROUP,
  FLUSH_MAX_ROWS: "300",
  FLUSH_INTERVAL_MS: "1000",
  CONSUMER_MAX_BYTES: "262144",
  WIKISTREAM_TEST_PAUSE_AT: "after-manifest:150,after-file:30,after-upload:150",
};
/** How long the lake must stay unchanged, with every consumer up, to count as idle. */
const QUIET_MS = 5000;

type FaultKind =
  | "kill-consumer"
  | "stop-consumer"
  | "leave-consumer"
  | "kill-broker"
  | "expire-instances"
  | "kill-producer"
  | "consumer-read-500";

/** One run's size: input, fault counts (order and timing are seeded) and pacing. */
interface Variant {
  name: string;
  strides: { editgroups: number; sat99496: number; rzan: number; pageledger: number };
  deck: Record<FaultKind, number>;
  /** Pause before each fault, ms. */
  gapMs: [number, number];
  /** Produce requests wait this long while the faults run (so they hit live traffic). */
  pacingDelayMs: number;
  /** Longest wait for the lake to become idle after the producer finished. */
  settleTimeoutMs: number;
}

const SHORT: Variant = {
  name: "short",
  strides: { editgroups: 8, sat99496: 1, rzan: 3, pageledger: 4 },
  deck: {
    "kill-consumer": 9,
    "stop-consumer": 5,
    "leave-consumer": 4,
    "kill-broker": 3,
    "expire-instances": 4,
    "kill-producer": 5,
    "consumer-read-500": 2,
  },
  gapMs: [500, 1300],
  pacingDelayMs: 250,
  settleTimeoutMs: 30_000,
};

const LONG_VARIANT: Variant = {
  name: "long",
  strides: { editgroups: 3, sat99496: 1, rzan: 1, pageledger: 1 },
  deck: {
    "kill-consumer": 25,
    "stop-consumer": 14,
    "leave-consumer": 10,
    "kill-broker": 8,
    "expire-instances": 10,
    "kill-producer": 12,
    "consumer-read-500": 6,
  },
  gapMs: [600, 1800],
  pacingDelayMs: 250,
  settleTimeoutMs: 120_000,
};

function total(deck: Record<string, number>): number {
  return Object.values(deck).reduce((a, b) => a + b, 0);
}

/** The fault log: one line per event, with the seed and the time since the start. */
class FaultLog {
  readonly lines: string[] = [];
  /** How many faults were injected (the other lines are what followed from them). */
  faults = 0;
  #started = Date.now();
  /** Records an event. */
  note = (event: string, detail = ""): void => {
    const t = ((Date.now() - this.#started) / 1000).toFixed(3).padStart(7);
    this.lines.push(`seed=${SEED} t=+${t}s ${event}${detail ? ` ${detail}` : ""}`);
  };
  /** Records an injected fault. */
  fault = (kind: string, detail = ""): void => {
    this.faults++;
    this.note(kind, detail);
  };
  /** Seconds since the start. */
  get elapsedS(): number {
    return (Date.now() - this.#started) / 1000;
  }
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Sleeps in small steps, supervising the fleets and running due follow-ups meanwhile. */
class Scheduler {
  #pending: { at: number; run: () => Promise<void> }[] = [];
  #fleets: ProcessFleet[];

  constructor(fleets: ProcessFleet[]) {
    this.#fleets = fleets;
  }

  later(ms: number, run: () => Promise<void>): void {
    this.#pending.push({ at: Date.now() + ms, run });
  }

  async tick(): Promise<void> {
    for (const f of this.#fleets) await f.supervise();
    const due = this.#pending.filter((p) => p.at <= Date.now());
    this.#pending = this.#pending.filter((p) => p.at > Date.now());
    for (const p of due) await p.run();
  }

  async sleep(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      await sleepMs(Math.min(100, until - Date.now()));
      await this.tick();
    }
  }

  /** Waits until every follow-up (resumes, joins) has run at its time. */
  async drain(): Promise<void> {
    while (this.#pending.length > 0) await this.sleep(100);
  }
}

/** Waits until the lake stops changing while every consumer runs; false on timeout. */
async function settleLake(
  h: PipelineHarness,
  scheduler: Scheduler,
  consumers: ProcessFleet,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  let since = Date.now();
  while (Date.now() < deadline) {
    await scheduler.sleep(250);
    const now = await h.lakeFingerprint();
    if (now !== last || !consumers.allUp) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= QUIET_MS) return true;
  }
  return false;
}

const ERROR_LINE_REGEXP = /"level":"error".*?"error":"((?:[^"\\]|\\.)*)"/g;

/** The crashes and unclean stops: how many, each distinct last error with its count, one tail. */
function crashReport(fleets: readonly ProcessFleet[]): string {
  const entries = fleets.flatMap((f) => [...f.unexpectedExits, ...f.uncleanStops]);
  if (entries.length === 0) return "no process crashed or failed to stop";
  const errors = new Map<string, number>();
  for (const e of entries) {
    const last = [...e.matchAll(ERROR_LINE_REGEXP)].at(-1)?.[1] ?? e.split("\n")[0]!;
    errors.set(last, (errors.get(last) ?? 0) + 1);
  }
  return `${entries.length} crashes or unclean stops; their last errors:\n` +
    [...errors].map(([error, n]) => `  ${n}x ${error}`).join("\n") +
    `\nthe first one's output (tail):\n${entries[0]!.slice(-1500)}`;
}

interface Outcome {
  census: LakeCensus;
  verify: { code: number; output: string };
  folder: string;
}

/** Reads the topic back, counts the lake and runs `verify` (after every consumer stopped). */
async function inspect(h: PipelineHarness, events: readonly string[]): Promise<Outcome> {
  const topic = await readAllRecords(h.urlOf("broker"), E2E_TOPIC, { emptyReads: 3 });
  const folder = await h.lakeFolder();
  const census = await censusLake(folder, { input: events, topic });
  const verify = await h.runVerify();
  return { census, verify, folder };
}

function verdict(kind: LakeKind, variant: string, o: Outcome): string {
  const c = o.census;
  return `seed=${SEED} lake=${kind} variant=${variant}: ` +
    `missing positions ${c.missingPositions}, duplicated positions ${c.duplicatedPositions}, ` +
    `foreign positions ${c.foreignPositions}, missing ids ${c.missingIds}, ` +
    `duplicated ids ${c.duplicatedIds}, unexpected ids ${c.unexpectedIds}, ` +
    `unreadable files ${c.unreadableFiles}; verify exit ${o.verify.code}`;
}

/** The checks shared by both tests, lake content first. */
async function assertLake(
  kind: LakeKind,
  variant: string,
  events: readonly string[],
  o: Outcome,
): Promise<void> {
  const zero = Object.fromEntries(Object.keys(censusProblems(o.census)).map((k) => [k, 0]));
  assert.deepEqual(
    censusProblems(o.census),
    zero,
    `the lake is not exactly once: ${verdict(kind, variant, o)}\n${formatCensus(o.census)}\n` +
      `verify output (tail):\n${o.verify.output.slice(-1500)}`,
  );
  assert.equal(o.verify.code, 0, `deno task verify found problems:\n${o.verify.output}`);
  await checkLakeAgainstInput(o.folder, events);
}

function groupChaosTest(variant: Variant, kind: LakeKind, ignore: boolean): Deno.TestDefinition {
  return {
    name: `consumer group of 3 (${variant.name}, ${kind} lake) under ${total(variant.deck)} ` +
      "seeded faults (consumer SIGKILL/SIGSTOP/leave/join, broker SIGKILL, instance expiry, " +
      "producer SIGKILL) writes every event once",
    ignore,
    async fn() {
      const random = seededRandom(SEED);
      const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo));
      const pick = <T>(list: readonly T[]): T | undefined =>
        list.length === 0 ? undefined : list[Math.floor(random() * list.length)];
      const events = await selectRecordedEvents(variant.strides);
      const lastMs = Date.parse((JSON.parse(events.at(-1)!) as { meta: { dt: string } }).meta.dt);
      assert.equal(
        events.filter((l) => Date.parse(JSON.parse(l).meta.dt) === lastMs).length,
        1,
        "the last event's meta.dt must be unique (it marks the end of the run)",
      );

      const h = await PipelineHarness.create({ events, lake: kind, prefix: "wikistream-group-" });
      const log = new FaultLog();
      const { note, fault: injected } = log;
      let ok = false;
      let rules: Record<string, unknown>[] = [];
      const pacing = { method: "POST", path: "^/topics/", "delay_ms": variant.pacingDelayMs };
      const installRules = async (withPacing = true) => {
        await h.admin("DELETE", "faults");
        for (const rule of [...rules, ...(withPacing ? [pacing] : [])]) {
          await h.admin("POST", "faults", rule);
        }
        rules = [];
      };
      const producers = new ProcessFleet({
        kind: "producer",
        note,
        start: async (name) => {
          const state = await readProducerState(h.producerStateDir);
          return await h.startProducer(
            state ? [] : ["--since", "2000-01-01T00:00:00Z"],
            PRODUCER_ENV,
            { role: name },
          );
        },
      });
      const consumers = new ProcessFleet({
        kind: "consumer",
        note,
        start: (name) =>
          h.startConsumer([], { ...CONSUMER_ENV, CONSUMER_INSTANCE_ID: name }, {
            role: `consumer-${name}`,
          }),
      });
      const scheduler = new Scheduler([producers, consumers]);
      let nextId = 3;
      let settled = false;
      let outcome: Outcome | undefined;

      try {
        await Promise.all([
          h.startBroker(BROKER_ARGS),
          h.startSse({ cutEvery: 400 }),
          ...(kind === "s3" ? [h.startS3()] : []),
        ]);
        await installRules();
        await producers.add("producer");
        for (const id of ["c0", "c1", "c2"]) await consumers.add(id);

        const deck: FaultKind[] = [];
        for (const [k, n] of Object.entries(variant.deck)) {
          for (let i = 0; i < n; i++) deck.push(k as FaultKind);
        }
        for (let i = deck.length - 1; i > 0; i--) {
          const j = Math.floor(random() * (i + 1));
          [deck[i], deck[j]] = [deck[j]!, deck[i]!];
        }

        for (const fault of deck) {
          await scheduler.sleep(between(...variant.gapMs));
          switch (fault) {
            case "kill-consumer": {
              // a stopped consumer stays stopped for its whole time (longer than the timeout)
              const running = consumers.active.filter((m) => !m.suspended);
              const m = pick(running.length > 0 ? running : consumers.active)!;
              const was = m.suspended ? " (while stopped)" : "";
              await consumers.kill(m);
              injected(fault, `${m.name}${was}`);
              await scheduler.sleep(between(50, 500));
              if (m.active && !m.process?.running) await consumers.restart(m);
              break;
            }
            case "stop-consumer": {
              const candidates = consumers.active.filter((m) => !m.suspended && m.process?.running);
              const m = pick(candidates);
              if (!m || consumers.active.filter((x) => x.suspended).length >= 2) {
                // every consumer is stopped already: expire them instead (same effect)
                const r = await h.admin("POST", "expire-instances") as { expired?: unknown };
                injected(
                  "expire-instances",
                  `expired=${JSON.stringify(r?.expired ?? null)} (for ${fault})`,
                );
                break;
              }
              const ms = between(INSTANCE_TIMEOUT_MS + 1000, INSTANCE_TIMEOUT_MS + 3000);
              const p = consumers.suspend(m);
              injected(
                fault,
                `${m.name} SIGSTOP for ${ms} ms (instance timeout ${INSTANCE_TIMEOUT_MS})`,
              );
              if (p) {
                scheduler.later(ms, () => {
                  if (consumers.resume(m, p)) note("resume", `${m.name} SIGCONT`);
                  return Promise.resolve();
                });
              }
              break;
            }
            case "leave-consumer": {
              const candidates = consumers.active.filter((m) => !m.suspended);
              const m = consumers.active.length >= 2 ? pick(candidates) : undefined;
              if (!m) {
                const k = pick(consumers.active)!;
                await consumers.kill(k);
                injected("kill-consumer", `${k.name} (for ${fault}: too few members to leave)`);
                await consumers.restart(k);
                break;
              }
              const code = await consumers.leave(m);
              const id = `c${nextId++}`;
              const ms = between(1000, 4000);
              injected(fault, `${m.name} SIGTERM exit=${code}; ${id} joins in ${ms} ms`);
              scheduler.later(ms, async () => {
                await consumers.add(id);
                note("join", id);
              });
              break;
            }
            case "kill-broker": {
              await h.latest("broker")!.kill("SIGKILL");
              injected(fault, "(restarted on the same port and data folder)");
              await scheduler.sleep(between(100, 1000));
              await h.startBroker(BROKER_ARGS);
              await installRules();
              break;
            }
            case "expire-instances": {
              const r = await h.admin("POST", "expire-instances") as { expired?: unknown };
              injected(fault, `expired=${JSON.stringify(r?.expired ?? null)}`);
              break;
            }
            case "kill-producer": {
              const m = producers.active[0]!;
              await producers.kill(m);
              injected(fault);
              await scheduler.sleep(between(50, 500));
              await producers.restart(m);
              break;
            }
            case "consumer-read-500": {
              const count = between(2, 6);
              rules.push({ method: "GET", path: "/records$", status: 500, count });
              await installRules();
              injected(fault, `next ${count} consumer reads`);
              break;
            }
          }
        }
        await scheduler.drain();
        await installRules(false);
        note("faults-over", "(pacing removed, every consumer resumed or joined)");

        await waitUntil("the producer to acknowledge the last event", async () => {
          await scheduler.tick();
          const s = await readProducerState(h.producerStateDir);
          return s?.lastEventTimeMs === lastMs;
        }, 120_000);
        await producers.stopAll();
        settled = await settleLake(h, scheduler, consumers, variant.settleTimeoutMs);
        note(
          settled ? "settled" : "settle-timeout",
          settled ? `lake unchanged for ${QUIET_MS} ms` : `after ${variant.settleTimeoutMs} ms`,
        );
        const codes = await consumers.stopAll();
        note("consumers-stopped", JSON.stringify(codes));

        outcome = await inspect(h, events);
        note(
          "done",
          `${events.length} events; ${verdict(kind, variant.name, outcome)}; ` +
            `${consumers.members.length} members, ` +
            `${h.processes.filter((p) => p.name.startsWith("consumer")).length} consumer and ` +
            `${h.processes.filter((p) => p.name === "producer").length} producer processes`,
        );
        await assertLake(kind, variant.name, events, outcome);
        assert.ok(settled, `the lake did not stop changing within ${variant.settleTimeoutMs} ms`);
        assert.ok(log.faults >= 30, `only ${log.faults} faults`);
        assert.deepEqual(
          [...consumers.unexpectedExits, ...producers.unexpectedExits],
          [],
          "a process crashed on its own",
        );
        assert.deepEqual(
          [...consumers.uncleanStops, ...producers.uncleanStops],
          [],
          "a process did not stop cleanly",
        );
        ok = true;
      } finally {
        // deno-lint-ignore no-console
        console.log(
          `group chaos ${variant.name}/${kind} (GROUP_CHAOS_SEED=${SEED}) ` +
            `${ok ? "passed" : "FAILED"} in ${log.elapsedS.toFixed(1)} s: ` +
            (outcome ? verdict(kind, variant.name, outcome) : "no lake check reached"),
        );
        if (!ok) {
          // deno-lint-ignore no-console
          console.log(`fault log (GROUP_CHAOS_SEED=${SEED}):\n${log.lines.join("\n")}`);
          // deno-lint-ignore no-console
          console.log(crashReport([consumers, producers]));
          // deno-lint-ignore no-console
          console.error(await h.logTails());
        }
        await h.close();
      }
    },
  };
}

function haPairTest(kind: LakeKind, ignore: boolean): Deno.TestDefinition {
  return {
    name: `two producers on one stream (HA pair) and a consumer group of 2 (${kind} lake) ` +
      "write every meta.id once",
    ignore,
    async fn() {
      const events = await selectRecordedEvents({
        editgroups: 16,
        sat99496: 1,
        rzan: 6,
        pageledger: 8,
      });
      const lastMs = Date.parse((JSON.parse(events.at(-1)!) as { meta: { dt: string } }).meta.dt);
      const h = await PipelineHarness.create({ events, lake: kind, prefix: "wikistream-ha-" });
      const log = new FaultLog();
      const stateDirs: Record<string, string> = {
        "producer-a": h.producerStateDir,
        "producer-b": `${h.root}/producer-b`,
      };
      await Deno.mkdir(stateDirs["producer-b"]!, { recursive: true });
      let ok = false;
      let outcome: Outcome | undefined;
      const producers = new ProcessFleet({
        kind: "producer",
        note: log.note,
        start: async (name) => {
          const dir = stateDirs[name]!;
          const state = await readProducerState(dir);
          return await h.startProducer(
            state ? [] : ["--since", "2000-01-01T00:00:00Z"],
            { ...PRODUCER_ENV, STATE_DIR: dir },
            { role: name },
          );
        },
      });
      const consumers = new ProcessFleet({
        kind: "consumer",
        note: log.note,
        start: (name) =>
          h.startConsumer([], { ...CONSUMER_ENV, CONSUMER_INSTANCE_ID: name }, {
            role: `consumer-${name}`,
          }),
      });
      const scheduler = new Scheduler([producers, consumers]);
      try {
        await Promise.all([
          h.startBroker(BROKER_ARGS),
          h.startSse(),
          ...(kind === "s3" ? [h.startS3()] : []),
        ]);
        // slow produce requests so that the two producers' batches interleave
        await h.admin("POST", "faults", { method: "POST", path: "^/topics/", "delay_ms": 100 });
        for (const id of ["c0", "c1"]) await consumers.add(id);
        await producers.add("producer-a");
        await producers.add("producer-b");
        await waitUntil("both producers to acknowledge the last event", async () => {
          await scheduler.tick();
          for (const dir of Object.values(stateDirs)) {
            if ((await readProducerState(dir))?.lastEventTimeMs !== lastMs) return false;
          }
          return true;
        }, 120_000);
        await producers.stopAll();
        await h.admin("DELETE", "faults");
        const settled = await settleLake(h, scheduler, consumers, 60_000);
        log.note(settled ? "settled" : "settle-timeout");
        await consumers.stopAll();

        const topic = await readAllRecords(h.urlOf("broker"), E2E_TOPIC, { emptyReads: 3 });
        // the premise: every event is in the topic at least twice, its copies in one partition
        const partitionsOf = new Map<string, Set<number>>();
        const copies = new Map<string, number>();
        for (const r of topic) {
          const id = String((r.value as { meta: { id: string } }).meta.id);
          (partitionsOf.get(id) ?? partitionsOf.set(id, new Set()).get(id)!).add(r.partition);
          copies.set(id, (copies.get(id) ?? 0) + 1);
        }
        assert.equal(copies.size, events.length, "the topic lacks events");
        assert.ok([...copies.values()].every((n) => n >= 2), "an event reached the topic once");
        assert.ok(
          [...partitionsOf.values()].every((s) => s.size === 1),
          "copies of one event landed in different partitions",
        );
        const folder = await h.lakeFolder();
        outcome = {
          census: await censusLake(folder, { input: events, topic }),
          verify: await h.runVerify(),
          folder,
        };
        await assertLake(kind, "ha-pair", events, outcome);
        assert.ok(settled, "the lake did not stop changing within 60 s");
        assert.deepEqual(
          [...consumers.unexpectedExits, ...producers.unexpectedExits],
          [],
          "a process crashed on its own",
        );
        assert.deepEqual(
          [...consumers.uncleanStops, ...producers.uncleanStops],
          [],
          "a process did not stop cleanly",
        );
        ok = true;
      } finally {
        // deno-lint-ignore no-console
        console.log(
          `HA pair/${kind} ${ok ? "passed" : "FAILED"} in ${log.elapsedS.toFixed(1)} s: ` +
            (outcome ? verdict(kind, "ha-pair", outcome) : "no lake check reached"),
        );
        if (!ok) {
          // deno-lint-ignore no-console
          console.log(log.lines.join("\n"));
          // deno-lint-ignore no-console
          console.log(crashReport([consumers, producers]));
          // deno-lint-ignore no-console
          console.error(await h.logTails());
        }
        await h.close();
      }
    },
  };
}

for (const kind of ["local", "s3"] as const) {
  const noS3 = kind === "s3" && !S3;
  Deno.test(groupChaosTest(SHORT, kind, noS3));
  Deno.test(groupChaosTest(LONG_VARIANT, kind, noS3 || !LONG));
  Deno.test(haPairTest(kind, noS3));
}
