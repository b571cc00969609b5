/**
 * {@linkcode parseRecordsBody}: turns the body of a `GET …/records` answer into records even
 * when one record in it cannot be parsed. The body is one JSON array, so a single bad value
 * (text `JSON.parse` refuses, or one that exhausts it) would otherwise fail the whole read,
 * and every read after it, forever. On that failure the array is split into its elements by a
 * scan that only tracks strings and bracket depth (no recursion), each element is parsed on
 * its own, and an element that still fails becomes a record marked `unreadable`, to be
 * dead-lettered with its position. A body that is cut (no closing bracket) stays an error:
 * the read is lost and the caller re-reads, as before.
 *
 * @module
 */
import type { ConsumerRecord } from "./rest_consumer_client.ts";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const TOPIC_REGEXP = /^\s*\{\s*"topic"\s*:\s*("(?:[^"\\]|\\.)*")/;
const POSITION_REGEXP = /"partition"\s*:\s*(\d+)\s*,\s*"offset"\s*:\s*(\d+)\s*\}\s*$/;

/**
 * Parses the records array of a read answer, record by record when the whole fails.
 *
 * @param text the response body
 * @returns the parsed body (an array unless the proxy sent something else)
 * @throws the `JSON.parse` error when the body is not a complete JSON array, or an `Error`
 *   when an unparsable element does not say its partition and offset
 * @example A record with a bad value does not hide the others
 * ```ts
 * const body = '[{"topic":"t","key":null,"value":NaN,"partition":0,"offset":7},' +
 *   '{"topic":"t","key":null,"value":1,"partition":0,"offset":8}]';
 * parseRecordsBody(body); // [{ …, offset: 7, unreadable: { … } }, { …, value: 1 }]
 * ```
 */
export function parseRecordsBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const elements = splitJsonArray(text);
    if (elements === undefined) throw error;
    return elements.map(([start, end]) => parseElement(text.slice(start, end)));
  }
}

function parseElement(element: string): ConsumerRecord {
  try {
    return JSON.parse(element);
  } catch (error) {
    const topic = TOPIC_REGEXP.exec(element);
    const position = POSITION_REGEXP.exec(element);
    if (!topic || !position) {
      throw new Error(
        `the proxy's answer holds a record that is not JSON and whose partition and offset ` +
          `cannot be found in it (${element.slice(0, 200)})`,
        { cause: error },
      );
    }
    const why = error instanceof Error ? error.message : String(error);
    return {
      topic: JSON.parse(topic[1]!),
      key: null,
      value: null,
      partition: Number(position[1]),
      offset: Number(position[2]),
      unreadable: {
        reason: `not JSON: the record in the proxy's answer cannot be parsed (${
          why.slice(0, 300)
        }); the text kept is the whole record as the proxy sent it`,
        text: element,
      },
    };
  }
}

/**
 * Finds the elements of a top-level JSON array by tracking strings and bracket depth only.
 *
 * @param text the JSON text
 * @returns `[start, end)` per element, or `undefined` when the text is not one complete array
 */
export function splitJsonArray(text: string): [number, number][] | undefined {
  let i = 0;
  const n = text.length;
  while (i < n && text.charCodeAt(i) <= 0x20) i++;
  if (text.charCodeAt(i) !== OPEN_ARRAY) return undefined;
  const out: [number, number][] = [];
  let depth = 1;
  let start = ++i;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // skip the string: find the closing quote not preceded by an odd number of backslashes
      for (i++;; i++) {
        i = text.indexOf('"', i);
        if (i < 0) return undefined;
        let b = 0;
        while (text.charCodeAt(i - 1 - b) === BACKSLASH) b++;
        if (b % 2 === 0) break;
      }
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) depth++;
    else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      if (--depth === 0) {
        if (text.slice(start, i).trim() !== "") out.push([start, i]);
        else if (out.length > 0) return undefined; // a trailing comma
        return text.slice(i + 1).trim() === "" ? out : undefined;
      }
    } else if (c === COMMA && depth === 1) {
      out.push([start, i]);
      start = i + 1;
    }
  }
  return undefined;
}
