"""bedrock.invocation_logging and cloudtrail.bucket_protected verdicts on hand-built inventory objects."""
from __future__ import annotations

import pytest

from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.verdicts.traces import (
    PAB_SETTINGS, BucketProtection, InvocationLogging, bucket_protection_verdict, effective_pab,
    invocation_logging_verdict,
)

ACCT = "123456789012"
ALL_ON = {s: True for s in PAB_SETTINGS}


def _log(config, **kw):
    return InvocationLogging(account_id=ACCT, region="us-east-1", config=config, **kw)


def test_logging_off_fails():
    status, why = invocation_logging_verdict(_log({}))
    assert status == "fail" and "model-invocation logging is off in us-east-1" in why


KMS = [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "k"}}]
# what the account's own, protected bucket shows: SSE-KMS, no policy, Block Public Access on
# both destinations' KMS keys, as kms:DescribeKey shows them: enabled
KMS_OK = {"k": {"KeyState": "Enabled"}, "arn:aws:kms:us-east-1:123456789012:key/k": {"KeyState": "Enabled"}}
OWN_BUCKET = {"owned_buckets": frozenset({"logs"}), "bucket_encryption": KMS, "bucket_policy": {},
              "bucket_pab": ALL_ON, "account_pab": {}, "kms_keys": KMS_OK}
ROLE = f"arn:aws:iam::{ACCT}:role/r"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"},
                                                  "Action": "sts:AssumeRole",
                                                  "Condition": {"StringEquals": {"aws:SourceAccount": ACCT}}}]}
# what the account's own, protected log group shows: found, a KMS key, a role trusted by Bedrock
OWN_GROUP = {"log_group_found": True, "log_group_kms_key": "arn:aws:kms:us-east-1:123456789012:key/k",
             "role": {"Arn": ROLE, "AssumeRolePolicyDocument": TRUST}, "kms_keys": KMS_OK}
S3_ON = {"s3Config": {"bucketName": "logs"}, "textDataDeliveryEnabled": True}
CW_ON = {"cloudWatchConfig": {"logGroupName": "g", "roleArn": ROLE}, "textDataDeliveryEnabled": True}


def test_s3_bucket_the_account_owns_passes():
    status, why = invocation_logging_verdict(_log(S3_ON, **OWN_BUCKET))
    assert status == "pass" and "S3 bucket logs, KMS-encrypted and readable by no other account" in why


@pytest.mark.parametrize("rules, shown", [([], "no default encryption"),
                                          ([{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}], "AES256")])
def test_s3_bucket_without_kms_default_encryption_fails(rules, shown):
    status, why = invocation_logging_verdict(_log(S3_ON, **{**OWN_BUCKET, "bucket_encryption": rules}))
    assert status == "fail" and f"not encrypted with a KMS key by default ({shown}" in why


def test_dsse_kms_counts_as_kms():
    dsse = [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms:dsse"}}]
    assert invocation_logging_verdict(_log(S3_ON, **{**OWN_BUCKET, "bucket_encryption": dsse}))[0] == "pass"


def _policy(principal, condition=None, action="s3:GetObject", bucket="logs"):
    st = {"Sid": "Read", "Effect": "Allow", "Principal": principal, "Action": action, "Resource": f"arn:aws:s3:::{bucket}/*"}
    if condition:
        st["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [st]}


@pytest.mark.parametrize("policy, named", [
    (_policy({"AWS": "arn:aws:iam::999999999999:root"}), "arn:aws:iam::999999999999:root (statement Read)"),
    (_policy({"AWS": "999999999999"}, action="s3:*"), "999999999999"),
    (_policy({"AWS": "arn:aws:iam::999999999999:role/reader"}, action="s3:Get*"), "role/reader"),
    (_policy("*"), "everyone (statement Read)"),
])
def test_bucket_policy_admitting_another_account_or_everyone_fails(policy, named):
    open_pab = {s: True for s in PAB_SETTINGS if s != "RestrictPublicBuckets"}
    status, why = invocation_logging_verdict(_log(S3_ON, **{**OWN_BUCKET, "bucket_policy": policy,
                                                            "bucket_pab": open_pab}))
    assert status == "fail" and "lets principals outside the account call s3:GetObject on the log objects" in why and named in why


def test_restrict_public_buckets_blocks_a_public_policy_but_not_a_named_account():
    # RestrictPublicBuckets blocks public *and* cross-account access of a public policy
    both = {"Version": "2012-10-17", "Statement": [
        _policy("*")["Statement"][0], _policy({"AWS": "999999999999"})["Statement"][0]]}
    assert invocation_logging_verdict(_log(S3_ON, **{**OWN_BUCKET, "bucket_policy": both}))[0] == "pass"
    named = _policy({"AWS": "999999999999"})  # not public: RestrictPublicBuckets leaves it
    assert invocation_logging_verdict(_log(S3_ON, **{**OWN_BUCKET, "bucket_policy": named}))[0] == "fail"


def test_bucket_policy_within_the_account_or_for_services_or_denying_passes():
    for policy in (_policy({"AWS": f"arn:aws:iam::{ACCT}:role/analyst"}),
                   _policy("*", {"StringEquals": {"aws:PrincipalAccount": ACCT}}),
                   _policy({"Service": "bedrock.amazonaws.com"}, action="s3:PutObject"),
                   _policy({"AWS": "999999999999"}, action="s3:PutObject"),
                   {"Statement": [{**_policy("*")["Statement"][0], "Effect": "Deny"}]}):
        status, why = invocation_logging_verdict(_log(S3_ON, **{**OWN_BUCKET, "bucket_policy": policy,
                                                                "bucket_pab": {}}))
        assert status == "pass", (policy, why)


def test_bucket_policy_narrowed_by_an_unknowable_value_is_undecided():
    policy = _policy("*", {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})
    with pytest.raises(CouldNotDecide, match="who may read bucket logs: statement Read admits \\*") as got:
        invocation_logging_verdict(_log(S3_ON, **{**OWN_BUCKET, "bucket_policy": policy, "bucket_pab": {}}))
    assert "grant that read" not in str(got.value)  # no read settles a condition


@pytest.mark.parametrize("pab", [{}, ALL_ON])
def test_bucket_policy_admitting_an_organization_fails_even_under_restrict_public_buckets(pab):
    # a fixed aws:PrincipalOrgID is not "public": RestrictPublicBuckets leaves the other members' reads
    policy = _policy("*", {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}})
    status, why = invocation_logging_verdict(_log(S3_ON, **{**OWN_BUCKET, "bucket_policy": policy, "bucket_pab": pab}))
    assert status == "fail" and "every account of organization o-abc123" in why


def _trust(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


BEDROCK_ASSUME = {"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:AssumeRole"}


@pytest.mark.parametrize("trust", [
    # an explicit Deny for Bedrock wins over the Allow
    _trust(BEDROCK_ASSUME, {"Effect": "Deny", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:*"}),
    # a Deny to everyone but another service covers Bedrock
    _trust(BEDROCK_ASSUME, {"Effect": "Deny", "NotPrincipal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole"}),
    # an Allow to everyone but Bedrock does not admit it
    _trust({"Effect": "Allow", "NotPrincipal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:AssumeRole"}),
    # Bedrock acting for this account never carries another account as aws:SourceAccount
    _trust({**BEDROCK_ASSUME, "Condition": {"StringEquals": {"aws:SourceAccount": "999999999999"}}}),
])
def test_a_trust_policy_that_denies_or_never_admits_bedrock_fails(trust):
    status, why = invocation_logging_verdict(_log(CW_ON, **{**OWN_GROUP, "role": {"Arn": ROLE,
                                                                                  "AssumeRolePolicyDocument": trust}}))
    assert status == "fail" and "does not trust bedrock.amazonaws.com" in why


def test_a_trust_policy_admitting_bedrock_by_the_documented_conditions_passes_and_an_unknowable_one_is_undecided():
    documented = _trust({**BEDROCK_ASSUME, "Condition": {
        "StringEquals": {"aws:SourceAccount": ACCT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:bedrock:us-east-1:{ACCT}:*"}}})
    assert invocation_logging_verdict(_log(CW_ON, **{**OWN_GROUP, "role": {
        "Arn": ROLE, "AssumeRolePolicyDocument": documented}}))[0] == "pass"
    odd = _trust({**BEDROCK_ASSUME, "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}}})
    with pytest.raises(CouldNotDecide, match="aws:SourceVpc") as got:
        invocation_logging_verdict(_log(CW_ON, **{**OWN_GROUP, "role": {"Arn": ROLE, "AssumeRolePolicyDocument": odd}}))
    assert "grant that read" not in str(got.value)


def test_unreadable_encryption_or_policy_is_undecided_but_a_known_gap_still_fails():
    with pytest.raises(CouldNotDecide, match="how bucket logs is encrypted \\(s3:GetEncryptionConfiguration was denied"):
        invocation_logging_verdict(_log(S3_ON, **{**OWN_BUCKET, "bucket_encryption": None,
                                                  "bucket_encryption_error": "s3:GetEncryptionConfiguration was denied"}))
    with pytest.raises(CouldNotDecide, match="who may read bucket logs \\(s3:GetBucketPolicy was denied"):
        invocation_logging_verdict(_log(S3_ON, **{**OWN_BUCKET, "bucket_policy": None,
                                                  "bucket_policy_error": "s3:GetBucketPolicy was denied"}))
    status, _ = invocation_logging_verdict(_log(S3_ON, **{**OWN_BUCKET, "bucket_policy": None,
                                                         "bucket_policy_error": "denied", "bucket_encryption": []}))
    assert status == "fail"


def test_s3_bucket_of_another_account_fails():
    status, why = invocation_logging_verdict(_log({"s3Config": {"bucketName": "central"}, "textDataDeliveryEnabled": True},
                                                  owned_buckets=frozenset({"logs"})))
    assert status == "fail" and "central is not owned by account 123456789012" in why


def test_text_delivery_off_fails_even_with_an_owned_bucket():
    status, why = invocation_logging_verdict(_log({"s3Config": {"bucketName": "logs"}, "textDataDeliveryEnabled": False},
                                                  owned_buckets=frozenset({"logs"})))
    assert status == "fail" and "textDataDeliveryEnabled" in why


def test_unreadable_bucket_list_is_undecided_not_pass():
    with pytest.raises(CouldNotDecide, match="whether bucket logs is the account's"):
        invocation_logging_verdict(_log({"s3Config": {"bucketName": "logs"}, "textDataDeliveryEnabled": True},
                                        owned_buckets_error="s3:ListAllMyBuckets was denied"))


def test_cloudwatch_group_of_the_account_passes_and_a_foreign_role_fails():
    assert invocation_logging_verdict(_log(CW_ON, **OWN_GROUP))[0] == "pass"
    assert invocation_logging_verdict(_log(CW_ON, **{**OWN_GROUP, "log_group_found": False}))[0] == "fail"
    foreign = {**CW_ON, "cloudWatchConfig": {"logGroupName": "g", "roleArn": "arn:aws:iam::999999999999:role/r"}}
    status, why = invocation_logging_verdict(_log(foreign, log_group_found=True))
    assert status == "fail" and "not the account's" in why


def test_cloudwatch_group_without_a_kms_key_fails():
    status, why = invocation_logging_verdict(_log(CW_ON, **{**OWN_GROUP, "log_group_kms_key": None}))
    assert status == "fail" and "log group g is not encrypted with a KMS key" in why


def test_delivery_role_missing_or_not_trusting_bedrock_fails():
    status, why = invocation_logging_verdict(_log(CW_ON, **{**OWN_GROUP, "role": None, "role_missing": True}))
    assert status == "fail" and f"delivery role {ROLE} of log group g does not exist" in why
    for trust in ({"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                  "Action": "sts:AssumeRole"}]},
                  {"Statement": [{"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"},
                                  "Action": "sts:TagSession"}]},
                  {"Statement": [{"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"},
                                  "Action": "sts:AssumeRole",
                                  "Condition": {"StringEquals": {"aws:SourceAccount": "999999999999"}}}]}):
        try:
            status, why = invocation_logging_verdict(_log(CW_ON, **{**OWN_GROUP, "role": {"Arn": ROLE,
                                                                                          "AssumeRolePolicyDocument": trust}}))
        except CouldNotDecide as exc:  # a condition naming another account: not provably trusted
            assert "condition the audit cannot evaluate" in str(exc)
            continue
        assert status == "fail" and "does not trust bedrock.amazonaws.com" in why
    no_condition = {"Statement": [{"Effect": "Allow", "Principal": {"Service": ["bedrock.amazonaws.com"]},
                                   "Action": ["sts:AssumeRole"]}]}
    assert invocation_logging_verdict(_log(CW_ON, **{**OWN_GROUP, "role": {
        "Arn": ROLE, "AssumeRolePolicyDocument": no_condition}}))[0] == "pass"


def test_unreadable_role_is_undecided():
    with pytest.raises(CouldNotDecide, match="whether delivery role .* exists and trusts Bedrock \\(iam:GetRole was denied"):
        invocation_logging_verdict(_log(CW_ON, **{**OWN_GROUP, "role": None, "role_error": "iam:GetRole was denied"}))


def test_every_configured_destination_must_be_protected():
    # a bucket of another account next to a protected log group: that account still reads every prompt
    both = {**CW_ON, "s3Config": {"bucketName": "central"}}
    status, why = invocation_logging_verdict(_log(both, owned_buckets=frozenset(), **OWN_GROUP))
    assert status == "fail" and "central is not owned by account" in why
    both = {**CW_ON, "s3Config": {"bucketName": "logs"}}
    status, why = invocation_logging_verdict(_log(both, **{**OWN_BUCKET, **OWN_GROUP}))
    assert status == "pass" and "S3 bucket logs and CloudWatch Logs group g" in why


def _prot(**kw):
    base = {"partition": "commercial", "bucket": "trail-logs", "account_id": ACCT,
            "bucket_pab": {}, "account_pab": {}, "logging": {"TargetBucket": "access-logs"},
            "target_exists": True, "target_owned": True}
    return BucketProtection(**{**base, **kw})


def test_bucket_with_every_setting_and_logging_passes():
    status, why = bucket_protection_verdict(_prot(bucket_pab=ALL_ON))
    assert status == "pass" and "access-logs" in why


def test_account_level_settings_count():
    """S3 applies the most restrictive combination of bucket and account settings."""
    mixed_bucket = {**ALL_ON, "RestrictPublicBuckets": False}
    assert bucket_protection_verdict(_prot(bucket_pab=mixed_bucket, account_pab={"RestrictPublicBuckets": True}))[0] == "pass"


def test_a_setting_off_at_both_levels_fails_naming_it():
    status, why = bucket_protection_verdict(_prot(bucket_pab={**ALL_ON, "BlockPublicPolicy": False}))
    assert status == "fail" and "BlockPublicPolicy" in why and "IgnorePublicAcls" not in why


def test_no_configuration_anywhere_fails():
    assert bucket_protection_verdict(_prot())[0] == "fail"


def test_access_logging_off_fails():
    status, why = bucket_protection_verdict(_prot(bucket_pab=ALL_ON, logging={}))
    assert status == "fail" and "server access logging is off" in why


def test_unreadable_account_level_is_undecided_unless_the_bucket_level_settles_it():
    unknown_account = dict(account_pab=None, account_pab_error="s3:GetAccountPublicAccessBlock was denied")
    assert bucket_protection_verdict(_prot(bucket_pab=ALL_ON, **unknown_account))[0] == "pass"
    with pytest.raises(CouldNotDecide, match="GetAccountPublicAccessBlock was denied"):
        bucket_protection_verdict(_prot(bucket_pab={"BlockPublicAcls": True}, **unknown_account))
    assert effective_pab(_prot(bucket_pab={"BlockPublicAcls": True}, **unknown_account))[1] == [
        "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"]


def test_unreadable_logging_is_undecided():
    with pytest.raises(CouldNotDecide, match="logs access"):
        bucket_protection_verdict(_prot(bucket_pab=ALL_ON, logging=None, logging_error="denied"))


def test_a_known_gap_fails_even_when_something_else_is_unreadable():
    """A fail needs only one proven gap; unreadable parts do not turn it into an error."""
    status, _ = bucket_protection_verdict(_prot(bucket_pab=ALL_ON, logging={}, account_pab=None, account_pab_error="x"))
    assert status == "fail"


def test_a_deleted_trail_bucket_fails():
    """Bucket names are global: a deleted trail bucket's name can be taken by anyone."""
    status, why = bucket_protection_verdict(_prot(missing=True, bucket_pab=None, account_pab=None, logging=None))
    assert status == "fail" and "does not exist" in why


def test_unknown_account_leaves_a_cloudwatch_role_undecided():
    cw = CW_ON
    with pytest.raises(CouldNotDecide, match="GetCallerIdentity"):
        invocation_logging_verdict(InvocationLogging(account_id="", region="us-east-1", config=cw, log_group_found=True))


# --------------------------------------------------------------------------- access-log target, another account's bucket
def test_access_logging_to_a_missing_or_foreign_target_fails():
    status, why = bucket_protection_verdict(_prot(bucket_pab=ALL_ON, target_exists=False, target_owned=None))
    assert status == "fail" and "points at bucket access-logs, which does not exist" in why
    status, why = bucket_protection_verdict(_prot(bucket_pab=ALL_ON, target_owned=False))
    assert status == "fail" and "which the account does not own" in why


def test_unknown_access_log_target_is_undecided():
    with pytest.raises(CouldNotDecide, match="whether access-log bucket access-logs .* exists: s3:GetBucketLocation"):
        bucket_protection_verdict(_prot(bucket_pab=ALL_ON, target_exists=None,
                                        target_error="s3:GetBucketLocation was denied"))


FOREIGN = {"foreign": True, "account_pab": None,
           "account_pab_error": "trail-logs belongs to another account, whose account-level Block Public Access only "
                                "that account can read", "target_owned": None}


def test_another_accounts_bucket_is_judged_by_its_bucket_level_settings_only():
    status, why = bucket_protection_verdict(_prot(**FOREIGN, bucket_pab=ALL_ON))
    assert status == "pass" and "(owned by another account)" in why and "at bucket level" in why
    # the audited account's account-level settings never cover it: off at bucket level is undecided
    off = {**ALL_ON, "RestrictPublicBuckets": False}
    with pytest.raises(CouldNotDecide, match="RestrictPublicBuckets unreadable: trail-logs belongs to another account"):
        bucket_protection_verdict(_prot(**FOREIGN, bucket_pab=off))


def test_another_accounts_unreadable_bucket_names_what_to_grant():
    with pytest.raises(CouldNotDecide, match="must let the auditor read s3:GetBucketPublicAccessBlock"):
        bucket_protection_verdict(_prot(**FOREIGN, bucket_pab=None, bucket_pab_error="AccessDenied"))
    with pytest.raises(CouldNotDecide, match="logs access: AccessDenied \\(the owning account must let"):
        bucket_protection_verdict(_prot(**FOREIGN, bucket_pab=ALL_ON, logging=None, logging_error="AccessDenied"))
    # a proven gap of its own still fails
    status, why = bucket_protection_verdict(_prot(**FOREIGN, bucket_pab=ALL_ON, logging={}))
    assert status == "fail" and "server access logging is off" in why


def test_unknown_ownership_never_borrows_the_account_level_settings():
    prot = _prot(foreign=None, account_pab=None, account_pab_error="whether trail-logs is the account's is unknown",
                 bucket_pab={})
    with pytest.raises(CouldNotDecide, match="is the account's is unknown"):
        bucket_protection_verdict(prot)


def _big(bucket):
    return {**CW_ON, "cloudWatchConfig": {"logGroupName": "g", "roleArn": ROLE,
                                          "largeDataDeliveryS3Config": {"bucketName": bucket, "keyPrefix": "big"}}}


def test_large_data_bucket_of_a_cloudwatch_destination_is_judged_like_an_s3_destination():
    from bedrock_key_audit.verdicts.traces import BucketFacts
    own = BucketFacts(bucket_encryption=KMS, bucket_policy={}, bucket_pab=ALL_ON, account_pab={})  # key "k"
    status, why = invocation_logging_verdict(_log(_big("big"), **OWN_GROUP, owned_buckets=frozenset({"big"}), large_data=own))
    assert status == "pass" and "large-data S3 bucket big" in why
    # another account's bucket: its owner reads every large prompt
    status, why = invocation_logging_verdict(_log(_big("theirs"), **OWN_GROUP, owned_buckets=frozenset({"big"})))
    assert status == "fail" and "S3 bucket theirs is not owned by account" in why
    # the account's own bucket, open to everyone and SSE-S3 only
    open_ = BucketFacts(bucket_encryption=[{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}],
                        bucket_policy=_policy("*", bucket="big"), bucket_pab={}, account_pab={})
    status, why = invocation_logging_verdict(_log(_big("big"), **OWN_GROUP, owned_buckets=frozenset({"big"}),
                                                  large_data=open_))
    assert status == "fail" and "bucket big is not encrypted with a KMS key" in why and "everyone" in why
    # the same bucket as s3Config's is judged from the s3Config reads
    both = {**_big("logs"), "s3Config": {"bucketName": "logs"}}
    assert invocation_logging_verdict(_log(both, **{**OWN_GROUP, **OWN_BUCKET}))[0] == "pass"
    with pytest.raises(CouldNotDecide, match="whether bucket big is the account's"):
        invocation_logging_verdict(_log(_big("big"), **OWN_GROUP, owned_buckets_error="s3:ListAllMyBuckets was denied"))


@pytest.mark.parametrize("state", ["Disabled", "PendingDeletion"])
def test_a_destinations_kms_key_that_cannot_be_used_fails(state):
    key = "arn:aws:kms:us-east-1:123456789012:key/bucket"
    group = OWN_GROUP["log_group_kms_key"]
    enabled = {"kms_keys": {group: {"KeyState": "Enabled"}, key: {"KeyState": "Enabled"}}}
    cw_s3 = {**CW_ON, "s3Config": {"bucketName": "logs"}}
    rules = [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]
    base = {**OWN_BUCKET, **OWN_GROUP, "bucket_encryption": rules}
    assert invocation_logging_verdict(_log(cw_s3, **{**base, **enabled}))[0] == "pass"
    status, why = invocation_logging_verdict(_log(cw_s3, **{**base, "kms_keys": {group: {"KeyState": state},
                                                                                 key: {"KeyState": "Enabled"}}}))
    assert status == "fail" and f"KMS key {group} of log group g is {state}" in why
    status, why = invocation_logging_verdict(_log(cw_s3, **{**base, "kms_keys": {group: {"KeyState": "Enabled"},
                                                                                 key: {"KeyState": state}}}))
    assert status == "fail" and f"KMS key {key} of S3 bucket logs is {state}" in why


def test_an_unreadable_kms_key_of_another_account_names_the_grant():
    theirs = "arn:aws:kms:us-east-1:999999999999:key/x"
    with pytest.raises(CouldNotDecide, match="account 999999999999's, whose key policy must let the auditor kms:DescribeKey"):
        invocation_logging_verdict(_log(CW_ON, **{**OWN_GROUP, "log_group_kms_key": theirs,
                                                  "kms_key_errors": {theirs: "AccessDenied"}}))


def test_a_destination_or_access_log_target_in_another_region_receives_nothing():
    status, why = invocation_logging_verdict(_log(S3_ON, **OWN_BUCKET, bucket_regions={"logs": "us-west-2"}))
    assert status == "fail" and "S3 bucket logs is in us-west-2, not in us-east-1" in why
    assert invocation_logging_verdict(_log(S3_ON, **OWN_BUCKET, bucket_regions={"logs": "us-east-1"}))[0] == "pass"
    with pytest.raises(CouldNotDecide, match="which Region bucket logs is in"):
        invocation_logging_verdict(_log(S3_ON, **OWN_BUCKET, bucket_region_errors={"logs": "AccessDenied"}))
    prot = BucketProtection(partition="commercial", bucket="trail", account_id=ACCT, bucket_pab=ALL_ON, account_pab={},
                            logging={"TargetBucket": "access"}, target_exists=True, target_owned=True,
                            bucket_region="us-east-1", target_region="eu-west-1")
    status, why = bucket_protection_verdict(prot)
    assert status == "fail" and "which is in eu-west-1, not in us-east-1" in why
    prot.target_region = "us-east-1"
    assert bucket_protection_verdict(prot)[0] == "pass"


@pytest.mark.parametrize("values", ["999999999999", ["999999999999"], [ACCT, "999999999999"]])
def test_star_narrowed_by_principal_account_to_another_account_fails_naming_it(values):
    """``*`` under fixed aws:PrincipalAccount values admits exactly those accounts: another one reads
    (a non-public grant, so RestrictPublicBuckets does not block it); the account alone keeps it in."""
    policy = _policy("*", {"StringEquals": {"aws:PrincipalAccount": values}})
    status, why = invocation_logging_verdict(_log(S3_ON, **{**OWN_BUCKET, "bucket_policy": policy}))
    assert status == "fail" and "account 999999999999 (statement Read" in why, why
    only_own = _policy("*", {"StringEquals": {"aws:PrincipalAccount": ACCT}})
    assert invocation_logging_verdict(_log(S3_ON, **{**OWN_BUCKET, "bucket_policy": only_own}))[0] == "pass"
    arn = _policy("*", {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::999999999999:role/analytics"}})
    status, why = invocation_logging_verdict(_log(S3_ON, **{**OWN_BUCKET, "bucket_policy": arn}))
    assert status == "fail" and "account 999999999999" in why


def test_a_grant_on_the_bucket_arn_alone_reads_no_object():
    bucket_only = {"Version": "2012-10-17", "Statement": [{"Sid": "B", "Effect": "Allow", "Principal": {
        "AWS": "arn:aws:iam::999999999999:root"}, "Action": "s3:*", "Resource": "arn:aws:s3:::logs"}]}
    assert invocation_logging_verdict(_log(S3_ON, **{**OWN_BUCKET, "bucket_policy": bucket_only}))[0] == "pass"


def test_an_object_grant_under_the_aws_managed_key_says_what_it_allows():
    """Objects S3 encrypts by default with aws/s3 cannot be decrypted by another account: the sentence
    says the grant allows s3:GetObject, and what that reads."""
    managed = [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
    policy = _policy({"AWS": "arn:aws:iam::999999999999:role/analytics"}, action="s3:Get*")
    status, why = invocation_logging_verdict(_log(S3_ON, **{**OWN_BUCKET, "bucket_policy": policy,
                                                            "bucket_encryption": managed}))
    assert status == "fail" and "call s3:GetObject on the log objects" in why
    assert "AWS managed key aws/s3, which no other account can use" in why
    status, why = invocation_logging_verdict(_log(S3_ON, **{**OWN_BUCKET, "bucket_policy": policy}))  # key "k"
    assert status == "fail" and "aws/s3" not in why
