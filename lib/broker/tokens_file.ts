/**
 * The broker's tokens file (`BROKER_TOKENS_FILE`): bearer tokens the broker accepts in
 * `Authorization: Bearer <token>`. One token a line, plain or as `{SHA256}<base64>` (the
 * SHA-256 of the token, standard base64: `printf %s "$TOKEN" | openssl dgst -sha256 -binary |
 * base64`); `#` comments and blank lines are allowed. A single unsalted SHA-256 is enough for
 * tokens because they are long random strings, not passwords a person chose. Tokens are kept
 * only as SHA-256 digests and compared in constant time. A malformed line is a
 * {@linkcode SyntaxError} naming the line number, never the line.
 *
 * @module
 */
import { decodeBase64, sha256 } from "./password_hash.ts";
import { isCommentOrBlank } from "./users_file.ts";

const SHA256_PREFIX = "{SHA256}";
/** RFC 6750 `b64token`: the characters a bearer token may have. */
const TOKEN_REGEXP = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Parses the text of a tokens file.
 *
 * @param text the file's text
 * @param source what to call the file in errors, e.g. `BROKER_TOKENS_FILE "tokens.txt"`
 * @returns the SHA-256 digest of every token
 * @throws {SyntaxError} for a malformed line or a file without tokens
 * @example One plain token
 * ```ts
 * import assert from "node:assert/strict";
 * const digests = await parseTokensFile("# ci\nabc123\n", "tokens.txt");
 * assert.equal(digests.length, 1);
 * ```
 */
export async function parseTokensFile(
  text: string,
  source: string,
): Promise<Uint8Array<ArrayBuffer>[]> {
  const digests: Uint8Array<ArrayBuffer>[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, "");
    if (isCommentOrBlank(line)) continue;
    if (line.startsWith(SHA256_PREFIX)) {
      const digest = decodeBase64(line.slice(SHA256_PREFIX.length));
      if (digest === undefined || digest.length !== 32) {
        throw new SyntaxError(
          `Cannot read ${source}: line ${i + 1} starts with ${SHA256_PREFIX} but is not 32 ` +
            'bytes of base64; make it with: printf %s "$TOKEN" | openssl dgst -sha256 -binary | ' +
            "base64",
        );
      }
      digests.push(digest);
    } else if (TOKEN_REGEXP.test(line)) {
      digests.push(await sha256(line));
    } else {
      throw new SyntaxError(
        `Cannot read ${source}: line ${i + 1} is not a bearer token (letters, digits and ` +
          "-._~+/ then optional =, no spaces) or {SHA256}<base64> (the line is not shown); fix " +
          "or remove it",
      );
    }
  }
  if (digests.length === 0) {
    throw new SyntaxError(
      `Cannot read ${source}: it holds no token; add one or unset the variable`,
    );
  }
  return digests;
}
