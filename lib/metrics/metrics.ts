/**
 * A small metrics registry rendering the Prometheus text exposition format
 * 0.0.4. There is no global registry: a program creates one
 * {@linkcode MetricsRegistry} in `main()` and passes it (or nothing) down.
 *
 * Two ways to publish values:
 * - {@linkcode Counter} and {@linkcode Gauge} instruments updated by the code;
 * - collect callbacks ({@linkcode MetricsRegistry.collect}) called at scrape
 *   time, so components that already keep a plain stats object need not know
 *   about metrics (see `lib/metrics/stats_metrics.ts`).
 *
 * Counter names always end in `_total`; every family is rendered once, with
 * its `# HELP` and `# TYPE` lines, followed by all of its samples.
 *
 * @module
 */

/** The metric types this registry renders. */
export type MetricType = "counter" | "gauge";

/** Label names and values of one sample. */
export type Labels = Readonly<Record<string, string>>;

/** One sample of a family. */
export interface MetricSample {
  /** Label values. @default {} */
  labels?: Labels;
  /** The value; counters must not be negative. */
  value: number | bigint;
}

/** A metric family: name, help text, type and samples. */
export interface MetricFamily {
  /** Full metric name (counters end in `_total`). */
  name: string;
  /** One line of help text. */
  help: string;
  /** Counter or gauge. */
  type: MetricType;
  /** The samples. */
  samples: readonly MetricSample[];
}

/** A callback run at every scrape that returns families to render. */
export type MetricsCollector = () => Iterable<MetricFamily>;

/** The text format's content type. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const METRIC_NAME_REGEXP = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_REGEXP = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Checks a metric name and adds the `_total` suffix to counter names that lack it.
 *
 * @param name the metric name
 * @param type the metric type
 * @returns the name as rendered
 * @throws {TypeError} when the name is not a valid Prometheus metric name
 */
export function metricName(name: string, type: MetricType): string {
  if (!METRIC_NAME_REGEXP.test(name)) {
    throw new TypeError(
      `Cannot register metric "${name}": names must match ${METRIC_NAME_REGEXP.source}`,
    );
  }
  return type === "counter" && !name.endsWith("_total") ? `${name}_total` : name;
}

function checkLabels(metric: string, labels: Labels): void {
  for (const key of Object.keys(labels)) {
    if (!LABEL_NAME_REGEXP.test(key) || key.startsWith("__")) {
      throw new TypeError(
        `Cannot use label "${key}" on metric "${metric}": label names must match ${LABEL_NAME_REGEXP.source} and not start with "__"`,
      );
    }
  }
}

/**
 * Escapes a label value: backslash, double quote and line feed.
 *
 * @param value the raw value
 * @returns the escaped value (without the surrounding quotes)
 */
export function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

/**
 * Formats a sample value as the text format expects (`+Inf`, `-Inf`, `NaN`).
 *
 * @param value the value
 * @returns the text
 */
export function formatValue(value: number | bigint): string {
  if (typeof value === "bigint") return value.toString();
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return Object.is(value, -0) ? "0" : String(value);
}

function labelKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function renderLabels(labels: Labels | undefined): string {
  if (labels === undefined) return "";
  const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return "";
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
}

/** What {@linkcode Counter} and {@linkcode Gauge} share: a named family of labelled samples. */
export class Instrument {
  /** Metric name. */
  readonly name: string;
  /** Help text. */
  readonly help: string;
  /** Prometheus type. */
  readonly type: MetricType;
  #samples = new Map<string, { labels: Labels; value: number }>();

  /**
   * Creates an `Instrument`.
   *
   * @param name metric name
   * @param help help text
   * @param type Prometheus type
   */
  constructor(name: string, help: string, type: MetricType) {
    this.name = name;
    this.help = help;
    this.type = type;
  }

  /**
   * Replaces the value of a label set.
   *
   * @param labels the label values
   * @param fn the new value from the old one (0 when never set)
   */
  protected update(labels: Labels, fn: (old: number) => number): void {
    const key = labelKey(labels);
    const sample = this.#samples.get(key);
    if (sample) {
      sample.value = fn(sample.value);
      return;
    }
    checkLabels(this.name, labels);
    this.#samples.set(key, { labels: { ...labels }, value: fn(0) });
  }

  /**
   * Reads the current value for a label set (0 when never set).
   *
   * @param labels the label values
   * @returns the value
   */
  get(labels: Labels = {}): number {
    return this.#samples.get(labelKey(labels))?.value ?? 0;
  }

  /**
   * The family with every label set's current value.
   *
   * @returns the family as rendered now
   */
  family(): MetricFamily {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      samples: [...this.#samples.values()].map((s) => ({ labels: s.labels, value: s.value })),
    };
  }
}

/** A monotonically increasing count. */
export class Counter extends Instrument {
  /**
   * Adds to the counter.
   *
   * @param amount a non-negative amount
   * @param labels the label values
   * @throws {RangeError} when the amount is negative or not finite
   */
  add(amount: number, labels: Labels = {}): void {
    if (!(amount >= 0) || !Number.isFinite(amount)) {
      throw new RangeError(
        `Cannot add to counter "${this.name}": amount must be a finite number >= 0, got ${amount}`,
      );
    }
    this.update(labels, (old) => old + amount);
  }

  /**
   * Adds one.
   *
   * @param labels the label values
   */
  inc(labels: Labels = {}): void {
    this.add(1, labels);
  }
}

/** A value that goes up and down. */
export class Gauge extends Instrument {
  /**
   * Sets the gauge.
   *
   * @param value the value
   * @param labels the label values
   */
  set(value: number, labels: Labels = {}): void {
    this.update(labels, () => value);
  }

  /**
   * Adds a (possibly negative) delta.
   *
   * @param delta the change
   * @param labels the label values
   */
  add(delta: number, labels: Labels = {}): void {
    this.update(labels, (old) => old + delta);
  }
}

/**
 * Holds instruments and collectors and renders them in the Prometheus text format.
 *
 * @example Count rotations by reason
 * ```ts
 * import { MetricsRegistry } from "./metrics.ts";
 * const registry = new MetricsRegistry();
 * const rotations = registry.counter("wikistream_consumer_rotations", "files closed, by reason");
 * rotations.inc({ reason: "rows" });
 * registry.render(); // contains 'wikistream_consumer_rotations_total{reason="rows"} 1'
 * ```
 */
export class MetricsRegistry {
  #instruments = new Map<string, Instrument>();
  #collectors: MetricsCollector[] = [];

  #register<T extends Instrument>(instrument: T): T {
    if (this.#instruments.has(instrument.name)) {
      throw new TypeError(`Cannot register metric "${instrument.name}": it is already registered`);
    }
    this.#instruments.set(instrument.name, instrument);
    return instrument;
  }

  /**
   * Creates a counter (`_total` is appended to the name when missing).
   *
   * @param name metric name
   * @param help one line of help text
   * @returns the counter
   */
  counter(name: string, help: string): Counter {
    return this.#register(new Counter(metricName(name, "counter"), help, "counter"));
  }

  /**
   * Creates a gauge.
   *
   * @param name metric name
   * @param help one line of help text
   * @returns the gauge
   */
  gauge(name: string, help: string): Gauge {
    return this.#register(new Gauge(metricName(name, "gauge"), help, "gauge"));
  }

  /**
   * Adds a callback that returns families at every scrape.
   *
   * @param collector the callback
   * @returns a function that removes the callback
   */
  collect(collector: MetricsCollector): () => void {
    this.#collectors.push(collector);
    return () => {
      const i = this.#collectors.indexOf(collector);
      if (i !== -1) this.#collectors.splice(i, 1);
    };
  }

  /**
   * Gathers all families: instruments first, in registration order, then the
   * collectors' families; families with the same name are merged.
   *
   * @returns the families
   * @throws {TypeError} when two families share a name but not a type, or a counter is negative
   */
  gather(): MetricFamily[] {
    const merged = new Map<string, { family: MetricFamily; samples: MetricSample[] }>();
    const add = (family: MetricFamily) => {
      const name = metricName(family.name, family.type);
      const seen = merged.get(name);
      if (seen && seen.family.type !== family.type) {
        throw new TypeError(
          `Cannot render metric "${name}": it is both a ${seen.family.type} and a ${family.type}`,
        );
      }
      const entry = seen ?? { family: { ...family, name }, samples: [] };
      for (const sample of family.samples) {
        checkLabels(name, sample.labels ?? {});
        if (family.type === "counter" && sample.value < 0) {
          throw new TypeError(`Cannot render counter "${name}": value ${sample.value} is negative`);
        }
        entry.samples.push(sample);
      }
      merged.set(name, entry);
    };
    for (const instrument of this.#instruments.values()) add(instrument.family());
    for (const collector of this.#collectors) {
      for (const family of collector()) add(family);
    }
    return [...merged.values()].map(({ family, samples }) => ({ ...family, samples }));
  }

  /**
   * Renders every family in the text exposition format 0.0.4.
   *
   * @returns the text, ending with a line feed
   */
  render(): string {
    const lines: string[] = [];
    for (const family of this.gather()) {
      lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
      lines.push(`# TYPE ${family.name} ${family.type}`);
      for (const sample of family.samples) {
        lines.push(`${family.name}${renderLabels(sample.labels)} ${formatValue(sample.value)}`);
      }
    }
    return lines.length === 0 ? "" : lines.join("\n") + "\n";
  }
}
