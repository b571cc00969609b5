import assert from "node:assert/strict";
import { parseStreamPosition, rewindLastEventId } from "../../lib/producer/resume_position.ts";

const ID = '[{"topic":"eqiad.mediawiki.recentchange","partition":0,"timestamp":1791207722236},' +
  '{"topic":"codfw.mediawiki.recentchange","partition":0,"offset":-1}]';

Deno.test("rewindLastEventId moves timestamps back and replaces offset -1 with a timestamp", () => {
  assert.deepEqual(JSON.parse(rewindLastEventId(ID, { marginMs: 10_000 })!), [
    { topic: "eqiad.mediawiki.recentchange", partition: 0, timestamp: 1791207712236 },
    { topic: "codfw.mediawiki.recentchange", partition: 0, timestamp: 1791207712236 },
  ]);
});

Deno.test("rewindLastEventId keeps explicit offsets and uses the fallback time without timestamps", () => {
  const id = '[{"topic":"a","partition":0,"offset":42},{"topic":"b","partition":0,"offset":-1}]';
  assert.deepEqual(JSON.parse(rewindLastEventId(id, { marginMs: 5, fallbackTimestampMs: 100 })!), [
    { topic: "a", partition: 0, offset: 42 },
    { topic: "b", partition: 0, timestamp: 95 },
  ]);
});

Deno.test("parseStreamPosition rejects text that is not an EventStreams id", () => {
  assert.equal(parseStreamPosition("12"), undefined);
  assert.equal(parseStreamPosition("[]"), undefined);
  assert.equal(parseStreamPosition('[{"topic":"a","partition":0}]'), undefined);
  assert.equal(rewindLastEventId("not json", { marginMs: 1 }), undefined);
});

const EQIAD = "eqiad.mediawiki.recentchange";
const CODFW = "codfw.mediawiki.recentchange";

function id(eqiad: number, codfw: { timestamp: number } | { offset: number }): string {
  return JSON.stringify([
    { topic: EQIAD, partition: 0, timestamp: eqiad },
    { topic: CODFW, partition: 0, ...codfw },
  ]);
}

Deno.test("rewindLastEventId sets an idle entry echoed unchanged to latest - margin, without drift", () => {
  const margin = 1000;
  // Process start: the saved id has codfw at offset -1.
  let sent = rewindLastEventId(id(1_000_000, { offset: -1 }), { marginMs: 10_000 })!;
  let eqiad = 1_000_000;
  for (let reconnect = 0; reconnect < 55; reconnect++) {
    eqiad += 5000; // each connection delivers 5 s of eqiad events
    const sentCodfw = JSON.parse(sent)[1];
    // The server echoes the idle codfw entry exactly as it was sent.
    const received = id(eqiad, { timestamp: sentCodfw.timestamp });
    sent = rewindLastEventId(received, { marginMs: margin, previousId: sent })!;
    assert.deepEqual(JSON.parse(sent), [
      { topic: EQIAD, partition: 0, timestamp: eqiad - margin },
      { topic: CODFW, partition: 0, timestamp: eqiad - margin },
    ]);
  }
});

Deno.test("rewindLastEventId rewinds an entry that advanced, including the idle topic becoming active", () => {
  const previous = id(50_000, { timestamp: 49_000 });
  // Datacentre switch: codfw delivered events up to 70 000, eqiad stopped at 60 000.
  assert.deepEqual(
    JSON.parse(
      rewindLastEventId(id(60_000, { timestamp: 70_000 }), {
        marginMs: 1000,
        previousId: previous,
      })!,
    ),
    [
      { topic: EQIAD, partition: 0, timestamp: 59_000 },
      { topic: CODFW, partition: 0, timestamp: 69_000 },
    ],
  );
  // An idle echo of offset -1 is replaced even when nothing else is known about it.
  assert.deepEqual(
    JSON.parse(
      rewindLastEventId(id(60_000, { offset: -1 }), {
        marginMs: 1000,
        previousId: id(50_000, { offset: -1 }),
      })!,
    )[1],
    { topic: CODFW, partition: 0, timestamp: 59_000 },
  );
});

Deno.test("rewindLastEventId moves back at most half of what a connection advanced, so it progresses", () => {
  const previous = id(100_000, { timestamp: 99_000 });
  const rewound = (eqiad: number) =>
    JSON.parse(
      rewindLastEventId(id(eqiad, { timestamp: 99_000 }), {
        marginMs: 10_000,
        previousId: previous,
      })!,
    )[0].timestamp;
  assert.equal(rewound(104_000), 102_000, "4 s advanced: 2 s margin, not 10 s");
  assert.equal(rewound(100_003), 100_002);
  assert.equal(rewound(100_002), 100_001, "always at least 1 ms back (rest of a shared ms)");
  assert.equal(rewound(100_001), 100_000, "1 ms advance: no progress possible without a skip");
  assert.equal(rewound(130_000), 120_000, "advanced more than the margin: the full margin");
  assert.equal(rewound(90_000), 80_000, "behind the previous start (disorder): the full margin");
});

Deno.test("rewindLastEventId resends the previous id when no entry advanced", () => {
  const previous = id(100_000, { timestamp: 99_000 });
  assert.equal(
    rewindLastEventId(id(100_000, { timestamp: 99_000 }), { marginMs: 1000, previousId: previous }),
    previous,
  );
});
