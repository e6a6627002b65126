variable "name" {
  description = "Name of the EKS cluster, e.g. churn-production."
  type        = string
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane and node groups."
  type        = string
  default     = "1.33"
}

variable "subnet_ids" {
  description = "Private subnets of the control plane's network interfaces and of the nodes."
  type        = list(string)
}

variable "endpoint_public_access" {
  description = "Expose the Kubernetes API endpoint on the internet as well (off by default: private endpoint only)."
  type        = bool
  default     = false
}

variable "endpoint_public_access_cidrs" {
  description = "Address ranges allowed to reach the public endpoint when endpoint_public_access is true."
  type        = list(string)
  default     = []
}

variable "admin_role_arns" {
  description = "IAM roles granted cluster-admin through EKS access entries (CI deployers, on-call)."
  type        = list(string)
  default     = []
}

variable "node_groups" {
  description = "Managed node groups: instance types and scaling bounds."
  type = map(object({
    instance_types = list(string)
    min_size       = number
    desired_size   = number
    max_size       = number
    capacity_type  = optional(string, "ON_DEMAND")
    disk_size_gb   = optional(number, 50)
  }))
  default = {
    general = {
      instance_types = ["m6i.large"]
      min_size       = 3
      desired_size   = 3
      max_size       = 9
    }
  }
}

variable "enable_irsa" {
  description = "Also create the IAM OIDC provider for IRSA (roles for service accounts); EKS Pod Identity is always on."
  type        = bool
  default     = false
}

variable "oidc_thumbprints" {
  description = "Root CA thumbprints of the cluster's OIDC issuer; IAM no longer checks them for EKS, so the default is a placeholder value AWS accepts."
  type        = list(string)
  default     = ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]
}

variable "log_retention_days" {
  description = "Days the control plane logs are kept in CloudWatch Logs."
  type        = number
  default     = 365
}

variable "addon_versions" {
  description = "Pinned versions of the core add-ons; null takes the default version for the cluster's Kubernetes version."
  type = object({
    vpc_cni            = optional(string)
    coredns            = optional(string)
    kube_proxy         = optional(string)
    pod_identity_agent = optional(string)
    ebs_csi_driver     = optional(string)
  })
  default = {}
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
