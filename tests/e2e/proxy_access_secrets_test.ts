/**
 * Production access end to end, and no secret in any output (issue 13's "done when"): the
 * producer and the consumer run as their tasks run them (the launcher's flags, a clean
 * environment) against the local broker serving HTTPS with a CA made at test time and
 * requiring HTTP Basic or a bearer token. The REST Proxy credentials and the lake's AWS
 * secret key arrive through every route: the environment, `<NAME>_FILE`, `ssm:` and
 * `secretsmanager:` references (resolved by the real SDK clients against a local JSON 1.1
 * endpoint) and `KAFKA_REST_URL`'s userinfo. Each route is run with `--print-config`, for
 * real (events produced, rows in the lake; the Redpanda dialect too), and against failing
 * endpoints (a wrong password,
 * an unreachable proxy, an unreachable S3 endpoint, a proxy whose CA is not trusted), all at
 * `LOG_LEVEL=debug`, for the producer, the consumer, `verify` and `start`; every byte of their
 * stdout and stderr, and of the broker's debug log, is searched for every secret and for the
 * `Authorization` values made from them.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawnBroker } from "../_helpers/broker_process.ts";
import { programArgs } from "../_helpers/program_command.ts";
import { readRecordedLines, startSseServer } from "../_helpers/sse_server.ts";
import { startAwsJsonServer } from "../_helpers/aws_json_server.ts";
import { makeTestCa } from "../_helpers/test_ca.ts";

const USER_AGENT = "wikistream-tests/0.1 (https://example.org; tests@example.org)";
const EVENTS = 12;

/** Every secret; none may appear in any output, nor any `Authorization` value made of one. */
const SECRETS = {
  passEnv: "envPa55-rest-7d1",
  passFile: "filePa55-rest-a93",
  passSsm: "ssmPa55-rest-c40",
  passSm: "smPa55-rest-e52",
  passUrl: "urlPa55-rest-f11",
  token: "t0ken-bearer-rest-b77",
  wrong: "wrongPa55-rest-0aa",
  awsEnv: "awsEnvS3cret-91b",
  awsFile: "awsFileS3cret-2c8",
  awsSsm: "awsSsmS3cret-5de",
  awsSm: "awsSmS3cret-6f0",
  profile: "profileS3cret-77a",
};
const USERS: Record<string, string> = {
  "user-env": SECRETS.passEnv,
  "user-file": SECRETS.passFile,
  "user-ssm": SECRETS.passSsm,
  "user-sm": SECRETS.passSm,
  "user-url": SECRETS.passUrl,
};

/** The secrets and the `Authorization` header values that would carry them. */
function forbidden(): Record<string, string> {
  const out: Record<string, string> = { ...SECRETS };
  for (const [user, pass] of Object.entries({ ...USERS, "user-env:wrong": SECRETS.wrong })) {
    out[`basic(${user})`] = btoa(`${user.replace(/:wrong$/, "")}:${pass}`);
  }
  return out;
}

interface Run {
  name: string;
  code: number;
  output: string;
}

function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/**
 * Runs a task's program with exactly its task's flags in a clean environment; with `stopWhen`,
 * sends SIGINT once the output matches (or after `stopAfterMs`).
 */
async function runTask(
  name: string,
  task: string,
  env: Record<string, string>,
  o: { args?: string[]; stopWhen?: RegExp; stopAfterMs?: number } = {},
): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: programArgs(task, o.args ?? [], env, false),
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGINT");
    } catch {
      // exited already
    }
  };
  const timer = setTimeout(stop, o.stopAfterMs ?? 60_000);
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      output += text;
      if (o.stopWhen?.test(output)) stop();
    }
  };
  await Promise.all([pump(child.stdout), pump(child.stderr)]);
  const status = await child.status;
  clearTimeout(timer);
  return { name, code: status.code, output };
}

function lastLog(run: Run, msg: string): Record<string, unknown> {
  const line = run.output.split("\n").filter((l) => l.includes(`"msg":"${msg}"`)).at(-1);
  assert.ok(line, `${run.name}: no "${msg}" line in\n${run.output.slice(-3000)}`);
  return JSON.parse(line);
}

Deno.test({
  name: "producer and consumer reach an HTTPS broker with Basic or bearer credentials from the " +
    "environment, _FILE, ssm:, secretsmanager: and URL userinfo, and no output holds a secret",
  sanitizeResources: false, // the children's pipes are drained to their end above
  async fn() {
    await using ca = await makeTestCa();
    const dir = await Deno.makeTempDir({ prefix: "wikistream-access-" });
    const home = `${dir}/home`;
    await Deno.mkdir(`${home}/.aws`, { recursive: true });
    // the reference clients sign with the default chain: here a profile in ~/.aws
    await Deno.writeTextFile(
      `${home}/.aws/credentials`,
      `[default]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = ${SECRETS.profile}\n`,
    );
    const usersFile = `${dir}/users.txt`;
    await Deno.writeTextFile(
      usersFile,
      Object.entries(USERS).map(([user, pass]) => `${user}:${pass}`).join("\n") + "\n",
    );
    const tokensFile = `${dir}/tokens.txt`;
    await Deno.writeTextFile(tokensFile, `${SECRETS.token}\n`);
    const file = async (name: string, value: string) => {
      await Deno.writeTextFile(`${dir}/${name}`, `${value}\n`);
      return `${dir}/${name}`;
    };
    const passwordFile = await file("rest_password", SECRETS.passFile);
    const tokenFile = await file("rest_token", SECRETS.token);
    const wrongFile = await file("rest_wrong", SECRETS.wrong);
    const awsSecretFile = await file("aws_secret", SECRETS.awsFile);

    await using aws = startAwsJsonServer({
      parameters: {
        "/wikistream/rest-password": SECRETS.passSsm,
        "/wikistream/aws-secret": SECRETS.awsSsm,
      },
      secrets: {
        "wikistream/rest": JSON.stringify({ password: SECRETS.passSm }),
        "wikistream/aws": JSON.stringify({ secret: SECRETS.awsSm }),
      },
    });
    const broker = await spawnBroker({
      dataDir: `${dir}/broker`,
      stderrLimit: 1 << 24,
      env: {
        LOG_LEVEL: "debug",
        BROKER_USERS_FILE: usersFile,
        BROKER_TOKENS_FILE: tokensFile,
        BROKER_TLS_CERT_FILE: ca.certFile,
        BROKER_TLS_KEY_FILE: ca.keyFile,
      },
    });
    const lines = await readRecordedLines("6rzan-real-time-system_2026-05-05.ndjson", 40);
    await using sse = await startSseServer({ events: lines, atEnd: "hold" });
    try {
      const proxy = `https://localhost:${broker.url.port}/`;
      const base = {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: home,
        DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
        NO_COLOR: "1",
        LOG_FORMAT: "json",
        LOG_LEVEL: "debug",
        AWS_REGION: "eu-central-1",
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_ENDPOINT_URL_SSM: aws.url,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url,
        KAFKA_REST_URL: proxy,
        KAFKA_REST_CA_FILE: ca.caFile,
      };
      const withUser = (user: string, pass: string) => {
        const u = new URL(proxy);
        u.username = user;
        u.password = pass;
        return u.href;
      };
      /** The REST Proxy credentials, one route each. */
      const routes: Record<string, Record<string, string>> = {
        env: { KAFKA_REST_USERNAME: "user-env", KAFKA_REST_PASSWORD: SECRETS.passEnv },
        file: { KAFKA_REST_USERNAME: "user-file", KAFKA_REST_PASSWORD_FILE: passwordFile },
        ssm: {
          KAFKA_REST_USERNAME: "user-ssm",
          KAFKA_REST_PASSWORD: "ssm:/wikistream/rest-password",
        },
        secretsmanager: {
          KAFKA_REST_USERNAME: "user-sm",
          KAFKA_REST_PASSWORD: "secretsmanager:wikistream/rest#password",
        },
        userinfo: { KAFKA_REST_URL: withUser("user-url", SECRETS.passUrl) },
        token: { KAFKA_REST_TOKEN_FILE: tokenFile },
      };
      const runs: Run[] = [];
      const run = async (...args: Parameters<typeof runTask>) => {
        const r = await runTask(...args);
        runs.push(r);
        return r;
      };
      const producerEnv = (route: string, extra: Record<string, string> = {}) => ({
        ...base,
        ...routes[route],
        USER_AGENT,
        STREAM_URL: sse.url.href,
        STREAM_SINCE: "2020-01-01T00:00:00Z",
        STATE_DIR: `${dir}/state-${route}-${crypto.randomUUID()}`,
        PRODUCE_MAX_EVENTS: String(EVENTS),
        ...extra,
      });

      // every route produces for real; v3 (Confluent Cloud's API) with the bearer token
      for (const route of Object.keys(routes)) {
        const printed = await run(
          `produce --print-config (${route})`,
          "produce",
          producerEnv(route),
          {
            args: ["--print-config"],
          },
        );
        assert.equal(printed.code, 0, printed.output);
        const produced = await run(
          `produce (${route})`,
          "produce",
          producerEnv(route, route === "token" ? { KAFKA_REST_API: "v3" } : {}),
        );
        assert.equal(produced.code, 0, `${route}: ${produced.output.slice(-3000)}`);
        assert.equal(lastLog(produced, "stopped").produced, EVENTS, route);
        assert.equal(lastLog(produced, "producing").proxyTls, "private-ca");
      }
      assert.match(
        runs.find((r) => r.name === "produce --print-config (ssm)")!.output,
        /KAFKA_REST_PASSWORD=<redacted> \(from ssm:\/wikistream\/rest-password\)/,
      );

      // every route consumes for real into its own lake: the events once each (deduped)
      for (const route of Object.keys(routes)) {
        const env = {
          ...base,
          ...routes[route],
          OUTPUT_URL: `${dir}/lake-${route}`,
          CONSUMER_GROUP: `access-${route}`,
          CONSUMER_INSTANCE_ID: `access-${route}`,
          CONSUMER_UNTIL_IDLE_MS: "1500",
        };
        await run(`consume --print-config (${route})`, "consume", env, {
          args: ["--print-config"],
        });
        const consumed = await run(`consume (${route})`, "consume", env);
        assert.equal(consumed.code, 0, `${route}: ${consumed.output.slice(-3000)}`);
        assert.equal(lastLog(consumed, "consumer stopped").rowsWritten, EVENTS, route);
      }

      // the Redpanda dialect takes the same variables
      const redpanda = await run("consume (token, redpanda dialect)", "consume", {
        ...base,
        ...routes.token,
        KAFKA_REST_FLAVOR: "redpanda",
        OUTPUT_URL: `${dir}/lake-redpanda`,
        CONSUMER_GROUP: "access-redpanda",
        CONSUMER_INSTANCE_ID: "access-redpanda",
        CONSUMER_UNTIL_IDLE_MS: "1500",
      });
      assert.equal(redpanda.code, 0, redpanda.output.slice(-3000));
      assert.equal(lastLog(redpanda, "consumer stopped").rowsWritten, EVENTS);

      // refusals: a wrong password and a wrong token stop the programs at once (exit 2)
      const wrong = await run("produce, wrong password", "produce", {
        ...producerEnv("env"),
        KAFKA_REST_PASSWORD: SECRETS.wrong,
      });
      assert.equal(wrong.code, 2, wrong.output.slice(-3000));
      assert.match(wrong.output, /refused the credentials \(HTTP 401\).*check KAFKA_REST_USERNAME/);
      const wrongToken = await run("consume, wrong token", "consume", {
        ...base,
        KAFKA_REST_TOKEN_FILE: wrongFile,
        OUTPUT_URL: `${dir}/lake-refused`,
        CONSUMER_INSTANCE_ID: "refused",
      });
      assert.equal(wrongToken.code, 2, wrongToken.output.slice(-3000));
      assert.match(wrongToken.output, /HTTP 401.*check KAFKA_REST_TOKEN/);
      // the CA not trusted: one line naming the variable, exit 2
      const untrusted = await run("consume, CA not trusted", "consume", {
        ...base,
        ...routes.ssm,
        KAFKA_REST_CA_FILE: "",
        OUTPUT_URL: `${dir}/lake-untrusted`,
        CONSUMER_INSTANCE_ID: "untrusted",
      });
      assert.equal(untrusted.code, 2, untrusted.output.slice(-3000));
      assert.match(
        untrusted.output,
        /signed by a CA this program does not trust; set KAFKA_REST_CA_FILE/,
      );

      // failing endpoints at debug level: an unreachable proxy, an unreachable S3 endpoint
      const deadProxy = `https://127.0.0.1:${closedPort()}/`;
      const down = await run("produce, proxy unreachable", "produce", {
        ...producerEnv("secretsmanager"),
        KAFKA_REST_URL: deadProxy,
      }, { stopWhen: /produce request failed: retrying/, stopAfterMs: 30_000 });
      assert.match(down.output, /produce request failed: retrying/);
      const deadS3 = `http://127.0.0.1:${closedPort()}`;
      const awsRoutes: Record<string, Record<string, string>> = {
        env: { AWS_SECRET_ACCESS_KEY: SECRETS.awsEnv },
        file: { AWS_SECRET_ACCESS_KEY_FILE: awsSecretFile },
        ssm: { AWS_SECRET_ACCESS_KEY: "ssm:/wikistream/aws-secret" },
        secretsmanager: { AWS_SECRET_ACCESS_KEY: "secretsmanager:wikistream/aws#secret" },
      };
      for (const [route, secret] of Object.entries(awsRoutes)) {
        const lakeEnv = {
          ...base,
          ...routes.file,
          ...secret,
          AWS_ACCESS_KEY_ID_FILE: await file(`aws_key_id_${route}`, "AKIDLAKE"),
          OUTPUT_URL: "s3://wikistream-lake/events",
          S3_ENDPOINT: deadS3,
          S3_FORCE_PATH_STYLE: "true",
        };
        const printed = await run(`consume --print-config (AWS ${route})`, "consume", lakeEnv, {
          args: ["--print-config"],
        });
        assert.equal(printed.code, 0, printed.output);
        assert.match(printed.output, /AWS_SECRET_ACCESS_KEY=<redacted>/);
        const s3Down = await run(`consume, S3 unreachable (AWS ${route})`, "consume", {
          ...lakeEnv,
          CONSUMER_INSTANCE_ID: `s3-down-${route}`,
        }, { stopWhen: /lake store failing|S3 call failed/, stopAfterMs: 30_000 });
        assert.match(
          s3Down.output,
          /lake store failing|S3 call failed/,
          s3Down.output.slice(-2000),
        );
        const verified = await run(`verify, S3 unreachable (AWS ${route})`, "verify", lakeEnv, {
          stopAfterMs: 30_000,
        });
        assert.notEqual(verified.code, 0);
        const startEnv = {
          ...lakeEnv,
          USER_AGENT,
          STREAM_URL: sse.url.href,
          STREAM_SINCE: "2020-01-01T00:00:00Z",
          STATE_DIR: `${dir}/state-start-${route}`,
          BROKER_DATA_DIR: `${dir}/broker-start-${route}`,
          BROKER_PORT: "0",
        };
        const startPrinted = await run(`start --print-config (AWS ${route})`, "start", startEnv, {
          args: ["--print-config"],
        });
        assert.equal(startPrinted.code, 0, startPrinted.output);
        const startDown = await run(`start, S3 unreachable (AWS ${route})`, "start", startEnv, {
          stopWhen: /lake store failing|S3 call failed/,
          stopAfterMs: 30_000,
        });
        assert.match(startDown.output, /lake store failing|S3 call failed/);
      }

      await broker.kill("SIGTERM");
      runs.push({ name: "broker (debug)", code: 0, output: broker.stderr() });
      assert.match(broker.stderr(), /"level":"debug"/);
      const secrets = forbidden();
      const leaked = runs.flatMap((r) =>
        Object.entries(secrets).filter(([, v]) => r.output.includes(v)).map(([what]) =>
          `${r.name}: ${what}: ${
            r.output.split("\n").find((l) => l.includes(secrets[what]!))?.slice(0, 300)
          }`
        )
      );
      assert.deepEqual(leaked, []);
      // the references were resolved through the local endpoint, by the real SDK clients
      const targets = new Set(aws.requests.map((r) => r.target));
      assert.ok(targets.has("AmazonSSM.GetParameter"), [...targets].join());
      assert.ok(targets.has("secretsmanager.GetSecretValue"), [...targets].join());
    } finally {
      await broker.kill("SIGTERM");
      await Deno.remove(dir, { recursive: true });
    }
  },
});
