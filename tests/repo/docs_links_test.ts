import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);
/** The README and the reference it links to. */
const PAGES = [
  "README.md",
  "docs/aws.md",
  "docs/configuration.md",
  "docs/development.md",
  "docs/lake.md",
  "docs/operations.md",
  "docs/producer.md",
];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

/** The anchors of a Markdown page's headings (outside code blocks). */
function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  let code = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) code = !code;
    const m = !code && /^#{1,6}\s+(.*)$/.exec(line);
    if (m) found.add(anchorOf(m[1]!));
  }
  return found;
}

/** The targets of the inline links of a page, code spans and blocks left out. */
function linkTargets(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
}

Deno.test("docs: the README links every page of docs/", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const targets = linkTargets(readme).map((t) => t.split("#")[0]);
  for (const page of PAGES.slice(1)) assert.ok(targets.includes(page), `README links ${page}`);
});

Deno.test("docs: every relative link of the README and docs/ names a file and heading that exist", async () => {
  const problems: string[] = [];
  for (const page of PAGES) {
    const base = new URL(page, ROOT);
    for (const target of linkTargets(await Deno.readTextFile(base))) {
      if (/^[a-z]+:/.test(target)) continue;
      const [path, anchor] = target.split("#") as [string, string | undefined];
      const file = path === "" ? base : new URL(path, base);
      let text: string;
      try {
        text = await Deno.readTextFile(file);
      } catch {
        problems.push(`${page}: ${target} names a missing file`);
        continue;
      }
      if (anchor !== undefined && !anchors(text).has(anchor)) {
        problems.push(`${page}: ${target} names a missing heading`);
      }
    }
  }
  assert.deepEqual(problems, []);
});
