/**
 * Records the S3 requests an s3rver receives and maps each to the IAM action and
 * resource AWS would authorize it against, so a test can compare what the programs
 * really call with what an IAM policy grants.
 *
 * The mapping follows the S3 authorization reference: HeadObject needs `s3:GetObject`,
 * ListObjectsV2 (and v1, and HeadBucket) need `s3:ListBucket` on the bucket with the
 * listed prefix as the `s3:prefix` condition key, a conditional PutObject
 * (`If-None-Match: *`) and every multipart step but the abort need `s3:PutObject`.
 * A request it does not know (a subresource such as `?tagging`, a copy, a batch
 * delete) maps to no action, and {@linkcode iamRequirement} throws, so a test fails
 * instead of silently granting too little. {@linkcode iamRequirements} adds what an answer
 * implies: S3 answers a GetObject or HeadObject of a missing key with 404 only when the
 * caller may also `s3:ListBucket` the bucket (without any `s3:prefix`, which such a request
 * does not carry), and with 403 AccessDenied otherwise.
 *
 * @module
 */

/** One request as the server saw it. */
export interface S3RequestRecord {
  /** HTTP method. */
  method: string;
  /** Decoded path, `/bucket` or `/bucket/key` (path-style addressing). */
  path: string;
  /** Query parameters. */
  query: Record<string, string>;
  /** Whether a copy source header was sent. */
  copy: boolean;
  /** HTTP status of the answer. */
  status: number;
}

/** What IAM checks for one request. */
export interface IamRequirement {
  /** The action, for example `s3:GetObject`. */
  action: string;
  /** The resource ARN (`arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`). */
  resource: string;
  /** The object key (object actions only). */
  key?: string;
  /** The `s3:prefix` condition key value (ListBucket only). */
  prefix?: string;
}

const OBJECT_SUBRESOURCES = [
  "acl",
  "attributes",
  "legal-hold",
  "restore",
  "retention",
  "select",
  "tagging",
  "torrent",
];

/**
 * Creates a Koa middleware that appends every request to `records` once answered.
 *
 * @param records where the requests go
 * @returns the middleware (put it first in s3rver's list to see the raw request)
 */
export function requestLogMiddleware(
  records: S3RequestRecord[],
): (ctx: KoaContext, next: () => Promise<unknown>) => Promise<void> {
  return async (ctx, next) => {
    const entry: S3RequestRecord = {
      method: ctx.method,
      path: decodeURIComponent(ctx.path),
      query: Object.fromEntries(
        Object.entries(ctx.query).map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : v ?? ""]),
      ),
      copy: ctx.get("x-amz-copy-source") !== "",
      status: 0,
    };
    try {
      await next();
    } finally {
      entry.status = ctx.status;
      records.push(entry);
    }
  };
}

/** The part of a Koa context the log reads. */
export interface KoaContext {
  /** HTTP method. */
  method: string;
  /** Request path. */
  path: string;
  /** Parsed query. */
  query: Record<string, string | string[] | undefined>;
  /** A request header ("" when absent). */
  get(name: string): string;
  /** Response status. */
  status: number;
}

/**
 * The IAM action and resource that authorize one S3 request.
 *
 * @param record the request
 * @returns the requirement
 * @throws {RangeError} for a request this mapping does not know
 */
export function iamRequirement(record: S3RequestRecord): IamRequirement {
  const match = /^\/([^/]+)(?:\/(.*))?$/.exec(record.path);
  if (!match) throw new RangeError(`Cannot map S3 request "${record.method} ${record.path}"`);
  const bucket = match[1]!;
  const key = match[2];
  const q = record.query;
  const unknown = () =>
    new RangeError(
      `Cannot map S3 request "${record.method} ${record.path}?${new URLSearchParams(q)}" to an ` +
        "IAM action; extend tests/_helpers/s3_request_log.ts and the policy",
    );
  if (key === undefined || key === "") {
    const bucketArn = `arn:aws:s3:::${bucket}`;
    const otherSubresource = Object.keys(q).some((k) =>
      !["list-type", "prefix", "start-after", "continuation-token", "max-keys", "delimiter"]
        .includes(k) && !k.startsWith("x-id")
    );
    if (otherSubresource) throw unknown();
    if (record.method === "GET") {
      return { action: "s3:ListBucket", resource: bucketArn, prefix: q.prefix ?? "" };
    }
    if (record.method === "HEAD") return { action: "s3:ListBucket", resource: bucketArn };
    throw unknown();
  }
  const resource = `arn:aws:s3:::${bucket}/${key}`;
  if (OBJECT_SUBRESOURCES.some((name) => name in q) || record.copy) throw unknown();
  switch (record.method) {
    case "GET":
    case "HEAD":
      if ("uploadId" in q) return { action: "s3:ListMultipartUploadParts", resource, key };
      return { action: "s3:GetObject", resource, key };
    case "PUT":
      return { action: "s3:PutObject", resource, key };
    case "POST":
      if ("uploads" in q || "uploadId" in q) return { action: "s3:PutObject", resource, key };
      throw unknown();
    case "DELETE":
      if ("uploadId" in q) return { action: "s3:AbortMultipartUpload", resource, key };
      return { action: "s3:DeleteObject", resource, key };
  }
  throw unknown();
}

/**
 * Everything IAM must allow for a request to get the answer it got: the request's own
 * action, and for a 404 to an object read also `s3:ListBucket` on the bucket with no
 * `s3:prefix` (without it S3 answers 403, which the programs take for refused credentials).
 *
 * @param record the request
 * @returns the requirements
 * @throws {RangeError} for a request this mapping does not know
 */
export function iamRequirements(record: S3RequestRecord): IamRequirement[] {
  const own = iamRequirement(record);
  if (own.action !== "s3:GetObject" || record.status !== 404) return [own];
  const bucket = own.resource.slice("arn:aws:s3:::".length).split("/")[0]!;
  return [own, { action: "s3:ListBucket", resource: `arn:aws:s3:::${bucket}` }];
}
