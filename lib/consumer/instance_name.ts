/**
 * {@linkcode defaultInstanceName}: the consumer's instance name when `CONSUMER_INSTANCE_ID` is
 * not set: `wikistream-<hostname>-<slot>`, where the slot is the lowest number whose lock
 * file (`<lock dir>/<group>-<slot>.lock`) this process could lock. The operating system
 * releases the lock when the process dies, so a consumer restarted after a crash gets the
 * same slot, hence the same name, and takes its dead instance's partitions back at once;
 * two consumers running on one host at the same time get different slots, so they never
 * share an instance.
 *
 * @module
 */

/** A name, and the lock that holds it for this process. */
export interface InstanceName {
  /** The instance name. */
  readonly name: string;
  /** Releases the lock (at the end of the run). */
  release(): void;
}

/** Slots tried before falling back to a random name. */
const MAX_SLOTS = 64;

function safe(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 120);
}

function randomName(): InstanceName {
  return { name: `wikistream-${crypto.randomUUID().slice(0, 8)}`, release() {} };
}

/**
 * Picks this process's default instance name in `group` and locks it.
 *
 * @param group the consumer group
 * @param lockDir the folder of the slot locks (created when missing)
 * @returns the name and its lock; a random name when the host name or the folder cannot be used
 */
export async function defaultInstanceName(group: string, lockDir: string): Promise<InstanceName> {
  let host: string;
  try {
    host = safe(Deno.hostname());
    await Deno.mkdir(lockDir, { recursive: true });
  } catch {
    return randomName();
  }
  if (host === "") return randomName();
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(`${lockDir}/${safe(group)}-${slot}.lock`, {
        read: true,
        write: true,
        create: true,
      });
    } catch {
      return randomName();
    }
    if (await file.tryLock(true)) {
      return { name: `wikistream-${host}-${slot}`, release: () => file.close() };
    }
    file.close();
  }
  return randomName();
}
