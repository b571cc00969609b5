import assert from "node:assert/strict";
import { ConfigError, formatConfig, parseConfig } from "../../lib/cli/config.ts";
import { stringOption } from "../../lib/cli/config_options.ts";
import { resolveSecrets } from "../../lib/secrets/resolve_secrets.ts";
import type {
  SecretReference,
  SecretReferenceResolver,
} from "../../lib/secrets/secret_references.ts";

const SPECS = {
  password: stringOption<string | undefined>({
    env: "APP_PASSWORD",
    description: "password",
    default: undefined,
  }),
  token: stringOption<string | undefined>({
    env: "APP_TOKEN",
    description: "token",
    default: undefined,
  }),
  user: stringOption<string | undefined>({
    env: "APP_USER",
    description: "not secret",
    default: undefined,
  }),
};

/** A resolver over a fixed table that records what it was asked and whether it was closed. */
function fakeResolver(values: Record<string, string>) {
  const asked: SecretReference[] = [];
  let closed = 0;
  let created = 0;
  const resolver: SecretReferenceResolver = {
    resolve(reference) {
      asked.push(reference);
      const key = reference.kind === "ssm" ? reference.name : reference.secretId;
      const value = values[key];
      return value === undefined
        ? Promise.reject(new Error(`ParameterNotFound: ${key} not found; check it`))
        : Promise.resolve(value);
    },
    close() {
      closed++;
    },
  };
  return {
    asked,
    get closed() {
      return closed;
    },
    get created() {
      return created;
    },
    createResolver: () => {
      created++;
      return resolver;
    },
  };
}

Deno.test("resolveSecrets() fills references once each, closes the resolver, keeps other values", async () => {
  const fake = fakeResolver({ "/app/pw": "resolved-pw" });
  const { env, sources } = await resolveSecrets(
    SPECS,
    { APP_PASSWORD: "ssm:/app/pw", APP_TOKEN: "ssm:/app/pw", APP_USER: "ssm:/not-a-secret" },
    { createResolver: fake.createResolver },
  );
  assert.equal(env.APP_PASSWORD, "resolved-pw");
  assert.equal(env.APP_TOKEN, "resolved-pw");
  assert.equal(env.APP_USER, "ssm:/not-a-secret", "only secret options are resolved");
  assert.deepEqual(sources, { APP_PASSWORD: "ssm:/app/pw", APP_TOKEN: "ssm:/app/pw" });
  assert.equal(fake.asked.length, 1, "one fetch per distinct reference");
  assert.equal(fake.closed, 1);
});

Deno.test("resolveSecrets() creates no resolver when no value is a reference", async () => {
  const fake = fakeResolver({});
  const { env } = await resolveSecrets(SPECS, { APP_PASSWORD: "plain" }, {
    createResolver: fake.createResolver,
  });
  assert.equal(env.APP_PASSWORD, "plain");
  assert.equal(fake.created, 0);
});

Deno.test("resolveSecrets() takes a file's content literally and a reference in the variable", async () => {
  const fake = fakeResolver({ "/app/token": "resolved-token" });
  const { env, sources } = await resolveSecrets(
    SPECS,
    { APP_PASSWORD_FILE: "/run/secrets/pw", APP_TOKEN: "ssm:/app/token" },
    {
      createResolver: fake.createResolver,
      readFile: () => Promise.resolve("ssm:/looks-like-a-reference\n"),
    },
  );
  assert.equal(env.APP_PASSWORD, "ssm:/looks-like-a-reference");
  assert.equal(env.APP_TOKEN, "resolved-token");
  assert.deepEqual(sources, {
    APP_PASSWORD: "APP_PASSWORD_FILE=/run/secrets/pw",
    APP_TOKEN: "ssm:/app/token",
  });
  assert.equal(fake.asked.length, 1);
});

Deno.test("resolveSecrets() reports every failing file and reference in one ConfigError", async () => {
  const fake = fakeResolver({});
  await assert.rejects(
    resolveSecrets(
      SPECS,
      {
        APP_PASSWORD: "inline",
        APP_PASSWORD_FILE: "/run/secrets/pw",
        APP_TOKEN: "secretsmanager:app/rest#token",
      },
      { createResolver: fake.createResolver, readFile: () => Promise.resolve("x") },
    ),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems, [
        "APP_PASSWORD and APP_PASSWORD_FILE are both set: set only one (APP_PASSWORD_FILE " +
        "names a file that holds the value, as Docker and Kubernetes secrets do)",
        'Cannot resolve APP_TOKEN from "secretsmanager:app/rest#token": ParameterNotFound: ' +
        "app/rest not found; check it",
      ]);
      return true;
    },
  );
  assert.equal(fake.closed, 1);
});

Deno.test("resolveSecrets() reports a malformed reference without fetching", async () => {
  const fake = fakeResolver({});
  await assert.rejects(
    resolveSecrets(SPECS, { APP_TOKEN: "ssm:" }, { createResolver: fake.createResolver }),
    /APP_TOKEN: Cannot use "ssm:" as a reference: name the parameter/,
  );
  assert.equal(fake.created, 0);
});

Deno.test("resolveSecrets() reports a resolver that cannot be created against each reference", async () => {
  await assert.rejects(
    resolveSecrets(SPECS, { APP_TOKEN: "ssm:/t" }, {
      createResolver: () => Promise.reject(new Error("Requires net access")),
    }),
    /Cannot resolve APP_TOKEN from "ssm:\/t": cannot load the AWS SDK \(Requires net access\)/,
  );
});

Deno.test("formatConfig() shows a resolved secret as <redacted> with its source, never the value", async () => {
  const fake = fakeResolver({ "/app/token": "resolved-token" });
  const { env, sources } = await resolveSecrets(
    SPECS,
    { APP_PASSWORD_FILE: "/run/secrets/pw", APP_TOKEN: "ssm:/app/token", APP_USER: "me" },
    { createResolver: fake.createResolver, readFile: () => Promise.resolve("file-pw\n") },
  );
  const { config } = parseConfig(SPECS, { env });
  const text = formatConfig(SPECS, config, sources);
  assert.equal(
    text,
    [
      "APP_PASSWORD=<redacted> (from APP_PASSWORD_FILE=/run/secrets/pw)",
      "APP_TOKEN=<redacted> (from ssm:/app/token)",
      "APP_USER=me",
    ].join("\n"),
  );
  assert.ok(!text.includes("file-pw") && !text.includes("resolved-token"));
});
