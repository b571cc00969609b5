/**
 * Configuration parsing shared by every wikistream program.
 *
 * A program declares its options once as a record of {@linkcode OptionSpec}s
 * (environment variable name, CLI flag, default, parser). {@linkcode parseConfig}
 * reads the environment and the command line, validates every option in one
 * pass, reports all problems together in a {@linkcode ConfigError}, and returns
 * a frozen, fully typed object. Only this module reads raw configuration text.
 *
 * @module
 */
import { redactUrlsInText } from "./redact_url.ts";

/** One configurable value: where it comes from and how it is parsed. */
export interface OptionSpec<T> {
  /** Environment variable name, for example `KAFKA_REST_URL`. */
  env: string;
  /** CLI flag without dashes; defaults to the env name in kebab-case (`kafka-rest-url`). */
  flag?: string;
  /** One line for `--help` and the README table. */
  description: string;
  /** Value used when neither the environment nor the command line sets it. */
  default: T;
  /** Turns the raw text into a value; throws an `Error` whose message says what is expected. */
  parse(raw: string): T;
  /** Formats the value for `--print-config`. */
  format?(value: T): string;
  /** Treat as secret even if the name does not look like one (or, with `false`, never). */
  secret?: boolean;
  /** A flag that may be given without a value (`--exclude-bots`), meaning "true". */
  boolean?: boolean;
}

/** A record of option specs, keyed by the field name in the resolved config. */
// deno-lint-ignore no-explicit-any
export type OptionSpecs = Record<string, OptionSpec<any>>;

/** The resolved, frozen configuration for a set of option specs. */
export type ResolvedConfig<S extends OptionSpecs> = {
  readonly [K in keyof S]: S[K] extends OptionSpec<infer T> ? T : never;
};

/** Raised when one or more options are invalid; the entry point exits with code 2. */
export class ConfigError extends Error {
  /** Every problem found, one line each. */
  readonly problems: readonly string[];
  /**
   * Creates a `ConfigError`.
   *
   * @param problems one message per invalid option
   */
  constructor(problems: readonly string[]) {
    super(
      problems.length === 1
        ? problems[0]!
        : `Cannot start: ${problems.length} configuration problems:\n  - ${
          problems.join("\n  - ")
        }`,
    );
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** What the command line held besides options. */
export interface CommandLine {
  /** `--help` or `-h` was given. */
  help: boolean;
  /** `--print-config` was given. */
  printConfig: boolean;
  /** Arguments that are not flags, in order. */
  positionals: string[];
}

/** Inputs to {@linkcode parseConfig}. */
export interface ParseConfigOptions {
  /** Environment variables (all strings). @default {} */
  env?: Record<string, string | undefined>;
  /** Command-line arguments. @default [] */
  args?: readonly string[];
}

const SECRET_NAME_REGEXP = /SECRET|KEY|TOKEN|PASSWORD/i;
const BOOLEAN_WORD_REGEXP = /^(true|false|1|0|yes|no|on|off)$/i;

function isBooleanWord(text: string): boolean {
  return BOOLEAN_WORD_REGEXP.test(text);
}

/**
 * Says whether a configuration name holds a secret and must never be printed.
 *
 * @param name an environment variable or property name
 * @returns true for names containing SECRET, KEY, TOKEN or PASSWORD
 */
export function isSecretName(name: string): boolean {
  return SECRET_NAME_REGEXP.test(name);
}

function flagOf(spec: OptionSpec<unknown>): string {
  return spec.flag ?? spec.env.toLowerCase().replaceAll("_", "-");
}

/**
 * Says whether an option holds a secret: its `secret` flag, else its name ({@linkcode isSecretName}).
 * Secret options are redacted everywhere and also accept `<NAME>_FILE` (`lib/secrets/`).
 *
 * @param spec the option
 * @returns true when the option's value must never be printed
 */
export function isSecretSpec(spec: OptionSpec<unknown>): boolean {
  return spec.secret ?? isSecretName(spec.env);
}

function shown(spec: OptionSpec<unknown>, raw: string): string {
  return isSecretSpec(spec) ? "<redacted>" : redactUrlsInText(JSON.stringify(raw));
}

/**
 * Parses and validates configuration from the environment and the command line.
 * Command-line flags (`--flag value` or `--flag=value`) override environment variables.
 *
 * @param specs the options of one program
 * @param options the environment and arguments to read
 * @returns the frozen configuration and what else the command line held
 * @throws {ConfigError} listing every invalid or unknown option
 */
export function parseConfig<S extends OptionSpecs>(
  specs: S,
  options: ParseConfigOptions = {},
): { config: ResolvedConfig<S>; cli: CommandLine } {
  const env = options.env ?? {};
  const args = options.args ?? [];
  const problems: string[] = [];
  const byFlag = new Map<string, string>();
  for (const [key, spec] of Object.entries(specs)) byFlag.set(flagOf(spec), key);
  const fromArgs = new Map<string, string>();
  const cli: CommandLine = { help: false, printConfig: false, positionals: [] };

  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--help" || arg === "-h") {
      cli.help = true;
      continue;
    }
    if (arg === "--print-config") {
      cli.printConfig = true;
      continue;
    }
    if (!arg.startsWith("--")) {
      cli.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const key = byFlag.get(name);
    if (key === undefined && /^(allow|deny)-/.test(name)) {
      problems.push(
        `"--${name}" is a Deno permission flag, not an option of this program: \`deno task\` ` +
          "grants exactly the folders you configure, so set the option instead (OUTPUT_URL, " +
          "STATE_DIR or BROKER_DATA_DIR, in .env or as --output-url, --state-dir, --data-dir)",
      );
      continue;
    }
    if (key === undefined) {
      problems.push(`Unknown option "--${name}": run with --help to list the options`);
      continue;
    }
    const spec = specs[key]!;
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (
      spec.boolean &&
      (i + 1 >= args.length || args[i + 1]!.startsWith("--") || !isBooleanWord(args[i + 1]!))
    ) {
      // `--loop FILE`: a boolean flag takes the next argument only when it is a boolean word.
      value = "true";
    } else if (i + 1 < args.length) value = args[++i];
    if (value === undefined) {
      problems.push(`Option "--${name}" needs a value: ${spec.description}`);
      continue;
    }
    fromArgs.set(key, value);
  }

  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const raw = fromArgs.get(key) ?? env[spec.env];
    if (raw === undefined || raw === "") {
      out[key] = spec.default;
      continue;
    }
    try {
      out[key] = spec.parse(raw.trim());
    } catch (error) {
      const expected = error instanceof Error ? error.message : String(error);
      problems.push(`${spec.env} must be ${expected}, got ${shown(spec, raw)}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { config: Object.freeze(out) as ResolvedConfig<S>, cli };
}

/**
 * Where secret values came from, by environment variable name: a reference
 * (`ssm:/wikistream/rest-password`) or a file (`KAFKA_REST_PASSWORD_FILE=/run/secrets/x`).
 * Safe to print: it names the source, never the value.
 */
export type SecretSources = Readonly<Record<string, string>>;

/**
 * Renders the effective configuration as `NAME=value` lines, secrets redacted: options whose
 * names look secret entirely (with where the value came from, when it came from a file or a
 * reference), URLs in any value their userinfo and credential-looking query parameters
 * (`redact_url.ts`).
 *
 * @param specs the options of one program
 * @param config the resolved configuration
 * @param sources where secret values came from (`lib/secrets/resolve_secrets.ts`)
 * @returns one line per option
 */
export function formatConfig<S extends OptionSpecs>(
  specs: S,
  config: ResolvedConfig<S>,
  sources: SecretSources = {},
): string {
  const lines: string[] = [];
  for (const [key, spec] of Object.entries(specs)) {
    const value = (config as Record<string, unknown>)[key];
    let text: string;
    if (isSecretSpec(spec)) {
      text = value === undefined || value === "" ? "" : "<redacted>";
      const source = sources[spec.env];
      if (text !== "" && source !== undefined) text += ` (from ${source})`;
    } else if (spec.format) text = spec.format(value);
    else if (value === undefined) text = "";
    else if (value instanceof URL) text = value.href;
    else if (Array.isArray(value)) text = value.join(",");
    else text = String(value);
    // a URL option (or any value holding a URL) loses its userinfo and credential parameters
    lines.push(`${spec.env}=${redactUrlsInText(text)}`);
  }
  return lines.join("\n");
}

/**
 * Renders a usage text listing every option with its flag, variable and default.
 *
 * @param program the command name shown in the first line
 * @param specs the options of the program
 * @returns the help text
 */
export function formatHelp(program: string, specs: OptionSpecs): string {
  const lines = [`Usage: ${program} [options]`, "", "Options (flag, environment variable):"];
  for (const spec of Object.values(specs)) {
    const def = spec.default === undefined || isSecretSpec(spec)
      ? ""
      : ` [default: ${
        spec.format
          ? spec.format(spec.default)
          : Array.isArray(spec.default)
          ? spec.default.join(",")
          : String(spec.default)
      }]`;
    lines.push(`  --${flagOf(spec)}  (${spec.env})`, `      ${spec.description}${def}`);
  }
  lines.push("  --print-config  print the effective configuration (secrets redacted) and exit");
  lines.push("  --help          show this text");
  return lines.join("\n");
}

/** Lists the environment variable names of a set of specs (for `--allow-env`). */
export function envNames(specs: OptionSpecs): string[] {
  return Object.values(specs).map((s) => s.env);
}
