/**
 * Kafka's default partitioner for keyed records: the 32-bit MurmurHash2 of the
 * serialized key bytes (seed `0x9747b28c`, as in `org.apache.kafka.common.utils.Utils.murmur2`),
 * made positive with `& 0x7fffffff` and taken modulo the partition count.
 *
 * @module
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * Computes Kafka's murmur2 hash of a byte array.
 *
 * @param data the serialized key
 * @returns the signed 32-bit hash, equal to Java's `Utils.murmur2(data)`
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4]! & 0xff) | ((data[i4 + 1]! & 0xff) << 8) | ((data[i4 + 2]! & 0xff) << 16) |
      ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const rest = length & 3;
  const base = length & ~3;
  if (rest === 3) h ^= (data[base + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[base + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[base]! & 0xff;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * Makes a hash non-negative the way Kafka does (`Utils.toPositive`).
 *
 * @param n a signed 32-bit integer
 * @returns `n & 0x7fffffff`
 */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/**
 * Chooses the partition of a keyed record like Kafka's default partitioner.
 *
 * @param key the serialized key bytes
 * @param partitions the topic's partition count
 * @returns `toPositive(murmur2(key)) % partitions`
 */
export function partitionForKey(key: Uint8Array, partitions: number): number {
  return toPositive(murmur2(key)) % partitions;
}
