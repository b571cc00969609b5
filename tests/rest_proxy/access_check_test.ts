/**
 * `checkRestAccess`: the start-up call that makes wrong credentials stop a program at once,
 * while a proxy that is down, or that only forbids listing topics, lets it go on.
 *
 * @module
 */
import assert from "node:assert/strict";
import { checkRestAccess } from "../../lib/rest_proxy/access_check.ts";
import { openRestAccess } from "../../lib/rest_proxy/rest_access.ts";
import { RestAccessError } from "../../lib/rest_proxy/rest_access_error.ts";
import { testLogger } from "../_helpers/producer_setup.ts";

async function check(status: number | "down") {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) =>
      new URL(request.url).pathname === "/base/topics"
        ? Response.json(status === 200 ? ["t"] : { error_code: 40000, message: "no" }, {
          status: status === "down" ? 500 : status,
        })
        : new Response("wrong path", { status: 404 }),
  );
  const url = `http://127.0.0.1:${status === "down" ? 9 : server.addr.port}/base`;
  const { log, sink } = testLogger();
  try {
    using access = await openRestAccess({ kafkaRestUrl: new URL(url) });
    const result = await checkRestAccess(access, { log, signal: new AbortController().signal })
      .catch((e) => e);
    return { result, warnings: sink.records.filter((r) => r.level === "warn") };
  } finally {
    await server.shutdown();
  }
}

Deno.test("the access check passes on a 2xx from GET <KAFKA_REST_URL>/topics", async () => {
  const { result, warnings } = await check(200);
  assert.equal(result, true);
  assert.deepEqual(warnings, []);
});

Deno.test("the access check throws the RestAccessError of a 401", async () => {
  const { result } = await check(401);
  assert.ok(result instanceof RestAccessError, String(result));
  assert.equal(result.status, 401);
});

Deno.test("the access check only warns for a 403 on listing topics, an error answer and an unreachable proxy", async () => {
  for (const status of [403, 500, "down"] as const) {
    const { result, warnings } = await check(status);
    assert.equal(result, false, String(status));
    assert.equal(warnings.length, 1, String(status));
  }
});

Deno.test("a stop during the access check ends it quietly, so the program stops as usual", async () => {
  const release = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    await release.promise;
    return Response.json([]);
  });
  const { log } = testLogger();
  const stop = new AbortController();
  try {
    using access = await openRestAccess({
      kafkaRestUrl: new URL(`http://127.0.0.1:${server.addr.port}/`),
    });
    setTimeout(() => stop.abort(new DOMException("received SIGINT", "AbortError")), 100);
    assert.equal(await checkRestAccess(access, { log, signal: stop.signal }), false);
  } finally {
    release.resolve();
    await server.shutdown();
  }
});
