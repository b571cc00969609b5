/**
 * Poison records (issue 9 item 7): nothing a topic can hold stops the consumer. Each test puts
 * good events around one kind of poison record (written with the binary embedded format, so the
 * topic holds exactly the bytes given), drains the topic, checks that the poison record is in
 * `_dlq/` with its partition, offset and a reason, that every good event is in the lake exactly
 * once, and that a restart on the same lake and group neither crashes nor writes anything twice.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { startBroker } from "../../lib/broker/broker_server.ts";
import { runConsumer } from "../../lib/consumer/consumer_pipeline.ts";
import type { ConsumerStats } from "../../lib/consumer/consumer_stats.ts";
import { createLogger, memorySink } from "../../lib/cli/log.ts";
import { MemoryObjectStore } from "../../lib/object_store/memory_object_store.ts";
import {
  assertNoDuplicates,
  downloadStore,
  readLakeRows,
  testConsumerConfig,
} from "../_helpers/consumer_setup.ts";
import { loadRecordedEvents, produceEvents } from "../_helpers/produce_events.ts";

const TOPIC = "wikimedia-changes";
const encoder = new TextEncoder();

type Event = Record<string, unknown> & { meta: Record<string, unknown> & { id: string } };

/** Produces raw bytes as record values (binary embedded format, no key). */
async function produceBytes(url: URL, values: Uint8Array[]): Promise<void> {
  const records = values.map((v) => ({ value: Buffer.from(v).toString("base64") }));
  const response = await fetch(new URL(`topics/${TOPIC}`, url), {
    method: "POST",
    headers: {
      "content-type": "application/vnd.kafka.binary.v2+json",
      accept: "application/vnd.kafka.v2+json",
    },
    body: JSON.stringify({ records }),
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  const offsets = JSON.parse(text).offsets as { error_code: number | null; error: string }[];
  assert.ok(offsets.every((o) => o.error_code === null), text.slice(0, 500));
}

/** One dead-letter line as written by the consumer. */
interface DeadLetterLine {
  topic: string;
  partition: number;
  offset: number;
  reason: string;
  value: unknown;
  valueText?: string;
  valueLength?: number;
}

function deadLetters(store: MemoryObjectStore): DeadLetterLine[] {
  const out: DeadLetterLine[] = [];
  for (const [key, object] of store.objects) {
    if (!key.startsWith(`_dlq/${TOPIC}/`)) continue;
    const text = new TextDecoder().decode(object.bytes);
    for (const line of text.split("\n")) if (line !== "") out.push(JSON.parse(line));
  }
  return out.sort((a, b) => a.offset - b.offset);
}

function consume(url: URL, store: MemoryObjectStore): Promise<ConsumerStats> {
  return runConsumer(
    testConsumerConfig({ KAFKA_REST_URL: url.href, CONSUMER_UNTIL_IDLE_MS: "800" }),
    {
      log: createLogger({ sink: memorySink(), level: "error" }),
      signal: new AbortController().signal,
      store,
    },
  );
}

function variant(base: Event, change: (e: Event) => void): Event {
  const e = structuredClone(base);
  e.meta.id = crypto.randomUUID();
  change(e);
  return e;
}

/** What one scenario puts between the good events, and what the lake must hold afterwards. */
interface Scenario {
  /** Record values written as raw bytes, each one poison. */
  poison: Uint8Array[];
  /** Valid events written between the poison records; they must be in the lake. */
  keep?: Event[];
  /** Checks the dead letters of the poison records (in offset order). */
  check?: (letters: DeadLetterLine[]) => void;
}

/**
 * Runs one scenario: 5 good events, then the poison records (each followed by a good event),
 * then the `keep` events and 5 more good events; drains, checks, restarts, checks again.
 */
async function runScenario(build: (base: Event) => Scenario): Promise<void> {
  const dataDir = await Deno.makeTempDir();
  const lakeDir = await Deno.makeTempDir();
  try {
    await using broker = await startBroker({ dataDir, partitions: 1 });
    const events = (await loadRecordedEvents(30)) as Event[];
    const base = events.find((e) => e.type === "edit")!;
    const scenario = build(base);
    const good: Event[] = [];
    const produceGood = async (list: Event[]) => {
      await produceEvents(broker.url, list);
      good.push(...list);
    };
    let offset = 0;
    const poisonOffsets: number[] = [];
    await produceGood(events.slice(0, 5));
    offset += 5;
    let g = 5;
    for (const value of scenario.poison) {
      await produceBytes(broker.url, [value]);
      poisonOffsets.push(offset++);
      await produceGood([events[g++]!]);
      offset++;
    }
    if (scenario.keep) {
      await produceBytes(broker.url, scenario.keep.map((e) => encoder.encode(JSON.stringify(e))));
      good.push(...scenario.keep);
      offset += scenario.keep.length;
    }
    await produceGood(events.slice(g, g + 5));
    offset += 5;

    const store = new MemoryObjectStore();
    const stats = await consume(broker.url, store);
    assert.equal(stats.dlqRecords, scenario.poison.length, "every poison record is dead-lettered");
    assert.equal(stats.rowsWritten, good.length, "every good event is written");

    const letters = deadLetters(store);
    assert.deepEqual(letters.map((l) => [l.partition, l.offset]), poisonOffsets.map((o) => [0, o]));
    for (const l of letters) {
      assert.equal(l.topic, TOPIC);
      assert.equal(typeof l.reason, "string");
      assert.ok(
        l.reason.length > 0 && l.reason.length <= 1000,
        `reason: ${l.reason.slice(0, 200)}`,
      );
      const bytes = encoder.encode(JSON.stringify(l)).length;
      assert.ok(bytes < 256 * 1024, `a dead-letter line is bounded (${bytes} bytes)`);
    }
    scenario.check?.(letters);

    await downloadStore(store, lakeDir);
    const rows = await readLakeRows(lakeDir);
    assertNoDuplicates(rows);
    assert.deepEqual(rows.map((r) => r.id).sort(), good.map((e) => e.meta.id).sort());

    // a restart on the same lake and group reads on without crashing and writes nothing again
    const again = await consume(broker.url, store);
    assert.equal(again.rowsWritten, 0);
    assert.equal(again.dlqRecords, 0);
    assert.equal(deadLetters(store).length, scenario.poison.length);
    assert.equal(offset, poisonOffsets.length + good.length);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(lakeDir, { recursive: true });
  }
}

const DEPTH = 200_000;

Deno.test("consumer dead-letters a record whose value is a 200,000-deep JSON array", async () => {
  await runScenario(() => ({
    poison: [encoder.encode("[".repeat(DEPTH) + "]".repeat(DEPTH))],
    check: ([l]) => {
      assert.match(l!.reason, /not a JSON object/);
      assert.equal(l!.value, null);
      assert.equal(l!.valueLength, 2 * DEPTH, "the length of the whole value is kept");
      assert.equal(l!.valueText, "[".repeat(65_536), "the first 64 Ki characters are kept");
    },
  }));
});

Deno.test("consumer dead-letters events nested too deeply inside fields it copies", async () => {
  await runScenario((base) => ({
    poison: [
      // 400 KB of nesting in an unknown field (would go to extra_json) and in log_params
      variant(base, (e) => (e.unknown = "@")),
      variant(base, (e) => {
        e.type = "log";
        e.log_params = "@";
      }),
      // a value that is a deep object, not an event
      undefined,
    ].map((e) => {
      const deep = '{"a":'.repeat(DEPTH / 2) + "1" + "}".repeat(DEPTH / 2);
      return encoder.encode(e === undefined ? deep : JSON.stringify(e).replace('"@"', deep));
    }),
    check: (letters) => {
      assert.match(letters[0]!.reason, /nested deeper than \d+ levels/);
      assert.match(letters[1]!.reason, /nested deeper than \d+ levels/);
      assert.match(letters[2]!.reason, /missing required field meta/);
      for (const l of letters) assert.ok(l.valueLength! > 400_000);
    },
  }));
});

Deno.test("consumer dead-letters events with numbers too large for a double", async () => {
  const huge = "9".repeat(10_000);
  await runScenario((base) => ({
    poison: [
      JSON.stringify(variant(base, () => {})).replace(/"timestamp":\d+/, '"timestamp":1e400'),
      JSON.stringify(variant(base, () => {})).replace(/"new":\d+/, `"new":${huge}`),
      JSON.stringify(variant(base, () => {})).replace(/"old":\d+/, '"old":-1e400'),
      JSON.stringify(variant(base, (e) => (e.unknown = "@"))).replace('"@"', "1e400"),
      JSON.stringify(variant(base, (e) => (e.unknown = { deep: ["@"] }))).replace('"@"', huge),
    ].map((t) => encoder.encode(t)),
    check: (letters) => {
      assert.match(letters[0]!.reason, /timestamp/);
      for (const l of letters) assert.match(l.reason, /out of range/);
    },
  }));
});

Deno.test("consumer dead-letters events whose text fields hold lone surrogates", async () => {
  await runScenario((base) => ({
    poison: [
      JSON.stringify(variant(base, (e) => (e.title = "Lone@"))).replace("@", "\\ud800"),
      JSON.stringify(variant(base, (e) => (e.comment = "x".repeat(300) + "@"))).replace(
        "@",
        "\\udfff",
      ),
      JSON.stringify(variant(base, (e) => (e.meta.domain = "@"))).replace("@", "\\uDBFF"),
    ].map((t) => encoder.encode(t)),
    // a character outside the BMP (a surrogate pair) is fine; a lone surrogate in a field that
    // goes to extra_json is kept there as its escape
    keep: [
      variant(base, (e) => (e.title = "Pair \u{1F600}")),
      variant(base, (e) => (e.unknown = "\udc00")),
    ],
    check: (letters) => {
      assert.match(letters[0]!.reason, /^field title holds a lone UTF-16 surrogate/);
      assert.match(letters[1]!.reason, /^field comment holds a lone UTF-16 surrogate/);
      assert.match(letters[2]!.reason, /^field meta\.domain holds a lone UTF-16 surrogate/);
      assert.equal((letters[0]!.value as Event).title, "Lone\ud800", "the value is kept");
    },
  }));
});

Deno.test("consumer dead-letters a 1 MB string value and keeps an event with a 1 MB comment", async () => {
  const mb = "x".repeat(1_000_000);
  await runScenario((base) => ({
    poison: [
      encoder.encode(JSON.stringify(mb)),
      encoder.encode(JSON.stringify(variant(base, (e) => {
        e.title = mb;
        delete e.wiki;
      }))),
    ],
    keep: [variant(base, (e) => (e.comment = "y".repeat(1_000_000)))],
    check: (letters) => {
      assert.match(letters[0]!.reason, /not a JSON object: got string/);
      assert.equal(letters[0]!.valueLength, 1_000_002);
      assert.equal(letters[0]!.valueText, `"${"x".repeat(65_535)}`);
      assert.match(letters[1]!.reason, /missing required field wiki/);
      assert.ok(letters[1]!.valueLength! > 1_000_000);
    },
  }));
});

Deno.test("consumer dead-letters values that are not JSON objects", async () => {
  await runScenario(() => ({
    poison: ["42", '"a string"', "null", "[1,2,3]", "true", "{}"].map((t) => encoder.encode(t)),
    check: (letters) => {
      assert.deepEqual(letters.map((l) => l.value), [42, "a string", null, [1, 2, 3], true, {}]);
      for (const l of letters.slice(0, 5)) assert.match(l.reason, /not a JSON object/);
    },
  }));
});

Deno.test("consumer dead-letters records whose bytes are not UTF-8 (binary topic)", async () => {
  await runScenario((base) => {
    const text = JSON.stringify(variant(base, (e) => (e.title = "@")));
    const [before, after] = text.split("@") as [string, string];
    const bytes = (middle: number[]) =>
      new Uint8Array([...encoder.encode(before), ...middle, ...encoder.encode(after)]);
    return {
      poison: [
        new Uint8Array([0xff, 0xfe, 0x00, 0x01]),
        bytes([0xff, 0xc3]), // invalid bytes inside a string of a valid event
        bytes([0xed, 0xa0, 0x80]), // a raw (CESU-8) lone surrogate
        bytes([0xc0, 0xaf]), // an overlong encoding
      ],
      check: (letters) => {
        for (const l of letters) assert.match(l.reason, /not JSON|not UTF-8/);
      },
    };
  });
});
