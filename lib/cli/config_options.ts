/**
 * Builders for {@linkcode OptionSpec}s of common shapes: strings, integers,
 * booleans, enumerations, lists, URLs and instants. Each parser throws an
 * `Error` whose message completes "NAME must be …".
 *
 * @module
 */
import type { OptionSpec } from "./config.ts";

/** Fields every builder accepts. */
export interface BaseOption<T> {
  /** Environment variable name. */
  env: string;
  /** One-line description. */
  description: string;
  /** Default value. */
  default: T;
  /** CLI flag without dashes; defaults to the kebab-case env name. */
  flag?: string;
  /** Force secret handling on or off. */
  secret?: boolean;
}

function base<T>(o: BaseOption<T>): Omit<OptionSpec<T>, "parse"> {
  const spec: Omit<OptionSpec<T>, "parse"> = {
    env: o.env,
    description: o.description,
    default: o.default,
  };
  if (o.flag !== undefined) spec.flag = o.flag;
  if (o.secret !== undefined) spec.secret = o.secret;
  return spec;
}

/** A free-text option. */
export function stringOption<T extends string | undefined>(o: BaseOption<T>): OptionSpec<T> {
  return { ...base(o), parse: (raw) => raw as T };
}

/** Bounds for {@linkcode intOption}. */
export interface IntOption extends BaseOption<number> {
  /** Smallest allowed value. @default 0 */
  min?: number;
  /** Largest allowed value. @default Number.MAX_SAFE_INTEGER */
  max?: number;
}

/** An integer option within bounds; accepts `_` separators (`1_000_000`). */
export function intOption(o: IntOption): OptionSpec<number> {
  const min = o.min ?? 0;
  const max = o.max ?? Number.MAX_SAFE_INTEGER;
  return {
    ...base(o),
    parse(raw) {
      const text = raw.replaceAll("_", "");
      const n = Number(text);
      if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
        throw new Error(
          `an integer between ${min} and ${max === Number.MAX_SAFE_INTEGER ? "2^53" : max}`,
        );
      }
      return n;
    },
  };
}

/** An optional integer option: unset means `undefined`. */
export function optionalIntOption(
  o: Omit<IntOption, "default"> & { default?: undefined },
): OptionSpec<number | undefined> {
  const inner = intOption({ ...o, default: 0 });
  return { ...base({ ...o, default: undefined }), parse: inner.parse };
}

/** A boolean option: `true/false/1/0/yes/no`; as a flag it may stand alone. */
export function boolOption(o: BaseOption<boolean>): OptionSpec<boolean> {
  return {
    ...base(o),
    boolean: true,
    parse(raw) {
      const v = raw.toLowerCase();
      if (["true", "1", "yes", "on"].includes(v)) return true;
      if (["false", "0", "no", "off"].includes(v)) return false;
      throw new Error("one of true, false, 1, 0, yes, no");
    },
  };
}

/** One of a fixed set of words. */
export function enumOption<T extends string>(
  o: BaseOption<T> & { values: readonly T[] },
): OptionSpec<T> {
  return {
    ...base(o),
    parse(raw) {
      const v = raw.toLowerCase() as T;
      if (!o.values.includes(v)) throw new Error(`one of ${o.values.join(", ")}`);
      return v;
    },
  };
}

/** A comma-separated list of non-empty words. */
export function listOption(o: BaseOption<readonly string[]>): OptionSpec<readonly string[]> {
  return {
    ...base(o),
    parse: (raw) => Object.freeze(raw.split(",").map((s) => s.trim()).filter((s) => s !== "")),
    format: (v) => v.join(","),
  };
}

/** An absolute http(s) URL. */
export function httpUrlOption(o: BaseOption<URL>): OptionSpec<URL> {
  return {
    ...base(o),
    parse(raw) {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw new Error("an http(s) URL");
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new Error("an http(s) URL");
      }
      return url;
    },
    format: (v) => v.href,
  };
}

/**
 * Parses an instant given as epoch milliseconds or an ISO-8601 date-time.
 *
 * @param raw the text
 * @returns epoch milliseconds
 * @throws {Error} when the text is neither
 */
export function parseInstant(raw: string): number {
  if (/^\d+$/.test(raw)) return Number(raw);
  if (/^\d{4}-\d{2}-\d{2}/.test(raw)) {
    const t = Date.parse(raw);
    if (Number.isFinite(t)) return t;
  }
  throw new Error("an ISO-8601 date-time (2026-11-20T00:00:00Z) or epoch milliseconds");
}

/** An optional instant (epoch ms or ISO-8601). */
export function instantOption(
  o: BaseOption<number | undefined>,
): OptionSpec<number | undefined> {
  return {
    ...base(o),
    parse: parseInstant,
    format: (v) => (v === undefined ? "" : new Date(v).toISOString()),
  };
}

/**
 * A comma-separated list whose every word is one of a fixed set (case-insensitive).
 * A word outside the set is an error naming the word and the valid ones, so a typo
 * (`edits` for `edit`) stops the program instead of silently matching nothing.
 */
export function enumListOption<T extends string>(
  o: BaseOption<readonly T[]> & { values: readonly T[] },
): OptionSpec<readonly T[]> {
  return {
    ...base(o),
    parse(raw) {
      const words = raw.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
      const unknown = words.filter((w) => !o.values.includes(w as T));
      if (unknown.length > 0) {
        throw new Error(
          `a comma-separated list of ${o.values.join(", ")} (${
            unknown.map((w) => JSON.stringify(w)).join(", ")
          } ${unknown.length === 1 ? "is" : "are"} not one)`,
        );
      }
      return Object.freeze(words as T[]);
    },
    format: (v) => v.join(","),
  };
}
