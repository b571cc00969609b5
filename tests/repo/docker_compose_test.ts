/**
 * Static checks of docker-compose.yaml, Dockerfile and .dockerignore (no Docker
 * engine exists on the build machines): pinned images, documented variables,
 * health checks and start order, names that Compose's DNS resolves, every
 * program option reaching its container, stop grace periods above the drain
 * bounds, and a Dockerfile whose commands equal the deno.json tasks and
 * .ci/run, so they cannot drift apart. When `docker-compose` (1.29) or
 * `docker compose` (v2) is on PATH, its own `config` check runs too.
 */
import assert from "node:assert/strict";
import { parse, parseDocument } from "yaml";
import { envNames, isSecretName, isSecretSpec, type OptionSpecs } from "../../lib/cli/config.ts";
import { CONSUMER_OPTIONS } from "../../lib/consumer/consumer_config.ts";
import { METRICS_OPTIONS } from "../../lib/metrics/metrics_options.ts";
import { PRODUCER_OPTIONS } from "../../lib/producer/producer_config.ts";
import { LOG_OPTIONS } from "../../lib/cli/program.ts";
import { permissionFlags, PROGRAM_PROFILES } from "../../lib/launcher/program_permissions.ts";

const ROOT = new URL("../../", import.meta.url);

async function readText(name: string): Promise<string> {
  return await Deno.readTextFile(new URL(name, ROOT));
}

interface Service {
  image?: string;
  build?: { context: string; target?: string };
  profiles?: string[];
  hostname?: string;
  "depends_on"?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  environment?: Record<string, string | number>;
  volumes?: string[];
  entrypoint?: string[];
  command?: string[] | string;
  networks?: string[] | Record<string, { aliases?: string[] } | null>;
  "stop_grace_period"?: string;
  secrets?: (string | { source: string; target?: string })[];
}

interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
  secrets?: Record<string, { file?: string; external?: boolean }>;
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

/** The deno.json task command that launches `program`, without `--env-file`, as argv. */
async function taskArgv(program: string): Promise<string[]> {
  const config = JSON.parse(await readText("deno.json"));
  const matches = Object.entries(config.tasks as Record<string, string | { command: string }>)
    .map(([name, task]) => [name, typeof task === "string" ? task : task.command] as const)
    .filter(([, command]) =>
      new RegExp(`^deno run .*\\slib/launcher/launch\\.ts ${program}$`).test(command.trim())
    );
  assert.equal(
    matches.length,
    1,
    `deno.json must have exactly one task ending in "deno run … lib/launcher/launch.ts ${program}", found ${matches.length}`,
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
  assert.ok(used.has("USER_AGENT"));
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
});

/**
 * Secret-looking options that are identifiers, not secrets, and may be inline: the consumer's
 * AWS_ACCESS_KEY_ID is the stack's MinIO user (MINIO_ROOT_USER), which MinIO gets inline too.
 */
const PUBLIC_IDENTIFIERS = new Set(["AWS_ACCESS_KEY_ID"]);

Deno.test("docker-compose.yaml passes credentials as file secrets named by *_FILE, never inline", async () => {
  const { services, secrets } = await compose();
  const problems: string[] = [];
  for (const [name, service] of Object.entries(services)) {
    const mounted = new Set(
      (service.secrets ?? []).map((s) => typeof s === "string" ? s : s.target ?? s.source),
    );
    for (const [key, value] of Object.entries(service.environment ?? {})) {
      const secretFile = /^\/run\/secrets\/([\w.-]+)$/.exec(String(value));
      if (key.endsWith("_FILE") && secretFile) {
        if (!mounted.has(secretFile[1]!)) {
          problems.push(`${name}: ${key} names an unmounted secret`);
        }
        continue;
      }
      // a secret value in the environment, inline or from .env, shows in `docker inspect`
      const target = service.build?.target;
      const spec = target === undefined
        ? undefined
        : Object.values(PROGRAM_SPECS[target] ?? {}).find((o) => o.env === key);
      const secret = spec ? isSecretSpec(spec) : isSecretName(key);
      if (secret && !key.endsWith("_FILE") && !PUBLIC_IDENTIFIERS.has(key)) {
        problems.push(`${name}: ${key} is in the environment; mount a file secret instead`);
      }
    }
    for (const secret of mounted) {
      if (!secrets?.[secret]) problems.push(`${name}: secret "${secret}" is not declared`);
    }
  }
  assert.deepEqual(problems, []);
  assert.deepEqual(secrets, { "minio_root_password": { file: "./secrets/minio_root_password" } });
  for (const name of ["consumer", "consumer-redpanda"]) {
    assert.equal(
      services[name]?.environment?.AWS_SECRET_ACCESS_KEY_FILE,
      "/run/secrets/minio_root_password",
      `${name} reads the MinIO password from the file secret`,
    );
  }
  assert.equal(
    services.minio?.environment?.MINIO_ROOT_PASSWORD_FILE,
    "/run/secrets/minio_root_password",
  );
  const ignored = (await readText(".gitignore")).split("\n").map((l) => l.trim());
  assert.ok(ignored.includes("/secrets/*") && ignored.includes("!/secrets/README.md"));
  const dockerIgnored = (await readText(".dockerignore")).split("\n").map((l) => l.trim());
  assert.ok(dockerIgnored.includes("secrets/"), "secrets never reach the build context");
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

/** The option specs of each Dockerfile target that runs a wikistream program. */
const PROGRAM_SPECS: Record<string, OptionSpecs> = {
  producer: { ...PRODUCER_OPTIONS, ...METRICS_OPTIONS, ...LOG_OPTIONS },
  consumer: { ...CONSUMER_OPTIONS, ...METRICS_OPTIONS, ...LOG_OPTIONS },
};

/** Options compose sets to a fixed value on purpose, per target (they describe the container). */
const PINNED: Record<string, ReadonlySet<string>> = {
  producer: new Set([
    "KAFKA_REST_URL", // the proxy service of the stack
    "KAFKA_REST_FLAVOR", // follows the proxy
    "STATE_DIR", // inside the named volume and the --allow-write path
    "METRICS_PORT", // the health check and port mapping use it
    "METRICS_HOST", // reachable through the published port
  ]),
  consumer: new Set([
    "KAFKA_REST_URL",
    "KAFKA_REST_FLAVOR",
    "OUTPUT_URL", // the stack's MinIO bucket
    "S3_ENDPOINT",
    "S3_FORCE_PATH_STYLE",
    "AWS_ACCESS_KEY_ID", // the stack's MinIO user
    "METRICS_PORT",
    "METRICS_HOST",
  ]),
};

/**
 * Options the stack's containers do not take, per target: the REST Proxy access options follow
 * the pinned KAFKA_REST_URL (the stack's proxy has neither authentication nor TLS, and a
 * `.env` meant for `deno task` against a remote proxy must not leak into the containers; the
 * API follows the pinned flavor: v2, as Redpanda has no v3), and the MinIO root credentials
 * have no session token.
 */
const NOT_FOR_THE_STACK: Record<string, ReadonlySet<string>> = {
  producer: new Set([
    "KAFKA_REST_API",
    "KAFKA_REST_CLUSTER_ID",
    "KAFKA_REST_USERNAME",
    "KAFKA_REST_PASSWORD",
    "KAFKA_REST_TOKEN",
    "KAFKA_REST_CA_FILE",
    "KAFKA_REST_CERT_FILE",
    "KAFKA_REST_KEY_FILE",
  ]),
  consumer: new Set([
    "KAFKA_REST_USERNAME",
    "KAFKA_REST_PASSWORD",
    "KAFKA_REST_TOKEN",
    "KAFKA_REST_CA_FILE",
    "KAFKA_REST_CERT_FILE",
    "KAFKA_REST_KEY_FILE",
    "AWS_SESSION_TOKEN",
  ]),
};

/** Options that are test hooks, never passed to a container. */
const TEST_ONLY = new Set(["WIKISTREAM_TEST_PAUSE_AT"]);
/** Options that must differ per replica, so `.env` must not give one value to all. */
const PER_REPLICA = new Set(["CONSUMER_INSTANCE_ID"]);

/** Variables Compose itself reads from `.env` (not interpolated into the file). */
const COMPOSE_OWN = new Set(["COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES", "COMPOSE_FILE"]);

/** Names a container may use for itself. */
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "0.0.0.0"]);

/** Top-level keys that both Compose v2 and Debian's docker-compose 1.29 accept. */
const PORTABLE_TOP_LEVEL = new Set(["services", "volumes", "networks", "configs", "secrets"]);

/**
 * Replaces `${VAR:-default}` and `${VAR-default}` by the default, `${VAR:?msg}` by a
 * placeholder and `${VAR}` by nothing, as Compose would with an empty environment.
 */
function withDefaults(text: string): string {
  return text.split("$$").map((part) =>
    part.replace(
      /\$\{[A-Za-z_][A-Za-z0-9_]*(?:(:?[-?])([^}]*))?\}/g,
      (_m, op: string | undefined, arg: string | undefined) =>
        op?.endsWith("-") ? arg ?? "" : op?.endsWith("?") ? "required-value" : "",
    )
  ).join("$");
}

/** Every `host:port` in a text, after defaults are applied. */
function hostPorts(text: string): { host: string; port: number }[] {
  return [
    ...withDefaults(text).matchAll(
      /(?<![A-Za-z0-9._-])([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?):(\d{1,5})(?![\d.])/g,
    ),
  ].map((m) => ({ host: m[1]!, port: Number(m[2]) }));
}

/** The texts of a service that a program inside it connects with. */
function connectionTexts(service: Service): { where: string; text: string }[] {
  const texts: { where: string; text: string }[] = [];
  for (const [key, value] of Object.entries(service.environment ?? {})) {
    texts.push({ where: `environment ${key}`, text: String(value) });
  }
  const join = (v: string[] | string | undefined) => Array.isArray(v) ? v.join(" ") : v ?? "";
  texts.push({ where: "command", text: join(service.command) });
  texts.push({ where: "entrypoint", text: join(service.entrypoint) });
  texts.push({ where: "healthcheck", text: join(service.healthcheck?.test) });
  return texts;
}

/** Network aliases of a service (long `networks:` form). */
function aliasesOf(service: Service): string[] {
  if (!service.networks || Array.isArray(service.networks)) return [];
  return Object.values(service.networks).flatMap((n) => n?.aliases ?? []);
}

/** The services a service waits for, directly or through others. */
function dependenciesOf(services: Record<string, Service>, name: string): Set<string> {
  const seen = new Set<string>();
  const visit = (n: string) => {
    for (const d of Object.keys(services[n]?.depends_on ?? {})) {
      if (!seen.has(d)) {
        seen.add(d);
        visit(d);
      }
    }
  };
  visit(name);
  return seen;
}

/** The variable names of one `# --- …` section of .env.example, set or commented out. */
function exampleSection(example: string, heading: RegExp): string[] {
  const lines = example.split("\n");
  const start = lines.findIndex((l) => heading.test(l));
  assert.ok(start >= 0, `.env.example has a section matching ${heading}`);
  const names: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^# (---|=====)/.test(line)) break;
    const m = /^#? ?([A-Z][A-Z0-9_]*)=/.exec(line);
    if (m) names.push(m[1]!);
  }
  return names;
}

/**
 * The compose section of a Markdown file: from its `## The real stack…` heading to the next
 * `## ` heading. The full text is in docs/operations.md; the README has a short one.
 */
async function docComposeSection(file: string): Promise<string> {
  const text = await readText(file);
  const start = text.indexOf("\n## The real stack");
  assert.ok(start >= 0, `${file} has a "The real stack" (Docker Compose) section`);
  const end = text.indexOf("\n## ", start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

/** Files that tell users how to start the compose stack. */
const COMPOSE_DOCS = ["docs/operations.md", "README.md"] as const;

/** True when an environment value is the same-named variable from `.env`, e.g. `${X:-1}`. */
function passesThrough(name: string, value: unknown): boolean {
  return typeof value === "string" &&
    new RegExp(`^\\$\\{${name}(?::?[-?][^}]*)?\\}$`).test(value);
}

/** Milliseconds of a Compose duration such as `1m30s` or `45s`. */
function durationMs(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1, us: 0.001 };
  let ms = 0;
  const rest = text.replace(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g, (_m, n: string, unit: string) => {
    ms += Number(n) * units[unit]!;
    return "";
  });
  assert.equal(rest, "", `"${text}" is a Compose duration such as 45s or 1m30s`);
  return ms;
}

/**
 * The longest stop a program's code allows after SIGTERM: the hard-exit bound of
 * runProgram (its default in lib/cli/program.ts, or what the entry file passes) and every
 * drain timeout literal or option default the entry file and its specs name.
 */
async function drainBoundMs(entry: string, specs: OptionSpecs): Promise<number> {
  const program = await readText("lib/cli/program.ts");
  const defaults = [...program.matchAll(/options\.drainTimeoutMs \?\? ([\d_]+)/g)];
  assert.ok(defaults.length > 0, "lib/cli/program.ts has a default drainTimeoutMs");
  const bounds = defaults.map((m) => Number(m[1]!.replaceAll("_", "")));
  const source = await readText(entry);
  for (const m of source.matchAll(/drainTimeoutMs:\s*([^,}\n]+)/g)) {
    const literal = m[1]!.trim();
    assert.match(literal, /^[\d_]+$/, `${entry} passes a literal drainTimeoutMs (got ${literal})`);
    bounds.push(Number(literal.replaceAll("_", "")));
  }
  for (const spec of Object.values(specs)) {
    if (/DRAIN_TIMEOUT/.test(spec.env) && typeof spec.default === "number") {
      bounds.push(spec.default);
    }
  }
  return Math.max(...bounds);
}

Deno.test("compose files parse with the yaml package and use top-level keys Compose v2 and 1.29 both accept", async () => {
  const files = [];
  for await (const entry of Deno.readDir(ROOT)) {
    if (entry.isFile && /^(docker-)?compose(\.[\w-]+)*\.ya?ml$/.test(entry.name)) {
      files.push(entry.name);
    }
  }
  assert.deepEqual(files, ["docker-compose.yaml"]);
  for (const file of files) {
    const doc = parseDocument(await readText(file), { merge: true, uniqueKeys: true });
    assert.deepEqual(doc.errors.map((e) => e.message), [], `${file} parses`);
    assert.deepEqual(doc.warnings.map((e) => e.message), [], `${file} parses without warnings`);
    const top = Object.keys(doc.toJS() as Record<string, unknown>);
    const unportable = top.filter((k) => !PORTABLE_TOP_LEVEL.has(k) && !k.startsWith("x-"));
    assert.deepEqual(
      unportable,
      [],
      `${file}: docker-compose 1.29 rejects these top-level keys (project name: COMPOSE_PROJECT_NAME)`,
    );
  }
});

Deno.test("docker-compose.yaml connects only to service names and network aliases, in start order", async () => {
  const { services } = await compose();
  const owner = new Map<string, string>();
  for (const [name, service] of Object.entries(services)) {
    for (const n of [name, ...aliasesOf(service)]) owner.set(n, name);
  }
  const problems: string[] = [];
  for (const [name, service] of Object.entries(services)) {
    if (service.hostname !== undefined && owner.get(service.hostname) !== name) {
      problems.push(
        `${name}: hostname "${service.hostname}" is not its service name or a network alias ` +
          "(other containers cannot resolve a hostname)",
      );
    }
    const dependencies = dependenciesOf(services, name);
    for (const { where, text } of connectionTexts(service)) {
      for (const { host, port } of hostPorts(text)) {
        if (LOCAL_HOSTS.has(host)) continue;
        const target = owner.get(host);
        if (target === undefined) {
          problems.push(`${name} ${where}: "${host}:${port}" is not a service or network alias`);
        } else if (target !== name && !dependencies.has(target)) {
          problems.push(
            `${name} ${where}: "${host}:${port}" belongs to ${target}, which ${name} does not ` +
              "depend on (it must start before and stop after)",
          );
        }
      }
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("docker-compose.yaml passes every option of a program to each container that runs it", async () => {
  const { services } = await compose();
  const stages = dockerStages(await readText("Dockerfile"));
  const problems: string[] = [];
  for (const [name, service] of Object.entries(services)) {
    const target = service.build?.target;
    if (target === undefined) continue;
    const specs = PROGRAM_SPECS[target];
    assert.ok(specs, `${name}: target "${target}" has option specs in this test`);
    const environment = service.environment ?? {};
    const secret = new Set(Object.values(specs).filter((s) => isSecretSpec(s)).map((s) => s.env));
    for (const env of envNames(specs)) {
      if (TEST_ONLY.has(env) || PER_REPLICA.has(env) || NOT_FOR_THE_STACK[target]!.has(env)) {
        continue;
      }
      // a secret option arrives as <NAME>_FILE, a file secret mounted at /run/secrets/…
      if (secret.has(env) && /^\/run\/secrets\//.test(String(environment[`${env}_FILE`]))) {
        continue;
      }
      if (!(env in environment)) problems.push(`${name}: ${env} is not passed`);
      else if (!PINNED[target]!.has(env) && !passesThrough(env, environment[env])) {
        problems.push(`${name}: ${env} is "${environment[env]}", not \${${env}…} from .env`);
      }
    }
    // Every variable given must be one the program may read (the launcher's --allow-env).
    assert.ok(stages.find((s) => s.name === target), `Dockerfile has a "${target}" target`);
    const allowEnv = permissionFlags(target, { env: {}, args: [], root: "/app" })
      .find((a) => a.startsWith("--allow-env="))?.slice("--allow-env=".length).split(",") ?? [];
    const allowed = (key: string) =>
      allowEnv.some((a) => a.endsWith("*") ? key.startsWith(a.slice(0, -1)) : a === key);
    for (const key of Object.keys(environment)) {
      if (!allowed(key)) problems.push(`${name}: ${key} is not read by the ${target} program`);
    }
  }
  assert.deepEqual(problems, []);
  for (const name of ["producer", "producer-redpanda"]) {
    assert.match(
      String(services[name]?.environment?.USER_AGENT),
      /^\$\{USER_AGENT:\?[^}]*User-Agent[^}]*\}$/,
      `${name}: USER_AGENT is required, with a message saying why`,
    );
  }
});

Deno.test("docker-compose.yaml requires and delivers what the docs and .env.example tell users to set", async () => {
  const text = await readText("docker-compose.yaml");
  const { services } = await compose();
  const used = interpolatedNames(text);
  const toldPerFile: string[][] = [];
  for (const file of COMPOSE_DOCS) {
    const section = await docComposeSection(file);
    const setLine = section.split("\n").find((l) => l.includes("cp .env.example .env"));
    assert.ok(setLine, `${file}'s compose section shows \`cp .env.example .env\``);
    toldPerFile.push(
      [...(setLine.split("#")[1] ?? "").matchAll(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g)]
        .map((m) => m[0]).sort(),
    );
  }
  const required = toldPerFile[0]!;
  assert.deepEqual(required, ["USER_AGENT"]);
  for (const [i, told] of toldPerFile.entries()) {
    assert.deepEqual(told, required, `${COMPOSE_DOCS[i]} tells users to set the same variables`);
    const section = await docComposeSection(COMPOSE_DOCS[i]!);
    assert.match(
      section,
      /> secrets\/minio_root_password/,
      `${COMPOSE_DOCS[i]} shows how to create the file secret secrets/minio_root_password`,
    );
  }
  const example = await readText(".env.example");
  const composeSection = exampleSection(example, /^# --- docker compose/);
  const problems: string[] = [];
  for (const name of required) {
    const uses = [...text.matchAll(new RegExp(`\\$\\{${name}([^}]*)\\}`, "g"))];
    for (const use of uses) {
      if (!/^:\?./.test(use[1]!)) problems.push(`\${${name}${use[1]}} must be :? with a message`);
    }
  }
  for (const name of [...required, ...composeSection]) {
    if (COMPOSE_OWN.has(name)) continue;
    if (!used.has(name)) problems.push(`${name} is documented for compose but not used`);
    for (const [service, s] of Object.entries(services)) {
      const specs = s.build?.target ? PROGRAM_SPECS[s.build.target] : undefined;
      if (!specs || !envNames(specs).includes(name)) continue;
      if (!passesThrough(name, s.environment?.[name])) {
        problems.push(`${name} does not reach ${service}, whose program reads it`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("docker-compose.yaml lets the consumers scale: no fixed name, host port or instance id", async () => {
  const services = (await compose()).services;
  for (const name of ["consumer", "consumer-redpanda"]) {
    const s = services[name] as Service & { "container_name"?: string; ports?: string[] };
    assert.ok(s, name);
    assert.equal(s.container_name, undefined, `${name}: a container_name forbids --scale`);
    assert.equal(s.hostname, undefined, `${name}: one hostname would give replicas one name`);
    assert.equal(s.environment?.CONSUMER_INSTANCE_ID, undefined, `${name}: instance id pinned`);
    for (const port of s.ports ?? []) {
      const host = String(port).split(":").slice(0, -1).join(":");
      assert.match(host, /\d+-\d+/, `${name}: host port "${port}" is not a range`);
    }
  }
});

Deno.test("docker-compose.yaml gives each program a stop_grace_period above its drain bound", async () => {
  const { services } = await compose();
  const stages = dockerStages(await readText("Dockerfile"));
  const MARGIN_MS = 5_000;
  for (const [name, service] of Object.entries(services)) {
    if (service.stop_grace_period !== undefined) durationMs(service.stop_grace_period);
    const target = service.build?.target;
    if (target === undefined) continue;
    const launched = stages.find((s) => s.name === target)?.entrypoint?.at(-1);
    const entry = launched === undefined ? undefined : PROGRAM_PROFILES[launched]?.entry;
    assert.ok(entry !== undefined, `${name}: ${target} launches a program`);
    const bound = await drainBoundMs(entry, PROGRAM_SPECS[target]!);
    assert.ok(
      service.stop_grace_period,
      `${name} sets stop_grace_period (drain bound ${bound} ms)`,
    );
    const grace = durationMs(service.stop_grace_period);
    assert.ok(
      grace >= bound + MARGIN_MS,
      `${name}: stop_grace_period ${service.stop_grace_period} must exceed the drain bound ` +
        `${bound} ms by at least ${MARGIN_MS} ms`,
    );
  }
});

/** The Compose implementations on PATH: Debian's docker-compose 1.29 and the v2 plugin. */
async function composeCommands(): Promise<{ label: string; argv: string[] }[]> {
  const found: { label: string; argv: string[] }[] = [];
  for (const argv of [["docker-compose"], ["docker", "compose"]]) {
    try {
      const out = await new Deno.Command(argv[0]!, {
        args: [...argv.slice(1), "version"],
        stdout: "piped",
        stderr: "null",
      }).output();
      if (out.success) {
        found.push({ label: new TextDecoder().decode(out.stdout).split("\n")[0]!.trim(), argv });
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return found;
}

const COMPOSE_COMMANDS = await composeCommands();
if (COMPOSE_COMMANDS.length === 0) {
  // deno-lint-ignore no-console
  console.warn(
    "docker_compose_test: neither docker-compose nor `docker compose` is on PATH; the " +
      "`config` check is skipped (Debian: apt-get install docker-compose)",
  );
}

Deno.test({
  name: "docker-compose config accepts the file and refuses to start without USER_AGENT",
  ignore: COMPOSE_COMMANDS.length === 0,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "wikistream_compose_" });
    try {
      const run = async (argv: string[], env: string) => {
        await Deno.writeTextFile(`${dir}/env`, env);
        const out = await new Deno.Command(argv[0]!, {
          args: [
            ...argv.slice(1),
            "--env-file",
            `${dir}/env`,
            "-f",
            new URL("docker-compose.yaml", ROOT).pathname,
            "config",
            "-q",
          ],
          clearEnv: true,
          env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: dir },
          stdout: "piped",
          stderr: "piped",
        }).output();
        return { ok: out.success, stderr: new TextDecoder().decode(out.stderr) };
      };
      for (const { label, argv } of COMPOSE_COMMANDS) {
        const good = await run(
          argv,
          "USER_AGENT=wikistream-test/0.1 (https://example.org/contact) deno/2\n",
        );
        assert.ok(good.ok, `${label}: config failed:\n${good.stderr}`);
        assert.doesNotMatch(good.stderr, /WARN|not set/i, `${label}: config warned`);
        const bad = await run(argv, "COMPOSE_PROJECT_NAME=wikistream\n");
        assert.ok(!bad.ok, `${label}: config must fail without USER_AGENT`);
        assert.match(bad.stderr, /set USER_AGENT in \.env/, `${label}: the message says why`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
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
    assert.deepEqual(stage.entrypoint, await taskArgv(program));
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
