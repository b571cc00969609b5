import assert from "node:assert/strict";
import { parseRecordsBody, splitJsonArray } from "../../lib/rest_proxy/records_body.ts";
import type { ConsumerRecord } from "../../lib/rest_proxy/rest_consumer_client.ts";
import { boundedJson, jsonValueProblem } from "../../lib/lake/untrusted_json.ts";

const record = (offset: number, value: string) =>
  `{"topic":"t","key":null,"value":${value},"partition":2,"offset":${offset}}`;

Deno.test("parseRecordsBody() marks the one unparsable record and parses the others", () => {
  const body = `[${record(7, '{"a":"x,]}\\""}')},${record(8, "NaN")},${record(9, "[1]")}]`;
  const records = parseRecordsBody(body) as ConsumerRecord[];
  assert.equal(records.length, 3);
  assert.deepEqual(records[0]!.value, { a: 'x,]}"' });
  assert.deepEqual(records[2]!.value, [1]);
  const bad = records[1]!;
  assert.deepEqual([bad.topic, bad.partition, bad.offset, bad.value], ["t", 2, 8, null]);
  assert.match(bad.unreadable!.reason, /^not JSON/);
  assert.equal(bad.unreadable!.text, record(8, "NaN"));
});

Deno.test("parseRecordsBody() still fails on a cut body (the read is lost, not dead-lettered)", () => {
  assert.throws(() => parseRecordsBody(`[${record(7, "1")},${record(8, "NaN")}`), SyntaxError);
  assert.throws(() => parseRecordsBody(`[${record(7, "1")},{"topic":"t","va`), SyntaxError);
});

Deno.test("splitJsonArray() finds the elements of arrays of any depth without recursion", () => {
  const deep = "[".repeat(500_000) + "]".repeat(500_000);
  assert.deepEqual(splitJsonArray(`[${deep}, 1 ,"\\\\"]`), [
    [1, 1_000_001],
    [1_000_002, 1_000_005],
    [
      1_000_006,
      1_000_010,
    ],
  ]);
  assert.deepEqual(splitJsonArray(" [ ] "), []);
  assert.equal(splitJsonArray("[1,]"), undefined);
  assert.equal(splitJsonArray("[1] x"), undefined);
  assert.equal(splitJsonArray('["]'), undefined);
});

Deno.test("boundedJson() writes what JSON.stringify writes, for any depth, keeping a prefix", () => {
  const samples: unknown[] = [
    { a: [1, "two", null, true, { "b\ud800": -0.5e-7 }], c: {}, d: [] },
    "\ud800 lone",
    [1e400, -1e400],
    null,
  ];
  for (const v of samples) {
    const text = JSON.stringify(v);
    assert.deepEqual(boundedJson(v, 1000), { text, length: text.length });
  }
  const deep = JSON.parse("[".repeat(300_000) + "]".repeat(300_000));
  assert.deepEqual(boundedJson(deep, 3), { text: "[[[", length: 600_000 });
  assert.equal(boundedJson("\u{1F600}", 2).text, '"', "a surrogate pair is never cut");
});

Deno.test("jsonValueProblem() reports deep nesting and numbers that became Infinity", () => {
  assert.equal(jsonValueProblem({ a: [1, { b: "x" }] }), undefined);
  assert.match(jsonValueProblem(JSON.parse("[".repeat(1001) + "]".repeat(1001)))!, /deeper/);
  assert.equal(jsonValueProblem(JSON.parse("[".repeat(1000) + "]".repeat(1000))), undefined);
  assert.match(jsonValueProblem(JSON.parse('{"a":[{"b":1e400}]}'))!, /out of range/);
  assert.match(jsonValueProblem(-Infinity)!, /out of range/);
});
