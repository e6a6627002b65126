output "zone_id" {
  description = "ID of the hosted zone (for external-dns's --zone-id-filter)."
  value       = data.aws_route53_zone.this.zone_id
}

output "certificate_arn" {
  description = "ARN of the validated ACM certificate (the ingress load balancer's TLS certificate)."
  value       = aws_acm_certificate_validation.this.certificate_arn
}
