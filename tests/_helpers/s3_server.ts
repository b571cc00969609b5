/**
 * Starts the npm `s3rver` S3 server in-process on 127.0.0.1 with a random port,
 * a temporary data folder and one bucket, for tests that need the real S3 protocol.
 *
 * @module
 */
import S3rver from "s3rver";

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

/**
 * Starts s3rver.
 *
 * @param bucket bucket name
 * @returns the running server
 */
export async function startS3Server(bucket = "wikistream-test"): Promise<TestS3Server> {
  const directory = await Deno.makeTempDir({ prefix: "wikistream-s3rver-" });
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const info = await server.run() as { address: string; port: number };
  const endpoint = `http://127.0.0.1:${info.port}`;
  const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await server.close();
    await Deno.remove(directory, { recursive: true }).catch(() => {});
  };
  return {
    endpoint,
    bucket,
    credentials,
    env: {
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: "true",
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: "us-east-1",
      AWS_EC2_METADATA_DISABLED: "true",
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
