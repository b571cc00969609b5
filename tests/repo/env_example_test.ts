import assert from "node:assert/strict";
import { envNames } from "../../lib/cli/config.ts";
import { PRODUCER_OPTIONS } from "../../lib/producer/producer_config.ts";
import { CONSUMER_OPTIONS } from "../../lib/consumer/consumer_config.ts";
import { BROKER_OPTIONS } from "../../lib/broker/broker_config.ts";
import { METRICS_OPTIONS } from "../../lib/metrics/metrics_options.ts";
import { LOG_OPTIONS } from "../../lib/cli/program.ts";
import { PIPELINE_OPTIONS } from "../../lib/start/pipeline_options.ts";
import { permissionFlags, PROGRAM_PROFILES } from "../../lib/launcher/program_permissions.ts";
import { REPLAY_OPTIONS } from "../../lib/replay/replay_config.ts";
import { isBlanketPermission } from "../_helpers/program_command.ts";
import { secretFileEnvNames } from "../../lib/secrets/secret_files.ts";

const ROOT = new URL("../../", import.meta.url);
const TEST_ONLY = new Set(["WIKISTREAM_TEST_PAUSE_AT"]);
const PROGRAMS = {
  produce: { file: "producer.ts", specs: { ...PRODUCER_OPTIONS, ...METRICS_OPTIONS } },
  consume: { file: "consumer.ts", specs: { ...CONSUMER_OPTIONS, ...METRICS_OPTIONS } },
  broker: { file: "broker.ts", specs: { ...BROKER_OPTIONS, ...METRICS_OPTIONS } },
  start: { file: "start.ts", specs: { ...PIPELINE_OPTIONS, ...METRICS_OPTIONS } },
  replay: { file: "replay.ts", specs: REPLAY_OPTIONS },
};

Deno.test(".env.example and docs/configuration.md document every configuration variable", async () => {
  const example = await Deno.readTextFile(new URL(".env.example", ROOT));
  const reference = await Deno.readTextFile(new URL("docs/configuration.md", ROOT));
  const all = new Set(
    Object.values(PROGRAMS).flatMap((p) => envNames(p.specs)).concat(envNames(LOG_OPTIONS)),
  );
  const missingExample = [...all].filter((n) =>
    !TEST_ONLY.has(n) && !new RegExp(`^#? ?${n}=`, "m").test(example)
  );
  assert.deepEqual(missingExample, [], "variables missing from .env.example");
  const missingDocs = [...all].filter((n) => !reference.includes(`\`${n}\``));
  assert.deepEqual(missingDocs, [], "variables missing from the tables of docs/configuration.md");
});

Deno.test("each deno task launches its program, which may read exactly the variables it declares", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))).tasks as Record<
    string,
    { command: string }
  >;
  for (const [task, { file, specs }] of Object.entries(PROGRAMS)) {
    const command = tasks[task]!.command.trim();
    const program = command.split(/\s+/).at(-1)!;
    assert.ok(
      command.endsWith(` lib/launcher/launch.ts ${program}`),
      `task ${task} runs the launcher`,
    );
    assert.equal(PROGRAM_PROFILES[program]?.entry, file, `task ${task} launches ${file}`);
    assert.ok(!command.split(/\s+/).some(isBlanketPermission), `task ${task} must not use -A`);
    const flags = permissionFlags(program, { env: {}, args: [], root: "/repo" });
    const allowed = new Set(
      /^--allow-env=(\S+)$/.exec(flags.find((f) => f.startsWith("--allow-env="))!)![1]!.split(","),
    );
    // a secret option's <NAME>_FILE counts as declared with it (lib/secrets/secret_files.ts)
    const declared = { ...specs, ...LOG_OPTIONS };
    const needed = [...envNames(declared), ...secretFileEnvNames(declared)];
    const extra = [...allowed].filter((a) =>
      !needed.includes(a) && !(PROGRAM_PROFILES[program]!.extraEnv ?? []).includes(a)
    );
    assert.deepEqual(needed.filter((n) => !allowed.has(n)), [], `${program} lacks these`);
    assert.deepEqual(extra, [], `${program} may read variables it does not declare`);
    assert.ok(!flags.some((f) => isBlanketPermission(f) || f === "--allow-write"));
  }
});
