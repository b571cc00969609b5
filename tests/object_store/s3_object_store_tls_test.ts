/**
 * The consumer, `deno task start` and `deno task verify` against an S3 server
 * over HTTPS (s3rver with a certificate from a CA made at test time), run with
 * exactly their tasks' permissions, and the AWS SDK credential sources that
 * real AWS uses (a shared credentials file, the container credentials endpoint).
 *
 * @module
 */
import assert from "node:assert/strict";
import { startBroker } from "../../lib/broker/broker_server.ts";
import { S3ObjectStore } from "../../lib/object_store/s3_object_store.ts";
import { assertCreateThenExists } from "../_helpers/create_contract.ts";
import { loadRecordedEvents, produceEvents } from "../_helpers/produce_events.ts";
import { programArgs } from "../_helpers/program_command.ts";
import { startS3Server, type TestS3Server } from "../_helpers/s3_server.ts";
import { readRecordedLines, startSseServer } from "../_helpers/sse_server.ts";
import { makeTestCa } from "../_helpers/test_ca.ts";

interface Run {
  code: number;
  stderr: string;
  stdout: string;
}

async function run(task: string, args: string[], env: Record<string, string>): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: programArgs(task, args, env, false),
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(90_000),
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stderr: decode(out.stderr), stdout: decode(out.stdout) };
}

/** Only what a user's shell would hold, plus the S3 settings: no inherited AWS_* surprises. */
function s3Env(
  s3: TestS3Server,
  home: string,
  extra: Record<string, string>,
): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    // the Deno cache stays the real one, though HOME moves
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
    S3_ENDPOINT: s3.endpoint,
    S3_FORCE_PATH_STYLE: "true",
    AWS_REGION: "us-east-1",
    AWS_EC2_METADATA_DISABLED: "true",
    LOG_FORMAT: "json",
    LOG_LEVEL: "warn",
    ...extra,
  };
}

const KEYS = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" };

Deno.test({
  name:
    "consume and verify work against an https:// S3 endpoint signed by a private CA trusted through AWS_CA_BUNDLE",
  async fn() {
    await using ca = await makeTestCa();
    await using s3 = await startS3Server("tls-lake", ca);
    assert.match(s3.endpoint, /^https:\/\/localhost:\d+$/);
    const home = await Deno.makeTempDir({ prefix: "wikistream-home-" });
    const dataDir = await Deno.makeTempDir({ prefix: "wikistream-tls-broker-" });
    try {
      await using broker = await startBroker({ dataDir, partitions: 2 });
      const events = await loadRecordedEvents(1500);
      await produceEvents(broker.url, events);
      const env = s3Env(s3, home, {
        ...KEYS,
        AWS_CA_BUNDLE: ca.caFile,
        KAFKA_REST_URL: broker.url.href,
        OUTPUT_URL: `s3://${s3.bucket}/lake`,
        CONSUMER_UNTIL_IDLE_MS: "1500",
      });
      const consumed = await run("consume", [], env);
      assert.equal(consumed.code, 0, consumed.stderr);
      const store = new S3ObjectStore({
        bucket: s3.bucket,
        endpoint: s3.endpoint,
        forcePathStyle: true,
        credentials: s3.credentials,
        caBundle: await Deno.readTextFile(ca.caFile),
      });
      try {
        const keys = await store.list("lake/");
        assert.ok(keys.some((k) => k.endsWith(".parquet")), keys.join("\n"));
      } finally {
        store.close();
      }
      const verified = await run("verify", [], env);
      assert.equal(verified.code, 0, verified.stderr + verified.stdout);
      assert.match(verified.stdout, new RegExp(`${events.length}`));
      // The path real AWS takes: no bundle, the default roots (here extended the
      // Node way), which the SDK reads through Deno's sys "ca" permission.
      const { AWS_CA_BUNDLE: _, ...withoutBundle } = env;
      const systemRoots = await run("verify", [], {
        ...withoutBundle,
        NODE_EXTRA_CA_CERTS: ca.caFile,
      });
      assert.equal(systemRoots.code, 0, systemRoots.stderr + systemRoots.stdout);
    } finally {
      await Deno.remove(home, { recursive: true });
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test("S3ObjectStore.create answers exists for a taken key on the HTTPS test s3rver under Node.js", async () => {
  await using ca = await makeTestCa();
  await using s3 = await startS3Server("tls-lake", ca);
  const store = new S3ObjectStore({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: s3.credentials,
    caBundle: await Deno.readTextFile(ca.caFile),
  });
  try {
    await assertCreateThenExists(store, "lake/_fence/owner.json");
  } finally {
    store.close();
  }
});

Deno.test({
  name:
    "an untrusted S3 certificate stops the consumer at once with one line naming the endpoint and AWS_CA_BUNDLE",
  async fn() {
    await using ca = await makeTestCa();
    await using s3 = await startS3Server("tls-lake", ca);
    const home = await Deno.makeTempDir({ prefix: "wikistream-home-" });
    try {
      const started = performance.now();
      const consumed = await run(
        "consume",
        [],
        s3Env(s3, home, {
          ...KEYS,
          KAFKA_REST_URL: "http://127.0.0.1:9",
          OUTPUT_URL: `s3://${s3.bucket}/lake`,
        }),
      );
      assert.equal(consumed.code, 1, consumed.stderr);
      assert.ok(performance.now() - started < 20_000, "no retry loop");
      const errors = consumed.stderr.split("\n").filter((l) => l.includes('"level":"error"'));
      assert.equal(errors.length, 1, consumed.stderr);
      assert.match(errors[0]!, new RegExp(`TLS connection to ${s3.endpoint} failed`));
      assert.match(errors[0]!, /signed by an unknown CA/);
      assert.match(errors[0]!, /set AWS_CA_BUNDLE/);
      assert.doesNotMatch(consumed.stderr, /will retry|retrying/);

      const verified = await run(
        "verify",
        [],
        s3Env(s3, home, { ...KEYS, OUTPUT_URL: `s3://${s3.bucket}/lake` }),
      );
      assert.notEqual(verified.code, 0);
      assert.match(verified.stderr, /set AWS_CA_BUNDLE/);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "start writes its lake to an https:// S3 endpoint under its task's permissions and stops after --max-events",
  async fn() {
    await using ca = await makeTestCa();
    await using s3 = await startS3Server("tls-lake", ca);
    const home = await Deno.makeTempDir({ prefix: "wikistream-home-" });
    const dir = await Deno.makeTempDir({ prefix: "wikistream-tls-start-" });
    try {
      const lines = await readRecordedLines("6rzan-real-time-system_2026-05-05.ndjson", 300);
      await using sse = await startSseServer({ events: lines, atEnd: "hold" });
      const started = await run(
        "start",
        [
          `--stream-url=${sse.url.href}`,
          "--since=2020-01-01T00:00:00Z",
          "--max-events=300",
          "--broker-port=0",
          `--broker-data-dir=${dir}/broker`,
          `--state-dir=${dir}/producer`,
          "--progress-interval-ms=0",
        ],
        s3Env(s3, home, {
          ...KEYS,
          AWS_CA_BUNDLE: ca.caFile,
          OUTPUT_URL: `s3://${s3.bucket}/lake`,
          USER_AGENT: "wikistream-tests/0.1 (https://example.org; tests@example.org)",
          FLUSH_INTERVAL_MS: "1000",
        }),
      );
      assert.equal(started.code, 0, started.stderr.slice(-3000));
      const verified = await run(
        "verify",
        [],
        s3Env(s3, home, {
          ...KEYS,
          AWS_CA_BUNDLE: ca.caFile,
          OUTPUT_URL: `s3://${s3.bucket}/lake`,
        }),
      );
      assert.equal(verified.code, 0, verified.stderr + verified.stdout);
      assert.match(verified.stdout, /\b300\b/);
    } finally {
      await Deno.remove(home, { recursive: true });
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "verify finds credentials where the AWS SDK looks on real AWS: a shared credentials file and the container credentials endpoint",
  sanitizeResources: false, // the credentials server's connections close with the child
  async fn() {
    await using s3 = await startS3Server("creds-lake");
    const home = await Deno.makeTempDir({ prefix: "wikistream-home-" });
    const elsewhere = await Deno.makeTempDir({ prefix: "wikistream-creds-" });
    try {
      // an empty lake is a verify failure that needs credentials to be found
      const lake = { OUTPUT_URL: `s3://${s3.bucket}/lake` };
      const noManifests = /holds no _manifests folder/;

      await Deno.writeTextFile(
        `${elsewhere}/credentials`,
        "[lake]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n",
      );
      const fromFile = await run(
        "verify",
        [],
        s3Env(s3, home, {
          ...lake,
          AWS_SHARED_CREDENTIALS_FILE: `${elsewhere}/credentials`,
          AWS_PROFILE: "lake",
        }),
      );
      assert.match(fromFile.stderr, noManifests, fromFile.stderr);

      await Deno.mkdir(`${home}/.aws`);
      await Deno.writeTextFile(
        `${home}/.aws/credentials`,
        "[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n",
      );
      const fromHome = await run("verify", [], s3Env(s3, home, lake));
      assert.match(fromHome.stderr, noManifests, fromHome.stderr);
      await Deno.remove(`${home}/.aws`, { recursive: true });

      await Deno.writeTextFile(`${elsewhere}/token`, "secret-pod-token");
      let authorized = 0;
      const creds = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
        if (req.headers.get("authorization") !== "secret-pod-token") {
          return new Response("no", { status: 401 });
        }
        authorized++;
        return Response.json({
          AccessKeyId: "S3RVER",
          SecretAccessKey: "S3RVER",
          Token: "session",
          Expiration: new Date(Date.now() + 3_600_000).toISOString(),
        });
      });
      try {
        const fromContainer = await run(
          "verify",
          [],
          s3Env(s3, home, {
            ...lake,
            AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${creds.addr.port}/creds`,
            AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: `${elsewhere}/token`,
          }),
        );
        assert.match(fromContainer.stderr, noManifests, fromContainer.stderr);
        assert.ok(authorized >= 1, "the container credentials endpoint was asked with the token");
      } finally {
        await creds.shutdown();
      }
    } finally {
      await Deno.remove(home, { recursive: true });
      await Deno.remove(elsewhere, { recursive: true });
    }
  },
});
