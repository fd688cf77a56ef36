"""An organization audit reads each account once: the per-operation call counts of 3 accounts x 2 keys.

Before, pytest ran the ``--all-keys`` rows grouped by user name across accounts, so each account's
inventory (session fixture, parametrized by account) was torn down and built again, repeating every
account-wide read (18.9 calls per key at 50 x 20).  Now: account-wide reads once per account (per
partition where the read is per partition), per-user reads once per user.
"""
from __future__ import annotations

import collections

from bedrock_key_audit.emulator.regions import DEFAULT_REGIONS
from bedrock_key_audit.inventory.keys import bedrock_commercial_regions
from tests.audit.helpers import run_audit, statuses

CONFIG = """
[organization]
role_name = "BedrockKeyAuditRole"
govcloud_tag = "govcloud-account-id"
"""
MEMBERS, KEYS = 2, 2
ACCOUNTS = MEMBERS + 1  # the management account is audited too
BUILT: dict = {}

# per account: once, or once per partition (commercial and GovCloud)
PER_ACCOUNT = {
    "sts:AssumeRole": 2, "sts:GetCallerIdentity": 2,
    "iam:GetAccountAuthorizationDetails": 2,  # shared by the bulk IAM reads and the access checks
    "iam:ListServiceSpecificCredentials": 2,  # AllUsers: the Bedrock keys, and every service's (other credentials)
    "iam:GenerateCredentialReport": 1, "iam:GetCredentialReport": 1,
    "secretsmanager:DescribeSecret": 1, "secretsmanager:GetSecretValue": 1, "secretsmanager:GetResourcePolicy": 1,
    "kms:DescribeKey": 3,  # the secret's key and each partition's trail key
    "kms:GetKeyPolicy": 1, "kms:ListGrants": 1,
    "cloudtrail:DescribeTrails": 2, "cloudtrail:GetTrailStatus": 2, "cloudtrail:GetEventSelectors": 2,
    # one account-wide read of the Bedrock events of each enabled Region where Bedrock is offered (the
    # emulator's accounts have the 17 default Regions enabled), after one read of the enabled Regions
    "cloudtrail:LookupEvents": len(DEFAULT_REGIONS & bedrock_commercial_regions()), "ec2:DescribeRegions": 1,
    # invocation-log destinations: the bucket's Region, encryption, policy and Block Public Access are read,
    # and each trail bucket's access-log target's Region (the trail bucket's own Region is its existence
    # read's answer: GetBucketLocation once per bucket).  ListBuckets is read twice per account (once for the
    # trail buckets' owner, once for the log destinations): a known duplicate, not yet shared
    "bedrock:GetModelInvocationLoggingConfiguration": 1, "s3:ListBuckets": 2,
    "s3:GetBucketLocation": 5, "s3:GetPublicAccessBlock": 3, "s3control:GetPublicAccessBlock": 2,
    "s3:GetBucketLogging": 2, "s3:GetBucketEncryption": 1, "s3:GetBucketPolicy": 1,
    "organizations:ListTagsForResource": 1,  # the GovCloud pairing tag
}
PER_USER = ("iam:ListAccessKeys", "iam:ListSigningCertificates", "iam:ListSSHPublicKeys")


def _org(emu):
    from bedrock_key_audit.emulator.org_builder import build_organization

    BUILT.update(build_organization(emu.url, MEMBERS, keys_per_account=KEYS))
    BUILT["url"] = emu.url


def _aws_managed_attached() -> int:
    """AWS managed policies attached to some principal, counted once per account and partition (the
    access checks read each by ARN: GetPolicy + GetPolicyVersion)."""
    from bedrock_key_audit.emulator.org_builder import AccountView

    total = 0
    for commercial, govcloud in BUILT["accounts"].items():
        view = AccountView(BUILT["url"], {"commercial": commercial, "govcloud": govcloud})
        for partition in ("commercial", "govcloud"):
            gaad = view.client("iam", partition).get_account_authorization_details(Filter=["User", "Role", "Group"])
            arns = {p["PolicyArn"] for k in ("UserDetailList", "RoleDetailList", "GroupDetailList")
                    for e in gaad.get(k, []) for p in e.get("AttachedManagedPolicies", [])}
            total += sum(1 for a in arns if ":iam::aws:policy/" in a)
    return total


def test_org_audit_reads_each_account_once(pytester):
    cfg = pytester.makefile(".toml", audit=CONFIG)
    rows = run_audit(pytester, "compliant", "--all-keys", f"--audit-config={cfg}", setup=_org)
    assert len(BUILT["accounts"]) == ACCOUNTS
    got = statuses(rows)
    assert {r.split("[", 1)[1].split(",")[0].rstrip("]") for r in got if "[" in r} == set(BUILT["accounts"])
    assert "error" not in got.values(), [r for r, s in got.items() if s == "error"]

    config = rows["__reprec__"].getcalls("pytest_sessionfinish")[0].session.config
    from bedrock_key_audit.fixtures.aws import CALL_LOG_KEY

    calls = config.stash[CALL_LOG_KEY].as_dicts()
    ops = collections.Counter(f"{c['service']}:{c['operation']}" for c in calls if c["kind"] == "aws")
    managed = _aws_managed_attached()
    expected = {op: n * ACCOUNTS for op, n in PER_ACCOUNT.items()}
    expected |= {op: ACCOUNTS * KEYS for op in PER_USER}
    expected |= {"organizations:ListAccounts": 1, "iam:GetPolicy": managed, "iam:GetPolicyVersion": managed}
    # the SCPs/RCPs, once per account and partition: DescribeOrganization in both partitions; in the
    # commercial organization (the management account at the root, one member at the root, one in
    # the OU workloads: 1 + 1 + 2 ListParents, 2 + 2 + 3 levels) and, for the emulator's own GovCloud
    # account, a member of the compliant scenario's GovCloud organization (root, OU, account)
    # ListPoliciesForTarget per level and type, DescribePolicy once per policy and account read, however
    # many levels it is attached at (FullAWSAccess and RCPFullAWSAccess in each of the four accounts, plus
    # the GovCloud OU's two guardrail SCPs).  The first ListParents of each account runs beside its
    # DescribeOrganization (it needs only the account id), so the two GovCloud accounts in no organization
    # make one too, which the administrator's organization answers AccountNotFoundException; it is dropped
    # once DescribeOrganization says the account is in no organization: + 2.
    expected |= {"organizations:DescribeOrganization": 2 * ACCOUNTS, "organizations:ListParents": 4 + 2 + 2,
                 "organizations:ListPoliciesForTarget": 2 * (7 + 3), "organizations:DescribePolicy": 3 * 2 + (2 + 2)}
    assert dict(ops) == expected
    # the endpoint probes (ListFoundationModels, Converse, Mantle's GET /v1/models) once per account's secret
    assert sum(1 for c in calls if c["kind"] == "http") == 3 * ACCOUNTS
    # every call answered (an account without account-level Block Public Access answers with its error code)
    assert {c["outcome"] for c in calls if c["kind"] == "aws"} <= {
        "ok", "NoSuchPublicAccessBlockConfiguration", "AWSOrganizationsNotInUseException", "AccountNotFoundException"}
    # ... and only the dropped ListParents of an account in no organization answers AccountNotFoundException
    assert [c["partition"] for c in calls if c["outcome"] == "AccountNotFoundException"
            and c["operation"] == "ListParents"] == ["govcloud"] * 2
    assert sum(1 for c in calls if c["outcome"] == "AccountNotFoundException") == 2
