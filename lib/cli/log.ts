/**
 * A small structured logger. A record is a level, a component, a message and
 * a properties object; a sink is a function that takes a record. Programs build
 * one logger in `main()` and pass it (or a child) to every component.
 *
 * Properties whose names look secret (`*secret*`, `*token*`, `*password*`,
 * `*credential*`, `authorization`, `apiKey`, `accessKey…`, `privateKey`) are
 * replaced by `<redacted>` before any sink sees them, and every URL in the message
 * and in the other values (text, `URL`s, errors) loses its credentials
 * (`redact_url.ts`: userinfo, `token=`, `X-Amz-Signature=`, …).
 *
 * @module
 */
import { redactUrl, redactUrlsInText } from "./redact_url.ts";

/** Log levels in increasing severity. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** The numeric order of {@linkcode LogLevel}s. */
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** One log record. */
export interface LogRecord {
  /** Milliseconds since the epoch. */
  time: number;
  /** Severity. */
  level: LogLevel;
  /** Which part of the program wrote it, for example `producer.sse`. */
  component: string;
  /** A short, constant message. */
  message: string;
  /** Structured details. */
  properties: Record<string, unknown>;
}

/** Receives every record at or above the logger's level. */
export type LogSink = (record: LogRecord) => void;

/** The logging interface components depend on. */
export interface Logger {
  /** Detail for debugging. */
  debug(message: string, properties?: Record<string, unknown>): void;
  /** Normal operation. */
  info(message: string, properties?: Record<string, unknown>): void;
  /** Something unexpected that the program handles. */
  warn(message: string, properties?: Record<string, unknown>): void;
  /** Something failed. */
  error(message: string, properties?: Record<string, unknown>): void;
  /** A logger for a sub-component (`parent.name`). */
  child(name: string): Logger;
}

/** Options for {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Lowest level written. @default "info" */
  level?: LogLevel;
  /** Where records go. @default a sink chosen by {@linkcode consoleSink} */
  sink?: LogSink;
  /** Component name. @default "wikistream" */
  component?: string;
}

const SECRET_PROPERTY_REGEXP =
  /secret|token|passw|credential|authorization|(api|access|private|signing)_?key/i;

/**
 * Says whether a log property name looks like it holds a secret.
 *
 * @param name a property name
 * @returns true when the value must be redacted
 */
export function isSecretProperty(name: string): boolean {
  return SECRET_PROPERTY_REGEXP.test(name);
}

function redact(properties: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(properties)) {
    let value = v;
    if (isSecretProperty(k) && v !== undefined && v !== null && v !== "") value = "<redacted>";
    else if (v instanceof Error) value = redactUrlsInText(describeError(v));
    else if (v instanceof URL) value = redactUrl(v);
    else if (typeof v === "string") value = redactUrlsInText(v);
    if (value !== v) {
      out ??= { ...properties };
      out[k] = value;
    }
  }
  return out ?? properties;
}

/**
 * Renders an error and its cause chain as one line.
 *
 * @param error any thrown value
 * @returns `message: cause message: …`
 */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  for (let depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (e instanceof Error) {
      const text = e.message || e.name;
      if (parts.at(-1) !== text) parts.push(text);
      e = e.cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return parts.join(": caused by: ");
}

/**
 * Creates a logger.
 *
 * @param options level, sink and component
 * @returns a logger
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = LOG_LEVELS.indexOf(options.level ?? "info");
  const sink = options.sink ?? consoleSink({ format: "json" });
  const component = options.component ?? "wikistream";
  const write = (level: LogLevel, message: string, properties?: Record<string, unknown>) => {
    if (LOG_LEVELS.indexOf(level) < min) return;
    sink({
      time: Date.now(),
      level,
      component,
      message: redactUrlsInText(message),
      properties: properties ? redact(properties) : {},
    });
  };
  return {
    debug: (m, p) => write("debug", m, p),
    info: (m, p) => write("info", m, p),
    warn: (m, p) => write("warn", m, p),
    error: (m, p) => write("error", m, p),
    child: (name) => createLogger({ ...options, component: `${component}.${name}` }),
  };
}

/** Options for {@linkcode consoleSink}. */
export interface ConsoleSinkOptions {
  /** `json` writes one JSON object per line; `pretty` writes readable one-liners. */
  format: "json" | "pretty";
  /** Where text goes. @default standard error */
  write?: (line: string) => void;
}

const encoder = new TextEncoder();

function writeStderr(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

function prettyValue(v: unknown): string {
  if (typeof v === "string") return /\s|"/.test(v) ? JSON.stringify(v) : v;
  if (typeof v === "bigint") return v.toString();
  return JSON.stringify(v) ?? String(v);
}

/**
 * A sink writing to standard error as JSON lines or readable one-liners.
 *
 * @param options the format and, for tests, the writer
 * @returns a sink
 */
export function consoleSink(options: ConsoleSinkOptions): LogSink {
  const write = options.write ?? writeStderr;
  if (options.format === "json") {
    return (r) =>
      write(JSON.stringify(
        {
          time: new Date(r.time).toISOString(),
          level: r.level,
          component: r.component,
          msg: r.message,
          ...r.properties,
        },
        (_k, v) => typeof v === "bigint" ? v.toString() : v,
      ));
  }
  return (r) => {
    const time = new Date(r.time).toISOString().slice(11, 23);
    const props = Object.entries(r.properties).map(([k, v]) => `${k}=${prettyValue(v)}`);
    write(
      `${time} ${r.level.toUpperCase().padEnd(5)} ${r.component}: ${r.message}${
        props.length ? " " + props.join(" ") : ""
      }`,
    );
  };
}

/** A sink that keeps records in memory, for tests. */
export function memorySink(): LogSink & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  const sink = ((r: LogRecord) => {
    records.push(r);
  }) as LogSink & { records: LogRecord[] };
  sink.records = records;
  return sink;
}
