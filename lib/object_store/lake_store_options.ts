/**
 * The options that locate a lake and its object store, shared by the consumer
 * and `deno task verify`.
 *
 * @module
 */
import { boolOption, stringOption } from "../cli/config_options.ts";
import { AWS_CREDENTIAL_OPTIONS } from "./aws_credential_options.ts";

/**
 * `OUTPUT_URL`, `AWS_REGION`, `S3_ENDPOINT`, `S3_FORCE_PATH_STYLE`, `AWS_CA_BUNDLE` and the
 * credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`).
 */
export const LAKE_STORE_OPTIONS = {
  outputUrl: stringOption<string>({
    env: "OUTPUT_URL",
    description: "lake location: s3://bucket/prefix, file:///abs/path or a folder path",
    default: "./lake",
  }),
  awsRegion: stringOption<string>({
    env: "AWS_REGION",
    description:
      "S3 region (credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, else the AWS SDK default chain)",
    default: "us-east-1",
  }),
  s3Endpoint: stringOption<string | undefined>({
    env: "S3_ENDPOINT",
    description: "S3 endpoint for MinIO and other S3-compatible stores (http://localhost:9000)",
    default: undefined,
  }),
  s3ForcePathStyle: boolOption({
    env: "S3_FORCE_PATH_STYLE",
    description: "use path-style S3 URLs (needed by MinIO and s3rver)",
    default: false,
  }),
  awsCaBundle: stringOption<string | undefined>({
    env: "AWS_CA_BUNDLE",
    description:
      "PEM file of the CA(s) that sign the S3 endpoint's TLS certificate (a private CA); replaces the default roots, as in the AWS CLI",
    default: undefined,
  }),
  ...AWS_CREDENTIAL_OPTIONS,
};
