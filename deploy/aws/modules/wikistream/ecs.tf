# The producer (one task) and the consumer (consumer_desired_count tasks) on ECS Fargate,
# from the project's image. Each container's entryPoint is its deno.json task without
# --env-file, as in the Dockerfile (tests/terraform/ecs_containers_test.ts keeps them
# equal); configuration comes from the environment only. The programs resolve the
# `ssm:` values themselves with the task role (ssm.tf), so the task definitions hold no
# secret and ECS's own `secrets` injection is not used.

locals {
  # the metrics endpoint serves GET /healthz there (lib/metrics); the health check asks it
  metrics_port = 9464
  # ECS health check: the Deno image has no curl, and deno eval may use the network
  health_check = {
    command     = ["CMD", "deno", "eval", "const r = await fetch('http://127.0.0.1:9464/healthz'); await r.body?.cancel(); Deno.exit(r.ok ? 0 : 1)"]
    interval    = 15
    timeout     = 5
    retries     = 4
    startPeriod = 30
  }
  cluster_arn    = var.ecs_cluster_arn != null ? var.ecs_cluster_arn : one(aws_ecs_cluster.this[*].arn)
  log_group_name = "/ecs/${var.name}"

  # options both programs get; null values are left out (the program's default applies)
  producer_base_environment = {
    KAFKA_REST_URL      = coalesce(var.producer_kafka_rest_url, var.kafka_rest_url)
    KAFKA_REST_FLAVOR   = var.kafka_rest_flavor
    KAFKA_TOPIC         = var.topic
    KAFKA_REST_USERNAME = var.rest_auth == "basic" ? var.kafka_rest_username : null
    KAFKA_REST_PASSWORD = lookup(local.rest_secret_environment, "KAFKA_REST_PASSWORD", null)
    KAFKA_REST_TOKEN    = lookup(local.rest_secret_environment, "KAFKA_REST_TOKEN", null)
    USER_AGENT          = var.user_agent
    LOG_FORMAT          = "json"
    METRICS_PORT        = tostring(local.metrics_port)
    METRICS_HOST        = "0.0.0.0"
  }
  consumer_base_environment = {
    KAFKA_REST_URL      = var.kafka_rest_url
    KAFKA_REST_FLAVOR   = var.kafka_rest_flavor
    KAFKA_TOPIC         = var.topic
    KAFKA_REST_USERNAME = var.rest_auth == "basic" ? var.kafka_rest_username : null
    KAFKA_REST_PASSWORD = lookup(local.rest_secret_environment, "KAFKA_REST_PASSWORD", null)
    KAFKA_REST_TOKEN    = lookup(local.rest_secret_environment, "KAFKA_REST_TOKEN", null)
    OUTPUT_URL          = local.output_url
    AWS_REGION          = local.region
    LOG_FORMAT          = "json"
    METRICS_PORT        = tostring(local.metrics_port)
    METRICS_HOST        = "0.0.0.0"
    CONSUMER_MEMORY_MB  = tostring(var.consumer_memory) # buffers sized to the task's memory
  }

  producer_container = {
    name        = "producer"
    image       = var.image
    essential   = true
    entryPoint  = ["deno", "run", "--allow-env", "--allow-read", "--allow-run", "--no-prompt", "lib/launcher/launch.ts", "producer"]
    stopTimeout = var.stop_timeout_seconds
    environment = [for name, value in merge(local.producer_base_environment, var.producer_environment) : { name = name, value = value } if value != null]
    healthCheck = local.health_check
    mountPoints = var.producer_state_on_efs ? [{ sourceVolume = "producer-state", containerPath = local.producer_state_mount, readOnly = false }] : []
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = local.log_group_name
        awslogs-region        = local.region
        awslogs-stream-prefix = "producer"
      }
    }
  }
  consumer_container = {
    name        = "consumer"
    image       = var.image
    essential   = true
    entryPoint  = ["deno", "run", "--allow-env", "--allow-read", "--allow-run", "--no-prompt", "lib/launcher/launch.ts", "consumer"]
    stopTimeout = var.stop_timeout_seconds
    environment = [for name, value in merge(local.consumer_base_environment, var.consumer_environment) : { name = name, value = value } if value != null]
    healthCheck = local.health_check
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = local.log_group_name
        awslogs-region        = local.region
        awslogs-stream-prefix = "consumer"
      }
    }
  }
}

resource "aws_ecs_cluster" "this" {
  count = var.create_services && var.ecs_cluster_arn == null ? 1 : 0
  name  = var.name
  tags  = var.tags

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "this" {
  count             = var.create_services ? 1 : 0
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_ecs_task_definition" "producer" {
  count                    = var.create_services ? 1 : 0
  family                   = "${var.name}-producer"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.producer_cpu
  memory                   = var.producer_memory
  execution_role_arn       = aws_iam_role.execution[0].arn
  task_role_arn            = aws_iam_role.producer[0].arn
  container_definitions    = jsonencode([local.producer_container])
  tags                     = var.tags

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  dynamic "volume" {
    for_each = var.producer_state_on_efs ? [aws_efs_access_point.producer_state[0].id] : []

    content {
      name = "producer-state"

      efs_volume_configuration {
        file_system_id     = aws_efs_file_system.producer_state[0].id
        transit_encryption = "ENABLED"

        authorization_config {
          access_point_id = volume.value
          iam             = "ENABLED"
        }
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.image != null && var.user_agent != null && length(var.subnet_ids) > 0
      error_message = "The services need image, user_agent and subnet_ids (or set create_services = false)."
    }
  }
}

resource "aws_ecs_task_definition" "consumer" {
  count                    = var.create_services ? 1 : 0
  family                   = "${var.name}-consumer"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.consumer_cpu
  memory                   = var.consumer_memory
  execution_role_arn       = aws_iam_role.execution[0].arn
  task_role_arn            = aws_iam_role.consumer.arn
  container_definitions    = jsonencode([local.consumer_container])
  tags                     = var.tags

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  lifecycle {
    precondition {
      condition     = var.image != null && length(var.subnet_ids) > 0
      error_message = "The services need image and subnet_ids (or set create_services = false)."
    }
  }
}

resource "aws_ecs_service" "producer" {
  count           = var.create_services ? 1 : 0
  name            = "${var.name}-producer"
  cluster         = local.cluster_arn
  task_definition = aws_ecs_task_definition.producer[0].arn
  desired_count   = 1
  launch_type     = "FARGATE"
  propagate_tags  = "SERVICE"
  tags            = var.tags
  # one producer at a time: the new task starts after the old one has drained and stopped
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = var.security_group_ids
    assign_public_ip = var.assign_public_ip
  }

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy_attachment.execution, aws_iam_role_policy_attachment.producer_rest_secrets, aws_iam_role_policy_attachment.producer_state, aws_efs_mount_target.producer_state]
}

resource "aws_ecs_service" "consumer" {
  count           = var.create_services ? 1 : 0
  name            = "${var.name}-consumer"
  cluster         = local.cluster_arn
  task_definition = aws_ecs_task_definition.consumer[0].arn
  desired_count   = var.consumer_desired_count
  launch_type     = "FARGATE"
  propagate_tags  = "SERVICE"
  tags            = var.tags
  # overlapping consumers are fenced by the lake's conditional-create claims (docs/lake.md)
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = var.security_group_ids
    assign_public_ip = var.assign_public_ip
  }

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy_attachment.execution, aws_iam_role_policy_attachment.consumer_lake_writer, aws_iam_role_policy_attachment.consumer_rest_secrets]
}
