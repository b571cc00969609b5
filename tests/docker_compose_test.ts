/**
 * Static checks of docker-compose.yaml, Dockerfile and .dockerignore (no Docker
 * engine exists on the build machines): pinned images, documented variables,
 * health checks and start order, and a Dockerfile whose commands equal the
 * deno.json tasks and .ci/run, so they cannot drift apart.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";

const ROOT = new URL("../", import.meta.url);

async function readText(name: string): Promise<string> {
  return await Deno.readTextFile(new URL(name, ROOT));
}

interface Service {
  image?: string;
  build?: { context: string; target?: string };
  profiles?: string[];
  "depends_on"?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  environment?: Record<string, string | number>;
  volumes?: string[];
  entrypoint?: string[];
  command?: string[] | string;
}

interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}

async function compose(): Promise<Compose> {
  return parse(await readText("docker-compose.yaml"), { merge: true }) as Compose;
}

/** Every `${VAR}`, `${VAR:-x}`, `${VAR:?x}` in a compose file (`$$` escapes excluded). */
function interpolatedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]!);
  return names;
}

interface Stage {
  from: string;
  name: string;
  runs: string[];
  entrypoint?: string[];
  user?: string;
  copies: string[];
}

/** Parses the instructions of a Dockerfile into stages. */
function dockerStages(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim());
  for (const line of lines) {
    if (line === "" || line.startsWith("#")) continue;
    const [instruction, ...rest] = line.split(/\s+/);
    const args = rest.join(" ");
    const stage = stages.at(-1);
    switch (instruction!.toUpperCase()) {
      case "FROM": {
        const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
        assert.ok(m, `Cannot parse FROM line: ${line}`);
        stages.push({ from: m[1]!, name: m[2] ?? "", runs: [], copies: [] });
        break;
      }
      case "RUN":
        stage!.runs.push(args);
        break;
      case "ENTRYPOINT":
        stage!.entrypoint = JSON.parse(args);
        break;
      case "USER":
        stage!.user = args;
        break;
      case "COPY":
        stage!.copies.push(args);
        break;
    }
  }
  return stages;
}

/** The effective user of a stage, following `FROM <stage>` chains. */
function userOf(stages: Stage[], stage: Stage): string | undefined {
  if (stage.user !== undefined) return stage.user;
  const parent = stages.find((s) => s.name === stage.from);
  return parent ? userOf(stages, parent) : undefined;
}

/** The deno.json task command that runs `entry`, without `--env-file`, as argv. */
async function taskArgv(entry: string): Promise<string[]> {
  const config = JSON.parse(await readText("deno.json"));
  const matches = Object.entries(config.tasks as Record<string, string | { command: string }>)
    .map(([name, task]) => [name, typeof task === "string" ? task : task.command] as const)
    .filter(([, command]) => new RegExp(`^deno run .*\\s${entry}$`).test(command.trim()));
  assert.equal(
    matches.length,
    1,
    `deno.json must have exactly one task ending in "deno run … ${entry}", found ${matches.length}`,
  );
  return matches[0]![1].trim().split(/\s+/).filter((arg) => !arg.startsWith("--env-file"));
}

Deno.test("docker-compose.yaml pins every image and builds the programs from the Dockerfile", async () => {
  const { services } = await compose();
  for (const [name, service] of Object.entries(services)) {
    if (service.build) {
      assert.equal(service.build.context, ".", `${name} builds from the repository root`);
      assert.ok(service.build.target, `${name} names a Dockerfile target`);
      continue;
    }
    assert.ok(service.image, `${name} has an image`);
    const tag = /:([^/:@]+)$/.exec(service.image)?.[1];
    assert.ok(tag && tag !== "latest", `${name} image "${service.image}" has a pinned tag`);
  }
  assert.equal(services.kafka?.image, "confluentinc/cp-kafka:8.3.0");
  assert.equal(services["rest-proxy"]?.image, "confluentinc/cp-kafka-rest:8.3.0");
  assert.equal(services.minio?.image, "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z");
  assert.equal(services["minio-init"]?.image, "quay.io/minio/mc:RELEASE.2025-08-13T08-35-41Z");
  assert.equal(services.redpanda?.image, "docker.redpanda.com/redpandadata/redpanda:v26.1.14");
  assert.equal(services.producer?.build?.target, "producer");
  assert.equal(services.consumer?.build?.target, "consumer");
});

Deno.test("docker-compose.yaml documents every variable it uses in .env.example", async () => {
  const used = interpolatedNames(await readText("docker-compose.yaml"));
  assert.ok(used.has("MINIO_ROOT_PASSWORD"));
  const example = await readText(".env.example");
  const documented = new Set(
    [...example.matchAll(/^#?\s*([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1]!),
  );
  const missing = [...used].filter((name) => !documented.has(name)).sort();
  assert.deepEqual(missing, [], `add these to .env.example: ${missing.join(", ")}`);
});

Deno.test("docker-compose.yaml requires secrets instead of defaulting them", async () => {
  const text = await readText("docker-compose.yaml");
  for (const m of text.matchAll(/\$\{([A-Z_]*(?:PASSWORD|SECRET)[A-Z_]*)([^}]*)\}/g)) {
    assert.match(m[2]!, /^:\?/, `\${${m[1]}} must use :? (required), not a default`);
  }
  const { services } = await compose();
  assert.match(
    String(services.consumer?.environment?.AWS_SECRET_ACCESS_KEY),
    /^\$\{MINIO_ROOT_PASSWORD:\?/,
  );
});

Deno.test("docker-compose.yaml starts in order with health checks and depends_on conditions", async () => {
  const { services, volumes } = await compose();
  for (const name of ["kafka", "rest-proxy", "minio", "redpanda", "producer", "consumer"]) {
    assert.ok(services[name]?.healthcheck?.test?.length, `${name} has a health check`);
  }
  assert.deepEqual(services["rest-proxy"]?.healthcheck?.test.slice(0, 2), ["CMD", "curl"]);
  assert.deepEqual(services.minio?.healthcheck?.test, ["CMD", "mc", "ready", "local"]);
  const oneShots = new Set(["kafka-init", "minio-init"]);
  for (const [name, service] of Object.entries(services)) {
    for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
      assert.ok(services[dependency], `${name} depends on an existing service ${dependency}`);
      const expected = oneShots.has(dependency)
        ? "service_completed_successfully"
        : "service_healthy";
      assert.equal(condition, expected, `${name} waits for ${dependency} with ${expected}`);
    }
  }
  assert.deepEqual(Object.keys(services.consumer?.depends_on ?? {}).sort(), [
    "kafka-init",
    "minio-init",
    "rest-proxy",
  ]);
  const mc = (services["minio-init"]?.command as string[]).join(" ");
  assert.match(mc, /mc alias set local http:\/\/minio:9000/);
  assert.match(mc, /mc mb --ignore-existing/);
  for (const [name, service] of Object.entries(services)) {
    for (const volume of service.volumes ?? []) {
      const source = volume.split(":")[0]!;
      assert.ok(source in volumes, `${name} mounts the named volume "${source}"`);
    }
  }
});

Deno.test("docker-compose.yaml keeps Redpanda and its clients in the redpanda profile", async () => {
  const { services } = await compose();
  const inProfile = Object.entries(services)
    .filter(([, s]) => s.profiles?.includes("redpanda"))
    .map(([name]) => name)
    .sort();
  assert.deepEqual(inProfile, ["consumer-redpanda", "producer-redpanda", "redpanda"]);
  for (const [name, service] of Object.entries(services)) {
    if (service.profiles) continue;
    assert.ok(!("redpanda" in (service.depends_on ?? {})), `${name} does not start Redpanda`);
  }
  for (const name of ["producer-redpanda", "consumer-redpanda"]) {
    assert.equal(services[name]?.environment?.KAFKA_REST_URL, "http://redpanda:8082");
    assert.equal(services[name]?.environment?.KAFKA_REST_FLAVOR, "redpanda");
  }
  for (const name of ["producer", "consumer"]) {
    assert.equal(services[name]?.environment?.KAFKA_REST_URL, "http://rest-proxy:8082");
    assert.equal(services[name]?.environment?.KAFKA_REST_FLAVOR, "confluent");
  }
  const rest = services["rest-proxy"]?.environment ?? {};
  for (
    const key of ["KAFKA_REST_HOST_NAME", "KAFKA_REST_LISTENERS", "KAFKA_REST_BOOTSTRAP_SERVERS"]
  ) {
    assert.ok(rest[key], `rest-proxy sets ${key}`);
  }
  assert.match(String(rest.KAFKA_REST_ADVERTISED_LISTENERS), /localhost:8082/);
});

Deno.test("Dockerfile pins the Deno image of .ci/run and installs with its frozen lockfile", async () => {
  const stages = dockerStages(await readText("Dockerfile"));
  const ci = await readText(".ci/run");
  const version = /^DENO_VERSION=(\S+)$/m.exec(ci)?.[1];
  assert.ok(version, ".ci/run sets DENO_VERSION");
  assert.equal(stages[0]!.from, `denoland/deno:${version}`);
  const install = stages[0]!.runs.filter((run) => run.startsWith("deno install"));
  assert.ok(install.includes("deno install --frozen"), "the image runs `deno install --frozen`");
  assert.match(ci, /^deno install --frozen$/m, ".ci/run installs the same way");
  for (const stage of stages) {
    for (const copy of stage.copies) assert.doesNotMatch(copy, /\.env/, "no .env is copied");
  }
  const ignored = (await readText(".dockerignore")).split("\n").map((l) => l.trim());
  for (const pattern of [".env", ".env.*", "node_modules/", ".wikistream/", "lake/"]) {
    assert.ok(ignored.includes(pattern), `.dockerignore lists ${pattern}`);
  }
});

Deno.test("Dockerfile entrypoints equal the deno.json tasks and run as a non-root user", async () => {
  const stages = dockerStages(await readText("Dockerfile"));
  for (const program of ["producer", "consumer", "broker"]) {
    const stage = stages.find((s) => s.name === program);
    assert.ok(stage, `Dockerfile has a "${program}" target`);
    assert.deepEqual(stage.entrypoint, await taskArgv(`${program}.ts`));
    assert.ok(!stage.entrypoint!.includes("--allow-all") && !stage.entrypoint!.includes("-A"));
    assert.equal(userOf(stages, stage), "deno", `${program} runs as the deno user`);
  }
});

Deno.test("Dockerfile's `deno install --frozen` succeeds on a copy of deno.json and deno.lock", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wikistream_docker_" });
  try {
    await Deno.copyFile(new URL("deno.json", ROOT), `${dir}/deno.json`);
    await Deno.copyFile(new URL("deno.lock", ROOT), `${dir}/deno.lock`);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["install", "--frozen"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, `deno install --frozen failed: ${new TextDecoder().decode(out.stderr)}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
