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
all, logging is turned on into a new bucket of ours (``bedrock-key-audit-invocation-logs-<account>-<region>``).
The bucket stores every prompt and answer, so it is private to the account's administrators: Block
Public Access on, SSE-KMS with our customer-managed key, and a bucket policy that denies reading
objects to every principal but the one running the remediation and the configured
``secret.allowed_readers`` of this partition (``aws:PrincipalArn``; IAM User Guide, "AWS JSON policy
elements: NotPrincipal" recommends this over ``NotPrincipal``).  Bedrock writes with
``s3:PutObject`` under ``aws:SourceAccount``/``aws:SourceArn`` and needs ``kms:GenerateDataKey`` on
the key (Bedrock User Guide, "Monitor model invocation using CloudWatch Logs and Amazon S3",
https://docs.aws.amazon.com/bedrock/latest/userguide/model-invocation-logging.html).  Because it
starts storing prompts, the step runs only with ``--allow-destructive`` or ``--enable-invocation-logging``.
An existing configuration (text delivery off, a bucket of another account, a destination without KMS
encryption, a policy letting another account read, a delivery role Bedrock cannot assume) is never
overwritten: a manual step says what is wrong with it.

Every bucket of ours is created with the tag ``created-by=bedrock-key-audit`` (the change guard adds
it); a bucket with one of our names but without the tag is never adopted (a manual step), and the
bucket policy of one that is ours is merged: our statements are added beside the others.
"""
from __future__ import annotations

import json
from typing import Any

from bedrock_key_audit.checkcore import CheckRecord, CouldNotDecide
from bedrock_key_audit.remediation.names import TRAIL_NAME  # the trail (and bucket prefix) the cloudtrail fixers create
from bedrock_key_audit.remediation.core import Context, Step, fixer, manual_step
from bedrock_key_audit.remediation.errors import NeedsPerson
from bedrock_key_audit.remediation.guard import merged_policy, taken_bucket
from bedrock_key_audit.inventory.traces import bucket_protection, owned_buckets
from bedrock_key_audit.verdicts.traces import PAB_SETTINGS, effective_pab
from bedrock_key_audit.trails import security_trail
from bedrock_key_audit.remediation.fixers.cloudtrail import ORDER_TRAIL_UPDATE
from bedrock_key_audit.permissions import COMMERCIAL, R_INVOCATION_LOGGING, R_OUR_BUCKETS, R_OUR_INVOCATION_LOG_BUCKET, R_TRAIL_BUCKETS, Write, writes

LOG_BUCKET_PREFIX = "bedrock-key-audit-access-logs"
INVOCATION_BUCKET_PREFIX = "bedrock-key-audit-invocation-logs"
ORDER_BUCKET = ORDER_TRAIL_UPDATE + 2  # after a trail (and its bucket) is created


def log_bucket_name(account: str, region: str) -> str:
    return f"{LOG_BUCKET_PREFIX}-{account}-{region}"


@writes(Write("s3:GetBucketLocation", R_TRAIL_BUCKETS))
def _bucket_region(ctx: Context, partition: str, bucket: str) -> str:
    """``s3:GetBucketLocation``: S3 answers an empty constraint for us-east-1."""
    resp = ctx.call("s3", partition, "GetBucketLocation", Bucket=bucket) or {}
    return resp.get("LocationConstraint") or "us-east-1"


@writes(Write("s3:CreateBucket", R_OUR_BUCKETS),
        Write("s3:PutPublicAccessBlock", R_OUR_BUCKETS, actions=("s3:PutBucketPublicAccessBlock",)),
        Write("s3:GetBucketPolicy", R_TRAIL_BUCKETS), Write("s3:PutBucketPolicy", R_OUR_BUCKETS))
def _private_bucket(c: Context, partition: str, region: str, bucket: str, writer: dict[str, Any],
                    *more: dict[str, Any]) -> None:
    """Create one of our log buckets (kept when an earlier run of ours made it already; never one of another
    owner): Block Public Access on, and our statements -- the service that writes the logs, and ``more`` --
    added to its bucket policy beside any that is there."""
    if (why := taken_bucket(c, partition, bucket, region)) is not None:
        raise NeedsPerson(why)
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":  # us-east-1 refuses a LocationConstraint naming itself
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    c.call("s3", partition, "CreateBucket", region=region, expected={"BucketAlreadyOwnedByYou"}, **kwargs)
    c.call("s3", partition, "PutPublicAccessBlock", region=region, Bucket=bucket,
           PublicAccessBlockConfiguration={s: True for s in PAB_SETTINGS})
    now = c.call("s3", partition, "GetBucketPolicy", region=region, expected={"NoSuchBucketPolicy"}, Bucket=bucket)
    c.call("s3", partition, "PutBucketPolicy", region=region, Bucket=bucket,
           Policy=json.dumps(merged_policy((now or {}).get("Policy"), [writer, *more])))


def _log_bucket_step(ctx: Context, partition: str, region: str, requires: list[str]) -> Step:
    account = ctx.account(partition)
    p = ctx.arn_partition(partition)
    target = log_bucket_name(account, region)
    if (why := taken_bucket(ctx, partition, target, region)) is not None:
        st = manual_step(f"s3.access-log-bucket:{partition}:{region}", why)
        st.partition, st.targets, st.order = partition, [f"arn:{p}:s3:::{target}"], ORDER_BUCKET
        return st

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
                before={"bucket": None}, requires=requires, grants=["Sid:S3ServerAccessLogsPolicy"])


@writes(Write("s3:GetBucketLogging", R_TRAIL_BUCKETS), Write("s3:PutBucketLogging", R_TRAIL_BUCKETS))
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


@writes(Write("s3:PutPublicAccessBlock", R_TRAIL_BUCKETS, actions=("s3:PutBucketPublicAccessBlock",)))
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
        # a waiver scoped to the bucket trail.create makes accepts that bucket's protection as trail.create leaves
        # it: its access logging is not turned on (Context.waiver weighs it against the bucket's ARN)
        waived = ctx.waiver(rec.check_id, partition, [f"arn:{ctx.arn_partition(partition)}:s3:::{bucket}"])
        if waived is not None:
            st = manual_step(f"waived:{rec.check_id}[{partition}]:{bucket}", (
                f"server access logging of bucket {bucket}, which {create} makes, is not turned on: a live waiver "
                f"accepts that bucket's protection as it is made ({waived})"), rec)
            st.partition = partition
            return [st]
        log_bucket = _log_bucket_step(ctx, partition, region, requires=[create])
        return [log_bucket, _logging_step(ctx, partition, bucket, region, requires=[create, log_bucket.key])]
    trail = decision.trail
    if trail.organization:
        return [manual_step(f"manual:trail-bucket:{partition}", f"the security trail of {partition} ({trail.name}) is "
                            "an organization trail: protect its bucket from the account that owns it", rec)]
    bucket = (trail.raw or {}).get("S3BucketName") or ""  # None and "": no bucket, as before
    if not bucket:
        raise CouldNotDecide(f"trail {trail.name} names no S3 bucket")
    if bucket_protection(ctx.inv, partition, bucket, trail.home_region).missing:
        # bucket names are global: until the account re-creates it, anyone may create it and receive the trail
        return [manual_step(f"manual:trail-bucket:{partition}", f"bucket {bucket} of trail {trail.name} does not "
                            "exist, so the trail delivers nothing and whoever creates a bucket of that name receives "
                            f"its logs: re-create it in the {partition} account now (with Block Public Access and "
                            "the CloudTrail bucket policy), or point the trail at a bucket of the account", rec)]
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


INVOCATION_DENY_SID = "BedrockKeyAuditDenyOtherReaders"
INVOCATION_OPT_IN = "enable-invocation-logging"


def invocation_log_readers(ctx: Context) -> list[str]:
    """Who may read the stored prompts: the principal running the remediation (an administrator of the
    account) and the configured ``secret.allowed_readers`` of the commercial partition."""
    from bedrock_key_audit.inventory.access import account_authorization

    p = ctx.arn_partition("commercial")
    try:
        me = account_authorization(ctx.inv, "commercial").caller_principal()
        caller = me.arn if me is not None else ctx.identity("commercial").get("Arn")
    except Exception:  # noqa: BLE001 -- the authorization details may be unreadable: the caller's ARN then
        caller = ctx.identity("commercial").get("Arn")
    from bedrock_key_audit.remediation import principals

    readers = [r for r in principals.readers(ctx) if r.startswith(f"arn:{p}:")]
    return sorted(set(([caller] if caller else []) + readers))


def invocation_bucket_statements(p: str, account: str, region: str, bucket: str, readers: list[str]) -> list[dict[str, Any]]:
    """Bedrock may write its logs (scoped to this account's logging); nobody but ``readers`` may read them."""
    return [
        {"Sid": "AmazonBedrockLogsWrite", "Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"arn:{p}:s3:::{bucket}/AWSLogs/{account}/BedrockModelInvocationLogs/*",
         "Condition": {"StringEquals": {"aws:SourceAccount": account},
                       "ArnLike": {"aws:SourceArn": f"arn:{p}:bedrock:{region}:{account}:*"}}},
        {"Sid": INVOCATION_DENY_SID, "Effect": "Deny", "Principal": "*",
         "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes"],
         "Resource": f"arn:{p}:s3:::{bucket}/*",
         "Condition": {"StringNotEquals": {"aws:PrincipalArn": readers}}},
    ]


@writes(Write("bedrock:GetModelInvocationLoggingConfiguration", R_INVOCATION_LOGGING, partitions=COMMERCIAL),
        Write("s3:PutBucketEncryption", R_OUR_BUCKETS, actions=("s3:PutEncryptionConfiguration",), partitions=COMMERCIAL),
        Write("s3:PutBucketEncryption", R_OUR_INVOCATION_LOG_BUCKET, actions=("s3:PutEncryptionConfiguration",), partitions=COMMERCIAL),
        Write("bedrock:PutModelInvocationLoggingConfiguration", R_INVOCATION_LOGGING, partitions=COMMERCIAL))
def _invocation_logging_step(ctx: Context, region: str) -> Step:
    from bedrock_key_audit.remediation.fixers.kms import kms_key_arn

    partition = "commercial"
    account = ctx.account(partition)
    p = ctx.arn_partition(partition)
    bucket = invocation_log_bucket_name(account, region)
    config = {"s3Config": {"bucketName": bucket}, "textDataDeliveryEnabled": True,
              "imageDataDeliveryEnabled": True, "embeddingDataDeliveryEnabled": True}
    readers = invocation_log_readers(ctx)
    if (why := taken_bucket(ctx, partition, bucket, region)) is not None:
        st = manual_step(f"bedrock.invocation-logging:{region}", why)
        st.partition, st.targets, st.order = partition, [f"arn:{p}:s3:::{bucket}"], ORDER_BUCKET
        return st

    def run(c: Context, st: Step) -> tuple[Any, Any]:
        now = (c.call("bedrock", partition, "GetModelInvocationLoggingConfiguration", region=region) or {}).get("loggingConfig")
        if now:
            raise NeedsPerson(f"model-invocation logging in {region} was configured since the plan: it is not overwritten")
        key = kms_key_arn(c, partition)
        _private_bucket(c, partition, region, bucket, *invocation_bucket_statements(p, account, region, bucket, readers))
        c.call("s3", partition, "PutBucketEncryption", region=region, Bucket=bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
                       "BucketKeyEnabled": True}]})
        c.call("bedrock", partition, "PutModelInvocationLoggingConfiguration", region=region, loggingConfig=config)
        return {"loggingConfig": None}, {"loggingConfig": config, "readers": readers, "KMSMasterKeyID": key}

    return Step(key=f"bedrock.invocation-logging:{region}", order=ORDER_BUCKET,
                action=f"turn on Bedrock model-invocation logging in {region} (text, image and embedding data) into a "
                       f"new S3 bucket {bucket} of the account: it STORES EVERY PROMPT AND ANSWER, so only "
                       f"{', '.join(readers) or 'the account root'} may read it (a Deny on everyone else, Block Public "
                       "Access, SSE-KMS with our key); runs only with --allow-destructive or --enable-invocation-logging",
                calls=["bedrock:GetModelInvocationLoggingConfiguration", "s3:CreateBucket", "s3:PutBucketPublicAccessBlock",
                       "s3:PutBucketPolicy", "s3:PutEncryptionConfiguration",
                       "bedrock:PutModelInvocationLoggingConfiguration"],
                target=f"arn:{p}:s3:::{bucket}", targets=[f"arn:{p}:s3:::{bucket}"], partition=partition, run=run,
                before={"loggingConfig": None}, destructive=True, opt_in=INVOCATION_OPT_IN,
                requires=[f"kms.create:{partition}"],
                grants=["Sid:AmazonBedrockLogsWrite"])


@fixer("bedrock.invocation_logging")
def invocation_logging_fixer(ctx: Context, rec: CheckRecord) -> list[Step]:
    """Provision logging where a Region the key is used in has none; never change an existing configuration."""
    from bedrock_key_audit.inventory.traces import invocation_logging
    from bedrock_key_audit.verdicts.traces import invocation_logging_verdict

    steps: list[Step] = []
    regions = ctx.inv.key_regions().regions()
    for ev in rec.evidence:  # the Regions the check judged, those where the key-use read found use included
        if ev.get("source") == "bedrock.invocation_logging:regions":
            regions += [r for r in (ev.get("data") or {}).get("regions") or [] if r not in regions]
    for region in regions:
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
            from bedrock_key_audit.remediation.fixers.kms import _kms_steps

            steps += _kms_steps(ctx, "commercial") + [_invocation_logging_step(ctx, region)]
    return steps
