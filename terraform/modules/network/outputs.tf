output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "IPv4 CIDR of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "private_subnet_ids" {
  description = "Private subnets, one per availability zone (nodes, database, endpoints)."
  value       = [for az in var.availability_zones : aws_subnet.private[az].id]
}

output "public_subnet_ids" {
  description = "Public subnets, one per availability zone (internet-facing load balancers, NAT gateways)."
  value       = [for az in var.availability_zones : aws_subnet.public[az].id]
}
