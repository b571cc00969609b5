/**
 * The broker as a subprocess under `prlimit --nofile=256:256`: more idle connections than
 * it has descriptors, and a topic flood, must neither kill it nor keep it from serving a
 * normal produce and consume afterwards.
 */
import assert from "node:assert/strict";
import { type BrokerProcess, spawnBroker } from "../_helpers/broker_process.ts";
import {
  call,
  createConsumer,
  instancePost,
  produceJson,
  readRecords,
  recordedEvents,
  type TestBroker,
  V2,
} from "../_helpers/broker_http.ts";
import { closedByServer, rawClose, rawConnect, readResponse } from "../_helpers/raw_http.ts";

const DESCRIPTOR_LIMIT = 256;
const IDLE_CONNECTIONS = 300;

function asTestBroker(url: URL): TestBroker {
  return {
    broker: undefined as never, // only url() is used by the helpers
    dataDir: "",
    url: (path) => new URL(path.replace(/^\//, ""), url),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

async function descriptors(pid: number): Promise<number> {
  let n = 0;
  for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) n++;
  return n;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

/** Fails with the broker's stderr when it has exited. */
async function assertAlive(broker: BrokerProcess): Promise<void> {
  const status = await Promise.race([
    broker.child.status,
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 50)),
  ]);
  assert.equal(
    status,
    undefined,
    `the broker exited (${JSON.stringify(status)}); stderr: ${broker.stderr()}`,
  );
}

async function spawnLimited(env: Record<string, string>): Promise<{
  broker: BrokerProcess;
  dataDir: string;
  metricsPort: number;
}> {
  const dataDir = await Deno.makeTempDir({ prefix: "broker_fd_" });
  const metricsPort = freePort();
  const broker = await spawnBroker({
    dataDir,
    wrapper: ["prlimit", `--nofile=${DESCRIPTOR_LIMIT}:${DESCRIPTOR_LIMIT}`],
    env: { METRICS_PORT: String(metricsPort), ...env },
  });
  return { broker, dataDir, metricsPort };
}

/** A normal produce of recorded events and a consume of them (after `before` records). */
async function produceAndConsume(tb: TestBroker, topic: string, before = 0): Promise<void> {
  const events = await recordedEvents(30);
  const produced = await produceJson(
    tb,
    topic,
    events.map((e) => ({ key: (e.meta as { id: string }).id, value: e })),
  );
  assert.equal(produced.status, 200, produced.text);
  const created = await createConsumer(tb, "g", {
    name: "c",
    format: "json",
    "auto.offset.reset": "earliest",
    "consumer.request.timeout.ms": 200,
  });
  assert.equal(created.status, 200, created.text);
  const sub = await instancePost(tb, "g", "c", "subscription", { topics: [topic] });
  assert.equal(sub.status, 204, sub.text);
  const got: unknown[] = [];
  for (let i = 0; i < 20 && got.length < before + events.length; i++) {
    const r = await readRecords(tb, "g", "c");
    assert.equal(r.status, 200, r.text);
    got.push(...r.body.map((x: { value: unknown }) => x.value));
  }
  assert.deepEqual(
    new Set(got.slice(before).map((v) => (v as { meta: { id: string } }).meta.id)),
    new Set(events.map((e) => (e.meta as { id: string }).id)),
  );
}

/** Stops the broker with SIGTERM, which must end it with exit code 0. */
async function stopCleanly(broker: BrokerProcess): Promise<void> {
  const status = await broker.kill("SIGTERM");
  assert.equal(status.code, 0, `SIGTERM stops the broker cleanly; stderr: ${broker.stderr()}`);
}

function metric(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ")[1] ?? NaN);
}

Deno.test("broker under a 256-descriptor limit survives 300 idle connections (EMFILE on accept) and then serves produce and consume", async () => {
  // the default 512 connections exceed the descriptors: accept itself fails with EMFILE
  const { broker, dataDir, metricsPort } = await spawnLimited({
    BROKER_HEADER_TIMEOUT_MS: "1500",
  });
  const pid = broker.child.pid;
  const idle: Deno.Conn[] = [];
  try {
    for (let i = 0; i < IDLE_CONNECTIONS; i++) idle.push(await rawConnect(broker.url));
    let peak = 0;
    for (let i = 0; i < 10; i++) {
      peak = Math.max(peak, await descriptors(pid).catch(() => 0));
      await new Promise((r) => setTimeout(r, 50));
    }
    // each idle connection is closed after the header timeout, the last ones after the
    // broker could accept them again
    const closed = await Promise.all(idle.map((c) => closedByServer(c, 20_000)));
    assert.equal(closed.filter((c) => !c).length, 0, "every idle connection is closed");
    await assertAlive(broker);
    // deno-lint-ignore no-console
    console.log(`descriptors: peak ${peak} of ${DESCRIPTOR_LIMIT}; RSS ${await rssMiB(pid)} MiB`);
    await produceAndConsume(asTestBroker(broker.url), "after-flood");
    await assertAlive(broker);
    assert.match(broker.stderr(), /accepting a connection failed; retrying/);
    assert.match(broker.stderr(), /EMFILE/);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.ok(metric(metrics, "wikistream_broker_accept_errors_total") > 0, metrics);
    assert.ok(
      metric(metrics, 'wikistream_broker_refused_total{reason="header_timeout"}') >=
        IDLE_CONNECTIONS,
    );
    await stopCleanly(broker);
  } finally {
    for (const c of idle) rawClose(c);
    await broker.kill("SIGKILL");
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("broker under a 256-descriptor limit answers connections past BROKER_MAX_CONNECTIONS with 503 and never runs out", async () => {
  const { broker, dataDir, metricsPort } = await spawnLimited({
    BROKER_MAX_CONNECTIONS: "100",
    BROKER_HEADER_TIMEOUT_MS: "1500",
  });
  const pid = broker.child.pid;
  const idle: Deno.Conn[] = [];
  try {
    for (let i = 0; i < IDLE_CONNECTIONS; i++) idle.push(await rawConnect(broker.url));
    // the first 100 are served (and wait for a request); every later one is closed at once,
    // with a 503 when the broker has a moment to answer it
    const answers = await Promise.all(idle.slice(100).map((c) => readResponse(c, 5000)));
    const statuses = new Set(answers.map((a) => a?.status ?? "closed"));
    assert.ok([...statuses].every((s) => s === 503 || s === "closed"), [...statuses].join());
    const peak = await descriptors(pid);
    assert.ok(peak < DESCRIPTOR_LIMIT - 50, `the broker holds ${peak} descriptors`);
    for (const c of idle.slice(100)) rawClose(c);
    // a real request past the limit gets the 503, in REST Proxy form (once the broker has
    // let go of the refused connections: it answers at most 64 at once, closing the others)
    await new Promise((r) => setTimeout(r, 1100));
    const extra = await fetch(broker.url);
    assert.equal(extra.status, 503);
    assert.equal(extra.headers.get("retry-after"), "1");
    assert.equal((await extra.json()).error_code, 503);
    await Promise.all(idle.slice(0, 100).map((c) => closedByServer(c, 10_000)));
    await produceAndConsume(asTestBroker(broker.url), "after-flood");
    await assertAlive(broker);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.equal(metric(metrics, "wikistream_broker_accept_errors_total"), 0);
    assert.ok(
      metric(metrics, 'wikistream_broker_refused_total{reason="connections"}') >=
        IDLE_CONNECTIONS - 100,
    );
    await stopCleanly(broker);
  } finally {
    for (const c of idle) rawClose(c);
    await broker.kill("SIGKILL");
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("broker under a 256-descriptor limit survives a flood of 300 new topics: bounded descriptors, 40002 past BROKER_MAX_TOPICS, no stray directory", async () => {
  const { broker, dataDir } = await spawnLimited({ BROKER_MAX_TOPICS: "250" });
  const pid = broker.child.pid;
  const tb = asTestBroker(broker.url);
  try {
    const statuses: number[] = [];
    let peak = 0;
    for (let i = 0; i < 300; i++) {
      const r = await produceJson(tb, `flood-${i}`, [{ value: i }]).catch(() => ({
        status: 0,
        body: undefined,
      }));
      statuses.push(r.status);
      if (i % 25 === 0) peak = Math.max(peak, await descriptors(pid).catch(() => 0));
    }
    await assertAlive(broker);
    assert.deepEqual(statuses.slice(0, 250), new Array(250).fill(200));
    assert.deepEqual(statuses.slice(250), new Array(50).fill(400));
    assert.ok(peak < DESCRIPTOR_LIMIT - 50, `the broker held ${peak} descriptors`);
    // deno-lint-ignore no-console
    console.log(`descriptors after 250 topics: ${peak}; RSS ${await rssMiB(pid)} MiB`);
    const topics = (await call(tb.url("/topics"), { headers: { accept: V2 } })).body as string[];
    const dirs: string[] = [];
    for await (const e of Deno.readDir(`${dataDir}/topics`)) dirs.push(e.name);
    assert.equal(topics.length, 250);
    assert.deepEqual(dirs.sort(), [...topics].sort(), "one directory per registered topic");
    await produceAndConsume(tb, "flood-0", 1);
    await stopCleanly(broker);
  } finally {
    await broker.kill("SIGKILL");
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("broker under a 256-descriptor limit outlives a flood of its metrics port (Deno.serve ends there on EMFILE)", async () => {
  const { broker, dataDir, metricsPort } = await spawnLimited({});
  const idle: Deno.Conn[] = [];
  try {
    for (let i = 0; i < IDLE_CONNECTIONS; i++) {
      try {
        idle.push(await Deno.connect({ hostname: "127.0.0.1", port: metricsPort }));
      } catch {
        break; // the metrics endpoint has stopped listening
      }
    }
    for (let i = 0; i < 40 && !/metrics endpoint stopped/.test(broker.stderr()); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(broker.stderr(), /metrics endpoint stopped: accepting a connection failed/);
    await assertAlive(broker);
    for (const c of idle) rawClose(c);
    await produceAndConsume(asTestBroker(broker.url), "after-metrics-flood");
    await stopCleanly(broker);
  } finally {
    for (const c of idle) rawClose(c);
    await broker.kill("SIGKILL");
    await Deno.remove(dataDir, { recursive: true });
  }
});
