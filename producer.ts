/**
 * wikistream producer: reads the Wikimedia recentchange SSE stream and produces
 * every event to a Kafka topic through the REST Proxy v2 API, resumably.
 *
 * Run with `deno task produce`; `--help` lists the options.
 *
 * @module
 */
import { runProgram } from "./lib/program.ts";
import { PRODUCER_OPTIONS } from "./lib/producer_config.ts";
import { runProducer } from "./lib/producer_pipeline.ts";

/** Entry point: parse configuration, run the pipeline, set the exit code. */
export async function main(): Promise<void> {
  await runProgram({
    name: "producer",
    summary: "Reads Wikimedia recentchange events (SSE) and produces them to Kafka through the " +
      "REST Proxy v2 API. Resumes from the saved position in STATE_DIR after a restart.",
    specs: PRODUCER_OPTIONS,
    run: async (config, { signal, log }) => {
      await runProducer(config, { signal, log });
    },
  });
}

if (import.meta.main) await main();
