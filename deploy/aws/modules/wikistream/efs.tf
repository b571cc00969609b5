# Optional: the producer's state folder (STATE_DIR: the resume position and the dead-letter
# file) on EFS, so a replaced producer task resumes where the old one stopped instead of at
# the live end of the stream. Without it the folder is on the task's ephemeral storage.

locals {
  # the image's deno user (denoland/deno) owns the folder; the producer runs as it
  deno_uid = 1993
  # the Dockerfile's WORKDIR /app plus the default STATE_DIR's first segment (.wikistream/producer)
  producer_state_mount = "/app/.wikistream"
}

data "aws_subnet" "tasks" {
  count = var.producer_state_on_efs ? 1 : 0
  id    = var.subnet_ids[0]

  lifecycle {
    precondition {
      condition     = length(var.subnet_ids) > 0 && length(var.security_group_ids) > 0
      error_message = "producer_state_on_efs needs subnet_ids (the mount targets go there) and security_group_ids (NFS is allowed from them)."
    }
  }
}

resource "aws_efs_file_system" "producer_state" {
  count     = var.producer_state_on_efs ? 1 : 0
  encrypted = true
  tags      = merge(var.tags, { Name = "${var.name}-producer-state" })
}

resource "aws_security_group" "producer_state" {
  count       = var.producer_state_on_efs ? 1 : 0
  name        = "${var.name}-producer-state"
  description = "NFS from the wikistream tasks to the producer's state file system"
  vpc_id      = data.aws_subnet.tasks[0].vpc_id
  tags        = var.tags

  ingress {
    description     = "NFS from the tasks"
    from_port       = 2049
    to_port         = 2049
    protocol        = "tcp"
    security_groups = var.security_group_ids
  }
}

resource "aws_efs_mount_target" "producer_state" {
  count           = var.producer_state_on_efs ? length(var.subnet_ids) : 0
  file_system_id  = aws_efs_file_system.producer_state[0].id
  subnet_id       = var.subnet_ids[count.index]
  security_groups = [aws_security_group.producer_state[0].id]
}

resource "aws_efs_access_point" "producer_state" {
  count          = var.producer_state_on_efs ? 1 : 0
  file_system_id = aws_efs_file_system.producer_state[0].id
  tags           = var.tags

  posix_user {
    uid = local.deno_uid
    gid = local.deno_uid
  }

  root_directory {
    path = "/wikistream-producer"

    creation_info {
      owner_uid   = local.deno_uid
      owner_gid   = local.deno_uid
      permissions = "0750"
    }
  }
}

data "aws_iam_policy_document" "producer_state" {
  count = var.producer_state_on_efs ? 1 : 0

  statement {
    sid       = "MountProducerState"
    actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    resources = [aws_efs_file_system.producer_state[0].arn]

    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.producer_state[0].arn]
    }
  }
}

resource "aws_iam_policy" "producer_state" {
  count       = var.producer_state_on_efs ? 1 : 0
  name        = "${var.name}-producer-state"
  description = "Mount the wikistream producer's state folder (EFS access point)"
  policy      = data.aws_iam_policy_document.producer_state[0].json
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "producer_state" {
  count      = var.producer_state_on_efs && var.create_services ? 1 : 0
  role       = aws_iam_role.producer[0].name
  policy_arn = aws_iam_policy.producer_state[0].arn
}
