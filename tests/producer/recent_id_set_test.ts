import assert from "node:assert/strict";
import { RecentIdSet } from "../../lib/producer/recent_id_set.ts";

Deno.test("RecentIdSet.addIfAbsent reports new ids once and forgets the oldest past capacity", () => {
  const set = new RecentIdSet(3);
  assert.equal(set.addIfAbsent("a"), true);
  assert.equal(set.addIfAbsent("a"), false);
  assert.equal(set.addIfAbsent("b"), true);
  set.add("c");
  assert.equal(set.addIfAbsent("d"), true); // evicts "a"
  assert.equal(set.has("a"), false);
  assert.deepEqual(set.values(), ["b", "c", "d"]);
  assert.equal(set.addIfAbsent("a"), true); // evicts "b"
  assert.deepEqual(set.values(), ["c", "d", "a"]);
  assert.equal(set.size, 3);
});
