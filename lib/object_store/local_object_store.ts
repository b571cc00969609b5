/**
 * An {@linkcode ObjectStore} on a local folder. A put writes a hidden temporary
 * file next to the target, fsyncs it, renames it over the target and fsyncs the
 * folder, so a crash leaves either the old object, the new one, or a stray
 * `.*.tmp` file that listings ignore, never a torn object. A create writes the
 * temporary file the same way and hard-links it to the target, which fails when
 * the target exists, so the check and the write are one atomic step; the
 * temporary name is then removed (a crash in between leaves a stray `.*.tmp`).
 *
 * Failures are {@linkcode ObjectStoreError}s: retriable for whatever the operating system
 * reports (a folder it refuses, a full disk, a read-only file system), final only when
 * Deno's permissions do not cover the folder.
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

/** Options for {@linkcode LocalObjectStore}. */
export interface LocalObjectStoreOptions {
  /** The folder that holds the objects; created on first write. */
  root: string;
}

function checkKey(key: string): void {
  if (
    key === "" || key.startsWith("/") || key.endsWith("/") ||
    key.split("/").some((s) => s === "" || s === "." || s === "..")
  ) {
    throw new TypeError(`Cannot use object key "${key}": keys are relative paths without . or ..`);
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound;
}

/**
 * Classifies a file-system failure. Only a refusal by Deno's own permissions (`NotCapable`) is
 * final: other flags are needed, which the program's edge names. Everything the operating
 * system reports — a permission refusal (EACCES, EPERM: `PermissionDenied`), a full disk
 * (ENOSPC), a read-only file system (EROFS), an I/O error — is retriable: the operator can fix
 * the folder while the caller waits with backoff.
 */
function wrap(what: string, error: unknown): ObjectStoreError {
  if (error instanceof Deno.errors.NotCapable) {
    return new ObjectStoreError(
      `${what}: permission denied; grant --allow-read/--allow-write for the output folder`,
      false,
      { cause: error },
    );
  }
  const detail = error instanceof Error ? error.message : String(error);
  const hint = error instanceof Deno.errors.PermissionDenied
    ? "; the operating system refused access: check the owner and mode of the folder"
    : "";
  return new ObjectStoreError(`${what}: ${detail}${hint}`, true, { cause: error });
}

/** Creates `dir` if needed and writes `bytes` to a new file at `path`, fsynced. */
async function writeSynced(dir: string, path: string, bytes: Uint8Array): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.sync();
  } finally {
    file.close();
  }
}

/** Hard-links `temp` to `path`; "exists" when `path` is taken (the link is refused). */
async function linkUnlessTaken(temp: string, path: string): Promise<"created" | "exists"> {
  try {
    await Deno.link(temp, path);
    return "created";
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return "exists";
    throw error;
  }
}

/** Stores objects as files below a root folder. */
export class LocalObjectStore implements ObjectStore {
  #root: string;
  readonly description: string;

  /**
   * Creates an instance.
   *
   * @param options the root folder
   */
  constructor(options: LocalObjectStoreOptions) {
    this.#root = options.root.replace(/\/+$/, "") || "/";
    this.description = `file://${this.#root}`;
  }

  #path(key: string): string {
    checkKey(key);
    return `${this.#root}/${key}`;
  }

  /** The folder of `path` and a hidden, unique temporary file name in it. */
  #temp(path: string): { dir: string; temp: string } {
    const slash = path.lastIndexOf("/");
    const dir = path.slice(0, slash);
    return { dir, temp: `${dir}/.${path.slice(slash + 1)}.${crypto.randomUUID().slice(0, 8)}.tmp` };
  }

  /** Writes atomically: temp file, fsync, rename, fsync of the folder. */
  async put(key: string, bytes: Uint8Array, _options: PutOptions = {}): Promise<void> {
    const path = this.#path(key);
    const { dir, temp } = this.#temp(path);
    try {
      await writeSynced(dir, temp, bytes);
      await Deno.rename(temp, path);
      await this.#syncDir(dir);
    } catch (error) {
      await Deno.remove(temp).catch(() => {/* the temp file may not exist */});
      throw wrap(`Cannot write "${path}"`, error);
    }
  }

  /**
   * Writes only when the file is missing: temp file, fsync, hard link to the target
   * (refused when it exists), removal of the temp name, fsync of the folder.
   */
  async create(
    key: string,
    bytes: Uint8Array,
    _options: PutOptions = {},
  ): Promise<"created" | "exists"> {
    const path = this.#path(key);
    const { dir, temp } = this.#temp(path);
    let outcome: "created" | "exists";
    try {
      await writeSynced(dir, temp, bytes);
      outcome = await linkUnlessTaken(temp, path);
    } catch (error) {
      throw wrap(`Cannot create "${path}"`, error);
    } finally {
      await Deno.remove(temp).catch(() => {/* the temp file may not exist */});
    }
    if (outcome === "created") await this.#syncDir(dir);
    return outcome;
  }

  async #syncDir(dir: string): Promise<void> {
    let handle: Deno.FsFile | undefined;
    try {
      handle = await Deno.open(dir, { read: true });
      await handle.sync();
    } catch {
      // some file systems refuse fsync on a folder; the rename itself is still atomic
    } finally {
      handle?.close();
    }
  }

  /** Reads the file, or `undefined` when missing. */
  async get(key: string): Promise<Uint8Array | undefined> {
    const path = this.#path(key);
    try {
      return await Deno.readFile(path);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw wrap(`Cannot read "${path}"`, error);
    }
  }

  /** Says whether the file exists. */
  async exists(key: string): Promise<boolean> {
    const path = this.#path(key);
    try {
      return (await Deno.stat(path)).isFile;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw wrap(`Cannot stat "${path}"`, error);
    }
  }

  /** Lists files below the root whose key starts with `prefix`; skips temp files. */
  async list(prefix: string, options: ListOptions = {}): Promise<string[]> {
    const slash = prefix.lastIndexOf("/");
    const base = slash === -1 ? "" : prefix.slice(0, slash);
    const keys: string[] = [];
    const walk = async (relDir: string): Promise<void> => {
      const abs = relDir === "" ? this.#root : `${this.#root}/${relDir}`;
      let entries: Deno.DirEntry[];
      try {
        entries = await Array.fromAsync(Deno.readDir(abs));
      } catch (error) {
        if (isNotFound(error)) return;
        throw wrap(`Cannot list "${abs}"`, error);
      }
      for (const entry of entries) {
        if (entry.name.startsWith(".")) continue;
        const rel = relDir === "" ? entry.name : `${relDir}/${entry.name}`;
        if (entry.isDirectory) {
          if (prefix.startsWith(rel + "/") || (rel + "/").startsWith(prefix) || rel === base) {
            await walk(rel);
          }
        } else if (entry.isFile && rel.startsWith(prefix)) {
          if (options.startAfter === undefined || rel > options.startAfter) keys.push(rel);
        }
      }
    };
    await walk(base);
    return sortKeys(keys);
  }

  /** Removes the file; a missing file is fine. */
  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    try {
      await Deno.remove(path);
    } catch (error) {
      if (!isNotFound(error)) throw wrap(`Cannot delete "${path}"`, error);
    }
  }
}
