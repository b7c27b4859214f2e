################################################################################
# CloudWatch Logs delivery for vended logs (WAF, ElastiCache)
################################################################################

# Managed here, scoped to this module's log groups, instead of letting WAF/ElastiCache append to the
# account-wide AWSWAF-LOGS-style policies (which hit the 5120-character limit as ACLs accumulate).
data "aws_iam_policy_document" "log_delivery" {
  statement {
    sid     = "VendedLogDelivery"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = concat(
      ["${aws_cloudwatch_log_group.waf.arn}:*"],
      [for lg in aws_cloudwatch_log_group.cache : "${lg.arn}:*"],
    )

    principals {
      type        = "Service"
      identifiers = ["delivery.logs.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:*"]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "log_delivery" {
  policy_name     = "${var.name}-log-delivery"
  policy_document = data.aws_iam_policy_document.log_delivery.json
}
