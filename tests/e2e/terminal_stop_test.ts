/**
 * Stopping the programs the way users do: Ctrl-C in a real terminal (tmux) under
 * `deno task`, `timeout -s INT`, and a signal to the whole process group (systemd's
 * `KillMode=control-group`, orchestrators). A terminal delivers one Ctrl-C to every
 * process of its foreground group (`deno task`, the launcher, the program) and
 * `deno task` and the launcher forward it too: the program must treat that burst
 * as one stop, drain, and exit 0; a second Ctrl-C a second later forces an exit.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startBroker } from "../../lib/broker/broker_server.ts";
import { loadRecordedEvents, produceEvents } from "../_helpers/produce_events.ts";
import { programArgs, taskArgs } from "../_helpers/program_command.ts";
import { readRecordedLines, startSseServer } from "../_helpers/sse_server.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const RECORDING = "6rzan-real-time-system_2026-05-05.ndjson";
const USER_AGENT = "wikistream-tests/0.1 (https://example.org; tests@example.org)";

function quote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

async function sh(args: string[]): Promise<Deno.CommandOutput> {
  return await new Deno.Command(args[0]!, { args: args.slice(1), stdout: "piped", stderr: "piped" })
    .output();
}

async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function readOr(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "";
  }
}

/** A command in a tmux terminal; its exit code lands in `exitFile`. */
class Terminal implements AsyncDisposable {
  readonly session = `wikistream-${crypto.randomUUID().slice(0, 8)}`;
  constructor(readonly dir: string) {}

  get log(): string {
    return `${this.dir}/terminal.log`;
  }

  async start(command: string[], env: Record<string, string>): Promise<void> {
    const exports = Object.entries(env).map(([k, v]) => `export ${k}=${quote(v)};`).join(" ");
    const line = `cd ${quote(ROOT)}; ${exports} ${command.map(quote).join(" ")} ` +
      `> ${quote(this.log)} 2>&1; echo $? > ${quote(`${this.dir}/exit`)}; sleep 600`;
    const out = await sh([
      "tmux",
      "new-session",
      "-d",
      "-s",
      this.session,
      "-x",
      "200",
      "-y",
      "50",
      line,
    ]);
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
  }

  async ctrlC(): Promise<void> {
    const out = await sh(["tmux", "send-keys", "-t", this.session, "C-c"]);
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
  }

  /** Waits for the command's exit code. */
  exit(timeoutMs: number): Promise<number> {
    return waitFor("the terminal command to exit", async () => {
      const text = (await readOr(`${this.dir}/exit`)).trim();
      return text === "" ? undefined : Number(text);
    }, timeoutMs);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await sh(["tmux", "kill-session", "-t", this.session]);
  }
}

function logLines(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

Deno.test({
  name:
    "one Ctrl-C in a terminal running `deno task start` drains every part and exits 0 well within its 45 s bound",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "wikistream-ctrl-c-" });
    try {
      const lines = await readRecordedLines(RECORDING, 2000);
      await using sse = await startSseServer({ events: lines, rate: 100 });
      await using terminal = new Terminal(dir);
      await terminal.start([
        "deno",
        "task",
        "start",
        `--stream-url=${sse.url.href}`,
        "--since=2020-01-01T00:00:00Z",
        "--broker-port=0",
        `--broker-data-dir=${dir}/broker`,
        `--state-dir=${dir}/producer`,
        `--output-url=${dir}/lake`,
        "--flush-interval-ms=1000",
        "--progress-interval-ms=0",
        "--metrics-port=0",
        "--log-format=json",
      ], { USER_AGENT });
      // running for real: the consumer has committed something
      await waitFor("a committed unit", async () => {
        const text = await readOr(terminal.log);
        return /"msg":"unit committed"|committed/.test(text) ? true : undefined;
      });
      const before = performance.now();
      await terminal.ctrlC();
      const code = await terminal.exit(45_000);
      const stopMs = performance.now() - before;
      const log = await readOr(terminal.log);
      assert.equal(code, 0, log.slice(-3000));
      assert.doesNotMatch(log, /second signal/);
      assert.doesNotMatch(log, /stopped before every batch was acknowledged/);
      const stopping = logLines(log).filter((l) => l.msg === "stopping");
      assert.equal(stopping.length, 1, "one Ctrl-C is one stop");
      assert.ok(stopMs < 20_000, `stopped in ${Math.round(stopMs)} ms`);
      const verify = await new Deno.Command(Deno.execPath(), {
        args: programArgs("verify", [], { OUTPUT_URL: `${dir}/lake` }),
        env: { OUTPUT_URL: `${dir}/lake` },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(verify.code, 0, new TextDecoder().decode(verify.stdout));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "a second Ctrl-C a second after the first forces `deno task produce` to exit 130 without waiting for the drain",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "wikistream-ctrl-c-twice-" });
    // a REST Proxy that passes the start-up check (GET /topics) and never answers a produce
    // request: the drain would wait 20 s
    let produceRequests = 0;
    const release = Promise.withResolvers<void>();
    const silent = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (request) => {
        if (request.method === "GET") return Response.json([]);
        produceRequests++;
        await release.promise;
        return new Response(null, { status: 503 });
      },
    );
    try {
      const lines = await readRecordedLines(RECORDING, 500);
      await using sse = await startSseServer({ events: lines, rate: 100 });
      await using terminal = new Terminal(dir);
      await terminal.start(["deno", "task", "produce", "--log-format=json"], {
        USER_AGENT,
        STREAM_URL: sse.url.href,
        STREAM_SINCE: "2020-01-01T00:00:00Z",
        KAFKA_REST_URL: `http://127.0.0.1:${silent.addr.port}`,
        STATE_DIR: `${dir}/state`,
        PROGRESS_INTERVAL_MS: "0",
      });
      await waitFor(
        "a produce request",
        () => Promise.resolve(produceRequests > 0 ? true : undefined),
      );
      await terminal.ctrlC();
      await waitFor(
        "the stop",
        async () => /"msg":"stopping"/.test(await readOr(terminal.log)) || undefined,
      );
      await new Promise((r) => setTimeout(r, 1_300));
      const before = performance.now();
      await terminal.ctrlC();
      const code = await terminal.exit(10_000);
      const log = await readOr(terminal.log);
      assert.equal(code, 130, log.slice(-2000));
      assert.match(log, /second signal: exiting now without draining/);
      assert.ok(performance.now() - before < 5_000);
    } finally {
      release.resolve();
      await silent.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "`timeout -s INT` around `deno task produce` (it signals the whole process group) drains and exits 0",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "wikistream-timeout-" });
    try {
      await using broker = await startBroker({ dataDir: `${dir}/broker`, partitions: 3 });
      const lines = await readRecordedLines(RECORDING, 3000);
      await using sse = await startSseServer({ events: lines, rate: 200 });
      const out = await new Deno.Command("timeout", {
        args: [
          "--preserve-status",
          "-s",
          "INT",
          "6",
          "deno",
          "task",
          "produce",
          "--log-format=json",
        ],
        cwd: ROOT,
        env: {
          USER_AGENT,
          STREAM_URL: sse.url.href,
          STREAM_SINCE: "2020-01-01T00:00:00Z",
          KAFKA_REST_URL: broker.url.href,
          STATE_DIR: `${dir}/state`,
          PROGRESS_INTERVAL_MS: "0",
        },
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000),
      }).output();
      const log = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, log.slice(-3000));
      assert.doesNotMatch(log, /second signal/);
      assert.equal(logLines(log).filter((l) => l.msg === "stopping").length, 1);
      assert.match(log, /"component":"producer","msg":"stopped"/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "SIGTERM to the process group of the consume and broker task commands (systemd, orchestrators) drains and exits 0",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "wikistream-group-" });
    try {
      await using broker = await startBroker({ dataDir: `${dir}/broker`, partitions: 2 });
      await produceEvents(broker.url, await loadRecordedEvents(1000));
      const runs: [string, string[], Record<string, string>, RegExp][] = [
        ["consume", [], {
          KAFKA_REST_URL: broker.url.href,
          OUTPUT_URL: `${dir}/lake`,
          FLUSH_INTERVAL_MS: "600000",
        }, /"msg":"consumer starting"/],
        ["broker", ["--port", "0", "--data-dir", `${dir}/broker2`], {}, /"msg":"broker ready"/],
      ];
      for (const [task, args, env, ready] of runs) {
        // setsid: the task's command leads a process group of its own, as under systemd or in
        // a container. (Not `deno task` itself: deno task 2.9.6 sometimes dies of the group's
        // SIGTERM with 143 when its child exited first, a race of the task runner; the tmux
        // and `timeout` tests go through `deno task`.)
        const child = new Deno.Command("setsid", {
          args: [Deno.execPath(), ...taskArgs(task), "--log-format=json", ...args],
          cwd: ROOT,
          env: { ...env, LOG_LEVEL: "info" },
          stdout: "null",
          stderr: "piped",
        }).spawn();
        const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
        let log = "";
        while (!ready.test(log)) {
          const { value, done } = await reader.read();
          if (done) break;
          log += value;
        }
        await new Promise((r) => setTimeout(r, 3_000));
        Deno.kill(-child.pid, "SIGTERM");
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          log += value;
        }
        const status = await child.status;
        assert.equal(status.code, 0, `${task}: ${log.slice(-2000)}`);
        assert.match(log, /"msg":"(consumer|broker) stopped"/, task);
        assert.doesNotMatch(log, /second signal/, task);
        assert.equal(logLines(log).filter((l) => l.msg === "stopping").length, 1, task);
      }
      const rows = await new Deno.Command(Deno.execPath(), {
        args: programArgs("verify", [], { OUTPUT_URL: `${dir}/lake` }),
        env: { OUTPUT_URL: `${dir}/lake` },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(rows.code, 0, new TextDecoder().decode(rows.stdout));
      assert.match(new TextDecoder().decode(rows.stdout), /\b1000\b/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
