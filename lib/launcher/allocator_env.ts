/**
 * {@linkcode allocatorEnv}: the glibc `malloc` settings the launcher gives every program it runs,
 * unless the environment already sets them. Deno's native side (HTTP bodies, ArrayBuffer
 * backing stores, WebAssembly's copies) allocates and frees many blocks of a few MiB; with
 * glibc's defaults those come from up to eight arenas per core and, once freed, mostly stay
 * resident. Two arenas and a fixed mmap threshold (blocks of 128 KiB and more are mapped and
 * given back to the system when freed) lowered the consumer's peak RSS in a 300,000-event
 * catch-up from 655 to 579 MiB at the same CPU time (`deno task bench:backlog`). Other C
 * libraries ignore these variables.
 *
 * @module
 */

/** The settings and their values. */
export const ALLOCATOR_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  MALLOC_ARENA_MAX: "2",
  MALLOC_MMAP_THRESHOLD_: "131072",
});

/**
 * The allocator variables to add to a program's environment.
 *
 * @param env the environment the program would see
 * @returns each setting the environment does not set already
 * @example An operator's own value wins
 * ```ts
 * allocatorEnv({ MALLOC_ARENA_MAX: "4" }); // { MALLOC_MMAP_THRESHOLD_: "131072" }
 * ```
 */
export function allocatorEnv(env: Record<string, string | undefined>): Record<string, string> {
  const added: Record<string, string> = {};
  for (const [name, value] of Object.entries(ALLOCATOR_SETTINGS)) {
    if (env[name] === undefined) added[name] = value;
  }
  return added;
}
