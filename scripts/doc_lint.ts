/**
 * `deno doc --lint` over the entry points and every module of `lib/`, run by
 * `deno task check`. Skipped: files whose name starts with `_` (private to their folder,
 * no public API) and `lib/lake/event_schema.ts`, whose public symbols are typed with
 * apache-arrow's `Schema` and `DataType` classes: `deno doc --lint` reports any npm type
 * as a private type reference, and re-exporting them lints apache-arrow's own
 * declarations.
 *
 * @module
 */
const ROOT = new URL("../", import.meta.url);
const ENTRY_POINTS = [
  "broker.ts",
  "consumer.ts",
  "producer.ts",
  "query.ts",
  "replay.ts",
  "start.ts",
  "verify.ts",
];
const SKIPPED = new Set(["lib/lake/event_schema.ts"]);

async function* libModules(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* libModules(path);
    else if (entry.name.endsWith(".ts") && !entry.name.startsWith("_") && !SKIPPED.has(path)) {
      yield path;
    }
  }
}

const files = [...ENTRY_POINTS];
for await (const path of libModules("lib")) files.push(path);
files.sort();
const { code } = await new Deno.Command("deno", {
  args: ["doc", "--lint", ...files],
  cwd: ROOT,
  stdout: "inherit",
  stderr: "inherit",
}).output();
Deno.exitCode = code;
