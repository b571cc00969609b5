import assert from "node:assert/strict";
import { queryDuckDb, sqlString } from "../_helpers/duckdb.ts";
import { RECORDINGS } from "../_helpers/e2e_events.ts";
import { E2E_TOPIC, PipelineHarness } from "../_helpers/pipeline_harness.ts";

const ROOT = new URL("../../", import.meta.url);
const PRODUCER = new URL("producer.ts", ROOT).pathname;
const CONSUMER = new URL("consumer.ts", ROOT).pathname;
const VERIFY = new URL("verify.ts", ROOT).pathname;

type Event = Record<string, unknown> & { meta: Record<string, unknown> & { id: string } };

const encoder = new TextEncoder();

/** Builds an SSE body from text pieces and raw byte pieces. */
class Feed {
  #parts: Uint8Array[] = [encoder.encode(":ok\n\n")];
  #n = 0;
  text(s: string): this {
    this.#parts.push(encoder.encode(s));
    return this;
  }
  bytes(b: Uint8Array): this {
    this.#parts.push(b);
    return this;
  }
  /** One well-formed frame: `event`, `id` (EventStreams style), `data`. */
  frame(data: string, eol = "\n"): this {
    const id = `[{"topic":"eqiad.mediawiki.recentchange","partition":0,"timestamp":${
      1_790_000_000_000 + ++this.#n
    }},{"topic":"codfw.mediawiki.recentchange","partition":0,"offset":-1}]`;
    return this.text(`event: message${eol}id: ${id}${eol}data: ${data}${eol}${eol}`);
  }
  body(): Uint8Array {
    const out = new Uint8Array(this.#parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.#parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/**
 * Serves one fixed SSE body per connection (then holds the connection open), so the feed can
 * contain bytes that are not UTF-8 — which the string-based test SSE server cannot express.
 */
function serveBytes(body: Uint8Array): { url: string; close(): Promise<void> } {
  const closing = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: closing.signal, onListen: () => {} },
    () => {
      let sent = false;
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (!sent) {
            sent = true;
            // split anywhere, including inside multi-byte characters
            for (let at = 0; at < body.length; at += 4093) {
              controller.enqueue(body.slice(at, at + 4093));
            }
            return;
          }
          await new Promise<void>((resolve) => {
            if (closing.signal.aborted) resolve();
            closing.signal.addEventListener("abort", () => resolve(), { once: true });
          });
          controller.close();
        },
      });
      return new Response(stream, {
        headers: { "content-type": "text/event-stream; charset=utf-8" },
      });
    },
  );
  const addr = server.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${addr.port}/v2/stream/recentchange`,
    close: async () => {
      closing.abort();
      await server.finished;
    },
  };
}

async function recorded(file: string, n: number): Promise<Event[]> {
  const text = await Deno.readTextFile(new URL(file, RECORDINGS));
  return text.split("\n").filter((l) => l.trim() !== "").slice(0, n).map((l) => JSON.parse(l));
}

function variant(base: Event, change: (e: Event) => void): Event {
  const e = structuredClone(base);
  e.meta.id = crypto.randomUUID();
  change(e);
  return e;
}

async function readLines(path: string): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}

async function listFiles(dir: string, under = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(`${dir}/${under}`)) {
    const rel = under ? `${under}/${entry.name}` : entry.name;
    if (entry.isDirectory) out.push(...await listFiles(dir, rel));
    else out.push(rel);
  }
  return out;
}

Deno.test({
  name: "bad input ends in its documented place (producer dead-letter file, canary count, " +
    "consumer _dlq, extra_json, nulls) while every good event around it reaches the lake",
  async fn() {
    const good = [
      ...await recorded("sat99496-wikistream-lakehouse_2026-02-26.ndjson", 50),
      ...await recorded("wikidata-editgroups_2018-2019_wikidatawiki.ndjson", 10),
    ];
    const base = good.find((e) => e.type === "edit")!;
    let g = 0;
    const nextGood = () => JSON.stringify(good[g++]!);

    // refused by the broker like real Kafka (record > 1 MiB max.request.size, 50002): the
    // producer dead-letters it
    const big = variant(base, (e) => (e.comment = "x".repeat(2 * 1024 * 1024)));
    // events that reach Kafka but are not plain good rows
    const nonUtf8InString = variant(base, (e) => (e.title = "Bad\u0001Bytes:"));
    const wrongNamespace = variant(base, (e) => (e.namespace = "0"));
    const botYes = variant(base, (e) => (e.bot = "yes"));
    const unknownFields = variant(base, (e) => {
      e.unknown_top = { nested: [1, "two", null] };
      e.meta.unknown_meta = "m";
      (e.length as Record<string, unknown>).unknown_len = 5;
    });
    const logParamsString = variant(base, (e) => {
      e.type = "log";
      e.log_type = "move";
      e.log_action = "move";
      e.log_params = "a plain string, as the schema allows";
    });
    const missingTitle = variant(base, (e) => delete e.title);
    const missingWiki = variant(base, (e) => delete e.wiki);
    const wrongTimestamp = variant(base, (e) => (e.timestamp = "1520439377"));
    const canary1 = variant(base, (e) => {
      e.meta.domain = "canary";
      delete e.type;
      delete e.wiki;
      delete e.title;
    });
    const canary2 = variant(base, (e) => (e.meta.domain = "canary"));
    // producer dead letters (no meta.id / meta.dt, not JSON)
    const noMetaId = variant(base, (e) => delete (e.meta as Record<string, unknown>).id);
    const noMetaDt = variant(base, (e) => delete e.meta.dt);
    const badMetaDt = variant(base, (e) => (e.meta.dt = "yesterday"));
    const truncated = JSON.stringify(variant(base, () => {})).slice(0, 300);

    const feed = new Feed();
    const goodIds: string[] = [];
    const frameGood = (eol = "\n") => {
      const text = nextGood();
      goodIds.push(JSON.parse(text).meta.id);
      feed.frame(text, eol);
    };
    for (let i = 0; i < 5; i++) frameGood();
    // malformed SSE framing: unknown field, bad retry, comment, frame without data, a data line
    // without the space, an event split over two data lines, CRLF line ends
    feed.text("bogus-field: whatever\nretry: soon\n: a comment line\n\n");
    feed.text("event: message\nid: [1]\n\n");
    frameGood();
    {
      const text = nextGood();
      goodIds.push(JSON.parse(text).meta.id);
      const cut = text.indexOf(`"type"`);
      feed.text(`event: message\ndata:${text.slice(0, cut)}\ndata: ${text.slice(cut)}\n\n`);
    }
    frameGood("\r\n");
    feed.frame(truncated);
    frameGood();
    feed.frame("this is not json at all");
    feed.frame("[1, 2, 3]");
    frameGood();
    feed.frame(JSON.stringify(noMetaId));
    feed.frame(JSON.stringify(noMetaDt));
    feed.frame(JSON.stringify(badMetaDt));
    frameGood();
    feed.frame(JSON.stringify(canary1));
    frameGood();
    feed.frame(JSON.stringify(canary2));
    frameGood();
    feed.frame(JSON.stringify(big));
    frameGood();
    // non-UTF-8 bytes: inside a JSON string (decoded as U+FFFD) and outside any string
    {
      const [before, after] = JSON.stringify(nonUtf8InString).split("\\u0001");
      feed.text(`event: message\ndata: ${before}`).bytes(new Uint8Array([0xff, 0xfe, 0xc3]))
        .text(`${after}\n\n`);
      feed.text("event: message\ndata: ").bytes(new Uint8Array([0xc0, 0xaf, 0x80]))
        .text(`${JSON.stringify(variant(base, () => {}))}\n\n`);
    }
    frameGood();
    for (const e of [wrongNamespace, botYes, unknownFields, logParamsString]) {
      feed.frame(JSON.stringify(e));
      frameGood();
    }
    for (const e of [missingTitle, missingWiki, wrongTimestamp]) {
      feed.frame(JSON.stringify(e));
      frameGood();
    }
    while (g < good.length) frameGood();

    // what reaches Kafka: the good events, the rows with odd fields, and the events the
    // consumer dead-letters (not the producer's dead letters, not canaries)
    const expectedRowsExtra = [nonUtf8InString, botYes, unknownFields, logParamsString];
    const expectedConsumerDlq = [wrongNamespace, missingTitle, missingWiki, wrongTimestamp];
    const toKafka = goodIds.length + expectedRowsExtra.length + expectedConsumerDlq.length;
    // --max-events counts events handed to the proxy, including the refused big one
    const accepted = toKafka + 1;

    const server = serveBytes(feed.body());
    const h = await PipelineHarness.create({ events: [], prefix: "wikistream-bad-input-" });
    const lake = `${h.root}/lake`;
    let ok = false;
    try {
      const broker = await h.startBroker();
      // --max-events counts the events handed to the proxy; the feed ends with a good event
      const producer = await h.spawn("producer", [PRODUCER, "--max-events", String(accepted)], {
        STREAM_URL: server.url,
        KAFKA_REST_URL: broker.url!,
        KAFKA_TOPIC: E2E_TOPIC,
        STATE_DIR: h.producerStateDir,
        USER_AGENT: "wikistream-e2e/0.1 (https://example.org; tests@example.org)",
        STREAM_IDLE_TIMEOUT_MS: "60000",
        PRODUCE_LINGER_MS: "20",
        PROGRESS_INTERVAL_MS: "0",
        LOG_FORMAT: "json",
      });
      const pStatus = await producer.status;
      assert.equal(pStatus.code, 0, `producer failed:\n${producer.tail}`);

      const consumer = await h.spawn("consumer", [CONSUMER, "--until-idle", "1500"], {
        KAFKA_REST_URL: broker.url!,
        KAFKA_TOPIC: E2E_TOPIC,
        OUTPUT_URL: lake,
        CONSUMER_READ_TIMEOUT_MS: "200",
        PROGRESS_INTERVAL_MS: "0",
        LOG_FORMAT: "json",
      });
      const cStatus = await consumer.status;
      assert.equal(cStatus.code, 0, `consumer failed:\n${consumer.tail}`);

      // 1. the producer's dead-letter file: not JSON, not an object, no meta.id / meta.dt, and
      // the record the broker refused as too large (written when its produce answer arrives,
      // so its place among the others is not fixed)
      const allLetters = await readLines(`${h.producerStateDir}/dead-letter.ndjson`);
      const tooLarge = allLetters.filter((l) => String(l.reason).includes("error_code 50002"));
      assert.equal(tooLarge.length, 1, JSON.stringify(allLetters.map((l) => l.reason)));
      assert.match(
        String(tooLarge[0]!.reason),
        /^produce failed with error_code 50002: The message is \d+ bytes when serialized which is larger than 1048576, which is the value of the max\.request\.size configuration\.$/,
      );
      assert.equal(tooLarge[0]!.raw, JSON.stringify(big), "the raw event is kept");
      const letters = allLetters.filter((l) => l !== tooLarge[0]);
      const reasons = letters.map((l) => String(l.reason).replace(/:.*/s, ""));
      assert.deepEqual(reasons, [
        "not JSON",
        "not JSON",
        "not a JSON object",
        "missing meta.id",
        "missing or unparsable meta.dt",
        "missing or unparsable meta.dt",
        "not JSON",
      ]);
      assert.equal(letters[0]!.raw, truncated, "the raw text is kept");
      assert.equal(letters[1]!.raw, "this is not json at all");
      assert.match(String(letters[6]!.raw), /^\uFFFD+\{/, "bad bytes are kept as U+FFFD");
      for (const l of letters) assert.equal(typeof l.sseId, "string");

      // 2. canaries are dropped and counted, not dead-lettered
      const summary = producer.tail.split("\n").filter((l) => l.includes('"msg":"stopped"'))
        .map((l) => JSON.parse(l)).at(-1);
      assert.ok(summary, `no summary line:\n${producer.tail}`);
      assert.equal(summary.canaries, 2);
      assert.equal(summary.deadLettered, 8);
      assert.equal(summary.produced, toKafka);

      // 3. the consumer's _dlq: missing or wrongly typed required fields
      const files = await listFiles(lake);
      const dlqFiles = files.filter((f) => f.startsWith(`_dlq/${E2E_TOPIC}/`));
      assert.ok(dlqFiles.length >= 1, `no _dlq file in ${files}`);
      const dlq = (await Promise.all(dlqFiles.map((f) => readLines(`${lake}/${f}`)))).flat();
      const dlqById = new Map(
        dlq.map((d) => [((d.value as Event).meta as { id: string }).id, String(d.reason)]),
      );
      assert.equal(dlq.length, expectedConsumerDlq.length, JSON.stringify(dlq).slice(0, 800));
      assert.match(dlqById.get(wrongNamespace.meta.id)!, /namespace/);
      assert.match(dlqById.get(missingTitle.meta.id)!, /missing required field title/);
      assert.match(dlqById.get(missingWiki.meta.id)!, /missing required field wiki/);
      assert.match(dlqById.get(wrongTimestamp.meta.id)!, /timestamp/);
      for (const d of dlq) {
        assert.equal(d.topic, E2E_TOPIC);
        assert.ok(Number.isInteger(d.partition) && Number.isInteger(d.offset));
      }
      const wrong = dlq.find((d) => (d.value as Event).meta.id === wrongNamespace.meta.id)!;
      assert.deepEqual(wrong.value, wrongNamespace, "the raw value is kept");

      // 4. the lake: every good event, plus the odd rows with nulls / extra_json
      const rows = await queryDuckDb(
        `SELECT event_id, title, bot, comment, log_params_json, extra_json, length_new
         FROM read_parquet(${sqlString(`${lake}/**/*.parquet`)}, hive_partitioning = true)`,
      );
      const byId = new Map(rows.map((r) => [r.event_id as string, r]));
      assert.equal(byId.size, rows.length, "an event_id appears twice");
      for (const id of goodIds) assert.ok(byId.has(id), `good event ${id} is missing`);
      assert.equal(rows.length, goodIds.length + expectedRowsExtra.length);

      assert.ok(!byId.has(big.meta.id), "the record refused as too large is not in the lake");
      assert.equal(byId.get(nonUtf8InString.meta.id)!.title, "Bad\uFFFD\uFFFD\uFFFDBytes:");
      const bot = byId.get(botYes.meta.id)!;
      assert.equal(bot.bot, null);
      assert.deepEqual(JSON.parse(bot.extra_json as string), { bot: "yes" });
      assert.deepEqual(JSON.parse(byId.get(unknownFields.meta.id)!.extra_json as string), {
        unknown_top: { nested: [1, "two", null] },
        "meta.unknown_meta": "m",
        "length.unknown_len": 5,
      });
      assert.equal(
        Number(byId.get(unknownFields.meta.id)!.length_new),
        (base.length as { new: number }).new,
      );
      const lp = byId.get(logParamsString.meta.id)!;
      assert.equal(JSON.parse(lp.log_params_json as string), logParamsString.log_params);
      assert.equal(lp.extra_json, null);
      for (const c of [canary1, canary2, noMetaDt, badMetaDt]) {
        assert.ok(!byId.has(c.meta.id), `${c.meta.id} should not be in the lake`);
      }

      // 5. the lake is consistent (manifests count rows + dead letters)
      const verify = await h.spawn("verify", [VERIFY], { OUTPUT_URL: lake, LOG_FORMAT: "json" });
      assert.equal((await verify.status).code, 0, verify.tail);
      assert.match(verify.tail, new RegExp(`\\+ ${expectedConsumerDlq.length} dead letters`));
      ok = true;
    } finally {
      // deno-lint-ignore no-console
      if (!ok) console.error(await h.logTails(["producer", "consumer", "broker"]));
      await h.close();
      await server.close();
    }
  },
});
