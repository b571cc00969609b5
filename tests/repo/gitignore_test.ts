import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

Deno.test("no source file is hidden by .gitignore (a pattern like `lake/` also matches lib/lake/)", async () => {
  const out = await new Deno.Command("git", {
    args: [
      "ls-files",
      "--others",
      "--ignored",
      "--exclude-standard",
      "--",
      "lib",
      "tests",
      "bench",
      "scripts",
      "samples",
      ":(glob)*.ts",
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const hidden = new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "");
  assert.deepEqual(hidden, []);
});
