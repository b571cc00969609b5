/**
 * The edge of every wikistream program: parse configuration, build the logger,
 * turn SIGINT/SIGTERM into an abort signal, run, report errors and choose the
 * exit code (0 clean stop, 1 runtime failure, 2 configuration error). Only
 * entry points call {@linkcode runProgram}; nothing in `lib/` exits the process.
 *
 * @module
 */
import {
  ConfigError,
  formatConfig,
  formatHelp,
  type OptionSpecs,
  parseConfig,
  type ResolvedConfig,
  type SecretSources,
} from "./config.ts";
import { enumOption } from "./config_options.ts";
import { permissionHint, permissionRefusal } from "./permission_hint.ts";
import { consoleSink, createLogger, describeError, type Logger, type LogLevel } from "./log.ts";
import { redactUrlsInText } from "./redact_url.ts";
import { UsageError } from "./usage_error.ts";

/** Logging options shared by every program. */
export const LOG_OPTIONS = {
  logLevel: enumOption<LogLevel>({
    env: "LOG_LEVEL",
    description: "lowest log level written: debug, info, warn, error",
    default: "info",
    values: ["debug", "info", "warn", "error"],
  }),
  logFormat: enumOption<"auto" | "json" | "pretty">({
    env: "LOG_FORMAT",
    description: "json lines, pretty one-liners, or auto (pretty on a terminal, else json)",
    default: "auto",
    values: ["auto", "json", "pretty"],
  }),
};

/** What a running program receives. */
export interface ProgramContext {
  /** Aborted on the first SIGINT or SIGTERM. */
  signal: AbortSignal;
  /** The program's logger. */
  log: Logger;
  /** Arguments that were not options. */
  positionals: string[];
}

/**
 * Fills in secret values before the configuration is parsed (`lib/secrets/resolve_secrets.ts`
 * has the real one: `<NAME>_FILE` files and `ssm:`/`secretsmanager:` references). Injected,
 * so that `lib/cli/` loads no AWS code.
 */
export interface SecretsStep {
  /** Variables it reads besides the options' own (`<NAME>_FILE`), for `--allow-env`. */
  envNames(specs: OptionSpecs): string[];
  /**
   * Returns the environment with the secret values filled in.
   *
   * @throws {ConfigError} naming each file or reference that failed, never a value
   */
  resolve(
    specs: OptionSpecs,
    env: Readonly<Record<string, string | undefined>>,
  ): Promise<{ env: Record<string, string | undefined>; sources: SecretSources }>;
}

/** Options for {@linkcode runProgram}. */
export interface RunProgramOptions<S extends OptionSpecs> {
  /** Program name for help and logs. */
  name: string;
  /** One paragraph for `--help`. */
  summary: string;
  /** The program's options (logging options are added). */
  specs: S;
  /** Runs the program until done or until the signal aborts. */
  run(config: ResolvedConfig<S & typeof LOG_OPTIONS>, ctx: ProgramContext): Promise<void>;
  /** Fills in secret values (`SECRETS_STEP` of `lib/secrets/resolve_secrets.ts`). */
  secrets: SecretsStep;
  /** The `deno task` that runs the program, named in permission hints. */
  task?: string;
  /** Upper bound for a graceful stop after the first signal. @default 30000 */
  drainTimeoutMs?: number;
  /** Command-line arguments. @default Deno.args */
  args?: readonly string[];
}

/**
 * Signals within this many milliseconds of the first one are copies of it (one
 * Ctrl-C delivered to a process group and forwarded by its parents); a signal
 * after it forces an exit without draining.
 */
export const SIGNAL_BURST_MS = 1000;

function writeOut(text: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(text + "\n"));
}

/** Writes to standard error; URLs in the text lose their credentials (`redact_url.ts`). */
function writeErr(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(redactUrlsInText(text) + "\n"));
}

/**
 * Runs a program at the process edge and sets `Deno.exitCode`.
 *
 * @param options the program
 * @returns a promise that settles when the program has stopped
 */
export async function runProgram<S extends OptionSpecs>(
  options: RunProgramOptions<S>,
): Promise<void> {
  const specs = { ...options.specs, ...LOG_OPTIONS } as S & typeof LOG_OPTIONS;
  const args = options.args ?? Deno.args;
  let parsed;
  let sources: SecretSources = {};
  try {
    // Read only the declared variables, so a narrow `--allow-env=A,B` is enough.
    const names = [...Object.values(specs).map((s) => s.env), ...options.secrets.envNames(specs)];
    let env: Record<string, string | undefined> = Object.fromEntries(
      names.map((name) => [name, Deno.env.get(name)]),
    );
    // --help needs no secrets (and must work when a reference cannot be reached)
    if (!args.includes("--help") && !args.includes("-h")) {
      ({ env, sources } = await options.secrets.resolve(specs, env));
    }
    parsed = parseConfig(specs, { env, args });
  } catch (error) {
    if (error instanceof ConfigError) {
      writeErr(`error: ${error.message}`);
      Deno.exitCode = 2;
      return;
    }
    throw error;
  }
  const { config, cli } = parsed;
  if (cli.help) {
    writeOut(`${options.summary}\n\n${formatHelp(options.name, specs)}`);
    return;
  }
  if (cli.printConfig) {
    writeOut(formatConfig(specs, config, sources));
    return;
  }
  const logLevel = config.logLevel as LogLevel;
  const logFormat = config.logFormat as "auto" | "json" | "pretty";
  const pretty = logFormat === "pretty" || (logFormat === "auto" && Deno.stderr.isTerminal());
  const log = createLogger({
    level: logLevel,
    component: options.name,
    sink: consoleSink({ format: pretty ? "pretty" : "json" }),
  });

  const controller = new AbortController();
  const drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
  let hardExit: ReturnType<typeof setTimeout> | undefined;
  let firstSignalAt = 0;
  const onSignal = (name: Deno.Signal) => () => {
    if (controller.signal.aborted) {
      // A terminal's Ctrl-C reaches every process of its group, and `deno task`,
      // `timeout` and the launcher forward it too: copies within a second are one stop.
      if (performance.now() - firstSignalAt < SIGNAL_BURST_MS) {
        log.debug("repeated signal ignored: it arrived with the first", { signal: name });
        return;
      }
      log.warn("second signal: exiting now without draining", { signal: name });
      Deno.exit(130);
    }
    firstSignalAt = performance.now();
    log.info("stopping", { signal: name, drainTimeoutMs, forceExit: "signal again after 1 s" });
    controller.abort(new DOMException(`received ${name}`, "AbortError"));
    hardExit = setTimeout(() => {
      log.error("graceful stop took too long: exiting", { drainTimeoutMs });
      Deno.exit(1);
    }, drainTimeoutMs);
  };
  const handlers = new Map<Deno.Signal, () => void>([
    ["SIGINT", onSignal("SIGINT")],
    ["SIGTERM", onSignal("SIGTERM")],
  ]);
  for (const [sig, fn] of handlers) Deno.addSignalListener(sig, fn);
  try {
    await options.run(config, { signal: controller.signal, log, positionals: cli.positionals });
    // leave Deno.exitCode as the program set it (0 by default)
  } catch (error) {
    const refused = permissionRefusal(error);
    if (error instanceof ConfigError || error instanceof UsageError) {
      writeErr(`error: ${error.message}`);
      Deno.exitCode = 2;
    } else if (refused !== undefined) {
      writeErr(`error: ${permissionHint(refused, options.name, options.task)}`);
      Deno.exitCode = 2;
    } else {
      log.error("stopped by an unrecoverable error", { error: describeError(error) });
      if (logLevel === "debug" && error instanceof Error) writeErr(error.stack ?? "");
      Deno.exitCode = 1;
    }
  } finally {
    for (const [sig, fn] of handlers) Deno.removeSignalListener(sig, fn);
    if (hardExit !== undefined) clearTimeout(hardExit);
  }
}
