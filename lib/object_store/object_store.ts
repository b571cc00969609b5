/**
 * The object store interface the lake writer depends on, implemented by an S3
 * client (`s3_object_store.ts`), a local folder (`local_object_store.ts`) and
 * memory (`memory_object_store.ts`). Keys are `/`-separated paths relative to
 * the store's root (an S3 bucket or a folder).
 *
 * @module
 */

/** Options for {@linkcode ObjectStore.put} and {@linkcode ObjectStore.create}. */
export interface PutOptions {
  /** MIME type stored with the object. @default "application/octet-stream" */
  contentType?: string;
  /** Aborts the upload. */
  signal?: AbortSignal;
}

/** Options for reads and listings. */
export interface StoreCallOptions {
  /** Aborts the call. */
  signal?: AbortSignal;
}

/** Options for {@linkcode ObjectStore.list}. */
export interface ListOptions extends StoreCallOptions {
  /** Only keys sorting strictly after this one. */
  startAfter?: string;
}

/** A small key/value interface over S3, a folder or memory. Every write is atomic per key. */
export interface ObjectStore {
  /** Where the store points, for logs (`s3://bucket`, `file:///abs/dir`). */
  readonly description: string;
  /** Writes the whole object; an existing object with the same key is replaced. */
  put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<void>;
  /** Writes the object only when no object has this key; atomic: a reader sees the whole object or none. Returns "exists" (and writes nothing) when the key is taken. */
  create(key: string, bytes: Uint8Array, options?: PutOptions): Promise<"created" | "exists">;
  /** Reads the whole object, or `undefined` when it does not exist. */
  get(key: string, options?: StoreCallOptions): Promise<Uint8Array | undefined>;
  /** Says whether the object exists. */
  exists(key: string, options?: StoreCallOptions): Promise<boolean>;
  /** Lists the keys that start with `prefix`, sorted (UTF-8 byte order, as S3). */
  list(prefix: string, options?: ListOptions): Promise<string[]>;
  /** Deletes the object; deleting a missing key is not an error. */
  delete(key: string, options?: StoreCallOptions): Promise<void>;
  /** Releases connections, if the store holds any. */
  close?(): void;
}

/** A store operation failed; `retriable` says whether trying again may help. */
export class ObjectStoreError extends Error {
  /** True for network errors, throttling and 5xx answers. */
  readonly retriable: boolean;

  /**
   * Creates the error.
   *
   * @param message what failed and what to do
   * @param retriable whether a retry may succeed
   * @param options the cause
   */
  constructor(message: string, retriable: boolean, options?: ErrorOptions) {
    super(message, options);
    this.name = "ObjectStoreError";
    this.retriable = retriable;
  }
}

/**
 * Sorts keys in UTF-8 byte order, the order S3 lists them in.
 *
 * @param keys the keys
 * @returns a new sorted array
 */
export function sortKeys(keys: Iterable<string>): string[] {
  return [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
