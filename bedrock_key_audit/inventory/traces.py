"""Reads behind ``bedrock.invocation_logging`` and ``cloudtrail.bucket_protected`` (verdicts:
:mod:`bedrock_key_audit.verdicts.traces`).  Every read goes through the inventory's one AWS-call wrapper and
memo, so each is made once per run.

Calls (the auditor policy in docs/auditor-policy.json grants exactly these):
``bedrock:GetModelInvocationLoggingConfiguration``, ``s3:ListAllMyBuckets`` (ListBuckets),
``logs:DescribeLogGroups``, ``s3:GetBucketPublicAccessBlock``, ``s3:GetAccountPublicAccessBlock``
(S3 Control GetPublicAccessBlock), ``s3:GetBucketLogging``, ``s3:GetBucketLocation`` (does the trail's bucket exist),
``s3:GetEncryptionConfiguration`` (GetBucketEncryption) and ``s3:GetBucketPolicy`` of the invocation-log
bucket, ``iam:GetRole`` (the CloudWatch Logs delivery role and its trust policy), ``kms:DescribeKey`` of each
KMS key a destination names (in the key's own Region: a key ARN's, else the configuration's).
"""
from __future__ import annotations

import json
import urllib.parse
from typing import Any

from bedrock_key_audit.aws_call import client_response, is_client_error

from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.permissions import BUCKET, COMMERCIAL, INVOCATION_LOG_BUCKET, INVOCATION_LOGGING, ROLE, Read, reads
from bedrock_key_audit.verdicts.traces import BucketFacts, BucketProtection, InvocationLogging

NO_PAB = "NoSuchPublicAccessBlockConfiguration"
NO_ENCRYPTION = "ServerSideEncryptionConfigurationNotFoundError"
NO_POLICY = "NoSuchBucketPolicy"


def _account(inv: Any, partition: str) -> str:
    """The partition's account id, or "" when sts:GetCallerIdentity could not say (the verdicts then treat
    what needs it as unknown)."""
    try:
        return str(inv.identity(partition).get("Account") or "")
    except CouldNotDecide:
        return ""


@reads(Read("s3:ListBuckets", INVOCATION_LOGGING, actions=("s3:ListAllMyBuckets",)))
def owned_buckets(inv: Any, partition: str) -> frozenset[str]:
    """``s3:ListAllMyBuckets`` (ListBuckets): the buckets the partition's account owns (every page)."""
    def fetch() -> frozenset[str]:
        items = inv._paginated(partition, "s3", "ListBuckets", "Buckets") or []
        return frozenset(b["Name"] for b in items if "Name" in b)
    result: frozenset[str] = inv.g.once(("owned-buckets", partition), fetch)
    return result


@reads(Read("s3control:GetPublicAccessBlock", INVOCATION_LOGGING, actions=("s3:GetAccountPublicAccessBlock",)))
def account_pab(inv: Any, partition: str, account_id: str, region: str) -> dict[str, Any]:
    """S3 Control ``GetPublicAccessBlock`` of the account (``{}`` when none is set); once per partition."""
    def fetch() -> dict[str, Any]:
        resp = inv._read(partition, "s3control", "GetPublicAccessBlock", region=region, expected={NO_PAB},
                         AccountId=account_id)
        return {} if resp is None else resp.get("PublicAccessBlockConfiguration") or {}
    got: dict[str, Any] = inv.g.once(("account-pab", partition), fetch)
    return got


@reads(Read("s3:GetBucketEncryption", INVOCATION_LOG_BUCKET, actions=("s3:GetEncryptionConfiguration",), partitions=COMMERCIAL),
    Read("s3:GetBucketPolicy", INVOCATION_LOG_BUCKET, partitions=COMMERCIAL),
    Read("s3:GetPublicAccessBlock", BUCKET, actions=("s3:GetBucketPublicAccessBlock",), partitions=COMMERCIAL))
def _invocation_bucket(inv: Any, log: InvocationLogging, bucket: str, region: str,
                       into: BucketFacts | InvocationLogging | None = None) -> None:
    """Default encryption, bucket policy and Block Public Access of the account's invocation-log bucket
    (written into ``into``; ``log`` itself by default), and its Region (into ``log.bucket_regions``)."""
    log_account = log.account_id
    out: Any = log if into is None else into

    def encryption() -> None:
        try:
            resp = inv._read("commercial", "s3", "GetBucketEncryption", region=region, expected={NO_ENCRYPTION},
                             Bucket=bucket)
            out.bucket_encryption = [] if resp is None else (
                (resp.get("ServerSideEncryptionConfiguration") or {}).get("Rules") or [])
        except CouldNotDecide as exc:
            out.bucket_encryption_error = str(exc)

    def policy() -> None:
        try:
            resp = inv._read("commercial", "s3", "GetBucketPolicy", region=region, expected={NO_POLICY}, Bucket=bucket)
            out.bucket_policy = {} if resp is None else json.loads(resp.get("Policy") or "{}")
        except CouldNotDecide as exc:
            out.bucket_policy_error = str(exc)
        except ValueError:
            out.bucket_policy_error = f"the bucket policy of {bucket} is not JSON"

    def bucket_pab() -> None:
        try:
            resp = inv._read("commercial", "s3", "GetPublicAccessBlock", region=region, expected={NO_PAB},
                             Bucket=bucket)
            out.bucket_pab = {} if resp is None else resp.get("PublicAccessBlockConfiguration") or {}
        except CouldNotDecide as exc:
            out.bucket_pab_error = str(exc)

    def acct_pab() -> None:
        if not log_account:
            out.account_pab_error = "the commercial account id is unknown (sts:GetCallerIdentity failed)"
            return
        try:
            out.account_pab = account_pab(inv, "commercial", log_account, region)
        except CouldNotDecide as exc:
            out.account_pab_error = str(exc)

    def location() -> None:  # beside the others: it needs only the bucket's name
        try:
            log.bucket_regions[bucket] = bucket_region(inv, "commercial", bucket, region)
        except CouldNotDecide as exc:
            log.bucket_region_errors[bucket] = str(exc)

    inv.g.fanout([encryption, policy, bucket_pab, acct_pab, location])


def _kms_keys(inv: Any, log: InvocationLogging, region: str) -> None:
    """``kms:DescribeKey`` of every KMS key the destinations name, in the key's Region (its ARN's; a bare
    key id or alias is resolved in the configuration's Region, where the bucket or group uses it)."""
    keys: set[str] = set()
    if log.log_group_kms_key:
        keys.add(log.log_group_kms_key)
    for facts in (log, log.large_data):
        for r in (getattr(facts, "bucket_encryption", None) or []):
            k = (r.get("ApplyServerSideEncryptionByDefault") or {}).get("KMSMasterKeyID")
            if k:
                keys.add(str(k))

    def one(key: str) -> None:
        where = key.split(":")[3] if key.startswith("arn:") and key.count(":") >= 5 else region
        try:
            log.kms_keys[key] = inv.kms_key("commercial", key, where or region)
        except CouldNotDecide as exc:
            log.kms_key_errors[key] = str(exc)
    inv.g.fanout([(lambda k=k: one(k)) for k in sorted(keys)])


@reads(Read("iam:GetRole", ROLE, partitions=COMMERCIAL))
def _delivery_role(inv: Any, log: InvocationLogging, role_arn: str) -> None:
    """``iam:GetRole`` of the CloudWatch Logs delivery role (by the name its ARN ends with)."""
    name = role_arn.rsplit("/", 1)[-1] if ":role/" in role_arn else ""
    if not name:
        log.role_error = f"{role_arn or '(none)'} is not a role ARN"
        return
    try:
        resp = inv._read("commercial", "iam", "GetRole", expected={"NoSuchEntity"}, RoleName=name)
    except CouldNotDecide as exc:
        log.role_error = str(exc)
        return
    if resp is None:
        log.role_missing = True
        return
    role = resp.get("Role") or {}
    doc = role.get("AssumeRolePolicyDocument")
    if isinstance(doc, str):  # botocore leaves it URL-encoded JSON
        try:
            doc = json.loads(urllib.parse.unquote(doc))
        except ValueError:
            doc = None
    log.role = {"Arn": role.get("Arn"), "AssumeRolePolicyDocument": doc if isinstance(doc, dict) else None}


@reads(Read("bedrock:GetModelInvocationLoggingConfiguration", INVOCATION_LOGGING, partitions=COMMERCIAL),
    Read("logs:DescribeLogGroups", INVOCATION_LOGGING, partitions=COMMERCIAL))
def invocation_logging(inv: Any, region: str) -> InvocationLogging:
    """``bedrock:GetModelInvocationLoggingConfiguration`` in ``region`` of the commercial account, and
    the reads that judge its destinations (ownership, encryption, who may read)."""
    def fetch() -> InvocationLogging:
        resp = inv._read("commercial", "bedrock", "GetModelInvocationLoggingConfiguration", region=region) or {}
        log = InvocationLogging(account_id=_account(inv, "commercial"), region=region,
                                config=resp.get("loggingConfig") or {})
        bucket = (log.config.get("s3Config") or {}).get("bucketName")
        cw = log.config.get("cloudWatchConfig") or {}
        big = (cw.get("largeDataDeliveryS3Config") or {}).get("bucketName")
        if bucket or big:
            try:
                log.owned_buckets = owned_buckets(inv, "commercial")
            except CouldNotDecide as exc:
                log.owned_buckets_error = str(exc)
        if bucket and log.owned_buckets is not None and bucket in log.owned_buckets:
            _invocation_bucket(inv, log, bucket, region)
        if big and big != bucket and log.owned_buckets is not None and big in log.owned_buckets:
            log.large_data = BucketFacts()
            _invocation_bucket(inv, log, big, region, into=log.large_data)
        group = cw.get("logGroupName")
        if group:
            try:
                groups = inv._paginated("commercial", "logs", "DescribeLogGroups", "logGroups", region=region,
                                        logGroupNamePrefix=group) or []
                found = [g for g in groups if g.get("logGroupName") == group]
                log.log_group_found = bool(found)
                log.log_group_kms_key = found[0].get("kmsKeyId") if found else None
            except CouldNotDecide as exc:
                log.log_group_error = str(exc)
            role_arn = str(cw.get("roleArn") or "")
            if log.account_id and role_arn.count(":") >= 5 and role_arn.split(":")[4] == log.account_id:
                _delivery_role(inv, log, role_arn)
        _kms_keys(inv, log, region)
        for b in {x for x in (bucket, big) if x and log.owned_buckets is not None and x in log.owned_buckets}:
            try:
                log.bucket_regions[b] = bucket_region(inv, "commercial", b, region)
            except CouldNotDecide as exc:
                log.bucket_region_errors[b] = str(exc)
        return log
    result: InvocationLogging = inv.g.once(("invocation-logging", region), fetch)
    return result


@reads(Read("s3:GetBucketLocation", BUCKET))
def bucket_region(inv: Any, partition: str, bucket: str, region: str) -> str:
    """``s3:GetBucketLocation``: the bucket's Region (an empty or null ``LocationConstraint`` is us-east-1,
    ``EU`` is eu-west-1: Amazon S3 API Reference, GetBucketLocation); raises CouldNotDecide when unreadable."""
    def fetch() -> str:
        return _location(inv._read(partition, "s3", "GetBucketLocation", region=region, Bucket=bucket) or {})
    got: str = inv.g.once(("bucket-region", partition, bucket), fetch)
    return got


@reads(Read("s3:GetBucketLocation", BUCKET))
def bucket_exists(inv: Any, partition: str, bucket: str, region: str) -> bool:
    """``s3:GetBucketLocation`` answers whether ``bucket`` exists: ``NoSuchBucket`` for a name nobody
    owns; ``AccessDenied`` for a bucket of someone who does not let the auditor read it (it exists)."""
    def via(client: Any) -> dict[str, Any]:
        try:
            got = client.get_bucket_location(Bucket=bucket)
        except Exception as exc:  # a ClientError of any copy of botocore (aws_call.is_client_error); others re-raised
            if not is_client_error(exc):
                raise
            code = str((client_response(exc).get("Error") or {}).get("Code") or "")
            if code in ("NoSuchBucket", "404"):
                return {"exists": False}
            if code in ("AccessDenied", "403"):
                return {"exists": True}
            raise
        return {"exists": True, "location": got}

    def fetch() -> bool:
        resp = inv._read(partition, "s3", "GetBucketLocation", region=region, via=via) or {}
        if isinstance(resp.get("location"), dict):
            _seed_bucket_region(inv, partition, bucket, resp["location"])
        return bool(resp.get("exists"))
    got: bool = inv.g.once(("bucket-exists", partition, bucket), fetch)
    return got


def _location(resp: dict[str, Any]) -> str:
    loc = str(resp.get("LocationConstraint") or "")
    return {"": "us-east-1", "EU": "eu-west-1"}.get(loc, loc)


def _seed_bucket_region(inv: Any, partition: str, bucket: str, resp: dict[str, Any]) -> None:
    """An existence read is the same ``GetBucketLocation`` request :func:`bucket_region` makes: keep its
    answer in that memo cell so the Region is not asked again."""
    inv.g.once(("bucket-region", partition, bucket), lambda: _location(resp))


@reads(Read("s3:GetBucketLocation", BUCKET),
    Read("s3:GetPublicAccessBlock", BUCKET, actions=("s3:GetBucketPublicAccessBlock",)),
    Read("s3:GetBucketLogging", BUCKET))
def bucket_protection(inv: Any, partition: str, bucket: str, region: str) -> BucketProtection:
    """Bucket- and account-level Block Public Access and access logging of ``bucket``, judged by the
    settings of the account that owns it (the audited account's only when its ListBuckets lists it).

    Reads in two rounds, each round's reads side by side: whether the bucket exists (``GetBucketLocation``),
    ListBuckets, the bucket's Block Public Access and its logging (none needs another's answer; for a bucket
    that does not exist the last two answer NoSuchBucket and are dropped); then what those name (the
    account's Block Public Access when the bucket is the account's, whether the log target exists and the
    Regions of both)."""
    def fetch() -> BucketProtection:
        prot = BucketProtection(partition=partition, bucket=bucket, account_id=_account(inv, partition))

        def exists_read() -> bool:  # False: no such bucket; True: it exists, or whether it does is unknown
            try:
                got = inv._read(partition, "s3", "GetBucketLocation", region=region, expected={"NoSuchBucket"},
                                Bucket=bucket)
            except CouldNotDecide:
                return True  # existence unknown: the other reads say what they can
            if got is None:
                return False
            _seed_bucket_region(inv, partition, bucket, got)
            return True

        def owned_read() -> frozenset[str] | None:
            try:
                return owned_buckets(inv, partition)
            except CouldNotDecide as exc:
                prot.foreign, prot.owner_error = None, str(exc)
                return None

        def pab_read() -> None:
            try:
                resp = inv._read(partition, "s3", "GetPublicAccessBlock", region=region, expected={NO_PAB}, Bucket=bucket)
                prot.bucket_pab = {} if resp is None else resp.get("PublicAccessBlockConfiguration") or {}
            except CouldNotDecide as exc:
                prot.bucket_pab_error = str(exc)

        def logging_read() -> None:
            try:
                resp = inv._read(partition, "s3", "GetBucketLogging", region=region, Bucket=bucket) or {}
                prot.logging = resp.get("LoggingEnabled") or {}
            except CouldNotDecide as exc:
                prot.logging_error = str(exc)

        exists, owned, _, _ = inv.g.fanout([exists_read, owned_read, pab_read, logging_read])
        if not exists:
            return BucketProtection(partition=partition, bucket=bucket, account_id=prot.account_id, missing=True)
        if owned is not None:
            prot.foreign = bucket not in owned

        def account_read() -> None:
            if prot.foreign:
                prot.account_pab_error = (f"{bucket} belongs to another account, whose account-level Block Public "
                                          "Access only that account can read; turn the settings on at bucket level or "
                                          "audit the owning account")
            elif prot.foreign is None:
                prot.account_pab_error = (f"whether {bucket} is the {partition} account's is unknown ({prot.owner_error}), "
                                          "so its account-level settings may not apply")
            elif not prot.account_id:
                prot.account_pab_error = f"the {partition} account id is unknown (sts:GetCallerIdentity failed)"
            else:
                try:
                    prot.account_pab = account_pab(inv, partition, prot.account_id, region)
                except CouldNotDecide as exc:
                    prot.account_pab_error = str(exc)

        def target_read() -> None:
            target = (prot.logging or {}).get("TargetBucket")
            if not target:
                return
            if owned is not None and target in owned:
                prot.target_exists = True
                prot.target_owned = True
            else:
                try:
                    prot.target_exists = bucket_exists(inv, partition, target, region)
                except CouldNotDecide as exc:
                    prot.target_error = str(exc)
                if prot.target_exists and prot.foreign is False and owned is not None:
                    prot.target_owned = False  # it exists, but the account's ListBuckets does not list it
            if prot.target_exists:
                try:
                    b_region, t_region = inv.g.fanout([lambda: bucket_region(inv, partition, bucket, region),
                                                       lambda: bucket_region(inv, partition, target, region)])
                    prot.bucket_region, prot.target_region = b_region, t_region
                except CouldNotDecide:
                    pass  # a Region that cannot be read is not judged (another account's bucket may deny it)

        inv.g.fanout([account_read, target_read])
        return prot
    result: BucketProtection = inv.g.once(("bucket-protection", partition, bucket), fetch)
    return result
