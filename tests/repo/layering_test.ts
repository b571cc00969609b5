/**
 * The layout rules of `lib/`, checked on every module's imports:
 *
 * - each folder of `lib/` imports only the folders {@linkcode MAY_IMPORT} lists for it (its own
 *   files, `npm:`/`node:` packages and the bare names of deno.json's import map are always
 *   allowed);
 * - the programs' folders (`producer/`, `consumer/`, `broker/`, `replay/`) never import each
 *   other, and the boundary folders (`lake/`, `object_store/`, `rest_proxy/`, `sse/`,
 *   `recentchange/`) and the shared edge (`cli/`, `metrics/`) never import a program's folder
 *   (`start/` runs the producer, consumer and broker in one process, and only the launcher
 *   and the entry points import `start/`);
 * - a file whose name starts with `_` is imported only from its own folder;
 * - nothing imports an entry point (`producer.ts`, `consumer.ts`, ...): they are run, not used.
 *
 * The table is checked against the rules too, so widening it to allow a forbidden edge fails.
 *
 * @module
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

/** Folders of `lib/` that are a program (or run several). */
const PROGRAMS = ["producer", "consumer", "broker", "replay", "start"] as const;
/** Folders that talk to one external system or hold one format; they serve the programs. */
const BOUNDARIES = ["lake", "object_store", "rest_proxy", "sse", "recentchange"] as const;
/** Folders every program uses. */
const SHARED = ["cli", "metrics", "secrets"] as const;

/** Which other folders of `lib/` each folder may import (`lib/` itself holds no module). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  cli: [],
  metrics: ["cli"],
  secrets: ["cli"],
  sse: ["cli"],
  recentchange: [],
  "rest_proxy": ["cli"],
  "object_store": ["cli"],
  lake: ["cli", "object_store"],
  producer: ["cli", "metrics", "recentchange", "rest_proxy", "sse"],
  consumer: ["cli", "lake", "metrics", "object_store", "rest_proxy"],
  broker: ["cli", "metrics", "rest_proxy"],
  replay: ["cli"],
  start: ["broker", "cli", "consumer", "metrics", "producer"],
  launcher: [
    "broker",
    "cli",
    "consumer",
    "lake",
    "metrics",
    "object_store",
    "producer",
    "replay",
    "secrets",
    "start",
  ],
};

/** The programs' entry points at the repository root. */
const ENTRY_POINTS = [
  "broker.ts",
  "consumer.ts",
  "producer.ts",
  "query.ts",
  "replay.ts",
  "start.ts",
  "verify.ts",
];

/** One import of one module, both as repository-relative paths. */
export interface ImportEdge {
  /** The importing module, for example `lib/lake/lake_writer.ts`. */
  from: string;
  /** The imported module as written (`npm:…`, a bare name) or resolved (`lib/cli/log.ts`). */
  to: string;
}

const IMPORT_REGEXP =
  /(?:^|\n)\s*(?:import|export)\s(?:[^;"'`]*?\sfrom\s*)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

/**
 * The import specifiers of a module's source (static, re-exports, side-effect and dynamic
 * imports with a literal specifier; `import` lines inside doc comments start with `*` and
 * are not matched).
 */
export function importSpecifiers(source: string): string[] {
  return [...source.matchAll(IMPORT_REGEXP)].map((m) => m[1] ?? m[2] ?? "");
}

function resolve(from: string, specifier: string): string {
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) return specifier;
  const parts = from.split("/").slice(0, -1);
  for (const part of specifier.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== ".") parts.push(part);
  }
  return parts.join("/");
}

/** The folder of `lib/` a path belongs to, `""` for `lib/` itself, undefined outside `lib/`. */
function libFolder(path: string): string | undefined {
  const m = /^lib\/(?:([^/]+)\/)?[^/]+$/.exec(path);
  return m ? (m[1] ?? "") : undefined;
}

function dirname(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}

/**
 * Every violation of the layout rules among `edges`, one sentence each.
 *
 * @param edges imports, with relative specifiers resolved to repository paths
 * @returns the violations, empty when the layout holds
 */
export function layeringViolations(edges: readonly ImportEdge[]): string[] {
  const problems: string[] = [];
  for (const { from, to } of edges) {
    if (ENTRY_POINTS.includes(to)) {
      problems.push(`${from} imports the entry point ${to}; move what it needs into lib/`);
    }
    const name = to.slice(to.lastIndexOf("/") + 1);
    if (name.startsWith("_") && to.includes("/") && dirname(to) !== dirname(from)) {
      problems.push(`${from} imports ${to}, which is private to ${dirname(to)}/`);
    }
    const source = libFolder(from);
    if (source === undefined) continue;
    if (to.startsWith("tests/") || to.startsWith("bench/") || to.startsWith("scripts/")) {
      problems.push(`${from} imports ${to}; lib/ never imports tests, benchmarks or scripts`);
    }
    const target = libFolder(to);
    if (target === undefined || target === source) continue;
    const allowed = MAY_IMPORT[source];
    if (allowed === undefined) {
      problems.push(`${from} is in lib/${source}/, a folder the layering table does not know`);
    } else if (!allowed.includes(target)) {
      problems.push(
        `${from} imports ${to}: lib/${source}/ may import ${
          allowed.length === 0 ? "no other folder" : allowed.map((f) => `${f}/`).join(", ")
        }, not ${target === "" ? "lib/" : `${target}/`}`,
      );
    }
  }
  return problems;
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else if (entry.isFile && entry.name.endsWith(".ts")) yield path;
  }
}

/** The imports of every module of the repository (lib, entry points, tests, bench, scripts). */
async function repositoryImports(): Promise<ImportEdge[]> {
  const modules: string[] = [...ENTRY_POINTS];
  for (const dir of ["lib", "tests", "bench", "scripts"]) {
    for await (const path of walk(dir)) modules.push(path);
  }
  const edges: ImportEdge[] = [];
  for (const from of modules) {
    const source = await Deno.readTextFile(new URL(from, ROOT));
    for (const specifier of importSpecifiers(source)) {
      edges.push({ from, to: resolve(from, specifier) });
    }
  }
  return edges;
}

Deno.test("layering: every module of the repository keeps the layout rules", async () => {
  const edges = await repositoryImports();
  assert.ok(edges.length > 300, `found only ${edges.length} imports; is the scan broken?`);
  assert.ok(
    edges.some((e) => e.from === "lib/lake/lake_writer.ts" && e.to === "lib/lake/lake_layout.ts"),
    "the scan resolves relative imports",
  );
  assert.deepEqual(layeringViolations(edges), []);
});

Deno.test("layering: the table lets no program import another and no boundary import a program", () => {
  const programs: readonly string[] = PROGRAMS;
  for (const [folder, allowed] of Object.entries(MAY_IMPORT)) {
    const programsAllowed = allowed.filter((f) => programs.includes(f));
    if (folder === "launcher") continue;
    if (folder === "start") {
      assert.deepEqual(programsAllowed, ["broker", "consumer", "producer"]);
    } else {
      assert.deepEqual(programsAllowed, [], `lib/${folder}/ may import a program's folder`);
    }
  }
  for (const folder of [...BOUNDARIES, ...SHARED]) {
    assert.ok(MAY_IMPORT[folder], `lib/${folder}/ is in the table`);
  }
});

Deno.test("layering: layeringViolations() names each kind of wrong import", () => {
  assert.deepEqual(
    layeringViolations([
      { from: "lib/consumer/consumer_pipeline.ts", to: "lib/producer/producer_stats.ts" },
      { from: "lib/lake/lake_writer.ts", to: "lib/rest_proxy/rest_consumer_client.ts" },
      { from: "lib/lake/lake_writer.ts", to: "lib/consumer/consumer_session.ts" },
      { from: "lib/metrics/program_metrics.ts", to: "lib/broker/broker_stats.ts" },
      { from: "lib/consumer/dedupe_window.ts", to: "lib/lake/_iso_millis.ts" },
      { from: "lib/cli/program.ts", to: "producer.ts" },
      { from: "tests/lake/lake_writer_test.ts", to: "consumer.ts" },
      { from: "lib/lake/lake_writer.ts", to: "tests/_helpers/test_utils.ts" },
      // allowed: own folder, an allowed folder, a package, a private file of the own folder
      { from: "lib/lake/lake_writer.ts", to: "lib/lake/_iso_millis.ts" },
      { from: "lib/consumer/consumer_pipeline.ts", to: "lib/lake/lake_writer.ts" },
      { from: "lib/lake/parquet_encoder.ts", to: "parquet-wasm" },
      { from: "tests/lake/lake_writer_test.ts", to: "lib/lake/lake_writer.ts" },
    ]),
    [
      "lib/consumer/consumer_pipeline.ts imports lib/producer/producer_stats.ts: lib/consumer/ may import cli/, lake/, metrics/, object_store/, rest_proxy/, not producer/",
      "lib/lake/lake_writer.ts imports lib/rest_proxy/rest_consumer_client.ts: lib/lake/ may import cli/, object_store/, not rest_proxy/",
      "lib/lake/lake_writer.ts imports lib/consumer/consumer_session.ts: lib/lake/ may import cli/, object_store/, not consumer/",
      "lib/metrics/program_metrics.ts imports lib/broker/broker_stats.ts: lib/metrics/ may import cli/, not broker/",
      "lib/consumer/dedupe_window.ts imports lib/lake/_iso_millis.ts, which is private to lib/lake/",
      "lib/cli/program.ts imports the entry point producer.ts; move what it needs into lib/",
      "tests/lake/lake_writer_test.ts imports the entry point consumer.ts; move what it needs into lib/",
      "lib/lake/lake_writer.ts imports tests/_helpers/test_utils.ts; lib/ never imports tests, benchmarks or scripts",
    ],
  );
});

Deno.test("layering: importSpecifiers() finds static, type, re-export, side-effect and dynamic imports", () => {
  const source = [
    `import { a } from "./a.ts";`,
    `import type { B } from "../b.ts";`,
    `import {\n  c,\n  type D,\n} from "./c.ts";`,
    `export { e } from "./e.ts";`,
    `export type { F } from "./f.ts";`,
    `import "./side_effect.ts";`,
    `const g = await import("./g.ts");`,
    `/**\n * @example\n * import { h } from "./not_an_import.ts";\n */`,
    `const text = "import x from './neither.ts'";`,
  ].join("\n");
  assert.deepEqual(importSpecifiers(source), [
    "./a.ts",
    "../b.ts",
    "./c.ts",
    "./e.ts",
    "./f.ts",
    "./side_effect.ts",
    "./g.ts",
  ]);
});
