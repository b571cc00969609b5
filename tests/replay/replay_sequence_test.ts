import assert from "node:assert/strict";
import { ReplaySequence } from "../../lib/replay/replay_sequence.ts";

function event(id: string, dt: string, offset: number): string {
  return JSON.stringify({
    meta: { id, dt, offset },
    timestamp: Date.parse(dt) / 1000,
    type: "edit",
  });
}

const LINES = [
  event("00000001-aaaa-4aaa-8aaa-000000000001", "2026-05-05T11:17:40.500Z", 100),
  event("00000002-aaaa-4aaa-8aaa-000000000002", "2026-05-05T11:17:40.400Z", 101), // backwards
  event("00000003-aaaa-4aaa-8aaa-000000000003", "2026-05-05T11:17:42.000Z", 102),
];

Deno.test("ReplaySequence serves round 0 byte for byte and ends without loop", () => {
  const seq = new ReplaySequence(LINES);
  assert.equal(seq.length, 3);
  assert.deepEqual([0, 1, 2].map((i) => seq.at(i).data), LINES);
  assert.deepEqual([0, 1, 2].map((i) => seq.at(i).offset), [100, 101, 102]);
  assert.throws(() => seq.at(3), RangeError);
});

Deno.test("ReplaySequence resolves a time to the first event at or after it, in file order", () => {
  const seq = new ReplaySequence(LINES);
  assert.equal(seq.firstAtOrAfterTime(Date.parse("2026-05-05T11:17:40.450Z")), 0);
  assert.equal(seq.firstAtOrAfterTime(Date.parse("2026-05-05T11:17:40.600Z")), 2);
  assert.equal(seq.firstAtOrAfterTime(Date.parse("2026-05-05T12:00:00Z")), 3, "past the end");
  assert.equal(seq.firstAtOrAfterOffset(101), 1);
});

Deno.test("ReplaySequence with loop gives every round new meta.id, later meta.dt and offsets", () => {
  const seq = new ReplaySequence(LINES, { loop: true });
  assert.equal(seq.length, Infinity);
  // span 1.5 s, rounded up to 2 s, plus 1 s: a round is 3 s later than the one before.
  const second = JSON.parse(seq.at(3).data);
  assert.equal(second.meta.dt, "2026-05-05T11:17:43.500Z");
  assert.equal(second.timestamp, Date.parse("2026-05-05T11:17:40.500Z") / 1000 + 3);
  assert.equal(second.meta.offset, 103);
  assert.equal(seq.at(3).timeMs, Date.parse("2026-05-05T11:17:43.500Z"));
  const ids = new Set<string>();
  for (let i = 0; i < 3 * 50; i++) ids.add(JSON.parse(seq.at(i).data).meta.id);
  assert.equal(ids.size, 150, "no meta.id repeats across 50 rounds");
  assert.match(second.meta.id, /^[0-9a-f]{8}-aaaa-4aaa-8aaa-000000000001$/);
  // A time in round 7 resolves inside round 7.
  const t = seq.at(7 * 3 + 2).timeMs;
  assert.equal(seq.firstAtOrAfterTime(t), 7 * 3 + 2);
  assert.equal(seq.firstAtOrAfterOffset(100 + 7 * 3 + 1), 7 * 3 + 1);
});
