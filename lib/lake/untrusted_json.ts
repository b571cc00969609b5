/**
 * Safe handling of parsed JSON values that came from a topic, whatever their shape:
 * {@linkcode jsonValueProblem} says whether a value can be copied into the lake unchanged
 * (nesting within {@linkcode MAX_JSON_DEPTH}, every number finite), and
 * {@linkcode boundedJson} serialises a value of any depth or size without recursion, keeping
 * at most a given number of characters of the text but counting all of them.
 *
 * `JSON.parse` of a 200,000-deep array succeeds in V8, but `JSON.stringify` of it may throw
 * `RangeError: Maximum call stack size exceeded` (whether it does depends on the value's
 * shape and on how much stack is left), so code that serialises a value from a topic either
 * checks it first or uses {@linkcode boundedJson}.
 *
 * @module
 */

/**
 * Deepest nesting of arrays and objects copied into the lake (Jackson's default
 * `maxNestingDepth`, so a Confluent REST Proxy refuses deeper values the same way).
 */
export const MAX_JSON_DEPTH = 1000;

/**
 * Says why a parsed JSON value cannot be copied into the lake unchanged, walking it without
 * recursion and stopping at the first problem.
 *
 * @param value the value (from `JSON.parse`)
 * @param maxDepth deepest nesting allowed (a scalar has depth 0, `[1]` depth 1)
 * @returns `nested deeper than … levels`, `a number out of range …`, or `undefined`
 * @example Find a number JSON.parse turned into Infinity
 * ```ts
 * jsonValueProblem(JSON.parse('{"a":[1e400]}')); // "a number out of range …"
 * ```
 */
export function jsonValueProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): string | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? undefined : outOfRange();
  if (typeof value !== "object" || value === null) return undefined;
  const stack: unknown[] = [value];
  const depths: number[] = [1];
  while (stack.length > 0) {
    const v = stack.pop() as object;
    const depth = depths.pop()!;
    if (depth > maxDepth) return `nested deeper than ${maxDepth} levels`;
    const children = Array.isArray(v) ? v : Object.values(v);
    for (const c of children) {
      if (typeof c === "number") {
        if (!Number.isFinite(c)) return outOfRange();
      } else if (typeof c === "object" && c !== null) {
        stack.push(c);
        depths.push(depth + 1);
      }
    }
  }
  return undefined;
}

function outOfRange(): string {
  return "a number out of range (larger than a double holds: JSON.parse made it Infinity)";
}

/** The result of {@linkcode boundedJson}. */
export interface BoundedJson {
  /** The first `maxChars` characters of the JSON text (never ending inside a surrogate pair). */
  text: string;
  /** Length of the whole JSON text in UTF-16 code units. */
  length: number;
}

type Frame =
  | { array: readonly unknown[]; index: number }
  | { object: Record<string, unknown>; keys: string[]; index: number; first: boolean };

/**
 * Serialises a parsed JSON value like `JSON.stringify` (non-finite numbers become `null`,
 * lone surrogates are escaped) but with an explicit stack, keeping only the first `maxChars`
 * characters of the text and counting the rest.
 *
 * @param value the value (from `JSON.parse`)
 * @param maxChars how many characters of the text to keep
 * @returns the kept text and the whole text's length
 * @example Keep the first 10 characters of a deep array
 * ```ts
 * const deep = JSON.parse("[".repeat(100_000) + "]".repeat(100_000));
 * boundedJson(deep, 10); // { text: "[[[[[[[[[[", length: 200000 }
 * ```
 */
export function boundedJson(value: unknown, maxChars: number): BoundedJson {
  const parts: string[] = [];
  let kept = 0;
  let length = 0;
  const emit = (s: string) => {
    length += s.length;
    if (kept >= maxChars) return;
    const piece = kept + s.length <= maxChars ? s : s.slice(0, maxChars - kept);
    parts.push(piece);
    kept += piece.length;
  };
  const stack: Frame[] = [];
  // emits a scalar, or opens a container and returns its frame
  const visit = (v: unknown): Frame | undefined => {
    if (typeof v === "string") emit(JSON.stringify(v));
    else if (typeof v === "number") emit(Number.isFinite(v) ? String(v) : "null");
    else if (typeof v === "boolean") emit(v ? "true" : "false");
    else if (typeof v !== "object" || v === null) emit("null");
    else if (Array.isArray(v)) {
      emit("[");
      return { array: v, index: 0 };
    } else {
      emit("{");
      const object = v as Record<string, unknown>;
      return { object, keys: Object.keys(object), index: 0, first: true };
    }
    return undefined;
  };
  const top = visit(value);
  if (top) stack.push(top);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    let child: Frame | undefined;
    if ("array" in frame) {
      if (frame.index >= frame.array.length) {
        emit("]");
        stack.pop();
        continue;
      }
      if (frame.index > 0) emit(",");
      child = visit(frame.array[frame.index++]);
    } else {
      if (frame.index >= frame.keys.length) {
        emit("}");
        stack.pop();
        continue;
      }
      const key = frame.keys[frame.index++]!;
      const v = frame.object[key];
      if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
      emit(frame.first ? JSON.stringify(key) + ":" : "," + JSON.stringify(key) + ":");
      frame.first = false;
      child = visit(v);
    }
    if (child) stack.push(child);
  }
  let text = parts.join("");
  const last = text.charCodeAt(text.length - 1);
  if (length > text.length && last >= 0xd800 && last <= 0xdbff) text = text.slice(0, -1);
  return { text, length };
}
