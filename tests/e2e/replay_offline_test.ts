import assert from "node:assert/strict";
import { OFFLINE_HINT } from "../../lib/producer/producer_config.ts";
import { REPLAY_OPTIONS } from "../../lib/replay/replay_config.ts";
import { readReplayEvents } from "../../lib/replay/replay_events.ts";
import { queryParquet } from "../_helpers/duckdb.ts";
import { programArgs } from "../_helpers/program_command.ts";
import { spawnReplayTask } from "../_helpers/replay_task.ts";

const ROOT = new URL("../../", import.meta.url);
const SAMPLE = "samples/recentchange-sample.ndjson.gz";

/** Runs start.ts on a stream URL in a temporary folder until --max-events are in the lake. */
async function runStart(dir: string, url: URL, args: string[]): Promise<string> {
  const start = await new Deno.Command(Deno.execPath(), {
    args: programArgs("start", [
      "--stream-url",
      url.href,
      "--broker-port=0",
      `--broker-data-dir=${dir}/broker`,
      `--state-dir=${dir}/producer`,
      `--output-url=${dir}/lake`,
      "--progress-interval-ms=0",
      "--flush-interval-ms=1000",
      "--log-format=json",
      ...args,
    ]),
    stdout: "null",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(start.stderr);
  assert.equal(start.code, 0, log);
  return log;
}

Deno.test("deno task replay on the sample feeds start.ts --stream-url without network: every sample event lands in the lake once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wikistream-offline-" });
  const { url, child: replay } = await spawnReplayTask(["--port", "0", "--rate", "0", SAMPLE]);
  try {
    const sample = await readReplayEvents([new URL(SAMPLE, ROOT).pathname]);
    await runStart(dir, url, [
      "--since",
      "2026-05-05T00:00:00Z",
      "--max-events",
      String(sample.length),
    ]);
    const rows = await queryParquet(`${dir}/lake/**/*.parquet`, "SELECT event_id FROM data");
    assert.equal(rows.length, sample.length);
    assert.deepEqual(
      new Set(rows.map((r) => r.event_id)),
      new Set(sample.map((l) => JSON.parse(l).meta.id)),
    );
  } finally {
    replay.kill("SIGTERM");
    const status = await replay.status;
    assert.equal(status.code, 0, "replay stops cleanly on SIGTERM");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task replay --loop feeds a start.ts without --since from the live end, past the end of the sample", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wikistream-offline-" });
  const { url, child: replay } = await spawnReplayTask([
    "--port",
    "0",
    "--rate",
    "3000",
    "--loop",
    SAMPLE,
  ]);
  try {
    await runStart(dir, url, ["--max-events", "3000"]);
    const rows = await queryParquet(
      `${dir}/lake/**/*.parquet`,
      "SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM data",
    );
    assert.equal(Number(rows[0]!.n), 3000);
    assert.equal(Number(rows[0]!.ids), 3000, "looped events are not dropped as duplicates");
  } finally {
    replay.kill("SIGTERM");
    await replay.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task replay serves a file of the user's choosing: the launcher grants read access to exactly the files named", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wikistream-replay-own-" });
  try {
    const events = (await readReplayEvents([new URL(SAMPLE, ROOT).pathname])).slice(0, 5);
    await Deno.writeTextFile(`${dir}/mine.ndjson`, events.join("\n") + "\n");
    const { url, child } = await spawnReplayTask(["--port", "0", `${dir}/mine.ndjson`]);
    try {
      assert.match(url.href, /^http:\/\/127\.0\.0\.1:\d+\//);
    } finally {
      child.kill("SIGINT");
      assert.equal((await child.status).code, 0);
    }
    const plan = programArgs("replay", [`${dir}/mine.ndjson`]);
    assert.ok(plan.includes(`--allow-read=${dir}/mine.ndjson`), plan.join(" "));
    assert.ok(!plan.some((a) => a.startsWith("--allow-write")), "replay writes nothing");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the producer's offline hint names the shipped sample and the replay's default URL", async () => {
  assert.ok((await Deno.stat(new URL(SAMPLE, ROOT))).isFile);
  assert.ok(OFFLINE_HINT.includes(`deno task replay --loop ${SAMPLE}`));
  assert.ok(
    OFFLINE_HINT.includes(
      `--stream-url http://127.0.0.1:${REPLAY_OPTIONS.port.default}/v2/stream/recentchange`,
    ),
  );
  assert.equal(REPLAY_OPTIONS.host.default, "127.0.0.1");
});
