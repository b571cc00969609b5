import assert from "node:assert/strict";
import { isCredentialParam, redactUrl, redactUrlsInText } from "../../lib/cli/redact_url.ts";

Deno.test("redactUrl() removes the userinfo and credential-looking parameter values", () => {
  assert.equal(
    redactUrl(new URL("http://user:pass@proxy:8082/")),
    "http://<redacted>@proxy:8082/",
  );
  assert.equal(redactUrl("http://justuser@proxy:8082"), "http://<redacted>@proxy:8082");
  assert.equal(
    redactUrl("https://stream.example/v2/stream/rc?since=2026-01-01&token=abc&api_key=k#x"),
    "https://stream.example/v2/stream/rc?since=2026-01-01&token=<redacted>&api_key=<redacted>#x",
  );
  assert.equal(
    redactUrl(
      "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA%2F&X-Amz-Signature=ff",
    ),
    "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=<redacted>&X-Amz-Credential=<redacted>" +
      "&X-Amz-Signature=<redacted>",
  );
  assert.equal(
    redactUrl("http://h/cb#access_token=t&state=1"),
    "http://h/cb#access_token=<redacted>&state=1",
  );
  assert.equal(redactUrl("s3://AKIA:secret@bucket/prefix"), "s3://<redacted>@bucket/prefix");
  assert.equal(redactUrl("http://u:p@ss@host/a@b"), "http://<redacted>@host/a@b");
  assert.equal(redactUrl("http://localhost:8082/"), "http://localhost:8082/");
});

Deno.test("isCredentialParam() matches credential names, also percent-encoded, and not others", () => {
  for (
    const name of [
      "token",
      "access_token",
      "api_key",
      "apikey",
      "key",
      "secret",
      "client_secret",
      "password",
      "passwd",
      "pwd",
      "signature",
      "sig",
      "auth",
      "X-Amz-Security-Token",
      "AWSAccessKeyId",
      "sessionid",
      "%74oken",
    ]
  ) assert.ok(isCredentialParam(name), name);
  for (const name of ["since", "limit", "wiki", "format"]) {
    assert.ok(!isCredentialParam(name), name);
  }
});

Deno.test("redactUrlsInText() redacts every URL in a message and keeps the punctuation around it", () => {
  assert.equal(
    redactUrlsInText(
      'Cannot produce to "http://u:pw@proxy:8082/topics/t": error sending request for url ' +
        "(http://proxy:8082/x?token=abc): refused. See https://ok.example/doc.",
    ),
    'Cannot produce to "http://<redacted>@proxy:8082/topics/t": error sending request for url ' +
      "(http://proxy:8082/x?token=<redacted>): refused. See https://ok.example/doc.",
  );
  assert.equal(redactUrlsInText("no url here"), "no url here");
});
