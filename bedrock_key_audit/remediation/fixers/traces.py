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

``bedrock.invocation_logging``: in a Region the key is used in with no logging configuration at
all, logging is turned on into a new bucket of ours (``bedrock-key-audit-invocation-logs-<account>-<region>``,
SSE-KMS by default with the account's ``aws/s3`` key; not destructive: nothing existed).  An existing
configuration (text delivery off, a bucket of another account, a destination without KMS encryption,
a policy letting another account read, a delivery role Bedrock cannot assume) is never overwritten:
a manual step says what is wrong with it.
"""
from __future__ import annotations

import json
from typing import Any

from bedrock_key_audit.fixtures.checks import CheckRecord, CouldNotDecide
from bedrock_key_audit.remediation.names import TRAIL_NAME  # the trail (and bucket prefix) the cloudtrail fixers create
from bedrock_key_audit.remediation.core import ORDER_TRAIL_UPDATE, Context, NeedsPerson, Step, fixer, manual_step
from bedrock_key_audit.inventory.traces import bucket_protection, owned_buckets
from bedrock_key_audit.verdicts.traces import PAB_SETTINGS, effective_pab
from bedrock_key_audit.trails import security_trail

LOG_BUCKET_PREFIX = "bedrock-key-audit-access-logs"
INVOCATION_BUCKET_PREFIX = "bedrock-key-audit-invocation-logs"
ORDER_BUCKET = ORDER_TRAIL_UPDATE + 2  # after a trail (and its bucket) is created


def log_bucket_name(account: str, region: str) -> str:
    return f"{LOG_BUCKET_PREFIX}-{account}-{region}"


def _bucket_region(ctx: Context, partition: str, bucket: str) -> str:
    """``s3:GetBucketLocation``: S3 answers an empty constraint for us-east-1."""
    resp = ctx.call("s3", partition, "GetBucketLocation", Bucket=bucket) or {}
    return resp.get("LocationConstraint") or "us-east-1"


def _private_bucket(c: Context, partition: str, region: str, bucket: str, writer: dict[str, Any]) -> None:
    """Create one of our log buckets (kept when an interrupted run made it already): Block Public Access on,
    and a bucket policy whose one statement lets the service that writes the logs do so."""
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":  # us-east-1 refuses a LocationConstraint naming itself
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    c.call("s3", partition, "CreateBucket", region=region, expected={"BucketAlreadyOwnedByYou"}, **kwargs)
    c.call("s3", partition, "PutPublicAccessBlock", region=region, Bucket=bucket,
           PublicAccessBlockConfiguration={s: True for s in PAB_SETTINGS})
    c.call("s3", partition, "PutBucketPolicy", region=region, Bucket=bucket,
           Policy=json.dumps({"Version": "2012-10-17", "Statement": [writer]}))


def _log_bucket_step(ctx: Context, partition: str, region: str, requires: list[str]) -> Step:
    account = ctx.account(partition)
    p = ctx.arn_partition(partition)
    target = log_bucket_name(account, region)

    def run(c: Context, st: Step) -> tuple[Any, Any]:
        _private_bucket(c, partition, region, target, {
            "Sid": "S3ServerAccessLogsPolicy", "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
            "Resource": f"arn:{p}:s3:::{target}/*", "Condition": {"StringEquals": {"aws:SourceAccount": account}}})
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
    bucket = (trail.raw or {}).get("S3BucketName") or ""  # None and "": no bucket, as before
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
    elif prot.logging and (prot.target_exists is False or prot.target_owned is False):
        target = prot.logging.get("TargetBucket")
        steps.append(manual_step(f"manual:trail-bucket-logging:{partition}", f"{bucket} logs access to {target}, "
                                 "which does not exist or is not the account's: recreate it or repoint the logging "
                                 "by hand (remediation never repoints an existing configuration)", rec))
    elif not prot.logging:
        log_bucket = _log_bucket_step(ctx, partition, region, requires=[])
        steps += [log_bucket, _logging_step(ctx, partition, bucket, region, requires=[log_bucket.key])]
    return steps


def invocation_log_bucket_name(account: str, region: str) -> str:
    return f"{INVOCATION_BUCKET_PREFIX}-{account}-{region}"


def _invocation_logging_step(ctx: Context, region: str) -> Step:
    partition = "commercial"
    account = ctx.account(partition)
    p = ctx.arn_partition(partition)
    bucket = invocation_log_bucket_name(account, region)
    config = {"s3Config": {"bucketName": bucket}, "textDataDeliveryEnabled": True,
              "imageDataDeliveryEnabled": True, "embeddingDataDeliveryEnabled": True}

    def run(c: Context, st: Step) -> tuple[Any, Any]:
        now = (c.call("bedrock", partition, "GetModelInvocationLoggingConfiguration", region=region) or {}).get("loggingConfig")
        if now:
            raise NeedsPerson(f"model-invocation logging in {region} was configured since the plan: it is not overwritten")
        # the bucket policy Bedrock needs to write invocation logs, scoped to this account's logging
        # (https://docs.aws.amazon.com/bedrock/latest/userguide/model-invocation-logging.html#setup-s3-destination)
        _private_bucket(c, partition, region, bucket, {
            "Sid": "AmazonBedrockLogsWrite", "Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"},
            "Action": "s3:PutObject", "Resource": f"arn:{p}:s3:::{bucket}/AWSLogs/{account}/BedrockModelInvocationLogs/*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account},
                          "ArnLike": {"aws:SourceArn": f"arn:{p}:bedrock:{region}:{account}:*"}}})
        # the logs hold every prompt and answer: SSE-KMS by default, with the account's aws/s3 key (a key
        # of our own would need a key policy admitting Bedrock; aws/s3 serves S3 for this account only)
        c.call("s3", partition, "PutBucketEncryption", region=region, Bucket=bucket,
               ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {
                   "SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]})
        c.call("bedrock", partition, "PutModelInvocationLoggingConfiguration", region=region, loggingConfig=config)
        return {"loggingConfig": None}, {"loggingConfig": config}

    return Step(key=f"bedrock.invocation-logging:{region}", order=ORDER_BUCKET,
                action=f"turn on Bedrock model-invocation logging in {region} (text, image and embedding data) into a "
                       f"new S3 bucket {bucket} of the account (Block Public Access on, SSE-KMS with the account's "
                       "aws/s3 key, writable only by Bedrock for this account; prompts and answers are stored there: "
                       "restrict who reads it)",
                calls=["bedrock:GetModelInvocationLoggingConfiguration", "s3:CreateBucket", "s3:PutBucketPublicAccessBlock",
                       "s3:PutBucketPolicy", "s3:PutBucketEncryption", "bedrock:PutModelInvocationLoggingConfiguration"],
                target=f"arn:{p}:s3:::{bucket}", targets=[f"arn:{p}:s3:::{bucket}"], partition=partition, run=run,
                before={"loggingConfig": None})


@fixer("bedrock.invocation_logging")
def invocation_logging_fixer(ctx: Context, rec: CheckRecord) -> list[Step]:
    """Provision logging where a Region the key is used in has none; never change an existing configuration."""
    from bedrock_key_audit.inventory.traces import invocation_logging
    from bedrock_key_audit.verdicts.traces import invocation_logging_verdict

    steps: list[Step] = []
    for region in ctx.inv.key_regions().regions():  # the Regions the check judged
        log = invocation_logging(ctx.inv, region)
        try:
            status, why = invocation_logging_verdict(log)
        except CouldNotDecide as exc:
            steps.append(manual_step(f"manual:invocation-logging:{region}", f"{exc}", rec))
            continue
        if status == "pass":
            continue
        if log.config:
            steps.append(manual_step(f"manual:invocation-logging:{region}", f"{why}: change the existing configuration "
                                     "by hand (remediation never overwrites it)", rec))
        else:
            steps.append(_invocation_logging_step(ctx, region))
    return steps
