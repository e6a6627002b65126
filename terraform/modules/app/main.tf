locals {
  chart_path = coalesce(var.chart_path, "${path.module}/../../../helm/churn-control-plane")

  # Only what the infrastructure decides; everything else keeps the chart's defaults or comes from extra_values.
  values = {
    image = { tag = var.image_tag }
    serviceAccount = {
      # Roles are bound by aws_eks_pod_identity_association in the IAM module, not by annotations.
      aws = "podIdentity"
    }
    ingress = {
      enabled   = true
      className = var.ingress_class_name
      host      = var.host
      tls = {
        clusterIssuer     = var.ingress_tls.cluster_issuer
        existingTlsSecret = var.ingress_tls.existing_secret
      }
    }
    secrets = {
      externalSecret = {
        enabled   = true
        remoteKey = var.secret_name
      }
    }
    networkPolicy = {
      postgres = { cidrs = var.postgres_cidrs }
    }
  }
}

resource "helm_release" "this" {
  name             = var.release_name
  namespace        = var.namespace
  create_namespace = true
  chart            = local.chart_path
  values           = concat([yamlencode(local.values)], var.extra_values)

  atomic          = true
  cleanup_on_fail = true
  wait            = true
  timeout         = var.timeout_seconds
  max_history     = 10
}
