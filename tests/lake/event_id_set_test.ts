import assert from "node:assert/strict";
import { EventIdKey, EventIdSet } from "../../lib/lake/event_id_set.ts";

const DATA_DIR = new URL("../../../shared/data/recentchange/", import.meta.url);

function recordedIds(): string[] {
  const ids: string[] = [];
  for (const e of Deno.readDirSync(DATA_DIR)) {
    if (!e.name.endsWith(".ndjson")) continue;
    for (const line of Deno.readTextFileSync(new URL(e.name, DATA_DIR)).split("\n")) {
      if (line.trim() !== "") ids.push(JSON.parse(line).meta.id);
    }
  }
  return ids;
}

/** Seeded xorshift, so a failure names a reproducible case. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

Deno.test("EventIdSet answers like a Set of strings for every recorded id and copies that differ in one character", () => {
  const ids = recordedIds();
  const rand = random(20261204);
  const set = new EventIdSet();
  const reference = new Set<string>();
  // the ids, then near-copies: one character changed (also to a capital, a dash, a non-hex)
  const candidates = [...ids];
  for (const id of ids) {
    const at = Math.floor(rand() * id.length);
    const alphabet = "0123456789abcdefABCDEF-g\u00e9";
    const c = alphabet[Math.floor(rand() * alphabet.length)]!;
    candidates.push(id.slice(0, at) + c + id.slice(at + 1));
  }
  candidates.push("", "not-a-uuid", "00000000-0000-0000-0000-000000000000");
  for (let i = 0; i < candidates.length; i++) {
    const id = candidates[i]!;
    if (i % 2 === 0) {
      assert.equal(set.add(id), !reference.has(id), `add ${JSON.stringify(id)}`);
      reference.add(id);
    }
  }
  for (const id of candidates) assert.equal(set.has(id), reference.has(id), JSON.stringify(id));
  assert.equal(set.size, reference.size);
  assert.deepEqual(new Set(set), reference, "iterates over exactly the ids added");
});

Deno.test("EventIdKey prepared once answers in several sets as each set's own has and add do", () => {
  const ids = recordedIds();
  const rand = random(20261205);
  // three sets, as a unit and two units of the dedupe window: each id goes into one of them
  const sets = [new EventIdSet(), new EventIdSet(), new EventIdSet()];
  const references = sets.map(() => new Set<string>());
  const candidates = [...ids, ...ids.map((id) => id.toUpperCase()), "", "x", "not-a-uuid"];
  const key = new EventIdKey();
  for (const id of candidates) {
    const k = Math.floor(rand() * 4); // 3: added nowhere
    if (k < 3) {
      assert.equal(sets[k]!.addKey(key.of(id)), !references[k]!.has(id), `addKey ${id}`);
      references[k]!.add(id);
    }
  }
  for (const id of candidates) {
    key.of(id);
    for (let k = 0; k < 3; k++) {
      assert.equal(sets[k]!.hasKey(key), references[k]!.has(id), `hasKey ${k} ${id}`);
      assert.equal(sets[k]!.has(id), references[k]!.has(id), `has ${k} ${id}`);
    }
  }
  for (let k = 0; k < 3; k++) assert.deepEqual(new Set(sets[k]!), references[k]);
});

Deno.test("EventIdSet keeps a capitalised UUID apart from its lowercase form", () => {
  const set = new EventIdSet();
  const id = "5f0e7b4a-1c2d-4e3f-8a9b-0c1d2e3f4a5b";
  set.add(id);
  assert.equal(set.has(id.toUpperCase()), false);
  set.add(id.toUpperCase());
  assert.equal(set.size, 2);
  assert.equal(set.has(id.toUpperCase()), true);
});

Deno.test("EventIdSet grows past its expected size and holds ids that differ only in their last group", () => {
  const set = new EventIdSet(4);
  // the backlog benchmark's copies: same first 28 characters, a counter in the last 8
  for (let copy = 0; copy < 50_000; copy++) {
    assert.ok(set.add(`5f0e7b4a-1c2d-4e3f-8a9b-0c1d${String(copy).padStart(8, "0")}`));
  }
  assert.equal(set.size, 50_000);
  assert.ok(set.has("5f0e7b4a-1c2d-4e3f-8a9b-0c1d00049999"));
  assert.equal(set.has("5f0e7b4a-1c2d-4e3f-8a9b-0c1d00050000"), false);
  assert.ok(set.byteSize < 50_000 * 70, `${set.byteSize} bytes for 50,000 ids`);
});
