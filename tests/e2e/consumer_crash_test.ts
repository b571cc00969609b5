import assert from "node:assert/strict";
import { LocalObjectStore } from "../../lib/object_store/local_object_store.ts";
import { LakeLayout } from "../../lib/lake/lake_layout.ts";
import { parseManifest, type UnitManifest } from "../../lib/lake/unit_manifest.ts";
import { spawnBroker } from "../_helpers/broker_process.ts";
import { assertNoDuplicates, readLakeRows } from "../_helpers/consumer_setup.ts";
import { loadRecordedEvents, produceEvents } from "../_helpers/produce_events.ts";
import { seededRandom } from "../_helpers/test_utils.ts";
import { spawnTaskProgram } from "../_helpers/program_command.ts";

function consumerEnv(brokerUrl: URL, lake: string, extra: Record<string, string> = {}) {
  return {
    KAFKA_REST_URL: brokerUrl.href,
    OUTPUT_URL: lake,
    FLUSH_MAX_ROWS: "350",
    FLUSH_INTERVAL_MS: "700",
    CONSUMER_READ_TIMEOUT_MS: "200",
    CONSUMER_MAX_BYTES: "262144",
    CONSUMER_HEARTBEAT_MS: "500",
    PROGRESS_INTERVAL_MS: "0",
    LOG_LEVEL: "warn",
    LOG_FORMAT: "json",
    WIKISTREAM_TEST_PAUSE_AT: "after-manifest:60,after-file:20,after-upload:80",
    ...extra,
  };
}

function spawnConsumer(env: Record<string, string>, args: string[] = []): Deno.ChildProcess {
  return spawnTaskProgram("consume", args, env);
}

async function stderrOf(child: Deno.ChildProcess): Promise<string> {
  return (await new Response(child.stderr).text()).slice(-4000);
}

async function countManifests(lake: string): Promise<number> {
  const layout = new LakeLayout({ prefix: "", topic: "wikimedia-changes" });
  const keys = await new LocalObjectStore({ root: lake }).list(layout.manifestPrefix);
  return keys.filter((k) => k.endsWith(".json")).length;
}

async function waitForManifest(lake: string, before: number): Promise<void> {
  const until = Date.now() + 15_000;
  while ((await countManifests(lake)) <= before && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function manifests(lake: string): Promise<UnitManifest[]> {
  const store = new LocalObjectStore({ root: lake });
  const layout = new LakeLayout({ prefix: "", topic: "wikimedia-changes" });
  const out: UnitManifest[] = [];
  for (const key of await store.list(layout.manifestPrefix)) {
    out.push(parseManifest((await store.get(key))!, key));
  }
  return out;
}

Deno.test({
  name: "consumer keeps the lake exactly once across 22 SIGKILLs, an instance expiry, " +
    "a broker restart and a duplicated produce batch",
  sanitizeResources: false, // subprocess pipes are closed explicitly below
  async fn() {
    const random = seededRandom(20261130);
    const dataDir = await Deno.makeTempDir({ prefix: "wikistream-crash-broker-" });
    const lake = await Deno.makeTempDir({ prefix: "wikistream-crash-lake-" });
    const events = await loadRecordedEvents(8000);
    let broker = await spawnBroker({
      dataDir,
      extraArgs: ["--partitions", "3", "--faults", "--instance-timeout-ms", "2000"],
    });
    const port = broker.url.port;
    try {
      let produced = 0;
      const produceMore = async (n: number) => {
        const chunk = events.slice(produced, produced + n);
        produced += chunk.length;
        await produceEvents(broker.url, chunk, { batchSize: 200 });
      };
      await produceMore(1500);
      // a producer-side retry: the same 200 events sent twice (different offsets)
      await produceEvents(broker.url, events.slice(1000, 1200), { batchSize: 200 });
      const kills = 22;
      let rebuilds = 0;
      for (let i = 0; i < kills; i++) {
        // every 5th run pauses after writing a manifest, every 5th+2 after uploading the
        // files: those runs are killed inside the window (crash between manifest and files,
        // or between upload and commit); the others at a random time
        const mode = i % 5 === 2 ? "after-manifest" : i % 5 === 4 ? "after-upload" : "random";
        const pause: Record<string, string> = mode === "random"
          ? {}
          : { WIKISTREAM_TEST_PAUSE_AT: `${mode}:4000` };
        if (mode !== "random") await produceMore(150);
        const before = await countManifests(lake);
        const child = spawnConsumer(consumerEnv(broker.url, lake, pause));
        const errors = stderrOf(child);
        // kill delays from 0.2 s (start-up, recovery) to 2.5 s (mid-read, encode, upload)
        const delay = 200 + Math.floor(random() * 2300);
        if (mode !== "random") {
          await waitForManifest(lake, before);
          await new Promise((r) => setTimeout(r, mode === "after-upload" ? 600 : 100));
          try {
            child.kill("SIGKILL");
          } catch {
            // exited by itself: reported below
          }
        }
        await new Promise((r) => setTimeout(r, delay / 2));
        if (i === 7) {
          await fetch(new URL("_admin/expire-instances", broker.url), { method: "POST" })
            .then((r) => r.body?.cancel());
        }
        if (i === 12) {
          await broker.kill("SIGKILL");
          broker = await spawnBroker({
            dataDir,
            port: Number(port),
            extraArgs: ["--partitions", "3", "--faults", "--instance-timeout-ms", "2000"],
          });
        }
        await new Promise((r) => setTimeout(r, delay / 2));
        if (i % 4 === 1 && produced < events.length) await produceMore(700);
        if (i === 15) {
          // the same batch again, later in the topic
          await produceEvents(broker.url, events.slice(2000, 2150), { batchSize: 150 });
        }
        try {
          child.kill("SIGKILL");
        } catch {
          // it exited by itself: the status check below reports why
        }
        const status = await child.status;
        const text = await errors;
        assert.ok(status.signal === "SIGKILL" || status.code === 0, text);
        assert.ok(!/"level":"error"/.test(text), `consumer logged an error:\n${text}`);
        if (text.includes("rebuilding it from the topic")) rebuilds++;
      }
      if (produced < events.length) await produceMore(events.length - produced);
      const last = spawnConsumer(consumerEnv(broker.url, lake), ["--until-idle", "6000"]);
      const [status, text] = await Promise.all([last.status, stderrOf(last)]);
      assert.equal(status.code, 0, text);
      if (text.includes("rebuilding it from the topic")) rebuilds++;
      // some kills landed between manifest and commit, so incomplete units were rebuilt
      assert.ok(rebuilds >= 3, `only ${rebuilds} kills left an incomplete unit behind`);

      const rows = await readLakeRows(lake);
      assertNoDuplicates(rows);
      const expected = new Set(events.map((e) => (e.meta as { id: string }).id));
      assert.equal(rows.length, expected.size);
      assert.deepEqual(new Set(rows.map((r) => r.id)), expected);

      // the units tile every partition's offsets without gap or overlap
      const units = await manifests(lake);
      assert.ok(units.length > 10, `only ${units.length} units`);
      const ends = new Map<number, number>();
      const seqs = new Map<number, number>();
      let records = 0;
      let duplicates = 0;
      for (const u of units) {
        // listed by partition, then unit number: each partition's units are 0, 1, 2 …
        assert.equal(u.seq, (seqs.get(u.partition) ?? -1) + 1, `unit ${u.partition}/${u.seq}`);
        seqs.set(u.partition, u.seq);
        records += u.counts.records;
        duplicates += u.counts.duplicates;
        for (const r of u.ranges) {
          assert.equal(
            r.start,
            (ends.get(r.partition) ?? -1) + 1,
            `gap/overlap in unit ${u.partition}/${u.seq}`,
          );
          ends.set(r.partition, r.end);
        }
      }
      assert.equal(records, events.length + 200 + 150);
      assert.equal(duplicates, 350);
      assert.equal(records - duplicates, rows.length);
    } finally {
      await broker.kill("SIGKILL").catch(() => {});
      await Deno.remove(dataDir, { recursive: true });
      await Deno.remove(lake, { recursive: true });
    }
  },
});
