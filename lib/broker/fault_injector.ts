/**
 * Test-only fault injection for the local broker: rules that make matching requests
 * fail with a chosen status and error code, wait before being served, or (for produce)
 * fail individual records with a per-record error code inside an HTTP 200.
 *
 * The admin endpoint `POST /_admin/faults` takes the same JSON shape as
 * {@linkcode FaultRule}; `DELETE /_admin/faults` calls {@linkcode FaultInjector.clear}.
 *
 * @module
 */

/** One fault rule (the JSON body of `POST /_admin/faults`). */
export interface FaultRule {
  /** HTTP method to match (case-insensitive); any when absent. */
  method?: string;
  /** Regular expression matched against the URL path; any when absent. */
  path?: string;
  /** Answer matching requests with this HTTP status instead of serving them. */
  status?: number;
  /** `error_code` of the error body. @default the status */
  "error_code"?: number;
  /** Error message. @default "Injected fault" */
  message?: string;
  /** How many matching requests the rule affects; then it is removed. @default unlimited */
  count?: number;
  /** Wait this long before failing or serving the request. @default 0 */
  "delay_ms"?: number;
  /** Chance (0..1) that a matching request is affected. @default 1 */
  probability?: number;
  /** Produce only: fail records with this per-record code (50002, 50003 …), HTTP 200. */
  "per_record_error_code"?: number;
  /** Produce only: fail every n-th record seen by the rule (1 = every record). @default 1 */
  every?: number;
}

/** What the injector decided for one request. */
export interface FaultDecision {
  /** Milliseconds to wait first. */
  delayMs: number;
  /** When set, answer with this error instead of serving. */
  error?: { status: number; errorCode: number; message: string };
  /** When set, decides per produced record whether it fails and with which code. */
  recordFault?: (index: number) => { errorCode: number; message: string } | undefined;
}

interface ActiveRule {
  rule: FaultRule;
  method: string | undefined;
  path: RegExp | undefined;
  remaining: number;
  recordsSeen: number;
}

const KNOWN_FIELDS = new Set([
  "method",
  "path",
  "status",
  "error_code",
  "message",
  "count",
  "delay_ms",
  "probability",
  "per_record_error_code",
  "every",
]);

/**
 * Validates an untrusted rule (from the admin endpoint).
 *
 * @param value parsed JSON
 * @returns the rule
 * @throws {TypeError} naming the bad field
 */
export function parseFaultRule(value: unknown): FaultRule {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError("Cannot add fault: the body must be a JSON object");
  }
  const rule = value as Record<string, unknown>;
  for (const k of Object.keys(rule)) {
    if (!KNOWN_FIELDS.has(k)) throw new TypeError(`Unrecognized field: ${k}`);
  }
  for (const k of ["method", "path", "message"]) {
    if (rule[k] !== undefined && typeof rule[k] !== "string") {
      throw new TypeError(`Cannot add fault: "${k}" must be a string`);
    }
  }
  for (const k of ["status", "error_code", "count", "delay_ms", "per_record_error_code", "every"]) {
    const v = rule[k];
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < 0)) {
      throw new TypeError(`Cannot add fault: "${k}" must be a non-negative integer`);
    }
  }
  const p = rule.probability;
  if (p !== undefined && (typeof p !== "number" || p < 0 || p > 1)) {
    throw new TypeError(`Cannot add fault: "probability" must be a number from 0 to 1`);
  }
  if (rule.path !== undefined) new RegExp(rule.path as string);
  return rule as FaultRule;
}

/** Options for {@linkcode FaultInjector}. */
export interface FaultInjectorOptions {
  /** Random source for `probability`; seed it for reproducible chaos. @default Math.random */
  random?: () => number;
}

/** Holds fault rules and decides, per request, which one applies. */
export class FaultInjector {
  #rules: ActiveRule[] = [];
  readonly #random: () => number;

  /**
   * Creates a `FaultInjector`.
   *
   * @param options the random source
   */
  constructor(options: FaultInjectorOptions = {}) {
    this.#random = options.random ?? Math.random;
  }

  /**
   * Adds a rule; rules are checked in the order added.
   *
   * @param rule the rule
   */
  add(rule: FaultRule): void {
    const checked = parseFaultRule(rule);
    this.#rules.push({
      rule: checked,
      method: checked.method?.toUpperCase(),
      path: checked.path === undefined ? undefined : new RegExp(checked.path),
      remaining: checked.count ?? Infinity,
      recordsSeen: 0,
    });
  }

  /** Removes every rule. */
  clear(): void {
    this.#rules = [];
  }

  /** The rules still active, as given. */
  get rules(): FaultRule[] {
    return this.#rules.map((r) => ({ ...r.rule }));
  }

  /**
   * Picks the first matching rule for a request and consumes one of its uses.
   *
   * @param method the HTTP method
   * @param path the URL path
   * @returns what to do, or undefined when no rule applies
   */
  decide(method: string, path: string): FaultDecision | undefined {
    for (const active of this.#rules) {
      if (active.method !== undefined && active.method !== method.toUpperCase()) continue;
      if (active.path !== undefined && !active.path.test(path)) continue;
      if (this.#random() >= (active.rule.probability ?? 1)) continue;
      active.remaining--;
      if (active.remaining <= 0) this.#rules = this.#rules.filter((r) => r !== active);
      const rule = active.rule;
      const decision: FaultDecision = { delayMs: rule.delay_ms ?? 0 };
      if (rule.per_record_error_code !== undefined) {
        const code = rule.per_record_error_code;
        const every = Math.max(1, rule.every ?? 1);
        decision.recordFault = () => {
          active.recordsSeen++;
          if (active.recordsSeen % every !== 0) return undefined;
          return { errorCode: code, message: rule.message ?? `Injected fault (${code})` };
        };
      } else if (rule.status !== undefined) {
        decision.error = {
          status: rule.status,
          errorCode: rule.error_code ?? rule.status,
          message: rule.message ?? "Injected fault",
        };
      }
      return decision;
    }
    return undefined;
  }
}
