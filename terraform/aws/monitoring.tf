# Alerting. CloudWatch alarms can only notify an SNS topic in their own region, so there is one alerts topic per
# provider (primary region, DR region, us-east-1 for the Route 53 health-check metrics, which only exist there), all
# encrypted with the operations key of their region and all subscribed by var.alert_email when it is set.
#
# Alarms:
#   us-east-1  Route 53 health-check status of each region's origin
#   primary    RDS CPU and free storage, ALB 5xx, Redis replica lag inside the region
#   DR         RDS ReplicaLag of the cross-region replica (> 60 s: the RPO target is 5 min, so this leaves time to act),
#              RDS CPU and free storage, ALB 5xx, Redis global-datastore replication lag
# (the Prometheus rules in monitoring/ cover the application's golden signals.)

locals {
  replica_lag_alarm_seconds = 60
  cache_lag_alarm_seconds   = 60
  alb_5xx_alarm_count       = 50 # 5xx responses (load balancer + targets) per 5 minutes
  db_cpu_alarm_percent      = 80
  # Storage autoscaling grows the volume when < 10 % is free; alarm when it is still nearly full (5 % of the base size).
  db_free_storage_alarm_bytes = floor(var.db.allocated_storage * 0.05 * 1073741824)

  alerts_topics = {
    primary = aws_sns_topic.alerts.arn
    dr      = aws_sns_topic.alerts_dr.arn
    global  = aws_sns_topic.alerts_global.arn
  }
  # The keys the topics are encrypted with (Alertmanager's role may use them through SNS only).
  ops_key_arns = [aws_kms_key.ops_primary.arn, aws_kms_key.ops_dr.arn, aws_kms_key.ops_global.arn]

  # Node ids of a cluster-mode-disabled replication group: <group id>-001, -002, ...
  cache_node_index = range(1, var.cache.num_cache_clusters + 1)
}

# --- topics -------------------------------------------------------------------------------------------------------

resource "aws_sns_topic" "alerts" {
  name              = "${local.name_prefix}-alerts"
  display_name      = "Nexus ${var.environment} alerts (${var.primary_region})"
  kms_master_key_id = aws_kms_key.ops_primary.arn
}

resource "aws_sns_topic" "alerts_dr" {
  provider = aws.dr

  name              = "${local.name_prefix}-alerts"
  display_name      = "Nexus ${var.environment} alerts (${var.dr_region})"
  kms_master_key_id = aws_kms_key.ops_dr.arn
}

resource "aws_sns_topic" "alerts_global" {
  provider = aws.global

  name              = "${local.name_prefix}-alerts-global"
  display_name      = "Nexus ${var.environment} alerts (global)"
  kms_master_key_id = aws_kms_key.ops_global.arn
}

data "aws_iam_policy_document" "alerts_topic" {
  for_each = {
    primary = aws_sns_topic.alerts.arn
    dr      = aws_sns_topic.alerts_dr.arn
    global  = aws_sns_topic.alerts_global.arn
  }

  statement {
    sid    = "AccountManagesTopic"
    effect = "Allow"
    actions = [
      "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:AddPermission", "sns:RemovePermission",
      "sns:DeleteTopic", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish",
    ]
    resources = [each.value]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "AlarmsAndRdsEventsPublish"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [each.value]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.rds.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "alerts" {
  arn    = aws_sns_topic.alerts.arn
  policy = data.aws_iam_policy_document.alerts_topic["primary"].json
}

resource "aws_sns_topic_policy" "alerts_dr" {
  provider = aws.dr

  arn    = aws_sns_topic.alerts_dr.arn
  policy = data.aws_iam_policy_document.alerts_topic["dr"].json
}

resource "aws_sns_topic_policy" "alerts_global" {
  provider = aws.global

  arn    = aws_sns_topic.alerts_global.arn
  policy = data.aws_iam_policy_document.alerts_topic["global"].json
}

resource "aws_sns_topic_subscription" "alerts_email" {
  count = var.alert_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = var.alert_email
}

resource "aws_sns_topic_subscription" "alerts_dr_email" {
  provider = aws.dr
  count    = var.alert_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alerts_dr.arn
  protocol  = "email"
  endpoint  = var.alert_email
}

resource "aws_sns_topic_subscription" "alerts_global_email" {
  provider = aws.global
  count    = var.alert_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alerts_global.arn
  protocol  = "email"
  endpoint  = var.alert_email
}

# --- us-east-1: Route 53 health checks ----------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "health_check_primary" {
  provider = aws.global

  alarm_name          = "${local.regions.primary.name}-origin-unhealthy"
  alarm_description   = "Route 53 health check of ${local.origin_fqdn.primary}${local.health_check_path} is failing: api.${var.domain_name} fails over to ${var.dr_region}."
  namespace           = "AWS/Route53"
  metric_name         = "HealthCheckStatus"
  dimensions          = { HealthCheckId = aws_route53_health_check.primary.id }
  statistic           = "Minimum"
  period              = 60
  evaluation_periods  = 2
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = [local.alerts_topics.global]
  ok_actions          = [local.alerts_topics.global]
}

resource "aws_cloudwatch_metric_alarm" "health_check_dr" {
  provider = aws.global

  alarm_name          = "${local.regions.dr.name}-origin-unhealthy"
  alarm_description   = "Route 53 health check of ${local.origin_fqdn.dr}${local.health_check_path} is failing: the warm standby cannot take traffic."
  namespace           = "AWS/Route53"
  metric_name         = "HealthCheckStatus"
  dimensions          = { HealthCheckId = aws_route53_health_check.dr.id }
  statistic           = "Minimum"
  period              = 60
  evaluation_periods  = 2
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = [local.alerts_topics.global]
  ok_actions          = [local.alerts_topics.global]
}

# --- databases ----------------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "db_replica_lag" {
  provider = aws.dr

  alarm_name          = "${local.regions.dr.name}-db-replica-lag"
  alarm_description   = "Cross-region replica ${module.dr.db_instance_identifier} is more than ${local.replica_lag_alarm_seconds}s behind the primary (RPO target: 5 min). Missing data counts as breaching: a replica that stopped reporting lag is not replicating."
  namespace           = "AWS/RDS"
  metric_name         = "ReplicaLag"
  dimensions          = { DBInstanceIdentifier = module.dr.db_instance_identifier }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.replica_lag_alarm_seconds
  treat_missing_data  = "breaching"
  alarm_actions       = [local.alerts_topics.dr]
  ok_actions          = [local.alerts_topics.dr]
}

resource "aws_cloudwatch_metric_alarm" "db_cpu_primary" {
  alarm_name          = "${local.regions.primary.name}-db-cpu"
  alarm_description   = "CPU of ${module.primary.db_instance_identifier} above ${local.db_cpu_alarm_percent}% for 15 minutes."
  namespace           = "AWS/RDS"
  metric_name         = "CPUUtilization"
  dimensions          = { DBInstanceIdentifier = module.primary.db_instance_identifier }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.db_cpu_alarm_percent
  treat_missing_data  = "missing"
  alarm_actions       = [local.alerts_topics.primary]
  ok_actions          = [local.alerts_topics.primary]
}

resource "aws_cloudwatch_metric_alarm" "db_cpu_dr" {
  provider = aws.dr

  alarm_name          = "${local.regions.dr.name}-db-cpu"
  alarm_description   = "CPU of ${module.dr.db_instance_identifier} above ${local.db_cpu_alarm_percent}% for 15 minutes (a saturated replica falls behind)."
  namespace           = "AWS/RDS"
  metric_name         = "CPUUtilization"
  dimensions          = { DBInstanceIdentifier = module.dr.db_instance_identifier }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.db_cpu_alarm_percent
  treat_missing_data  = "missing"
  alarm_actions       = [local.alerts_topics.dr]
  ok_actions          = [local.alerts_topics.dr]
}

resource "aws_cloudwatch_metric_alarm" "db_free_storage_primary" {
  alarm_name          = "${local.regions.primary.name}-db-free-storage"
  alarm_description   = "Free storage of ${module.primary.db_instance_identifier} below 5% of its base size despite storage autoscaling."
  namespace           = "AWS/RDS"
  metric_name         = "FreeStorageSpace"
  dimensions          = { DBInstanceIdentifier = module.primary.db_instance_identifier }
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "LessThanThreshold"
  threshold           = local.db_free_storage_alarm_bytes
  treat_missing_data  = "missing"
  alarm_actions       = [local.alerts_topics.primary]
  ok_actions          = [local.alerts_topics.primary]
}

resource "aws_cloudwatch_metric_alarm" "db_free_storage_dr" {
  provider = aws.dr

  alarm_name          = "${local.regions.dr.name}-db-free-storage"
  alarm_description   = "Free storage of ${module.dr.db_instance_identifier} below 5% of its base size despite storage autoscaling."
  namespace           = "AWS/RDS"
  metric_name         = "FreeStorageSpace"
  dimensions          = { DBInstanceIdentifier = module.dr.db_instance_identifier }
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "LessThanThreshold"
  threshold           = local.db_free_storage_alarm_bytes
  treat_missing_data  = "missing"
  alarm_actions       = [local.alerts_topics.dr]
  ok_actions          = [local.alerts_topics.dr]
}

# --- load balancers -----------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "alb_5xx_primary" {
  alarm_name          = "${local.regions.primary.name}-alb-5xx"
  alarm_description   = "More than ${local.alb_5xx_alarm_count} 5xx responses (load balancer + targets) in 5 minutes on the ${var.primary_region} ALB."
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.alb_5xx_alarm_count
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.alerts_topics.primary]
  ok_actions          = [local.alerts_topics.primary]

  metric_query {
    id          = "total"
    expression  = "FILL(elb, 0) + FILL(target, 0)"
    label       = "5xx responses"
    return_data = true
  }

  metric_query {
    id = "elb"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_ELB_5XX_Count"
      dimensions  = { LoadBalancer = module.primary.alb_arn_suffix }
      stat        = "Sum"
      period      = 300
    }
  }

  metric_query {
    id = "target"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = { LoadBalancer = module.primary.alb_arn_suffix }
      stat        = "Sum"
      period      = 300
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "alb_5xx_dr" {
  provider = aws.dr

  alarm_name          = "${local.regions.dr.name}-alb-5xx"
  alarm_description   = "More than ${local.alb_5xx_alarm_count} 5xx responses (load balancer + targets) in 5 minutes on the ${var.dr_region} ALB."
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.alb_5xx_alarm_count
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.alerts_topics.dr]
  ok_actions          = [local.alerts_topics.dr]

  metric_query {
    id          = "total"
    expression  = "FILL(elb, 0) + FILL(target, 0)"
    label       = "5xx responses"
    return_data = true
  }

  metric_query {
    id = "elb"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_ELB_5XX_Count"
      dimensions  = { LoadBalancer = module.dr.alb_arn_suffix }
      stat        = "Sum"
      period      = 300
    }
  }

  metric_query {
    id = "target"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = { LoadBalancer = module.dr.alb_arn_suffix }
      stat        = "Sum"
      period      = 300
    }
  }
}

# --- Redis replication ----------------------------------------------------------------------------------------------
# Lag is reported per node; the alarm takes the worst node of the group (nodes that do not report count as 0).

resource "aws_cloudwatch_metric_alarm" "cache_replication_lag_primary" {
  alarm_name          = "${local.regions.primary.name}-cache-replication-lag"
  alarm_description   = "A Redis replica of ${module.primary.cache_replication_group_id} is more than ${local.cache_lag_alarm_seconds}s behind its primary."
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.cache_lag_alarm_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.alerts_topics.primary]
  ok_actions          = [local.alerts_topics.primary]

  metric_query {
    id          = "worst"
    expression  = format("MAX([%s])", join(", ", [for i in local.cache_node_index : "FILL(n${i}, 0)"]))
    label       = "Worst ReplicationLag (s)"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.cache_node_index
    content {
      id = "n${metric_query.value}"
      metric {
        namespace   = "AWS/ElastiCache"
        metric_name = "ReplicationLag"
        dimensions  = { CacheClusterId = format("%s-%03d", module.primary.cache_replication_group_id, metric_query.value) }
        stat        = "Maximum"
        period      = 60
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "cache_global_replication_lag" {
  provider = aws.dr

  alarm_name          = "${local.regions.dr.name}-cache-global-replication-lag"
  alarm_description   = "The DR member of global datastore ${aws_elasticache_global_replication_group.this.global_replication_group_id} is more than ${local.cache_lag_alarm_seconds}s behind the primary region."
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.cache_lag_alarm_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.alerts_topics.dr]
  ok_actions          = [local.alerts_topics.dr]

  metric_query {
    id          = "worst"
    expression  = format("MAX([%s])", join(", ", [for i in local.cache_node_index : "FILL(n${i}, 0)"]))
    label       = "Worst GlobalDatastoreReplicationLag (s)"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.cache_node_index
    content {
      id = "n${metric_query.value}"
      metric {
        namespace   = "AWS/ElastiCache"
        metric_name = "GlobalDatastoreReplicationLag"
        dimensions  = { CacheClusterId = format("%s-%03d", module.dr.cache_replication_group_id, metric_query.value) }
        stat        = "Maximum"
        period      = 60
      }
    }
  }
}
