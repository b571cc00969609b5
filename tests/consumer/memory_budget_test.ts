import assert from "node:assert/strict";
import { parseConfig } from "../../lib/cli/config.ts";
import { CONSUMER_OPTIONS } from "../../lib/consumer/consumer_config.ts";
import { memoryBudget, MIN_MEMORY_MB } from "../../lib/consumer/memory_budget.ts";

const MIB = 1024 * 1024;

Deno.test("the default 512 MiB gives a 44 MiB buffer budget, files of half of it, 1 MiB reads", () => {
  const b = memoryBudget({ consumerMemoryMb: 512 });
  assert.equal(b.maxBufferBytes, 44 * MIB);
  assert.equal(b.flushMaxBytes, 22 * MIB);
  assert.equal(b.consumerMaxBytes, MIB);
});

Deno.test("more memory buys a larger buffer budget and larger files, up to 256 MiB each", () => {
  const small = memoryBudget({ consumerMemoryMb: MIN_MEMORY_MB });
  const big = memoryBudget({ consumerMemoryMb: 1024 });
  const huge = memoryBudget({ consumerMemoryMb: 8192 });
  assert.equal(small.maxBufferBytes, 16 * MIB);
  assert.equal(small.consumerMaxBytes, MIB);
  assert.equal(memoryBudget({ consumerMemoryMb: 256 }).maxBufferBytes, 16 * MIB, "never below");
  assert.equal(big.consumerMaxBytes, 2 * MIB);
  assert.equal(big.maxBufferBytes, 223 * MIB);
  assert.equal(big.flushMaxBytes, Math.floor(223 * MIB / 2));
  assert.equal(huge.flushMaxBytes, 256 * MIB);
});

Deno.test("a setting given explicitly wins over the one derived from the memory", () => {
  const b = memoryBudget({
    consumerMemoryMb: 512,
    maxBufferBytes: 10 * MIB,
    consumerMaxBytes: 3 * MIB,
  });
  assert.deepEqual(b, {
    maxBufferBytes: 10 * MIB,
    flushMaxBytes: 5 * MIB,
    consumerMaxBytes: 3 * MIB,
  });
  assert.equal(memoryBudget({ consumerMemoryMb: 512, flushMaxBytes: 7 }).flushMaxBytes, 7);
});

Deno.test("CONSUMER_MEMORY_MB below the minimum is refused with the minimum named", () => {
  assert.throws(
    () => parseConfig(CONSUMER_OPTIONS, { env: { CONSUMER_MEMORY_MB: "383" } }),
    (e: Error) =>
      e.message.includes("CONSUMER_MEMORY_MB") && e.message.includes(String(MIN_MEMORY_MB)),
  );
  const { config } = parseConfig(CONSUMER_OPTIONS, { env: { CONSUMER_MEMORY_MB: "1024" } });
  assert.equal(config.consumerMemoryMb, 1024);
  assert.equal(config.maxBufferBytes, undefined, "left to the budget");
});
