"""Fixers of ``cloudtrail.bucket_protected`` and ``bedrock.invocation_logging``.

``cloudtrail.bucket_protected`` changes only the security trail's bucket (the trail the audit
judged, :func:`bedrock_key_audit.trails.security_trail`) and a log bucket of its own:

* Block Public Access: all four bucket-level settings on.  Destructive: it narrows who can reach
  a bucket that existed before the run (a public policy or ACL stops working), and it overwrites
  the bucket's previous BPA configuration, which the plan records as ``before``.
* Server access logging: into ``bedrock-key-audit-access-logs-<account>-<region>`` (created when
  missing, ours by name, in the bucket's Region as S3 requires, written by
  ``logging.s3.amazonaws.com`` under ``aws:SourceAccount``:
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html).
  Not destructive: the bucket had no logging configuration to overwrite (a bucket that logs
  somewhere already is never repointed).
* A bucket the account does not own, or an organization trail's bucket: a manual step.

``bedrock.invocation_logging`` is a manual step: where prompts and answers may be stored, and who
may read them, is the account owner's decision, and an existing configuration is never overwritten.
"""
from __future__ import annotations

import json
from typing import Any

from bedrock_key_audit.fixtures.checks import CheckRecord, CouldNotDecide
from bedrock_key_audit.remediation.fixers import TRAIL_NAME  # the trail (and bucket prefix) the cloudtrail fixers create
from bedrock_key_audit.remediation.core import ORDER_TRAIL_UPDATE, Context, NeedsPerson, Step, fixer, manual_step
from bedrock_key_audit.trace_reads import bucket_protection, owned_buckets
from bedrock_key_audit.traces import PAB_SETTINGS, effective_pab
from bedrock_key_audit.trails import security_trail

LOG_BUCKET_PREFIX = "bedrock-key-audit-access-logs"
ORDER_BUCKET = ORDER_TRAIL_UPDATE + 2  # after a trail (and its bucket) is created


def log_bucket_name(account: str, region: str) -> str:
    return f"{LOG_BUCKET_PREFIX}-{account}-{region}"


def _bucket_region(ctx: Context, partition: str, bucket: str) -> str:
    """``s3:GetBucketLocation``: S3 answers an empty constraint for us-east-1."""
    resp = ctx.call("s3", partition, "GetBucketLocation", Bucket=bucket) or {}
    return resp.get("LocationConstraint") or "us-east-1"


def _log_bucket_step(ctx: Context, partition: str, region: str, requires: list[str]) -> Step:
    account = ctx.account(partition)
    p = ctx.arn_partition(partition)
    target = log_bucket_name(account, region)

    def run(c: Context, st: Step) -> tuple[Any, Any]:
        kwargs: dict[str, Any] = {"Bucket": target}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        c.call("s3", partition, "CreateBucket", region=region, expected={"BucketAlreadyOwnedByYou"}, **kwargs)
        c.call("s3", partition, "PutPublicAccessBlock", region=region, Bucket=target,
               PublicAccessBlockConfiguration={s: True for s in PAB_SETTINGS})
        c.call("s3", partition, "PutBucketPolicy", region=region, Bucket=target, Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Sid": "S3ServerAccessLogsPolicy", "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
                "Resource": f"arn:{p}:s3:::{target}/*", "Condition": {"StringEquals": {"aws:SourceAccount": account}}}]}))
        return {"bucket": None}, {"Bucket": target}

    return Step(key=f"s3.access-log-bucket:{partition}:{region}", order=ORDER_BUCKET,
                action=f"create S3 bucket {target} for server access logs ({partition}, {region}; Block Public Access "
                       "on, writable only by S3's logging service for this account)",
                calls=["s3:CreateBucket", "s3:PutBucketPublicAccessBlock", "s3:PutBucketPolicy"],
                target=f"arn:{p}:s3:::{target}", targets=[f"arn:{p}:s3:::{target}"], partition=partition, run=run,
                before={"bucket": None}, requires=requires)


def _logging_step(ctx: Context, partition: str, bucket: str, region: str, requires: list[str]) -> Step:
    account = ctx.account(partition)
    p = ctx.arn_partition(partition)
    target = log_bucket_name(account, region)

    def run(c: Context, st: Step) -> tuple[Any, Any]:
        now = (c.call("s3", partition, "GetBucketLogging", region=region, Bucket=bucket) or {}).get("LoggingEnabled")
        if now:
            raise NeedsPerson(f"bucket {bucket} logs access to {now.get('TargetBucket')} now: it is not repointed")
        c.call("s3", partition, "PutBucketLogging", region=region, Bucket=bucket, BucketLoggingStatus={
            "LoggingEnabled": {"TargetBucket": target, "TargetPrefix": f"{bucket}/"}})
        return {"LoggingEnabled": None}, {"LoggingEnabled": {"TargetBucket": target, "TargetPrefix": f"{bucket}/"}}

    return Step(key=f"s3.access-logging:{partition}:{bucket}", order=ORDER_BUCKET + 1,
                action=f"turn on server access logging of trail bucket {bucket} into {target}",
                calls=["s3:GetBucketLogging", "s3:PutBucketLogging"], target=f"arn:{p}:s3:::{bucket}",
                targets=[f"arn:{p}:s3:::{bucket}"], partition=partition, run=run,
                before={"LoggingEnabled": None}, requires=requires)


def _pab_step(ctx: Context, partition: str, bucket: str, region: str, before: dict[str, Any]) -> Step:
    p = ctx.arn_partition(partition)

    def run(c: Context, st: Step) -> tuple[Any, Any]:
        after = {s: True for s in PAB_SETTINGS}
        c.call("s3", partition, "PutPublicAccessBlock", region=region, Bucket=bucket,
               PublicAccessBlockConfiguration=after)
        return {"PublicAccessBlockConfiguration": before}, {"PublicAccessBlockConfiguration": after}

    return Step(key=f"s3.block-public:{partition}:{bucket}", order=ORDER_BUCKET,
                action=f"turn on all four Block Public Access settings of trail bucket {bucket} (public policies and "
                       "ACLs on it stop working)",
                calls=["s3:PutBucketPublicAccessBlock"], target=f"arn:{p}:s3:::{bucket}",
                targets=[f"arn:{p}:s3:::{bucket}"], partition=partition, run=run,
                before={"PublicAccessBlockConfiguration": before}, destructive=True)


@fixer("cloudtrail.bucket_protected")
def bucket_protected_fixer(ctx: Context, rec: CheckRecord) -> list[Step]:
    partition = rec.partition or "commercial"
    decision = security_trail(ctx.inv.trails(partition), partition, ctx.cfg.region(partition))
    if decision.trail is None:
        # the cloudtrail fixers create our trail and its bucket (Block Public Access on): add its access logging
        region = ctx.cfg.region(partition)
        bucket = f"{TRAIL_NAME}-{ctx.account(partition)}-{region}"
        create = f"trail.create:{partition}"
        log_bucket = _log_bucket_step(ctx, partition, region, requires=[create])
        return [log_bucket, _logging_step(ctx, partition, bucket, region, requires=[create, log_bucket.key])]
    trail = decision.trail
    if trail.organization:
        return [manual_step(f"manual:trail-bucket:{partition}", f"the security trail of {partition} ({trail.name}) is "
                            "an organization trail: protect its bucket from the account that owns it", rec)]
    bucket = (trail.raw or {}).get("S3BucketName")
    if not bucket:
        raise CouldNotDecide(f"trail {trail.name} names no S3 bucket")
    if bucket not in owned_buckets(ctx.inv, partition):
        return [manual_step(f"manual:trail-bucket:{partition}", f"bucket {bucket} of trail {trail.name} is not owned "
                            f"by the {partition} account: its owner must protect it", rec)]
    prot = bucket_protection(ctx.inv, partition, bucket, trail.home_region)
    region = _bucket_region(ctx, partition, bucket)
    steps: list[Step] = []
    eff, unknown = effective_pab(prot)
    if unknown or not all(eff.values()):
        if prot.bucket_pab is None:
            steps.append(manual_step(f"manual:trail-bucket-bpa:{partition}", f"the Block Public Access settings of "
                                     f"{bucket} cannot be read ({prot.bucket_pab_error}), so they cannot be kept: "
                                     "grant s3:GetBucketPublicAccessBlock and rerun", rec))
        else:
            steps.append(_pab_step(ctx, partition, bucket, region, prot.bucket_pab))
    if prot.logging is None:
        steps.append(manual_step(f"manual:trail-bucket-logging:{partition}", f"the access logging of {bucket} cannot "
                                 f"be read ({prot.logging_error}): grant s3:GetBucketLogging and rerun", rec))
    elif not prot.logging:
        log_bucket = _log_bucket_step(ctx, partition, region, requires=[])
        steps += [log_bucket, _logging_step(ctx, partition, bucket, region, requires=[log_bucket.key])]
    return steps


@fixer("bedrock.invocation_logging")
def invocation_logging_fixer(ctx: Context, rec: CheckRecord) -> list[Step]:
    region = (rec.resource or "").split(":")[3] if (rec.resource or "").count(":") >= 4 else ctx.cfg.region("commercial")
    return [manual_step(
        f"manual:invocation-logging:{region}",
        f"turn on Bedrock model-invocation logging in {region} with text data delivery, to an S3 bucket or "
        "CloudWatch Logs group of this account whose policy (or role) lets bedrock.amazonaws.com write: "
        f"aws bedrock put-model-invocation-logging-configuration --region {region} --logging-config "
        "'{\"s3Config\":{\"bucketName\":\"<bucket>\"},\"textDataDeliveryEnabled\":true}' "
        "(an existing configuration is yours to change; remediation never overwrites it)", rec)]
