/**
 * `deno task broker`: the local REST-Proxy-v2-compatible broker (offline mode and test
 * double). Prints `wikistream broker listening on http://HOST:PORT` on stdout when ready
 * and stops cleanly on SIGINT/SIGTERM.
 *
 * @module
 */
import { BROKER_OPTIONS } from "./lib/broker/broker_config.ts";
import { startBroker } from "./lib/broker/broker_server.ts";
import { runProgram } from "./lib/program.ts";

/** Runs the broker until a signal stops it. */
export async function main(): Promise<void> {
  await runProgram({
    name: "broker",
    summary:
      "Local Kafka broker speaking the Confluent REST Proxy v2 API, with durable logs under the data directory.",
    specs: BROKER_OPTIONS,
    async run(config, { signal, log }) {
      const broker = await startBroker({
        dataDir: config.dataDir,
        hostname: config.host,
        port: config.port,
        partitions: config.partitions,
        instanceTimeoutMs: config.instanceTimeoutMs,
        requestTimeoutMs: config.requestTimeoutMs,
        advertisedUrl: config.advertisedUrl,
        faults: config.faults,
        log,
      });
      try {
        const url = broker.url.href.replace(/\/$/, "");
        await Deno.stdout.write(
          new TextEncoder().encode(`wikistream broker listening on ${url}\n`),
        );
        await new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          signal.addEventListener("abort", () => resolve(), { once: true });
        });
      } finally {
        await broker.close();
      }
    },
  });
}

if (import.meta.main) await main();
