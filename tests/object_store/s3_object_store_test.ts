import assert from "node:assert/strict";
import { ObjectStoreError } from "../../lib/object_store/object_store.ts";
import { S3ObjectStore } from "../../lib/object_store/s3_object_store.ts";
import { startS3Server } from "../_helpers/s3_server.ts";

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
