import assert from "node:assert/strict";
import { BrokerAuth } from "../../lib/broker/broker_auth.ts";
import { type RunningBroker, startBroker } from "../../lib/broker/broker_server.ts";
import { hashPassword } from "../../lib/broker/password_hash.ts";
import { parseTokensFile } from "../../lib/broker/tokens_file.ts";
import { parseUsersFile } from "../../lib/broker/users_file.ts";

const V2 = "application/vnd.kafka.v2+json";
const CHALLENGE = 'Basic realm="wikistream-broker"';

function basic(user: string, password: string): string {
  return `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(`${user}:${password}`)))}`;
}

async function withAuthBroker(
  users: string,
  tokens: string | undefined,
  fn: (broker: RunningBroker) => Promise<void>,
): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "wikistream-auth-" });
  const auth = BrokerAuth.create({
    users: await parseUsersFile(users, "users"),
    ...(tokens ? { tokens: await parseTokensFile(tokens, "tokens") } : {}),
  });
  const broker = await startBroker({ dataDir, auth, faults: true });
  try {
    await fn(broker);
  } finally {
    await broker.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

async function assertUnauthorized(res: Response, challenges = CHALLENGE): Promise<void> {
  assert.equal(res.status, 401);
  assert.equal(res.headers.get("www-authenticate"), challenges);
  assert.equal(res.headers.get("content-type"), V2);
  const body = await res.json();
  assert.equal(body.error_code, 401);
  assert.match(body.message, /^Unauthorized: missing or invalid credentials/);
}

Deno.test("broker with a users file serves a request with the right Basic credentials (plain and hashed entries)", async () => {
  const hashed = await hashPassword("b0b's p:ss", { iterations: 1000 });
  await withAuthBroker(`# users\n\nalice:s3cret pass\nbob:${hashed}\n`, undefined, async (b) => {
    for (const [user, password] of [["alice", "s3cret pass"], ["bob", "b0b's p:ss"]] as const) {
      const res = await fetch(new URL("topics", b.url), {
        headers: { authorization: basic(user, password), accept: V2 },
      });
      assert.equal(res.status, 200, `${user} is let in`);
      assert.deepEqual(await res.json(), []);
    }
    // again, from the verified-credentials cache
    const again = await fetch(new URL("topics", b.url), {
      headers: { authorization: basic("bob", "b0b's p:ss") },
    });
    assert.equal(again.status, 200);
    await again.body?.cancel();
  });
});

Deno.test("broker with a users file answers 401 with WWW-Authenticate and a REST Proxy error body to wrong, unknown and missing credentials", async () => {
  const hashed = await hashPassword("right", { iterations: 1000 });
  await withAuthBroker(`alice:right\nbob:${hashed}\n`, undefined, async (b) => {
    const cases: Record<string, string | undefined> = {
      "wrong password": basic("alice", "wrong"),
      "wrong password of a hashed user": basic("bob", "wrong"),
      "unknown user": basic("mallory", "right"),
      "empty password": basic("alice", ""),
      "no colon": `Basic ${btoa("alice")}`,
      "not base64": "Basic !!!",
      "a bearer token when only users are configured": "Bearer right",
      "an unknown scheme": "Digest username=alice",
      "missing header": undefined,
    };
    for (const [name, authorization] of Object.entries(cases)) {
      const res = await fetch(new URL("topics", b.url), {
        headers: authorization === undefined ? {} : { authorization },
      });
      await assertUnauthorized(res).catch((error) => {
        throw new Error(`${name}: ${(error as Error).message}`, { cause: error });
      });
    }
  });
});

Deno.test("broker with a users file guards every path: produce, consumers, v3, /_admin and unknown paths", async () => {
  await withAuthBroker("alice:pw\n", undefined, async (b) => {
    const requests: [string, RequestInit][] = [
      ["topics/t1", {
        method: "POST",
        headers: { "content-type": V2.replace("v2", "v2.json") },
        body: JSON.stringify({ records: [{ value: { a: 1 } }] }),
      }],
      ["consumers/g1", { method: "POST", headers: { "content-type": V2 }, body: "{}" }],
      ["v3/clusters", {}],
      ["_admin/faults", {}],
      ["no/such/path", {}],
    ];
    for (const [path, init] of requests) {
      const res = await fetch(new URL(path, b.url), init);
      await assertUnauthorized(res);
    }
    assert.equal(b.stats().partitions.length, 0, "the unauthenticated produce created no topic");
    // and with credentials the same produce goes through
    const ok = await fetch(new URL("topics/t1", b.url), {
      method: "POST",
      headers: {
        authorization: basic("alice", "pw"),
        "content-type": "application/vnd.kafka.json.v2+json",
      },
      body: JSON.stringify({ records: [{ value: { a: 1 } }] }),
    });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  });
});

Deno.test("broker with a tokens file accepts its bearer tokens (plain and {SHA256}) and challenges for both schemes", async () => {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode("hashed-token"));
  const b64 = btoa(String.fromCharCode(...new Uint8Array(digest)));
  await withAuthBroker("alice:pw\n", `plain-token.1\n{SHA256}${b64}\n`, async (b) => {
    for (const token of ["plain-token.1", "hashed-token"]) {
      const res = await fetch(new URL("topics", b.url), {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(res.status, 200, token);
      await res.body?.cancel();
    }
    const basicToo = await fetch(new URL("topics", b.url), {
      headers: { authorization: basic("alice", "pw") },
    });
    assert.equal(basicToo.status, 200);
    await basicToo.body?.cancel();
    const wrong = await fetch(new URL("topics", b.url), {
      headers: { authorization: "Bearer plain-token.2" },
    });
    await assertUnauthorized(wrong, `${CHALLENGE}, Bearer realm="wikistream-broker"`);
  });
});

Deno.test("parseUsersFile rejects a malformed line naming its number and never the password", async () => {
  const bad = [
    ["alice:ok\n# fine\nbob-S3CRET-without-colon\n", 3],
    ["alice:ok\n:S3CRET-orphan\n", 2],
    ["alice:ok\nal ice:S3CRET\n", 2],
    ["alice:\n", 1],
    ["alice:pbkdf2-sha256:10:U0FMVA==:U0VDUkVU\n", 1],
    ["alice:pbkdf2-sha256:1000:U0FMVA==:U0VDUkVU\n", 1],
  ] as const;
  for (const [text, line] of bad) {
    await assert.rejects(parseUsersFile(text, 'BROKER_USERS_FILE "u.txt"'), (error: unknown) => {
      assert.ok(error instanceof SyntaxError);
      assert.match(
        error.message,
        new RegExp(`^Cannot read BROKER_USERS_FILE "u\\.txt": line ${line}\\b`),
      );
      for (const secret of ["S3CRET", "U0FMVA", "U0VDUkVU"]) {
        assert.ok(!error.message.includes(secret), `"${secret}" leaked: ${error.message}`);
      }
      return true;
    });
  }
  await assert.rejects(parseUsersFile("a:1\nb:2\na:3\n", "u"), /line 3 names user "a" again/);
  await assert.rejects(parseUsersFile("# nobody\n\n", "u"), /names no user/);
});

Deno.test("parseTokensFile rejects a malformed line naming its number and never the token", async () => {
  await assert.rejects(parseTokensFile("good\nS3CRET with spaces\n", "t"), (error: unknown) => {
    assert.ok(error instanceof SyntaxError);
    assert.match(error.message, /line 2 is not a bearer token/);
    assert.ok(!error.message.includes("S3CRET"));
    return true;
  });
  await assert.rejects(parseTokensFile("{SHA256}c2hvcnQ=\n", "t"), /line 1 starts with \{SHA256\}/);
});
