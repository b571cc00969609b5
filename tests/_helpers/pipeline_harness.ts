/**
 * Process orchestration for end-to-end tests: the test SSE server, the broker, the
 * producer, the consumer and an s3rver store, each as a separate `deno run` process
 * with its own temporary folder, port 0 (or the port of its previous incarnation on a
 * restart), ready-line parsing on stdout, and stdout + stderr appended to one log file
 * per role under `<root>/logs/` for debugging. {@linkcode PipelineHarness.close} kills
 * every child still running and waits for it, whatever happened before.
 *
 * The lake is in s3rver (the default) or in a local folder (`lake: "local"`); the
 * consumer, `verify.ts` and the lake readers ({@linkcode PipelineHarness.lakeFolder},
 * {@linkcode PipelineHarness.lakeFingerprint}) follow that choice.
 *
 * @module
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import {
  S3RVER_CREDENTIALS,
  S3RVER_READY_REGEXP,
  s3rverClientEnv,
  s3rverProcessFlags,
} from "./s3_server_process.ts";
import { ProducerStateStore } from "../../lib/producer/producer_state_store.ts";
import { programArgs, taskOfEntry } from "./program_command.ts";

const ROOT = new URL("../../", import.meta.url);
const SSE_SERVER = new URL("tests/_helpers/sse_server.ts", ROOT).pathname;
const S3_SERVER = new URL("tests/_helpers/s3_server_process.ts", ROOT).pathname;
const BROKER = new URL("broker.ts", ROOT).pathname;
const PRODUCER = new URL("producer.ts", ROOT).pathname;
const CONSUMER = new URL("consumer.ts", ROOT).pathname;
const VERIFY = new URL("verify.ts", ROOT).pathname;

const BROKER_READY = /wikistream broker listening on (http:\/\/\S+)/;
const SSE_READY = /(http:\/\/\S+\/v2\/stream\/recentchange)/;
const TAIL_CHARS = 6000;
const HEAD_CHARS = 16_000;

/** The topic every end-to-end test uses. */
export const E2E_TOPIC = "wikimedia-changes";

/** A child process started by the harness. */
export class ManagedProcess {
  /** Role name (`producer`, `broker`, …). */
  readonly name: string;
  /** The child. */
  readonly child: Deno.ChildProcess;
  /** URL from the ready line, when the role prints one. */
  url: string | undefined;
  /** Resolves with the exit status once the process exited and its output is drained. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Set once the process exited. */
  exitStatus: Deno.CommandStatus | undefined;
  /** Set when the harness asked the process to stop (a kill or a stop). */
  stopRequested = false;
  #head = "";
  #tail = "";
  #onOutput: ((text: string) => void) | undefined;

  constructor(name: string, child: Deno.ChildProcess, log: Deno.FsFile) {
    this.name = name;
    this.child = child;
    const encoder = new TextEncoder();
    let chain = Promise.resolve();
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) {
        if (this.#head.length < HEAD_CHARS) this.#head += text.slice(0, HEAD_CHARS);
        this.#tail = (this.#tail + text).slice(-TAIL_CHARS);
        this.#onOutput?.(text);
        const bytes = encoder.encode(text);
        chain = chain.then(async () => {
          let written = 0;
          while (written < bytes.length) written += await log.write(bytes.subarray(written));
        });
      }
    };
    const drained = Promise.all([pump(child.stdout), pump(child.stderr)]);
    this.status = (async () => {
      const status = await child.status;
      await drained.catch(() => {});
      await chain.catch(() => {});
      log.close();
      this.exitStatus = status;
      this.#onOutput = undefined;
      return status;
    })();
  }

  /** The last few thousand characters of output. */
  get tail(): string {
    return this.#tail;
  }

  /** Whether the process is still running. */
  get running(): boolean {
    return this.exitStatus === undefined;
  }

  /**
   * Waits until the output matches a pattern (the first and the last few thousand
   * characters are searched first, then new output).
   *
   * @param pattern what to look for (group 1 becomes {@linkcode url})
   * @param timeoutMs longest wait
   * @returns the match
   * @throws {Error} with the output tail when the process exits or the wait times out
   */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    let found = pattern.exec(this.#head) ?? pattern.exec(this.#tail);
    if (found) return found;
    let buffer = this.#tail;
    let resolveMatch!: (m: RegExpExecArray) => void;
    const matched = new Promise<RegExpExecArray>((resolve) => (resolveMatch = resolve));
    this.#onOutput = (text) => {
      buffer = (buffer + text).slice(-TAIL_CHARS);
      const m = pattern.exec(buffer);
      if (m) resolveMatch(m);
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    try {
      const result = await Promise.race([matched, this.status, timedOut]);
      if (Array.isArray(result)) return result as RegExpExecArray;
      found = pattern.exec(buffer);
      if (found) return found;
      throw new Error(
        `${this.name} ${result === "timeout" ? "printed no" : "exited before its"} ready line ` +
          `(${pattern}); output:\n${this.#tail}`,
      );
    } finally {
      clearTimeout(timer);
      this.#onOutput = undefined;
    }
  }

  /**
   * Sends a signal without waiting and without marking the process as stopping
   * (`SIGSTOP`, `SIGCONT`).
   *
   * @param signal the signal
   * @returns false when the process had already exited
   */
  signal(signal: Deno.Signal): boolean {
    if (!this.running) return false;
    try {
      this.child.kill(signal);
      return true;
    } catch {
      return false; // exited meanwhile
    }
  }

  /**
   * Sends a signal (once) and waits for the exit.
   *
   * @param signal the signal
   * @returns the exit status
   */
  async kill(signal: Deno.Signal = "SIGKILL"): Promise<Deno.CommandStatus> {
    this.stopRequested = true;
    if (this.running) {
      try {
        this.child.kill(signal);
      } catch {
        // exited meanwhile
      }
    }
    return await this.status;
  }
}

/** Where the lake lives: in s3rver (through the S3 API) or in a local folder. */
export type LakeKind = "s3" | "local";

/** Options of {@linkcode PipelineHarness.create}. */
export interface PipelineHarnessOptions {
  /** Event texts (NDJSON lines) the SSE server replays, in stream order. */
  events: readonly string[];
  /** Where the consumer writes the lake. @default "s3" */
  lake?: LakeKind;
  /** Temp folder name prefix. @default "wikistream-e2e-" */
  prefix?: string;
  /** Keep the temp folder after close (also with `WIKISTREAM_KEEP_E2E=1`). @default false */
  keep?: boolean;
}

/** Options of a program started by the harness. */
export interface ProgramStartOptions {
  /** Role name: log file `logs/<role>.log` and the key of {@linkcode PipelineHarness.latest}. */
  role?: string;
}

/** Options of the broker. */
export interface BrokerStartOptions {
  /** Serve the `/_admin` fault endpoints. @default false */
  faults?: boolean;
  /** Partitions of auto-created topics. @default 3 */
  partitions?: number;
  /** Further arguments. */
  extraArgs?: string[];
}

/** Options of the SSE server. */
export interface SseStartOptions {
  /** Cut each connection after this many events. */
  cutEvery?: number;
  /** Port (a restart reuses the previous one). @default 0 */
  port?: number;
}

/** Orchestrates the pipeline's processes for one test. */
export class PipelineHarness {
  /** The temp root. */
  readonly root: string;
  /** The NDJSON file the SSE server replays. */
  readonly eventsFile: string;
  /** Broker data folder. */
  readonly brokerDir: string;
  /** Producer `STATE_DIR`. */
  readonly producerStateDir: string;
  /** s3rver folder. */
  readonly s3Dir: string;
  /** Where the lake lives. */
  readonly lake: LakeKind;
  /** The lake folder when {@linkcode lake} is `"local"`. */
  readonly lakeDir: string;
  /** Log folder (one file per role). */
  readonly logsDir: string;
  /** The S3 bucket. */
  readonly bucket = "wikistream-e2e";
  /** The lake prefix inside the bucket. */
  readonly lakePrefix = "lake";
  /** Every process ever started, in start order. */
  readonly processes: ManagedProcess[] = [];
  #keep: boolean;
  #starts = new Map<string, number>();
  #ports = new Map<string, number>();
  #downloads = 0;

  private constructor(root: string, keep: boolean, lake: LakeKind) {
    this.root = root;
    this.eventsFile = `${root}/events.ndjson`;
    this.brokerDir = `${root}/broker`;
    this.producerStateDir = `${root}/producer`;
    this.s3Dir = `${root}/s3`;
    this.lake = lake;
    this.lakeDir = `${root}/lake`;
    this.logsDir = `${root}/logs`;
    this.#keep = keep;
  }

  /**
   * Creates the temp folders and writes the events file.
   *
   * @param options events and temp folder options
   * @returns the harness
   */
  static async create(options: PipelineHarnessOptions): Promise<PipelineHarness> {
    const root = await Deno.makeTempDir({ prefix: options.prefix ?? "wikistream-e2e-" });
    const keep = options.keep ?? Deno.env.get("WIKISTREAM_KEEP_E2E") === "1";
    const h = new PipelineHarness(root, keep, options.lake ?? "s3");
    for (const dir of [h.brokerDir, h.producerStateDir, h.s3Dir, h.lakeDir, h.logsDir]) {
      await Deno.mkdir(dir, { recursive: true });
    }
    await Deno.writeTextFile(h.eventsFile, options.events.join("\n") + "\n");
    return h;
  }

  /** The `OUTPUT_URL` of the lake. */
  get outputUrl(): string {
    return this.lake === "local" ? this.lakeDir : `s3://${this.bucket}/${this.lakePrefix}`;
  }

  /** What the consumer and `verify.ts` need to reach the lake's store. */
  #lakeStoreEnv(): Record<string, string> {
    return this.lake === "local" ? {} : s3rverClientEnv(this.urlOf("s3rver"));
  }

  /** The current URL of a role (from its last ready line). */
  urlOf(role: string): string {
    const p = this.processes.findLast((x) => x.name === role);
    if (!p?.url) throw new Error(`Cannot find the URL of ${role}: it was never started`);
    return p.url;
  }

  /** The newest process of a role, if any. */
  latest(role: string): ManagedProcess | undefined {
    return this.processes.findLast((x) => x.name === role);
  }

  /**
   * Starts a `deno run -A` process whose output goes to `logs/<role>.log`.
   *
   * @param role role name (log file name)
   * @param args script and arguments
   * @param env environment additions
   * @returns the process
   */
  async spawn(role: string, args: string[], env: Record<string, string>): Promise<ManagedProcess> {
    const n = (this.#starts.get(role) ?? 0) + 1;
    this.#starts.set(role, n);
    const log = await Deno.open(`${this.logsDir}/${role}.log`, { append: true, create: true });
    await log.write(
      new TextEncoder().encode(
        `\n----- ${role} start #${n} at ${new Date().toISOString()} -----\n`,
      ),
    );
    // Programs run with their task's permissions; the test doubles with what they use.
    const fullEnv = { NO_COLOR: "1", ...env };
    const task = taskOfEntry(args[0]!);
    const child = new Deno.Command(Deno.execPath(), {
      args: task
        ? programArgs(task, args.slice(1), fullEnv)
        : ["run", "--no-prompt", ...this.#doubleFlags(args[0]!), ...args],
      env: fullEnv,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const p = new ManagedProcess(role, child, log);
    this.processes.push(p);
    return p;
  }

  /** Permissions of a test double: loopback, its own folders, nothing else. */
  #doubleFlags(script: string): string[] {
    if (script === S3_SERVER) return s3rverProcessFlags(this.s3Dir);
    return ["--allow-net=127.0.0.1", "--allow-env", `--allow-read=${this.eventsFile}`];
  }

  async #startServer(
    role: string,
    args: (port: number) => string[],
    env: Record<string, string>,
    ready: RegExp,
    port: number | undefined,
  ): Promise<ManagedProcess> {
    const wanted = port ?? this.#ports.get(role) ?? 0;
    // the previous incarnation's port may still be held for a moment: retry
    for (let attempt = 1;; attempt++) {
      const p = await this.spawn(role, args(wanted), env);
      try {
        const m = await p.waitFor(ready, 30_000);
        p.url = m[1]!.replace(/\/$/, "");
        this.#ports.set(role, Number(new URL(p.url).port));
        return p;
      } catch (error) {
        await p.kill("SIGKILL");
        if (attempt >= 20 || wanted === 0) throw error;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /**
   * Starts (or restarts, on the same port and folder) the s3rver store.
   *
   * @returns the process; its url is the S3 endpoint
   */
  startS3(): Promise<ManagedProcess> {
    return this.#startServer(
      "s3rver",
      (
        port,
      ) => [S3_SERVER, "--directory", this.s3Dir, "--port", String(port), "--bucket", this.bucket],
      {},
      S3RVER_READY_REGEXP,
      undefined,
    );
  }

  /**
   * Starts (or restarts, on the same port and data folder) the broker.
   *
   * @param options fault endpoints and extra arguments
   * @returns the process; its url is the REST Proxy URL
   */
  startBroker(options: BrokerStartOptions = {}): Promise<ManagedProcess> {
    return this.#startServer(
      "broker",
      (port) => [
        BROKER,
        "--data-dir",
        this.brokerDir,
        "--port",
        String(port),
        "--partitions",
        String(options.partitions ?? 3),
        ...(options.faults ? ["--faults"] : []),
        ...(options.extraArgs ?? []),
      ],
      { LOG_FORMAT: "json", LOG_LEVEL: "warn" },
      BROKER_READY,
      undefined,
    );
  }

  /**
   * Starts (or restarts, on the same port) the test SSE server on the events file.
   *
   * @param options cuts and port
   * @returns the process; its url is the stream URL
   */
  startSse(options: SseStartOptions = {}): Promise<ManagedProcess> {
    return this.#startServer(
      "sse",
      (port) => [
        SSE_SERVER,
        "--file",
        this.eventsFile,
        "--port",
        String(port),
        "--at-end",
        "hold",
        ...(options.cutEvery ? ["--cut-every", String(options.cutEvery)] : []),
      ],
      {},
      SSE_READY,
      options.port,
    );
  }

  /**
   * Starts a producer against the current SSE server and broker.
   *
   * @param args extra arguments (`--since`, `--max-events`)
   * @param env extra environment (batching, backoff; `STATE_DIR` for a second producer)
   * @param options role name (default `producer`)
   * @returns the process
   */
  startProducer(
    args: string[] = [],
    env: Record<string, string> = {},
    options: ProgramStartOptions = {},
  ): Promise<ManagedProcess> {
    return this.spawn(options.role ?? "producer", [PRODUCER, ...args], {
      STREAM_URL: this.urlOf("sse"),
      KAFKA_REST_URL: this.urlOf("broker"),
      KAFKA_TOPIC: E2E_TOPIC,
      STATE_DIR: this.producerStateDir,
      USER_AGENT: "wikistream-e2e/0.1 (https://example.org; tests@example.org)",
      PRODUCE_LINGER_MS: "20",
      PRODUCE_RETRY_BACKOFF_MS: "50",
      PRODUCE_RETRY_BACKOFF_MAX_MS: "500",
      STREAM_RECONNECT_BACKOFF_MS: "50",
      STREAM_RECONNECT_BACKOFF_MAX_MS: "500",
      STREAM_IDLE_TIMEOUT_MS: "5000",
      PROGRESS_INTERVAL_MS: "0",
      LOG_FORMAT: "json",
      LOG_LEVEL: "info",
      ...env,
    });
  }

  /**
   * Starts a consumer writing the lake (to s3rver or the local folder).
   *
   * @param args extra arguments (`--until-idle`)
   * @param env extra environment (flush settings, `CONSUMER_GROUP`, `CONSUMER_INSTANCE_ID`)
   * @param options role name (default `consumer`)
   * @returns the process
   */
  startConsumer(
    args: string[] = [],
    env: Record<string, string> = {},
    options: ProgramStartOptions = {},
  ): Promise<ManagedProcess> {
    return this.spawn(options.role ?? "consumer", [CONSUMER, ...args], {
      ...this.#lakeStoreEnv(),
      KAFKA_REST_URL: this.urlOf("broker"),
      KAFKA_TOPIC: E2E_TOPIC,
      OUTPUT_URL: this.outputUrl,
      CONSUMER_READ_TIMEOUT_MS: "200",
      CONSUMER_HEARTBEAT_MS: "500",
      PROGRESS_INTERVAL_MS: "0",
      LOG_FORMAT: "json",
      LOG_LEVEL: "info",
      ...env,
    });
  }

  /**
   * Runs `verify.ts` on the lake to completion.
   *
   * @returns the exit code and the combined output
   */
  async runVerify(): Promise<{ code: number; output: string }> {
    const p = await this.spawn("verify", [VERIFY], {
      ...this.#lakeStoreEnv(),
      OUTPUT_URL: this.outputUrl,
      LOG_FORMAT: "json",
    });
    const status = await p.status;
    return { code: status.code, output: p.tail };
  }

  /**
   * Calls a broker admin endpoint (`faults`, `expire-instances`).
   *
   * @param method HTTP method
   * @param path path under `/_admin/`
   * @param body JSON body
   * @returns the response JSON
   */
  async admin(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.urlOf("broker")}/_admin/${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`admin ${method} ${path}: HTTP ${response.status} ${text}`);
    return text === "" ? null : JSON.parse(text);
  }

  /**
   * Copies every object under the lake prefix from s3rver (through the S3 API) into a folder.
   *
   * @param dir the target folder (keys below the prefix become paths)
   * @returns the keys copied (relative to the prefix)
   */
  async downloadLake(dir: string): Promise<string[]> {
    const client = this.#s3Client();
    const keys: string[] = [];
    try {
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: `${this.lakePrefix}/`,
            ContinuationToken: token,
          }),
        );
        for (const o of page.Contents ?? []) keys.push(o.Key!);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      const relative: string[] = [];
      for (const key of keys) {
        const object = await client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
        const bytes = await object.Body!.transformToByteArray();
        const rel = key.slice(this.lakePrefix.length + 1);
        const path = `${dir}/${rel}`;
        await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
        await Deno.writeFile(path, bytes);
        relative.push(rel);
      }
      return relative;
    } finally {
      client.destroy();
    }
  }

  /**
   * A folder holding the lake as it is now: the local lake itself, or a fresh download of
   * the S3 lake.
   *
   * @returns the folder (topic folders and `_…` folders below it)
   */
  async lakeFolder(): Promise<string> {
    if (this.lake === "local") return this.lakeDir;
    const dir = `${this.root}/download-${++this.#downloads}`;
    await this.downloadLake(dir);
    return dir;
  }

  /**
   * A text that changes whenever an object of the lake is added, removed or rewritten
   * (key, size and modification time or ETag), for waiting until the lake stops changing.
   *
   * @returns the fingerprint
   */
  async lakeFingerprint(): Promise<string> {
    const entries: string[] = [];
    if (this.lake === "local") {
      const walk = async (dir: string): Promise<void> => {
        for await (const e of Deno.readDir(dir)) {
          if (e.name.startsWith(".")) continue; // a temp file of an atomic write
          const path = `${dir}/${e.name}`;
          if (e.isDirectory) await walk(path);
          else {
            const info = await Deno.stat(path).catch(() => undefined);
            if (info) entries.push(`${path} ${info.size} ${info.mtime?.getTime()}`);
          }
        }
      };
      await walk(this.lakeDir);
    } else {
      const client = this.#s3Client();
      try {
        let token: string | undefined;
        do {
          const page = await client.send(
            new ListObjectsV2Command({
              Bucket: this.bucket,
              Prefix: `${this.lakePrefix}/`,
              ContinuationToken: token,
            }),
          );
          for (const o of page.Contents ?? []) entries.push(`${o.Key} ${o.Size} ${o.ETag}`);
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
      } finally {
        client.destroy();
      }
    }
    return entries.sort().join("\n");
  }

  /**
   * Deletes objects from the lake (tests that need an empty lake between runs).
   *
   * @param keys keys relative to the prefix
   */
  async deleteLakeObjects(keys: readonly string[]): Promise<void> {
    const client = this.#s3Client();
    try {
      for (let i = 0; i < keys.length; i += 500) {
        await client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: {
              Objects: keys.slice(i, i + 500).map((k) => ({ Key: `${this.lakePrefix}/${k}` })),
            },
          }),
        );
      }
    } finally {
      client.destroy();
    }
  }

  #s3Client(): S3Client {
    return new S3Client({
      endpoint: this.urlOf("s3rver"),
      forcePathStyle: true,
      region: "us-east-1",
      credentials: { ...S3RVER_CREDENTIALS },
    });
  }

  /**
   * The last lines of every role's log, for assertion messages.
   *
   * @param roles which roles (default: every role started)
   * @returns a text block
   */
  async logTails(roles?: readonly string[]): Promise<string> {
    let out = `(logs in ${this.logsDir})\n`;
    for (const role of roles ?? [...new Set(this.processes.map((p) => p.name))]) {
      try {
        const text = await Deno.readTextFile(`${this.logsDir}/${role}.log`);
        out += `--- ${role}.log (tail) ---\n${text.slice(-3000)}\n`;
      } catch {
        // never started
      }
    }
    return out;
  }

  /** Kills every child still running, waits for all, and removes the temp folder. */
  async close(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.kill("SIGKILL")));
    if (this.#keep) {
      // deno-lint-ignore no-console
      console.log(`kept end-to-end folder ${this.root}`);
    } else await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }

  /** Same as {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Reads the producer's saved position (as the producer itself would on restart), if any.
 *
 * @param stateDir the producer's `STATE_DIR`
 * @returns the parsed state or undefined
 */
export async function readProducerState(
  stateDir: string,
): Promise<{ lastEventId: string; lastEventTimeMs: number | null } | undefined> {
  try {
    // The real loader: the newest position is in the journal, not in state.json.
    return await new ProducerStateStore({ dir: stateDir }).load();
  } catch {
    return undefined;
  }
}

/**
 * Waits until a predicate holds, polling.
 *
 * @param what description for the timeout error
 * @param predicate the condition
 * @param timeoutMs longest wait
 * @param intervalMs poll interval
 */
export async function waitUntil(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
