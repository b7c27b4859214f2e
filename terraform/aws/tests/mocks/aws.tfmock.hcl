# Mock data shared by every test file and provider alias (each sets only its own aws_region inline).
mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/terraform-test"
    user_id    = "AIDAMOCKTERRAFORMTEST"
  }
}
mock_data "aws_partition" {
  defaults = {
    partition          = "aws"
    dns_suffix         = "amazonaws.com"
    reverse_dns_prefix = "com.amazonaws"
  }
}
mock_data "aws_iam_policy_document" {
  defaults = {
    json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Mock\",\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\",\"Principal\":{\"Service\":\"ec2.amazonaws.com\"}}]}"
  }
}
mock_data "aws_secretsmanager_random_password" {
  defaults = {
    random_password = "MockRandomPassword0123456789abcdefMockRandomPassword0123456789ab"
  }
}
mock_data "aws_secretsmanager_secret_version" {
  defaults = {
    secret_string = "MockCacheAuthToken0123456789abcdefMockCacheAuthToken0123456789ab"
  }
}
