variable "name" {
  type        = string
  description = "Name prefix of every resource (IAM roles, ECS cluster and services, log group) and first segment of the Parameter Store names (/<name>/...)."
  default     = "wikistream"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "The name must be 3 to 32 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "bucket_name" {
  type        = string
  description = "Name of the lake bucket to create (globally unique). OUTPUT_URL becomes s3://<bucket_name>/<lake_prefix>."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "The bucket name must be 3 to 63 lowercase letters, digits, dots or dashes."
  }
}

variable "lake_prefix" {
  type        = string
  description = "Key prefix of the lake inside the bucket, without slashes at the ends; empty for the bucket root. Every IAM grant is limited to it."
  default     = "lake"

  validation {
    condition     = var.lake_prefix == "" || can(regex("^[A-Za-z0-9._=-]+(/[A-Za-z0-9._=-]+)*$", var.lake_prefix))
    error_message = "The lake prefix must be empty or segments of letters, digits, dots, dashes, underscores or '=' joined by single slashes, without a slash at either end."
  }
}

variable "topic" {
  type        = string
  description = "Kafka topic (KAFKA_TOPIC) the producer writes and the consumer reads; the lake keeps it as a folder name, and the IAM grants name it."
  default     = "wikimedia-changes"

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.topic)) && !startswith(var.topic, "_")
    error_message = "The topic must be letters, digits, dots, dashes or underscores, not starting with an underscore."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "ARN of a customer managed KMS key for SSE-KMS on the bucket and for the SecureString parameters; null uses SSE-S3 and the AWS managed aws/ssm key."
  default     = null
}

variable "versioning_enabled" {
  type        = bool
  description = "Turn on S3 versioning for the lake bucket (overwritten state pointers and the start-up probe then leave noncurrent versions, expired after noncurrent_version_expiration_days)."
  default     = false
}

variable "noncurrent_version_expiration_days" {
  type        = number
  description = "Days after which noncurrent object versions are deleted (only with versioning_enabled)."
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "The noncurrent version expiration must be at least 1 day."
  }
}

variable "dlq_expiration_days" {
  type        = number
  description = "Days after which dead-letter objects (<lake_prefix>/_dlq/) are deleted."
  default     = 30

  validation {
    condition     = var.dlq_expiration_days >= 1
    error_message = "The dead-letter expiration must be at least 1 day."
  }
}

variable "abort_incomplete_multipart_days" {
  type        = number
  description = "Days after which incomplete multipart uploads below the lake prefix are aborted."
  default     = 2

  validation {
    condition     = var.abort_incomplete_multipart_days >= 1
    error_message = "The multipart abort must be at least 1 day."
  }
}

variable "data_expiration_days" {
  type        = number
  description = "Days after which data files (<lake_prefix>/<topic>/date=.../) are deleted; null keeps them. Manifests are kept, so `deno task verify` then reports the expired units' files as missing."
  default     = null

  validation {
    condition     = var.data_expiration_days == null || try(var.data_expiration_days >= 1, false)
    error_message = "The data expiration must be null or at least 1 day."
  }
}

variable "force_destroy" {
  type        = bool
  description = "Let `terraform destroy` delete a bucket that still holds objects (the whole lake)."
  default     = false
}

variable "rest_auth" {
  type        = string
  description = "How the programs authenticate to the REST Proxy: none, basic (KAFKA_REST_USERNAME and a password in Parameter Store) or token (a bearer token in Parameter Store)."
  default     = "none"

  validation {
    condition     = contains(["none", "basic", "token"], var.rest_auth)
    error_message = "The REST Proxy authentication must be none, basic or token."
  }
}

variable "kafka_rest_username" {
  type        = string
  description = "KAFKA_REST_USERNAME for rest_auth = basic (an API key on Confluent Cloud); not a secret, so it is a plain environment variable."
  default     = null
}

variable "kafka_rest_url" {
  type        = string
  description = "KAFKA_REST_URL of the consumer: a REST Proxy v2 in front of MSK or any Kafka (Confluent REST Proxy or Redpanda's HTTP Proxy), reachable from the subnets."
}

variable "producer_kafka_rest_url" {
  type        = string
  description = "KAFKA_REST_URL of the producer when it differs from the consumer's (for example Confluent Cloud's produce API); null uses kafka_rest_url."
  default     = null
}

variable "kafka_rest_flavor" {
  type        = string
  description = "KAFKA_REST_FLAVOR: confluent or redpanda."
  default     = "confluent"

  validation {
    condition     = contains(["confluent", "redpanda"], var.kafka_rest_flavor)
    error_message = "The REST Proxy flavor must be confluent or redpanda."
  }
}

variable "create_services" {
  type        = bool
  description = "Create the ECS cluster, task definitions and services; false creates only the bucket, IAM and parameters (for a local run against the bucket)."
  default     = true
}

variable "image" {
  type        = string
  description = "The project's Docker image (`docker build --target consumer`, pushed to ECR), with a pinned tag or digest; the task definitions set each program's command, so one image serves both."
  default     = null
}

variable "user_agent" {
  type        = string
  description = "USER_AGENT of the producer: Wikimedia requires a descriptive User-Agent with contact information."
  default     = null
}

variable "subnet_ids" {
  type        = list(string)
  description = "Subnets of the ECS tasks; they need a route to the REST Proxy, to S3 and SSM (NAT or VPC endpoints) and, for the producer, to stream.wikimedia.org."
  default     = []
}

variable "security_group_ids" {
  type        = list(string)
  description = "Security groups of the ECS tasks (outbound HTTPS, and the REST Proxy's port)."
  default     = []
}

variable "assign_public_ip" {
  type        = bool
  description = "Give the tasks public IPs (public subnets without NAT)."
  default     = false
}

variable "ecs_cluster_arn" {
  type        = string
  description = "An existing ECS cluster to run in; null creates one named after var.name."
  default     = null
}

variable "cpu_architecture" {
  type        = string
  description = "CPU architecture of the image: X86_64 or ARM64."
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "The CPU architecture must be X86_64 or ARM64."
  }
}

variable "producer_cpu" {
  type        = number
  description = "Fargate CPU units of the producer task."
  default     = 256
}

variable "producer_memory" {
  type        = number
  description = "Fargate memory (MiB) of the producer task."
  default     = 512
}

variable "consumer_cpu" {
  type        = number
  description = "Fargate CPU units of each consumer task."
  default     = 512
}

variable "consumer_memory" {
  type        = number
  description = "Fargate memory (MiB) of each consumer task, passed as CONSUMER_MEMORY_MB (at least 384): the consumer sizes its buffers to it."
  default     = 1024

  validation {
    condition     = var.consumer_memory >= 384
    error_message = "consumer_memory must be at least 384 (MiB): the consumer holds about 270 MiB under load before its buffers."
  }
}

variable "consumer_desired_count" {
  type        = number
  description = "Consumer tasks; consumer groups and the lake's conditional-create claims make more than one safe."
  default     = 1

  validation {
    condition     = var.consumer_desired_count >= 0
    error_message = "The consumer count must not be negative."
  }
}

variable "stop_timeout_seconds" {
  type        = number
  description = "Seconds ECS waits after SIGTERM before SIGKILL; above the programs' 30 s drain bound (Fargate allows at most 120)."
  default     = 60

  validation {
    condition     = var.stop_timeout_seconds >= 35 && var.stop_timeout_seconds <= 120
    error_message = "The stop timeout must be between 35 s (the 30 s drain bound plus a margin) and 120 s (the Fargate maximum)."
  }
}

variable "producer_environment" {
  type        = map(string)
  description = "More producer options (docs/configuration.md), for example { PRODUCE_KEY = \"page\" }; they override the module's values."
  default     = {}
}

variable "consumer_environment" {
  type        = map(string)
  description = "More consumer options (docs/configuration.md), for example { FLUSH_MAX_ROWS = \"100000\" }; they override the module's values."
  default     = {}
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the CloudWatch log group of both services."
  default     = 30
}

variable "create_iam_user" {
  type        = bool
  description = "Also create an IAM user with the writer policy and an access key, as the Python version told users to do by hand; its secret goes to Parameter Store, never to an output."
  default     = false
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}

variable "consumer_role_for_ec2" {
  type        = bool
  description = "Let EC2 instances assume the consumer's role too, through an instance profile created for it (a consumer on an instance you manage); ECS tasks can always assume it."
  default     = false
}

variable "producer_state_on_efs" {
  type        = bool
  description = "Keep the producer's state folder (resume position, dead letters) on an encrypted EFS file system with mount targets in subnet_ids, so a replaced producer resumes without a gap; false keeps it on the task's ephemeral storage."
  default     = false
}
