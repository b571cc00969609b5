/**
 * `deno task replay FILE.ndjson[.gz]…`: serves recorded recentchange events as a
 * local stand-in for stream.wikimedia.org (the same SSE framing, `Last-Event-ID`
 * and `?since=`), so the pipeline runs without network. Prints
 * `wikistream replay serving N events on http://HOST:PORT/v2/stream/recentchange`
 * on stdout when ready and stops cleanly on SIGINT/SIGTERM.
 *
 * @module
 */
import { runProgram } from "./lib/cli/program.ts";
import { SECRETS_STEP } from "./lib/secrets/resolve_secrets.ts";
import { REPLAY_OPTIONS } from "./lib/replay/replay_config.ts";
import { runReplay } from "./lib/replay/replay_runner.ts";

/** Runs the replay until a signal stops it. */
export async function main(): Promise<void> {
  await runProgram({
    secrets: SECRETS_STEP,
    name: "replay",
    summary: "Serves NDJSON recentchange events (plain or gzip) as Wikimedia EventStreams " +
      "does, at --rate events/s, optionally in a --loop. Usage: deno task replay [options] " +
      "FILE.ndjson[.gz]…, then deno task start --stream-url " +
      "http://127.0.0.1:8090/v2/stream/recentchange",
    specs: REPLAY_OPTIONS,
    drainTimeoutMs: 5000,
    run: (config, { signal, log, positionals }) =>
      runReplay(config, {
        files: positionals,
        signal,
        log,
        onListening: async (url, events) => {
          await Deno.stdout.write(
            new TextEncoder().encode(`wikistream replay serving ${events} events on ${url.href}\n`),
          );
        },
      }),
  });
}

if (import.meta.main) await main();
