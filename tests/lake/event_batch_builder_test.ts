import assert from "node:assert/strict";
import { CANARY_REASON, EventBatchBuilder } from "../../lib/lake/event_batch_builder.ts";
import { EVENT_ARROW_SCHEMA, EVENT_COLUMNS, SCHEMA_VERSION } from "../../lib/lake/event_schema.ts";

function event(overrides: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) {
  return {
    $schema: "/mediawiki/recentchange/1.0.0",
    meta: {
      uri: "https://en.wikipedia.org/wiki/X",
      request_id: "r-1",
      id: "id-1",
      domain: "en.wikipedia.org",
      stream: "mediawiki.recentchange",
      dt: "2026-07-17T12:38:45.384Z",
      topic: "eqiad.mediawiki.recentchange",
      partition: 0,
      offset: 6338457451,
      ...meta,
    },
    id: 2047512363,
    type: "edit",
    namespace: 0,
    title: "X",
    comment: "c",
    timestamp: 1784291918,
    user: "U",
    bot: false,
    minor: false,
    length: { old: 1, new: 2 },
    revision: { old: 3, new: 4 },
    server_url: "https://en.wikipedia.org",
    server_name: "en.wikipedia.org",
    server_script_path: "/w",
    wiki: "enwiki",
    parsedcomment: "c",
    ...overrides,
  };
}

function without(key: string): Record<string, unknown> {
  const e: Record<string, unknown> = event();
  delete e[key];
  return e;
}

Deno.test("EventBatchBuilder rejects values that are not events with a reason", () => {
  const b = new EventBatchBuilder();
  const cases: [unknown, string][] = [
    ["text", "value is not a JSON object: got string"],
    [[1], "value is not a JSON object: got array"],
    [null, "value is not a JSON object: got null"],
    [without("meta"), "missing required field meta"],
    [event({}, { id: undefined }), "missing required field meta.id"],
    [event({}, { dt: null }), "missing required field meta.dt"],
    [
      event({}, { dt: "yesterday" }),
      'unparsable meta.dt: expected an ISO-8601 instant, got "yesterday"',
    ],
    [
      event({}, { dt: "2026-02-30T00:00:00Z" }),
      'unparsable meta.dt: expected an ISO-8601 instant, got "2026-02-30T00:00:00Z"',
    ],
    [event({}, { domain: undefined }), "missing required field meta.domain"],
    [without("type"), "missing required field type"],
    [without("wiki"), "missing required field wiki"],
    [without("title"), "missing required field title"],
    [without("namespace"), "missing required field namespace"],
    [without("timestamp"), "missing required field timestamp"],
    [
      event({ namespace: "0" }),
      "wrong type for required field namespace: expected 32-bit integer, got string",
    ],
    [
      event({ namespace: 1.5 }),
      "wrong type for required field namespace: expected 32-bit integer, got number",
    ],
    [event({ title: 7 }), "wrong type for required field title: expected string, got number"],
    [
      event({ timestamp: "1" }),
      "wrong type for required field timestamp: expected integer, got string",
    ],
  ];
  for (const [value, reason] of cases) {
    assert.deepEqual(b.append(value, 0, 1, 0), { ok: false, reason }, JSON.stringify(value));
  }
  assert.equal(b.rowCount, 0);
  assert.equal(b.finish().numRows, 0);
});

Deno.test("EventBatchBuilder reports canaries before validating required fields", () => {
  const b = new EventBatchBuilder();
  const canary = { $schema: "/mediawiki/recentchange/1.0.1", meta: { domain: "canary", dt: "x" } };
  assert.deepEqual(b.append(canary, 0, 1, 0), { ok: false, reason: CANARY_REASON });
  assert.equal(b.rowCount, 0);
});

Deno.test("EventBatchBuilder keeps unknown and wrongly typed optional fields in extra_json", () => {
  const b = new EventBatchBuilder();
  const value = event(
    {
      bot: "yes",
      id: "12",
      length: { old: "1", new: 2, extra: true },
      revision: 5,
      future_field: { a: [1, null] },
      also_null: null,
      comment: null,
    },
    { partition: "0", novel: "n", schema_uri: "mediawiki/recentchange/1" },
  );
  const result = b.append(value, 3, 9, 1000);
  assert.equal(result.ok, true);
  const row = b.finish().get(0)!.toJSON();
  assert.equal(row.bot, null);
  assert.equal(row.rc_id, null);
  assert.equal(row.length_old, null);
  assert.equal(row.length_new, 2n);
  assert.equal(row.revision_old, null);
  assert.equal(row.meta_partition, null);
  assert.equal(row.comment, null);
  // $schema wins; the differing meta.schema_uri is kept as extra.
  assert.equal(row.schema_uri, "/mediawiki/recentchange/1.0.0");
  assert.deepEqual(JSON.parse(row.extra_json as string), {
    "meta.partition": "0",
    "meta.novel": "n",
    "meta.schema_uri": "mediawiki/recentchange/1",
    bot: "yes",
    id: "12",
    "length.old": "1",
    "length.extra": true,
    revision: 5,
    future_field: { a: [1, null] },
    also_null: null,
  });
});

Deno.test("EventBatchBuilder maps the 2018 envelope and explicit nulls", () => {
  const b = new EventBatchBuilder();
  const value: Record<string, unknown> = event({ id: null, length: { old: null, new: 5 } }, {
    dt: "2018-03-07T16:16:17+00:00",
    schema_uri: "mediawiki/recentchange/2",
    stream: undefined,
  });
  delete value.$schema;
  assert.deepEqual(b.append(value, 0, 1, 5), {
    ok: true,
    eventId: "id-1",
    eventTimeMs: Date.parse("2018-03-07T16:16:17Z"),
    bytes: b.byteSize,
  });
  const row = b.finish().get(0)!.toJSON();
  assert.equal(row.schema_uri, "mediawiki/recentchange/2");
  assert.equal(row.meta_stream, null);
  assert.equal(row.rc_id, null);
  assert.equal(row.length_old, null);
  assert.equal(row.length_new, 5n);
  assert.equal(row.extra_json, null);
  assert.equal(row.event_time, Date.parse("2018-03-07T16:16:17Z"));
  assert.equal(row.ingested_at, 5);
});

Deno.test("EventBatchBuilder sorts by event_time, partition, offset and tracks offset ranges", () => {
  const b = new EventBatchBuilder({ capacity: 1 });
  const rows: [string, number, number][] = [
    ["2026-01-01T00:00:00.002Z", 0, 10],
    ["2026-01-01T00:00:00.001Z", 1, 5],
    ["2026-01-01T00:00:00.001Z", 0, 11],
    ["2026-01-01T00:00:00.001Z", 0, 4],
  ];
  for (const [dt, p, o] of rows) {
    assert.equal(b.append(event({}, { dt, id: `${p}-${o}` }), p, o, 0).ok, true);
  }
  assert.equal(b.rowCount, 4);
  assert.ok(b.byteSize > 0);
  assert.deepEqual(
    b.offsetRanges(),
    new Map([[0, { first: 4, last: 11, count: 3 }], [1, { first: 5, last: 5, count: 1 }]]),
  );
  assert.equal(b.minEventTimeMs, Date.parse("2026-01-01T00:00:00.001Z"));
  const table = b.finish();
  assert.deepEqual(table.getChild("event_id")!.toArray(), ["0-4", "0-11", "1-5", "0-10"]);
  assert.deepEqual([...table.getChild("kafka_offset")!.toArray()], [4n, 11n, 5n, 10n]);
  assert.equal(b.rowCount, 0);
  assert.deepEqual(b.offsetRanges(), new Map());
});

Deno.test("EventBatchBuilder accepts a numeric type as text and keeps the number in extra_json", () => {
  const b = new EventBatchBuilder();
  assert.equal(b.append(event({ type: 3 }), 0, 1, 0).ok, true);
  const row = b.finish().get(0)!.toJSON();
  assert.equal(row.type, "3");
  assert.deepEqual(JSON.parse(row.extra_json as string), { type: 3 });
});

Deno.test("event schema lists the documented columns with versioned metadata", () => {
  assert.equal(EVENT_COLUMNS.length, 40);
  assert.equal(EVENT_ARROW_SCHEMA.metadata.get("wikistream.schema_version"), SCHEMA_VERSION);
  const nonNull = EVENT_ARROW_SCHEMA.fields.filter((f) => !f.nullable).map((f) => f.name);
  assert.deepEqual(nonNull, [
    "event_id",
    "event_time",
    "change_time",
    "ingested_at",
    "meta_domain",
    "type",
    "namespace",
    "title",
    "wiki",
    "kafka_partition",
    "kafka_offset",
  ]);
});

Deno.test("EventBatchBuilder parses meta.dt offsets and long fractions to milliseconds", () => {
  const b = new EventBatchBuilder();
  const cases: [string, string][] = [
    ["2026-05-05T13:17:40.822+02:00", "2026-05-05T11:17:40.822Z"],
    ["2026-05-05T11:17:40.822999Z", "2026-05-05T11:17:40.822Z"],
    ["2018-03-07T16:16:17+0000", "2018-03-07T16:16:17.000Z"],
    ["2024-02-29T23:59:59Z", "2024-02-29T23:59:59.000Z"],
  ];
  for (const [dt, iso] of cases) {
    const result = b.append(event({}, { dt }), 0, 1, 0);
    assert.ok(result.ok, dt);
    assert.equal(result.eventTimeMs, Date.parse(iso), dt);
  }
});

Deno.test("EventBatchBuilder stores strings as TextEncoder's UTF-8, short and long, in sorted order", () => {
  const long = (s: string) => s.repeat(Math.ceil(300 / s.length));
  const samples = [
    "plain ascii",
    "Zürich – café",
    "日本語の記事",
    "emoji 😀 and 𝄞",
    "",
    long("ascii "),
    long("ü日😀"),
  ]; // lone surrogates are rejected: see "rejects what the lake cannot hold unchanged"
  const b = new EventBatchBuilder({ capacity: 2 });
  // Appended newest first, so finish gathers the rows in reverse.
  samples.forEach((s, i) => {
    const dt = new Date(Date.UTC(2026, 0, 1, 0, 0, 0, samples.length - i)).toISOString();
    const result = b.append(
      event({ comment: s, title: `${i}${s}` }, { dt, id: `id-${i}` }),
      0,
      i,
      0,
    );
    assert.equal(result.ok, true);
  });
  const table = b.finish();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const expected = samples.map((s) => decoder.decode(encoder.encode(s))).reverse();
  assert.deepEqual(table.getChild("comment")!.toArray(), expected);
  assert.deepEqual(
    table.getChild("title")!.toArray(),
    samples.map((s, i) => decoder.decode(encoder.encode(`${i}${s}`))).reverse(),
  );
});

Deno.test("EventBatchBuilder gathers rows appended in order and out of order alike", () => {
  const b = new EventBatchBuilder({ capacity: 4 });
  const order = [0, 1, 2, 5, 3, 4, 6, 7, 9, 8];
  for (const k of order) {
    const dt = new Date(Date.UTC(2026, 0, 1, 0, 0, k)).toISOString();
    const comment = k % 3 === 0 ? null : `comment number ${k} `.repeat(k + 1);
    assert.equal(b.append(event({ comment }, { dt, id: `id-${k}` }), 0, k, 0).ok, true);
  }
  const table = b.finish();
  assert.deepEqual(
    table.getChild("comment")!.toArray(),
    order.toSorted((x, y) => x - y).map((k) =>
      k % 3 === 0 ? null : `comment number ${k} `.repeat(k + 1)
    ),
  );
  assert.deepEqual(table.getChild("event_id")!.toArray(), order.toSorted().map((k) => `id-${k}`));
});

Deno.test("EventBatchBuilder rejects what the lake cannot hold unchanged and leaves no trace of it", () => {
  const b = new EventBatchBuilder({ capacity: 2 });
  const deep = JSON.parse("[".repeat(2000) + "]".repeat(2000));
  const rejected: [Record<string, unknown>, RegExp][] = [
    [event({ title: "Lone\ud800", comment: "full comment" }), /^field title holds a lone UTF-16/],
    [event({ timestamp: Infinity }), /^required field timestamp holds a number out of range/],
    [event({ revision: { old: 3, new: -Infinity } }), /^field revision\.new holds a number out/],
    [event({ future: { a: [Infinity] } }), /^field future holds a number out of range/],
    [event({ future: deep }), /^field future holds .*nested deeper than 1000 levels/],
    [event({ type: "log", log_params: deep }), /^field log_params holds .*nested deeper/],
  ];
  assert.equal(b.append(event({}, { id: "good-1" }), 0, 1, 1000).ok, true);
  for (const [value, reason] of rejected) {
    const result = b.append(value, 0, 2, 1000);
    assert.equal(result.ok, false);
    assert.match((result as { reason: string }).reason, reason);
  }
  // the same lone-surrogate title again: not taken from a cache of written values
  assert.equal(b.append(event({ title: "Lone\ud800" }), 0, 3, 1000).ok, false);
  assert.equal(
    b.append(event({ title: "Y", comment: null, bot: null }, { id: "good-2" }), 0, 4, 1000).ok,
    true,
  );
  assert.equal(b.rowCount, 2);
  const rows = b.finish().toArray().map((r) => r.toJSON());
  assert.deepEqual(rows.map((r) => [r.event_id, r.title, r.comment, r.bot, r.kafka_offset]), [
    ["good-1", "X", "c", false, 1n],
    ["good-2", "Y", null, null, 4n],
  ]);
  assert.deepEqual(rows.map((r) => r.extra_json), [null, null]);
});
