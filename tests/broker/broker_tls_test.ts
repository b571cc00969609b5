import assert from "node:assert/strict";
import { type ConnectionRefusal, serveConnections } from "../../lib/broker/connection_server.ts";
import { closedByServer, rawClose, rawConnect, rawWrite } from "../_helpers/raw_http.ts";
import { makeClientCert, makeTestCa, type TestCa } from "../_helpers/test_ca.ts";

async function tlsOf(ca: TestCa): Promise<{ cert: string; key: string }> {
  return { cert: await Deno.readTextFile(ca.certFile), key: await Deno.readTextFile(ca.keyFile) };
}

Deno.test("serveConnections with tls serves HTTPS that a client trusting the test CA accepts, and one without the CA refuses", async () => {
  await using ca = await makeTestCa();
  const server = serveConnections({
    hostname: "127.0.0.1",
    port: 0,
    maxConnections: 8,
    headerTimeoutMs: 10_000,
    tls: await tlsOf(ca),
    handler: (req) => Promise.resolve(new Response(new URL(req.url).protocol)),
  });
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(ca.caFile)] });
  try {
    const url = `https://localhost:${server.addr.port}/`;
    const res = await fetch(url, { client });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "https:", "the handler sees an https: request URL");
    await assert.rejects(fetch(url), TypeError, "a client without the CA must not connect");
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test("serveConnections with tls gives up on TLS handshakes not done within headerTimeoutMs and frees their slots", async () => {
  await using ca = await makeTestCa();
  const refused: ConnectionRefusal[] = [];
  const server = serveConnections({
    hostname: "127.0.0.1",
    port: 0,
    maxConnections: 2,
    headerTimeoutMs: 1500,
    tls: await tlsOf(ca),
    handler: () => Promise.resolve(new Response("ok")),
    onRefused: (r) => refused.push(r),
  });
  const url = new URL(`http://127.0.0.1:${server.addr.port}/`);
  const silent = await rawConnect(url);
  const partial = await rawConnect(url);
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(ca.caFile)] });
  try {
    // the first bytes of a TLS record header (handshake, TLS 1.0 record version), then nothing
    await rawWrite(partial, new Uint8Array([0x16, 0x03, 0x01, 0x02]));
    for (let i = 0; i < 100 && server.connections < 2; i++) await delay(10);
    assert.equal(server.connections, 2, "both count as connections while in their handshake");
    for (let i = 0; i < 500 && refused.length < 2; i++) await delay(10);
    assert.deepEqual(refused, ["header_timeout", "header_timeout"]);
    // the refusal is reported as the connection is being closed: its slot frees just after
    for (let i = 0; i < 100 && server.connections > 0; i++) await delay(10);
    assert.equal(server.connections, 0);
    // both slots are free again: a real client is served, not refused with 503
    const res = await fetch(`https://localhost:${server.addr.port}/`, { client });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "ok");
  } finally {
    client.close();
    rawClose(silent);
    rawClose(partial);
    await server.shutdown();
  }
});

// Pins a Deno 2.9.6 limitation the docs describe: a TlsConn closed before its handshake keeps
// its socket (and descriptor) open until the peer closes it. When this fails, Deno has fixed
// it: make the handshake-timeout test above also assert closedByServer, and update the docs.
Deno.test("Deno 2.9 keeps the socket of a TlsConn closed before its handshake open until the peer closes", async () => {
  await using ca = await makeTestCa();
  const { cert, key } = await tlsOf(ca);
  const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
  const peer = await rawConnect(new URL(`http://127.0.0.1:${listener.addr.port}/`));
  try {
    const conn = await listener.accept();
    conn.close();
    assert.equal(await closedByServer(peer, 500), false);
  } finally {
    rawClose(peer);
    listener.close();
  }
});

Deno.test("serveConnections with tls answers 503 over TLS to a connection past maxConnections", async () => {
  await using ca = await makeTestCa();
  const refused: ConnectionRefusal[] = [];
  const server = serveConnections({
    hostname: "127.0.0.1",
    port: 0,
    maxConnections: 1,
    headerTimeoutMs: 5000,
    tls: await tlsOf(ca),
    handler: () => Promise.resolve(new Response("ok")),
    onRefused: (r) => refused.push(r),
  });
  const holder = await rawConnect(new URL(`http://127.0.0.1:${server.addr.port}/`));
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(ca.caFile)] });
  try {
    // wait until the holder is being served
    for (let i = 0; i < 100 && server.connections < 1; i++) await delay(10);
    const res = await fetch(`https://localhost:${server.addr.port}/`, { client });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("retry-after"), "1");
    assert.match(await res.text(), /BROKER_MAX_CONNECTIONS/);
    assert.ok(refused.includes("connections"));
  } finally {
    client.close();
    rawClose(holder);
    await server.shutdown();
  }
});

Deno.test("serveConnections reports an unusable TLS key as InvalidData at start", async () => {
  await using ca = await makeTestCa();
  const other = await makeClientCert(ca, "other");
  assert.throws(
    () =>
      serveConnections({
        hostname: "127.0.0.1",
        port: 0,
        maxConnections: 1,
        headerTimeoutMs: 1000,
        tls: {
          cert: Deno.readTextFileSync(ca.certFile),
          key: Deno.readTextFileSync(other.keyFile), // not the certificate's key
        },
        handler: () => Promise.resolve(new Response("ok")),
      }),
    (error: unknown) =>
      error instanceof Deno.errors.InvalidData &&
      /Cannot serve HTTPS: .*private key/.test(error.message),
  );
});

// Deno 2.9's Deno.listenTls takes no client-CA or "request a client certificate" option: the
// handshake never carries a CertificateRequest, so mutual TLS cannot be served by the broker.
// This test pins the finding; when it fails, Deno has gained the feature (see docs).
Deno.test("Deno.listenTls in this Deno sends no CertificateRequest, so the broker cannot verify client certificates", async () => {
  await using ca = await makeTestCa();
  const { cert, key } = await tlsOf(ca);
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert,
    key,
    // options a Node-style API would use; Deno ignores them
    ...({ requestCert: true, ca: [cert], caCerts: [cert] } as Record<string, unknown>),
  });
  const client = new Deno.Command("openssl", {
    args: ["s_client", "-connect", `127.0.0.1:${listener.addr.port}`, "-CAfile", ca.caFile],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const conn = await listener.accept();
  try {
    await conn.handshake(); // completes although the client sent no certificate
  } finally {
    conn.close();
    listener.close();
  }
  const out = new TextDecoder().decode((await client).stdout);
  assert.match(out, /No client certificate CA names sent/);
});

Deno.test("makeClientCert makes a certificate that openssl s_server -Verify accepts, and s_server refuses a client without one", async () => {
  await using ca = await makeTestCa();
  const client = await makeClientCert(ca);
  const port = freePort();
  const server = new Deno.Command("openssl", {
    args: [
      "s_server",
      "-accept",
      `127.0.0.1:${port}`,
      "-cert",
      ca.certFile,
      "-key",
      ca.keyFile,
      "-CAfile",
      ca.caFile,
      "-Verify",
      "1",
      "-verify_return_error",
      "-www",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = drain(server);
  try {
    await waitForPort(port);
    const caCert = await Deno.readTextFile(ca.caFile);
    const withCert = Deno.createHttpClient({
      caCerts: [caCert],
      cert: await Deno.readTextFile(client.certFile),
      key: await Deno.readTextFile(client.keyFile),
    });
    const without = Deno.createHttpClient({ caCerts: [caCert] });
    try {
      const res = await fetch(`https://localhost:${port}/`, { client: withCert });
      assert.equal(res.status, 200);
      assert.match(await res.text(), /CN\s*=\s*client|Client certificate/);
      await assert.rejects(fetch(`https://localhost:${port}/`, { client: without }));
    } finally {
      withCert.close();
      without.close();
    }
  } finally {
    server.kill("SIGTERM");
    await server.status;
    await output;
  }
});

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await delay(25);
    }
  }
  throw new Error(`openssl s_server did not listen on ${port}`);
}

async function drain(child: Deno.ChildProcess): Promise<void> {
  await Promise.all([
    child.stdout.pipeTo(new WritableStream()),
    child.stderr.pipeTo(new WritableStream()),
  ]).catch(() => {});
}
