import assert from "node:assert/strict";
import { compilePlan, PROGRAMS } from "../scripts/compile.ts";

Deno.test("compilePlan() reuses a task's permissions without --env-file", () => {
  const plan = compilePlan({
    check: "deno fmt --check",
    broker: {
      command:
        "deno run --env-file=.env --allow-env=A,B --allow-net --allow-read=.wikistream broker.ts",
    },
  }, "broker");
  assert.deepEqual(plan, {
    program: "broker",
    output: "dist/wikistream-broker",
    args: [
      "compile",
      "--output",
      "dist/wikistream-broker",
      "--allow-env=A,B",
      "--allow-net",
      "--allow-read=.wikistream",
      "broker.ts",
    ],
  });
  assert.throws(
    () => compilePlan({}, "producer"),
    /exactly one task ending in "deno run … producer.ts"/,
  );
});

Deno.test("deno task compile fails with one clear message when the runtime cannot be downloaded", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wikistream_compile_" });
  try {
    const tasks: Record<string, string> = {};
    for (const program of PROGRAMS) {
      await Deno.writeTextFile(`${dir}/${program}.ts`, "export {};\n");
      tasks[program] = `deno run --env-file=.env --allow-env=X ${program}.ts`;
    }
    await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ tasks }));
    const script = new URL("../scripts/compile.ts", import.meta.url);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-run=deno", "--allow-env=DENORT_BIN", script.href],
      cwd: dir,
      // An unreachable proxy makes the denort download fail at once, online or not.
      env: { HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "http://127.0.0.1:9", NO_PROXY: "" },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, stderr);
    assert.equal(
      stderr.trim(),
      "error: Cannot build the binaries: deno compile needs to download the Deno runtime (denort) from dl.deno.land, which is unreachable from this machine; run `deno task compile` on a machine with internet access, or set DENORT_BIN to a downloaded denort binary of the same Deno version",
    );
    await assert.rejects(Deno.stat(`${dir}/dist/wikistream-producer`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
