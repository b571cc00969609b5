import assert from "node:assert/strict";
import {
  createAwsReferenceResolver,
  secretStringValue,
} from "../../lib/secrets/aws_reference_resolver.ts";
import { startAwsJsonServer } from "../_helpers/aws_json_server.ts";

const CREDENTIALS = { accessKeyId: "AKIDTESTRESOLVER", secretAccessKey: "resolver-test-key" };

function resolverFor(url: string) {
  return createAwsReferenceResolver({
    region: "eu-west-1",
    ssmEndpoint: url,
    secretsManagerEndpoint: url,
    credentials: CREDENTIALS,
  });
}

Deno.test("createAwsReferenceResolver() gets an SSM parameter with decryption, signed with SigV4", async () => {
  await using server = startAwsJsonServer({ parameters: { "/wikistream/rest-password": "pw-1" } });
  const resolver = resolverFor(server.url);
  try {
    assert.equal(
      await resolver.resolve({ kind: "ssm", name: "/wikistream/rest-password" }),
      "pw-1",
    );
  } finally {
    resolver.close();
  }
  assert.equal(server.requests.length, 1);
  const [request] = server.requests;
  assert.equal(request!.target, "AmazonSSM.GetParameter");
  assert.deepEqual(request!.body, { Name: "/wikistream/rest-password", WithDecryption: true });
  assert.match(request!.authorization, /Credential=AKIDTESTRESOLVER\/\d{8}\/eu-west-1\/ssm\//);
});

Deno.test("createAwsReferenceResolver() gets a Secrets Manager JSON key or the whole SecretString", async () => {
  const secret = JSON.stringify({ username: "u", password: "pw-2" });
  await using server = startAwsJsonServer({ secrets: { "wikistream/rest": secret } });
  const resolver = resolverFor(server.url);
  try {
    assert.equal(
      await resolver.resolve({
        kind: "secretsmanager",
        secretId: "wikistream/rest",
        jsonKey: "password",
      }),
      "pw-2",
    );
    assert.equal(
      await resolver.resolve({ kind: "secretsmanager", secretId: "wikistream/rest" }),
      secret,
    );
  } finally {
    resolver.close();
  }
  assert.deepEqual(server.requests.map((r) => r.target), [
    "secretsmanager.GetSecretValue",
    "secretsmanager.GetSecretValue",
  ]);
  assert.deepEqual(server.requests[0]!.body, { SecretId: "wikistream/rest" });
  assert.match(server.requests[0]!.authorization, /\/eu-west-1\/secretsmanager\/aws4_request/);
});

Deno.test("createAwsReferenceResolver() names the AWS error and what to check, without retrying it", async () => {
  await using server = startAwsJsonServer();
  const resolver = resolverFor(server.url);
  try {
    await assert.rejects(
      resolver.resolve({ kind: "ssm", name: "/missing" }),
      (error: Error) => {
        assert.match(error.message, /^ParameterNotFound: Parameter \/missing not found\.; /);
        assert.match(error.message, /ssm:GetParameter \(and kms:Decrypt/);
        return true;
      },
    );
    await assert.rejects(
      resolver.resolve({ kind: "secretsmanager", secretId: "nope" }),
      /ResourceNotFoundException: Secrets Manager can't find the specified secret\.; .*secretsmanager:GetSecretValue/,
    );
  } finally {
    resolver.close();
  }
  assert.equal(server.requests.length, 2, "a not-found answer is not retried");
});

Deno.test("createAwsReferenceResolver() retries throttling, then reports the attempts", async () => {
  await using server = startAwsJsonServer({ parameters: { "/p": "v" }, throttleFirst: 1 });
  const resolver = resolverFor(server.url);
  try {
    assert.equal(await resolver.resolve({ kind: "ssm", name: "/p" }), "v");
    assert.equal(server.requests.length, 2, "one throttled attempt, then the answer");
    server.requests.length = 0;
    await using throttled = startAwsJsonServer({ throttleFirst: 10 });
    const always = resolverFor(throttled.url);
    try {
      await assert.rejects(
        always.resolve({ kind: "ssm", name: "/p" }),
        /ThrottlingException: Rate exceeded \(after 3 attempts\); /,
      );
    } finally {
      always.close();
    }
    assert.equal(throttled.requests.length, 3);
  } finally {
    resolver.close();
  }
});

Deno.test("createAwsReferenceResolver() reports an unreachable endpoint as a network error", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const resolver = createAwsReferenceResolver({
    region: "us-east-1",
    ssmEndpoint: `http://127.0.0.1:${port}`,
    credentials: CREDENTIALS,
    maxAttempts: 2,
  });
  try {
    await assert.rejects(
      resolver.resolve({ kind: "ssm", name: "/p" }),
      /ECONNREFUSED.*\(after 2 attempts\); check the parameter name/,
    );
  } finally {
    resolver.close();
  }
});

Deno.test("secretStringValue() picks a JSON key and explains what is wrong otherwise", () => {
  assert.equal(secretStringValue('{"password":"p","port":5432}', "password"), "p");
  assert.equal(secretStringValue('{"password":"p","port":5432}', "port"), "5432");
  assert.equal(secretStringValue("raw text", undefined), "raw text");
  assert.throws(() => secretStringValue("raw text", "password"), /is not a JSON object/);
  assert.throws(
    () => secretStringValue('{"user":"u"}', "password"),
    /has no key "password" \(its keys: "user"\)/,
  );
  assert.throws(() => secretStringValue('{"password":{"a":1}}', "password"), /not a string/);
});
