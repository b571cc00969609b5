/**
 * {@linkcode runReplay}: the `deno task replay` program: reads the NDJSON files
 * named on the command line, serves them with {@linkcode startReplayServer} as a
 * local EventStreams endpoint until the signal aborts, then ends open streams and
 * stops listening.
 *
 * @module
 */
import type { Logger } from "../cli/log.ts";
import { UsageError } from "../cli/usage_error.ts";
import type { ReplayConfig } from "./replay_config.ts";
import { readReplayEvents } from "./replay_events.ts";
import { startReplayServer } from "./replay_server.ts";

/** Dependencies of {@linkcode runReplay}. */
export interface RunReplayOptions {
  /** The NDJSON files to serve, in order (plain or gzip). */
  files: readonly string[];
  /** Stops the replay. */
  signal: AbortSignal;
  /** Logger. */
  log: Logger;
  /** Called with the stream URL once it listens (the entry prints it). */
  onListening?: (url: URL, events: number) => void | Promise<void>;
}

const USAGE = "usage: deno task replay [--rate N] [--loop] [--port P] FILE.ndjson[.gz]…, for " +
  "example deno task replay samples/recentchange-sample.ndjson.gz";

async function readFiles(files: readonly string[]): Promise<string[]> {
  try {
    return await readReplayEvents(files);
  } catch (error) {
    if (error instanceof SyntaxError) throw new UsageError(error.message, { cause: error });
    const path = files.find((f) => error instanceof Error && error.message.includes(f)) ??
      files.join(", ");
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(`Cannot read events from "${path}": no such file; ${USAGE}`, {
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * Serves the files until the signal aborts.
 *
 * @param config port, host, rate and loop
 * @param options files, stop signal, logger and a ready callback
 * @throws {UsageError} when no file is given, a file cannot be read or is not NDJSON,
 *   or the port is taken
 */
export async function runReplay(config: ReplayConfig, options: RunReplayOptions): Promise<void> {
  const { log, signal } = options;
  if (options.files.length === 0) {
    throw new UsageError(`Cannot replay: no file given; ${USAGE}`);
  }
  const events = await readFiles(options.files);
  let server;
  try {
    server = await startReplayServer({
      events,
      rate: config.rate,
      loop: config.loop,
      hostname: config.host,
      port: config.port,
    });
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new UsageError(
        `Cannot start the replay: port ${config.port} on ${config.host} is already in use; ` +
          "stop the other process or set REPLAY_PORT (--port) to a free port (0 picks one)",
        { cause: error },
      );
    }
    throw error;
  }
  try {
    log.info("replaying", {
      url: server.url.href,
      files: options.files,
      events: events.length,
      rate: config.rate,
      loop: config.loop,
      start: `deno task start --stream-url ${server.url.href}`,
    });
    await options.onListening?.(server.url, events.length);
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });
  } finally {
    await server.close();
    log.info("replay stopped", { eventsServed: server.eventsServed });
  }
}
