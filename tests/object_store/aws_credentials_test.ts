import assert from "node:assert/strict";
import { ConfigError } from "../../lib/cli/config.ts";
import { createLogger, memorySink } from "../../lib/cli/log.ts";
import { awsCredentialsOf } from "../../lib/object_store/aws_credential_options.ts";
import { openObjectStore } from "../../lib/object_store/open_object_store.ts";

const NONE = {
  awsAccessKeyId: undefined,
  awsSecretAccessKey: undefined,
  awsSessionToken: undefined,
};

Deno.test("awsCredentialsOf() gives explicit credentials only when the key id and secret are set", () => {
  assert.equal(awsCredentialsOf(NONE), undefined);
  assert.equal(awsCredentialsOf({ ...NONE, awsSessionToken: "t" }), undefined);
  assert.deepEqual(
    awsCredentialsOf({ ...NONE, awsAccessKeyId: "id", awsSecretAccessKey: "secret" }),
    { accessKeyId: "id", secretAccessKey: "secret" },
  );
  assert.deepEqual(
    awsCredentialsOf({ awsAccessKeyId: "id", awsSecretAccessKey: "secret", awsSessionToken: "t" }),
    { accessKeyId: "id", secretAccessKey: "secret", sessionToken: "t" },
  );
});

Deno.test("awsCredentialsOf() refuses a key id without a secret key and the reverse", () => {
  assert.throws(
    () => awsCredentialsOf({ ...NONE, awsSecretAccessKey: "secret" }),
    (error: unknown) =>
      error instanceof ConfigError &&
      /^AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not/.test(error.message) &&
      !error.message.includes('secret"'),
  );
  assert.throws(
    () => awsCredentialsOf({ ...NONE, awsAccessKeyId: "id" }),
    /AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not/,
  );
});

Deno.test("openObjectStore() signs S3 requests with the configured credentials and session token", async () => {
  const seen: { authorization: string; token: string | null }[] = [];
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (r) => {
    seen.push({
      authorization: r.headers.get("authorization") ?? "",
      token: r.headers.get("x-amz-security-token"),
    });
    return new Response(null, { status: 404 });
  });
  const { store } = openObjectStore("s3://bucket/prefix", {
    region: "eu-west-1",
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    forcePathStyle: true,
    credentials: {
      awsAccessKeyId: "AKIDFROMFILE",
      awsSecretAccessKey: "from-file-secret",
      awsSessionToken: "session-token-1",
    },
  }, createLogger({ sink: memorySink() }));
  try {
    assert.equal(await store.exists("prefix/x"), false);
  } finally {
    store.close?.();
  }
  assert.ok(seen.length >= 1);
  assert.match(seen[0]!.authorization, /Credential=AKIDFROMFILE\/\d{8}\/eu-west-1\/s3\//);
  assert.equal(seen[0]!.token, "session-token-1");
});

Deno.test("openObjectStore() checks the credentials only for an s3:// lake", () => {
  const settings = {
    region: "us-east-1",
    forcePathStyle: false,
    credentials: { ...NONE, awsAccessKeyId: "stray-id" },
  };
  const log = createLogger({ sink: memorySink() });
  const dir = Deno.makeTempDirSync({ prefix: "wikistream_creds_" });
  try {
    // a stray AWS_ACCESS_KEY_ID does not stop a consumer writing a local lake
    assert.equal(openObjectStore(dir, settings, log).location.kind, "file");
    assert.throws(() => openObjectStore("s3://bucket/p", settings, log), ConfigError);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
