import assert from "node:assert/strict";
import { JsonObjectSplitter } from "../../lib/rest_proxy/json_object_splitter.ts";

const utf8 = new TextEncoder();
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

const OBJECTS = [
  '{"a":"br}ace{ and \\"quote\\" and \\\\"}',
  '{"nested":{"x":[1,{"y":"]"}]},"é":"✓"}',
  "{}",
];

Deno.test("JsonObjectSplitter finds the same objects wherever the chunks are cut", () => {
  const stream = utf8.encode(OBJECTS.join("\r\n") + " \t\n");
  for (let cut = 0; cut <= stream.length; cut++) {
    const splitter = new JsonObjectSplitter(1024);
    const found = [
      ...splitter.push(stream.subarray(0, cut)),
      ...splitter.push(stream.subarray(cut)),
    ].map(text);
    assert.deepEqual(found, OBJECTS, `cut at ${cut}`);
    assert.equal(splitter.end(), undefined);
  }
});

Deno.test("JsonObjectSplitter returns the objects before a non-object and then stops", () => {
  const splitter = new JsonObjectSplitter(1024);
  const found = splitter.push(utf8.encode('{"a":1} [2] {"b":3}'));
  assert.deepEqual(found.map(text), ['{"a":1}']);
  assert.equal(splitter.error?.problem, "not_object");
  assert.deepEqual(splitter.push(utf8.encode('{"c":4}')), []);
});

Deno.test("JsonObjectSplitter refuses an object longer than its cap without holding it", () => {
  const splitter = new JsonObjectSplitter(16);
  assert.deepEqual(splitter.push(utf8.encode('{"a":"0123')).length, 0);
  assert.equal(splitter.pendingBytes, 10);
  assert.deepEqual(splitter.push(utf8.encode('456789"}')), []);
  assert.equal(splitter.error?.problem, "too_large");
  assert.equal(splitter.pendingBytes, 0);
});

Deno.test("JsonObjectSplitter reports a stream that ends inside an object", () => {
  const splitter = new JsonObjectSplitter(1024);
  splitter.push(utf8.encode('{"a":1}{"b":'));
  assert.equal(splitter.end()?.problem, "truncated");
});
