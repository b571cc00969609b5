output "dotenv" {
  description = "The .env of a local run against the lake: terraform output -raw dotenv > .env"
  value       = module.wikistream.dotenv
}

output "environment" {
  description = "The same options as a map."
  value       = module.wikistream.environment
}

output "OUTPUT_URL" {
  description = "OUTPUT_URL of the lake."
  value       = module.wikistream.OUTPUT_URL
}

output "AWS_REGION" {
  description = "AWS_REGION of the lake."
  value       = module.wikistream.AWS_REGION
}

output "rest_secret_parameter_names" {
  description = "Parameter Store names to set with aws ssm put-parameter --overwrite."
  value       = module.wikistream.rest_secret_parameter_names
}

output "log_group_name" {
  description = "CloudWatch log group of the services."
  value       = module.wikistream.log_group_name
}

output "consumer_service_name" {
  description = "The consumer's ECS service."
  value       = module.wikistream.consumer_service_name
}

output "ecs_cluster_arn" {
  description = "The ECS cluster."
  value       = module.wikistream.ecs_cluster_arn
}
