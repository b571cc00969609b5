import assert from "node:assert/strict";
import { startBroker } from "../../lib/broker/broker_server.ts";
import { ConfigError, parseConfig } from "../../lib/cli/config.ts";
import { PRODUCER_OPTIONS } from "../../lib/producer/producer_config.ts";
import { runProducer } from "../../lib/producer/producer_pipeline.ts";
import { createProducerStats } from "../../lib/producer/producer_stats.ts";
import { testLogger, testProducerConfig } from "../_helpers/producer_setup.ts";
import { readRecordedLines, startSseServer } from "../_helpers/sse_server.ts";
import { UnmatchedWikiCheck } from "../../lib/producer/unmatched_wiki_check.ts";
import { programArgs } from "../_helpers/program_command.ts";

const FILE = "6rzan-real-time-system_2026-05-05.ndjson";

Deno.test("FILTER_TYPES rejects a type that is not edit, new, log, categorize or external, naming the valid ones", () => {
  for (
    const [source, input] of [["env", { env: { FILTER_TYPES: "edit,edits" } }], [
      "flag",
      { args: ["--types", "edits"] },
    ]] as const
  ) {
    assert.throws(
      () => parseConfig(PRODUCER_OPTIONS, input),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message.startsWith(
          "FILTER_TYPES must be a comma-separated list of edit, new, log, categorize, external " +
            '("edits" is not one), got "',
        ),
      source,
    );
  }
});

Deno.test("FILTER_TYPES accepts every valid type in any case and keeps them lower-case", () => {
  const { config } = parseConfig(PRODUCER_OPTIONS, {
    env: { FILTER_TYPES: "Edit, NEW,log,categorize,external" },
  });
  assert.deepEqual(config.types, ["edit", "new", "log", "categorize", "external"]);
});

Deno.test("producer.ts exits 2 on --types edits with a message listing the valid types", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: programArgs("produce", ["--types", "edits"]),
    // Accepting the typo would leave the producer running: end it after a while.
    signal: AbortSignal.timeout(10_000),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 2, stderr);
  assert.match(
    stderr,
    /^error: FILTER_TYPES must be a comma-separated list of edit, new, log, categorize, external \("edits" is not one\), got "edits"$/m,
  );
});

Deno.test("runProducer warns once about a FILTER_WIKIS value no event matched in the first N events, naming close wiki names", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const events = await readRecordedLines(FILE, 600);
    await using broker = await startBroker({ dataDir: `${dir}/broker` });
    await using sse = await startSseServer({ events });
    const { log, sink } = testLogger();
    const stats = createProducerStats();
    const stop = new AbortController();
    const running = runProducer(
      testProducerConfig({
        STREAM_URL: sse.url.href,
        KAFKA_REST_URL: broker.url.href,
        STATE_DIR: `${dir}/state`,
      }, ["--since", "0", "--wikis", "enwik,commonswiki"]),
      { log, signal: stop.signal, stats, unmatchedWikiCheckAfter: 300 },
    );
    while (stats.eventsIn < 600) await new Promise((r) => setTimeout(r, 20));
    stop.abort();
    await running;
    const warnings = sink.records.filter((r) =>
      r.level === "warn" && /matched no event/.test(r.message)
    );
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.equal(
      warnings[0]!.message,
      'FILTER_WIKIS value "enwik" matched no event in the first 300 events: wiki names are ' +
        'database names such as enwiki, commonswiki, wikidatawiki; seen here and close: "enwiki", "enwikinews", "enwiktionary"',
    );
    assert.equal(warnings[0]!.properties?.wiki, "enwik");
    assert.ok(stats.eventsProduced > 100, "commonswiki events still produced");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("UnmatchedWikiCheck reports nothing when every value matched, and reports only once", () => {
  const { log, sink } = testLogger();
  const check = new UnmatchedWikiCheck({ wikis: ["enwiki", "dewikii"], log, afterEvents: 3 });
  for (const wiki of ["enwiki", "dewiki", undefined, "enwiki", "dewiki"]) check.observe(wiki);
  const warnings = sink.records.filter((r) => r.level === "warn");
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]!.properties.wiki, "dewikii");
  assert.deepEqual(warnings[0]!.properties.close, ["dewiki"]);
  assert.equal(check.done, true);
  assert.equal(new UnmatchedWikiCheck({ wikis: [], log }).done, true, "no filter, no work");
});
