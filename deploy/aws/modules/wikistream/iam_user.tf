# Optional, as the Python version had it: an IAM user with the writer policy and an access
# key, for a machine outside AWS. The secret access key goes to Parameter Store, never to
# an output; it is still in Terraform's state (as every aws_iam_access_key secret is), so
# keep the state encrypted and private, or leave create_iam_user off and use roles.

resource "aws_iam_user" "lake_writer" {
  count = var.create_iam_user ? 1 : 0
  name  = "${var.name}-lake-writer"
  tags  = var.tags
}

resource "aws_iam_user_policy_attachment" "lake_writer" {
  count      = var.create_iam_user ? 1 : 0
  user       = aws_iam_user.lake_writer[0].name
  policy_arn = aws_iam_policy.lake_writer.arn
}

resource "aws_iam_user_policy_attachment" "lake_writer_rest_secrets" {
  count      = var.create_iam_user ? length(aws_iam_policy.rest_secrets) : 0
  user       = aws_iam_user.lake_writer[0].name
  policy_arn = aws_iam_policy.rest_secrets[0].arn
}

resource "aws_iam_access_key" "lake_writer" {
  count = var.create_iam_user ? 1 : 0
  user  = aws_iam_user.lake_writer[0].name
}

resource "aws_ssm_parameter" "aws_secret_access_key" {
  count       = var.create_iam_user ? 1 : 0
  name        = "${local.parameter_prefix}/aws-secret-access-key"
  description = "AWS_SECRET_ACCESS_KEY of the ${aws_iam_user.lake_writer[0].name} IAM user"
  type        = "SecureString"
  key_id      = var.kms_key_arn
  value       = aws_iam_access_key.lake_writer[0].secret
  tags        = var.tags
}
