import assert from "node:assert/strict";
import {
  decodeBase64,
  hashPassword,
  parsePbkdf2Hash,
  verifyPbkdf2,
} from "../../lib/broker/password_hash.ts";
import { parseUsersFile } from "../../lib/broker/users_file.ts";

Deno.test("hashPassword makes standard PBKDF2-HMAC-SHA-256: openssl kdf derives the same hash", async () => {
  const text = await hashPassword("pa ss:wörd", { iterations: 1000 });
  const [, iterations, salt, hash] = text.split(":");
  const hexSalt = Array.from(decodeBase64(salt!)!, (b) => b.toString(16).padStart(2, "0")).join("");
  const out = await new Deno.Command("openssl", {
    args: [
      "kdf",
      "-keylen",
      "32",
      "-kdfopt",
      "digest:SHA256",
      "-kdfopt",
      "pass:pa ss:wörd",
      "-kdfopt",
      `hexsalt:${hexSalt}`,
      "-kdfopt",
      `iter:${iterations}`,
      "PBKDF2",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const hex = new TextDecoder().decode(out.stdout).trim().replaceAll(":", "").toLowerCase();
  const ours = Array.from(decodeBase64(hash!)!, (b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(ours, hex);
  assert.ok(await verifyPbkdf2("pa ss:wörd", parsePbkdf2Hash(text)));
});

Deno.test("deno task broker:hash-password prints a users-file line that verifies, and exits 2 without a password", async () => {
  const run = async (stdin: string) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "broker:hash-password", "alice", "--iterations", "1000"],
      cwd: new URL("../../", import.meta.url),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
    const out = await child.output();
    return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
  };
  const ok = await run("correct horse\n");
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /^alice:pbkdf2-sha256:1000:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+\n$/);
  const [entry] = await parseUsersFile(ok.stdout, "output");
  assert.ok(entry?.kind === "pbkdf2" && await verifyPbkdf2("correct horse", entry.hash));
  assert.equal((await run("")).code, 2);
});
