/**
 * An in-memory {@linkcode ObjectStore} for tests, with a switch that makes
 * writes fail to simulate an outage.
 *
 * @module
 */
import {
  type ListOptions,
  type ObjectStore,
  ObjectStoreError,
  type PutOptions,
  sortKeys,
} from "./object_store.ts";

/** An object held by {@linkcode MemoryObjectStore}. */
export interface MemoryObject {
  /** The bytes. */
  bytes: Uint8Array;
  /** The content type given at put time. */
  contentType: string;
}

/** Keeps objects in a `Map`; `failPuts` makes every `put` and `create` throw a retriable error. */
export class MemoryObjectStore implements ObjectStore {
  /** The objects by key. */
  readonly objects: Map<string, MemoryObject> = new Map();
  /** When true, `put` and `create` fail with a retriable {@linkcode ObjectStoreError}. */
  failPuts = false;
  /** Number of `put` calls, including failed ones. */
  putCalls = 0;
  readonly description = "memory://";

  /** Stores a copy of the bytes. */
  put(key: string, bytes: Uint8Array, options: PutOptions = {}): Promise<void> {
    this.putCalls++;
    if (this.failPuts) {
      return Promise.reject(new ObjectStoreError(`Cannot put "${key}": simulated outage`, true));
    }
    this.objects.set(key, {
      bytes: bytes.slice(),
      contentType: options.contentType ?? "application/octet-stream",
    });
    return Promise.resolve();
  }

  /** Stores a copy of the bytes unless the key is taken; check and write happen in one step. */
  create(key: string, bytes: Uint8Array, options: PutOptions = {}): Promise<"created" | "exists"> {
    if (this.failPuts) {
      return Promise.reject(new ObjectStoreError(`Cannot create "${key}": simulated outage`, true));
    }
    if (this.objects.has(key)) return Promise.resolve("exists");
    this.objects.set(key, {
      bytes: bytes.slice(),
      contentType: options.contentType ?? "application/octet-stream",
    });
    return Promise.resolve("created");
  }

  /** Returns a copy of the bytes or `undefined`. */
  get(key: string): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.objects.get(key)?.bytes.slice());
  }

  /** Says whether the key exists. */
  exists(key: string): Promise<boolean> {
    return Promise.resolve(this.objects.has(key));
  }

  /** Lists keys with the prefix, sorted. */
  list(prefix: string, options: ListOptions = {}): Promise<string[]> {
    const after = options.startAfter;
    return Promise.resolve(
      sortKeys(
        [...this.objects.keys()].filter((k) =>
          k.startsWith(prefix) && (after === undefined || k > after)
        ),
      ),
    );
  }

  /** Removes the key. */
  delete(key: string): Promise<void> {
    this.objects.delete(key);
    return Promise.resolve();
  }
}
