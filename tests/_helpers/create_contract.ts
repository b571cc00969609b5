/**
 * The contract of {@linkcode ObjectStore.create}, checked the same way on every store:
 * a first create writes, a second finds the key taken and changes nothing, and of many
 * concurrent creates of one key exactly one writes.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type ObjectStore, ObjectStoreError } from "../../lib/object_store/object_store.ts";

const encode = (s: string) => new TextEncoder().encode(s);

/**
 * Creates `key` twice and checks "created", then "exists" with the first bytes kept.
 *
 * @param store the store
 * @param key a free key
 */
export async function assertCreateThenExists(store: ObjectStore, key: string): Promise<void> {
  assert.equal(await store.create(key, encode('{"writer":"first"}')), "created");
  assert.equal(
    await store.create(key, encode('{"writer":"second"}'), { contentType: "application/json" }),
    "exists",
  );
  assert.equal(new TextDecoder().decode(await store.get(key)), '{"writer":"first"}');
}

/**
 * Calls `create`, trying again on retriable {@linkcode ObjectStoreError}s (an S3 409
 * ConditionalRequestConflict), as a caller fencing with it would.
 *
 * @param store the store
 * @param key the key
 * @param bytes the object
 * @returns the answer of the first attempt that did not fail
 */
export async function createRetrying(
  store: ObjectStore,
  key: string,
  bytes: Uint8Array,
): Promise<"created" | "exists"> {
  for (let attempt = 1;; attempt++) {
    try {
      return await store.create(key, bytes);
    } catch (error) {
      if (!(error instanceof ObjectStoreError) || !error.retriable || attempt >= 10) throw error;
    }
  }
}

/**
 * Starts `writers` creates of one key at once and checks that exactly one says
 * "created" and that the object holds that writer's bytes.
 *
 * @param store the store
 * @param key a free key
 * @param writers how many concurrent creates
 */
export async function assertOneConcurrentCreateWins(
  store: ObjectStore,
  key: string,
  writers = 20,
): Promise<void> {
  const answers = await Promise.all(
    Array.from({ length: writers }, (_, i) => createRetrying(store, key, encode(`writer ${i}`))),
  );
  const winners = answers.flatMap((answer, i) => (answer === "created" ? [i] : []));
  assert.equal(winners.length, 1, `answers: ${answers.join(", ")}`);
  assert.equal(new TextDecoder().decode(await store.get(key)), `writer ${winners[0]}`);
}
