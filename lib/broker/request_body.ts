/**
 * Request-body field checks with the REST Proxy's Jackson behaviour (contract §1.3):
 * an unknown field → 422 "Unrecognized field: <name>", a wrong JSON type → 400. Reading
 * the body (malformed JSON → 400, limits) is `body_reader.ts`.
 *
 * @module
 */
import { BrokerError } from "./broker_error.ts";

/**
 * Checks that a value is a JSON object with only known fields.
 *
 * @param value the parsed value
 * @param fields the allowed field names
 * @param what the entity name for error messages
 * @returns the object
 * @throws {BrokerError} 400 for a non-object, 422 for an unknown field
 */
export function objectWith(
  value: unknown,
  fields: ReadonlySet<string>,
  what: string,
): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new BrokerError(400, 400, `Cannot deserialize ${what}: expected a JSON object`);
  }
  for (const k of Object.keys(value)) {
    if (!fields.has(k)) throw new BrokerError(422, 422, `Unrecognized field: ${k}`);
  }
  return value as Record<string, unknown>;
}

/**
 * Reads an array field.
 *
 * @param obj the object
 * @param field the field
 * @returns the array, or undefined when absent or null
 * @throws {BrokerError} 400 when not an array
 */
export function arrayField(obj: Record<string, unknown>, field: string): unknown[] | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) {
    throw new BrokerError(400, 400, `Cannot deserialize "${field}": expected an array`);
  }
  return v;
}

/**
 * Reads an integer field (numbers or numeric strings, like Jackson's coercion).
 *
 * @param obj the object
 * @param field the field
 * @returns the integer, or undefined when absent or null
 * @throws {BrokerError} 400 when not an integer
 */
export function intField(obj: Record<string, unknown>, field: string): number | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n)) {
    throw new BrokerError(
      400,
      400,
      `Cannot deserialize "${field}": expected an integer, got ${JSON.stringify(v)}`,
    );
  }
  return n;
}

/**
 * Reads a string field (numbers and booleans coerced, like Jackson).
 *
 * @param obj the object
 * @param field the field
 * @returns the string, or undefined when absent or null
 * @throws {BrokerError} 400 for objects and arrays
 */
export function stringField(obj: Record<string, unknown>, field: string): string | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  throw new BrokerError(400, 400, `Cannot deserialize "${field}": expected a string`);
}

/**
 * Reads a `{"topic","partition"}` list entry.
 *
 * @param value the entry
 * @param extra other allowed fields
 * @returns the entry as an object with topic and partition checked
 * @throws {BrokerError} 400/422 like Jackson
 */
export function topicPartition(
  value: unknown,
  extra: readonly string[] = [],
): { topic: string; partition: number; obj: Record<string, unknown> } {
  const obj = objectWith(value, new Set(["topic", "partition", ...extra]), "partition");
  const topic = stringField(obj, "topic");
  const partition = intField(obj, "partition");
  if (topic === undefined || partition === undefined) {
    throw new BrokerError(422, 422, "topic and partition must not be null");
  }
  return { topic, partition, obj };
}
