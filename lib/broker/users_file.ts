/**
 * The broker's users file (`BROKER_USERS_FILE`): who may call the broker with HTTP Basic
 * authentication. One entry a line:
 *
 * ```text
 * # comments and blank lines are allowed
 * alice:plain password (everything after the first colon, spaces included)
 * bob:pbkdf2-sha256:600000:<salt base64>:<hash base64>
 * ```
 *
 * A user name is at least one character without colon, whitespace or control characters; a
 * plain password is everything after the first colon (a trailing `\r` is dropped). A value
 * that starts with `pbkdf2-sha256:` is a hash (see `password_hash.ts`); a plain password
 * cannot start so. Plain passwords are kept only as their SHA-256, so that they compare in
 * constant time. A malformed line is a {@linkcode SyntaxError} naming the line number and never
 * the line (it may hold a password).
 *
 * @module
 */
import { parsePbkdf2Hash, PBKDF2_SCHEME, type Pbkdf2Hash, sha256 } from "./password_hash.ts";

/** One user of the users file. */
export type UserEntry =
  | {
    /** The user name. */
    readonly user: string;
    /** A plain password in the file. */
    readonly kind: "plain";
    /** SHA-256 of the password. */
    readonly digest: Uint8Array<ArrayBuffer>;
  }
  | {
    /** The user name. */
    readonly user: string;
    /** A `pbkdf2-sha256:…` hash in the file. */
    readonly kind: "pbkdf2";
    /** The hash. */
    readonly hash: Pbkdf2Hash;
  };

const USER_REGEXP = /^[^\s:\p{Cc}]+$/u;

/**
 * Says whether a line of a credentials file is a comment or blank.
 *
 * @param line one line without its `\n`
 * @returns true for blank lines and lines whose first non-blank character is `#`
 */
export function isCommentOrBlank(line: string): boolean {
  const trimmed = line.trim();
  return trimmed === "" || trimmed.startsWith("#");
}

/**
 * Parses the text of a users file.
 *
 * @param text the file's text
 * @param source what to call the file in errors, e.g. `BROKER_USERS_FILE "users.txt"`
 * @returns the users, in file order
 * @throws {SyntaxError} for a malformed line, a duplicate user or a file without users
 * @example Two users, one hashed
 * ```ts
 * import assert from "node:assert/strict";
 * const users = await parseUsersFile(
 *   "# test users\nalice:secret\n",
 *   "users.txt",
 * );
 * assert.deepEqual(users.map((u) => [u.user, u.kind]), [["alice", "plain"]]);
 * ```
 */
export async function parseUsersFile(text: string, source: string): Promise<UserEntry[]> {
  const users: UserEntry[] = [];
  const seen = new Map<string, number>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, "");
    if (isCommentOrBlank(line)) continue;
    const lineNo = i + 1;
    const colon = line.indexOf(":");
    const user = colon > 0 ? line.slice(0, colon) : "";
    const secret = colon > 0 ? line.slice(colon + 1) : "";
    if (!USER_REGEXP.test(user) || secret === "") {
      throw new SyntaxError(
        `Cannot read ${source}: line ${lineNo} is not "user:password" or ` +
          `"user:${PBKDF2_SCHEME}:<iterations>:<salt base64>:<hash base64>" (the line is not ` +
          "shown, it may hold a password); fix or remove it",
      );
    }
    const earlier = seen.get(user);
    if (earlier !== undefined) {
      throw new SyntaxError(
        `Cannot read ${source}: line ${lineNo} names user "${user}" again (first on line ` +
          `${earlier}); keep one line per user`,
      );
    }
    seen.set(user, lineNo);
    if (secret.startsWith(`${PBKDF2_SCHEME}:`)) {
      let hash: Pbkdf2Hash;
      try {
        hash = parsePbkdf2Hash(secret);
      } catch (error) {
        throw new SyntaxError(
          `Cannot read ${source}: line ${lineNo} (user "${user}"): ${
            (error as Error).message.replace(/^Cannot parse the hash: /, "")
          }; make the entry again with deno task broker:hash-password`,
        );
      }
      users.push({ user, kind: "pbkdf2", hash });
    } else {
      users.push({ user, kind: "plain", digest: await sha256(secret) });
    }
  }
  if (users.length === 0) {
    throw new SyntaxError(
      `Cannot read ${source}: it names no user, so nobody could call the broker; add a ` +
        `"user:password" line or unset the variable`,
    );
  }
  return users;
}
