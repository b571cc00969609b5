/**
 * Exports a plain stats object (the producer's `ProducerStats`, the consumer's
 * `ConsumerStats`, any object of numbers) as metric families, so components
 * keep counting in their own objects and never import the metrics registry.
 *
 * Field names become snake_case metric names under a prefix (`eventsIn` →
 * `wikistream_producer_events_in_total`). A field holding an object of numbers
 * (`rotations: { rows: 3, time: 1 }`) becomes one family with a label
 * (`…_rotations_total{reason="rows"} 3`). Fields that are not numbers,
 * bigints, booleans or such objects are skipped.
 *
 * @module
 */
import type { MetricFamily, MetricsCollector, MetricType } from "./metrics.ts";

/** Options for {@linkcode statsCollector}. */
export interface StatsCollectorOptions {
  /** Metric name prefix without trailing underscore, e.g. `wikistream_producer`. */
  prefix: string;
  /** Returns the current stats object; called at every scrape. */
  read: () => object;
  /** Fields that are gauges (everything else is a counter). @default [] */
  gauges?: readonly string[];
  /** Help text per field. @default the field name in words */
  help?: Readonly<Record<string, string>>;
  /** Label name per object-valued field. @default "key" */
  labels?: Readonly<Record<string, string>>;
  /** Fields to leave out. @default [] */
  skip?: readonly string[];
}

/**
 * Converts a camelCase field name to snake_case.
 *
 * @param name the field name
 * @returns the snake_case name
 */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z])([A-Z][a-z])/g, "$1_$2")
    .replace(/[^a-zA-Z0-9_:]/g, "_")
    .toLowerCase();
}

function numeric(value: unknown): number | bigint | undefined {
  if (typeof value === "number" || typeof value === "bigint") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  return undefined;
}

/**
 * Builds a collector that renders a stats object at scrape time.
 *
 * @param options prefix, reader and which fields are gauges
 * @returns a collector for {@linkcode MetricsRegistry.collect}
 */
export function statsCollector(options: StatsCollectorOptions): MetricsCollector {
  const gauges = new Set(options.gauges ?? []);
  const skip = new Set(options.skip ?? []);
  return () => {
    const families: MetricFamily[] = [];
    for (const [field, value] of Object.entries(options.read())) {
      if (skip.has(field)) continue;
      const type: MetricType = gauges.has(field) ? "gauge" : "counter";
      const base = `${options.prefix}_${snakeCase(field)}`;
      const name = type === "counter" && !base.endsWith("_total") ? `${base}_total` : base;
      const help = options.help?.[field] ?? snakeCase(field).replaceAll("_", " ");
      const single = numeric(value);
      if (single !== undefined) {
        families.push({ name, help, type, samples: [{ value: single }] });
        continue;
      }
      if (value === null || typeof value !== "object" || Array.isArray(value)) continue;
      const label = options.labels?.[field] ?? "key";
      const samples = [];
      for (const [key, inner] of Object.entries(value)) {
        const n = numeric(inner);
        if (n !== undefined) samples.push({ labels: { [label]: key }, value: n });
      }
      if (samples.length > 0) families.push({ name, help, type, samples });
    }
    return families;
  };
}
