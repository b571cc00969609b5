# A small root module: the lake, its IAM, the REST Proxy secrets and the two services in
# one region. Copy terraform.tfvars.example to terraform.tfvars and fill it in (docs/aws.md).

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      project = "wikistream"
    }
  }
}

module "wikistream" {
  source = "../modules/wikistream"

  name                   = var.name
  bucket_name            = var.bucket_name
  kafka_rest_url         = var.kafka_rest_url
  rest_auth              = var.rest_auth
  kafka_rest_username    = var.kafka_rest_username
  create_services        = var.create_services
  image                  = var.image
  user_agent             = var.user_agent
  subnet_ids             = var.subnet_ids
  security_group_ids     = var.security_group_ids
  consumer_desired_count = var.consumer_desired_count
}
