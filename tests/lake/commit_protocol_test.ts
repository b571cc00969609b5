import { EventIdSet } from "../../lib/lake/event_id_set.ts";
import assert from "node:assert/strict";
import { CommitProtocol } from "../../lib/lake/commit_protocol.ts";
import type { SealedUnit } from "../../lib/lake/lake_writer.ts";
import { LakeLayout } from "../../lib/lake/lake_layout.ts";
import { createLogger, memorySink } from "../../lib/cli/log.ts";
import { MemoryObjectStore } from "../../lib/object_store/memory_object_store.ts";
import type { ListOptions } from "../../lib/object_store/object_store.ts";
import {
  encodeManifest,
  MANIFEST_FORMAT,
  type UnitManifest,
} from "../../lib/lake/unit_manifest.ts";

function manifest(seq: number): UnitManifest {
  return {
    format: MANIFEST_FORMAT,
    partition: 0,
    seq,
    owner: "c0",
    topic: "t",
    schemaVersion: "1",
    compression: "zstd",
    ingestedAt: "2026-01-01T00:00:00.000Z",
    sealedAt: "2026-01-01T00:00:01.000Z",
    rotation: "rows",
    ranges: [{ partition: 0, start: seq * 10, end: seq * 10 + 9 }],
    positions: [{ partition: 0, offset: seq * 10 + 9 }],
    duplicates: [],
    files: [],
    dlq: null,
    counts: { records: 10, rows: 0, dlq: 0, canaries: 0, duplicates: 0 },
  };
}

/** A store whose listings lag behind its writes (some S3-compatible servers). */
class LaggingListStore extends MemoryObjectStore {
  override list(_prefix: string, _options?: ListOptions): Promise<string[]> {
    return Promise.resolve([]);
  }
}

async function setUp(store: MemoryObjectStore, withManifest: boolean) {
  const layout = new LakeLayout({ prefix: "", topic: "t" });
  const protocol = new CommitProtocol({
    store,
    layout,
    log: createLogger({ sink: memorySink() }),
  });
  for (let seq = 0; seq <= 5; seq++) {
    if (seq < 5 || withManifest) {
      await store.put(layout.manifestKey(0, seq), encodeManifest(manifest(seq)));
    }
  }
  await protocol.writePointer(manifest(5), new AbortController().signal);
  return protocol;
}

Deno.test("CommitProtocol.recover finds the unit the state pointer names even when a listing misses it", async () => {
  const protocol = await setUp(new LaggingListStore(), true);
  const state = await protocol.recover(0, new AbortController().signal);
  assert.equal(state.last?.seq, 5);
  assert.equal(state.complete, true);
});

Deno.test("CommitProtocol.recover refuses to restart at unit 0 when the manifest the pointer names is gone", async () => {
  const protocol = await setUp(new MemoryObjectStore(), false);
  await assert.rejects(protocol.recover(0, new AbortController().signal), /manifest 0\/5/);
});

function sealedUnit(seq: number, owner: string): SealedUnit {
  return {
    manifest: { ...manifest(seq), owner },
    objects: [{ key: `data-${seq}-${owner}`, bytes: new Uint8Array([1]), contentType: "x" }],
    eventIds: new EventIdSet(),
    maxEventTimeMs: undefined,
  };
}

Deno.test("CommitProtocol.claim lets the first claim of a unit's place win and the second lose", async () => {
  const store = new MemoryObjectStore();
  const layout = new LakeLayout({ prefix: "", topic: "t" });
  const protocol = new CommitProtocol({ store, layout, log: createLogger({ sink: memorySink() }) });
  const signal = new AbortController().signal;
  assert.equal(await protocol.claim(sealedUnit(0, "c0"), signal), "won");
  assert.equal(await protocol.claim(sealedUnit(0, "c1"), signal), "lost");
  // the manifest is the winner's, untouched by the loser
  const held = await protocol.readManifest(0, 0, signal);
  assert.equal(held?.owner, "c0");
  // a claim repeated with the same bytes (an answer lost on the way) is still the owner's
  assert.equal(await protocol.claim(sealedUnit(0, "c0"), signal), "won");
  assert.equal(await protocol.claim(sealedUnit(1, "c1"), signal), "won");
});

Deno.test("CommitProtocol.refuseSingleWriterLake names a manifest of the single-writer format", async () => {
  const store = new MemoryObjectStore();
  const layout = new LakeLayout({ prefix: "", topic: "t" });
  const protocol = new CommitProtocol({ store, layout, log: createLogger({ sink: memorySink() }) });
  const signal = new AbortController().signal;
  await store.put(layout.manifestKey(0, 0), encodeManifest(manifest(0)));
  await protocol.refuseSingleWriterLake(signal);
  await store.put("_manifests/t/000000000000.json", new Uint8Array([123, 125]));
  await assert.rejects(protocol.refuseSingleWriterLake(signal), /Point OUTPUT_URL at a new folder/);
});
