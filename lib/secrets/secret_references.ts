/**
 * Secret references: a secret option's value that names where the secret is kept instead of
 * holding it, resolved once when the program starts (`resolve_secrets.ts`).
 *
 * - `ssm:/wikistream/rest-password`: an AWS Systems Manager Parameter Store parameter
 *   (GetParameter with decryption, so a SecureString works);
 * - `secretsmanager:wikistream/rest#password`: an AWS Secrets Manager secret (GetSecretValue),
 *   with `#password` the key of its JSON SecretString, without `#key` the whole SecretString.
 *   The secret may be named by its ARN (`secretsmanager:arn:aws:secretsmanager:…#password`).
 *
 * This module only parses; it loads no AWS code, so the launcher uses it to see whether a
 * program needs the AWS SDK's permissions.
 *
 * @module
 */

/** A parsed secret reference. */
export type SecretReference =
  | {
    /** Systems Manager Parameter Store. */
    kind: "ssm";
    /** The parameter name or ARN. */
    name: string;
  }
  | {
    /** Secrets Manager. */
    kind: "secretsmanager";
    /** The secret's name or ARN. */
    secretId: string;
    /** The key of the JSON SecretString, or the whole SecretString when absent. */
    jsonKey?: string;
  };

const SSM_PREFIX = "ssm:";
const SECRETS_MANAGER_PREFIX = "secretsmanager:";

/**
 * Says whether a value is written as a secret reference (it may still be malformed).
 *
 * @param value a raw option value
 * @returns true when it starts with `ssm:` or `secretsmanager:`
 */
export function isSecretReference(value: string | undefined): boolean {
  return value !== undefined &&
    (value.startsWith(SSM_PREFIX) || value.startsWith(SECRETS_MANAGER_PREFIX));
}

/**
 * Parses a secret reference.
 *
 * @example Parameter Store and Secrets Manager
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSecretReference } from "./secret_references.ts";
 *
 * assert.deepEqual(parseSecretReference("ssm:/wikistream/rest-password"), {
 *   kind: "ssm",
 *   name: "/wikistream/rest-password",
 * });
 * assert.deepEqual(parseSecretReference("secretsmanager:wikistream/rest#password"), {
 *   kind: "secretsmanager",
 *   secretId: "wikistream/rest",
 *   jsonKey: "password",
 * });
 * assert.equal(parseSecretReference("hunter2"), undefined);
 * ```
 *
 * @param value a raw option value
 * @returns the reference, or `undefined` when the value is not one
 * @throws {SyntaxError} when the value starts like a reference but names nothing
 */
export function parseSecretReference(value: string): SecretReference | undefined {
  if (value.startsWith(SSM_PREFIX)) {
    const name = value.slice(SSM_PREFIX.length).trim();
    if (name === "") {
      throw new SyntaxError(
        `Cannot use "${value}" as a reference: name the parameter, as in ssm:/wikistream/rest-password`,
      );
    }
    return { kind: "ssm", name };
  }
  if (value.startsWith(SECRETS_MANAGER_PREFIX)) {
    const rest = value.slice(SECRETS_MANAGER_PREFIX.length).trim();
    const hash = rest.lastIndexOf("#");
    const secretId = hash === -1 ? rest : rest.slice(0, hash);
    const jsonKey = hash === -1 ? undefined : rest.slice(hash + 1);
    if (secretId === "" || jsonKey === "") {
      throw new SyntaxError(
        `Cannot use "${value}" as a reference: name the secret and optionally a JSON key, as ` +
          "in secretsmanager:wikistream/rest#password",
      );
    }
    return jsonKey === undefined
      ? { kind: "secretsmanager", secretId }
      : { kind: "secretsmanager", secretId, jsonKey };
  }
  return undefined;
}

/**
 * Writes a reference back in its text form (for messages and `--print-config`).
 *
 * @param reference a parsed reference
 * @returns `ssm:<name>` or `secretsmanager:<id>[#key]`
 */
export function formatSecretReference(reference: SecretReference): string {
  if (reference.kind === "ssm") return `${SSM_PREFIX}${reference.name}`;
  return `${SECRETS_MANAGER_PREFIX}${reference.secretId}${
    reference.jsonKey === undefined ? "" : `#${reference.jsonKey}`
  }`;
}

/**
 * Fetches the values of references (the AWS SDK one is `aws_reference_resolver.ts`; tests
 * pass their own). Used once at start, then closed.
 */
export interface SecretReferenceResolver {
  /**
   * Fetches one secret.
   *
   * @param reference what to fetch
   * @returns the secret value
   * @throws {Error} whose message says what failed and what to do, never a secret value
   */
  resolve(reference: SecretReference): Promise<string>;
  /** Releases the clients (sockets). */
  close(): void;
}
