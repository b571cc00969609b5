/**
 * The test suite's stand-in for stream.wikimedia.org: a thin wrapper around
 * `lib/replay/replay_server.ts` (the server behind `deno task replay`), plus reading the
 * shared recordings (`../shared/data/recentchange/*.ndjson`).
 *
 * Also a CLI for end-to-end tests:
 * `deno run -A tests/_helpers/sse_server.ts --file a.ndjson --port 0 --cut-every 300`
 * prints the stream URL on stdout and runs until SIGINT/SIGTERM.
 *
 * @module
 */
import {
  type ReplayConnectionRecord,
  type ReplayServerOptions,
  type RunningReplayServer,
  startReplayServer,
} from "../../lib/replay/replay_server.ts";
import { parseCliFlags } from "./test_utils.ts";

export { PRIMARY_TOPIC, SECONDARY_TOPIC } from "../../lib/replay/replay_server.ts";

/** Where the shared recordings live. */
export const RECORDINGS_DIR: URL = new URL("../../../shared/data/recentchange/", import.meta.url);

/**
 * Reads the first lines of a recording.
 *
 * @param name file name in the recordings folder (or a path/URL)
 * @param limit how many lines to keep
 * @returns the event texts
 */
export async function readRecordedLines(name: string | URL, limit?: number): Promise<string[]> {
  const url = typeof name === "string" && !name.includes("/")
    ? new URL(name, RECORDINGS_DIR)
    : name;
  const text = await Deno.readTextFile(url);
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  return limit === undefined ? lines : lines.slice(0, limit);
}

/** What the server saw for one connection. */
export type SseConnectionRecord = ReplayConnectionRecord;
/** Options for {@linkcode startSseServer} (those of the replay server). */
export type SseServerOptions = ReplayServerOptions;
/** A running test SSE server. */
export type RunningSseServer = RunningReplayServer;

/**
 * Starts the replay server on 127.0.0.1 for a test (rate 0: every event at once).
 *
 * @param options what to serve and which faults to inject
 * @returns the running server
 */
export function startSseServer(options: SseServerOptions): Promise<RunningSseServer> {
  return startReplayServer(options);
}

async function main(): Promise<void> {
  const cli = parseCliFlags(Deno.args);
  if (!cli.file) {
    // deno-lint-ignore no-console
    console.error(
      "usage: sse_server.ts --file <name.ndjson|path> [--limit N] [--port 0] [--cut-every N] " +
        "[--cut-mode close|reset] [--cut-probability P] [--seed S] [--status 429,500] [--at-end hold|close]",
    );
    Deno.exitCode = 2;
    return;
  }
  const options: SseServerOptions = {
    events: await readRecordedLines(cli.file, cli.limit ? Number(cli.limit) : undefined),
    port: Number(cli.port ?? 0),
    atEnd: cli["at-end"] === "close" ? "close" : "hold",
  };
  if (cli["cut-every"]) options.cutEvery = Number(cli["cut-every"]);
  if (cli["cut-mode"] === "reset") options.cutMode = "reset";
  if (cli["cut-probability"]) options.cutProbability = Number(cli["cut-probability"]);
  if (cli.seed) options.seed = Number(cli.seed);
  if (cli.status) options.statuses = cli.status.split(",").map(Number);
  if (cli.hostname) options.hostname = cli.hostname;
  const server = await startSseServer(options);
  // deno-lint-ignore no-console
  console.log(server.url.href);
  let stop = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = () => void server.close().then(resolve);
  });
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await stopped;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
}

if (import.meta.main) await main();
