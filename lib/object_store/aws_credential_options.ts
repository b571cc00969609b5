/**
 * The AWS credentials of the lake's S3 client as options: `AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`. Being secret options, each also accepts
 * `<NAME>_FILE` and `ssm:`/`secretsmanager:` references (`lib/secrets/`). When the key id and
 * the secret key are set, the S3 client gets them explicitly; when neither is, the AWS SDK's
 * default credential chain (environment, profile, web identity, container or instance role)
 * is left as it was.
 *
 * @module
 */
import { ConfigError } from "../cli/config.ts";
import { stringOption } from "../cli/config_options.ts";

/** `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`. */
export const AWS_CREDENTIAL_OPTIONS = {
  awsAccessKeyId: stringOption<string | undefined>({
    env: "AWS_ACCESS_KEY_ID",
    description:
      "access key id of the lake's S3 credentials (with AWS_SECRET_ACCESS_KEY); unset: the AWS SDK default chain",
    default: undefined,
  }),
  awsSecretAccessKey: stringOption<string | undefined>({
    env: "AWS_SECRET_ACCESS_KEY",
    description: "secret access key of the lake's S3 credentials (MinIO: the root password)",
    default: undefined,
  }),
  awsSessionToken: stringOption<string | undefined>({
    env: "AWS_SESSION_TOKEN",
    description: "session token of temporary S3 credentials (with the key id and secret key)",
    default: undefined,
  }),
};

/** Explicit credentials for an AWS SDK client. */
export interface AwsCredentials {
  /** The access key id. */
  accessKeyId: string;
  /** The secret access key. */
  secretAccessKey: string;
  /** The session token of temporary credentials. */
  sessionToken?: string;
}

/** The resolved values of {@linkcode AWS_CREDENTIAL_OPTIONS}. */
export interface AwsCredentialConfig {
  /** `AWS_ACCESS_KEY_ID`. */
  readonly awsAccessKeyId: string | undefined;
  /** `AWS_SECRET_ACCESS_KEY`. */
  readonly awsSecretAccessKey: string | undefined;
  /** `AWS_SESSION_TOKEN`. */
  readonly awsSessionToken: string | undefined;
}

/**
 * The explicit credentials configured, if any.
 *
 * @param config the resolved options
 * @returns the credentials, or `undefined` to leave the SDK's default chain untouched
 * @throws {ConfigError} when only one of the key id and the secret key is set
 */
export function awsCredentialsOf(config: AwsCredentialConfig): AwsCredentials | undefined {
  const { awsAccessKeyId: id, awsSecretAccessKey: secret, awsSessionToken: token } = config;
  if (id === undefined && secret === undefined) return undefined;
  if (id === undefined || secret === undefined) {
    const [given, missing] = id === undefined
      ? ["AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"]
      : ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];
    throw new ConfigError([
      `${given} is set but ${missing} is not: S3 credentials need both (or a _FILE or ` +
      "reference for each); unset both to use the AWS SDK's default chain (profile, role)",
    ]);
  }
  return token === undefined
    ? { accessKeyId: id, secretAccessKey: secret }
    : { accessKeyId: id, secretAccessKey: secret, sessionToken: token };
}
