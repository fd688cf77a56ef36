"""Two partitions on one port, isolated as in AWS; moto answers corrected where the audit reads them."""
from __future__ import annotations

import json
import re

import botocore.exceptions
import pytest

from bedrock_key_audit.emulator import partitions

COMMERCIAL, GOV = "123456789012", "210987654321"
DEFAULT_SELECTOR = [{"ReadWriteType": "All", "IncludeManagementEvents": True,
                     "DataResources": [], "ExcludeManagementEventSources": []}]


def _bucket(emu, partition: str, name: str) -> str:
    s3 = emu.client("s3", partition)
    region = emu.session(partition).region_name
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    return name


def cloudtrail_bucket(emu, partition: str, name: str) -> str:
    """A bucket CloudTrail may write to (CreateTrail refuses others, as AWS)."""
    _bucket(emu, partition, name)
    emu.client("s3", partition).put_bucket_policy(Bucket=name, Policy=json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": f"arn:*:s3:::{name}/*"}]}))
    return name


def cloudtrail_key(emu, partition: str = "commercial", **kw) -> dict:
    """A KMS key whose policy lets CloudTrail GenerateDataKey (else InsufficientEncryptionPolicyException)."""
    policy = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{emu.accounts[partition]}:root"},
                             "Action": "kms:*", "Resource": "*"},
                            {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
                             "Action": "kms:GenerateDataKey*", "Resource": "*"}]}
    return emu.client("kms", partition, **kw).create_key(Policy=json.dumps(policy))["KeyMetadata"]


def _trail(emu, partition="commercial", name="trail1", **kw):
    ct = emu.client("cloudtrail", partition)
    ct.create_trail(Name=name, S3BucketName=cloudtrail_bucket(emu, partition, f"{name}-{partition}-logs"), **kw)
    return ct


# --------------------------------------------------------------------------- routing and identity
@pytest.mark.parametrize("partition,account,arn_p", [("commercial", COMMERCIAL, "aws"), ("govcloud", GOV, "aws-us-gov")])
def test_caller_identity_per_partition(emu, partition, account, arn_p):
    ident = emu.client("sts", partition).get_caller_identity()
    assert ident["Account"] == account == emu.accounts[partition]
    assert ident["Arn"] == f"arn:{arn_p}:iam::{account}:root" and ident["UserId"] == account


def test_caller_identity_of_an_iam_user_access_key(emu):
    giam = emu.client("iam", "govcloud")
    giam.create_user(UserName="auditor")
    key = giam.create_access_key(UserName="auditor")["AccessKey"]
    sts = emu.session("govcloud").client("sts", endpoint_url=emu.url, aws_access_key_id=key["AccessKeyId"],
                                         aws_secret_access_key=key["SecretAccessKey"])
    ident = sts.get_caller_identity()
    assert ident["Arn"] == f"arn:aws-us-gov:iam::{GOV}:user/auditor" and ident["Account"] == GOV


def test_partition_of_region():
    assert partitions.partition_for_region("us-gov-east-1").name == "govcloud"
    assert partitions.partition_for_region("eu-west-1").name == "commercial"
    assert partitions.partition_for_region(None).name == "commercial"
    assert partitions.partition_for_region("cn-north-1") is None
    with pytest.raises(ValueError):
        partitions.get("china")


def test_region_from_sigv4_header_and_presigned_query():
    hdr = {"HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKIA/20250101/us-gov-west-1/iam/aws4_request, "
                                 "SignedHeaders=host, Signature=abc"}
    assert partitions.region_of_request(hdr) == "us-gov-west-1"
    q = {"QUERY_STRING": "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20250101%2Feu-west-1%2Fs3%2Faws4_request"}
    assert partitions.region_of_request(q) == "eu-west-1"
    assert partitions.region_of_request({}) is None


def test_unserved_partition_is_refused(emu):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        emu.client("sts", region_name="cn-north-1").get_caller_identity()
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert ei.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_client_cannot_pick_another_partitions_account(emu):
    """A spoofed x-moto-account-id is overwritten: the partition decides the account."""
    sts = emu.client("sts", region_name="us-east-1")  # a fresh client: the handler must not leak
    sts.meta.events.register("before-sign.sts.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", GOV))
    assert sts.get_caller_identity()["Account"] == COMMERCIAL


def test_iam_users_and_s3_buckets_do_not_cross(emu):
    emu.client("iam").create_user(UserName="only-commercial")
    assert emu.client("iam", "govcloud").list_users()["Users"] == []
    _bucket(emu, "govcloud", "gov-only-bucket")
    assert emu.client("s3").list_buckets()["Buckets"] == []
    assert [b["Name"] for b in emu.client("s3", "govcloud").list_buckets()["Buckets"]] == ["gov-only-bucket"]


def test_govcloud_arns(emu):
    user = emu.client("iam", "govcloud").create_user(UserName="g")["User"]
    assert user["Arn"] == f"arn:aws-us-gov:iam::{GOV}:user/g"
    arn = emu.client("secretsmanager", "govcloud").create_secret(Name="cross-partition-commercial-creds", SecretString="{}")["ARN"]
    assert re.fullmatch(rf"arn:aws-us-gov:secretsmanager:us-gov-west-1:{GOV}:secret:cross-partition-commercial-creds-[A-Za-z0-9]{{6}}", arn)


def test_aws_managed_policies_attachable(emu):
    iam = emu.client("iam")
    iam.create_user(UserName="u")
    arn = "arn:aws:iam::aws:policy/AmazonBedrockFullAccess"
    doc_version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    doc = iam.get_policy_version(PolicyArn=arn, VersionId=doc_version)["PolicyVersion"]["Document"]
    actions = json.dumps(doc)
    assert "bedrock:*" in actions and "iam:PassRole" in actions
    iam.attach_user_policy(UserName="u", PolicyArn=arn)
    attached = iam.list_attached_user_policies(UserName="u")["AttachedPolicies"]
    assert attached == [{"PolicyName": "AmazonBedrockFullAccess", "PolicyArn": arn}]
    # a commercial ARN does not exist in the GovCloud partition
    giam = emu.client("iam", "govcloud")
    giam.create_user(UserName="u")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        giam.attach_user_policy(UserName="u", PolicyArn=arn)
    assert ei.value.response["Error"]["Code"] in ("NoSuchEntity", "InvalidInput")


# --------------------------------------------------------------------------- CloudTrail
def test_commercial_multi_region_trail_invisible_in_govcloud(emu):
    _trail(emu, "commercial", "org-wide", IsMultiRegionTrail=True)
    gct = emu.client("cloudtrail", "govcloud")
    assert gct.describe_trails()["trailList"] == []
    assert gct.describe_trails(includeShadowTrails=True)["trailList"] == []
    assert gct.list_trails()["Trails"] == []
    with pytest.raises(botocore.exceptions.ClientError):
        gct.get_trail_status(Name="org-wide")
    # ... but visible as a shadow trail from another commercial region
    west = emu.client("cloudtrail", region_name="us-west-2")
    shadow = west.describe_trails()["trailList"]
    assert [(t["Name"], t["HomeRegion"]) for t in shadow] == [("org-wide", "us-east-1")]
    assert west.describe_trails(includeShadowTrails=False)["trailList"] == []


def test_shadow_trails_stay_in_partition_even_within_one_account():
    """moto's own describe_trails walked every region of an account, other partitions included."""
    from moto.cloudtrail.models import cloudtrail_backends
    from moto.s3.models import s3_backends

    partitions.install()
    acct = "999999999999"
    s3_backends[acct]["aws"].create_bucket("same-account-bucket", "us-east-1")
    s3_backends[acct]["aws"].put_bucket_policy("same-account-bucket", json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": "*"}]}).encode())
    try:
        cloudtrail_backends[acct]["us-east-1"].create_trail(
            "multi", "same-account-bucket", None, None, True, True, False, False, None, None, None, [])
        assert [t.trail_name for t in cloudtrail_backends[acct]["us-gov-west-1"].describe_trails(True)] == []
        assert [t.trail_name for t in cloudtrail_backends[acct]["eu-west-1"].describe_trails(True)] == ["multi"]
    finally:
        cloudtrail_backends[acct]["us-east-1"].reset()


def test_describe_trails_fields_like_aws(emu):
    key = cloudtrail_key(emu)
    ct = _trail(emu, "commercial", "strong", IsMultiRegionTrail=True, EnableLogFileValidation=True,
                KmsKeyId=key["KeyId"])
    _trail(emu, "commercial", "weak")
    trails = {t["Name"]: t for t in ct.describe_trails()["trailList"]}
    strong, weak = trails["strong"], trails["weak"]
    assert strong["IsMultiRegionTrail"] is True and strong["LogFileValidationEnabled"] is True
    assert strong["HomeRegion"] == "us-east-1" and strong["IncludeGlobalServiceEvents"] is True
    assert strong["KmsKeyId"] == key["Arn"]  # AWS stores the ARN whatever form was given
    assert strong["TrailARN"] == f"arn:aws:cloudtrail:us-east-1:{COMMERCIAL}:trail/strong"
    assert weak["IsMultiRegionTrail"] is False and weak["LogFileValidationEnabled"] is False
    assert "KmsKeyId" not in weak and "CloudWatchLogsLogGroupArn" not in weak  # omitted, not null
    assert strong["HasCustomEventSelectors"] is False


def test_trail_status_follows_start_stop(emu):
    ct = _trail(emu)
    assert ct.get_trail_status(Name="trail1")["IsLogging"] is False  # CreateTrail does not start logging
    ct.start_logging(Name="trail1")
    status = ct.get_trail_status(Name="trail1")
    assert status["IsLogging"] is True and "StartLoggingTime" in status
    ct.stop_logging(Name="trail1")
    status = ct.get_trail_status(Name="trail1")
    assert status["IsLogging"] is False and "StopLoggingTime" in status
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        ct.get_trail_status(Name="nope-trail")
    assert ei.value.response["Error"]["Code"] == "TrailNotFoundException"


def test_event_selectors_default_then_custom(emu):
    ct = _trail(emu)
    assert ct.get_event_selectors(TrailName="trail1")["EventSelectors"] == DEFAULT_SELECTOR
    ct.put_event_selectors(TrailName="trail1", EventSelectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}])
    sel = ct.get_event_selectors(TrailName="trail1")["EventSelectors"]
    assert [(s["ReadWriteType"], s["IncludeManagementEvents"]) for s in sel] == [("WriteOnly", True)]
    assert ct.describe_trails()["trailList"][0]["HasCustomEventSelectors"] is True
    adv = [{"Name": "mgmt", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]
    ct.put_event_selectors(TrailName="trail1", AdvancedEventSelectors=adv)
    out = ct.get_event_selectors(TrailName="trail1")
    assert out["AdvancedEventSelectors"][0]["Name"] == "mgmt" and not out.get("EventSelectors")


def test_shadow_trail_readable_by_arn(emu):
    ct = _trail(emu, IsMultiRegionTrail=True)
    arn = ct.describe_trails()["trailList"][0]["TrailARN"]
    west = emu.client("cloudtrail", region_name="us-west-2")
    assert west.get_event_selectors(TrailName=arn)["EventSelectors"] == DEFAULT_SELECTOR
    assert west.get_trail_status(Name=arn)["IsLogging"] is False


# --------------------------------------------------------------------------- Secrets Manager
def test_describe_secret_kms_key(emu):
    sm = emu.client("secretsmanager", "govcloud")
    sm.create_secret(Name="default-key", SecretString="{}")
    sm.create_secret(Name="named-default", SecretString="{}", KmsKeyId="alias/aws/secretsmanager")
    key = emu.client("kms", "govcloud").create_key()["KeyMetadata"]
    sm.create_secret(Name="cmk", SecretString="{}", KmsKeyId=key["Arn"])
    assert "KmsKeyId" not in sm.describe_secret(SecretId="default-key")
    assert "KmsKeyId" not in sm.describe_secret(SecretId="named-default")
    assert sm.describe_secret(SecretId="cmk")["KmsKeyId"] == key["Arn"]


def test_deleted_secret_has_deleted_date(emu):
    sm = emu.client("secretsmanager", "govcloud")
    sm.create_secret(Name="s", SecretString="{}")
    assert "DeletedDate" not in sm.describe_secret(SecretId="s")
    sm.delete_secret(SecretId="s", RecoveryWindowInDays=7)
    assert "DeletedDate" in sm.describe_secret(SecretId="s")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        sm.get_secret_value(SecretId="s")
    assert ei.value.response["Error"]["Code"] == "InvalidRequestException"
    sm.restore_secret(SecretId="s")
    assert "DeletedDate" not in sm.describe_secret(SecretId="s")


def _stages(sm, name):
    return sm.describe_secret(SecretId=name)["VersionIdsToStages"]


def test_staging_labels_like_aws(emu):
    sm = emu.client("secretsmanager", "govcloud")
    v1 = sm.create_secret(Name="s", SecretString="one")["VersionId"]
    v2 = sm.put_secret_value(SecretId="s", SecretString="two", VersionStages=["AWSPENDING"])["VersionId"]
    assert sm.get_secret_value(SecretId="s")["SecretString"] == "one"  # AWSPENDING is not current
    assert _stages(sm, "s") == {v1: ["AWSCURRENT"], v2: ["AWSPENDING"]}
    assert sm.get_secret_value(SecretId="s", VersionStage="AWSPENDING")["SecretString"] == "two"
    sm.update_secret_version_stage(SecretId="s", VersionStage="AWSCURRENT", MoveToVersionId=v2, RemoveFromVersionId=v1)
    assert sm.get_secret_value(SecretId="s")["SecretString"] == "two"
    stages = _stages(sm, "s")
    assert "AWSCURRENT" in stages[v2] and stages[v1] == ["AWSPREVIOUS"]
    v3 = sm.put_secret_value(SecretId="s", SecretString="three")["VersionId"]
    stages = _stages(sm, "s")
    assert [v for v, st in stages.items() if "AWSCURRENT" in st] == [v3]
    assert [v for v, st in stages.items() if "AWSPREVIOUS" in st] == [v2]
    assert v1 not in stages  # no label left: deprecated, not listed
    assert sm.get_secret_value(SecretId="s")["SecretString"] == "three"


def test_client_request_token_is_idempotent(emu):
    sm = emu.client("secretsmanager", "govcloud")
    sm.create_secret(Name="s", SecretString="one")
    token = "a" * 32
    a = sm.put_secret_value(SecretId="s", SecretString="two", ClientRequestToken=token)["VersionId"]
    b = sm.put_secret_value(SecretId="s", SecretString="two", ClientRequestToken=token)["VersionId"]
    assert a == b == token
    assert len(_stages(sm, "s")) == 2


# --------------------------------------------------------------------------- cost fixes keep behaviour
def test_kms_keys_still_work_after_lazy_key_pairs(emu):
    kms = emu.client("kms", "govcloud")
    sym = kms.create_key()["KeyMetadata"]
    assert sym["KeyManager"] == "CUSTOMER" and sym["Arn"].startswith("arn:aws-us-gov:kms:us-gov-west-1:")
    blob = kms.encrypt(KeyId=sym["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    asym = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="RSA_2048")["KeyMetadata"]
    sig = kms.sign(KeyId=asym["KeyId"], Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
    assert kms.verify(KeyId=asym["KeyId"], Message=b"m", Signature=sig, SigningAlgorithm="RSASSA_PSS_SHA_256")["SignatureValid"]


def test_managed_policy_catalogue_rebuilt_fresh_after_reset(emu):
    iam = emu.client("iam")
    arn = "arn:aws:iam::aws:policy/AmazonBedrockFullAccess"
    iam.create_user(UserName="u")
    iam.attach_user_policy(UserName="u", PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    emu.reset()
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0
    gov = emu.client("iam", "govcloud").get_policy(PolicyArn="arn:aws-us-gov:iam::aws:policy/AmazonBedrockFullAccess")
    assert gov["Policy"]["Arn"].startswith("arn:aws-us-gov:")


def test_describe_trails_by_name_list(emu):
    ct = _trail(emu, "commercial", "home-trail", IsMultiRegionTrail=True)
    _trail(emu, "commercial", "other-trail")
    assert [t["Name"] for t in ct.describe_trails(trailNameList=["home-trail"])["trailList"]] == ["home-trail"]
    assert ct.describe_trails(trailNameList=["missing-trail"])["trailList"] == []
    arn = ct.describe_trails(trailNameList=["home-trail"])["trailList"][0]["TrailARN"]
    west = emu.client("cloudtrail", region_name="us-west-2")
    # from another region a shadow trail is found by ARN, not by name
    assert west.describe_trails(trailNameList=["home-trail"])["trailList"] == []
    assert [t["Name"] for t in west.describe_trails(trailNameList=[arn])["trailList"]] == ["home-trail"]


def test_delete_trail_by_name_or_arn_and_refuses_unknown_or_foreign_region_trails(emu):
    """CloudTrail API Reference, DeleteTrail: ``Name`` is "the name or the CloudTrail ARN of the trail"; errors
    TrailNotFoundException and InvalidHomeRegionException (called "from a Region other than the Region in which the
    trail was created")."""
    ct = emu.client("cloudtrail")
    _trail(emu, name="by-arn", IsMultiRegionTrail=True)
    _trail(emu, name="by-name")
    arn = next(t["TrailARN"] for t in ct.describe_trails()["trailList"] if t["Name"] == "by-arn")
    west = emu.client("cloudtrail", region_name="us-west-2")
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        west.delete_trail(Name=arn)  # its shadow is seen there, but it lives in us-east-1
    assert exc.value.response["Error"]["Code"] == "InvalidHomeRegionException"
    ct.delete_trail(Name=arn)
    ct.delete_trail(Name="by-name")
    assert ct.describe_trails()["trailList"] == []
    for gone in (arn, "by-name"):
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            ct.delete_trail(Name=gone)
        assert exc.value.response["Error"]["Code"] == "TrailNotFoundException"
