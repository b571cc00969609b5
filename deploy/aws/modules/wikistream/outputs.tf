# Outputs named after the options they set: `environment` holds them as a map and
# `dotenv` as the lines of a .env file for a local run against the bucket (docs/aws.md).

locals {
  # the configuration of a local consumer, start or verify run against this lake
  local_environment = {
    OUTPUT_URL          = local.output_url
    AWS_REGION          = local.region
    KAFKA_REST_URL      = var.kafka_rest_url
    KAFKA_REST_FLAVOR   = var.kafka_rest_flavor
    KAFKA_TOPIC         = var.topic
    KAFKA_REST_USERNAME = var.rest_auth == "basic" ? var.kafka_rest_username : null
    KAFKA_REST_PASSWORD = lookup(local.rest_secret_environment, "KAFKA_REST_PASSWORD", null)
    KAFKA_REST_TOKEN    = lookup(local.rest_secret_environment, "KAFKA_REST_TOKEN", null)
  }
}

output "OUTPUT_URL" {
  description = "OUTPUT_URL of the consumer, start and verify: s3://<bucket>/<lake_prefix>."
  value       = local.output_url
}

output "AWS_REGION" {
  description = "AWS_REGION: the region of the bucket, the parameters and the services."
  value       = local.region
}

output "KAFKA_REST_PASSWORD" {
  description = "KAFKA_REST_PASSWORD as the programs get it: a reference ssm:<parameter name> (not the secret); null unless rest_auth = basic."
  value       = lookup(local.rest_secret_environment, "KAFKA_REST_PASSWORD", null)
}

output "KAFKA_REST_TOKEN" {
  description = "KAFKA_REST_TOKEN as the programs get it: a reference ssm:<parameter name> (not the secret); null unless rest_auth = token."
  value       = lookup(local.rest_secret_environment, "KAFKA_REST_TOKEN", null)
}

output "environment" {
  description = "The options of a local run against this lake, by name (values are references, never secrets)."
  value       = { for name, value in local.local_environment : name => value if value != null }
}

output "dotenv" {
  description = "The same options as .env lines: terraform output -raw dotenv > .env"
  value       = join("", [for name, value in local.local_environment : "${name}=${value}\n" if value != null])
}

output "bucket_name" {
  description = "The lake bucket."
  value       = aws_s3_bucket.lake.bucket
}

output "bucket_arn" {
  description = "ARN of the lake bucket."
  value       = aws_s3_bucket.lake.arn
}

output "rest_secret_parameter_names" {
  description = "Parameter Store names of the REST Proxy secrets to set with aws ssm put-parameter --overwrite, by option."
  value       = { for option, parameter in aws_ssm_parameter.rest : option => parameter.name }
}

output "lake_writer_policy_arn" {
  description = "IAM policy that writes the lake (the consumer and start); attach it to other principals as needed."
  value       = aws_iam_policy.lake_writer.arn
}

output "lake_reader_policy_arn" {
  description = "IAM policy that reads the lake (verify); attach it to the principals that check or query it."
  value       = aws_iam_policy.lake_reader.arn
}

output "consumer_role_arn" {
  description = "The consumer's role (task role of the consumer service; EC2 too with consumer_role_for_ec2)."
  value       = aws_iam_role.consumer.arn
}

output "consumer_instance_profile_name" {
  description = "Instance profile of the consumer's role, with consumer_role_for_ec2; else null."
  value       = one(aws_iam_instance_profile.consumer[*].name)
}

output "iam_user_name" {
  description = "The IAM user with the writer policy, with create_iam_user; else null."
  value       = one(aws_iam_user.lake_writer[*].name)
}

output "AWS_ACCESS_KEY_ID" {
  description = "AWS_ACCESS_KEY_ID of the IAM user (not a secret), with create_iam_user; else null."
  value       = one(aws_iam_access_key.lake_writer[*].id)
}

output "aws_secret_access_key_parameter_name" {
  description = "Parameter Store name of the IAM user's secret access key (AWS_SECRET_ACCESS_KEY), with create_iam_user; else null."
  value       = one(aws_ssm_parameter.aws_secret_access_key[*].name)
}

output "ecs_cluster_arn" {
  description = "The ECS cluster the services run in; null without services."
  value       = var.create_services ? local.cluster_arn : null
}

output "producer_service_name" {
  description = "The producer's ECS service; null without services."
  value       = one(aws_ecs_service.producer[*].name)
}

output "consumer_service_name" {
  description = "The consumer's ECS service; null without services."
  value       = one(aws_ecs_service.consumer[*].name)
}

output "log_group_name" {
  description = "CloudWatch log group of both services (streams producer/… and consumer/…); null without services."
  value       = one(aws_cloudwatch_log_group.this[*].name)
}
