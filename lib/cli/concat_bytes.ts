/**
 * {@linkcode concatBytes}: joins byte chunks into one array (the chunk itself when there is
 * only one).
 *
 * @module
 */

/**
 * Joins chunks into one array; a single chunk over a plain `ArrayBuffer` is returned as it is.
 *
 * @param parts the chunks, in order
 * @param length their total length, when the caller already knows it
 * @returns the joined bytes
 * @example
 * ```ts
 * import { concatBytes } from "./concat_bytes.ts";
 * const joined = concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]);
 * // joined is Uint8Array [1, 2, 3]
 * ```
 */
export function concatBytes(
  parts: readonly Uint8Array[],
  length: number = parts.reduce((n, p) => n + p.length, 0),
): Uint8Array<ArrayBuffer> {
  if (parts.length === 1 && parts[0]!.buffer instanceof ArrayBuffer) {
    return parts[0] as Uint8Array<ArrayBuffer>;
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
