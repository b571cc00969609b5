/**
 * A {@linkcode SecretReferenceResolver} on AWS: `ssm:` references through Systems Manager
 * Parameter Store (GetParameter, WithDecryption), `secretsmanager:` references through
 * Secrets Manager (GetSecretValue). Credentials and region come from the AWS SDK's default
 * chain (environment, shared config and credentials files, web identity, container and
 * instance roles) unless given; the endpoints from the SDK's standard variables
 * `AWS_ENDPOINT_URL_SSM` and `AWS_ENDPOINT_URL_SECRETS_MANAGER` (or `AWS_ENDPOINT_URL`, or
 * `endpoint_url` in the shared config) unless given.
 *
 * Throttling, 5xx answers and network errors are retried by the SDK's standard retry
 * strategy (3 attempts in all, exponential backoff with jitter); each attempt is bounded by a
 * connection and a request timeout, so an unreachable endpoint fails within seconds. Every
 * failure names the AWS error (name and message), the attempts made and what to check;
 * never a secret value.
 *
 * `resolve_secrets.ts` imports this module dynamically, only when a reference is present, so
 * programs without references do not load the SDK.
 *
 * @module
 */
import { GetParameterCommand, SSMClient, type SSMClientConfig } from "@aws-sdk/client-ssm";
import {
  GetSecretValueCommand,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
} from "@aws-sdk/client-secrets-manager";
import type { SecretReference, SecretReferenceResolver } from "./secret_references.ts";

/** Options for {@linkcode createAwsReferenceResolver}. */
export interface AwsReferenceResolverOptions {
  /** AWS region. @default the SDK chain (`AWS_REGION`, the profile's region) */
  region?: string;
  /** Parameter Store endpoint. @default the SDK's (`AWS_ENDPOINT_URL_SSM`, else AWS) */
  ssmEndpoint?: string;
  /** Secrets Manager endpoint. @default the SDK's (`AWS_ENDPOINT_URL_SECRETS_MANAGER`, else AWS) */
  secretsManagerEndpoint?: string;
  /** Fixed credentials. @default the SDK's default credential chain */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Attempts per reference, the first included (SDK standard retries). @default 3 */
  maxAttempts?: number;
  /** Bound of connecting, per attempt. @default 5000 */
  connectionTimeoutMs?: number;
  /** Bound of one request after connecting, per attempt. @default 10000 */
  requestTimeoutMs?: number;
}

/** A well-formed answer that holds no usable value (its message says why). */
class SecretValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretValueError";
  }
}

interface AwsError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { attempts?: number; httpStatusCode?: number };
}

/**
 * Describes an AWS SDK error as `Name: message`, with the attempts when it was retried.
 *
 * @param error what the SDK threw
 * @returns one line, without any secret value (the SDK's errors hold none)
 */
export function describeAwsError(error: unknown): string {
  const e = (error ?? {}) as AwsError;
  const name = e.name && e.name !== "Error" ? e.name : (e.code ?? e.name ?? "Error");
  const message = (e.message ?? String(error)).trim() || "(no message)";
  const attempts = e.$metadata?.attempts;
  return `${name}: ${message}${
    attempts !== undefined && attempts > 1 ? ` (after ${attempts} attempts)` : ""
  }`;
}

function hint(reference: SecretReference, error: unknown): string {
  const text = `${(error as AwsError)?.name ?? ""} ${(error as AwsError)?.message ?? ""}`;
  if (/Region is missing/i.test(text)) return "set AWS_REGION (or a region in the AWS profile)";
  if (/Could not load credentials|CredentialsProviderError/i.test(text)) {
    return "give the program AWS credentials (a role, AWS_PROFILE, or AWS_ACCESS_KEY_ID and " +
      "AWS_SECRET_ACCESS_KEY in its environment)";
  }
  if (reference.kind === "ssm") {
    return "check the parameter name and region (AWS_REGION), that the credentials may call " +
      "ssm:GetParameter (and kms:Decrypt on the key of a SecureString), and " +
      "AWS_ENDPOINT_URL_SSM if set";
  }
  return "check the secret name and region (AWS_REGION), that the credentials may call " +
    "secretsmanager:GetSecretValue (and kms:Decrypt on a customer-managed key), and " +
    "AWS_ENDPOINT_URL_SECRETS_MANAGER if set";
}

/**
 * Picks the value out of a Secrets Manager SecretString.
 *
 * @param secretString the secret's text
 * @param jsonKey the key of the JSON object, or `undefined` for the whole text
 * @returns the value
 * @throws {Error} when the text is not a JSON object, lacks the key, or its value is not text
 */
export function secretStringValue(secretString: string, jsonKey: string | undefined): string {
  if (jsonKey === undefined) return secretString;
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new Error(
      `its SecretString is not a JSON object, so "#${jsonKey}" cannot be picked from it; ` +
        "drop the #key to use the whole SecretString",
    );
  }
  const record = parsed as Record<string, unknown>;
  if (!(jsonKey in record)) {
    const keys = Object.keys(record).map((k) => JSON.stringify(k)).join(", ");
    throw new Error(`its SecretString has no key "${jsonKey}" (its keys: ${keys || "none"})`);
  }
  const value = record[jsonKey];
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new Error(`the value of key "${jsonKey}" is not a string, number or boolean`);
}

/**
 * Creates the AWS resolver; the SDK clients are created on first use.
 *
 * @param options region, endpoints, credentials and retry bounds
 * @returns the resolver (close it after use)
 */
export function createAwsReferenceResolver(
  options: AwsReferenceResolverOptions = {},
): SecretReferenceResolver {
  const common: SSMClientConfig & SecretsManagerClientConfig = {
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? 5_000,
      requestTimeout: options.requestTimeoutMs ?? 10_000,
    },
  };
  if (options.region !== undefined) common.region = options.region;
  if (options.credentials !== undefined) common.credentials = options.credentials;
  let ssm: SSMClient | undefined;
  let secretsManager: SecretsManagerClient | undefined;

  async function fetchValue(reference: SecretReference): Promise<string> {
    if (reference.kind === "ssm") {
      ssm ??= new SSMClient({
        ...common,
        ...(options.ssmEndpoint === undefined ? {} : { endpoint: options.ssmEndpoint }),
      });
      const answer = await ssm.send(
        new GetParameterCommand({ Name: reference.name, WithDecryption: true }),
      );
      const value = answer.Parameter?.Value;
      if (value === undefined) throw new SecretValueError("the answer holds no Parameter.Value");
      return value;
    }
    secretsManager ??= new SecretsManagerClient({
      ...common,
      ...(options.secretsManagerEndpoint === undefined
        ? {}
        : { endpoint: options.secretsManagerEndpoint }),
    });
    const answer = await secretsManager.send(
      new GetSecretValueCommand({ SecretId: reference.secretId }),
    );
    if (answer.SecretString === undefined) {
      throw new SecretValueError(
        "the secret holds binary data (SecretBinary), not a SecretString; store the value as text",
      );
    }
    try {
      return secretStringValue(answer.SecretString, reference.jsonKey);
    } catch (error) {
      throw new SecretValueError((error as Error).message);
    }
  }

  return {
    async resolve(reference) {
      try {
        return await fetchValue(reference);
      } catch (error) {
        // our own messages (no Parameter.Value, a missing JSON key) say what to do already
        if (error instanceof SecretValueError) throw error;
        throw new Error(`${describeAwsError(error)}; ${hint(reference, error)}`, {
          cause: error,
        });
      }
    },
    close() {
      ssm?.destroy();
      secretsManager?.destroy();
    },
  };
}
