/**
 * The Deno permissions each wikistream program runs with, computed from its
 * configuration: exactly the environment variables it reads, the network, and
 * read/write access to exactly the folders the user configured (state folder,
 * broker data folder, a local lake), plus what the AWS SDK reads when the lake
 * is on S3. Secret options (`lib/secrets/`) add their `<NAME>_FILE` variables to
 * `--allow-env`, read access to exactly the files those name, and, when a secret is a
 * reference (`ssm:…`, `secretsmanager:…`), what the AWS SDK needs (its variables and
 * files, `--allow-sys`, the network). The launcher reads no secret file and resolves no
 * reference: it only looks at the variables. `deno task …` runs programs through `lib/launcher/launch.ts`, which grants
 * these flags; `deno task compile` bakes them into the binaries.
 *
 * Only option modules are imported here (no pipeline code, no npm package), so
 * the launcher starts in milliseconds.
 *
 * @module
 */
import { ConfigError, envNames, type OptionSpecs, parseConfig } from "../cli/config.ts";
import { BROKER_OPTIONS } from "../broker/broker_config.ts";
import { CONSUMER_OPTIONS, instanceLockDir } from "../consumer/consumer_config.ts";
import { LAKE_STORE_OPTIONS } from "../object_store/lake_store_options.ts";
import { METRICS_OPTIONS } from "../metrics/metrics_options.ts";
import { parseOutputUrl } from "../object_store/output_url.ts";
import { PIPELINE_OPTIONS } from "../start/pipeline_options.ts";
import { PRODUCER_OPTIONS } from "../producer/producer_config.ts";
import { LOG_OPTIONS } from "../cli/program.ts";
import { QUERY_OPTIONS } from "../lake/query_options.ts";
import { REPLAY_OPTIONS } from "../replay/replay_config.ts";
import { secretEnvNames, secretFileEnvNames } from "../secrets/secret_files.ts";
import { isSecretReference } from "../secrets/secret_references.ts";

/**
 * Variables the AWS SDK (and Deno's Node TLS layer under it) reads besides `AWS_*`:
 * the home folder for `~/.aws`, the X-Ray trace header, and Node's system-CA switch.
 */
export const AWS_SDK_ENV: readonly string[] = Object.freeze([
  "AWS_*",
  "HOME",
  "USERPROFILE",
  "HOMEPATH",
  "HOMEDRIVE",
  "_X_AMZN_TRACE_ID",
  "NODE_USE_SYSTEM_CA",
]);

/**
 * Variables naming files the AWS SDK's credential chain reads (shared config,
 * web identity token for EKS/IRSA, ECS/EKS Pod Identity token) and `AWS_CA_BUNDLE`.
 */
export const AWS_FILE_ENV: readonly string[] = Object.freeze([
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_CONFIG_FILE",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
  "AWS_CA_BUNDLE",
]);

/** The folders and files one run of a program touches. */
export interface ProgramPaths {
  /** Read access. */
  read: string[];
  /** Write access. */
  write: string[];
  /** Whether the AWS SDK runs (an `s3://` lake). */
  s3: boolean;
}

/** How one program is run. */
export interface ProgramProfile {
  /** The entry file, relative to the repository root. */
  entry: string;
  /** The `deno task` that runs it. */
  task: string;
  /** Its options (logging options are added). */
  specs: OptionSpecs;
  /** Environment variables read outside the option specs. */
  extraEnv?: readonly string[];
  /** Loads the AWS SDK (an `s3://` lake): `--allow-sys`, whose `ca` Deno 2.9 cannot name. */
  awsSdk?: boolean;
  /** Reads files of `node_modules` at run time (parquet-wasm's module, DuckDB's library). */
  nodeModules?: boolean;
  /** Native libraries loaded from `node_modules` (DuckDB). */
  ffi?: boolean;
  /** Hosts it may connect to or listen on, for this configuration. @default every host */
  net?(config: Record<string, unknown>): string[];
  /** The folders and files it needs for this configuration and these positional arguments. */
  paths(config: Record<string, unknown>, positionals: readonly string[]): ProgramPaths;
}

function lakePaths(outputUrl: string, write: boolean): ProgramPaths {
  let location;
  try {
    location = parseOutputUrl(outputUrl);
  } catch {
    // the program reports the bad URL itself
    return { read: [], write: [], s3: false };
  }
  if (location.kind === "s3") return { read: [], write: [], s3: true };
  return { read: [location.path], write: write ? [location.path] : [], s3: false };
}

function merge(...parts: ProgramPaths[]): ProgramPaths {
  return {
    read: parts.flatMap((p) => p.read),
    write: parts.flatMap((p) => p.write),
    s3: parts.some((p) => p.s3),
  };
}

function folder(path: unknown): ProgramPaths {
  return { read: [String(path)], write: [String(path)], s3: false };
}

// the slot locks of the default consumer instance name (CONSUMER_INSTANCE_ID unset)
function instanceLocks(config: Record<string, unknown>): ProgramPaths {
  return config.consumerInstanceId === undefined
    ? folder(instanceLockDir())
    : { read: [], write: [], s3: false };
}

// the PEM files of KAFKA_REST_CA_FILE, KAFKA_REST_CERT_FILE and KAFKA_REST_KEY_FILE
function restAccessFiles(config: Record<string, unknown>): ProgramPaths {
  const files = [config.kafkaRestCaFile, config.kafkaRestCertFile, config.kafkaRestKeyFile]
    .filter((f): f is string => typeof f === "string");
  return { read: files, write: [], s3: false };
}

/** Every program, by the name the launcher takes. */
export const PROGRAM_PROFILES: Readonly<Record<string, ProgramProfile>> = Object.freeze({
  producer: {
    entry: "producer.ts",
    task: "produce",
    specs: { ...PRODUCER_OPTIONS, ...METRICS_OPTIONS },
    paths: (c) => merge(folder(c.stateDir), restAccessFiles(c)),
  },
  consumer: {
    entry: "consumer.ts",
    task: "consume",
    specs: { ...CONSUMER_OPTIONS, ...METRICS_OPTIONS },
    extraEnv: [...AWS_SDK_ENV, "TMPDIR"],
    awsSdk: true,
    nodeModules: true,
    paths: (c) => merge(lakePaths(String(c.outputUrl), true), instanceLocks(c), restAccessFiles(c)),
  },
  broker: {
    entry: "broker.ts",
    task: "broker",
    specs: { ...BROKER_OPTIONS, ...METRICS_OPTIONS },
    // the data folder, and read access to exactly the access files that are set
    paths: (c) =>
      merge(folder(c.dataDir), {
        read: [c.usersFile, c.tokensFile, c.tlsCertFile, c.tlsKeyFile]
          .filter((f): f is string => typeof f === "string" && f !== ""),
        write: [],
        s3: false,
      }),
  },
  start: {
    entry: "start.ts",
    task: "start",
    specs: { ...PIPELINE_OPTIONS, ...METRICS_OPTIONS },
    extraEnv: [...AWS_SDK_ENV, "TMPDIR"],
    awsSdk: true,
    nodeModules: true,
    paths: (c) =>
      merge(
        folder(c.stateDir),
        folder(c.brokerDataDir),
        lakePaths(String(c.outputUrl), true),
        instanceLocks(c),
      ),
  },
  query: {
    entry: "query.ts",
    task: "query",
    specs: QUERY_OPTIONS,
    ffi: true,
    nodeModules: true,
    paths: (c) => lakePaths(String(c.outputUrl), false),
  },
  verify: {
    entry: "verify.ts",
    task: "verify",
    specs: LAKE_STORE_OPTIONS,
    extraEnv: AWS_SDK_ENV,
    awsSdk: true,
    nodeModules: true,
    paths: (c) => lakePaths(String(c.outputUrl), false),
  },
  replay: {
    entry: "replay.ts",
    task: "replay",
    specs: REPLAY_OPTIONS,
    net: (c) => [String(c.host)],
    // exactly the NDJSON files named on the command line
    paths: (_c, files) => ({ read: [...files], write: [], s3: false }),
  },
});

/** Inputs of {@linkcode permissionFlags}. */
export interface PermissionInputs {
  /** The environment the program will see (with `.env` applied). */
  env: Record<string, string | undefined>;
  /** The program's command-line arguments. */
  args: readonly string[];
  /** Absolute path of the repository root (holds `node_modules`). */
  root: string;
}

function awsPaths(env: Record<string, string | undefined>): string[] {
  const paths: string[] = [];
  const home = env.HOME ?? env.USERPROFILE;
  if (home) paths.push(`${home.replace(/\/+$/, "")}/.aws`);
  for (const name of AWS_FILE_ENV) {
    const value = env[name];
    if (value) paths.push(value);
  }
  return paths;
}

/**
 * Thrown when a configured path cannot be passed in a permission flag.
 */
export class PermissionPathError extends Error {
  /**
   * Creates a `PermissionPathError`.
   *
   * @param message what is wrong and what to do
   */
  constructor(message: string) {
    super(message);
    this.name = "PermissionPathError";
  }
}

function list(flag: string, values: string[]): string[] {
  const unique = [...new Set(values.filter((v) => v !== ""))];
  if (unique.length === 0) return [];
  const bad = unique.find((v) => v.includes(","));
  if (bad !== undefined) {
    throw new PermissionPathError(
      `Cannot grant ${flag} to "${bad}": Deno permission lists are comma-separated, so a path ` +
        "with a comma cannot be granted; choose a folder whose name has no comma",
    );
  }
  return [`${flag}=${unique.join(",")}`];
}

/**
 * The `deno run` permission flags of one program for one configuration.
 * An invalid configuration still yields flags (for the defaults), so the
 * program itself can report the problem.
 *
 * @param program a key of {@linkcode PROGRAM_PROFILES}
 * @param inputs environment, arguments and repository root
 * @returns the flags, `--no-prompt` first
 * @throws {PermissionPathError} for a path that cannot be granted
 * @throws {Error} for an unknown program
 */
export function permissionFlags(program: string, inputs: PermissionInputs): string[] {
  const profile = PROGRAM_PROFILES[program];
  if (!profile) {
    throw new Error(
      `Unknown program "${program}": expected one of ${Object.keys(PROGRAM_PROFILES).join(", ")}`,
    );
  }
  const specs = { ...profile.specs, ...LOG_OPTIONS };
  const names = envNames(specs);
  const fileNames = secretFileEnvNames(specs);
  const secretFiles = fileNames.map((n) => inputs.env[n] ?? "").filter((path) => path !== "");
  // the SDK resolves references at start, wherever the lake is
  const references = secretEnvNames(specs).some((n) => isSecretReference(inputs.env[n]?.trim()));
  const env = Object.fromEntries(names.map((n) => [n, inputs.env[n]]));
  let config: Record<string, unknown>;
  let positionals: readonly string[] = [];
  try {
    const parsed = parseConfig(specs, { env, args: inputs.args });
    config = parsed.config;
    positionals = parsed.cli.positionals;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    config = parseConfig(specs, {}).config;
  }
  const paths = profile.paths(config, positionals);
  const nodeModules = `${inputs.root.replace(/\/+$/, "")}/node_modules`;
  const read = [...paths.read, ...(profile.nodeModules ? [nodeModules] : []), ...secretFiles];
  if (paths.s3 || references) read.push(...awsPaths(inputs.env));
  const allowEnv = [...names, ...fileNames, ...(profile.extraEnv ?? [])];
  if (references) allowEnv.push(...AWS_SDK_ENV);
  const flags = [
    "--no-prompt",
    ...list("--allow-env", allowEnv),
    // AWS endpoints are not known in advance (region, AWS_ENDPOINT_URL_*): every host
    ...(profile.net && !references ? list("--allow-net", profile.net(config)) : ["--allow-net"]),
    ...list("--allow-read", read),
    ...list("--allow-write", paths.write),
  ];
  // The AWS SDK's TLS setup asks for sys "ca", which Deno 2.9's --allow-sys=<list> cannot name.
  if (profile.awsSdk || references) flags.push("--allow-sys");
  if (profile.ffi) flags.push(`--allow-ffi=${nodeModules}`);
  return flags;
}
