# The REST Proxy secrets as SecureString parameters. The programs get `ssm:<name>` as the
# option's value (KAFKA_REST_PASSWORD=ssm:/wikistream/kafka-rest-password) and resolve it at
# start with GetParameter and decryption, using the task role (iam.tf). Terraform creates
# each parameter with a placeholder and never reads or writes its value again, so the
# secret stays out of Terraform's state and variables: set it once with
#   aws ssm put-parameter --overwrite --type SecureString --name <name> --value file://secret.txt

locals {
  # every parameter a REST Proxy authentication can need, by the option it feeds
  parameter_names = {
    KAFKA_REST_PASSWORD = "${local.parameter_prefix}/kafka-rest-password"
    KAFKA_REST_TOKEN    = "${local.parameter_prefix}/kafka-rest-token"
  }
  # the options whose secret this authentication needs
  rest_secret_options = var.rest_auth == "basic" ? ["KAFKA_REST_PASSWORD"] : var.rest_auth == "token" ? ["KAFKA_REST_TOKEN"] : []
  # the option values: references the programs resolve, never the secrets
  rest_secret_environment = { for option in local.rest_secret_options : option => "ssm:${local.parameter_names[option]}" }
}

resource "aws_ssm_parameter" "rest" {
  for_each    = toset(local.rest_secret_options)
  name        = local.parameter_names[each.key]
  description = "${each.key} of the wikistream programs (set with aws ssm put-parameter --overwrite)"
  type        = "SecureString"
  key_id      = var.kms_key_arn
  value       = "placeholder-set-with-aws-ssm-put-parameter"
  tags        = var.tags

  lifecycle {
    ignore_changes = [value]
  }
}
