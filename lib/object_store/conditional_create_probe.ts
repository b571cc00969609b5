/**
 * Checks that an {@linkcode ObjectStore} really refuses a second create of a key.
 * Conditional create is the fencing primitive when several consumer processes write
 * one lake, and some S3-compatible servers accept `If-None-Match: *` and then ignore
 * it, overwriting the object; this probe finds out before anything relies on it.
 *
 * @module
 */
import type { ObjectStore, PutOptions } from "./object_store.ts";

/** Small JSON bytes naming the probe and the attempt. */
function probeBytes(attempt: string): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({ probe: "conditional-create", attempt, id: crypto.randomUUID() }),
  );
}

/**
 * Says whether `store` honours {@linkcode ObjectStore.create}: creates `key` twice and
 * expects "created", then "exists". A key found at the first create (left over from a
 * probe that could not clean up) is deleted and the probe tried once more. The key is
 * deleted afterwards, best effort. A false result means the store ignores conditional
 * creates (it overwrote the key or answered "exists" on a free one), so it cannot fence
 * concurrent writers. Give each process its own key: two probes sharing one key can
 * delete each other's object and see false.
 *
 * @param store the store to probe
 * @param key a key nothing else uses, for example below the lake's prefix
 * @param signal aborts the probe
 * @returns true when the first create answered "created" and the second "exists"
 * @throws {ObjectStoreError} when a create, or the delete of a left-over key, fails
 * @example Probe an in-memory store
 * ```ts
 * import { MemoryObjectStore } from "./memory_object_store.ts";
 * const honoured = await probeConditionalCreate(new MemoryObjectStore(), "_probe/p1.json");
 * // honoured === true
 * ```
 */
export async function probeConditionalCreate(
  store: ObjectStore,
  key: string,
  signal?: AbortSignal,
): Promise<boolean> {
  const options: PutOptions = { contentType: "application/json", signal };
  try {
    let first = await store.create(key, probeBytes("first"), options);
    if (first === "exists") {
      await store.delete(key, { signal });
      first = await store.create(key, probeBytes("first"), options);
    }
    if (first !== "created") return false;
    return await store.create(key, probeBytes("second"), options) === "exists";
  } finally {
    await store.delete(key, { signal }).catch(() => {
      // best effort: a key left behind is deleted by the next probe
    });
  }
}
