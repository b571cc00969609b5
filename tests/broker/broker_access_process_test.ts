import assert from "node:assert/strict";
import { hashPassword } from "../../lib/broker/password_hash.ts";
import { spawnBroker } from "../_helpers/broker_process.ts";
import { programArgs } from "../_helpers/program_command.ts";
import { makeTestCa } from "../_helpers/test_ca.ts";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/** Runs `deno task broker`'s program to its end (for start-up failures). */
async function runBroker(env: Record<string, string>, dataDir: string) {
  const args = programArgs("broker", ["--data-dir", dataDir, "--port", "0"], env);
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr), args };
}

Deno.test("deno task broker with BROKER_TLS_CERT_FILE, BROKER_TLS_KEY_FILE and BROKER_USERS_FILE serves HTTPS with Basic auth; /metrics stays open", async () => {
  await using ca = await makeTestCa();
  const dataDir = await Deno.makeTempDir({ prefix: "wikistream-secure-broker-" });
  const usersFile = `${ca.dir}/users.txt`;
  await Deno.writeTextFile(
    usersFile,
    `# test users\nalice:${await hashPassword("alice pw", { iterations: 1000 })}\n`,
  );
  const metricsPort = freePort();
  const env = {
    BROKER_USERS_FILE: usersFile,
    BROKER_TLS_CERT_FILE: ca.certFile,
    BROKER_TLS_KEY_FILE: ca.keyFile,
    METRICS_PORT: String(metricsPort),
  };
  const args = programArgs("broker", ["--data-dir", dataDir, "--port", "0"], env);
  assert.ok(
    args.includes(`--allow-read=${dataDir},${usersFile},${ca.certFile},${ca.keyFile}`),
    `the task grants read on exactly the data folder and the access files: ${args.join(" ")}`,
  );
  const broker = await spawnBroker({ dataDir, env });
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(ca.caFile)] });
  try {
    assert.equal(broker.url.protocol, "https:", "the ready line says https");
    const url = new URL(`https://localhost:${broker.url.port}/`);
    const authorization = `Basic ${btoa("alice:alice pw")}`;
    const topics = await fetch(new URL("topics", url), { client, headers: { authorization } });
    assert.equal(topics.status, 200);
    assert.deepEqual(await topics.json(), []);
    const created = await fetch(new URL("consumers/g1", url), {
      client,
      method: "POST",
      headers: { authorization, "content-type": "application/vnd.kafka.v2+json" },
      body: JSON.stringify({ name: "c1", format: "json" }),
    });
    assert.equal(created.status, 200);
    assert.match((await created.json()).base_uri, /^https:\/\/localhost:\d+\/consumers\/g1\//);
    const anonymous = await fetch(new URL("topics", url), { client });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get("www-authenticate"), 'Basic realm="wikistream-broker"');
    assert.equal((await anonymous.json()).error_code, 401);
    await assert.rejects(
      fetch(new URL("topics", url), { headers: { authorization } }),
      TypeError,
      "a client that does not trust the test CA cannot connect",
    );
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    assert.equal(metrics.status, 200, "the metrics endpoint needs no credentials");
    await metrics.body?.cancel();
  } finally {
    client.close();
    const status = await broker.kill("SIGTERM");
    await Deno.remove(dataDir, { recursive: true });
    assert.equal(status.code, 0, `a clean stop on SIGTERM: ${broker.stderr()}`);
  }
});

Deno.test("deno task broker exits 2 naming the line of a malformed users file and never printing its passwords", async () => {
  await using ca = await makeTestCa();
  const dataDir = await Deno.makeTempDir({ prefix: "wikistream-secure-broker-" });
  const usersFile = `${ca.dir}/users.txt`;
  await Deno.writeTextFile(usersFile, "alice:Hunter2-S3CRET\n# ok\nbob Hunter3-S3CRET\n");
  try {
    const run = await runBroker({ BROKER_USERS_FILE: usersFile }, dataDir);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /BROKER_USERS_FILE ".*users\.txt": line 3 is not "user:password"/);
    assert.ok(!`${run.stdout}${run.stderr}`.includes("S3CRET"), run.stderr);
    assert.ok(!run.stdout.includes("listening"));
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("deno task broker exits 2 for a users file it cannot read and for a certificate without its key", async () => {
  await using ca = await makeTestCa();
  const dataDir = await Deno.makeTempDir({ prefix: "wikistream-secure-broker-" });
  try {
    const missing = await runBroker({ BROKER_USERS_FILE: `${ca.dir}/no-such-users.txt` }, dataDir);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(
      missing.stderr,
      /Cannot read BROKER_USERS_FILE ".*no-such-users\.txt": no such file/,
    );
    const alone = await runBroker({ BROKER_TLS_CERT_FILE: ca.certFile }, dataDir);
    assert.equal(alone.code, 2, alone.stderr);
    assert.match(alone.stderr, /BROKER_TLS_CERT_FILE and BROKER_TLS_KEY_FILE must be set together/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
