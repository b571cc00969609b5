import assert from "node:assert/strict";
import { permissionFlags } from "../../lib/launcher/program_permissions.ts";

function readFlag(env: Record<string, string>): string | undefined {
  return permissionFlags("broker", { env, args: [], root: "/repo" })
    .find((f) => f.startsWith("--allow-read"));
}

Deno.test("the broker may read its data folder and exactly the access files that are set", () => {
  assert.equal(readFlag({ BROKER_DATA_DIR: "/data" }), "--allow-read=/data");
  assert.equal(
    readFlag({
      BROKER_DATA_DIR: "/data",
      BROKER_USERS_FILE: "/etc/wikistream/users.txt",
      BROKER_TOKENS_FILE: "/etc/wikistream/tokens.txt",
      BROKER_TLS_CERT_FILE: "/etc/wikistream/broker.pem",
      BROKER_TLS_KEY_FILE: "/etc/wikistream/broker.key",
    }),
    "--allow-read=/data,/etc/wikistream/users.txt,/etc/wikistream/tokens.txt," +
      "/etc/wikistream/broker.pem,/etc/wikistream/broker.key",
  );
  assert.equal(
    permissionFlags("broker", {
      env: { BROKER_DATA_DIR: "/data" },
      args: ["--users-file", "/u.txt"],
      root: "/repo",
    }).find((f) => f.startsWith("--allow-read")),
    "--allow-read=/data,/u.txt",
    "the flag form is granted too",
  );
});
