"""What the named emulator states are built from: their names, the registry, the building blocks and the
compliant state (the scenarios themselves are in scenarios.py, scenarios_access.py and scenarios_org.py).

Every scenario is a small function ``(emu) -> None`` that builds its state only through
boto3 calls against the running emulator (and, for time, its HTTP control API), never by
touching moto's internals, so each one is also a recipe that would build the same state
in real AWS.  Names follow the setup guide (/work/shared/reference/bedrock-api-key-setup-guide.md).

``compliant`` passes every check; each fault scenario is ``compliant`` plus exactly one
change, named after the finding the audit must report.  Trail faults are made on the
commercial trail (the partition that holds the key); GovCloud's trail stays compliant.
"""
from __future__ import annotations

import json
import urllib.request
from typing import Any, Callable, Sequence

from bedrock_key_audit.emulator import org_guard, partitions


# The setup guide's custom policy, "Step 2: Create Custom Policy for Enhanced Permissions"
# (bedrock-enhanced-policy.json: these 11 actions on "*"; see docs/setup-guide.md and
# /work/shared/reference/bedrock-api-key-setup-guide.md).  The emulator keeps its own copy as
# scenario data: it never imports the audit (bedrock_key_audit.fixtures.config has the audit's).
GUIDE_ACTIONS = [
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
    "bedrock:ListFoundationModels",
    "bedrock:GetFoundationModel",
    "bedrock:CreateInferenceProfile",
    "bedrock:GetInferenceProfile",
    "bedrock:ListInferenceProfiles",
    "bedrock:DeleteInferenceProfile",
    "bedrock:TagResource",
    "bedrock:UntagResource",
    "bedrock:ListTagsForResource",
]

USER = "bedrock-cross-partition-user"
POLICY_NAME = "BedrockCrossPartitionEnhanced"
SECRET_NAME = "cross-partition-commercial-creds"
SECRET_PARTITION = "govcloud"  # the secret lives in us-gov-west-1
BEDROCK = "bedrock.amazonaws.com"
FULL_ACCESS = "AmazonBedrockFullAccess"
# AWS managed; its published document allows bedrock-mantle:CallWithBearerToken on "*" and Get*/List*/
# CreateInference on Mantle projects ("AmazonBedrockMantleInferenceAccess", AWS Managed Policy Reference).
MANTLE_INFERENCE = "AmazonBedrockMantleInferenceAccess"
KEY_AGE_DAYS = 180
TRAIL_NAME = "bedrock-audit-trail"
SECRET_KMS_ALIAS = "alias/cross-partition-secrets"
TRAIL_KMS_ALIAS = "alias/cloudtrail-logs"

# Using a long-term API key additionally needs CallWithBearerToken.
COMPLIANT_ACTIONS = GUIDE_ACTIONS + ["bedrock:CallWithBearerToken"]

Scenario = Callable[[Any], None]
SCENARIOS: dict[str, Scenario] = {}


# Scenario name -> the rows it breaks ({row id: "fail" | "error"}), declared beside the scenario with
# @breaks; every other row passes.  tests/audit/test_scenarios.py runs every scenario declared here.
BREAKS: dict[str, dict[str, str]] = {}


def scenario(fn: Scenario) -> Scenario:
    SCENARIOS[fn.__name__] = fn
    return fn


def breaks(**rows: str) -> Callable[[Scenario], Scenario]:
    """Declare the rows a fault scenario breaks: ``@breaks(**{"credential.recently_used": "fail"})``
    above ``@scenario``; a scenario with no declaration is not a fault scenario of the verdict table."""
    def deco(fn: Scenario) -> Scenario:
        BREAKS[fn.__name__] = dict(rows)
        return fn
    return deco


def get(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}") from None


def describe() -> dict[str, str]:
    """Scenario name -> the first paragraph of its docstring, joined into one line (for
    ``--list-scenarios`` and the control API): a description that wraps is not cut short."""
    out = {}
    for name, fn in SCENARIOS.items():
        first = (fn.__doc__ or "").strip().split("\n\n")[0]
        out[name] = " ".join(line.strip() for line in first.splitlines() if line.strip())
    return out


# --------------------------------------------------------------------------- building blocks
def _policy_doc(actions: list[str]) -> str:
    return json.dumps({"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})


def _advance_clock(emu: Any, days: float) -> None:
    """Move the emulator clock through its HTTP control API (time is not AWS state)."""
    req = urllib.request.Request(f"{emu.url}/_emulator/clock", method="POST",
                                 data=json.dumps({"advance_days": days}).encode(),
                                 headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
    with opener.open(req, timeout=10) as resp:
        resp.read()


def _arn_partition(emu: Any, partition: str) -> str:
    caller: str = emu.client("sts", partition).get_caller_identity()["Arn"]
    return caller.split(":")[1]


def _create_user(emu: Any, policy_actions: list[str] | None, managed: Sequence[str] = ()) -> None:
    iam = emu.client("iam")
    iam.create_user(UserName=USER)
    for name in managed:
        iam.attach_user_policy(UserName=USER, PolicyArn=f"arn:aws:iam::aws:policy/{name}")
    if policy_actions is not None:
        arn = iam.create_policy(PolicyName=POLICY_NAME, PolicyDocument=_policy_doc(policy_actions))["Policy"]["Arn"]
        iam.attach_user_policy(UserName=USER, PolicyArn=arn)


def _create_key(emu: Any, age_days: int | None = KEY_AGE_DAYS, backdate_days: float = 0) -> dict[str, Any]:
    """A Bedrock API key; ``backdate_days`` creates it that many days ago (clock back, then forward)."""
    iam = emu.client("iam")
    kwargs: dict[str, Any] = {"UserName": USER, "ServiceName": BEDROCK}
    if age_days is not None:
        kwargs["CredentialAgeDays"] = age_days
    if backdate_days:
        _advance_clock(emu, -backdate_days)
    try:
        made: dict[str, Any] = iam.create_service_specific_credential(**kwargs)["ServiceSpecificCredential"]
        return made
    finally:
        if backdate_days:
            _advance_clock(emu, backdate_days)


def _secret_string(api_key: str) -> str:
    return json.dumps({"bedrock_api_key": api_key, "region": "us-east-1"})


def _create_secret(emu: Any, secret_string: str, customer_kms: bool) -> None:
    sm = emu.client("secretsmanager", SECRET_PARTITION)
    kwargs: dict[str, Any] = {"Name": SECRET_NAME, "SecretString": secret_string,
                              "Description": "Commercial-partition Bedrock API key for cross-partition inference"}
    if customer_kms:
        kms = emu.client("kms", SECRET_PARTITION)
        key = kms.create_key(Description="Customer-managed key for cross-partition secrets")["KeyMetadata"]
        kms.create_alias(AliasName=SECRET_KMS_ALIAS, TargetKeyId=key["KeyId"])
        kwargs["KmsKeyId"] = key["Arn"]
    sm.create_secret(**kwargs)


def _bucket_policy(bucket: str, arn_partition: str, account: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow",
             "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": "s3:GetBucketAcl", "Resource": f"arn:{arn_partition}:s3:::{bucket}"},
            {"Sid": "AWSCloudTrailWrite", "Effect": "Allow",
             "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": "s3:PutObject", "Resource": f"arn:{arn_partition}:s3:::{bucket}/AWSLogs/{account}/*",
             "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}},
        ],
    })


def _trail_key_policy(arn_partition: str, account: str) -> str:
    """KMS key policy CloudTrail needs to encrypt logs ("Configure AWS KMS key policies for CloudTrail");
    without it CreateTrail fails with InsufficientEncryptionPolicyException, as in AWS."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "EnableIamPolicies", "Effect": "Allow", "Principal": {"AWS": f"arn:{arn_partition}:iam::{account}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "AllowCloudTrailToEncryptLogs", "Effect": "Allow",
             "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*",
             "Condition": {"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn":
                                          f"arn:{arn_partition}:cloudtrail:*:{account}:trail/*"}}},
            {"Sid": "AllowCloudTrailToDescribeKey", "Effect": "Allow",
             "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:DescribeKey", "Resource": "*"},
        ],
    })


PAB_ALL = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def _create_bucket(s3: Any, bucket: str, region: str) -> None:
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})


def _access_logging(emu: Any, partition: str, bucket: str) -> None:
    """Server access logging of ``bucket`` into a log bucket of the account, written by the S3
    logging service principal (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html)."""
    region = emu.session(partition).region_name
    account = emu.accounts[partition]
    arn_partition = _arn_partition(emu, partition)
    s3 = emu.client("s3", partition)
    target = f"s3-access-logs-{account}-{region}"
    _create_bucket(s3, target, region)
    s3.put_public_access_block(Bucket=target, PublicAccessBlockConfiguration=PAB_ALL)
    s3.put_bucket_policy(Bucket=target, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "S3ServerAccessLogsPolicy", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject", "Resource": f"arn:{arn_partition}:s3:::{target}/*",
        "Condition": {"StringEquals": {"aws:SourceAccount": account}}}]}))
    s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": target, "TargetPrefix": f"{bucket}/"}})


def _invocation_logging(emu: Any, *, bucket: str | None = None) -> None:
    """Bedrock model-invocation logging in the commercial home Region, to an S3 bucket of the account
    whose policy lets bedrock.amazonaws.com write
    (https://docs.aws.amazon.com/bedrock/latest/userguide/model-invocation-logging.html), encrypted by
    default with SSE-KMS (the account's ``aws/s3`` key: the logs hold every prompt and answer).
    ``bucket``: name another account's bucket instead (nothing is created; this emulator has one
    account per partition, and a bucket of another account is exactly one this account does not own)."""
    partition = "commercial"
    region = emu.session(partition).region_name
    account = emu.accounts[partition]
    if bucket is None:
        bucket = f"bedrock-invocation-logs-{account}-{region}"
        s3 = emu.client("s3", partition)
        _create_bucket(s3, bucket, region)
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=PAB_ALL)
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]})
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": "AmazonBedrockLogsWrite", "Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"arn:{_arn_partition(emu, partition)}:s3:::{bucket}/AWSLogs/{account}/BedrockModelInvocationLogs/*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}}}]}))
    emu.client("bedrock", partition).put_model_invocation_logging_configuration(loggingConfig={
        "s3Config": {"bucketName": bucket}, "textDataDeliveryEnabled": True, "imageDataDeliveryEnabled": True,
        "embeddingDataDeliveryEnabled": True})


def _create_trail(emu: Any, partition: str, *, multi_region: bool = True, validation: bool = True,
                  kms: bool = True, logging: bool = True, bucket_policy: bool = True,
                  global_events: bool = True, block_public: bool = True, access_logging: bool = True) -> None:
    """A trail and its bucket.  ``block_public``: all four Block Public Access settings on the bucket,
    as S3 sets them on every new bucket since April 2023
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html);
    ``access_logging``: server access logging into a log bucket (which hand-made setups rarely have)."""
    region = emu.session(partition).region_name
    account = emu.accounts[partition]
    arn_partition = _arn_partition(emu, partition)
    s3 = emu.client("s3", partition)
    bucket = f"cloudtrail-logs-{account}-{region}"
    _create_bucket(s3, bucket, region)
    if block_public:
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=PAB_ALL)
    if access_logging:
        _access_logging(emu, partition, bucket)
    # CreateTrail refuses a bucket CloudTrail cannot write (InsufficientS3BucketPolicyException), so a
    # trail without a bucket policy is built as it happens in AWS: the policy is removed afterwards.
    s3.put_bucket_policy(Bucket=bucket, Policy=_bucket_policy(bucket, arn_partition, account))
    kwargs: dict[str, Any] = {"Name": TRAIL_NAME, "S3BucketName": bucket,
                              "IsMultiRegionTrail": multi_region, "EnableLogFileValidation": validation,
                              "IncludeGlobalServiceEvents": global_events}
    if kms:
        kms_client = emu.client("kms", partition)
        key = kms_client.create_key(Description="CloudTrail log encryption",
                                    Policy=_trail_key_policy(arn_partition, account))["KeyMetadata"]
        kms_client.create_alias(AliasName=TRAIL_KMS_ALIAS, TargetKeyId=key["KeyId"])
        kwargs["KmsKeyId"] = key["Arn"]
    ct = emu.client("cloudtrail", partition)
    ct.create_trail(**kwargs)
    if not bucket_policy:
        s3.delete_bucket_policy(Bucket=bucket)
    if logging:
        ct.start_logging(Name=TRAIL_NAME)


def _compliant(emu: Any, *, key_age_days: int | None = KEY_AGE_DAYS, key_backdate_days: float = 0,
               secret_customer_kms: bool = True, commercial_trail: dict[str, Any] | None = None,
               invocation_logging: bool = True, organization: bool = True) -> dict[str, Any]:
    """The compliant state, with the knobs the single-change fault scenarios turn; returns the key.

    ``organization``: both accounts are member accounts (and delegated administrators) of an
    organization whose SCPs cap Bedrock API keys at 180 days and confine long-term keys to the
    key's user (:func:`guardrails`); builders acting in other accounts pass False."""
    _create_user(emu, COMPLIANT_ACTIONS)
    cred = _create_key(emu, key_age_days, key_backdate_days)
    _create_secret(emu, _secret_string(cred["ServiceCredentialSecret"]), secret_customer_kms)
    _create_trail(emu, "commercial", **(commercial_trail or {}))
    _create_trail(emu, "govcloud")
    if invocation_logging:
        _invocation_logging(emu)
    if organization:
        guardrails()
    return cred


# --------------------------------------------------------------------------- organization building blocks
MANAGEMENT = {"commercial": "888888888888", "govcloud": "288888888888"}
ARN_PARTITION = {"commercial": "aws", "govcloud": "aws-us-gov"}

# "Deny Bedrock api keys longer than N days" plus keys without an expiration
CAP_KEY_AGE = {"Version": "2012-10-17", "Statement": [
    {"Sid": "DenyLongLivedBedrockKeys", "Effect": "Deny", "Action": "iam:CreateServiceSpecificCredential",
     "Resource": "*", "Condition": {"StringEquals": {"iam:ServiceSpecificCredentialServiceName": BEDROCK},
                                    "NumericGreaterThan": {"iam:ServiceSpecificCredentialAgeDays": str(KEY_AGE_DAYS)}}},
    {"Sid": "DenyNeverExpiringBedrockKeys", "Effect": "Deny", "Action": "iam:CreateServiceSpecificCredential",
     "Resource": "*", "Condition": {"StringEquals": {"iam:ServiceSpecificCredentialServiceName": BEDROCK},
                                    "Null": {"iam:ServiceSpecificCredentialAgeDays": "true"}}}]}
# "Deny long-term Bedrock API key use"
DENY_LONG_TERM = {"Version": "2012-10-17", "Statement": [
    {"Sid": "DenyLongTermBedrockKeys", "Effect": "Deny", "Action": "bedrock:CallWithBearerToken", "Resource": "*",
     "Condition": {"StringEquals": {"bedrock:BearerTokenType": "LONG_TERM"}}}]}


def confine(allowed: list[str], minters: list[str] | None = None) -> dict[str, Any]:
    """Long-term Bedrock API keys -- LONG_TERM bearer calls, Mantle bearer calls -- denied to all but
    ``allowed``; their creation to all but ``allowed`` and ``minters`` (who rotates the key)."""
    cond: dict[str, Any] = {"ArnNotLike": {"aws:PrincipalArn": allowed}} if allowed else {}
    creators = list(dict.fromkeys([*allowed, *(minters or [])]))
    create_cond: dict[str, Any] = {"ArnNotLike": {"aws:PrincipalArn": creators}} if creators else {}
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyBedrockKeyCreation", "Effect": "Deny", "Action": "iam:CreateServiceSpecificCredential",
         "Resource": "*", "Condition": {"StringEquals": {"iam:ServiceSpecificCredentialServiceName": BEDROCK},
                                        **create_cond}},
        {"Sid": "DenyLongTermBearerUse", "Effect": "Deny", "Action": "bedrock:CallWithBearerToken", "Resource": "*",
         "Condition": {"StringEquals": {"bedrock:BearerTokenType": "LONG_TERM"}, **cond}},
        # bedrock:BearerTokenType is documented for bedrock:CallWithBearerToken only: the Mantle
        # action is denied outright to the others, as AWS's sample Deny-Bedrock-api-keys.json does
        {"Sid": "DenyMantleBearerUse", "Effect": "Deny", "Action": "bedrock-mantle:CallWithBearerToken",
         "Resource": "*", **({"Condition": cond} if cond else {})}]}


def guardrails() -> None:
    """Both emulator accounts members of their partition's organization, with the Bedrock-key SCPs
    on their OU: the key-age cap, and long-term keys confined to the key's user (commercial) or
    to nobody (GovCloud, where no key user lives), their creation also to the account root."""
    for p in ("commercial", "govcloud"):
        parent = member(p)
        attach_scp(p, parent, "CapBedrockKeyAge", CAP_KEY_AGE)
        users = [f"arn:aws:iam::{partitions.ACCOUNTS[p]}:user/{USER}"] if p == "commercial" else []
        # the account root (the emulator's own keys: the remediating principal of an --emulate run)
        # rotates the key: SCPs bind a member account's root too, so creation spares it
        arn_p = "aws" if p == "commercial" else "aws-us-gov"
        attach_scp(p, parent, "ConfineBedrockApiKeys", confine(users, [f"arn:{arn_p}:iam::{partitions.ACCOUNTS[p]}:root"]))


def member(partition: str, *, delegated_admin: bool = True, ou: str | None = "workloads") -> str:
    """Make the emulator's ``partition`` account a member of :data:`MANAGEMENT`'s organization; its parent's id."""
    return org_guard.join(partitions.ACCOUNTS[partition], MANAGEMENT[partition], partition=ARN_PARTITION[partition],
                          ou=ou, delegated_admin=delegated_admin)


def attach_scp(partition: str, target: str, name: str, document: dict[str, Any]) -> str:
    return org_guard.attach(MANAGEMENT[partition], target, org_guard.SCP, name, document,
                            partition=ARN_PARTITION[partition])
