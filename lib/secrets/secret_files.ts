/**
 * The `<NAME>_FILE` convention of Docker and Kubernetes secrets: every secret option
 * (`isSecretSpec`: its `secret` flag, else a name with SECRET, KEY, TOKEN or PASSWORD) may
 * instead be given as the path of a file holding the value. The file's content is the value
 * with one trailing newline (`\n` or `\r\n`) removed, taken literally (never as a reference).
 * Setting both `NAME` and `NAME_FILE` is a configuration error, as is a file that cannot be
 * read or is empty; messages name the variable and the path, never the content.
 *
 * @module
 */
import { isSecretSpec, type OptionSpecs } from "../cli/config.ts";

/** The suffix of the variable that names a secret's file. */
export const SECRET_FILE_SUFFIX = "_FILE";

/** A raw environment: every value a string or unset. */
export type RawEnv = Readonly<Record<string, string | undefined>>;

/** Reads a text file; {@linkcode readSecretFiles} takes it so tests need no files. */
export type ReadTextFile = (path: string) => Promise<string>;

/**
 * The environment variable names of the secret options of a set of specs.
 *
 * @param specs the options of one program
 * @returns `KAFKA_REST_PASSWORD`, … in spec order
 */
export function secretEnvNames(specs: OptionSpecs): string[] {
  return Object.values(specs).filter((s) => isSecretSpec(s)).map((s) => s.env);
}

/**
 * The `<NAME>_FILE` variables a program may read besides its options (for `--allow-env`).
 *
 * @param specs the options of one program
 * @returns `KAFKA_REST_PASSWORD_FILE`, … in spec order
 */
export function secretFileEnvNames(specs: OptionSpecs): string[] {
  return secretEnvNames(specs).map((name) => name + SECRET_FILE_SUFFIX);
}

/**
 * Removes one trailing newline (`\n` or `\r\n`), the one editors and `echo` add.
 *
 * @param text a file's content
 * @returns the content without that newline
 */
export function trimTrailingNewline(text: string): string {
  if (text.endsWith("\r\n")) return text.slice(0, -2);
  if (text.endsWith("\n")) return text.slice(0, -1);
  return text;
}

/** What {@linkcode readSecretFiles} found. */
export interface SecretFilesResult {
  /** The environment with each `NAME` set from its `NAME_FILE`. */
  env: Record<string, string | undefined>;
  /** For each variable filled from a file: `NAME_FILE=<path>` (safe to print). */
  sources: Record<string, string>;
  /** One message per problem (both set, unreadable or empty file). */
  problems: string[];
}

function set(value: string | undefined): value is string {
  return value !== undefined && value !== "";
}

function describe(error: unknown): string {
  if (error instanceof Deno.errors.NotCapable) {
    return `${error.message}; \`deno task\` grants read access to the files the _FILE ` +
      "variables name, and a program run by hand needs --allow-read=<that path>";
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Fills each secret option set as `NAME_FILE` from its file.
 *
 * @param specs the options of one program
 * @param env the raw environment (it is not changed)
 * @param readFile reads a file as text @default Deno.readTextFile
 * @returns the environment with the values, where they came from, and the problems
 */
export async function readSecretFiles(
  specs: OptionSpecs,
  env: RawEnv,
  readFile: ReadTextFile = Deno.readTextFile,
): Promise<SecretFilesResult> {
  const out: Record<string, string | undefined> = { ...env };
  const sources: Record<string, string> = {};
  const problems: string[] = [];
  // read concurrently, report in spec order
  const outcomes = await Promise.all(
    secretEnvNames(specs).map((name) => readOne(name, env, readFile)),
  );
  for (const outcome of outcomes) {
    if (outcome === undefined) continue;
    if ("problem" in outcome) {
      problems.push(outcome.problem);
      continue;
    }
    out[outcome.name] = outcome.value;
    sources[outcome.name] = outcome.source;
  }
  return { env: out, sources, problems };
}

type FileOutcome = { name: string; value: string; source: string } | { problem: string };

async function readOne(
  name: string,
  env: RawEnv,
  readFile: ReadTextFile,
): Promise<FileOutcome | undefined> {
  const fileVar = name + SECRET_FILE_SUFFIX;
  const path = env[fileVar];
  if (!set(path)) return undefined;
  if (set(env[name])) {
    return {
      problem: `${name} and ${fileVar} are both set: set only one (${fileVar} names a file ` +
        "that holds the value, as Docker and Kubernetes secrets do)",
    };
  }
  let text: string;
  try {
    text = await readFile(path);
  } catch (error) {
    return {
      problem: `Cannot read ${fileVar} "${path}": ${describe(error)}; mount or create the ` +
        `secret file there, or unset ${fileVar}`,
    };
  }
  const value = trimTrailingNewline(text);
  if (value === "") {
    return {
      problem: `${fileVar} names "${path}", which is empty: write the value of ${name} into ` +
        `it, or unset ${fileVar}`,
    };
  }
  return { name, value, source: `${fileVar}=${path}` };
}
