# Versions this example is written for. Nothing here was run with Terraform: the tests in
# tests/terraform/ parse the files and check them against the programs (docs/aws.md).
terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}
