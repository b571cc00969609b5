/**
 * Runs the real programs against a request-logging s3rver and returns the S3 requests
 * each made: the consumer (twice on one lake, so the second run takes partitions on from
 * what the first wrote, with dead letters in it), `start` on the replayed sample, and
 * `verify` on both lakes and then on the `start` lake with one data file deleted (so it
 * meets a missing key, as it exists to). Each runs as its `deno task` runs it (the launcher's flags,
 * never `-A`), with a cleared environment so no inherited `AWS_*` reaches it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startBroker } from "../../lib/broker/broker_server.ts";
import { S3ObjectStore } from "../../lib/object_store/s3_object_store.ts";
import { loadRecordedEvents, produceEvents } from "../_helpers/produce_events.ts";
import { programArgs } from "../_helpers/program_command.ts";
import { spawnReplayTask } from "../_helpers/replay_task.ts";
import { startS3Server } from "../_helpers/s3_server.ts";
import type { S3RequestRecord } from "../_helpers/s3_request_log.ts";

/** The bucket the programs write to. */
export const OBSERVED_BUCKET = "wikistream-iam-lake";
/** The lake prefix of the consumer runs (`OUTPUT_URL=s3://bucket/lake`). */
export const CONSUMER_PREFIX = "lake";
/** The lake prefix of the `start` run. */
export const START_PREFIX = "start-lake";

/** The requests per program run. */
export interface ObservedCalls {
  /** Both consumer runs. */
  consumer: S3RequestRecord[];
  /** The `start` run. */
  start: S3RequestRecord[];
  /** The `verify` runs. */
  verify: S3RequestRecord[];
}

const SAMPLE = "samples/recentchange-sample.ndjson.gz";

async function run(
  task: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stderr: string; stdout: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: programArgs(task, args, env, false),
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(90_000),
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stderr: decode(out.stderr), stdout: decode(out.stdout) };
}

/** Copies of recorded events that the consumer must dead-letter (no `meta.id`, wrong type). */
function badEvents(events: Record<string, unknown>[]): Record<string, unknown>[] {
  const copy = (e: Record<string, unknown>) => structuredClone(e) as Record<string, unknown>;
  const noId = copy(events[0]!);
  delete (noId.meta as Record<string, unknown>).id;
  const wrongNamespace = copy(events[1]!);
  wrongNamespace.namespace = "0";
  (wrongNamespace.meta as Record<string, unknown>).id = "iam-test-wrong-namespace";
  return [noId, wrongNamespace];
}

/**
 * Runs the consumer, `start` and `verify` against one logging s3rver.
 *
 * @param home an empty folder used as HOME and for the broker's and producer's files
 * @returns the requests of each program
 */
export async function observeProgramS3Calls(home: string): Promise<ObservedCalls> {
  const log: S3RequestRecord[] = [];
  await using s3 = await startS3Server(OBSERVED_BUCKET, undefined, { requestLog: log });
  const base: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
    ...s3.env,
    LOG_FORMAT: "json",
    LOG_LEVEL: "warn",
  };
  const mark = () => log.length;
  const since = (from: number) => log.slice(from);

  await using broker = await startBroker({ dataDir: `${home}/broker`, partitions: 2 });
  const events = await loadRecordedEvents(900);
  // keyed by wiki and put first, so each dead letter shares its unit and hour with good rows
  // (a unit whose hour holds only a dead-lettered record stops the consumer: see the report)
  const byWiki = { key: (e: Record<string, unknown>) => e.wiki ?? null };
  await produceEvents(broker.url, [...badEvents(events), ...events.slice(0, 600)], byWiki);
  const consumerEnv = {
    ...base,
    KAFKA_REST_URL: broker.url.href,
    OUTPUT_URL: `s3://${OBSERVED_BUCKET}/${CONSUMER_PREFIX}`,
    CONSUMER_UNTIL_IDLE_MS: "1500",
    FLUSH_MAX_ROWS: "150",
  };
  const consumerFrom = mark();
  const first = await run("consume", [], consumerEnv);
  assert.equal(first.code, 0, `first consumer run: ${first.stderr}`);
  await produceEvents(broker.url, events.slice(600), byWiki);
  const second = await run("consume", [], consumerEnv);
  assert.equal(second.code, 0, `second consumer run: ${second.stderr}`);
  const consumer = since(consumerFrom);

  const startFrom = mark();
  const { url, child: replay } = await spawnReplayTask(["--port", "0", "--rate", "0", SAMPLE]);
  try {
    const start = await run("start", [
      "--stream-url",
      url.href,
      "--broker-port=0",
      `--broker-data-dir=${home}/start-broker`,
      `--state-dir=${home}/start-producer`,
      `--output-url=s3://${OBSERVED_BUCKET}/${START_PREFIX}`,
      "--progress-interval-ms=0",
      "--flush-interval-ms=1000",
      "--since",
      "2026-05-05T00:00:00Z",
      "--max-events",
      "400",
    ], base);
    assert.equal(start.code, 0, `start: ${start.stderr}`);
  } finally {
    replay.kill("SIGTERM");
    await replay.status;
  }
  const start = since(startFrom);

  const verifyFrom = mark();
  for (const prefix of [CONSUMER_PREFIX, START_PREFIX]) {
    const verified = await run("verify", [], {
      ...base,
      OUTPUT_URL: `s3://${OBSERVED_BUCKET}/${prefix}`,
    });
    assert.equal(verified.code, 0, `verify ${prefix}: ${verified.stdout}${verified.stderr}`);
  }
  const verify = since(verifyFrom);

  // a data file lost: verify must find it missing (404), not be refused (403); the test's own
  // list and delete are not logged as verify's
  const store = new S3ObjectStore({
    bucket: OBSERVED_BUCKET,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: s3.credentials,
  });
  try {
    const data = await store.list(`${START_PREFIX}/wikimedia-changes/`);
    assert.ok(data.length > 0, "start wrote data files");
    await store.delete(data[0]!);
  } finally {
    store.close();
  }
  const brokenFrom = mark();
  const broken = await run("verify", [], {
    ...base,
    OUTPUT_URL: `s3://${OBSERVED_BUCKET}/${START_PREFIX}`,
  });
  assert.equal(
    broken.code,
    1,
    `verify of a lake with a lost file: ${broken.stdout}${broken.stderr}`,
  );
  assert.match(broken.stdout + broken.stderr, /is missing/);
  return { consumer, start, verify: [...verify, ...since(brokenFrom)] };
}
