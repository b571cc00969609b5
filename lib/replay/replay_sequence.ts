/**
 * {@linkcode ReplaySequence}: the events a replay serves, in file order, as the
 * positions a Kafka partition would give them: each event has an index, a time
 * (`meta.dt`, epoch ms; 0 when missing) and an offset (`meta.offset`, or its
 * index when the event has none).
 *
 * With `loop` the sequence repeats without end. Round `r` (the first is 0)
 * serves the original text in round 0 and, from round 1 on, a re-serialised copy
 * in which, so that a consumer does not drop the repeats as duplicates and a
 * resume by time or offset still finds its place:
 *
 * - `meta.id` gets a new first UUID group (`+ r × 0x9e3779b1` mod 2³², unique
 *   per round for 2³² rounds);
 * - `meta.dt` and `timestamp` move forward by `r` periods, a period being the
 *   file's time span rounded up to whole seconds plus one second;
 * - `meta.offset` moves forward by `r` times the file's offset span.
 *
 * Resolving a time or an offset follows Kafka's offset-for-time rule: the first
 * event in sequence order whose value is at or after the target.
 *
 * @module
 */

/** One event as served. */
export interface ReplayEvent {
  /** The event's JSON text (one line). */
  data: string;
  /** `meta.dt` in epoch milliseconds (0 when the event has none). */
  timeMs: number;
  /** The Kafka offset: `meta.offset`, or the index when the event has none. */
  offset: number;
}

/** Options for {@linkcode ReplaySequence}. */
export interface ReplaySequenceOptions {
  /** Repeat the events without end (see the module doc for what changes per round). @default false */
  loop?: boolean;
}

const ID_STEP = 0x9e3779b1;

function metaOf(line: string): { dt: number; offset: number | undefined } {
  try {
    const meta = (JSON.parse(line) as { meta?: { dt?: unknown; offset?: unknown } })?.meta;
    const t = typeof meta?.dt === "string" ? Date.parse(meta.dt) : NaN;
    return {
      dt: Number.isFinite(t) ? t : 0,
      offset: Number.isSafeInteger(meta?.offset) ? meta!.offset as number : undefined,
    };
  } catch {
    return { dt: 0, offset: undefined };
  }
}

/** The events of one or more files as an (optionally endless) Kafka-like sequence. */
export class ReplaySequence {
  readonly #lines: readonly string[];
  readonly #times: Float64Array;
  readonly #offsets: Float64Array;
  readonly #loop: boolean;
  readonly #timePeriod: number;
  readonly #offsetPeriod: number;
  readonly #maxTime: number;
  readonly #maxOffset: number;

  /**
   * Reads each event's `meta.dt` and `meta.offset` once.
   *
   * @param lines the event texts, one JSON event each
   * @param options whether to loop
   */
  constructor(lines: readonly string[], options: ReplaySequenceOptions = {}) {
    this.#lines = lines;
    this.#times = new Float64Array(lines.length);
    this.#offsets = new Float64Array(lines.length);
    for (let i = 0; i < lines.length; i++) {
      const { dt, offset } = metaOf(lines[i]!);
      this.#times[i] = dt;
      this.#offsets[i] = offset ?? i;
    }
    this.#loop = (options.loop ?? false) && lines.length > 0;
    const span = (values: Float64Array) => {
      let min = Infinity;
      let max = -Infinity;
      for (const v of values) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      return { min, max };
    };
    const t = span(this.#times);
    const o = span(this.#offsets);
    this.#maxTime = t.max;
    this.#maxOffset = o.max;
    this.#timePeriod = lines.length === 0 ? 0 : Math.ceil((t.max - t.min + 1000) / 1000) * 1000;
    this.#offsetPeriod = lines.length === 0 ? 0 : Math.max(lines.length, o.max - o.min + 1);
  }

  /** Events in one round (the files' event count). */
  get size(): number {
    return this.#lines.length;
  }

  /** Events in the whole sequence: `Infinity` when looping. */
  get length(): number {
    return this.#loop ? Infinity : this.#lines.length;
  }

  /** True when the sequence repeats without end. */
  get loop(): boolean {
    return this.#loop;
  }

  /**
   * The event at a position.
   *
   * @param index a position below {@linkcode ReplaySequence.length}
   * @returns the event text, time and offset
   * @throws {RangeError} for a position outside the sequence
   */
  at(index: number): ReplayEvent {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(
        `Cannot read replay event ${index}: the sequence has ${this.length} events`,
      );
    }
    const n = this.#lines.length;
    const round = Math.floor(index / n);
    const j = index - round * n;
    const line = this.#lines[j]!;
    const timeMs = this.#times[j]! + round * this.#timePeriod;
    const offset = this.#offsets[j]! + round * this.#offsetPeriod;
    if (round === 0) return { data: line, timeMs, offset };
    return { data: this.#shifted(line, round), timeMs, offset };
  }

  /**
   * The first position whose time is at or after `timeMs` (offset-for-time).
   *
   * @param timeMs epoch milliseconds
   * @returns a position; {@linkcode ReplaySequence.length} when no event is that late
   */
  firstAtOrAfterTime(timeMs: number): number {
    return this.#firstAtOrAfter(this.#times, this.#maxTime, this.#timePeriod, timeMs);
  }

  /**
   * The first position whose offset is at or after `offset`.
   *
   * @param offset a Kafka offset
   * @returns a position; {@linkcode ReplaySequence.length} when no event has that offset yet
   */
  firstAtOrAfterOffset(offset: number): number {
    return this.#firstAtOrAfter(this.#offsets, this.#maxOffset, this.#offsetPeriod, offset);
  }

  #firstAtOrAfter(values: Float64Array, max: number, period: number, target: number): number {
    const n = values.length;
    // Rounds cover disjoint, increasing ranges: the answer lies in the first round whose
    // largest value reaches the target.
    const round = this.#loop ? Math.max(0, Math.ceil((target - max) / period)) : 0;
    const shift = round * period;
    for (let j = 0; j < n; j++) if (values[j]! + shift >= target) return round * n + j;
    return this.length;
  }

  #shifted(line: string, round: number): string {
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(line);
    } catch {
      return line;
    }
    if (event === null || typeof event !== "object" || Array.isArray(event)) return line;
    const meta = event.meta as Record<string, unknown> | undefined;
    if (meta !== null && typeof meta === "object") {
      if (typeof meta.id === "string") {
        const m = /^[0-9a-f]{8}/i.exec(meta.id);
        meta.id = m
          ? ((parseInt(m[0], 16) + Math.imul(round, ID_STEP)) >>> 0).toString(16).padStart(8, "0") +
            meta.id.slice(8)
          : `${meta.id}-${round}`;
      }
      if (typeof meta.dt === "string") {
        const t = Date.parse(meta.dt);
        if (Number.isFinite(t)) meta.dt = new Date(t + round * this.#timePeriod).toISOString();
      }
      if (typeof meta.offset === "number") meta.offset += round * this.#offsetPeriod;
    }
    if (typeof event.timestamp === "number") {
      event.timestamp += (round * this.#timePeriod) / 1000;
    }
    return JSON.stringify(event);
  }
}
