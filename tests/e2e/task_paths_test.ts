/**
 * Every path option works through the program's task and `.env` when set to a
 * folder of the user's choosing (absolute, `file://`, relative to the working
 * folder), with permissions still narrow; a missing permission gives one line
 * that names the task, never Deno's raw error.
 *
 * The task's own command (`deno run --env-file=.env … lib/launcher/launch.ts <program>`)
 * runs in a working folder holding the user's `.env`, as `deno task` runs it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startBroker } from "../../lib/broker/broker_server.ts";
import { loadRecordedEvents, produceEvents } from "../_helpers/produce_events.ts";
import { taskArgs } from "../_helpers/program_command.ts";
import { readRecordedLines, startSseServer } from "../_helpers/sse_server.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const USER_AGENT = "wikistream-tests/0.1 (https://example.org; tests@example.org)";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a task's command in `cwd`, whose `.env` holds `dotenv`. */
async function runTask(
  task: string,
  cwd: string,
  dotenv: Record<string, string>,
  args: string[] = [],
): Promise<Run> {
  await Deno.writeTextFile(
    `${cwd}/.env`,
    Object.entries(dotenv).map(([k, v]) => `${k}=${v}`).join("\n") + "\n",
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...taskArgs(task), ...args],
    cwd,
    env: { NO_COLOR: "1", LOG_FORMAT: "json" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "wikistream-paths-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("`deno task broker --data-dir <any folder>` writes its logs there", async () => {
  await withDir(async (dir) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["task", "broker", "--data-dir", `${dir}/my broker`, "--port", "0"],
      cwd: ROOT,
      env: { NO_COLOR: "1", LOG_FORMAT: "json" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!/listening on/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    reader.releaseLock();
    child.stdout.cancel().catch(() => {});
    child.kill("SIGINT");
    const stderr = await new Response(child.stderr).text();
    assert.equal((await child.status).code, 0, stderr);
    assert.match(text, /listening on http:/, stderr);
    assert.ok(await exists(`${dir}/my broker/topics.log`));
  });
});

Deno.test("`deno task produce` keeps its position in the STATE_DIR of .env, relative to the working folder", async () => {
  await withDir(async (dir) => {
    await using broker = await startBroker({ dataDir: `${dir}/broker`, partitions: 1 });
    const lines = await readRecordedLines("6rzan-real-time-system_2026-05-05.ndjson", 100);
    await using sse = await startSseServer({ events: lines, atEnd: "hold" });
    const run = await runTask("produce", dir, {
      STATE_DIR: "./my-state",
      STREAM_URL: sse.url.href,
      STREAM_SINCE: "2020-01-01T00:00:00Z",
      KAFKA_REST_URL: broker.url.href,
      PRODUCE_MAX_EVENTS: "50",
      USER_AGENT,
    });
    assert.equal(run.code, 0, run.stderr.slice(-2000));
    const saved = await Array.fromAsync(Deno.readDir(`${dir}/my-state`));
    assert.ok(saved.length > 0, "the position is saved in ./my-state");
  });
});

Deno.test("`deno task consume` writes to an OUTPUT_URL of the user's choosing: file:// URL, absolute and relative folders", async () => {
  await withDir(async (dir) => {
    await using broker = await startBroker({ dataDir: `${dir}/broker`, partitions: 2 });
    await produceEvents(broker.url, await loadRecordedEvents(300));
    const lakes = [`file://${dir}/lake-url`, `${dir}/lake-abs`, "./lake2"];
    for (const [i, lake] of lakes.entries()) {
      const run = await runTask("consume", dir, {
        OUTPUT_URL: lake,
        KAFKA_REST_URL: broker.url.href,
        CONSUMER_GROUP: `paths-${i}`,
        CONSUMER_UNTIL_IDLE_MS: "1000",
      });
      assert.equal(run.code, 0, `${lake}: ${run.stderr.slice(-2000)}`);
    }
    for (const folder of ["lake-url", "lake-abs", "lake2"]) {
      assert.ok(await exists(`${dir}/${folder}/_manifests`), `${folder} holds a lake`);
    }

    // query and verify read the lake named in .env
    const query = await runTask("query", dir, { OUTPUT_URL: "./lake2" }, [
      "--format",
      "json",
      "SELECT count(*) AS n FROM events",
    ]);
    assert.equal(query.code, 0, query.stderr);
    assert.equal(JSON.parse(query.stdout.trim()).n, 300);
    const verify = await runTask("verify", dir, { OUTPUT_URL: `file://${dir}/lake-url` });
    assert.equal(verify.code, 0, verify.stderr + verify.stdout);
    assert.match(verify.stdout, /300 records/);
  });
});

Deno.test("a missing permission prints one line naming the task, and a Deno flag given as an option says what to set instead", async () => {
  await withDir(async (dir) => {
    // deno run with the network and variables but no write access
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--allow-env", "--allow-net", `${ROOT}/broker.ts`],
      env: { BROKER_DATA_DIR: `${dir}/data`, BROKER_PORT: "0", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr).trim();
    assert.equal(out.code, 2, stderr);
    assert.equal(stderr.split("\n").length, 1, stderr);
    assert.match(stderr, /^error: broker was refused (read|write) access to ".*data"/);
    assert.match(stderr, /`deno task broker`/);
    assert.doesNotMatch(stderr, /run again with the --allow/);

    const flag = await runTask("consume", dir, {}, [`--allow-write=${dir}/lake`]);
    assert.equal(flag.code, 2, flag.stderr);
    assert.match(flag.stderr, /"--allow-write" is a Deno permission flag, not an option/);
    assert.match(flag.stderr, /OUTPUT_URL/);
  });
});
