/**
 * The mapping from S3 requests to IAM actions that the least-privilege test relies on
 * (tests/_helpers/s3_request_log.ts), one request shape at a time.
 */
import assert from "node:assert/strict";
import {
  iamRequirement,
  iamRequirements,
  type S3RequestRecord,
} from "../_helpers/s3_request_log.ts";

function request(
  method: string,
  path: string,
  query: Record<string, string> = {},
  copy = false,
): S3RequestRecord {
  return { method, path, query, copy, status: 200 };
}

Deno.test("iamRequirement maps object reads and HeadObject to s3:GetObject on the object", () => {
  for (const method of ["GET", "HEAD"]) {
    assert.deepEqual(iamRequirement(request(method, "/b/lake/x.json", { "x-id": "GetObject" })), {
      action: "s3:GetObject",
      resource: "arn:aws:s3:::b/lake/x.json",
      key: "lake/x.json",
    });
  }
});

Deno.test("iamRequirement maps PutObject, conditional or not, and multipart steps to s3:PutObject", () => {
  for (
    const [method, query] of [
      ["PUT", {}],
      ["POST", { uploads: "" }],
      ["PUT", { partNumber: "1", uploadId: "u" }],
      ["POST", { uploadId: "u" }],
    ] as const
  ) {
    assert.equal(iamRequirement(request(method, "/b/k", query)).action, "s3:PutObject");
  }
  assert.equal(
    iamRequirement(request("DELETE", "/b/k", { uploadId: "u" })).action,
    "s3:AbortMultipartUpload",
  );
  assert.equal(iamRequirement(request("DELETE", "/b/k")).action, "s3:DeleteObject");
});

Deno.test("iamRequirement maps ListObjectsV2 to s3:ListBucket on the bucket with the listed prefix", () => {
  assert.deepEqual(
    iamRequirement(request("GET", "/b", { "list-type": "2", prefix: "lake/_manifests/" })),
    { action: "s3:ListBucket", resource: "arn:aws:s3:::b", prefix: "lake/_manifests/" },
  );
  assert.deepEqual(iamRequirement(request("GET", "/b", { "list-type": "2" })).prefix, "");
});

Deno.test("iamRequirement refuses requests it cannot map: subresources, copies, batch deletes", () => {
  for (
    const r of [
      request("GET", "/b/k", { tagging: "" }),
      request("PUT", "/b/k", { acl: "" }),
      request("PUT", "/b/k", {}, true),
      request("POST", "/b", { delete: "" }),
      request("GET", "/b", { versions: "" }),
      request("PUT", "/b"),
    ]
  ) {
    assert.throws(() => iamRequirement(r), RangeError, `${r.method} ${r.path}`);
  }
});

Deno.test("iamRequirements adds s3:ListBucket without a prefix for a 404 to an object read (S3 answers 403 without it)", () => {
  const missing = { ...request("HEAD", "/b/lake/x.parquet"), status: 404 };
  assert.deepEqual(iamRequirements(missing), [
    { action: "s3:GetObject", resource: "arn:aws:s3:::b/lake/x.parquet", key: "lake/x.parquet" },
    { action: "s3:ListBucket", resource: "arn:aws:s3:::b" },
  ]);
  assert.equal(iamRequirements(request("GET", "/b/lake/x.parquet")).length, 1);
  assert.equal(iamRequirements({ ...request("PUT", "/b/k"), status: 412 }).length, 1);
});
