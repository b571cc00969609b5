/**
 * Starts `broker.ts` as a subprocess (for SIGKILL / restart tests) and waits for its
 * ready line `wikistream broker listening on http://HOST:PORT` (or `https://`) on stdout.
 *
 * @module
 */
import { programArgs } from "./program_command.ts";

/** Options for {@linkcode spawnBroker}. */
export interface SpawnBrokerOptions {
  /** The broker's data directory. */
  dataDir: string;
  /** Port. @default 0 (any free port) */
  port?: number;
  /** More command-line arguments, e.g. `["--instance-timeout-ms", "500"]`. */
  extraArgs?: string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Longest wait for the ready line. @default 20000 */
  readyTimeoutMs?: number;
  /**
   * A command that runs the broker in its place, such as `["prlimit", "--nofile=256:256"]`;
   * it must exec the broker (keep its pid) so that signals reach it.
   */
  wrapper?: string[];
  /** Characters of stderr kept for {@linkcode BrokerProcess.stderr}. @default 8192 */
  stderrLimit?: number;
}

/** A running broker subprocess. */
export interface BrokerProcess {
  /** Root URL with a trailing slash. */
  url: URL;
  /** The child process. */
  child: Deno.ChildProcess;
  /** The broker's stderr so far (the last `stderrLimit` characters, 8 KiB by default). */
  stderr(): string;
  /** Sends a signal and waits for the process to exit (and its pipes to close). */
  kill(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

const READY_REGEXP = /wikistream broker listening on (https?:\/\/\S+)/;

/**
 * Spawns the broker and waits until it is ready.
 *
 * @param options data directory, port, arguments and environment
 * @returns the URL and a handle to stop it
 * @throws {Error} with the broker's stderr when it exits or is not ready in time
 */
export async function spawnBroker(options: SpawnBrokerOptions): Promise<BrokerProcess> {
  const env = { LOG_FORMAT: "json", LOG_LEVEL: "warn", ...options.env };
  const args = programArgs("broker", [
    "--data-dir",
    options.dataDir,
    "--port",
    String(options.port ?? 0),
    ...(options.extraArgs ?? []),
  ], env);
  const [command, ...prefix] = options.wrapper ?? [Deno.execPath()];
  const child = new Deno.Command(command!, {
    args: options.wrapper ? [...prefix, Deno.execPath(), ...args] : args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // drain stderr into a bounded tail for diagnostics
  let stderrTail = "";
  const stderrDone = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({
      write(chunk) {
        stderrTail = (stderrTail + chunk).slice(-(options.stderrLimit ?? 8192));
      },
    }),
  ).catch(() => {});
  const lines = child.stdout.pipeThrough(new TextDecoderStream());
  const reader = lines.getReader();
  let buffered = "";
  let url: URL | undefined;
  const timer = setTimeout(() => {
    reader.cancel().catch(() => {});
  }, options.readyTimeoutMs ?? 20_000);
  try {
    while (url === undefined) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered = (buffered + value).slice(-8192);
      const m = READY_REGEXP.exec(buffered);
      if (m) url = new URL(m[1]!.endsWith("/") ? m[1]! : `${m[1]}/`);
    }
  } finally {
    clearTimeout(timer);
  }
  // keep draining stdout so the broker never blocks on a full pipe
  const stdoutDone = (async () => {
    try {
      while (!(await reader.read()).done) { /* discard */ }
    } catch {
      // cancelled
    }
  })();
  const kill = async (signal: Deno.Signal = "SIGTERM") => {
    try {
      child.kill(signal);
    } catch {
      // already exited
    }
    const status = await child.status;
    await stdoutDone;
    await stderrDone;
    return status;
  };
  if (url === undefined) {
    await kill("SIGKILL");
    throw new Error(
      `Cannot start the broker subprocess: no ready line on stdout; stderr: ${stderrTail}`,
    );
  }
  return { url, child, kill, stderr: () => stderrTail };
}
