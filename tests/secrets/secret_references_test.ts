import assert from "node:assert/strict";
import {
  formatSecretReference,
  isSecretReference,
  parseSecretReference,
} from "../../lib/secrets/secret_references.ts";

Deno.test("parseSecretReference() reads ssm: and secretsmanager: with and without #key", () => {
  assert.deepEqual(parseSecretReference("ssm:/wikistream/rest-password"), {
    kind: "ssm",
    name: "/wikistream/rest-password",
  });
  assert.deepEqual(parseSecretReference("secretsmanager:wikistream/rest#password"), {
    kind: "secretsmanager",
    secretId: "wikistream/rest",
    jsonKey: "password",
  });
  assert.deepEqual(parseSecretReference("secretsmanager:wikistream/rest"), {
    kind: "secretsmanager",
    secretId: "wikistream/rest",
  });
  const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:wikistream/rest-AbCdEf";
  assert.deepEqual(parseSecretReference(`secretsmanager:${arn}#password`), {
    kind: "secretsmanager",
    secretId: arn,
    jsonKey: "password",
  });
  assert.equal(parseSecretReference("plain-password"), undefined);
  assert.equal(parseSecretReference("SSM:/upper-case-is-a-value"), undefined);
});

Deno.test("parseSecretReference() throws SyntaxError for a reference that names nothing", () => {
  assert.throws(() => parseSecretReference("ssm:"), SyntaxError);
  assert.throws(() => parseSecretReference("secretsmanager:#password"), SyntaxError);
  assert.throws(() => parseSecretReference("secretsmanager:wikistream/rest#"), SyntaxError);
});

Deno.test("isSecretReference() and formatSecretReference() round-trip", () => {
  for (const text of ["ssm:/a/b", "secretsmanager:a/b#k", "secretsmanager:a"]) {
    assert.ok(isSecretReference(text));
    assert.equal(formatSecretReference(parseSecretReference(text)!), text);
  }
  assert.ok(!isSecretReference(undefined));
  assert.ok(!isSecretReference("hunter2"));
});
