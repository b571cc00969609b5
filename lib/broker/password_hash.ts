/**
 * Password hashes the broker's users file may hold instead of plain passwords, made and
 * checked with WebCrypto only:
 *
 * `pbkdf2-sha256:<iterations>:<salt base64>:<hash base64>` is PBKDF2-HMAC-SHA-256 of the
 * UTF-8 password with that salt and iteration count; the hash is 32 bytes. Comparisons run
 * in constant time ({@linkcode constantTimeEqual}).
 *
 * @module
 */

/** The scheme word that starts a hashed entry. */
export const PBKDF2_SCHEME = "pbkdf2-sha256";
/** Iterations {@linkcode hashPassword} uses by default (OWASP 2023 for PBKDF2-HMAC-SHA-256). */
export const DEFAULT_PBKDF2_ITERATIONS = 600_000;
/** Fewest iterations a users file may name. */
export const MIN_PBKDF2_ITERATIONS = 1000;
/** Most iterations a users file may name (a bound on the work one request can cause). */
export const MAX_PBKDF2_ITERATIONS = 10_000_000;
const HASH_BYTES = 32;
const SALT_BYTES = 16;

/** A parsed `pbkdf2-sha256:…` hash. */
export interface Pbkdf2Hash {
  /** PBKDF2 iteration count. */
  readonly iterations: number;
  /** The salt. */
  readonly salt: Uint8Array<ArrayBuffer>;
  /** The derived 32 bytes. */
  readonly hash: Uint8Array<ArrayBuffer>;
}

/** Options for {@linkcode hashPassword}. */
export interface HashPasswordOptions {
  /** PBKDF2 iterations. @default 600000 */
  iterations?: number;
  /** The salt. @default 16 random bytes */
  salt?: Uint8Array<ArrayBuffer>;
}

const BASE64_REGEXP = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Parses the part after `user:` of a hashed entry.
 *
 * @param text `pbkdf2-sha256:<iterations>:<salt b64>:<hash b64>`
 * @returns the parts
 * @throws {SyntaxError} naming what is wrong (never echoing the text)
 */
export function parsePbkdf2Hash(text: string): Pbkdf2Hash {
  const parts = text.split(":");
  if (parts.length !== 4 || parts[0] !== PBKDF2_SCHEME) {
    throw new SyntaxError(
      `Cannot parse the hash: expected ${PBKDF2_SCHEME}:<iterations>:<salt base64>:<hash base64>`,
    );
  }
  const [, iterationsText, saltText, hashText] = parts as [string, string, string, string];
  const iterations = /^\d+$/.test(iterationsText) ? Number(iterationsText) : NaN;
  if (!(iterations >= MIN_PBKDF2_ITERATIONS && iterations <= MAX_PBKDF2_ITERATIONS)) {
    throw new SyntaxError(
      `Cannot parse the hash: iterations must be an integer between ${MIN_PBKDF2_ITERATIONS} ` +
        `and ${MAX_PBKDF2_ITERATIONS}`,
    );
  }
  const salt = decodeBase64(saltText);
  const hash = decodeBase64(hashText);
  if (salt === undefined || salt.length === 0) {
    throw new SyntaxError("Cannot parse the hash: the salt is not base64");
  }
  if (hash === undefined || hash.length !== HASH_BYTES) {
    throw new SyntaxError(`Cannot parse the hash: the hash is not ${HASH_BYTES} bytes of base64`);
  }
  return { iterations, salt, hash };
}

/**
 * Derives PBKDF2-HMAC-SHA-256 of a password.
 *
 * @param password the password
 * @param salt the salt
 * @param iterations the iteration count
 * @returns 32 bytes
 */
export async function pbkdf2(
  password: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(password),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    key,
    HASH_BYTES * 8,
  );
  return new Uint8Array(bits);
}

/**
 * Makes a `pbkdf2-sha256:…` hash of a password for the users file.
 *
 * @param password the password
 * @param options iterations and salt
 * @returns the hash text (put `user:` in front of it)
 * @example Hash and verify
 * ```ts
 * import assert from "node:assert/strict";
 * const hash = await hashPassword("s3cret", { iterations: 1000 });
 * assert.ok(await verifyPbkdf2("s3cret", parsePbkdf2Hash(hash)));
 * assert.ok(!(await verifyPbkdf2("wrong", parsePbkdf2Hash(hash))));
 * ```
 */
export async function hashPassword(
  password: string,
  options: HashPasswordOptions = {},
): Promise<string> {
  const iterations = options.iterations ?? DEFAULT_PBKDF2_ITERATIONS;
  const salt = options.salt ?? crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await pbkdf2(password, salt, iterations);
  return `${PBKDF2_SCHEME}:${iterations}:${encodeBase64(salt)}:${encodeBase64(hash)}`;
}

/**
 * Checks a password against a parsed hash, comparing in constant time.
 *
 * @param password the password given
 * @param expected the stored hash
 * @returns whether they match
 */
export async function verifyPbkdf2(password: string, expected: Pbkdf2Hash): Promise<boolean> {
  const actual = await pbkdf2(password, expected.salt, expected.iterations);
  return constantTimeEqual(actual, expected.hash);
}

/**
 * Compares two byte strings in time that depends only on their length (callers compare
 * fixed-size digests, so the length says nothing about the secret).
 *
 * @param a one
 * @param b the other
 * @returns whether they are equal
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * SHA-256 of a UTF-8 string, so that secrets of any length compare in constant time.
 *
 * @param text the text
 * @returns 32 bytes
 */
export async function sha256(text: string): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/**
 * Decodes standard base64 (with or without padding).
 *
 * @param text the base64 text
 * @returns the bytes, or undefined when the text is not base64
 */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!BASE64_REGEXP.test(text) || text.replace(/=+$/, "").length % 4 === 1) return undefined;
  try {
    const binary = atob(text);
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/**
 * Encodes bytes as standard base64 with padding.
 *
 * @param bytes the bytes
 * @returns the base64 text
 */
export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}
