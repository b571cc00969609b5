/**
 * `deno task start`: the whole wikistream pipeline on one machine with embedded
 * defaults: the local broker, the producer on the live Wikimedia stream, and the
 * consumer writing Parquet to `./lake`. Ctrl-C stops all three cleanly.
 *
 * @module
 */
import { PIPELINE_OPTIONS, runPipeline } from "./lib/pipeline_runner.ts";
import { runProgram } from "./lib/program.ts";

/** Runs the pipeline at the process edge. */
export async function main(): Promise<void> {
  await runProgram({
    name: "wikistream",
    summary: "Run the whole pipeline locally: embedded broker, producer on the live stream " +
      "(or --stream-url), consumer writing Parquet to OUTPUT_URL (default ./lake).",
    specs: PIPELINE_OPTIONS,
    drainTimeoutMs: 45_000,
    async run(config, { signal, log }) {
      await runPipeline(config, {
        signal,
        log,
        onBrokerReady: (url) => log.info("local broker ready", { url: url.href }),
      });
    },
  });
}

if (import.meta.main) await main();
