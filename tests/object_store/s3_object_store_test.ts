import assert from "node:assert/strict";
import { ObjectStoreError } from "../../lib/object_store/object_store.ts";
import { S3ObjectStore } from "../../lib/object_store/s3_object_store.ts";
import { Backoff } from "../../lib/cli/backoff.ts";
import {
  assertCreateThenExists,
  assertOneConcurrentCreateWins,
} from "../_helpers/create_contract.ts";
import { startS3Server, type TestS3Server } from "../_helpers/s3_server.ts";
import {
  S3RVER_CREDENTIALS,
  S3RVER_READY_REGEXP,
  s3rverProcessFlags,
} from "../_helpers/s3_server_process.ts";
import { probeConditionalCreate } from "../../lib/object_store/conditional_create_probe.ts";

function storeFor(s3: TestS3Server): S3ObjectStore {
  return new S3ObjectStore({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: s3.credentials,
  });
}

Deno.test("S3ObjectStore puts, gets, heads, lists and deletes against s3rver", async () => {
  await using s3 = await startS3Server();
  const store = new S3ObjectStore({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: s3.credentials,
  });
  try {
    const bytes = new TextEncoder().encode("parquet bytes");
    await store.put("p/t/date=2026-01-01/hour=00/a.parquet", bytes, {
      contentType: "application/vnd.apache.parquet",
    });
    await store.put("p/_manifests/t/000000000000.json", new TextEncoder().encode("{}"));
    await store.put("p/_manifests/t/000000000001.json", new TextEncoder().encode("{}"));
    assert.deepEqual(await store.get("p/t/date=2026-01-01/hour=00/a.parquet"), bytes);
    assert.equal(await store.get("p/none"), undefined);
    assert.equal(await store.exists("p/_manifests/t/000000000001.json"), true);
    assert.equal(await store.exists("p/_manifests/t/000000000002.json"), false);
    assert.deepEqual(
      await store.list("p/_manifests/t/", { startAfter: "p/_manifests/t/000000000000.json" }),
      ["p/_manifests/t/000000000001.json"],
    );
    await store.delete("p/_manifests/t/000000000001.json");
    assert.deepEqual(await store.list("p/_manifests/"), ["p/_manifests/t/000000000000.json"]);
  } finally {
    store.close();
  }
});

Deno.test("S3ObjectStore says the bucket is missing instead of retrying", async () => {
  await using s3 = await startS3Server();
  const store = new S3ObjectStore({
    bucket: "no-such-bucket",
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: s3.credentials,
  });
  try {
    await assert.rejects(
      store.put("k", new Uint8Array([1])),
      (e: unknown) =>
        e instanceof ObjectStoreError && !e.retriable &&
        /"no-such-bucket" does not exist/.test(e.message),
    );
  } finally {
    store.close();
  }
});

Deno.test("S3ObjectStore retries an unreachable endpoint, then fails as retriable", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const store = new S3ObjectStore({
    bucket: "b",
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    credentials: { accessKeyId: "a", secretAccessKey: "b" },
    maxAttempts: 3,
    clock: { now: () => 0, sleep: () => Promise.resolve() },
  });
  try {
    await assert.rejects(
      store.put("k", new Uint8Array([1])),
      (e: unknown) => e instanceof ObjectStoreError && e.retriable,
    );
  } finally {
    store.close();
  }
});

Deno.test("S3ObjectStore lists more than 1000 keys across pages, honouring startAfter", async () => {
  // s3rver cannot paginate under Deno (its continuation tokens need DES), so a tiny fake
  // ListObjectsV2 endpoint serves pages of 1000 keys the way S3 does
  const keys = Array.from({ length: 2345 }, (_, i) => `m/${String(i).padStart(6, "0")}.json`);
  const requests: URLSearchParams[] = [];
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const q = new URL(req.url).searchParams;
    requests.push(q);
    const token = q.get("continuation-token");
    const after = token !== null ? atob(token) : q.get("start-after") ?? "";
    const rest = keys.filter((k) => k.startsWith(q.get("prefix") ?? "") && k > after);
    const page = rest.slice(0, 1000);
    const truncated = rest.length > page.length;
    const xml = `<?xml version="1.0" encoding="UTF-8"?>` +
      `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>` +
      `<KeyCount>${page.length}</KeyCount><MaxKeys>1000</MaxKeys>` +
      `<IsTruncated>${truncated}</IsTruncated>` +
      (truncated ? `<NextContinuationToken>${btoa(page.at(-1)!)}</NextContinuationToken>` : "") +
      page.map((k) => `<Contents><Key>${k}</Key><Size>2</Size></Contents>`).join("") +
      `</ListBucketResult>`;
    return new Response(xml, { headers: { "content-type": "application/xml" } });
  });
  const store = new S3ObjectStore({
    bucket: "b",
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    forcePathStyle: true,
    credentials: { accessKeyId: "k", secretAccessKey: "s" },
  });
  try {
    assert.deepEqual(await store.list("m/"), keys);
    assert.equal(requests.length, 3);
    assert.deepEqual(await store.list("m/", { startAfter: keys[49] }), keys.slice(50));
  } finally {
    store.close();
  }
});

Deno.test("S3ObjectStore.create writes a free key and answers exists for a taken one, keeping the first object", async () => {
  await using s3 = await startS3Server();
  const store = storeFor(s3);
  try {
    await assertCreateThenExists(store, "lake/_fence/owner.json");
    await store.put("lake/_fence/put.json", new Uint8Array([1]));
    assert.equal(await store.create("lake/_fence/put.json", new Uint8Array([2])), "exists");
    assert.deepEqual(await store.get("lake/_fence/put.json"), new Uint8Array([1]));
  } finally {
    store.close();
  }
});

Deno.test("S3ObjectStore.create lets exactly one of 20 concurrent creates of a key win against s3rver", async () => {
  await using s3 = await startS3Server();
  const store = storeFor(s3);
  try {
    await assertOneConcurrentCreateWins(store, "lake/_fence/owner.json");
  } finally {
    store.close();
  }
});

Deno.test("the test s3rver answers a conditional PUT of a taken key with AWS's 412 PreconditionFailed error", async () => {
  await using s3 = await startS3Server();
  const url = `${s3.endpoint}/${s3.bucket}/k.json`;
  const store = storeFor(s3);
  try {
    await store.put("k.json", new TextEncoder().encode("first"));
  } finally {
    store.close();
  }
  // s3rver checks signatures only when an Authorization header is present
  const refused = await fetch(url, {
    method: "PUT",
    headers: { "if-none-match": "*" },
    body: "second",
  });
  const body = await refused.text();
  assert.equal(refused.status, 412);
  assert.match(
    body,
    /<Error><Code>PreconditionFailed<\/Code><Message>At least one of the pre-conditions you specified did not hold<\/Message>/,
  );
  assert.equal(await (await fetch(url)).text(), "first");
});

Deno.test("S3ObjectStore.create retries a 409 ConditionalRequestConflict and then answers exists on 412", async () => {
  const answers = [409, 409, 412];
  const seen: (string | null)[] = [];
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      seen.push(req.headers.get("if-none-match"));
      await req.body?.cancel();
      const status = answers.shift() ?? 500;
      const code = status === 409 ? "ConditionalRequestConflict" : "PreconditionFailed";
      return new Response(
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code>` +
          `<Message>conditional write refused</Message></Error>`,
        { status, headers: { "content-type": "application/xml" } },
      );
    },
  );
  const store = new S3ObjectStore({
    bucket: "b",
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    forcePathStyle: true,
    credentials: { accessKeyId: "k", secretAccessKey: "s" },
    backoff: new Backoff({ initialMs: 1, maxMs: 1 }),
  });
  try {
    assert.equal(await store.create("k", new Uint8Array([1])), "exists");
    assert.deepEqual(seen, ["*", "*", "*"]);
  } finally {
    store.close();
  }
});

Deno.test("S3ObjectStore.create fails as retriable, naming the conflict, when every attempt gets 409", async () => {
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      await req.body?.cancel();
      return new Response(
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>ConditionalRequestConflict</Code>` +
          `<Message>A conflicting operation occurred</Message></Error>`,
        { status: 409, headers: { "content-type": "application/xml" } },
      );
    },
  );
  const store = new S3ObjectStore({
    bucket: "b",
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    forcePathStyle: true,
    credentials: { accessKeyId: "k", secretAccessKey: "s" },
    maxAttempts: 2,
    backoff: new Backoff({ initialMs: 1, maxMs: 1 }),
  });
  try {
    await assert.rejects(
      store.create("k", new Uint8Array([1])),
      (e: unknown) =>
        e instanceof ObjectStoreError && e.retriable &&
        /ConditionalRequestConflict \(HTTP 409\): another conditional upload/.test(e.message),
    );
  } finally {
    store.close();
  }
});

/** Runs s3_server_process.ts with `args` and probes it for conditional creates. */
async function probeS3Process(args: string[]): Promise<boolean> {
  const directory = await Deno.makeTempDir({ prefix: "wikistream-s3rver-process-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...s3rverProcessFlags(directory),
      new URL("../_helpers/s3_server_process.ts", import.meta.url).pathname,
      "--directory",
      directory,
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    let text = "";
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    while (!S3RVER_READY_REGEXP.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`s3_server_process.ts exited before listening: ${text}`);
      text += value;
    }
    await reader.cancel();
    const store = new S3ObjectStore({
      bucket: "wikistream-test",
      endpoint: S3RVER_READY_REGEXP.exec(text)![1]!,
      forcePathStyle: true,
      credentials: { ...S3RVER_CREDENTIALS },
    });
    try {
      return await probeConditionalCreate(store, "lake/_probe/process.json");
    } finally {
      store.close();
    }
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(directory, { recursive: true });
  }
}

Deno.test("the s3rver process honours If-None-Match unless started with --conditional-put false", async () => {
  assert.equal(await probeS3Process([]), true);
  assert.equal(await probeS3Process(["--conditional-put", "false"]), false);
});
