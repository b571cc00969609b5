import assert from "node:assert/strict";
import { compilePlan, PROGRAMS } from "../../scripts/compile.ts";
import { denoTasks, isBlanketPermission } from "../_helpers/program_command.ts";

Deno.test("compilePlan() uses the launcher's permissions for the configured folders", () => {
  const plan = compilePlan("broker", { BROKER_DATA_DIR: "/srv/broker" });
  assert.equal(plan.output, "dist/wikistream-broker");
  assert.deepEqual(plan.args.slice(0, 3), ["compile", "--output", "dist/wikistream-broker"]);
  assert.equal(plan.args.at(-1), "./broker.ts");
  assert.ok(plan.args.includes("--allow-read=/srv/broker"), plan.args.join(" "));
  assert.ok(plan.args.includes("--allow-write=/srv/broker"), plan.args.join(" "));
  assert.ok(
    !plan.args.some((a) => a.startsWith("--env-file") || isBlanketPermission(a)),
  );
});

Deno.test("deno task compile fails with one clear message when the runtime cannot be downloaded", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wikistream_compile_" });
  try {
    for (const program of PROGRAMS) {
      await Deno.writeTextFile(`${dir}/${program}.ts`, "export {};\n");
    }
    // exactly the compile task's command, with the script's path made absolute
    const script = new URL("../../scripts/compile.ts", import.meta.url).pathname;
    const words = denoTasks().compile!.trim().split(/\s+/);
    assert.equal(words.at(-1), "scripts/compile.ts");
    const out = await new Deno.Command(Deno.execPath(), {
      args: [...words.slice(1, -1), script],
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
