import assert from "node:assert/strict";
import { parseStreamPosition, rewindLastEventId } from "../lib/resume_position.ts";

const ID = '[{"topic":"eqiad.mediawiki.recentchange","partition":0,"timestamp":1791207722236},' +
  '{"topic":"codfw.mediawiki.recentchange","partition":0,"offset":-1}]';

Deno.test("rewindLastEventId moves timestamps back and replaces offset -1 with a timestamp", () => {
  assert.deepEqual(JSON.parse(rewindLastEventId(ID, { marginMs: 10_000 })!), [
    { topic: "eqiad.mediawiki.recentchange", partition: 0, timestamp: 1791207712236 },
    { topic: "codfw.mediawiki.recentchange", partition: 0, timestamp: 1791207712236 },
  ]);
});

Deno.test("rewindLastEventId keeps explicit offsets and uses the fallback time without timestamps", () => {
  const id = '[{"topic":"a","partition":0,"offset":42},{"topic":"b","partition":0,"offset":-1}]';
  assert.deepEqual(JSON.parse(rewindLastEventId(id, { marginMs: 5, fallbackTimestampMs: 100 })!), [
    { topic: "a", partition: 0, offset: 42 },
    { topic: "b", partition: 0, timestamp: 95 },
  ]);
});

Deno.test("parseStreamPosition rejects text that is not an EventStreams id", () => {
  assert.equal(parseStreamPosition("12"), undefined);
  assert.equal(parseStreamPosition("[]"), undefined);
  assert.equal(parseStreamPosition('[{"topic":"a","partition":0}]'), undefined);
  assert.equal(rewindLastEventId("not json", { marginMs: 1 }), undefined);
});
