/**
 * Reads the files of the broker's access options (`BROKER_USERS_FILE`, `BROKER_TOKENS_FILE`,
 * `BROKER_TLS_CERT_FILE`, `BROKER_TLS_KEY_FILE`) once at start and turns them into the
 * {@linkcode BrokerAuth} and the TLS certificate that `startBroker` takes. Every problem (a
 * file that cannot be read, a malformed line, a certificate without its key) is a
 * {@linkcode UsageError}: the broker exits with code 2 and one line that names the variable
 * and never a secret.
 *
 * @module
 */
import { UsageError } from "../cli/usage_error.ts";
import { BrokerAuth } from "./broker_auth.ts";
import type { ConnectionTls } from "./connection_server.ts";
import { parseTokensFile } from "./tokens_file.ts";
import { parseUsersFile } from "./users_file.ts";

/** The access options as configured (file paths, unset when undefined). */
export interface BrokerAccessFiles {
  /** `BROKER_USERS_FILE`. */
  usersFile?: string | undefined;
  /** `BROKER_TOKENS_FILE`. */
  tokensFile?: string | undefined;
  /** `BROKER_TLS_CERT_FILE`. */
  tlsCertFile?: string | undefined;
  /** `BROKER_TLS_KEY_FILE`. */
  tlsKeyFile?: string | undefined;
}

/** What {@linkcode loadBrokerAccess} read. */
export interface BrokerAccess {
  /** The authentication gate, when users or tokens are configured. */
  auth?: BrokerAuth;
  /** The certificate and key, when TLS is configured. */
  tls?: ConnectionTls;
}

/**
 * Reads and checks the access files.
 *
 * @param files the configured paths
 * @returns the gate and the certificate (each absent when not configured)
 * @throws {UsageError} naming the variable and the problem
 */
export async function loadBrokerAccess(files: BrokerAccessFiles): Promise<BrokerAccess> {
  const access: BrokerAccess = {};
  const users = files.usersFile === undefined
    ? undefined
    : await parse("BROKER_USERS_FILE", files.usersFile, parseUsersFile);
  const tokens = files.tokensFile === undefined
    ? undefined
    : await parse("BROKER_TOKENS_FILE", files.tokensFile, parseTokensFile);
  if (users !== undefined || tokens !== undefined) {
    access.auth = BrokerAuth.create({ ...(users ? { users } : {}), ...(tokens ? { tokens } : {}) });
  }
  if ((files.tlsCertFile === undefined) !== (files.tlsKeyFile === undefined)) {
    throw new UsageError(
      "Cannot serve HTTPS: BROKER_TLS_CERT_FILE and BROKER_TLS_KEY_FILE must be set together; " +
        "set both (PEM certificate and its private key) or neither",
    );
  }
  if (files.tlsCertFile !== undefined && files.tlsKeyFile !== undefined) {
    const cert = await readText("BROKER_TLS_CERT_FILE", files.tlsCertFile);
    const key = await readText("BROKER_TLS_KEY_FILE", files.tlsKeyFile);
    if (!cert.includes("-----BEGIN CERTIFICATE-----")) {
      throw new UsageError(
        `Cannot read BROKER_TLS_CERT_FILE "${files.tlsCertFile}": no PEM certificate ` +
          '("-----BEGIN CERTIFICATE-----") in it; give the PEM certificate chain',
      );
    }
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
      throw new UsageError(
        `Cannot read BROKER_TLS_KEY_FILE "${files.tlsKeyFile}": no PEM private key in it; ` +
          "give the certificate's unencrypted PEM private key",
      );
    }
    access.tls = { cert, key };
  }
  return access;
}

async function parse<T>(
  name: string,
  path: string,
  parser: (text: string, source: string) => Promise<T>,
): Promise<T> {
  const text = await readText(name, path);
  try {
    return await parser(text, `${name} "${path}"`);
  } catch (error) {
    if (error instanceof SyntaxError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}

async function readText(name: string, path: string): Promise<string> {
  if (path === "") {
    throw new UsageError(`Cannot read ${name}: it is empty; give a file path or unset it`);
  }
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.PermissionDenied
      ? "permission denied by the file system (make it readable by this user)"
      : error instanceof Deno.errors.NotCapable
      ? "Deno's read permission does not cover it (run deno task broker, which grants it)"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new UsageError(`Cannot read ${name} "${path}": ${reason}; check the path`, {
      cause: error,
    });
  }
}
