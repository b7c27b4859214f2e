"""EKS and the Kubernetes API: the regions' node groups and the nexus-api Deployment."""
