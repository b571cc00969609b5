/**
 * The step before `parseConfig` that fills in secret values: each secret option (see
 * `isSecretSpec`) set as `<NAME>_FILE` is read from its file (`secret_files.ts`), then each
 * one whose value is a reference (`ssm:…`, `secretsmanager:…`, see `secret_references.ts`)
 * is fetched once, all concurrently. A file's content is taken literally, never as a
 * reference (the launcher grants the AWS SDK's permissions by looking at the variables, not
 * into files). Problems of every option are reported together in one `ConfigError`.
 *
 * The AWS SDK is imported only when a reference is present, so programs without references
 * start as fast as before. `runProgram` takes {@linkcode SECRETS_STEP}.
 *
 * @module
 */
import { ConfigError, type OptionSpecs, type SecretSources } from "../cli/config.ts";
import type { SecretsStep } from "../cli/program.ts";
import {
  type RawEnv,
  readSecretFiles,
  type ReadTextFile,
  secretEnvNames,
  secretFileEnvNames,
} from "./secret_files.ts";
import {
  formatSecretReference,
  parseSecretReference,
  type SecretReference,
  type SecretReferenceResolver,
} from "./secret_references.ts";

/** Options for {@linkcode resolveSecrets}. */
export interface ResolveSecretsOptions {
  /** Reads a secret file. @default Deno.readTextFile */
  readFile?: ReadTextFile;
  /**
   * Creates the resolver of references; called only when a reference is present.
   * @default the AWS SDK resolver (`aws_reference_resolver.ts`, imported then)
   */
  createResolver?: () => SecretReferenceResolver | Promise<SecretReferenceResolver>;
}

/** The environment with the secret values, and where they came from. */
export interface ResolvedSecrets {
  /** The environment to parse. */
  env: Record<string, string | undefined>;
  /** Where each filled-in value came from (safe to print). */
  sources: SecretSources;
}

async function awsResolver(): Promise<SecretReferenceResolver> {
  const { createAwsReferenceResolver } = await import("./aws_reference_resolver.ts");
  return createAwsReferenceResolver();
}

/**
 * Fills the secret options' values from their files and references.
 *
 * @param specs the options of one program
 * @param env the raw environment, `NAME_FILE` variables included (it is not changed)
 * @param options how files are read and references resolved
 * @returns the environment with the values and their sources
 * @throws {ConfigError} listing every file or reference that failed, never a value
 */
export async function resolveSecrets(
  specs: OptionSpecs,
  env: RawEnv,
  options: ResolveSecretsOptions = {},
): Promise<ResolvedSecrets> {
  const files = await readSecretFiles(specs, env, options.readFile);
  const problems = [...files.problems];
  const sources: Record<string, string> = { ...files.sources };
  const wanted = new Map<string, SecretReference>();
  const byName: [name: string, text: string][] = [];
  for (const name of secretEnvNames(specs)) {
    const value = files.env[name];
    if (value === undefined || name in files.sources) continue;
    let reference: SecretReference | undefined;
    try {
      reference = parseSecretReference(value.trim());
    } catch (error) {
      problems.push(`${name}: ${(error as Error).message}`);
      continue;
    }
    if (reference === undefined) continue;
    const text = formatSecretReference(reference);
    wanted.set(text, reference);
    byName.push([name, text]);
  }
  const out = { ...files.env };
  if (wanted.size > 0) {
    const values = await fetchAll(wanted, options.createResolver ?? awsResolver);
    for (const [name, text] of byName) {
      const result = values.get(text)!;
      if ("error" in result) {
        problems.push(`Cannot resolve ${name} from "${text}": ${result.error}`);
      } else {
        out[name] = result.value;
        sources[name] = text;
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { env: out, sources };
}

type Fetched = { value: string } | { error: string };

async function fetchAll(
  wanted: ReadonlyMap<string, SecretReference>,
  createResolver: NonNullable<ResolveSecretsOptions["createResolver"]>,
): Promise<Map<string, Fetched>> {
  let resolver: SecretReferenceResolver;
  try {
    resolver = await createResolver();
  } catch (error) {
    const why = `cannot load the AWS SDK (${(error as Error)?.message ?? error}); run the ` +
      "program with its deno task, which grants what the SDK needs";
    return new Map([...wanted.keys()].map((text) => [text, { error: why }]));
  }
  try {
    const entries = await Promise.all(
      [...wanted].map(async ([text, reference]): Promise<[string, Fetched]> => {
        try {
          return [text, { value: await resolver.resolve(reference) }];
        } catch (error) {
          return [text, { error: error instanceof Error ? error.message : String(error) }];
        }
      }),
    );
    return new Map(entries);
  } finally {
    resolver.close();
  }
}

/** The secrets step of every program: `<NAME>_FILE` and references, through the AWS SDK. */
export const SECRETS_STEP: SecretsStep = Object.freeze({
  envNames: secretFileEnvNames,
  resolve: (specs: OptionSpecs, env: RawEnv) => resolveSecrets(specs, env),
});
