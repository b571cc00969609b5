/**
 * Runs the npm `s3rver` S3 server as a separate process, so end-to-end and chaos tests
 * can stop it (an S3 outage) and start it again on the same port and folder.
 *
 * CLI: `deno run <s3rverProcessFlags(DIR)> tests/_helpers/s3_server_process.ts --directory DIR
 * --port 0 --bucket B`
 * (add `--conditional-put false` to leave out the `If-None-Match: *` support of
 * `s3_conditional_put.mjs`) prints `wikistream s3rver listening on http://127.0.0.1:PORT` on stdout when ready and
 * runs until SIGINT/SIGTERM (or SIGKILL).
 *
 * @module
 */
import S3rver from "s3rver";
import { installConditionalPut } from "./s3_conditional_put.mjs";
import { parseCliFlags } from "./test_utils.ts";

/** Credentials s3rver accepts (any signature made with them is valid). */
export const S3RVER_CREDENTIALS = Object.freeze({
  accessKeyId: "S3RVER",
  secretAccessKey: "S3RVER",
});

/** The ready line's pattern; group 1 is the endpoint URL. */
export const S3RVER_READY_REGEXP = /wikistream s3rver listening on (http:\/\/\S+)/;

/**
 * Environment variables for a subprocess (consumer, verify) that uses this s3rver.
 *
 * @param endpoint the endpoint URL
 * @returns the variables (endpoint, path style, dummy credentials, region)
 */
export function s3rverClientEnv(endpoint: string): Record<string, string> {
  return {
    S3_ENDPOINT: endpoint,
    S3_FORCE_PATH_STYLE: "true",
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_REGION: "us-east-1",
    AWS_EC2_METADATA_DISABLED: "true",
  };
}

/**
 * The permissions this server process needs: loopback networking, the environment, its own
 * folder, and sys (s3rver asks for the host's details).
 *
 * @param directory the server's folder
 * @returns the `deno run` permission flags
 */
export function s3rverProcessFlags(directory: string): string[] {
  return [
    "--allow-net=127.0.0.1",
    "--allow-env",
    `--allow-read=${directory}`,
    `--allow-write=${directory}`,
    "--allow-sys",
  ];
}

async function main(): Promise<void> {
  const cli = parseCliFlags(Deno.args);
  if (!cli.directory) {
    // deno-lint-ignore no-console
    console.error(
      "usage: s3_server_process.ts --directory DIR [--port 0] [--bucket NAME] " +
        "[--conditional-put false]",
    );
    Deno.exitCode = 2;
    return;
  }
  await Deno.mkdir(cli.directory, { recursive: true });
  const server = new S3rver({
    address: "127.0.0.1",
    port: Number(cli.port ?? 0),
    silent: true,
    directory: cli.directory,
    configureBuckets: [{ name: cli.bucket ?? "wikistream-test", configs: [] }],
  });
  if (cli["conditional-put"] !== "false") installConditionalPut(server);
  const info = await server.run() as { address: string; port: number };
  await Deno.stdout.write(
    new TextEncoder().encode(`wikistream s3rver listening on http://127.0.0.1:${info.port}\n`),
  );
  let stop = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = () => resolve();
  });
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await stopped;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  await server.close();
}

if (import.meta.main) await main();
