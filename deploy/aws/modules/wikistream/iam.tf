# Least privilege from what the programs call (tests/terraform/lake_iam_test.ts runs the
# consumer, start and verify against a logging S3 server and checks these documents
# grant every call they made and nothing more). Keys below the lake prefix, per topic:
#   <topic>/date=…/hour=…/*.parquet   data                      write: Get, Put   read: Get
#   _manifests/<topic>/partition=…/   unit claims (If-None-Match) write: Get, Put   read: Get
#   _dlq/<topic>/partition=…/         dead letters               write: Get, Put   read: Get
#   _state/<topic>/                   pointers and the probe     write: Get, Put   read: Get
#   _state/<topic>/probe-*            the conditional-create probe, deleted after the check
# HeadObject is authorized as s3:GetObject, ListObjectsV2 as s3:ListBucket; nothing is ever
# deleted but the probe. ListBucket (key names only) is granted on the bucket without an
# s3:prefix condition: S3 answers a read of a missing key with 404 only when the caller may
# list the bucket, and with 403 otherwise, and a read of a key that is not there yet is
# normal (a new partition's pointer; a lost file that verify reports). Reads are still
# limited to the lake's prefixes.

data "aws_iam_policy_document" "lake_writer" {
  statement {
    sid       = "ListLakeKeys"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.lake.arn]
  }

  statement {
    sid     = "ReadWriteLakeObjects"
    actions = ["s3:GetObject", "s3:PutObject"]
    resources = [
      "${local.lake_objects}${var.topic}/*",
      "${local.lake_objects}_manifests/${var.topic}/*",
      "${local.lake_objects}_dlq/${var.topic}/*",
      "${local.lake_objects}_state/${var.topic}/*",
    ]
  }

  statement {
    sid       = "DeleteConditionalCreateProbe"
    actions   = ["s3:DeleteObject"]
    resources = ["${local.lake_objects}_state/${var.topic}/probe-*"]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid       = "UseLakeKeyThroughS3"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }
    }
  }
}

data "aws_iam_policy_document" "lake_reader" {
  statement {
    sid       = "ListLakeKeys"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.lake.arn]
  }

  statement {
    sid     = "ReadLakeObjects"
    actions = ["s3:GetObject"]
    resources = [
      "${local.lake_objects}${var.topic}/*",
      "${local.lake_objects}_manifests/${var.topic}/*",
      "${local.lake_objects}_dlq/${var.topic}/*",
      "${local.lake_objects}_state/${var.topic}/*",
    ]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid       = "DecryptLakeThroughS3"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_policy" "lake_writer" {
  name        = "${var.name}-lake-writer"
  description = "Write the wikistream lake ${local.output_url} (the consumer and start)"
  policy      = data.aws_iam_policy_document.lake_writer.json
  tags        = var.tags
}

resource "aws_iam_policy" "lake_reader" {
  name        = "${var.name}-lake-reader"
  description = "Read the wikistream lake ${local.output_url} (verify)"
  policy      = data.aws_iam_policy_document.lake_reader.json
  tags        = var.tags
}

# The REST Proxy secrets: the programs resolve `ssm:<name>` themselves (GetParameter with
# decryption), with the task role, so only the task role reads them (ssm.tf).
data "aws_iam_policy_document" "rest_secrets" {
  count = length(aws_ssm_parameter.rest) > 0 ? 1 : 0

  statement {
    sid       = "ReadRestProxySecrets"
    actions   = ["ssm:GetParameter"]
    resources = [for parameter in aws_ssm_parameter.rest : parameter.arn]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid       = "DecryptSecretsThroughSsm"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["ssm.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_policy" "rest_secrets" {
  count       = length(aws_ssm_parameter.rest) > 0 ? 1 : 0
  name        = "${var.name}-rest-proxy-secrets"
  description = "Read the wikistream REST Proxy secrets in Parameter Store"
  policy      = data.aws_iam_policy_document.rest_secrets[0].json
  tags        = var.tags
}

data "aws_iam_policy_document" "ecs_tasks_trust" {
  statement {
    sid     = "EcsTasks"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# The consumer's role is for ECS tasks, and with consumer_role_for_ec2 for EC2 instances too.
data "aws_iam_policy_document" "consumer_trust" {
  source_policy_documents = [data.aws_iam_policy_document.ecs_tasks_trust.json]

  dynamic "statement" {
    for_each = var.consumer_role_for_ec2 ? ["ec2.amazonaws.com"] : []

    content {
      sid     = "Ec2Instances"
      actions = ["sts:AssumeRole"]

      principals {
        type        = "Service"
        identifiers = [statement.value]
      }
    }
  }
}

# The consumer's role: the writer policy and the secrets.
resource "aws_iam_role" "consumer" {
  name               = "${var.name}-consumer"
  description        = "wikistream consumer: writes the lake, reads the REST Proxy secrets"
  assume_role_policy = data.aws_iam_policy_document.consumer_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "consumer_lake_writer" {
  role       = aws_iam_role.consumer.name
  policy_arn = aws_iam_policy.lake_writer.arn
}

resource "aws_iam_role_policy_attachment" "consumer_rest_secrets" {
  count      = length(aws_iam_policy.rest_secrets)
  role       = aws_iam_role.consumer.name
  policy_arn = aws_iam_policy.rest_secrets[0].arn
}

resource "aws_iam_instance_profile" "consumer" {
  count = var.consumer_role_for_ec2 ? 1 : 0
  name  = "${var.name}-consumer"
  role  = aws_iam_role.consumer.name
  tags  = var.tags
}

# The producer touches no bucket: it reads the REST Proxy secrets only.
resource "aws_iam_role" "producer" {
  count              = var.create_services ? 1 : 0
  name               = "${var.name}-producer"
  description        = "wikistream producer: reads the REST Proxy secrets"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "producer_rest_secrets" {
  count      = var.create_services ? length(aws_iam_policy.rest_secrets) : 0
  role       = aws_iam_role.producer[0].name
  policy_arn = aws_iam_policy.rest_secrets[0].arn
}

# What ECS itself needs to start the tasks: pull the image, write the logs.
resource "aws_iam_role" "execution" {
  count              = var.create_services ? 1 : 0
  name               = "${var.name}-task-execution"
  description        = "ECS task execution role of the wikistream services"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  count      = var.create_services ? 1 : 0
  role       = aws_iam_role.execution[0].name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}
