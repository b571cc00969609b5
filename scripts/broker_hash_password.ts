/**
 * `deno task broker:hash-password USER`: reads a password from stdin (one line; the
 * terminal echo is not turned off, so pipe it) and prints the users-file line
 * `USER:pbkdf2-sha256:<iterations>:<salt>:<hash>` for `BROKER_USERS_FILE`:
 *
 * ```sh
 * printf '%s' "$PASSWORD" | deno task -q broker:hash-password alice >> users.txt
 * ```
 *
 * `--iterations N` picks the PBKDF2 iteration count (default 600000). Needs no permission.
 *
 * @module
 */
import { DEFAULT_PBKDF2_ITERATIONS, hashPassword } from "../lib/broker/password_hash.ts";

const USAGE = "usage: printf '%s' \"$PASSWORD\" | deno task -q broker:hash-password USER " +
  "[--iterations N]";

/** Prints the users-file line for the user named on the command line. */
export async function main(args: readonly string[]): Promise<number> {
  const rest = [...args];
  let iterations = DEFAULT_PBKDF2_ITERATIONS;
  const at = rest.indexOf("--iterations");
  if (at >= 0) {
    iterations = Number(rest[at + 1]);
    rest.splice(at, 2);
  }
  const user = rest[0];
  if (rest.length !== 1 || !user || /[\s:]/.test(user) || !Number.isSafeInteger(iterations)) {
    // deno-lint-ignore no-console
    console.error(USAGE);
    return 2;
  }
  const chunks: Uint8Array[] = [];
  for await (const chunk of Deno.stdin.readable) chunks.push(chunk);
  const text = new TextDecoder().decode(await new Blob(chunks as BlobPart[]).arrayBuffer());
  const password = text.replace(/\r?\n$/, "");
  if (password === "") {
    // deno-lint-ignore no-console
    console.error(`error: no password on stdin; ${USAGE}`);
    return 2;
  }
  const hash = await hashPassword(password, { iterations });
  await Deno.stdout.write(new TextEncoder().encode(`${user}:${hash}\n`));
  return 0;
}

if (import.meta.main) Deno.exitCode = await main(Deno.args);
