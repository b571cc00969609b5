/**
 * {@linkcode DelegatingStore}: an object store that forwards every call to another one, the
 * base of the test stores that fail, pause or watch some calls.
 *
 * @module
 */
import type {
  ListOptions,
  ObjectStore,
  PutOptions,
  StoreCallOptions,
} from "../../lib/object_store/object_store.ts";

/** Forwards every call to `inner`; subclasses override the calls they change. */
export class DelegatingStore implements ObjectStore {
  /** Where the store points, for logs. */
  readonly description: string;
  /** The store the calls go to. */
  readonly inner: ObjectStore;

  /**
   * Creates the store.
   *
   * @param inner the store the calls go to
   * @param description for logs
   */
  constructor(inner: ObjectStore, description = `test(${inner.description})`) {
    this.inner = inner;
    this.description = description;
  }
  /** Forwards `put`. */
  put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<void> {
    return this.inner.put(key, bytes, options);
  }
  /** Forwards `create`. */
  create(key: string, bytes: Uint8Array, options?: PutOptions): Promise<"created" | "exists"> {
    return this.inner.create(key, bytes, options);
  }
  /** Forwards `get`. */
  get(key: string, options?: StoreCallOptions): Promise<Uint8Array | undefined> {
    return this.inner.get(key, options);
  }
  /** Forwards `exists`. */
  exists(key: string, options?: StoreCallOptions): Promise<boolean> {
    return this.inner.exists(key, options);
  }
  /** Forwards `list`. */
  list(prefix: string, options?: ListOptions): Promise<string[]> {
    return this.inner.list(prefix, options);
  }
  /** Forwards `delete`. */
  delete(key: string, options?: StoreCallOptions): Promise<void> {
    return this.inner.delete(key, options);
  }
}
