import assert from "node:assert/strict";
import { ALLOCATOR_SETTINGS, allocatorEnv } from "../../lib/launcher/allocator_env.ts";
import { planLaunch } from "../../lib/launcher/launch.ts";

Deno.test("the launcher gives every program the allocator settings", () => {
  for (const program of ["producer", "consumer", "broker", "start"]) {
    assert.deepEqual(planLaunch(program, [], {}).env, ALLOCATOR_SETTINGS, program);
  }
});

Deno.test("an allocator setting in the environment is the operator's and stays", () => {
  assert.deepEqual(allocatorEnv({ MALLOC_ARENA_MAX: "8" }), { MALLOC_MMAP_THRESHOLD_: "131072" });
  assert.deepEqual(
    planLaunch("consumer", [], { MALLOC_ARENA_MAX: "8", MALLOC_MMAP_THRESHOLD_: "0" }).env,
    {},
  );
});
