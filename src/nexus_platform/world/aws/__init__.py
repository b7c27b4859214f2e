"""The AWS world: boto3 (botocore standard/adaptive retries and waiters) and the Kubernetes API."""
