"""Reads behind ``bedrock.invocation_logging`` and ``cloudtrail.bucket_protected`` (verdicts:
:mod:`bedrock_key_audit.verdicts.traces`).  Every read goes through the inventory's one AWS-call wrapper and
memo, so each is made once per run.

Calls (the auditor policy in docs/auditor-policy.json grants exactly these):
``bedrock:GetModelInvocationLoggingConfiguration``, ``s3:ListAllMyBuckets`` (ListBuckets),
``logs:DescribeLogGroups``, ``s3:GetBucketPublicAccessBlock``, ``s3:GetAccountPublicAccessBlock``
(S3 Control GetPublicAccessBlock), ``s3:GetBucketLogging``, ``s3:GetBucketLocation`` (does the trail's bucket exist).
"""
from __future__ import annotations

from typing import Any

from bedrock_key_audit.fixtures.checks import CouldNotDecide
from bedrock_key_audit.verdicts.traces import BucketProtection, InvocationLogging

NO_PAB = "NoSuchPublicAccessBlockConfiguration"


def _account(inv: Any, partition: str) -> str:
    """The partition's account id, or "" when sts:GetCallerIdentity could not say (the verdicts then treat
    what needs it as unknown)."""
    try:
        return str(inv.identity(partition).get("Account") or "")
    except CouldNotDecide:
        return ""


def owned_buckets(inv: Any, partition: str) -> frozenset[str]:
    """``s3:ListAllMyBuckets`` (ListBuckets): the buckets the partition's account owns (every page)."""
    def fetch() -> frozenset[str]:
        items = inv._paginated(partition, "s3", "ListBuckets", "Buckets") or []
        return frozenset(b["Name"] for b in items if "Name" in b)
    result: frozenset[str] = inv.g.once(("owned-buckets", partition), fetch)
    return result


def invocation_logging(inv: Any, region: str) -> InvocationLogging:
    """``bedrock:GetModelInvocationLoggingConfiguration`` in ``region`` of the commercial account, and
    the reads that prove its destinations are the account's."""
    def fetch() -> InvocationLogging:
        resp = inv._read("commercial", "bedrock", "GetModelInvocationLoggingConfiguration", region=region) or {}
        log = InvocationLogging(account_id=_account(inv, "commercial"), region=region,
                                config=resp.get("loggingConfig") or {})
        if (log.config.get("s3Config") or {}).get("bucketName"):
            try:
                log.owned_buckets = owned_buckets(inv, "commercial")
            except CouldNotDecide as exc:
                log.owned_buckets_error = str(exc)
        group = (log.config.get("cloudWatchConfig") or {}).get("logGroupName")
        if group:
            try:
                groups = inv._paginated("commercial", "logs", "DescribeLogGroups", "logGroups", region=region,
                                        logGroupNamePrefix=group) or []
                log.log_group_found = any(g.get("logGroupName") == group for g in groups)
            except CouldNotDecide as exc:
                log.log_group_error = str(exc)
        return log
    result: InvocationLogging = inv.g.once(("invocation-logging", region), fetch)
    return result


def bucket_protection(inv: Any, partition: str, bucket: str, region: str) -> BucketProtection:
    """Bucket- and account-level Block Public Access and access logging of ``bucket``."""
    def fetch() -> BucketProtection:
        prot = BucketProtection(partition=partition, bucket=bucket, account_id=_account(inv, partition))
        try:
            got = inv._read(partition, "s3", "GetBucketLocation", region=region, expected={"NoSuchBucket"}, Bucket=bucket)
            if got is None:
                prot.missing = True
                return prot
        except CouldNotDecide:
            pass  # existence unknown: the reads below say what they can
        try:
            resp = inv._read(partition, "s3", "GetPublicAccessBlock", region=region, expected={NO_PAB}, Bucket=bucket)
            prot.bucket_pab = {} if resp is None else resp.get("PublicAccessBlockConfiguration") or {}
        except CouldNotDecide as exc:
            prot.bucket_pab_error = str(exc)
        if not prot.account_id:
            prot.account_pab_error = f"the {partition} account id is unknown (sts:GetCallerIdentity failed)"
        else:
            try:
                resp = inv._read(partition, "s3control", "GetPublicAccessBlock", region=region, expected={NO_PAB},
                                 AccountId=prot.account_id)
                prot.account_pab = {} if resp is None else resp.get("PublicAccessBlockConfiguration") or {}
            except CouldNotDecide as exc:
                prot.account_pab_error = str(exc)
        try:
            resp = inv._read(partition, "s3", "GetBucketLogging", region=region, Bucket=bucket) or {}
            prot.logging = resp.get("LoggingEnabled") or {}
        except CouldNotDecide as exc:
            prot.logging_error = str(exc)
        return prot
    result: BucketProtection = inv.g.once(("bucket-protection", partition, bucket), fetch)
    return result
