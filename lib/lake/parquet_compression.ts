/**
 * The Parquet compression codecs the consumer accepts, kept apart from the
 * encoder so that reading the consumer's options loads no WebAssembly.
 *
 * @module
 */

/** Compression codecs accepted by the Parquet encoder. */
export type ParquetCompression = "zstd" | "snappy" | "gzip" | "lz4" | "brotli" | "none";

/** The accepted compression names, for config validation. */
export const PARQUET_COMPRESSIONS: readonly ParquetCompression[] = Object.freeze([
  "zstd",
  "snappy",
  "gzip",
  "lz4",
  "brotli",
  "none",
]);
