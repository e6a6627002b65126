variable "name" {
  description = "Name prefix of the entries, e.g. churn/production; the app's entry is <name>/control-plane."
  type        = string
}

variable "recovery_window_days" {
  description = "Days a deleted entry can still be restored."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
