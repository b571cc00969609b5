/**
 * Opens the {@linkcode ObjectStore} and key prefix for an `OUTPUT_URL`.
 *
 * @module
 */
import { ConfigError } from "../cli/config.ts";
import { type AwsCredentialConfig, awsCredentialsOf } from "./aws_credential_options.ts";
import { LocalObjectStore } from "./local_object_store.ts";
import type { Logger } from "../cli/log.ts";
import type { ObjectStore } from "./object_store.ts";
import { type OutputLocation, parseOutputUrl } from "./output_url.ts";
import { S3ObjectStore } from "./s3_object_store.ts";

/** S3 settings used when the location is `s3://`. */
export interface S3Settings {
  /** AWS region. */
  region: string;
  /** Endpoint for S3-compatible servers. */
  endpoint?: string;
  /** Path-style addressing. */
  forcePathStyle: boolean;
  /** PEM file of the CAs trusted for the endpoint (`AWS_CA_BUNDLE`). */
  caBundleFile?: string;
  /**
   * The configured credentials (`AWS_ACCESS_KEY_ID`, …); given to the client when set, else
   * the SDK's default chain. Checked only for an `s3://` lake.
   */
  credentials?: AwsCredentialConfig;
}

/**
 * Opens the store for a lake location.
 *
 * @param outputUrl `s3://bucket/prefix`, `file:///abs/path` or a folder path
 * @param s3 S3 settings
 * @param log logger for store retries
 * @returns the store, the key prefix inside it, and the parsed location
 * @throws {TypeError} when the URL is not usable
 * @throws {ConfigError} when only one of the access key id and the secret key is set
 */
export function openObjectStore(
  outputUrl: string,
  s3: S3Settings,
  log: Logger,
): { store: ObjectStore; prefix: string; location: OutputLocation } {
  const location = parseOutputUrl(outputUrl);
  if (location.kind === "file") {
    return { store: new LocalObjectStore({ root: location.path }), prefix: "", location };
  }
  const store = new S3ObjectStore({
    bucket: location.bucket,
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: s3.forcePathStyle,
    ...credentialsOption(s3.credentials),
    ...(s3.caBundleFile === undefined ? {} : { caBundle: readCaBundle(s3.caBundleFile) }),
    log: log.child("s3"),
  });
  return { store, prefix: location.prefix, location };
}

function credentialsOption(config: AwsCredentialConfig | undefined) {
  const credentials = config === undefined ? undefined : awsCredentialsOf(config);
  return credentials === undefined ? {} : { credentials };
}

/**
 * Reads the PEM file named by `AWS_CA_BUNDLE`.
 *
 * @param path the file
 * @returns its text
 * @throws {ConfigError} naming the variable when the file cannot be read or holds no certificate
 */
export function readCaBundle(path: string): string {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    throw new ConfigError([
      `AWS_CA_BUNDLE names "${path}", which cannot be read (${
        error instanceof Error ? error.message : error
      }); point it at the PEM file of the CA that signs the S3 endpoint's certificate`,
    ]);
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) {
    throw new ConfigError([
      `AWS_CA_BUNDLE names "${path}", which holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`,
    ]);
  }
  return text;
}
