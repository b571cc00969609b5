/**
 * `deno task broker`: the local REST-Proxy-v2-compatible broker (offline mode and test
 * double). Prints `wikistream broker listening on http://HOST:PORT` (`https://` with
 * `BROKER_TLS_CERT_FILE`) on stdout when ready and stops cleanly on SIGINT/SIGTERM.
 *
 * @module
 */
import { BROKER_OPTIONS } from "./lib/broker/broker_config.ts";
import { startBroker } from "./lib/broker/broker_server.ts";
import { loadBrokerAccess } from "./lib/broker/broker_access.ts";
import { METRICS_OPTIONS } from "./lib/metrics/metrics_options.ts";
import { runProgram } from "./lib/cli/program.ts";
import { SECRETS_STEP } from "./lib/secrets/resolve_secrets.ts";
import { UsageError } from "./lib/cli/usage_error.ts";
import { brokerMetrics } from "./lib/broker/broker_metrics.ts";
import { runWithMetrics } from "./lib/metrics/program_metrics.ts";

/** Runs the broker until a signal stops it. */
export async function main(): Promise<void> {
  await runProgram({
    secrets: SECRETS_STEP,
    name: "broker",
    task: "broker",
    summary:
      "Local Kafka broker speaking the Confluent REST Proxy v2 API, with durable logs under the data directory.",
    specs: { ...BROKER_OPTIONS, ...METRICS_OPTIONS },
    async run(config, { signal, log }) {
      const access = await loadBrokerAccess(config);
      const broker = await startBroker({
        ...access,
        dataDir: config.dataDir,
        hostname: config.host,
        port: config.port,
        partitions: config.partitions,
        instanceTimeoutMs: config.instanceTimeoutMs,
        requestTimeoutMs: config.requestTimeoutMs,
        maxRecordBytes: config.maxRecordBytes,
        advertisedUrl: config.advertisedUrl,
        faults: config.faults,
        maxConnections: config.maxConnections,
        headerTimeoutMs: config.headerTimeoutMs,
        bodyIdleTimeoutMs: config.bodyIdleTimeoutMs,
        maxBodyBytes: config.maxBodyBytes,
        maxBufferedBytes: config.maxBufferedBytes,
        maxTopics: config.maxTopics,
        maxPartitions: config.maxPartitions,
        maxOpenPartitions: config.maxOpenPartitions,
        maxInstances: config.maxInstances,
        maxInstancesPerGroup: config.maxInstancesPerGroup,
        log,
      }).catch((error) => {
        // Another process on the port is the user's to resolve: exit 2 with one line.
        // So is a limit that makes no sense (buffered bytes below one largest body), and a
        // TLS certificate and key that do not go together.
        if (
          error instanceof Deno.errors.AddrInUse || error instanceof RangeError ||
          error instanceof Deno.errors.InvalidData
        ) {
          throw new UsageError(error.message, { cause: error });
        }
        throw error;
      });
      try {
        const metrics = brokerMetrics({ stats: () => broker.stats() });
        await runWithMetrics(
          { port: config.metricsPort, hostname: config.metricsHost, metrics, log },
          async () => {
            const url = broker.url.href.replace(/\/$/, "");
            await Deno.stdout.write(
              new TextEncoder().encode(`wikistream broker listening on ${url}\n`),
            );
            await new Promise<void>((resolve) => {
              if (signal.aborted) resolve();
              signal.addEventListener("abort", () => resolve(), { once: true });
            });
          },
        );
      } finally {
        await broker.close();
      }
    },
  });
}

if (import.meta.main) await main();
