/**
 * Starts the npm `s3rver` S3 server in-process on 127.0.0.1 with a random port,
 * a temporary data folder and one bucket, for tests that need the real S3 protocol.
 * Unless told otherwise it honours `If-None-Match: *` on PutObject as AWS S3 does
 * (`s3_conditional_put.mjs`), which s3rver alone ignores.
 *
 * @module
 */
import S3rver from "s3rver";
import { installConditionalPut } from "./s3_conditional_put.mjs";
import { requestLogMiddleware, type S3RequestRecord } from "./s3_request_log.ts";
import { S3RVER_CREDENTIALS, s3rverClientEnv } from "./s3_server_process.ts";

/** A running s3rver. */
export interface TestS3Server extends AsyncDisposable {
  /** Endpoint URL, for example `http://127.0.0.1:40123`. */
  endpoint: string;
  /** The bucket created at start. */
  bucket: string;
  /** Credentials s3rver accepts. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Environment variables for a subprocess using this server. */
  env: Record<string, string>;
  /** Stops the server and removes its folder. */
  close(): Promise<void>;
}

/** Options for {@linkcode startS3Server}. */
export interface TestS3ServerOptions {
  /**
   * Answer a PutObject with `If-None-Match: *` on an existing key with 412, as AWS S3
   * does; false leaves s3rver's own behaviour (it ignores the header and overwrites).
   * @default true
   */
  conditionalPut?: boolean;
  /**
   * Append every request to this list once answered (`s3_request_log.ts`); in-process
   * (plain HTTP) servers only.
   */
  requestLog?: S3RequestRecord[];
}

/**
 * Starts s3rver.
 *
 * @param bucket bucket name
 * @param tls serve HTTPS with this key and certificate (the endpoint is then https://localhost);
 *   s3rver then runs under Node.js, because its keep-alive HTTPS connections stall when
 *   it is served by Deno's `node:https` (the AWS SDK client under Deno works with it on Node)
 * @param options whether conditional PUTs are honoured, where requests are logged
 * @returns the running server
 */
export async function startS3Server(
  bucket = "wikistream-test",
  tls?: { keyFile: string; certFile: string },
  options: TestS3ServerOptions = {},
): Promise<TestS3Server> {
  const conditionalPut = options.conditionalPut ?? true;
  if (tls) {
    if (options.requestLog) throw new TypeError("Cannot log the requests of a TLS s3rver");
    return await startTlsS3Server(bucket, tls, conditionalPut);
  }
  const directory = await Deno.makeTempDir({ prefix: "wikistream-s3rver-" });
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  if (conditionalPut) installConditionalPut(server);
  if (options.requestLog) {
    (server as unknown as { middleware: unknown[] }).middleware.unshift(
      requestLogMiddleware(options.requestLog),
    );
  }
  const info = await server.run() as { address: string; port: number };
  return running(`http://127.0.0.1:${info.port}`, bucket, directory, () => server.close());
}

/** The handle of a started s3rver; `stop` ends it, then its folder is removed (once). */
function running(
  endpoint: string,
  bucket: string,
  directory: string,
  stop: () => Promise<unknown>,
): TestS3Server {
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await stop();
    await Deno.remove(directory, { recursive: true }).catch(() => {});
  };
  return {
    endpoint,
    bucket,
    credentials: { ...S3RVER_CREDENTIALS },
    env: s3rverClientEnv(endpoint),
    close,
    [Symbol.asyncDispose]: close,
  };
}

const NODE_S3RVER = `
const S3rver = require(process.env.S3RVER_MODULE);
const fs = require("fs");
const server = new S3rver({
  address: "127.0.0.1", port: 0, silent: true, directory: process.env.S3RVER_DIR,
  key: fs.readFileSync(process.env.S3RVER_KEY), cert: fs.readFileSync(process.env.S3RVER_CERT),
  configureBuckets: [{ name: process.env.S3RVER_BUCKET, configs: [] }],
});
const middleware = process.env.S3RVER_CONDITIONAL_PUT;
(middleware ? import(middleware).then((m) => m.installConditionalPut(server)) : Promise.resolve())
  .then(() => server.run())
  .then((info) => console.log("listening " + info.port));
process.on("SIGTERM", () => server.close().then(() => process.exit(0)));
`;

async function startTlsS3Server(
  bucket: string,
  tls: { keyFile: string; certFile: string },
  conditionalPut: boolean,
): Promise<TestS3Server> {
  const directory = await Deno.makeTempDir({ prefix: "wikistream-s3rver-tls-" });
  const child = new Deno.Command("node", {
    args: ["-e", NODE_S3RVER],
    env: {
      S3RVER_MODULE: new URL("../../node_modules/s3rver", import.meta.url).pathname,
      S3RVER_DIR: directory,
      S3RVER_KEY: tls.keyFile,
      S3RVER_CERT: tls.certFile,
      S3RVER_BUCKET: bucket,
      S3RVER_CONDITIONAL_PUT: conditionalPut
        ? new URL("./s3_conditional_put.mjs", import.meta.url).href
        : "",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/listening \d+/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error("s3rver under node exited before listening");
    text += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  const port = Number(/listening (\d+)/.exec(text)![1]);
  return running(`https://localhost:${port}`, bucket, directory, async () => {
    child.kill("SIGTERM");
    await child.status;
  });
}
