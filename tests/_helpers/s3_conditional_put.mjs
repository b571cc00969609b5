/**
 * Koa middleware that makes the npm `s3rver` honour `If-None-Match: *` on PutObject as
 * AWS S3 does (s3rver itself ignores the header): a conditional PUT of a key that exists
 * gets 412 PreconditionFailed and writes nothing. Conditional PUTs of one key are
 * serialized inside the server, so the existence check and the write are one atomic step
 * against each other; a waiting one then sees the winner's object and gets 412.
 * Unconditional PUTs are not held back (on S3 they overwrite anyway).
 *
 * Plain JavaScript so that s3rver running under Node.js (the TLS variant in
 * `s3_server.ts`) loads this same file. The middleware runs just before s3rver's router,
 * so after its virtual-host rewrite but before its signature check.
 *
 * @module
 */

/** Object subresources (`?tagging`, `?uploadId`, …): a PUT with one is not a PutObject. */
const OBJECT_SUBRESOURCES = [
  "acl",
  "legal-hold",
  "retention",
  "select",
  "tagging",
  "torrent",
  "uploadId",
  "uploads",
];

/**
 * The S3 error body AWS sends for a failed `If-None-Match`.
 *
 * @param {string} resource the request path
 * @returns {string} the XML text
 */
function preconditionFailedXml(resource) {
  const escape = (/** @type {string} */ s) =>
    s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>' +
    "<Message>At least one of the pre-conditions you specified did not hold</Message>" +
    `<Condition>If-None-Match</Condition><Resource>${escape(resource)}</Resource>` +
    `<RequestId>${crypto.randomUUID().replace(/-/g, "").slice(0, 16).toUpperCase()}</RequestId>` +
    "</Error>";
}

/**
 * The bucket and key of a conditional PutObject request, or `undefined` for any other.
 *
 * @param {{ method: string, path: string, query: Record<string, unknown>,
 *   get(name: string): string }} ctx the Koa context
 * @returns {{ bucket: string, key: string } | undefined} the target
 */
function conditionalPutTarget(ctx) {
  if (ctx.method !== "PUT" || ctx.get("if-none-match").trim() !== "*") return undefined;
  if (OBJECT_SUBRESOURCES.some((name) => name in ctx.query)) return undefined;
  const match = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
  if (!match) return undefined;
  return { bucket: decodeURIComponent(match[1]), key: decodeURIComponent(match[2]) };
}

/**
 * Creates the middleware; each call has its own per-key queue, so use one per server.
 *
 * @returns {(ctx: any, next: () => Promise<unknown>) => Promise<unknown>} the middleware
 */
export function conditionalPutMiddleware() {
  /** @type {Map<string, Promise<void>>} the last queued conditional PUT per bucket/key */
  const tails = new Map();
  return async function conditionalPut(ctx, next) {
    const target = conditionalPutTarget(ctx);
    if (target === undefined) return await next();
    const id = `${target.bucket}/${target.key}`;
    const previous = tails.get(id) ?? Promise.resolve();
    /** @type {() => void} */
    let release = () => {};
    const done = new Promise((resolve) => (release = () => resolve(undefined)));
    const tail = previous.then(() => done);
    tails.set(id, tail);
    await previous;
    try {
      if (await ctx.store.existsObject(target.bucket, target.key)) {
        ctx.req.resume(); // drain the unread body so the connection stays usable
        ctx.status = 412;
        ctx.type = "application/xml";
        ctx.body = preconditionFailedXml(ctx.path);
        return;
      }
      return await next();
    } finally {
      release();
      if (tails.get(id) === tail) tails.delete(id);
    }
  };
}

/**
 * Inserts {@linkcode conditionalPutMiddleware} into a constructed, not yet running s3rver,
 * right before its router (Koa composes the middleware list when the server starts).
 *
 * @param {{ middleware: unknown[] }} server the `S3rver` instance (a Koa application)
 * @returns {void}
 */
export function installConditionalPut(server) {
  const at = server.middleware.findIndex((fn) => typeof fn === "function" && "router" in fn);
  if (at === -1) {
    throw new Error(
      "Cannot install the conditional PUT middleware: s3rver's router is not in its " +
        "middleware list; check the s3rver version",
    );
  }
  server.middleware.splice(at, 0, conditionalPutMiddleware());
}
