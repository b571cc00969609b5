import assert from "node:assert/strict";
import { DedupeWindow } from "../../lib/consumer/dedupe_window.ts";
import { LakeUnit } from "../../lib/lake/lake_writer.ts";
import { TEST_LAYOUT, UNBOUNDED_LIMITS } from "../_helpers/lake_unit_options.ts";
import { loadRecordedEvents } from "../_helpers/produce_events.ts";

const LIMITS = UNBOUNDED_LIMITS;
const layout = TEST_LAYOUT;

function unit(seq: number, window: DedupeWindow): LakeUnit {
  return new LakeUnit({
    partition: 0,
    owner: "c0",
    seq,
    topic: "wikimedia-changes",
    layout,
    ingestedAtMs: 1e12,
    limits: LIMITS,
    seen: window,
  });
}

function withId(event: Record<string, unknown>, id: string): Record<string, unknown> {
  return { ...event, meta: { ...(event.meta as Record<string, unknown>), id } };
}

Deno.test("a unit drops the events an earlier unit of the dedupe window wrote, and keeps those of evicted units", async () => {
  const events = (await loadRecordedEvents(300)) as Record<string, unknown>[];
  const window = new DedupeWindow(150);
  let offset = 0;
  const add = (u: LakeUnit, value: unknown) => u.add({ value, partition: 0, offset: offset++ });
  const seal = (u: LakeUnit) => u.seal({ rotation: "age", compression: "zstd", nowMs: 0 });
  // three units of 100 events each; one event id is not a UUID (kept as a string)
  const odd = withId(events[0]!, "not-a-uuid-id");
  const batches = [[odd, ...events.slice(1, 100)], events.slice(100, 200), events.slice(200, 300)];
  for (let seq = 0; seq < 3; seq++) {
    const u = unit(seq, window);
    for (const e of batches[seq]!) assert.equal(add(u, e), "row");
    const sealed = await seal(u);
    window.addUnit(seq, sealed.eventIds);
  }
  // the window keeps at least 150 ids: units 1 and 2 (200 ids), unit 0 evicted
  assert.equal(window.size, 200);
  const next = unit(3, window);
  for (const e of batches[2]!) assert.equal(add(next, e), "duplicate", "the newest unit's events");
  for (const e of batches[1]!) assert.equal(add(next, e), "duplicate", "an older unit's events");
  assert.equal(add(next, odd), "row", "an evicted unit's non-UUID id");
  assert.equal(add(next, events[50]), "row", "an evicted unit's UUID");
  assert.equal(add(next, events[50]), "duplicate", "the unit's own id");
});
