import assert from "node:assert/strict";
import { stringOption } from "../../lib/cli/config_options.ts";
import {
  readSecretFiles,
  secretFileEnvNames,
  trimTrailingNewline,
} from "../../lib/secrets/secret_files.ts";

const SPECS = {
  password: stringOption<string | undefined>({
    env: "APP_PASSWORD",
    description: "a secret by name",
    default: undefined,
  }),
  flagged: stringOption<string | undefined>({
    env: "APP_CREDENTIAL",
    description: "a secret by its flag",
    default: undefined,
    secret: true,
  }),
  keyFile: stringOption<string | undefined>({
    env: "APP_KEY_FILE",
    description: "looks secret, is not",
    default: undefined,
    secret: false,
  }),
  plain: stringOption<string>({ env: "APP_URL", description: "not secret", default: "x" }),
};

function files(contents: Record<string, string>) {
  return (path: string) => {
    const text = contents[path];
    if (text === undefined) {
      return Promise.reject(
        new Deno.errors.NotFound(`No such file or directory (os error 2): readfile '${path}'`),
      );
    }
    return Promise.resolve(text);
  };
}

Deno.test("secretFileEnvNames() derives NAME_FILE from the specs' secret flag and names", () => {
  assert.deepEqual(secretFileEnvNames(SPECS), ["APP_PASSWORD_FILE", "APP_CREDENTIAL_FILE"]);
});

Deno.test("trimTrailingNewline() removes one \\n or \\r\\n and nothing else", () => {
  assert.equal(trimTrailingNewline("pw\n"), "pw");
  assert.equal(trimTrailingNewline("pw\r\n"), "pw");
  assert.equal(trimTrailingNewline("pw\n\n"), "pw\n");
  assert.equal(trimTrailingNewline(" pw "), " pw ");
  assert.equal(trimTrailingNewline("pw"), "pw");
});

Deno.test("readSecretFiles() fills NAME from NAME_FILE and records the path, not the value", async () => {
  const result = await readSecretFiles(
    SPECS,
    { APP_PASSWORD_FILE: "/run/secrets/pw", APP_CREDENTIAL_FILE: "/run/secrets/c", APP_URL: "u" },
    files({ "/run/secrets/pw": "s3cret\r\n", "/run/secrets/c": "ssm:/literal\n" }),
  );
  assert.deepEqual(result.problems, []);
  assert.equal(result.env.APP_PASSWORD, "s3cret");
  // a file's content is literal, even when it looks like a reference
  assert.equal(result.env.APP_CREDENTIAL, "ssm:/literal");
  assert.equal(result.env.APP_URL, "u");
  assert.deepEqual(result.sources, {
    APP_PASSWORD: "APP_PASSWORD_FILE=/run/secrets/pw",
    APP_CREDENTIAL: "APP_CREDENTIAL_FILE=/run/secrets/c",
  });
});

Deno.test("readSecretFiles() ignores _FILE of options that are not secret, and empty _FILE", async () => {
  const result = await readSecretFiles(
    SPECS,
    { APP_URL_FILE: "/x", APP_KEY_FILE_FILE: "/y", APP_PASSWORD_FILE: "", APP_PASSWORD: "pw" },
    files({}),
  );
  assert.deepEqual(result.problems, []);
  assert.equal(result.env.APP_URL, undefined);
  assert.equal(result.env.APP_PASSWORD, "pw");
  assert.deepEqual(result.sources, {});
});

Deno.test("readSecretFiles() reports both NAME and NAME_FILE set, naming both", async () => {
  const result = await readSecretFiles(
    SPECS,
    { APP_PASSWORD: "inline-value", APP_PASSWORD_FILE: "/run/secrets/pw" },
    files({ "/run/secrets/pw": "file-value" }),
  );
  assert.deepEqual(result.problems, [
    "APP_PASSWORD and APP_PASSWORD_FILE are both set: set only one (APP_PASSWORD_FILE names a " +
    "file that holds the value, as Docker and Kubernetes secrets do)",
  ]);
});

Deno.test("readSecretFiles() reports an unreadable or empty file with variable and path, in spec order", async () => {
  const result = await readSecretFiles(
    SPECS,
    { APP_CREDENTIAL_FILE: "/run/secrets/empty", APP_PASSWORD_FILE: "/run/secrets/missing" },
    files({ "/run/secrets/empty": "\n" }),
  );
  assert.deepEqual(result.problems, [
    'Cannot read APP_PASSWORD_FILE "/run/secrets/missing": No such file or directory (os ' +
    "error 2): readfile '/run/secrets/missing'; mount or create the secret file there, or unset " +
    "APP_PASSWORD_FILE",
    'APP_CREDENTIAL_FILE names "/run/secrets/empty", which is empty: write the value of ' +
    "APP_CREDENTIAL into it, or unset APP_CREDENTIAL_FILE",
  ]);
});

Deno.test("readSecretFiles() reads real files with Deno.readTextFile by default", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wikistream_secret_" });
  try {
    await Deno.writeTextFile(`${dir}/pw`, "from-disk\n");
    const result = await readSecretFiles(SPECS, { APP_PASSWORD_FILE: `${dir}/pw` });
    assert.equal(result.env.APP_PASSWORD, "from-disk");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
