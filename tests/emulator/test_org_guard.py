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

from bedrock_key_audit.emulator import org_guard, partitions, scenario_base, scenarios, scenarios_org
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
            iam.create_service_specific_credential(UserName="minter", ServiceName=scenario_base.BEDROCK, **extra)
        assert exc.value.response["Error"]["Code"] == "AccessDenied"
        assert "explicit deny in a service control policy" in exc.value.response["Error"]["Message"]
    got = iam.create_service_specific_credential(UserName="minter", ServiceName=scenario_base.BEDROCK, CredentialAgeDays=90)
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
    ("iam:CreateServiceSpecificCredential", {"iam:ServiceSpecificCredentialServiceName": scenario_base.BEDROCK,
                                             "iam:ServiceSpecificCredentialAgeDays": "365"}),
    ("iam:CreateServiceSpecificCredential", {"iam:ServiceSpecificCredentialServiceName": scenario_base.BEDROCK,
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


def test_a_member_account_may_not_manage_policies(emu):
    """AWS answers a member account's CreatePolicy/AttachPolicy with AccessDeniedException (policy
    management belongs to the management account); moto failed with HTTP 500."""
    emu.apply("compliant")
    org = emu.client("organizations")
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]})
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        org.create_policy(Name="x", Description="x", Type=org_guard.SCP, Content=doc)
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    pid = org.list_policies_for_target(TargetId=COMMERCIAL, Filter=org_guard.SCP)["Policies"][0]["Id"]
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        org.detach_policy(PolicyId=pid, TargetId=COMMERCIAL)
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"


def test_the_policy_types_in_use_are_enabled_at_the_root(emu):
    from moto.organizations.models import organizations_backends

    emu.apply("rcp_blocks_outsiders")
    # the RCP of this scenario is on the GovCloud account
    mgmt = organizations_backends[scenarios_org.MANAGEMENT["govcloud"]]["aws-us-gov"]
    types = {t["Type"]: t["Status"] for t in mgmt.list_roots()["Roots"][0]["PolicyTypes"]}
    assert types == {org_guard.SCP: "ENABLED", org_guard.RCP: "ENABLED"}, types
    got = emu.client("organizations", "govcloud").describe_organization()["Organization"]["AvailablePolicyTypes"]
    assert {t["Type"] for t in got} == {org_guard.SCP, org_guard.RCP}, got


@pytest.mark.parametrize("pattern", ["arn:aws:iam::*:user/bedrock-*", "arn:aws:iam::*:role/*"])
def test_the_principal_an_exemption_spares_really_mints_and_the_audit_names_it(emu, pattern):
    """The confinement row fails naming a principal its exemption pattern spares; the emulator proves
    that principal can mint a Bedrock key under the very SCP (an actual CreateServiceSpecificCredential)."""
    from bedrock_key_audit.org_policies import long_term_keys_confined, probe_principal

    emu.reset()
    emu.apply("compliant")
    confine = {"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyKeyCreation", "Effect": "Deny", "Action": "iam:CreateServiceSpecificCredential", "Resource": "*",
         "Condition": {"StringEquals": {"iam:ServiceSpecificCredentialServiceName": scenario_base.BEDROCK},
                       "ArnNotLikeIfExists": {"aws:PrincipalArn": pattern}}},
        {"Sid": "DenyBearer", "Effect": "Deny",
         "Action": ["bedrock:CallWithBearerToken", "bedrock-mantle:CallWithBearerToken"], "Resource": "*",
         "Condition": {"ArnNotLikeIfExists": {"aws:PrincipalArn": pattern}}}]}
    full = OrgPolicy("p-full", "FullAWSAccess", SCP, {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    org = OrgPolicies(COMMERCIAL, True, scenarios_org.MANAGEMENT["commercial"], (
        Level("r-root", "ROOT", (full, OrgPolicy("p-wild", "Wildcard", SCP, confine))),
        Level(COMMERCIAL, "ACCOUNT", (full,))))
    sanctioned = f"arn:aws:iam::{COMMERCIAL}:user/{scenarios.USER}"
    j = long_term_keys_confined(org, [sanctioned], probe_principal(COMMERCIAL))
    assert j.status == "fail" and pattern in j.detail, j.detail
    named = j.detail.split(" by ", 1)[1].split(" ", 1)[0]
    # the same SCP in the emulator's organization (instead of the scenario's guardrails), and the
    # named principal minting under it
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[scenarios_org.MANAGEMENT["commercial"]]["aws"]
    reader = emu.client("organizations")  # the member is a delegated administrator: it reads the policies
    for target in [COMMERCIAL, *[p["Id"] for p in reader.list_parents(ChildId=COMMERCIAL)["Parents"]]]:
        for pol in reader.list_policies_for_target(TargetId=target, Filter=SCP)["Policies"]:
            if pol["Name"] != "FullAWSAccess":
                backend.detach_policy(PolicyId=pol["Id"], TargetId=target)
    org_guard.attach(scenarios_org.MANAGEMENT["commercial"], COMMERCIAL, SCP, "Wildcard", confine)
    kind, name = named.split(":")[5].split("/", 1)
    iam = emu.client("iam")
    if kind == "user":
        client = _user_client(emu, "iam", "commercial", name, MINT)
        target = name
    else:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{COMMERCIAL}:root"}, "Action": "sts:AssumeRole"}]}))
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(MINT))
        creds = emu.client("sts").assume_role(RoleArn=named, RoleSessionName="probe")["Credentials"]
        client = boto3.client("iam", endpoint_url=emu.url, region_name="us-east-1", aws_access_key_id=creds["AccessKeyId"],
                              aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
        target = scenarios.USER
    got = client.create_service_specific_credential(UserName=target, ServiceName=scenario_base.BEDROCK)
    assert got["ServiceSpecificCredential"]["Status"] == "Active"
    # while a principal the pattern does not spare is refused by the same SCP
    other = _user_client(emu, "iam", "commercial", "not-spared", MINT)
    if kind == "user":
        with pytest.raises(botocore.exceptions.ClientError) as exc:
            other.create_service_specific_credential(UserName="not-spared", ServiceName=scenario_base.BEDROCK)
        assert "explicit deny in a service control policy" in exc.value.response["Error"]["Message"]


def test_scps_bind_a_member_accounts_root(emu):
    """The emulator's own keys are the account root; SCPs bind the root user of a member account."""
    emu.apply("scp_caps_key_age")
    root_iam = emu.client("iam", "commercial")
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        root_iam.create_service_specific_credential(UserName=scenarios.USER, ServiceName=scenario_base.BEDROCK,
                                                    CredentialAgeDays=365)
    msg = exc.value.response["Error"]["Message"]
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    assert msg.startswith(f"User: arn:aws:iam::{partitions.ACCOUNTS['commercial']}:root is not authorized")
    assert msg.endswith("with an explicit deny in a service control policy")
    got = root_iam.create_service_specific_credential(UserName=scenarios.USER, ServiceName=scenario_base.BEDROCK,
                                                      CredentialAgeDays=30)
    assert got["ServiceSpecificCredential"]["Status"] == "Active"
