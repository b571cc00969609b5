import assert from "node:assert/strict";
import { probeConditionalCreate } from "../../lib/object_store/conditional_create_probe.ts";
import { LocalObjectStore } from "../../lib/object_store/local_object_store.ts";
import { MemoryObjectStore } from "../../lib/object_store/memory_object_store.ts";
import { S3ObjectStore } from "../../lib/object_store/s3_object_store.ts";
import { startS3Server, type TestS3Server } from "../_helpers/s3_server.ts";

const KEY = "lake/_probe/conditional-create.json";

function storeFor(s3: TestS3Server): S3ObjectStore {
  return new S3ObjectStore({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: s3.credentials,
  });
}

Deno.test("probeConditionalCreate is true for LocalObjectStore and deletes its key", async () => {
  const root = await Deno.makeTempDir();
  try {
    const store = new LocalObjectStore({ root });
    assert.equal(await probeConditionalCreate(store, KEY), true);
    assert.deepEqual(await store.list(""), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("probeConditionalCreate is true for MemoryObjectStore and deletes its key", async () => {
  const store = new MemoryObjectStore();
  assert.equal(await probeConditionalCreate(store, KEY), true);
  assert.equal(store.objects.size, 0);
});

Deno.test("probeConditionalCreate deletes a key left over by an earlier probe and probes again", async () => {
  const store = new MemoryObjectStore();
  await store.put(KEY, new TextEncoder().encode('{"probe":"left over"}'));
  assert.equal(await probeConditionalCreate(store, KEY), true);
  assert.equal(store.objects.size, 0);
});

Deno.test("probeConditionalCreate is true for S3ObjectStore on an s3rver that honours If-None-Match", async () => {
  await using s3 = await startS3Server();
  const store = storeFor(s3);
  try {
    assert.equal(await probeConditionalCreate(store, KEY), true);
    assert.deepEqual(await store.list("lake/"), []);
  } finally {
    store.close();
  }
});

Deno.test("probeConditionalCreate is false on an s3rver that ignores If-None-Match and overwrites", async () => {
  await using s3 = await startS3Server(undefined, undefined, { conditionalPut: false });
  const store = storeFor(s3);
  try {
    assert.equal(await probeConditionalCreate(store, KEY), false);
    assert.deepEqual(await store.list("lake/"), []);
  } finally {
    store.close();
  }
});
