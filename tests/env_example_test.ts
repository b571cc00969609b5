import assert from "node:assert/strict";
import { envNames } from "../lib/config.ts";
import { PRODUCER_OPTIONS } from "../lib/producer_config.ts";
import { CONSUMER_OPTIONS } from "../lib/consumer_config.ts";
import { BROKER_OPTIONS } from "../lib/broker/broker_config.ts";
import { METRICS_OPTIONS } from "../lib/metrics_options.ts";
import { LOG_OPTIONS } from "../lib/program.ts";
import { PIPELINE_OPTIONS } from "../lib/pipeline_runner.ts";
import { REPLAY_OPTIONS } from "../lib/replay_config.ts";

const ROOT = new URL("../", import.meta.url);
const TEST_ONLY = new Set(["WIKISTREAM_TEST_PAUSE_AT"]);
const PROGRAMS = {
  produce: { file: "producer.ts", specs: { ...PRODUCER_OPTIONS, ...METRICS_OPTIONS } },
  consume: { file: "consumer.ts", specs: { ...CONSUMER_OPTIONS, ...METRICS_OPTIONS } },
  broker: { file: "broker.ts", specs: { ...BROKER_OPTIONS, ...METRICS_OPTIONS } },
  start: { file: "start.ts", specs: PIPELINE_OPTIONS },
  replay: { file: "replay.ts", specs: REPLAY_OPTIONS },
};

Deno.test(".env.example and the README document every configuration variable", async () => {
  const example = await Deno.readTextFile(new URL(".env.example", ROOT));
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const all = new Set(
    Object.values(PROGRAMS).flatMap((p) => envNames(p.specs)).concat(envNames(LOG_OPTIONS)),
  );
  const missingExample = [...all].filter((n) =>
    !TEST_ONLY.has(n) && !new RegExp(`^#? ?${n}=`, "m").test(example)
  );
  assert.deepEqual(missingExample, [], "variables missing from .env.example");
  const missingReadme = [...all].filter((n) => !readme.includes(`\`${n}\``));
  assert.deepEqual(missingReadme, [], "variables missing from the README tables");
});

Deno.test("each deno task allows exactly the environment variables its program reads", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))).tasks as Record<
    string,
    { command: string }
  >;
  for (const [task, { file, specs }] of Object.entries(PROGRAMS)) {
    const command = tasks[task]!.command;
    assert.ok(command.trim().endsWith(file), `task ${task} runs ${file}`);
    const allowed = new Set(/--allow-env=(\S+)/.exec(command)![1]!.split(","));
    const needed = [...envNames(specs), ...envNames(LOG_OPTIONS)];
    const wildcards = [...allowed].filter((a) => a.endsWith("*")).map((a) => a.slice(0, -1));
    const missing = needed.filter((n) =>
      !allowed.has(n) && !wildcards.some((w) => n.startsWith(w))
    );
    assert.deepEqual(missing, [], `task ${task} lacks --allow-env for these`);
    assert.ok(!/--allow-all|\s-A\s/.test(command), `task ${task} must not use -A`);
  }
});
