import assert from "node:assert/strict";
import { inspectRecentChange } from "../../lib/recentchange/recentchange_event.ts";
import { RecentChangeScanner, scanRecentChange } from "../../lib/recentchange/recentchange_scan.ts";
import { readRecordedLines } from "../_helpers/sse_server.ts";
import { seededRandom } from "../_helpers/test_utils.ts";

const RECORDINGS = [
  "6rzan-real-time-system_2026-05-05.ndjson",
  "danielbasso-pageledger_2026-07-17_enwiki.ndjson",
  "sat99496-wikistream-lakehouse_2026-02-26.ndjson",
  "wikidata-editgroups_2018-2019_wikidatawiki.ndjson",
];

const encoder = new TextEncoder();
const strict = new TextDecoder("utf-8", { fatal: true });

function factsOf(f: ReturnType<typeof inspectRecentChange>) {
  if (f.kind !== "event") return f;
  return {
    kind: f.kind,
    metaId: f.metaId,
    eventTimeMs: f.eventTimeMs,
    wiki: f.wiki,
    type: f.type,
    bot: f.bot,
    title: f.title,
    serverName: f.serverName,
  };
}

/** The scanner's answer must equal the JSON.parse path whenever it gives one. */
function assertAgrees(bytes: Uint8Array, what: string): boolean {
  const scanned = scanRecentChange(bytes);
  if (scanned === undefined) return false;
  let text: string;
  try {
    text = strict.decode(bytes);
  } catch {
    assert.fail(`${what}: the scanner accepted invalid UTF-8`);
  }
  const slow = inspectRecentChange(text);
  assert.equal(slow.kind, "event", `${what}: the scanner accepted what JSON.parse rejects`);
  assert.deepEqual(factsOf(scanned), factsOf(slow), what);
  return true;
}

Deno.test("scanRecentChange agrees with JSON.parse on every recorded event", async () => {
  let scanned = 0;
  for (const name of RECORDINGS) {
    for (const line of await readRecordedLines(name)) {
      const slow = inspectRecentChange(line);
      assert.equal(slow.kind, "event");
      assert.ok(assertAgrees(encoder.encode(line), name), `${name}: not scanned: ${line}`);
      // The same event with spaces between all tokens.
      const spaced = JSON.stringify(JSON.parse(line), null, 1).replaceAll("\n", " ");
      assert.ok(assertAgrees(encoder.encode(spaced), `${name} spaced`));
      scanned++;
    }
  }
  assert.ok(scanned > 10_000, `scanned ${scanned}`);
});

Deno.test("scanRecentChange never accepts a mutated event that JSON.parse rejects", async () => {
  const lines = (await readRecordedLines("6rzan-real-time-system_2026-05-05.ndjson", 300))
    .map((l) => encoder.encode(l));
  const random = seededRandom(7);
  const pick = (n: number) => Math.floor(random() * n);
  const alphabet = encoder.encode('{}[]",:\\/ 0123456789.-+eEtrufalsn\u00e9\x01');
  const specials = [0x80, 0xbf, 0xc0, 0xc1, 0xc3, 0xe0, 0xed, 0xf0, 0xf4, 0xf5, 0xff, 0x00, 0x1f];
  let accepted = 0;
  let rejected = 0;
  for (let round = 0; round < 20_000; round++) {
    const source = lines[pick(lines.length)]!;
    const b = Array.from(source);
    const edits = 1 + pick(3);
    for (let e = 0; e < edits; e++) {
      const at = pick(b.length);
      switch (pick(5)) {
        case 0:
          b.splice(at, 1);
          break;
        case 1:
          b.splice(at, 0, alphabet[pick(alphabet.length)]!);
          break;
        case 2:
          b[at] = alphabet[pick(alphabet.length)]!;
          break;
        case 3:
          b[at] = specials[pick(specials.length)]!;
          break;
        default:
          b.length = at;
      }
    }
    if (assertAgrees(Uint8Array.from(b), `round ${round}`)) accepted++;
    else rejected++;
  }
  // Many single-byte edits land inside strings and keep the event valid.
  assert.ok(accepted > 1000 && rejected > 1000, `accepted ${accepted}, rejected ${rejected}`);
});

Deno.test("scanRecentChange follows JSON.parse on duplicate keys, escapes and numbers", () => {
  const ev = (body: string) => encoder.encode(body);
  const dt = '"dt":"2026-01-01T00:00:00Z"';
  // The last `meta` wins, as in JSON.parse.
  const dup = scanRecentChange(ev(`{"meta":{"id":"a",${dt}},"meta":{"id":"b",${dt}}}`));
  assert.equal(dup?.metaId, "b");
  assert.equal(scanRecentChange(ev(`{"meta":{"id":"a",${dt}},"meta":{${dt}}}`)), undefined);
  // Escaped names are left to JSON.parse (\u006deta spells meta).
  assert.equal(scanRecentChange(ev(`{"\\u006deta":{"id":"a",${dt}}}`)), undefined);
  // Escaped values are decoded on read.
  const esc = scanRecentChange(
    ev(`{"meta":{"id":"a",${dt}},"title":"A\\"B\\u00e9\\ud83d\\ude00","wiki":"x\\/y"}`),
  );
  assert.equal(esc?.title, 'A"B\u00e9\u{1F600}');
  assert.equal(esc?.wiki, "x/y");
  assert.equal(esc?.raw("title"), null);
  // Canaries are left to the slow path.
  assert.equal(scanRecentChange(ev(`{"meta":{"id":"a",${dt},"domain":"canary"}}`)), undefined);
  for (const bad of ["01", "1.", "-", "1e", ".5", "+1", "0x1", "1e+", "tru", "nul"]) {
    assert.equal(scanRecentChange(ev(`{"meta":{"id":"a",${dt}},"n":${bad}}`)), undefined, bad);
  }
  for (const good of ["0", "-0.5e+10", "12E-3", "true", "null", "[]", "{}", '[{"a":[1]}]']) {
    assert.ok(assertAgrees(ev(`{"meta":{"id":"a",${dt}},"n":${good}}`), good), good);
  }
  // Overlong encodings, surrogates and code points above U+10FFFF are not UTF-8.
  const prefix = ev(`{"meta":{"id":"a",${dt}},"t":"`);
  for (
    const seq of [[0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]]
  ) {
    const b = Uint8Array.from([...prefix, ...seq, 0x22, 0x7d]);
    assert.equal(scanRecentChange(b), undefined, seq.join(","));
  }
  // Deep nesting is left to JSON.parse.
  const deep = "[".repeat(40) + "]".repeat(40);
  assert.equal(scanRecentChange(ev(`{"meta":{"id":"a",${dt}},"n":${deep}}`)), undefined);
});

Deno.test("ScannedRecentChange gives raw views of unescaped fields", () => {
  const e = scanRecentChange(encoder.encode(
    '{"meta":{"id":"m1","dt":"2026-01-01T00:00:00Z","domain":"d.org"},"title":"T\u00e9","wiki":"w"}',
  ))!;
  assert.equal(new TextDecoder().decode(e.raw("title")!), "T\u00e9");
  assert.equal(new TextDecoder().decode(e.raw("serverName")!), "d.org");
  assert.equal(e.serverName, "d.org");
  assert.equal(e.raw("wiki")?.length, 1);
  assert.equal(e.type, undefined);
  assert.equal(e.bot, undefined);
  assert.equal(e.eventTimeMs, Date.UTC(2026, 0, 1));
});

Deno.test("scanRecentChange reads meta.dt exactly as Date.parse does", () => {
  const dts = [
    "2026-05-05T11:18:26.774Z",
    "2026-05-05T11:18:26Z",
    "2024-02-29T23:59:59.999Z",
    "2026-02-29T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "2026-05-05T24:00:00Z",
    "2026-05-05T11:18:26.77Z",
    "2026-05-05T11:18:26.7741Z",
    "2026-05-05T11:18:26+02:00",
    "2026-05-05 11:18:26Z",
    "2026-05-05",
    "Tue, 05 May 2026 11:18:26 GMT",
    "2026-05-0xT11:18:26Z",
  ];
  for (const dt of dts) {
    const scanned = scanRecentChange(encoder.encode(`{"meta":{"id":"a","dt":"${dt}"}}`));
    const expected = Date.parse(dt);
    if (Number.isNaN(expected)) assert.equal(scanned, undefined, dt);
    else assert.equal(scanned?.eventTimeMs, expected, dt);
  }
});

Deno.test("scanRecentChange leaves line breaks between tokens to JSON.parse", () => {
  const body = '{"meta":{"id":"a","dt":"2026-01-01T00:00:00Z"},\n"title":"x"}';
  assert.equal(scanRecentChange(encoder.encode(body)), undefined);
  assert.equal(inspectRecentChange(body).kind, "event");
});

Deno.test("RecentChangeScanner.scanLine reads an event up to its line end inside a chunk", () => {
  const event = '{"meta":{"id":"a","dt":"2026-01-01T00:00:00Z"},"title":"T","wiki":"w"}';
  const chunk = encoder.encode(`id: 1\ndata: ${event}  \r\n\ndata: ${event}x\n`);
  const scanner = new RecentChangeScanner();
  const start = chunk.indexOf(0x7b);
  const got = scanner.scanLine(chunk, start)!;
  assert.equal(new TextDecoder().decode(got.bytes), event + "  ");
  assert.equal(got.title, "T");
  assert.equal(new TextDecoder().decode(got.raw("wiki")!), "w");
  // Something other than a line end after the value: not accepted.
  assert.equal(scanner.scanLine(chunk, chunk.indexOf(0x7b, start + event.length)), undefined);
});
