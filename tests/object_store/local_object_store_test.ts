import assert from "node:assert/strict";
import { LocalObjectStore } from "../../lib/object_store/local_object_store.ts";
import { MemoryObjectStore } from "../../lib/object_store/memory_object_store.ts";
import type { ObjectStore } from "../../lib/object_store/object_store.ts";
import {
  assertCreateThenExists,
  assertOneConcurrentCreateWins,
} from "../_helpers/create_contract.ts";
import { withoutDacOverride } from "../_helpers/without_dac.ts";

const STORE_MODULE = new URL("../../lib/object_store/local_object_store.ts", import.meta.url).href;
const STORE_DIR = new URL("../../lib/", import.meta.url).pathname;

async function exerciseStore(store: ObjectStore): Promise<void> {
  const bytes = (s: string) => new TextEncoder().encode(s);
  await store.put("t/date=2026-01-01/hour=00/a.parquet", bytes("a"));
  await store.put("t/date=2026-01-01/hour=01/b.parquet", bytes("b"));
  await store.put("_manifests/t/000000000001.json", bytes("{}"), {
    contentType: "application/json",
  });
  await store.put("_manifests/t/000000000000.json", bytes("{}"));
  await store.put("t/date=2026-01-01/hour=00/a.parquet", bytes("a2"));
  assert.equal(
    new TextDecoder().decode(await store.get("t/date=2026-01-01/hour=00/a.parquet")),
    "a2",
  );
  assert.equal(await store.get("t/missing"), undefined);
  assert.equal(await store.exists("t/date=2026-01-01/hour=01/b.parquet"), true);
  assert.equal(await store.exists("t/date=2026-01-01/hour=01/c.parquet"), false);
  assert.deepEqual(await store.list("_manifests/t/"), [
    "_manifests/t/000000000000.json",
    "_manifests/t/000000000001.json",
  ]);
  assert.deepEqual(
    await store.list("_manifests/t/", { startAfter: "_manifests/t/000000000000.json" }),
    ["_manifests/t/000000000001.json"],
  );
  assert.deepEqual(await store.list("t/date=2026-01-01/hour=0"), [
    "t/date=2026-01-01/hour=00/a.parquet",
    "t/date=2026-01-01/hour=01/b.parquet",
  ]);
  assert.equal((await store.list("")).length, 4);
  assert.deepEqual(await store.list("nothing/here/"), []);
  await store.delete("t/date=2026-01-01/hour=01/b.parquet");
  await store.delete("t/date=2026-01-01/hour=01/b.parquet");
  assert.equal(await store.exists("t/date=2026-01-01/hour=01/b.parquet"), false);
}

Deno.test("LocalObjectStore puts, gets, lists in key order and deletes", async () => {
  const root = await Deno.makeTempDir();
  try {
    await exerciseStore(new LocalObjectStore({ root: `${root}/lake` }));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LocalObjectStore leaves no temporary files and hides stray ones from listings", async () => {
  const root = await Deno.makeTempDir();
  try {
    const store = new LocalObjectStore({ root });
    await store.put("x/y.parquet", new Uint8Array([1, 2, 3]));
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(`${root}/x`))).map((e) => e.name),
      ["y.parquet"],
    );
    await Deno.writeFile(`${root}/x/.y.parquet.1234.tmp`, new Uint8Array([9]));
    assert.deepEqual(await store.list("x/"), ["x/y.parquet"]);
    await assert.rejects(store.exists("../escape"), TypeError);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("MemoryObjectStore behaves like the other stores and simulates outages", async () => {
  const store = new MemoryObjectStore();
  await exerciseStore(store);
  store.failPuts = true;
  await assert.rejects(store.put("k", new Uint8Array()), (e: Error & { retriable?: boolean }) => {
    return e.retriable === true;
  });
});

Deno.test("LocalObjectStore.create writes a free key and answers exists for a taken one, keeping the first object", async () => {
  const root = await Deno.makeTempDir();
  try {
    const store = new LocalObjectStore({ root });
    await assertCreateThenExists(store, "_fence/a/owner.json");
    await store.put("_fence/b.json", new Uint8Array([1]));
    assert.equal(await store.create("_fence/b.json", new Uint8Array([2])), "exists");
    assert.deepEqual(await store.get("_fence/b.json"), new Uint8Array([1]));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LocalObjectStore.create lets exactly one of 20 concurrent creates of a key win", async () => {
  const root = await Deno.makeTempDir();
  try {
    await assertOneConcurrentCreateWins(new LocalObjectStore({ root }), "_fence/owner.json");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LocalObjectStore.create leaves no temporary file, whether it writes or finds the key taken", async () => {
  const root = await Deno.makeTempDir();
  try {
    const store = new LocalObjectStore({ root });
    assert.equal(await store.create("x/owner.json", new Uint8Array([1])), "created");
    assert.equal(await store.create("x/owner.json", new Uint8Array([2])), "exists");
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(`${root}/x`))).map((e) => e.name),
      ["owner.json"],
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("MemoryObjectStore.create writes a free key, answers exists for a taken one and fails in an outage", async () => {
  const store = new MemoryObjectStore();
  await assertCreateThenExists(store, "_fence/owner.json");
  await assertOneConcurrentCreateWins(store, "_fence/other.json");
  store.failPuts = true;
  await assert.rejects(
    store.create("_fence/third.json", new Uint8Array()),
    (e: Error & { retriable?: boolean }) => e.retriable === true,
  );
  assert.equal(store.objects.has("_fence/third.json"), false);
});

Deno.test("LocalObjectStore: an OS permission refusal is retriable, Deno's sandbox refusal is not and names the flags", async () => {
  const prefix = await withoutDacOverride();
  if (prefix === undefined) throw new Error("setpriv cannot drop CAP_DAC_OVERRIDE here");
  const dir = await Deno.makeTempDir({ prefix: "wikistream-eacces-" });
  const script = `${dir}/put.ts`;
  await Deno.writeTextFile(
    script,
    `import { LocalObjectStore } from ${JSON.stringify(STORE_MODULE)};
const store = new LocalObjectStore({ root: Deno.args[0] });
try {
  await store.put("a/b.txt", new Uint8Array([1]));
  console.log(JSON.stringify({ ok: true }));
} catch (e) {
  console.log(JSON.stringify({ name: e.name, retriable: e.retriable, message: e.message }));
}`,
  );
  const lake = `${dir}/lake`;
  await Deno.mkdir(lake);
  await Deno.chmod(lake, 0o555);
  const putAs = async (wrapper: string[], flags: string[]) => {
    const command = [
      ...wrapper,
      Deno.execPath(),
      "run",
      "--no-prompt",
      `--allow-read=${dir},${STORE_DIR}`,
      ...flags,
      script,
      lake,
    ];
    const out = await new Deno.Command(command[0]!, {
      args: command.slice(1),
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return JSON.parse(new TextDecoder().decode(out.stdout));
  };
  try {
    const os = await putAs(prefix, [`--allow-write=${dir}`]);
    assert.equal(os.name, "ObjectStoreError");
    assert.equal(os.retriable, true, os.message);
    assert.match(os.message, new RegExp(`Cannot write "${lake}/a/b.txt"`));
    assert.match(os.message, /Permission denied \(os error 13\)/);
    assert.doesNotMatch(os.message, /--allow/);

    await Deno.chmod(lake, 0o755);
    const sandbox = await putAs([], []);
    assert.equal(sandbox.name, "ObjectStoreError");
    assert.equal(sandbox.retriable, false);
    assert.match(sandbox.message, /--allow-write/);
  } finally {
    await Deno.chmod(lake, 0o755);
    await Deno.remove(dir, { recursive: true });
  }
});
