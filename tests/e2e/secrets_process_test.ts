/**
 * Secret options in real program processes, spawned with the flags their deno task grants
 * (`programArgs`, clean environment): a `<NAME>_FILE` and `ssm:`/`secretsmanager:` references
 * resolved through the SDK's standard endpoint variables against a local JSON 1.1 server, and
 * the failures (missing parameter, unreachable endpoint, both NAME and NAME_FILE, unreadable
 * file) exiting 2 with a message that names the variable, never the value.
 *
 * @module
 */
import assert from "node:assert/strict";
import { programArgs } from "../_helpers/program_command.ts";
import { startAwsJsonServer } from "../_helpers/aws_json_server.ts";

const FILE_PASSWORD = "filePa55wordValue";
const SSM_TOKEN = "ssmT0kenValue";
const SM_SECRET_KEY = "smS3cretAccessKey";
const PROFILE_KEY_ID = "AKIDPROFILEKEY";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(task: string, args: string[], env: Record<string, string>): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: programArgs(task, args, env, false),
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** A clean environment with HOME in `home` (its ~/.aws holds a default profile). */
async function baseEnv(home: string): Promise<Record<string, string>> {
  await Deno.mkdir(`${home}/.aws`, { recursive: true });
  await Deno.writeTextFile(
    `${home}/.aws/credentials`,
    `[default]\naws_access_key_id = ${PROFILE_KEY_ID}\naws_secret_access_key = profile-secret\n`,
  );
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
    NO_COLOR: "1",
    AWS_REGION: "eu-central-1",
  };
}

function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function assertNoSecret(result: Run): void {
  for (const secret of [FILE_PASSWORD, SSM_TOKEN, SM_SECRET_KEY, "profile-secret"]) {
    assert.ok(!result.stdout.includes(secret), `stdout holds ${secret}`);
    assert.ok(!result.stderr.includes(secret), `stderr holds ${secret}`);
  }
}

Deno.test("producer --print-config resolves a _FILE and an ssm: reference as its task runs it", async () => {
  const home = await Deno.makeTempDir({ prefix: "wikistream_secrets_" });
  await using server = startAwsJsonServer({
    parameters: { "/wikistream/rest-token": SSM_TOKEN },
  });
  try {
    await Deno.writeTextFile(`${home}/kafka_rest_password`, `${FILE_PASSWORD}\n`);
    const result = await run("produce", ["--print-config"], {
      ...await baseEnv(home),
      KAFKA_REST_PASSWORD_FILE: `${home}/kafka_rest_password`,
      KAFKA_REST_TOKEN: "ssm:/wikistream/rest-token",
      AWS_ENDPOINT_URL_SSM: server.url,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(
        `^KAFKA_REST_PASSWORD=<redacted> \\(from KAFKA_REST_PASSWORD_FILE=${home}/kafka_rest_password\\)$`,
        "m",
      ),
    );
    assert.match(
      result.stdout,
      /^KAFKA_REST_TOKEN=<redacted> \(from ssm:\/wikistream\/rest-token\)$/m,
    );
    assertNoSecret(result);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0]!.target, "AmazonSSM.GetParameter");
    assert.deepEqual(server.requests[0]!.body, {
      Name: "/wikistream/rest-token",
      WithDecryption: true,
    });
    // the SDK's default chain found the profile in ~/.aws (the launcher granted the read)
    assert.match(
      server.requests[0]!.authorization,
      new RegExp(`Credential=${PROFILE_KEY_ID}/\\d{8}/eu-central-1/ssm/`),
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("consumer --print-config resolves AWS credentials from a _FILE and a secretsmanager: reference", async () => {
  const home = await Deno.makeTempDir({ prefix: "wikistream_secrets_" });
  await using server = startAwsJsonServer({
    secrets: { "wikistream/minio": JSON.stringify({ secret_key: SM_SECRET_KEY }) },
  });
  try {
    await Deno.writeTextFile(`${home}/key_id`, "minio-user\r\n");
    const result = await run("consume", ["--print-config"], {
      ...await baseEnv(home),
      AWS_ACCESS_KEY_ID_FILE: `${home}/key_id`,
      AWS_SECRET_ACCESS_KEY: "secretsmanager:wikistream/minio#secret_key",
      AWS_ENDPOINT_URL_SECRETS_MANAGER: server.url,
      OUTPUT_URL: "s3://lake/prefix",
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(
        `^AWS_ACCESS_KEY_ID=<redacted> \\(from AWS_ACCESS_KEY_ID_FILE=${home}/key_id\\)$`,
        "m",
      ),
    );
    assert.match(
      result.stdout,
      /^AWS_SECRET_ACCESS_KEY=<redacted> \(from secretsmanager:wikistream\/minio#secret_key\)$/m,
    );
    assertNoSecret(result);
    assert.deepEqual(server.requests.map((r) => r.target), ["secretsmanager.GetSecretValue"]);
    assert.deepEqual(server.requests[0]!.body, { SecretId: "wikistream/minio" });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("a missing parameter and an unreachable endpoint exit 2 naming the variable and reference", async () => {
  const home = await Deno.makeTempDir({ prefix: "wikistream_secrets_" });
  await using server = startAwsJsonServer();
  try {
    const missing = await run("produce", ["--print-config"], {
      ...await baseEnv(home),
      KAFKA_REST_TOKEN: "ssm:/wikistream/missing",
      AWS_ENDPOINT_URL_SSM: server.url,
    });
    assert.equal(missing.code, 2, missing.stderr);
    assert.equal(missing.stdout, "");
    assert.match(
      missing.stderr,
      /^error: Cannot resolve KAFKA_REST_TOKEN from "ssm:\/wikistream\/missing": ParameterNotFound: Parameter \/wikistream\/missing not found\.; check the parameter name/m,
    );
    const unreachable = await run("consume", ["--print-config"], {
      ...await baseEnv(home),
      AWS_ACCESS_KEY_ID: "minio-user",
      AWS_SECRET_ACCESS_KEY: "ssm:/wikistream/minio-secret",
      AWS_ENDPOINT_URL_SSM: `http://127.0.0.1:${closedPort()}`,
    });
    assert.equal(unreachable.code, 2, unreachable.stderr);
    assert.match(
      unreachable.stderr,
      /^error: Cannot resolve AWS_SECRET_ACCESS_KEY from "ssm:\/wikistream\/minio-secret": .*ECONNREFUSED.*\(after 3 attempts\)/m,
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("NAME with NAME_FILE, and an unreadable NAME_FILE, exit 2 naming both, never the value", async () => {
  const home = await Deno.makeTempDir({ prefix: "wikistream_secrets_" });
  try {
    await Deno.writeTextFile(`${home}/kafka_rest_password`, `${FILE_PASSWORD}\n`);
    const both = await run("produce", ["--print-config"], {
      ...await baseEnv(home),
      KAFKA_REST_PASSWORD: SSM_TOKEN,
      KAFKA_REST_PASSWORD_FILE: `${home}/kafka_rest_password`,
    });
    assert.equal(both.code, 2, both.stderr);
    assert.match(
      both.stderr,
      /^error: KAFKA_REST_PASSWORD and KAFKA_REST_PASSWORD_FILE are both set: set only one/m,
    );
    assertNoSecret(both);
    const unreadable = await run("produce", ["--print-config"], {
      ...await baseEnv(home),
      KAFKA_REST_TOKEN_FILE: `${home}/no-such-file`,
    });
    assert.equal(unreadable.code, 2, unreadable.stderr);
    assert.match(
      unreadable.stderr,
      new RegExp(
        `^error: Cannot read KAFKA_REST_TOKEN_FILE "${home}/no-such-file": .*; mount or create the secret file there, or unset KAFKA_REST_TOKEN_FILE`,
        "m",
      ),
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
