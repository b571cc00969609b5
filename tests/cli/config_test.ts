import assert from "node:assert/strict";
import { ConfigError, formatConfig, parseConfig } from "../../lib/cli/config.ts";
import {
  boolOption,
  enumOption,
  httpUrlOption,
  intOption,
  listOption,
  parseInstant,
  stringOption,
} from "../../lib/cli/config_options.ts";

const SPECS = {
  restUrl: httpUrlOption({
    env: "KAFKA_REST_URL",
    description: "proxy",
    default: new URL("http://localhost:8082"),
  }),
  batch: intOption({ env: "BATCH", description: "batch", default: 500, min: 1, max: 10_000 }),
  key: enumOption({
    env: "PRODUCE_KEY",
    description: "key",
    default: "page",
    values: ["page", "id"],
    secret: false,
  }),
  bots: boolOption({ env: "EXCLUDE_BOTS", description: "bots", default: false }),
  wikis: listOption({ env: "WIKIS", description: "wikis", default: [] }),
  secret: stringOption<string | undefined>({
    env: "AWS_SECRET_ACCESS_KEY",
    description: "s",
    default: undefined,
  }),
};

Deno.test("parseConfig() applies defaults and returns a frozen object", () => {
  const { config } = parseConfig(SPECS, {});
  assert.equal(config.restUrl.href, "http://localhost:8082/");
  assert.equal(config.batch, 500);
  assert.equal(config.bots, false);
  assert.deepEqual(config.wikis, []);
  assert.ok(Object.isFrozen(config));
});

Deno.test("parseConfig() lets flags override the environment in both flag forms", () => {
  const { config } = parseConfig(SPECS, {
    env: { BATCH: "10", KAFKA_REST_URL: "http://a:1" },
    args: [
      "--batch=20",
      "--kafka-rest-url",
      "https://b:2",
      "--exclude-bots",
      "--wikis",
      "enwiki, dewiki",
    ],
  });
  assert.equal(config.batch, 20);
  assert.equal(config.restUrl.href, "https://b:2/");
  assert.equal(config.bots, true);
  assert.deepEqual(config.wikis, ["enwiki", "dewiki"]);
});

Deno.test("parseConfig() lets a boolean flag stand before a positional argument", () => {
  const before = parseConfig(SPECS, { args: ["--exclude-bots", "samples/a.ndjson"] });
  assert.equal(before.config.bots, true);
  assert.deepEqual(before.cli.positionals, ["samples/a.ndjson"]);
  const explicit = parseConfig(SPECS, { args: ["--exclude-bots", "no", "x"] });
  assert.equal(explicit.config.bots, false);
  assert.deepEqual(explicit.cli.positionals, ["x"]);
});

Deno.test("parseConfig() names the variable, the bad value and what is expected", () => {
  assert.throws(
    () => parseConfig(SPECS, { env: { KAFKA_REST_URL: "localhost:8082" } }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, 'KAFKA_REST_URL must be an http(s) URL, got "localhost:8082"');
      return true;
    },
  );
});

Deno.test("parseConfig() reports every problem at once and rejects unknown flags", () => {
  assert.throws(
    () => parseConfig(SPECS, { env: { BATCH: "0", PRODUCE_KEY: "title" }, args: ["--nope"] }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.problems.length, 3);
      assert.match(e.message, /BATCH must be an integer between 1 and 10000, got "0"/);
      assert.match(e.message, /PRODUCE_KEY must be one of page, id, got "title"/);
      assert.match(e.message, /Unknown option "--nope"/);
      return true;
    },
  );
});

Deno.test("parseConfig() never echoes a secret value in an error", () => {
  const specs = { n: intOption({ env: "API_TOKEN", description: "t", default: 1 }) };
  assert.throws(() => parseConfig(specs, { env: { API_TOKEN: "hunter2" } }), (e: unknown) => {
    assert.ok(e instanceof Error);
    assert.ok(!e.message.includes("hunter2"));
    assert.match(e.message, /API_TOKEN must be .*<redacted>/);
    return true;
  });
});

Deno.test("formatConfig() redacts secrets but shows ordinary values", () => {
  const { config } = parseConfig(SPECS, {
    env: { AWS_SECRET_ACCESS_KEY: "abc123", PRODUCE_KEY: "id" },
  });
  const text = formatConfig(SPECS, config);
  assert.match(text, /AWS_SECRET_ACCESS_KEY=<redacted>/);
  assert.match(text, /PRODUCE_KEY=id/);
  assert.ok(!text.includes("abc123"));
});

Deno.test("formatConfig() and parse errors remove credentials from URL values", () => {
  const specs = {
    ...SPECS,
    endpoint: stringOption<string | undefined>({
      env: "S3_ENDPOINT",
      description: "e",
      default: undefined,
    }),
  };
  const { config } = parseConfig(specs, {
    env: { S3_ENDPOINT: "http://m1n1ouser:m1n10pass@minio:9000" },
    args: ["--kafka-rest-url", "http://user:pr0xypass@proxy:8082/?token=t0ken"],
  });
  const text = formatConfig(specs, config);
  assert.match(text, /KAFKA_REST_URL=http:\/\/<redacted>@proxy:8082\/\?token=<redacted>/);
  assert.match(text, /S3_ENDPOINT=http:\/\/<redacted>@minio:9000/);
  for (const secret of ["pr0xypass", "t0ken", "m1n10pass", "user:", "m1n1ouser"]) {
    assert.ok(!text.includes(secret), secret);
  }
  assert.throws(
    () => parseConfig(SPECS, { env: { KAFKA_REST_URL: "ftp://user:pr0xypass@proxy" } }),
    (e: unknown) => e instanceof ConfigError && !e.message.includes("pr0xypass"),
  );
});

Deno.test("parseInstant() accepts ISO-8601 and epoch milliseconds only", () => {
  assert.equal(parseInstant("2026-11-20T00:00:00Z"), Date.UTC(2026, 10, 20));
  assert.equal(parseInstant("1700000000000"), 1700000000000);
  assert.throws(() => parseInstant("yesterday"), /ISO-8601/);
});
