"""The emulator enforces SCPs and RCPs (bedrock_key_audit/emulator/org_guard.py), proven by actual
calls, and decides as the audit's evaluator does on generated SCP sets (a differential test)."""
from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request

import boto3
import botocore.exceptions
import pytest

from bedrock_key_audit.emulator import org_guard, partitions, scenarios, scenarios_org
from bedrock_key_audit.org_policies import SCP, Level, OrgPolicies, OrgPolicy, scp_gate
from bedrock_key_audit.policy import RequestContext

COMMERCIAL = partitions.ACCOUNTS["commercial"]
GOV = partitions.ACCOUNTS["govcloud"]


def _user_client(emu, service: str, partition: str, name: str, policy: dict):
    """A client signed with a new IAM user's access key (the emulator acts as that user)."""
    iam = emu.client("iam", partition)
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    part = partitions.PARTITIONS[partition]
    return boto3.client(service, endpoint_url=emu.url, region_name=part.region,
                        aws_access_key_id=k["AccessKeyId"], aws_secret_access_key=k["SecretAccessKey"])


def _bearer_status(emu, api_key: str) -> tuple[int, str]:
    req = urllib.request.Request(f"{emu.url}/foundation-models", headers={
        "Authorization": f"Bearer {api_key}", "x-emulator-region": "us-east-1"})
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_scp_denying_long_term_makes_the_key_useless(emu):
    emu.reset()
    cred = scenarios._compliant(emu)  # in an organization whose SCPs confine long-term keys to this user
    assert _bearer_status(emu, cred["ServiceCredentialSecret"])[0] == 200
    emu.reset()
    emu.apply("scp_denies_long_term")
    key = emu.client("iam").list_service_specific_credentials(UserName=scenarios.USER)["ServiceSpecificCredentials"]
    assert key  # the compliant key exists; its secret is in the secret
    secret = json.loads(emu.client("secretsmanager", "govcloud").get_secret_value(
        SecretId=scenarios.SECRET_NAME)["SecretString"])["bedrock_api_key"]
    status, body = _bearer_status(emu, secret)
    assert status == 403 and "with an explicit deny in a service control policy" in body, body


MINT = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:CreateServiceSpecificCredential",
                                                "Resource": "*"}]}


def test_scp_caps_key_age_refuses_long_lived_keys(emu):
    emu.apply("scp_caps_key_age")
    iam = _user_client(emu, "iam", "commercial", "minter", MINT)
    for age in (365, None):
        extra = {"CredentialAgeDays": age} if age else {}
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            iam.create_service_specific_credential(UserName="minter", ServiceName=scenarios.BEDROCK, **extra)
        assert exc.value.response["Error"]["Code"] == "AccessDenied"
        assert "explicit deny in a service control policy" in exc.value.response["Error"]["Message"]
    got = iam.create_service_specific_credential(UserName="minter", ServiceName=scenarios.BEDROCK, CredentialAgeDays=90)
    assert got["ServiceSpecificCredential"]["Status"] == "Active"


def test_no_org_access_member_is_refused_the_policy_reads(emu):
    emu.apply("no_org_access")
    org = emu.client("organizations")
    assert org.describe_organization()["Organization"]["MasterAccountId"] == scenarios_org.MANAGEMENT["commercial"]
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        org.list_parents(ChildId=COMMERCIAL)
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"


def test_rcp_keeps_a_reader_from_a_member_accounts_secret(emu):
    scenarios._compliant(emu, organization=False)
    desc = emu.client("secretsmanager", "govcloud").describe_secret(SecretId=scenarios.SECRET_NAME)
    reader = _user_client(emu, "secretsmanager", "govcloud", "reader", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": desc["ARN"]},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]})
    assert reader.get_secret_value(SecretId=desc["ARN"])["ARN"] == desc["ARN"]
    parent = scenarios_org.member("govcloud")
    org_guard.attach(scenarios_org.MANAGEMENT["govcloud"], parent, org_guard.RCP, "OnlyTheWorkload", {
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
            "Condition": {"StringNotLike": {"aws:PrincipalArn": "arn:aws-us-gov:iam::*:role/bedrock-workload"}}}]},
        partition="aws-us-gov")
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        reader.get_secret_value(SecretId=desc["ARN"])
    assert "explicit deny in a resource control policy" in exc.value.response["Error"]["Message"]


def test_rcp_blocks_outsiders_refuses_the_admitted_partner_but_not_the_accounts_own(emu):
    """The scenario's outsider is admitted by the secret's and the key's policies, and refused by the RCP;
    a reader of the GovCloud account itself still reads."""
    from tests.emulator.test_reach import can_read, outside_user, secret_and_key

    emu.apply("rcp_blocks_outsiders")
    arn = secret_and_key(emu)[0]
    partner = outside_user(emu, scenarios_org.OUTSIDER_USER)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        partner.client("secretsmanager", endpoint_url=emu.url).get_secret_value(SecretId=arn)
    assert "explicit deny in a resource control policy" in exc.value.response["Error"]["Message"]
    assert not can_read(emu, partner, arn)
    own = _user_client(emu, "secretsmanager", "govcloud", "reader", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arn},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]})
    assert own.get_secret_value(SecretId=arn)["ARN"] == arn


# --------------------------------------------------------------------------- differential: emulator vs audit
FULL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
BEDROCK_ONLY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"}]}
OPTIONS = {
    "full": [FULL],
    "full+deny_long_term": [FULL, scenarios_org.DENY_LONG_TERM],
    "full+cap": [FULL, scenarios_org.CAP_KEY_AGE],
    "bedrock_only": [BEDROCK_ONLY],
}
REQUESTS = [
    ("bedrock:CallWithBearerToken", {"bedrock:BearerTokenType": "LONG_TERM"}),
    ("bedrock:CallWithBearerToken", {"bedrock:BearerTokenType": "SHORT_TERM"}),
    ("iam:CreateServiceSpecificCredential", {"iam:ServiceSpecificCredentialServiceName": scenarios.BEDROCK,
                                             "iam:ServiceSpecificCredentialAgeDays": "365"}),
    ("iam:CreateServiceSpecificCredential", {"iam:ServiceSpecificCredentialServiceName": scenarios.BEDROCK,
                                             "iam:ServiceSpecificCredentialAgeDays": "90"}),
]


@pytest.mark.parametrize(("ou", "acct"), list(itertools.product(OPTIONS, OPTIONS)))
def test_emulator_and_audit_agree_on_scps(emu, ou, acct):
    from moto.organizations.models import organizations_backends

    mgmt = scenarios_org.MANAGEMENT["commercial"]
    parent = scenarios_org.member("commercial")
    backend = organizations_backends[mgmt]["aws"]
    levels = []
    for target, kind, option in ((backend.org.root_id, "ROOT", "full+deny_long_term" if ou == acct == "full" else "full"),
                                 (parent, "ORGANIZATIONAL_UNIT", ou), (COMMERCIAL, "ACCOUNT", acct)):
        docs = OPTIONS[option]
        if docs[0] is not FULL:
            backend.detach_policy(PolicyId="p-FullAWSAccess", TargetId=target)
        pols = []
        for i, doc in enumerate(docs):
            if doc is FULL:
                pols.append(OrgPolicy("p-FullAWSAccess", "FullAWSAccess", SCP, FULL))
                continue
            pid = org_guard.attach(mgmt, target, org_guard.SCP, f"{option}-{kind}-{i}", doc)
            pols.append(OrgPolicy(pid, option, SCP, doc))
        levels.append(Level(target, kind, tuple(pols)))
    audit_view = OrgPolicies(COMMERCIAL, True, mgmt, tuple(levels))
    for action, keys in REQUESTS:
        emulator_says = org_guard.refusal(org_guard.SCP, COMMERCIAL, action, "*", dict(keys)) is None
        audit_says = scp_gate(audit_view, action, RequestContext(keys)).permits
        assert audit_says is emulator_says, (ou, acct, action, keys)
