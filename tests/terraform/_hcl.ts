/**
 * Reads the Terraform under `deploy/aws/` with the npm HCL parser (`@cdktf/hcl2json`, the
 * Go HCL library compiled to wasm) and offers what the checks need: each folder's
 * declarations, the expressions inside a value, the references in an expression, the
 * statements of a policy document with its templates filled in, and a `terraform fmt`
 * style check of the raw text. There is no Terraform binary here, so nothing is planned.
 *
 * @module
 */
// the package's own types pull in the DOM library (see _hcl2json.d.ts)
// @ts-types="./_hcl2json.d.ts"
import { parse } from "@cdktf/hcl2json";

/** The Terraform root of the repository. */
export const DEPLOY_AWS: URL = new URL("../../deploy/aws/", import.meta.url);

/** The two Terraform folders: the module and the example that calls it. */
export const TERRAFORM_DIRS: readonly string[] = Object.freeze(["modules/wikistream", "example"]);

/** hcl2json's JSON: blocks as objects of label → array of bodies, expressions as "${…}". */
// deno-lint-ignore no-explicit-any
export type HclJson = Record<string, any>;

/** One `.tf` file, parsed. */
export interface TfFile {
  /** Path relative to `deploy/aws/`. */
  path: string;
  /** The raw text. */
  text: string;
  /** The parsed body. */
  json: HclJson;
}

/** A folder (one Terraform module) and what it declares. */
export interface TfModule {
  /** Folder relative to `deploy/aws/`. */
  dir: string;
  /** Its files. */
  files: TfFile[];
  /** Variables by name. */
  variables: Map<string, HclJson>;
  /** Local values by name. */
  locals: Map<string, unknown>;
  /** Resources by `type.name`. */
  resources: Map<string, HclJson>;
  /** Data sources by `type.name`. */
  data: Map<string, HclJson>;
  /** Module calls by name. */
  modules: Map<string, HclJson>;
  /** Outputs by name. */
  outputs: Map<string, HclJson>;
}

/**
 * Parses every `.tf` file of a folder.
 *
 * @param dir the folder relative to `deploy/aws/`
 * @returns the module
 * @throws {Error} naming the file and HCL's message when a file does not parse
 */
export async function loadModule(dir: string): Promise<TfModule> {
  const root = new URL(`${dir}/`, DEPLOY_AWS);
  const names: string[] = [];
  for await (const entry of Deno.readDir(root)) {
    if (entry.isFile && entry.name.endsWith(".tf")) names.push(entry.name);
  }
  names.sort();
  const module: TfModule = {
    dir,
    files: [],
    variables: new Map(),
    locals: new Map(),
    resources: new Map(),
    data: new Map(),
    modules: new Map(),
    outputs: new Map(),
  };
  for (const name of names) {
    const text = await Deno.readTextFile(new URL(name, root));
    let json: HclJson;
    try {
      json = await parse(name, text) as HclJson;
    } catch (error) {
      throw new Error(`Cannot parse ${dir}/${name}: ${error}`, { cause: error });
    }
    module.files.push({ path: `${dir}/${name}`, text, json });
    const add = (map: Map<string, unknown>, key: string, value: unknown) => {
      if (map.has(key)) throw new Error(`${dir}/${name} declares "${key}" twice`);
      map.set(key, value);
    };
    for (const [k, v] of Object.entries(json.variable ?? {})) add(module.variables, k, one(v));
    for (const block of json.locals ?? []) {
      for (const [k, v] of Object.entries(block)) add(module.locals, k, v);
    }
    for (const kind of ["resource", "data"] as const) {
      const map = kind === "resource" ? module.resources : module.data;
      for (const [type, byName] of Object.entries(json[kind] ?? {})) {
        for (const [n, v] of Object.entries(byName as HclJson)) add(map, `${type}.${n}`, one(v));
      }
    }
    for (const [k, v] of Object.entries(json.module ?? {})) add(module.modules, k, one(v));
    for (const [k, v] of Object.entries(json.output ?? {})) add(module.outputs, k, one(v));
  }
  return module;
}

function one(bodies: unknown): HclJson {
  if (!Array.isArray(bodies) || bodies.length !== 1) {
    throw new Error(`expected one block body, got ${JSON.stringify(bodies).slice(0, 80)}`);
  }
  return bodies[0] as HclJson;
}

/** Index of the `}` closing the `{` at `open`, skipping strings. */
function matchingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '"') i = stringEnd(text, i);
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i;
  }
  throw new SyntaxError(`Cannot find the end of "${text.slice(open - 1, open + 40)}"`);
}

/** Index of the `"` closing the string opened at `start`, skipping interpolations. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === "$" && text[i + 1] === "{") i = matchingBrace(text, i + 1);
    else if (text[i] === '"') return i;
  }
  throw new SyntaxError(`Cannot find the end of the string "${text.slice(start, start + 40)}"`);
}

/**
 * The expressions interpolated in a template string (`"a${x}b${y}"` → `x`, `y`).
 *
 * @param template a string value from hcl2json
 * @returns the expression texts
 */
export function interpolations(template: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < template.length; i++) {
    if (template[i] === "$" && template[i + 1] === "{" && template[i - 1] !== "$") {
      const end = matchingBrace(template, i + 1);
      out.push(template.slice(i + 2, end));
      i = end;
    }
  }
  return out;
}

/**
 * An expression's code with the literal parts of its strings blanked (their
 * interpolations kept), so that text inside strings is not read as references.
 *
 * @param expression the expression text
 * @returns the code
 */
export function codeOf(expression: string): string {
  let out = "";
  for (let i = 0; i < expression.length; i++) {
    if (expression[i] !== '"') {
      out += expression[i];
      continue;
    }
    const end = stringEnd(expression, i);
    out += " " + interpolations(expression.slice(i + 1, end)).map(codeOf).join(" ") + " ";
    i = end;
  }
  return out;
}

/** Roots a reference may start with besides variables, locals, data, modules and resources. */
const BUILTIN_ROOTS = new Set(["each", "count", "path", "self", "terraform"]);

/** A reference found in an expression. */
export interface Reference {
  /** `var`, `local`, `data`, `module` or `resource`. */
  kind: "var" | "local" | "data" | "module" | "resource";
  /** What it names: the variable or local name, `type.name`, or `module.output`. */
  name: string;
}

/**
 * The references in an expression's code, and the roots it does not know.
 *
 * @param expression the expression text
 * @param iterators names bound by enclosing `dynamic` blocks
 * @returns references and unknown roots
 */
export function references(
  expression: string,
  iterators: ReadonlySet<string> = new Set(),
): { references: Reference[]; unknown: string[] } {
  const code = codeOf(expression);
  const bound = new Set(iterators);
  for (const m of code.matchAll(/\bfor\s+([A-Za-z_]\w*)(?:\s*,\s*([A-Za-z_]\w*))?\s+in\b/g)) {
    bound.add(m[1]!);
    if (m[2]) bound.add(m[2]);
  }
  const found: Reference[] = [];
  const unknown: string[] = [];
  const traversal = /(?<![\w.\-])([A-Za-z_][\w-]*)((?:\.[A-Za-z_][\w-]*)+)/g;
  for (const m of code.matchAll(traversal)) {
    const root = m[1]!;
    const parts = m[2]!.slice(1).split(".");
    if (root === "var" || root === "local") found.push({ kind: root, name: parts[0]! });
    else if (root === "data" || root === "module") {
      found.push({ kind: root, name: `${parts[0]}.${parts[1] ?? ""}` });
    } else if (root.startsWith("aws_")) {
      found.push({ kind: "resource", name: `${root}.${parts[0]}` });
    } else if (!BUILTIN_ROOTS.has(root) && !bound.has(root)) unknown.push(m[0]);
  }
  return { references: found, unknown };
}

/**
 * Every string in a parsed value with the names of the `dynamic` blocks around it.
 *
 * @param value a parsed value
 * @returns the strings and their iterator names
 */
export function stringsIn(value: unknown): { text: string; iterators: Set<string> }[] {
  const out: { text: string; iterators: Set<string> }[] = [];
  const walk = (v: unknown, iterators: Set<string>) => {
    if (typeof v === "string") out.push({ text: v, iterators });
    else if (Array.isArray(v)) { for (const x of v) walk(x, iterators); }
    else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (k === "dynamic") {
          for (const [label, bodies] of Object.entries(x as HclJson)) {
            walk(bodies, new Set([...iterators, label]));
          }
        } else walk(x, iterators);
      }
    }
  };
  walk(value, new Set());
  return out;
}

/** One IAM statement of an `aws_iam_policy_document`, as written. */
export interface PolicyStatement {
  /** The statement id. */
  sid?: string;
  /** `Allow` (the default) or `Deny`. */
  effect: string;
  /** The actions. */
  actions: string[];
  /** The resources. */
  resources: string[];
  /** The conditions. */
  conditions: { test: string; variable: string; values: string[] }[];
}

/**
 * The static statements of a policy document with `${…}` replaced from a table; an
 * expression missing from the table throws, so nothing is evaluated by guesswork.
 *
 * @param document the `data "aws_iam_policy_document"` body
 * @param values the value of each expression that may appear
 * @returns the statements
 * @throws {Error} for an expression the table lacks or a value that is not a list
 */
export function policyStatements(
  document: HclJson,
  values: Readonly<Record<string, string>>,
): PolicyStatement[] {
  const fill = (template: unknown): string => {
    if (typeof template !== "string") throw new Error(`not a string: ${template}`);
    let out = "";
    let last = 0;
    for (let i = 0; i < template.length; i++) {
      if (template[i] === "$" && template[i + 1] === "{") {
        const end = matchingBrace(template, i + 1);
        const expression = template.slice(i + 2, end).trim();
        if (!(expression in values)) {
          throw new Error(`Cannot evaluate "\${${expression}}": not in the test's value table`);
        }
        out += template.slice(last, i) + values[expression];
        last = end + 1;
        i = end;
      }
    }
    return out + template.slice(last);
  };
  const list = (v: unknown): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw new Error(`expected a list, got ${JSON.stringify(v)}`);
    return v.map(fill);
  };
  return (document.statement ?? []).map((s: HclJson) => ({
    ...(s.sid === undefined ? {} : { sid: s.sid }),
    effect: s.effect ?? "Allow",
    actions: list(s.actions),
    resources: list(s.resources),
    conditions: (s.condition ?? []).map((c: HclJson) => ({
      test: c.test,
      variable: c.variable,
      values: list(c.values),
    })),
  }));
}

/**
 * Whether an IAM pattern (`*` any run of characters, `?` one) matches a value.
 *
 * @param pattern the IAM pattern
 * @param value the value
 * @returns true on a match
 */
export function iamMatch(pattern: string, value: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(
    /\?/g,
    ".",
  );
  return new RegExp(`^${source}$`).test(value);
}

/** Net bracket change of a line's code (strings skipped). */
function bracketChange(code: string): number {
  let n = 0;
  for (let i = 0; i < code.length; i++) {
    const c = code[i]!;
    if (c === '"') i = stringEnd(code, i);
    else if (c === "#" || (c === "/" && code[i + 1] === "/")) break;
    else if ("{[(".includes(c)) n++;
    else if ("}])".includes(c)) n--;
  }
  return n;
}

/** Index of a line's assignment `=` (outside strings, not part of `==`, `=>` …), or -1. */
function assignIndex(line: string): number {
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') i = stringEnd(line, i);
    else if (c === "#") return -1;
    else if (c === "=") {
      if ("=>".includes(line[i + 1] ?? "") || "=!<>".includes(line[i - 1] ?? "")) return -1;
      return i;
    }
  }
  return -1;
}

/**
 * Problems `terraform fmt` would fix in a file: tabs, trailing spaces, CRLF, a missing
 * final newline, indentation that is not two spaces per open bracket, and `=` signs not
 * aligned as fmt aligns them (over runs of consecutive one-line attributes; a comment, a
 * blank line or an attribute that opens a multi-line value ends a run).
 *
 * @param path the file's name, for messages
 * @param text the file's text
 * @returns one message per problem
 */
export function fmtProblems(path: string, text: string): string[] {
  const problems: string[] = [];
  if (text.includes("\r")) problems.push(`${path}: CRLF line ends`);
  if (!text.endsWith("\n") || text.endsWith("\n\n")) {
    problems.push(`${path}: must end with exactly one newline`);
  }
  const lines = text.replace(/\n$/, "").split("\n");
  let depth = 0;
  let run: { line: number; lead: number; at: number }[] = [];
  const closeRun = () => {
    const width = Math.max(...run.map((r) => r.lead));
    for (const r of run) {
      if (r.at !== width + 1) {
        problems.push(`${path}:${r.line}: "=" at column ${r.at + 1}, fmt puts it at ${width + 2}`);
      }
    }
    run = [];
  };
  lines.forEach((line, i) => {
    const n = i + 1;
    if (line.includes("\t")) problems.push(`${path}:${n}: tab`);
    if (/\s$/.test(line)) problems.push(`${path}:${n}: trailing whitespace`);
    const trimmed = line.trim();
    const change = trimmed.startsWith("#") ? 0 : bracketChange(trimmed);
    const closesFirst = /^[}\])]/.test(trimmed) ? 1 : 0;
    const expected = trimmed === "" ? 0 : (depth - closesFirst) * 2;
    const indent = line.length - line.trimStart().length;
    if (trimmed !== "" && indent !== expected) {
      problems.push(`${path}:${n}: indented ${indent}, fmt indents ${expected}`);
    }
    depth += change;
    const at = trimmed.startsWith("#") ? -1 : assignIndex(line);
    if (at > 0 && change === 0 && line.slice(0, at).trim() !== "") {
      run.push({ line: n, lead: line.slice(0, at).trimEnd().length, at });
      if (line[at + 1] !== " " || line[at + 2] === " ") {
        problems.push(`${path}:${n}: one space after "="`);
      }
    } else {
      if (run.length > 0) closeRun();
      if (at > 0 && (line[at - 1] !== " " || line[at - 2] === " ")) {
        problems.push(`${path}:${n}: one space before "=" of a multi-line value`);
      }
    }
  });
  if (run.length > 0) closeRun();
  if (depth !== 0) problems.push(`${path}: brackets do not balance (${depth})`);
  return problems;
}
