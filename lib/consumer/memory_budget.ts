/**
 * {@linkcode memoryBudget}: the consumer's memory settings from one number,
 * `CONSUMER_MEMORY_MB` (the memory it may use, for example a container's limit). The buffer
 * budget (`MAX_BUFFER_BYTES`), the in-memory size of one file (`FLUSH_MAX_BYTES`) and the size of
 * one read (`CONSUMER_MAX_BYTES`) default to shares of it; each one set explicitly wins.
 *
 * The shares come from `deno task bench:backlog` (1,000,000-event catch-up, 3 partitions, peak
 * RSS under `/usr/bin/time`): a consumer under load holds about {@linkcode FIXED_MIB} MiB
 * whatever its buffers (runtime and modules ~76 MiB, V8 heap ~100 MiB, parquet-wasm's memory
 * ~25 MiB, allocator slack), plus about {@linkcode BUFFER_RESIDENT_FACTOR} times its buffer
 * budget (the buffers, the slice being encoded, garbage not yet collected, freed memory the
 * allocator keeps): measured 305 MiB with 22 MiB of buffers, 396 MiB with 46 MiB and 520 MiB
 * with 129 MiB (one run each; runs vary by ±30 MiB). The budget is set so that the peak stays
 * near 70% of `CONSUMER_MEMORY_MB` (for that spread, and because a container killed at its
 * limit restarts into the same backlog); below {@linkcode MIN_MEMORY_MB} there is no room for
 * buffers, and the option refuses such a value.
 *
 * @module
 */

const MIB = 1024 * 1024;

/** Resident memory (MiB) of a consumer under load before its buffers, measured. */
export const FIXED_MIB = 270;

/** Resident bytes per byte of buffer budget, measured. */
export const BUFFER_RESIDENT_FACTOR = 2;

/** The smallest `CONSUMER_MEMORY_MB` accepted. */
export const MIN_MEMORY_MB = 384;

/** The share of the memory the peak may reach (the rest is headroom for run-to-run spread). */
const PEAK_SHARE = 0.7;

/** The settings the budget sets, in bytes. */
export interface MemoryBudget {
  /** `MAX_BUFFER_BYTES`: the buffers of all open files together. */
  maxBufferBytes: number;
  /** `FLUSH_MAX_BYTES`: the buffers of one file. */
  flushMaxBytes: number;
  /** `CONSUMER_MAX_BYTES`: one read. */
  consumerMaxBytes: number;
}

/** The inputs: the memory, and each setting when set explicitly. */
export interface MemoryBudgetInput {
  /** `CONSUMER_MEMORY_MB`. */
  consumerMemoryMb: number;
  /** `MAX_BUFFER_BYTES` when set. */
  maxBufferBytes?: number;
  /** `FLUSH_MAX_BYTES` when set. */
  flushMaxBytes?: number;
  /** `CONSUMER_MAX_BYTES` when set. */
  consumerMaxBytes?: number;
}

/**
 * The consumer's memory settings.
 *
 * @param input the memory in MiB and the settings set explicitly
 * @returns every setting, derived where it was not set
 * @example The default, 512 MiB, and 1 GiB
 * ```ts
 * memoryBudget({ consumerMemoryMb: 512 });
 * // { maxBufferBytes: 44 MiB, flushMaxBytes: 22 MiB, consumerMaxBytes: 1 MiB }
 * memoryBudget({ consumerMemoryMb: 1024 });
 * // { maxBufferBytes: 223 MiB, flushMaxBytes: 111.5 MiB, consumerMaxBytes: 2 MiB }
 * ```
 */
export function memoryBudget(input: MemoryBudgetInput): MemoryBudget {
  const usableMib = input.consumerMemoryMb * PEAK_SHARE - FIXED_MIB;
  const derivedBuffers = Math.max(16 * MIB, Math.floor(usableMib / BUFFER_RESIDENT_FACTOR) * MIB);
  const maxBufferBytes = input.maxBufferBytes ?? derivedBuffers;
  return {
    maxBufferBytes,
    flushMaxBytes: input.flushMaxBytes ??
      Math.min(256 * MIB, Math.max(4 * MIB, Math.floor(maxBufferBytes / 2))),
    consumerMaxBytes: input.consumerMaxBytes ?? (maxBufferBytes >= 64 * MIB ? 2 * MIB : MIB),
  };
}
