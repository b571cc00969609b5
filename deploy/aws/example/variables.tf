variable "region" {
  type        = string
  description = "AWS region of everything (becomes AWS_REGION)."
}

variable "name" {
  type        = string
  description = "Name prefix of the resources and of the Parameter Store names."
  default     = "wikistream"
}

variable "bucket_name" {
  type        = string
  description = "Name of the lake bucket to create (globally unique)."
}

variable "kafka_rest_url" {
  type        = string
  description = "KAFKA_REST_URL: the REST Proxy v2 the producer and consumer use."
}

variable "rest_auth" {
  type        = string
  description = "REST Proxy authentication: none, basic or token."
  default     = "none"
}

variable "kafka_rest_username" {
  type        = string
  description = "KAFKA_REST_USERNAME with rest_auth = basic."
  default     = null
}

variable "create_services" {
  type        = bool
  description = "Create the ECS services (false: bucket, IAM and parameters only)."
  default     = true
}

variable "image" {
  type        = string
  description = "The project's image in ECR, for example 123456789012.dkr.ecr.eu-west-1.amazonaws.com/wikistream:0.1.0."
  default     = null
}

variable "user_agent" {
  type        = string
  description = "USER_AGENT of the producer, with contact information (Wikimedia requires it)."
  default     = null
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets (with NAT or VPC endpoints) of the tasks."
  default     = []
}

variable "security_group_ids" {
  type        = list(string)
  description = "Security groups of the tasks."
  default     = []
}

variable "consumer_desired_count" {
  type        = number
  description = "Consumer tasks."
  default     = 1
}
