/**
 * `deno task verify`: checks a lake (local folder or S3) against its manifests
 * and prints a summary; exits 1 when any violation is found.
 *
 * @module
 */
import { LAKE_STORE_OPTIONS } from "./lib/object_store/lake_store_options.ts";
import {
  type AwsCredentialConfig,
  awsCredentialsOf,
} from "./lib/object_store/aws_credential_options.ts";
import { formatLakeReport, verifyLake } from "./lib/lake/lake_verifier.ts";
import { LocalObjectStore } from "./lib/object_store/local_object_store.ts";
import type { ObjectStore } from "./lib/object_store/object_store.ts";
import { readCaBundle } from "./lib/object_store/open_object_store.ts";
import { formatOutputLocation, parseOutputUrl } from "./lib/object_store/output_url.ts";
import { runProgram } from "./lib/cli/program.ts";
import { SECRETS_STEP } from "./lib/secrets/resolve_secrets.ts";
import { UsageError } from "./lib/cli/usage_error.ts";
import { S3ObjectStore } from "./lib/object_store/s3_object_store.ts";

/** Options of the verify command: where the lake is. */
export const VERIFY_OPTIONS: typeof LAKE_STORE_OPTIONS = LAKE_STORE_OPTIONS;

/** The explicit S3 credentials configured, as an option of `S3ObjectStore`. */
function credentialsOf(config: AwsCredentialConfig) {
  const credentials = awsCredentialsOf(config);
  return credentials === undefined ? {} : { credentials };
}

async function writeStdout(text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += await Deno.stdout.write(bytes.subarray(written));
}

if (import.meta.main) {
  let violations = false;
  await runProgram({
    secrets: SECRETS_STEP,
    name: "verify",
    task: "verify",
    summary: "Checks a lake: every data file readable, offsets contiguous per Kafka partition,\n" +
      "row counts equal to the manifests, no event_id twice. Exits 1 on any violation.",
    specs: VERIFY_OPTIONS,
    async run(config, { signal }) {
      let location;
      try {
        location = parseOutputUrl(config.outputUrl);
      } catch (error) {
        throw new UsageError(
          `OUTPUT_URL must be ${
            error instanceof Error ? error.message : error
          }, got "${config.outputUrl}"`,
        );
      }
      let store: ObjectStore;
      let prefix = "";
      if (location.kind === "s3") {
        store = new S3ObjectStore({
          bucket: location.bucket,
          region: config.awsRegion,
          ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}),
          forcePathStyle: config.s3ForcePathStyle,
          ...credentialsOf(config),
          ...(config.awsCaBundle === undefined
            ? {}
            : { caBundle: readCaBundle(config.awsCaBundle) }),
        });
        prefix = location.prefix;
      } else {
        try {
          await Deno.stat(location.path);
        } catch (error) {
          if (error instanceof Deno.errors.NotFound) {
            throw new UsageError(
              `Cannot verify the lake at "${location.path}": the folder does not exist; set OUTPUT_URL to the lake`,
            );
          }
          throw error;
        }
        store = new LocalObjectStore({ root: location.path });
      }
      const report = await verifyLake({ store, prefix, signal });
      if (report.topics.length === 0) {
        throw new UsageError(
          `Cannot verify ${
            formatOutputLocation(location)
          }: it holds no _manifests folder; check OUTPUT_URL`,
        );
      }
      await writeStdout(formatLakeReport(report, formatOutputLocation(location)));
      violations = report.problems.length > 0;
    },
  });
  // runProgram sets exit code 0 after a normal return; violations make it 1.
  if (violations && Deno.exitCode === 0) Deno.exitCode = 1;
}
