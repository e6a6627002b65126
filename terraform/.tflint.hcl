# tflint's bundled Terraform ruleset, every rule on: typed and documented variables and outputs, pinned
# required_providers and required_version, standard module layout, naming, no unused declarations.
# The AWS ruleset plugin is not used: its module is not served by the Go module proxy (see README.md).
config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "all"
}
