# wikistream on AWS: the lake bucket (bucket.tf), least-privilege IAM (iam.tf, iam_user.tf),
# the REST Proxy secrets in Parameter Store (ssm.tf) and the ECS Fargate services (ecs.tf).
# docs/aws.md walks from `terraform apply` to a running pipeline.

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  # "" or "<lake_prefix>/": every key of the lake starts with it (lib/lake/lake_layout.ts)
  lake_root = var.lake_prefix == "" ? "" : "${var.lake_prefix}/"
  # the ARN of every lake object starts with it
  lake_objects = "${aws_s3_bucket.lake.arn}/${local.lake_root}"
  # OUTPUT_URL of the programs (lib/object_store/output_url.ts)
  output_url = var.lake_prefix == "" ? "s3://${aws_s3_bucket.lake.bucket}" : "s3://${aws_s3_bucket.lake.bucket}/${var.lake_prefix}"
  region     = data.aws_region.current.region
  account_id = data.aws_caller_identity.current.account_id
  # Parameter Store names are /<name>/<parameter>
  parameter_prefix = "/${var.name}"
}
