/**
 * Least privilege from real calls: the consumer, `start` and `verify` run against an s3rver
 * that logs every request (`_program_s3_calls.ts`); each request is mapped to the IAM action
 * and resource AWS authorizes it with (`s3_request_log.ts`), and the policy documents of
 * deploy/aws/modules/wikistream/iam.tf, read with the HCL parser, must allow each of them
 * (writer: consumer and start; reader: verify) and grant nothing no program used.
 */
import assert from "node:assert/strict";
import { KAFKA_REST_OPTIONS } from "../../lib/rest_proxy/kafka_rest_options.ts";
import {
  type IamRequirement,
  iamRequirement,
  iamRequirements,
} from "../_helpers/s3_request_log.ts";
import {
  CONSUMER_PREFIX,
  OBSERVED_BUCKET,
  type ObservedCalls,
  observeProgramS3Calls,
  START_PREFIX,
} from "./_program_s3_calls.ts";
import {
  type HclJson,
  iamMatch,
  loadModule,
  type PolicyStatement,
  policyStatements,
  stringsIn,
} from "./_hcl.ts";

const module = await loadModule("modules/wikistream");
const TOPIC = String(module.variables.get("topic")!.default);

/** The value of each expression the lake policies may use, for one lake prefix. */
function valueTable(prefix: string): Record<string, string> {
  const root = prefix === "" ? "" : `${prefix}/`;
  return {
    "aws_s3_bucket.lake.arn": `arn:aws:s3:::${OBSERVED_BUCKET}`,
    "local.lake_root": root,
    "local.lake_objects": `arn:aws:s3:::${OBSERVED_BUCKET}/${root}`,
    "var.topic": TOPIC,
  };
}

function document(name: string): HclJson {
  const doc = module.data.get(`aws_iam_policy_document.${name}`);
  assert.ok(doc, `iam.tf declares data "aws_iam_policy_document" "${name}"`);
  return doc;
}

/** The S3 grants of a policy document for one lake prefix. */
function s3Statements(name: string, prefix: string): PolicyStatement[] {
  return policyStatements(document(name), valueTable(prefix));
}

/** Whether a statement's conditions hold for a request (only s3:prefix is known). */
function conditionsHold(statement: PolicyStatement, request: IamRequirement): boolean {
  return statement.conditions.every((c) => {
    assert.equal(c.variable, "s3:prefix", `unexpected condition key ${c.variable}`);
    if (request.prefix === undefined) return false;
    if (c.test === "StringLike") return c.values.some((v) => iamMatch(v, request.prefix!));
    assert.equal(c.test, "StringEquals", `unexpected condition operator ${c.test}`);
    return c.values.includes(request.prefix);
  });
}

function allows(statement: PolicyStatement, request: IamRequirement): boolean {
  return statement.effect === "Allow" &&
    statement.actions.some((a) => iamMatch(a, request.action)) &&
    statement.resources.some((r) => iamMatch(r, request.resource)) &&
    conditionsHold(statement, request);
}

/** Requests per lake prefix, with the statements evaluated for that prefix. */
interface PolicyRun {
  prefix: string;
  statements: PolicyStatement[];
  requests: IamRequirement[];
}

/**
 * What a policy lacks (requests no statement allows) and what it grants beyond the
 * requests (an action on a resource, or an s3:prefix value, that no request used).
 */
function comparePolicy(runs: PolicyRun[]): { missing: string[]; unused: string[] } {
  const missing = new Set<string>();
  for (const run of runs) {
    for (const request of run.requests) {
      if (!run.statements.some((s) => allows(s, request))) {
        missing.add(
          `${request.action} on ${request.resource}` +
            (request.prefix === undefined ? "" : ` (s3:prefix "${request.prefix}")`),
        );
      }
    }
  }
  const unused: string[] = [];
  const statementCount = runs[0]!.statements.length;
  for (let i = 0; i < statementCount; i++) {
    const written = runs[0]!.statements[i]!;
    if (written.effect !== "Allow") continue;
    for (const [a, action] of written.actions.entries()) {
      for (const [r] of written.resources.entries()) {
        const values = written.conditions.flatMap((c) => c.values.map((_, v) => v));
        const used = (value?: number) =>
          runs.some((run) => {
            const s = run.statements[i]!;
            return run.requests.some((request) =>
              iamMatch(s.actions[a]!, request.action) &&
              iamMatch(s.resources[r]!, request.resource) &&
              (value === undefined
                ? conditionsHold(s, request)
                : s.conditions.some((c) => iamMatch(c.values[value]!, request.prefix ?? "\0")))
            );
          });
        if (!used()) unused.push(`${action} on ${written.resources[r]} (${written.sid})`);
        for (const v of values) {
          if (!used(v)) {
            unused.push(
              `${action} with s3:prefix ${written.conditions[0]!.values[v]} (${written.sid})`,
            );
          }
        }
      }
    }
  }
  return { missing: [...missing].sort(), unused };
}

/** Whether a request is about a lake prefix; a bucket-wide one (no key, no prefix) is about all. */
function underPrefix(request: IamRequirement, prefix: string): boolean {
  const about = request.key ?? request.prefix;
  return about === undefined || about.startsWith(`${prefix}/`);
}

let observed: Promise<ObservedCalls> | undefined;
/** Runs the programs once for all tests of this file. */
function calls(): Promise<ObservedCalls> {
  observed ??= (async () => {
    const home = await Deno.makeTempDir({ prefix: "wikistream-iam-" });
    try {
      return await observeProgramS3Calls(home);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  })();
  return observed;
}

function writerRuns(observedCalls: ObservedCalls, statements = s3Statements): PolicyRun[] {
  return [
    {
      prefix: CONSUMER_PREFIX,
      statements: statements("lake_writer", CONSUMER_PREFIX),
      requests: observedCalls.consumer.flatMap(iamRequirements),
    },
    {
      prefix: START_PREFIX,
      statements: statements("lake_writer", START_PREFIX),
      requests: observedCalls.start.flatMap(iamRequirements),
    },
  ];
}

function readerRuns(observedCalls: ObservedCalls): PolicyRun[] {
  const requests = observedCalls.verify.flatMap(iamRequirements);
  return [CONSUMER_PREFIX, START_PREFIX].map((prefix) => ({
    prefix,
    statements: s3Statements("lake_reader", prefix),
    requests: requests.filter((r) => underPrefix(r, prefix)),
  }));
}

Deno.test("the lake policies' templates are the lake layout: <prefix>/ then the topic's folders, and the topic is KAFKA_TOPIC's default", () => {
  assert.equal(
    module.locals.get("lake_root"),
    '${var.lake_prefix == "" ? "" : "${var.lake_prefix}/"}',
  );
  assert.equal(module.locals.get("lake_objects"), "${aws_s3_bucket.lake.arn}/${local.lake_root}");
  assert.equal(TOPIC, KAFKA_REST_OPTIONS.kafkaTopic.default);
});

Deno.test({
  name:
    "every S3 call of the consumer and start is granted by the writer policy, and the policy grants nothing they did not call",
  async fn() {
    const observedCalls = await calls();
    assert.ok(observedCalls.consumer.length > 20 && observedCalls.start.length > 10);
    for (const r of [...observedCalls.consumer, ...observedCalls.start]) {
      assert.ok(r.status < 500, `${r.method} ${r.path}: HTTP ${r.status}`);
    }
    const actions = new Set(
      [...observedCalls.consumer, ...observedCalls.start].map((r) => iamRequirement(r).action),
    );
    assert.deepEqual(
      [...actions].sort(),
      ["s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject"],
    );
    assert.deepEqual(comparePolicy(writerRuns(observedCalls)), { missing: [], unused: [] });
  },
});

Deno.test({
  name:
    "every S3 call of verify is granted by the reader policy, and the policy grants nothing verify did not call",
  async fn() {
    const observedCalls = await calls();
    const actions = new Set(observedCalls.verify.map((r) => iamRequirement(r).action));
    assert.deepEqual([...actions].sort(), ["s3:GetObject", "s3:ListBucket"]);
    assert.deepEqual(comparePolicy(readerRuns(observedCalls)), { missing: [], unused: [] });
  },
});

Deno.test({
  name: "the least-privilege comparison fails for a missing grant and for an extra one",
  async fn() {
    const observedCalls = await calls();
    const withoutDelete = (name: string, prefix: string) =>
      s3Statements(name, prefix).filter((s) => !s.actions.includes("s3:DeleteObject"));
    const lacking = comparePolicy(writerRuns(observedCalls, withoutDelete));
    assert.ok(lacking.missing.length > 0);
    assert.ok(
      lacking.missing.every((m) => m.startsWith("s3:DeleteObject on ")),
      lacking.missing[0],
    );
    const withExtra = (name: string, prefix: string) =>
      s3Statements(name, prefix).map((s) =>
        s.sid === "DeleteConditionalCreateProbe"
          ? {
            ...s,
            resources: [...s.resources, valueTable(prefix)["local.lake_objects"] + `${TOPIC}/*`],
          }
          : s
      );
    const extra = comparePolicy(writerRuns(observedCalls, withExtra));
    assert.deepEqual(extra.missing, []);
    assert.deepEqual(extra.unused, [
      `s3:DeleteObject on arn:aws:s3:::${OBSERVED_BUCKET}/${CONSUMER_PREFIX}/${TOPIC}/* (DeleteConditionalCreateProbe)`,
    ]);
  },
});

Deno.test('no policy of the module allows s3:* or any action on Resource "*"; the optional KMS grants are KMS only', () => {
  for (const [key, doc] of module.data) {
    if (!key.startsWith("aws_iam_policy_document.")) continue;
    const statements = [
      ...(doc.statement ?? []),
      ...((doc.dynamic?.statement ?? []) as HclJson[]).flatMap((d) => d.content ?? []),
    ] as HclJson[];
    for (const s of statements) {
      if ((s.effect ?? "Allow") !== "Allow") continue;
      for (const action of s.actions ?? []) {
        assert.ok(!String(action).includes("*"), `${key}: a wildcard action ${action}`);
      }
      for (const resource of s.resources ?? []) {
        assert.notEqual(resource, "*", `${key}: Resource "*"`);
      }
    }
    if (key.endsWith("_trust")) continue; // trust policies: sts:AssumeRole for services
    for (const d of (doc.dynamic?.statement ?? []) as HclJson[]) {
      for (const content of d.content ?? []) {
        for (const action of content.actions ?? []) {
          assert.match(String(action), /^kms:(Decrypt|GenerateDataKey)$/, `${key}: ${action}`);
        }
      }
    }
  }
});

Deno.test("the REST Proxy secrets policy reads exactly the module's SecureString parameters, and the roles get only their policies", () => {
  const secrets = document("rest_secrets");
  assert.deepEqual(
    secrets.statement.map((s: HclJson) => [s.actions, s.resources]),
    [[["ssm:GetParameter"], "${[for parameter in aws_ssm_parameter.rest : parameter.arn]}"]],
  );
  const rest = module.resources.get("aws_ssm_parameter.rest")!;
  assert.equal(rest.type, "SecureString");
  const attachments = [...module.resources]
    .filter(([k]) => k.startsWith("aws_iam_role_policy_attachment."))
    .map(([, v]) => `${v.role} <- ${v.policy_arn}`)
    .sort();
  assert.deepEqual(attachments, [
    "${aws_iam_role.consumer.name} <- ${aws_iam_policy.lake_writer.arn}",
    "${aws_iam_role.consumer.name} <- ${aws_iam_policy.rest_secrets[0].arn}",
    "${aws_iam_role.execution[0].name} <- arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
    "${aws_iam_role.producer[0].name} <- ${aws_iam_policy.producer_state[0].arn}",
    "${aws_iam_role.producer[0].name} <- ${aws_iam_policy.rest_secrets[0].arn}",
  ]);
  // no inline role policies that could grant more
  assert.ok(![...module.resources.keys()].some((k) => k.startsWith("aws_iam_role_policy.")));
  // the bucket policy only denies
  const bucket = document("lake_bucket");
  assert.ok(bucket.statement.every((s: HclJson) => s.effect === "Deny"));
  assert.ok(stringsIn(bucket).some((s) => s.text === "aws:SecureTransport"));
});
