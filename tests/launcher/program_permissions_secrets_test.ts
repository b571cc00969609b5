import assert from "node:assert/strict";
import { envNames } from "../../lib/cli/config.ts";
import { LOG_OPTIONS } from "../../lib/cli/program.ts";
import {
  AWS_SDK_ENV,
  permissionFlags,
  PROGRAM_PROFILES,
} from "../../lib/launcher/program_permissions.ts";
import { secretFileEnvNames } from "../../lib/secrets/secret_files.ts";

const ROOT = "/repo";

function flag(flags: string[], name: string): string[] | undefined {
  const found = flags.find((f) => f === name || f.startsWith(`${name}=`));
  if (found === undefined) return undefined;
  return found === name ? [] : found.slice(name.length + 1).split(",");
}

Deno.test("permissionFlags() lets every program read <NAME>_FILE of each of its secret options", () => {
  for (const [program, profile] of Object.entries(PROGRAM_PROFILES)) {
    const specs = { ...profile.specs, ...LOG_OPTIONS };
    const env = flag(permissionFlags(program, { env: {}, args: [], root: ROOT }), "--allow-env");
    for (const name of secretFileEnvNames(specs)) {
      assert.ok(env?.includes(name), `${program} may read ${name}`);
    }
    // a _FILE name must never be an option of its own (it would be read twice over)
    const own = new Set(envNames(specs));
    assert.deepEqual(secretFileEnvNames(specs).filter((n) => own.has(n)), [], program);
  }
  const producer = flag(
    permissionFlags("producer", { env: {}, args: [], root: ROOT }),
    "--allow-env",
  );
  assert.ok(producer?.includes("KAFKA_REST_PASSWORD_FILE"));
  assert.ok(producer?.includes("KAFKA_REST_TOKEN_FILE"));
  assert.ok(!producer?.includes("KAFKA_REST_USERNAME_FILE"), "the user name is not secret");
  assert.ok(!producer?.includes("KAFKA_REST_KEY_FILE_FILE"), "a key's path is not secret");
  const consumer = flag(
    permissionFlags("consumer", { env: {}, args: [], root: ROOT }),
    "--allow-env",
  );
  for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]) {
    assert.ok(consumer?.includes(`${name}_FILE`), `consumer may read ${name}_FILE`);
  }
});

Deno.test("permissionFlags() grants read access to exactly the _FILE paths that are set", () => {
  const flags = permissionFlags("producer", {
    env: {
      KAFKA_REST_PASSWORD_FILE: "/run/secrets/kafka_rest_password",
      KAFKA_REST_TOKEN_FILE: "",
      STATE_DIR: "/state",
    },
    args: [],
    root: ROOT,
  });
  assert.deepEqual(flag(flags, "--allow-read"), ["/state", "/run/secrets/kafka_rest_password"]);
  assert.deepEqual(flag(flags, "--allow-write"), ["/state"], "no write access to secrets");
  assert.ok(!flags.includes("--allow-sys"), "a file needs no AWS SDK");
});

Deno.test("permissionFlags() gives a program with a reference what the AWS SDK needs", () => {
  const plain = permissionFlags("producer", { env: {}, args: [], root: ROOT });
  assert.ok(!flag(plain, "--allow-env")!.includes("AWS_*"));
  assert.ok(!plain.includes("--allow-sys"));
  for (const reference of ["ssm:/wikistream/rest-password", "secretsmanager:wikistream/rest#pw"]) {
    const flags = permissionFlags("producer", {
      env: { KAFKA_REST_PASSWORD: reference, HOME: "/home/u", STATE_DIR: "/state" },
      args: [],
      root: ROOT,
    });
    const env = flag(flags, "--allow-env")!;
    for (const name of AWS_SDK_ENV) assert.ok(env.includes(name), `${reference}: env ${name}`);
    assert.deepEqual(flag(flags, "--allow-read"), ["/state", "/home/u/.aws"]);
    assert.ok(flags.includes("--allow-sys"));
    assert.ok(flags.includes("--allow-net"));
  }
});

Deno.test("permissionFlags() does not treat a non-secret option's ssm: value as a reference", () => {
  const flags = permissionFlags("producer", {
    env: { KAFKA_REST_USERNAME: "ssm:/not/resolved", STATE_DIR: "/state" },
    args: [],
    root: ROOT,
  });
  assert.ok(!flags.includes("--allow-sys"));
  assert.ok(!flag(flags, "--allow-env")!.includes("AWS_*"));
});
