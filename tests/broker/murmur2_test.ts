import assert from "node:assert/strict";
import { murmur2, partitionForKey, toPositive } from "../../lib/broker/murmur2.ts";
import { rangeAssign } from "../../lib/broker/range_assignor.ts";

const encoder = new TextEncoder();

Deno.test("murmur2 matches Kafka's Utils.murmur2 test vectors", () => {
  // org.apache.kafka.common.utils.UtilsTest#testMurmur2
  const cases: [string, number][] = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
  ];
  for (const [text, hash] of cases) assert.equal(murmur2(encoder.encode(text)), hash, text);
  assert.equal(murmur2(new Uint8Array([0x61, 0x62, 0x63])), 479470107);
});

Deno.test("partitionForKey uses toPositive(murmur2) modulo the partition count", () => {
  assert.equal(toPositive(-973932308), -973932308 & 0x7fffffff);
  assert.equal(partitionForKey(encoder.encode("21"), 3), (-973932308 & 0x7fffffff) % 3);
  assert.equal(partitionForKey(encoder.encode("foobar"), 7), (-790332482 & 0x7fffffff) % 7);
});

Deno.test("rangeAssign gives contiguous ranges, first members one extra", () => {
  const plan = rangeAssign(
    [{ id: "b", topics: ["t"] }, { id: "a", topics: ["t"] }],
    () => 3,
  );
  assert.deepEqual(plan.get("a"), [["t", 0], ["t", 1]]);
  assert.deepEqual(plan.get("b"), [["t", 2]]);
});
