/**
 * `openRestAccess`: the credentials reach the proxy in the `Authorization` header, TLS
 * trusts exactly the configured CA and presents the client certificate, and every refusal
 * (401, 403, an unknown CA, a certificate for another name, an expired one, a proxy that
 * wants a client certificate) is one `RestAccessError` naming the variable to set. Against
 * real HTTP and HTTPS servers: `Deno.serve` with certificates from a CA made at test time,
 * and `openssl s_server` where the server must verify client certificates.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ConfigError } from "../../lib/cli/config.ts";
import { openRestAccess, type RestAccessConfig } from "../../lib/rest_proxy/rest_access.ts";
import { RestAccessError } from "../../lib/rest_proxy/rest_access_error.ts";
import { makeTestCa, type TestCa } from "../_helpers/test_ca.ts";

const PASSWORD = "pa:ss wörd-7f3a";

interface Seen {
  authorization: string | null;
}

async function withServer(
  handler: (request: Request) => Response,
  tls: { cert: string; key: string } | undefined,
  body: (origin: string, seen: Seen[]) => Promise<void>,
): Promise<void> {
  const seen: Seen[] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
    ...(tls ?? {}),
  }, (request) => {
    seen.push({ authorization: request.headers.get("authorization") });
    return handler(request);
  });
  try {
    const scheme = tls ? "https" : "http";
    await body(`${scheme}://localhost:${server.addr.port}`, seen);
  } finally {
    await server.shutdown();
  }
}

const ok = () => Response.json({ ok: true });

async function get(config: RestAccessConfig, path = "/topics"): Promise<Response> {
  using access = await openRestAccess(config);
  const response = await access.fetch(new URL(path, access.url));
  await response.body?.cancel();
  return response;
}

async function refusal(config: RestAccessConfig): Promise<RestAccessError> {
  using access = await openRestAccess(config);
  const error = await access.fetch(new URL("/topics", access.url)).then(
    () => assert.fail("expected a RestAccessError"),
    (e) => e,
  );
  assert.ok(error instanceof RestAccessError, `got ${error}`);
  return error;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stderr: "piped" }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

/** Signs the CA's server key again with other names or dates (`-days -1`: expired). */
async function reissue(ca: TestCa, name: string, san: string, days: string): Promise<string> {
  await Deno.writeTextFile(`${ca.dir}/${name}.cnf`, `subjectAltName=${san}\n`);
  await openssl(ca.dir, [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    `${name}.pem`,
    "-days",
    days,
    "-extfile",
    `${name}.cnf`,
  ]);
  return await Deno.readTextFile(`${ca.dir}/${name}.pem`);
}

/** A client certificate (X.509 v3, clientAuth) signed by the CA. */
async function clientCert(ca: TestCa): Promise<{ certFile: string; keyFile: string }> {
  await openssl(ca.dir, [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "client.key",
    "-out",
    "client.csr",
    "-subj",
    "/CN=wikistream-client",
  ]);
  await Deno.writeTextFile(`${ca.dir}/client.cnf`, "extendedKeyUsage=clientAuth\n");
  await openssl(ca.dir, [
    "x509",
    "-req",
    "-in",
    "client.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "client.pem",
    "-days",
    "2",
    "-extfile",
    "client.cnf",
  ]);
  return { certFile: `${ca.dir}/client.pem`, keyFile: `${ca.dir}/client.key` };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** `openssl s_server` requiring a client certificate signed by `ca`; `-www` answers 200. */
async function withMutualTlsServer(
  ca: TestCa,
  body: (origin: string) => Promise<void>,
): Promise<void> {
  const port = freePort();
  const child = new Deno.Command("openssl", {
    args: [
      "s_server",
      "-accept",
      `127.0.0.1:${port}`,
      "-cert",
      ca.certFile,
      "-key",
      ca.keyFile,
      "-Verify",
      "1",
      "-verify_return_error",
      "-CAfile",
      ca.caFile,
      "-www",
      "-quiet",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    for (let i = 0;; i++) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        break;
      } catch (error) {
        if (i > 100) throw error;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await body(`https://localhost:${port}`);
  } finally {
    child.kill();
    await child.status;
  }
}

Deno.test("KAFKA_REST_USERNAME and KAFKA_REST_PASSWORD reach the proxy as HTTP Basic on every call", async () => {
  await withServer(ok, undefined, async (origin, seen) => {
    const config = {
      kafkaRestUrl: new URL(origin),
      kafkaRestUsername: "wiki",
      kafkaRestPassword: PASSWORD,
    };
    assert.equal((await get(config)).status, 200);
    assert.equal((await get(config, "/consumers/g/instances/i/records")).status, 200);
    const expected = `Basic ${
      btoa(String.fromCharCode(...new TextEncoder().encode(`wiki:${PASSWORD}`)))
    }`;
    assert.deepEqual(seen.map((s) => s.authorization), [expected, expected]);
  });
});

Deno.test("credentials in KAFKA_REST_URL become HTTP Basic and leave the URL", async () => {
  await withServer(ok, undefined, async (origin, seen) => {
    const url = new URL(origin);
    url.username = "wiki";
    url.password = encodeURIComponent(PASSWORD);
    using access = await openRestAccess({ kafkaRestUrl: url });
    assert.equal(access.url.username, "");
    assert.equal(access.url.password, "");
    assert.equal(access.auth, "basic");
    const response = await access.fetch(new URL("/topics", access.url));
    await response.body?.cancel();
    assert.equal(
      atob(seen[0]!.authorization!.replace(/^Basic /, "")),
      String.fromCharCode(...new TextEncoder().encode(`wiki:${PASSWORD}`)),
    );
  });
});

Deno.test("KAFKA_REST_TOKEN reaches the proxy as a bearer token", async () => {
  await withServer(ok, undefined, async (origin, seen) => {
    await get({ kafkaRestUrl: new URL(origin), kafkaRestToken: "tok-123" });
    assert.equal(seen[0]!.authorization, "Bearer tok-123");
  });
});

Deno.test("without access options no Authorization header is sent", async () => {
  await withServer(ok, undefined, async (origin, seen) => {
    await get({ kafkaRestUrl: new URL(origin) });
    assert.equal(seen[0]!.authorization, null);
  });
});

Deno.test("access options that do not fit together are one ConfigError listing each problem", async () => {
  const error = await openRestAccess({
    kafkaRestUrl: new URL("http://u:p@localhost:8082"),
    kafkaRestToken: "t",
    kafkaRestPassword: PASSWORD,
    kafkaRestCertFile: "/x/client.pem",
  }).then(() => assert.fail("expected a ConfigError"), (e) => e);
  assert.ok(error instanceof ConfigError);
  const text = error.problems.join("\n");
  assert.match(text, /KAFKA_REST_URL carries credentials/);
  assert.match(text, /KAFKA_REST_TOKEN and KAFKA_REST_USERNAME\/KAFKA_REST_PASSWORD/);
  assert.match(text, /KAFKA_REST_PASSWORD is set without KAFKA_REST_USERNAME/);
  assert.match(text, /KAFKA_REST_CERT_FILE and KAFKA_REST_KEY_FILE go together/);
  assert.match(text, /use https:\/\//);
  assert.ok(!error.message.includes(PASSWORD));
});

Deno.test("an unreadable or non-PEM TLS file is a ConfigError naming the variable and the path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/not.pem`, "hello");
    const error = await openRestAccess({
      kafkaRestUrl: new URL("https://localhost:8082"),
      kafkaRestCaFile: `${dir}/missing.pem`,
      kafkaRestCertFile: `${dir}/not.pem`,
      kafkaRestKeyFile: `${dir}/not.pem`,
    }).then(() => assert.fail("expected a ConfigError"), (e) => e);
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /KAFKA_REST_CA_FILE names ".*missing\.pem", which cannot be read/);
    assert.match(error.message, /KAFKA_REST_CERT_FILE names ".*not\.pem", which is not a PEM/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a 401 is a RestAccessError naming the variables, with the proxy's message and no secret", async () => {
  const unauthorized = () =>
    Response.json({ error_code: 40101, message: "Unauthorized" }, {
      status: 401,
      headers: { "www-authenticate": 'Basic realm="kafka-rest"' },
    });
  await withServer(unauthorized, undefined, async (origin) => {
    const wrong = await refusal({
      kafkaRestUrl: new URL(origin),
      kafkaRestUsername: "wiki",
      kafkaRestPassword: PASSWORD,
    });
    assert.equal(wrong.status, 401);
    assert.match(
      wrong.message,
      /refused the credentials \(HTTP 401\) \(the proxy says: Unauthorized\)/,
    );
    assert.match(wrong.message, /check KAFKA_REST_USERNAME and KAFKA_REST_PASSWORD/);
    assert.ok(!wrong.message.includes(PASSWORD));
    const none = await refusal({ kafkaRestUrl: new URL(origin) });
    assert.match(
      none.message,
      /it wants credentials: set KAFKA_REST_USERNAME and KAFKA_REST_PASSWORD/,
    );
    const token = await refusal({ kafkaRestUrl: new URL(origin), kafkaRestToken: "secret-tok" });
    assert.match(token.message, /check KAFKA_REST_TOKEN/);
    assert.ok(!token.message.includes("secret-tok"));
  });
});

Deno.test("a 403 is a RestAccessError saying the user may not do this", async () => {
  const forbidden = () =>
    Response.json({ error_code: 40301, message: "Not authorized to access topics" }, {
      status: 403,
    });
  await withServer(forbidden, undefined, async (origin) => {
    const error = await refusal({
      kafkaRestUrl: new URL(origin),
      kafkaRestUsername: "wiki",
      kafkaRestPassword: PASSWORD,
    });
    assert.equal(error.status, 403);
    assert.match(error.message, /denied access \(HTTP 403\).*Not authorized to access topics/);
  });
});

Deno.test("HTTPS with a private CA: refused without KAFKA_REST_CA_FILE, trusted with it", async () => {
  await using ca = await makeTestCa();
  const tls = {
    cert: await Deno.readTextFile(ca.certFile),
    key: await Deno.readTextFile(ca.keyFile),
  };
  await withServer(ok, tls, async (origin) => {
    const untrusted = await refusal({ kafkaRestUrl: new URL(origin) });
    assert.equal(untrusted.status, 0);
    assert.match(
      untrusted.message,
      new RegExp(
        `^Cannot connect to the REST Proxy at ${origin} over TLS: its certificate is signed by a CA ` +
          "this program does not trust; set KAFKA_REST_CA_FILE",
      ),
    );
    const trusted = await get({ kafkaRestUrl: new URL(origin), kafkaRestCaFile: ca.caFile });
    assert.equal(trusted.status, 200);
  });
});

Deno.test("HTTPS: a certificate for another name and an expired one each say what failed", async () => {
  await using ca = await makeTestCa();
  const key = await Deno.readTextFile(ca.keyFile);
  const other = await reissue(ca, "other", "DNS:proxy.example", "2");
  await withServer(ok, { cert: other, key }, async (origin) => {
    const error = await refusal({ kafkaRestUrl: new URL(origin), kafkaRestCaFile: ca.caFile });
    assert.match(
      error.message,
      /its certificate is not valid for the name "localhost" \(it names proxy\.example\); use a host name in KAFKA_REST_URL/,
    );
  });
  const expired = await reissue(ca, "expired", "DNS:localhost", "-1");
  await withServer(ok, { cert: expired, key }, async (origin) => {
    const error = await refusal({ kafkaRestUrl: new URL(origin), kafkaRestCaFile: ca.caFile });
    assert.match(error.message, /its certificate has expired/);
  });
});

Deno.test("mutual TLS: a proxy that verifies client certificates refuses us without KAFKA_REST_CERT_FILE and accepts us with it", async () => {
  await using ca = await makeTestCa();
  const client = await clientCert(ca);
  await withMutualTlsServer(ca, async (origin) => {
    const error = await refusal({ kafkaRestUrl: new URL(origin), kafkaRestCaFile: ca.caFile });
    assert.match(
      error.message,
      /it requires a client certificate; set KAFKA_REST_CERT_FILE and KAFKA_REST_KEY_FILE/,
    );
    using access = await openRestAccess({
      kafkaRestUrl: new URL(origin),
      kafkaRestCaFile: ca.caFile,
      kafkaRestCertFile: client.certFile,
      kafkaRestKeyFile: client.keyFile,
    });
    assert.equal(access.tls, "mutual");
    const response = await access.fetch(new URL("/", access.url));
    assert.equal(response.status, 200);
    await response.body?.cancel();
  });
});
