"""Are the key's traces protected?  Bedrock model-invocation logging, and the trail's own S3 bucket.

Pure verdicts on inventory objects (no AWS calls here; the reads are
:mod:`bedrock_key_audit.inventory.traces`).  Each verdict is ``("pass" | "fail", sentence)`` or raises
:class:`CouldNotDecide` with one sentence naming what is unknown and what would settle it.

**Model-invocation logging** (``bedrock.invocation_logging``).  Bedrock logs the model
invocations of an account and Region when ``PutModelInvocationLoggingConfiguration`` set a
``loggingConfig`` there, with an ``s3Config`` (a bucket) and/or a ``cloudWatchConfig`` (a log
group of the account, written through ``roleArn``); ``textDataDeliveryEnabled`` etc. choose which
data is delivered
(https://docs.aws.amazon.com/bedrock/latest/userguide/model-invocation-logging.html,
https://docs.aws.amazon.com/bedrock/latest/APIReference/API_GetModelInvocationLoggingConfiguration.html).
The audit asks: in each Region the key is used in, is there a destination *the account owns*, with
text delivery on (the key calls text models)?

* S3: a bucket name is global and may belong to anyone; a bucket is the account's when
  ``s3:ListBuckets`` of the account lists it ("Returns a list of all buckets owned by the
  authenticated sender of the request":
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html).
* CloudWatch Logs: ``logGroupName`` names a group in the account and Region of the configuration
  (it is a name, not an ARN), so it is the account's when ``logs:DescribeLogGroups`` finds it
  there.  The delivery role must be the account's own (its ARN's account).

**The trail's bucket** (``cloudtrail.bucket_protected``).  CIS AWS Foundations v3.0.0 3.4 (S3
bucket access logging on the CloudTrail bucket) and 2.1.4 (Block Public Access).  S3 applies
"the most restrictive combination of the bucket-level and account-level settings"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html):
a setting is on when either level has it on; a level with no configuration
(``NoSuchPublicAccessBlockConfiguration``) has every setting off.  Public access is blocked when
all four settings are on.  Access logging is on when ``GetBucketLogging`` returns
``LoggingEnabled`` (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLogging.html).
"""
from __future__ import annotations

import dataclasses
from typing import Any

from bedrock_key_audit.fixtures.checks import CouldNotDecide

PAB_SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


@dataclasses.dataclass
class InvocationLogging:
    """``bedrock:GetModelInvocationLoggingConfiguration`` of one Region, and what proves ownership.

    ``owned_buckets`` is None when ``s3:ListBuckets`` could not be read (``owned_buckets_error``);
    ``log_group_found`` is None when DescribeLogGroups could not be read (``log_group_error``)."""

    account_id: str
    region: str
    config: dict[str, Any]
    owned_buckets: frozenset[str] | None = None
    owned_buckets_error: str | None = None
    log_group_found: bool | None = None
    log_group_error: str | None = None


@dataclasses.dataclass
class BucketProtection:
    """What the trail's bucket shows about public access and access logging.

    ``bucket_pab``/``account_pab``: the PublicAccessBlockConfiguration, ``{}`` when none is set, None
    when it could not be read (``*_error`` says why).  ``logging``: GetBucketLogging's
    ``LoggingEnabled`` (``{}`` when off), None when unreadable."""

    partition: str
    bucket: str
    account_id: str
    bucket_pab: dict[str, Any] | None = None
    bucket_pab_error: str | None = None
    account_pab: dict[str, Any] | None = None
    account_pab_error: str | None = None
    logging: dict[str, Any] | None = None
    logging_error: str | None = None
    missing: bool = False  # GetBucketLocation answered NoSuchBucket


def invocation_logging_verdict(log: InvocationLogging) -> tuple[str, str]:
    """Pass when ``log.region`` delivers text invocation logs to an S3 bucket or a log group the account owns."""
    where = f"{log.region} (account {log.account_id})"
    cfg = log.config or {}
    s3 = cfg.get("s3Config") or {}
    cw = cfg.get("cloudWatchConfig") or {}
    if not s3.get("bucketName") and not cw.get("logGroupName"):
        return "fail", (f"model-invocation logging is off in {where}: no S3 bucket or CloudWatch log group receives "
                        "the key's Bedrock calls")
    if cfg.get("textDataDeliveryEnabled") is not True:
        return "fail", (f"model-invocation logging in {where} does not deliver text data "
                        "(textDataDeliveryEnabled is off), so the key's text-model calls are not logged")
    owned: list[str] = []
    problems: list[str] = []
    unknown: list[str] = []
    bucket = s3.get("bucketName")
    if bucket:
        if log.owned_buckets is None:
            unknown.append(f"whether bucket {bucket} is the account's ({log.owned_buckets_error or 's3:ListBuckets unreadable'})")
        elif bucket in log.owned_buckets:
            owned.append(f"S3 bucket {bucket}")
        else:
            problems.append(f"S3 bucket {bucket} is not owned by account {log.account_id}")
    group = cw.get("logGroupName")
    if group:
        role = cw.get("roleArn") or ""
        role_account = role.split(":")[4] if role.count(":") >= 5 else ""
        if not log.account_id:
            unknown.append(f"whether role {role} of log group {group} is the account's (sts:GetCallerIdentity failed)")
        elif role_account != log.account_id:
            problems.append(f"log group {group} is written through role {role or '(none)'}, which is not the account's")
        elif log.log_group_found is None:
            unknown.append(f"whether log group {group} exists ({log.log_group_error or 'logs:DescribeLogGroups unreadable'})")
        elif log.log_group_found:
            owned.append(f"CloudWatch Logs group {group}")
        else:
            problems.append(f"log group {group} does not exist in {log.region}")
    if owned:
        return "pass", f"model-invocation logging in {where} delivers text data to " + " and ".join(owned)
    if unknown:
        raise CouldNotDecide(f"model-invocation logging in {where} is configured, but the audit cannot tell "
                             f"{unknown[0]}; grant that read to the auditor")
    return "fail", f"model-invocation logging in {where} delivers nowhere the account owns: " + "; ".join(problems)


def effective_pab(prot: BucketProtection) -> tuple[dict[str, bool], list[str]]:
    """Each setting's effective value (either level on), and the settings that are unknown
    because a level that does not have them on could not be read."""
    eff: dict[str, bool] = {}
    unknown: list[str] = []
    for s in PAB_SETTINGS:
        levels = [prot.bucket_pab, prot.account_pab]
        if any(lvl is not None and lvl.get(s) is True for lvl in levels):
            eff[s] = True
        elif any(lvl is None for lvl in levels):
            unknown.append(s)
        else:
            eff[s] = False
    return eff, unknown


def bucket_protection_verdict(prot: BucketProtection) -> tuple[str, str]:
    """Pass when the bucket blocks every kind of public access (bucket or account level) and logs access."""
    b = f"S3 bucket {prot.bucket} of the {prot.partition} security trail"
    if prot.missing:
        # bucket names are global: whoever creates a deleted trail bucket's name receives the trail's logs
        return "fail", (f"{b} does not exist, so the trail delivers nothing and anyone who creates a bucket of that "
                        "name receives its logs")
    eff, unknown = effective_pab(prot)
    off = [s for s, on in eff.items() if not on]
    gaps: list[str] = []
    if off:
        gaps.append(f"Block Public Access is off for {', '.join(off)} at both bucket and account level")
    if prot.logging is not None and not prot.logging:
        gaps.append("server access logging is off")
    if gaps:
        return "fail", f"{b}: " + " and ".join(gaps)
    if unknown:
        why = prot.account_pab_error if prot.account_pab is None else prot.bucket_pab_error
        raise CouldNotDecide(f"cannot tell whether {b} blocks public access ({', '.join(unknown)} unreadable: {why})")
    if prot.logging is None:
        raise CouldNotDecide(f"cannot tell whether {b} logs access: {prot.logging_error}")
    target = prot.logging.get("TargetBucket", "?")
    return "pass", (f"{b} blocks all public access and logs access to bucket {target}")
