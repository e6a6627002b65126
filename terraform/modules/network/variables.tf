variable "name" {
  description = "Name prefix of every resource, e.g. churn-production."
  type        = string
}

variable "cidr_block" {
  description = "IPv4 CIDR of the VPC; split into one public and one private subnet per availability zone."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0))
    error_message = "cidr_block must be an IPv4 CIDR such as 10.40.0.0/16."
  }
}

variable "availability_zones" {
  description = "Exactly three availability zones of the region, e.g. [\"eu-west-1a\", \"eu-west-1b\", \"eu-west-1c\"]."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) == 3
    error_message = "Give exactly three availability zones: the cluster and the database span three."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper, for staging) instead of one per zone."
  type        = bool
  default     = false
}

variable "flow_log_retention_days" {
  description = "Days VPC flow logs are kept in CloudWatch Logs."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
