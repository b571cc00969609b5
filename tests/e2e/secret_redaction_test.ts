/**
 * Credentials in URLs never reach the output (issue 12): every program runs as its task runs
 * it (the task's own command through the launcher, in a working folder with a `.env`), with
 * secrets in the userinfo and in `token=`/`api_key=` parameters of every URL option, set
 * through the environment, the `.env` file and flags, on `--print-config`, on a normal run
 * and on the failure paths that quote a URL (unreachable proxy and S3 endpoint, a refused
 * stream, an invalid lake URL). All of stdout and stderr is searched for every secret.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startBroker } from "../../lib/broker/broker_server.ts";
import { loadRecordedEvents, produceEvents } from "../_helpers/produce_events.ts";
import { taskArgs } from "../_helpers/program_command.ts";
import { readRecordedLines, startSseServer } from "../_helpers/sse_server.ts";

const USER_AGENT = "wikistream-tests/0.1 (https://example.org; tests@example.org)";

/** Every secret string; none may appear in any output. */
const SECRETS = {
  kafkaUser: "kafkaUs3rName",
  kafkaPass: "kafkaPa55word",
  streamUser: "streamUs3rName",
  streamPass: "streamPa55word",
  streamToken: "streamT0kenValue",
  streamKey: "streamApiK3yValue",
  s3User: "s3Us3rName",
  s3Pass: "s3Pa55word",
  lakeKeyId: "AKIALAKEKEYID",
  lakeSecret: "lakeS3cretKey",
  advertisedPass: "advertisedPa55",
  awsKeyId: "AKIAENVKEYID",
  awsSecret: "envS3cretAccessKey",
};

interface Run {
  name: string;
  code: number;
  output: string;
}

function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Runs a task's command in `cwd` with `dotenv` in its `.env` and `env` in its environment;
 * with `stopAfter`, sends SIGINT once the output matches it (or after `stopAfterMs`).
 */
async function runTask(
  name: string,
  task: string,
  cwd: string,
  o: {
    dotenv?: Record<string, string>;
    env?: Record<string, string>;
    args?: string[];
    stopWhen?: RegExp;
    stopAfterMs?: number;
  },
): Promise<Run> {
  await Deno.writeTextFile(
    `${cwd}/.env`,
    Object.entries(o.dotenv ?? {}).map(([k, v]) => `${k}=${v}`).join("\n") + "\n",
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [...taskArgs(task), ...(o.args ?? [])],
    cwd,
    env: { NO_COLOR: "1", LOG_FORMAT: "json", LOG_LEVEL: "debug", ...o.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGINT");
    } catch {
      // exited already
    }
  };
  const timer = setTimeout(stop, o.stopAfterMs ?? 60_000);
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      output += text;
      if (o.stopWhen?.test(output)) stop();
    }
  };
  await Promise.all([pump(child.stdout), pump(child.stderr)]);
  const status = await child.status;
  clearTimeout(timer);
  return { name, code: status.code, output };
}

function leaks(run: Run): string[] {
  return Object.entries(SECRETS)
    .filter(([, secret]) => run.output.includes(secret))
    .map(([what]) => what);
}

Deno.test({
  name: "no program prints a credential of a URL: producer, consumer, broker, start, query, " +
    "verify with secrets in env, .env and flags",
  sanitizeResources: false, // the children's pipes are drained to their end above
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "wikistream-secrets-" });
    try {
      await using broker = await startBroker({ dataDir: `${dir}/broker`, partitions: 1 });
      await produceEvents(broker.url, await loadRecordedEvents(50));
      const lines = await readRecordedLines("6rzan-real-time-system_2026-05-05.ndjson", 40);
      await using sse = await startSseServer({ events: lines, atEnd: "hold" });
      await using refusing = await startSseServer({ events: [], statuses: [403] });
      const s = SECRETS;
      const withCredentials = (url: URL, user: string, pass: string) => {
        const u = new URL(url);
        u.username = user;
        u.password = pass;
        return u;
      };
      const proxy = withCredentials(broker.url, s.kafkaUser, s.kafkaPass).href;
      const streamOf = (url: URL) => {
        const u = withCredentials(url, s.streamUser, s.streamPass);
        u.searchParams.set("token", s.streamToken);
        u.searchParams.set("api_key", s.streamKey);
        return u.href;
      };
      const stream = streamOf(sse.url);
      const deadProxy = `http://${s.kafkaUser}:${s.kafkaPass}@127.0.0.1:${closedPort()}/`;
      const deadS3 = `http://${s.s3User}:${s.s3Pass}@127.0.0.1:${closedPort()}`;
      const lakeUrl = `s3://${s.lakeKeyId}:${s.lakeSecret}@wikistream-lake/events`;
      const common = { USER_AGENT, STREAM_SINCE: "2020-01-01T00:00:00Z" };
      const awsCredentials = { AWS_ACCESS_KEY_ID: s.awsKeyId, AWS_SECRET_ACCESS_KEY: s.awsSecret };

      const runs: Run[] = [];
      const run = async (name: string, task: string, o: Parameters<typeof runTask>[3]) => {
        const r = await runTask(name, task, dir, o);
        runs.push(r);
        return r;
      };

      await run("produce --print-config (env, flag)", "produce", {
        env: { KAFKA_REST_URL: proxy },
        args: ["--stream-url", stream, "--print-config"],
      });
      // the launcher's own --print-flags prints the program's arguments
      const flags = taskArgs("produce");
      flags.splice(flags.length - 1, 0, "--print-flags");
      const printed = await new Deno.Command(Deno.execPath(), {
        args: [...flags, "--stream-url", stream],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      runs.push({
        name: "launcher --print-flags produce",
        code: printed.code,
        output: new TextDecoder().decode(printed.stdout) + new TextDecoder().decode(printed.stderr),
      });
      assert.match(runs.at(-1)!.output, /--stream-url/);
      const produced = await run("produce (.env)", "produce", {
        dotenv: {
          ...common,
          STREAM_URL: stream,
          KAFKA_REST_URL: proxy,
          STATE_DIR: "./state",
          PRODUCE_MAX_EVENTS: "20",
        },
      });
      assert.equal(produced.code, 0, produced.output.slice(-3000));
      assert.match(produced.output, /"msg":"producing"/);
      const unreachable = await run("produce, proxy unreachable", "produce", {
        dotenv: { ...common, STREAM_URL: stream, STATE_DIR: "./state-dead" },
        env: { KAFKA_REST_URL: deadProxy },
        stopWhen: /produce request failed: retrying/,
        stopAfterMs: 20_000,
      });
      assert.match(unreachable.output, /produce request failed: retrying/);
      const refused = await run("produce, stream answers 403", "produce", {
        dotenv: { ...common, STATE_DIR: "./state-403", KAFKA_REST_URL: proxy },
        args: ["--stream-url", streamOf(refusing.url)],
      });
      assert.equal(refused.code, 2, refused.output.slice(-3000));

      await run("consume --print-config (env, flag)", "consume", {
        env: { S3_ENDPOINT: deadS3, OUTPUT_URL: lakeUrl },
        args: ["--kafka-rest-url", proxy, "--print-config"],
      });
      const consumed = await run("consume (.env)", "consume", {
        dotenv: {
          KAFKA_REST_URL: proxy,
          OUTPUT_URL: "./lake",
          CONSUMER_GROUP: "secrets",
          CONSUMER_UNTIL_IDLE_MS: "1000",
        },
      });
      assert.equal(consumed.code, 0, consumed.output.slice(-3000));
      assert.match(consumed.output, /"msg":"consumer starting"/);
      const s3Down = await run("consume, S3 endpoint unreachable", "consume", {
        dotenv: { KAFKA_REST_URL: proxy, OUTPUT_URL: "s3://wikistream-lake/events" },
        env: { S3_ENDPOINT: deadS3, S3_FORCE_PATH_STYLE: "true", ...awsCredentials },
        stopWhen: /lake store failing|S3 call failed/,
        stopAfterMs: 20_000,
      });
      assert.match(s3Down.output, /lake store failing|S3 call failed/);
      await run("consume, credentials in OUTPUT_URL", "consume", {
        env: { KAFKA_REST_URL: proxy, OUTPUT_URL: lakeUrl },
      });

      const brokerRun = await run("broker run", "broker", {
        env: { BROKER_ADVERTISED_URL: `http://adv:${s.advertisedPass}@127.0.0.1:1/` },
        args: ["--port", "0", "--data-dir", `${dir}/broker2`],
        stopWhen: /listening on/,
      });
      assert.match(brokerRun.output, /listening on/);
      await run("broker --print-config", "broker", {
        env: { BROKER_ADVERTISED_URL: `http://adv:${s.advertisedPass}@127.0.0.1:1/` },
        args: ["--print-config"],
      });

      await run("start --print-config (flag, env)", "start", {
        env: { S3_ENDPOINT: deadS3 },
        args: ["--stream-url", stream, "--print-config"],
      });
      const started = await run("start (flag)", "start", {
        dotenv: { USER_AGENT, OUTPUT_URL: "./lake-start", STATE_DIR: "./state-start" },
        env: { BROKER_DATA_DIR: `${dir}/broker-start`, BROKER_PORT: "0" },
        args: ["--stream-url", stream],
        stopWhen:
          /"msg":"producing"[\s\S]*"msg":"consumer starting"|"msg":"consumer starting"[\s\S]*"msg":"producing"/,
        stopAfterMs: 30_000,
      });
      assert.match(started.output, /"msg":"producing"/);

      await run("query (.env)", "query", {
        dotenv: { OUTPUT_URL: lakeUrl },
        args: ["SELECT 1"],
      });
      await run("query --print-config", "query", {
        env: { OUTPUT_URL: lakeUrl },
        args: ["--print-config"],
      });
      await run("verify (env)", "verify", { env: { OUTPUT_URL: lakeUrl, S3_ENDPOINT: deadS3 } });
      await run("verify, S3 endpoint unreachable", "verify", {
        env: { OUTPUT_URL: "s3://wikistream-lake/events", S3_ENDPOINT: deadS3, ...awsCredentials },
        args: ["--s3-force-path-style", "true"],
      });
      await run("verify --print-config", "verify", {
        args: ["--output-url", lakeUrl, "--s3-endpoint", deadS3, "--print-config"],
      });

      const leaked = runs.map((r) => [r.name, leaks(r)] as const).filter(([, l]) => l.length > 0);
      assert.deepEqual(
        leaked,
        [],
        leaked.map(([name]) => {
          const r = runs.find((x) => x.name === name)!;
          const lines = r.output.split("\n").filter((l) =>
            Object.values(s).some((v) => l.includes(v))
          );
          return `${name}:\n  ${lines.slice(0, 5).join("\n  ")}`;
        }).join("\n"),
      );
      // the runs showed the URLs, without their credentials
      const all = runs.map((r) => r.output).join("\n");
      assert.match(all, /<redacted>@127\.0\.0\.1/);
      assert.match(all, /token=<redacted>/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
