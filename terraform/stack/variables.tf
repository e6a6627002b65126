variable "environment" {
  description = "Name of the environment (envs/<environment>/settings.tfvars): names every resource churn-<environment>, and is kept in the state."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,19}$", var.environment))
    error_message = "environment must be 2-20 lower-case letters, digits or dashes, starting with a letter (it names S3 buckets and RDS instances)."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for the three zones instead of one per zone: cheaper, but private egress then depends on one zone."
  type        = bool
}

variable "app_db_instance_class" {
  description = "RDS instance class of the control plane's database."
  type        = string
}

variable "mlflow_db_instance_class" {
  description = "RDS instance class of MLflow's backend store."
  type        = string
}

variable "node_groups" {
  description = "EKS managed node groups: instance types and scaling bounds (modules/eks, node_groups)."
  type = map(object({
    instance_types = list(string)
    min_size       = number
    desired_size   = number
    max_size       = number
  }))
}

variable "region" {
  description = "AWS region of the environment."
  type        = string
}

variable "backup_region" {
  description = "Second AWS region that keeps the copy of the database's automated backups."
  type        = string

  validation {
    condition     = var.backup_region != var.region
    error_message = "backup_region must differ from region: the copy is there to survive the loss of the region."
  }
}

variable "availability_zones" {
  description = "Three availability zones of region."
  type        = list(string)
}

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC."
  type        = string
}

variable "zone_name" {
  description = "Existing public Route53 hosted zone of the host."
  type        = string
}

variable "host" {
  description = "Host name the control plane is served on, e.g. churn.example.com."
  type        = string
}

variable "admin_role_arns" {
  description = "IAM roles that get cluster-admin on the EKS cluster (deployers, on-call)."
  type        = list(string)
  default     = []
}

variable "endpoint_public_access" {
  description = "Also expose the Kubernetes API endpoint publicly (off: the endpoint is private)."
  type        = bool
  default     = false
}

variable "endpoint_public_access_cidrs" {
  description = "Address ranges allowed to reach the public endpoint when endpoint_public_access is true."
  type        = list(string)
  default     = []
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the cluster."
  type        = string
  default     = "1.33"
}

variable "deploy_chart" {
  description = "Install the Helm chart from this configuration (needs network access to the private API endpoint)."
  type        = bool
  default     = true
}

variable "ingress_tls_cluster_issuer" {
  description = "cert-manager ClusterIssuer that issues the ingress's in-cluster TLS certificate (the chart serves TLS only)."
  type        = string
}

variable "image_tag" {
  description = "Control plane image tag; empty takes the chart's appVersion."
  type        = string
  default     = ""
}

variable "chart_extra_values" {
  description = "Further values files' contents (YAML strings) for the chart."
  type        = list(string)
  default     = []
}
