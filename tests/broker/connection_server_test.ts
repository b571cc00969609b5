import assert from "node:assert/strict";
import {
  type ConnectionListener,
  type ConnectionRefusal,
  serveConnections,
} from "../../lib/broker/connection_server.ts";
import type { Logger } from "../../lib/cli/log.ts";
import {
  closedByServer,
  rawClose,
  rawConnect,
  rawWrite,
  readResponse,
  requestHead,
} from "../_helpers/raw_http.ts";

function urlOf(addr: Deno.NetAddr): URL {
  return new URL(`http://${addr.hostname}:${addr.port}/`);
}

function recordingLogger(lines: { level: string; message: string; p: unknown }[]): Logger {
  const log: Logger = {
    debug: (message, p) => lines.push({ level: "debug", message, p }),
    info: (message, p) => lines.push({ level: "info", message, p }),
    warn: (message, p) => lines.push({ level: "warn", message, p }),
    error: (message, p) => lines.push({ level: "error", message, p }),
    child: () => log,
  };
  return log;
}

Deno.test("this Deno still has the soft-removed Deno.serveHttp the broker serves HTTP with", () => {
  assert.equal(typeof (Deno as unknown as { serveHttp?: unknown }).serveHttp, "function");
});

Deno.test("serveConnections answers 503 with a REST Proxy body and closes a connection past maxConnections", async () => {
  const refused: ConnectionRefusal[] = [];
  const server = serveConnections({
    hostname: "127.0.0.1",
    port: 0,
    maxConnections: 2,
    headerTimeoutMs: 10_000,
    handler: () => Promise.resolve(new Response("ok")),
    onRefused: (r) => refused.push(r),
  });
  const url = urlOf(server.addr);
  const held = [await rawConnect(url), await rawConnect(url)];
  try {
    // the two held connections are served: each answers a request
    for (const c of held) {
      await rawWrite(c, requestHead("GET", "/", {}));
      assert.equal((await readResponse(c))?.status, 200);
    }
    const third = await rawConnect(url);
    try {
      await rawWrite(third, requestHead("GET", "/", {}));
      const res = await readResponse(third);
      assert.equal(res?.status, 503);
      assert.equal(res?.headers.get("connection"), "close");
      assert.equal(res?.headers.get("retry-after"), "1");
      assert.deepEqual(JSON.parse(res!.body), {
        error_code: 503,
        message: "Service Unavailable: the broker serves its limit of 2 connections " +
          "(BROKER_MAX_CONNECTIONS); retry later",
      });
      assert.ok(await closedByServer(third, 3000), "the refused connection is closed");
    } finally {
      rawClose(third);
    }
    assert.deepEqual(refused, ["connections"]);
    assert.equal(server.connections, 2);
  } finally {
    for (const c of held) rawClose(c);
    await server.shutdown();
  }
});

Deno.test("serveConnections closes a connection that sends no request head within headerTimeoutMs", async () => {
  const refused: ConnectionRefusal[] = [];
  const server = serveConnections({
    hostname: "127.0.0.1",
    port: 0,
    maxConnections: 8,
    headerTimeoutMs: 300,
    handler: () => Promise.resolve(new Response("ok")),
    onRefused: (r) => refused.push(r),
  });
  const url = urlOf(server.addr);
  const silent = await rawConnect(url);
  const slow = await rawConnect(url);
  const keepAlive = await rawConnect(url);
  try {
    await rawWrite(slow, "GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n"); // never finishes its head
    await rawWrite(keepAlive, requestHead("GET", "/", {}));
    assert.equal((await readResponse(keepAlive))?.status, 200);
    const started = Date.now();
    assert.ok(await closedByServer(silent, 3000), "a silent connection is closed");
    assert.ok(await closedByServer(slow, 3000), "a connection with half a head is closed");
    assert.ok(await closedByServer(keepAlive, 3000), "an idle keep-alive connection is closed");
    assert.ok(Date.now() - started < 2000);
    // the keep-alive connection had answered a request: closing it idle is no refusal
    assert.deepEqual(refused, ["header_timeout", "header_timeout"]);
    assert.equal(server.connections, 0);
  } finally {
    for (const c of [silent, slow, keepAlive]) rawClose(c);
    await server.shutdown();
  }
});

Deno.test("serveConnections survives failing accepts (EMFILE): reports each, logs once, keeps serving", async () => {
  const real = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let failuresLeft = 5;
  const listener: ConnectionListener = {
    addr: real.addr,
    accept() {
      if (failuresLeft-- > 0) {
        return Promise.reject(
          Object.assign(new Error("Too many open files (os error 24)"), { code: "EMFILE" }),
        );
      }
      return real.accept();
    },
    close: () => real.close(),
  };
  const errors: unknown[] = [];
  const lines: { level: string; message: string; p: unknown }[] = [];
  const server = serveConnections({
    hostname: "127.0.0.1",
    port: 0,
    maxConnections: 8,
    headerTimeoutMs: 10_000,
    handler: () => Promise.resolve(new Response("still here")),
    onAcceptError: (e) => errors.push(e),
    log: recordingLogger(lines),
    listen: () => listener,
  });
  try {
    const res = await fetch(urlOf(server.addr));
    assert.equal(await res.text(), "still here");
    assert.equal(errors.length, 5);
    const warnings = lines.filter((l) => l.message === "accepting a connection failed; retrying");
    assert.equal(warnings.length, 1, "one log line for a burst of failures");
    assert.equal((warnings[0]!.p as { code: string }).code, "EMFILE");
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveConnections shutdown closes idle connections and lets a request in progress finish", async () => {
  const release = Promise.withResolvers<void>();
  const entered = Promise.withResolvers<void>();
  const server = serveConnections({
    hostname: "127.0.0.1",
    port: 0,
    maxConnections: 8,
    headerTimeoutMs: 10_000,
    handler: async () => {
      entered.resolve();
      await release.promise;
      return new Response("done");
    },
  });
  const url = urlOf(server.addr);
  const idle = await rawConnect(url);
  const busy = await rawConnect(url);
  try {
    await rawWrite(busy, requestHead("GET", "/", {}));
    await entered.promise;
    const stopping = server.shutdown();
    assert.ok(await closedByServer(idle, 3000), "the idle connection is closed at once");
    release.resolve();
    const res = await readResponse(busy);
    assert.equal(res?.status, 200);
    assert.equal(res?.body, "done");
    assert.equal(res?.headers.get("connection"), "close");
    assert.ok(await closedByServer(busy, 3000), "and it closes once the response is written");
    await stopping;
    assert.equal(server.connections, 0);
  } finally {
    rawClose(idle);
    rawClose(busy);
    release.resolve();
    await server.shutdown();
  }
});
