"""The emulator decides who reads the secret as AWS does: callers with their own credentials (a third
account's user, role sessions), the secret's resource policy and its key's policy across accounts,
role trust on AssumeRole / AssumeRoleWithWebIdentity, and replicas with their own key."""
from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest

from bedrock_key_audit.emulator.server import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY

SECRET = "cross-partition-commercial-creds"
GOV = "210987654321"
OUTSIDE = "111122223333"
P = "aws-us-gov"
REGION = "us-gov-west-1"
CFG = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"})


def post(emu: Any, path: str, body: dict[str, Any]) -> Any:
    import urllib.request

    req = urllib.request.Request(f"{emu.url}{path}", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())


def session(emu: Any, creds: dict[str, str], region: str = REGION) -> boto3.Session:
    return boto3.Session(region_name=region, aws_access_key_id=creds["AccessKeyId"],
                         aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds.get("SessionToken"))


def client(emu: Any, s: boto3.Session, service: str, region: str = REGION) -> Any:
    return s.client(service, endpoint_url=emu.url, region_name=region, config=CFG)


def root(emu: Any) -> boto3.Session:
    return boto3.Session(region_name=REGION, aws_access_key_id=FAKE_ACCESS_KEY_ID,
                         aws_secret_access_key=FAKE_SECRET_ACCESS_KEY)


def outside_admin(emu: Any) -> boto3.Session:
    """Admin of the third account (OrganizationAccountAccessRole, trusting the GovCloud account)."""
    post(emu, "/_emulator/govcloud-account", {"account_id": OUTSIDE})
    c = client(emu, root(emu), "sts").assume_role(
        RoleArn=f"arn:{P}:iam::{OUTSIDE}:role/OrganizationAccountAccessRole", RoleSessionName="setup")["Credentials"]
    return session(emu, c)


def read_all(action_resource: list[tuple[str, str]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": a, "Resource": r} for a, r in action_resource]})


def outside_user(emu: Any, name: str = "partner") -> boto3.Session:
    """A user of the third account, allowed GetSecretValue and kms:Decrypt on everything by its own policy."""
    iam = client(emu, outside_admin(emu), "iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="read", PolicyDocument=read_all(
        [("secretsmanager:GetSecretValue", "*"), ("kms:Decrypt", "*"), ("sts:AssumeRole", "*")]))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return session(emu, key)


def secret_and_key(emu: Any) -> tuple[str, str]:
    desc = emu.client("secretsmanager", "govcloud").describe_secret(SecretId=SECRET)
    return desc["ARN"], desc["KmsKeyId"]


def can_read(emu: Any, s: boto3.Session, arn: str, region: str = REGION) -> bool:
    try:
        client(emu, s, "secretsmanager", region).get_secret_value(SecretId=arn)
    except botocore.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "AccessDeniedException", exc.response["Error"]
        return False
    return True


def add_key_statement(emu: Any, key: str, statement: dict[str, Any]) -> None:
    kms = emu.client("kms", "govcloud")
    doc = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    doc["Statement"].append(statement)
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(doc))


def test_outside_account_needs_the_resource_policy_and_the_key_policy(emu):
    emu.apply("compliant")
    arn, key = secret_and_key(emu)
    partner = outside_user(emu)
    assert client(emu, partner, "sts").get_caller_identity()["Arn"] == f"arn:{P}:iam::{OUTSIDE}:user/partner"
    assert not can_read(emu, partner, arn)  # no resource policy
    emu.client("secretsmanager", "govcloud").put_resource_policy(SecretId=SECRET, ResourcePolicy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": OUTSIDE},
                                                "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    assert not can_read(emu, partner, arn)  # the key policy does not admit the account
    add_key_statement(emu, key, {"Effect": "Allow", "Principal": {"AWS": f"arn:{P}:iam::{OUTSIDE}:role/other"},
                                 "Action": "kms:Decrypt", "Resource": "*"})
    assert not can_read(emu, partner, arn)  # a key policy naming another principal of it does not
    add_key_statement(emu, key, {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
                                 "Condition": {"StringEquals": {"kms:CallerAccount": GOV}}})
    assert not can_read(emu, partner, arn)  # kms:CallerAccount is the caller's account
    add_key_statement(emu, key, {"Effect": "Allow", "Principal": {"AWS": f"arn:{P}:iam::{OUTSIDE}:user/partner"},
                                 "Action": "kms:Decrypt", "Resource": "*"})
    assert can_read(emu, partner, arn)


def test_outsider_identity_policy_is_needed_too(emu):
    emu.apply("compliant")
    arn, key = secret_and_key(emu)
    iam = client(emu, outside_admin(emu), "iam")
    iam.create_user(UserName="nopolicy")
    nobody = session(emu, iam.create_access_key(UserName="nopolicy")["AccessKey"])
    emu.client("secretsmanager", "govcloud").put_resource_policy(SecretId=SECRET, ResourcePolicy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                                                "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    add_key_statement(emu, key, {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"})
    assert not can_read(emu, nobody, arn)


def test_managed_key_is_never_usable_from_another_account(emu):
    emu.apply("compliant")
    sm = emu.client("secretsmanager", "govcloud")
    sm.create_secret(Name="plain", SecretString="x")
    arn = sm.describe_secret(SecretId="plain")["ARN"]
    sm.put_resource_policy(SecretId="plain", ResourcePolicy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                                                "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    assert not can_read(emu, outside_user(emu), arn)


def test_same_account_role_needs_its_identity_policy_and_the_key(emu):
    emu.apply("compliant")
    arn, key = secret_and_key(emu)
    iam = emu.client("iam", "govcloud")
    iam.create_user(UserName="alice")
    iam.put_user_policy(UserName="alice", PolicyName="assume", PolicyDocument=read_all([("sts:AssumeRole", "*")]))
    alice = session(emu, iam.create_access_key(UserName="alice")["AccessKey"])
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:{P}:iam::{GOV}:root"},
                                                     "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="app", PolicyName="r", PolicyDocument=read_all([("secretsmanager:GetSecretValue", arn)]))
    creds = client(emu, alice, "sts").assume_role(RoleArn=f"arn:{P}:iam::{GOV}:role/app", RoleSessionName="s1")
    app = session(emu, creds["Credentials"])
    assert not can_read(emu, app, arn)  # no kms:Decrypt in its identity policy
    iam.put_role_policy(RoleName="app", PolicyName="d", PolicyDocument=read_all([("kms:Decrypt", key)]))
    assert can_read(emu, app, arn)  # the key policy delegates to the account
    assert not can_read(emu, alice, arn)


def test_assume_role_honours_the_trust_policy(emu):
    emu.apply("compliant")
    iam = emu.client("iam", "govcloud")
    for name in ("alice", "bob"):
        iam.create_user(UserName=name)
    keys = {n: session(emu, iam.create_access_key(UserName=n)["AccessKey"]) for n in ("alice", "bob")}
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:{P}:iam::{GOV}:user/alice"},
                                                     "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps(trust))
    role = f"arn:{P}:iam::{GOV}:role/app"
    client(emu, keys["alice"], "sts").assume_role(RoleArn=role, RoleSessionName="s1")  # named: no identity policy needed
    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
        client(emu, keys["bob"], "sts").assume_role(RoleArn=role, RoleSessionName="s1")
    # another account: the trust must admit it AND its identity policy must allow
    partner = outside_user(emu)
    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
        client(emu, partner, "sts").assume_role(RoleArn=role, RoleSessionName="s1")
    iam.update_assume_role_policy(RoleName="app", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": OUTSIDE}, "Action": "sts:AssumeRole"}]}))
    got = client(emu, partner, "sts").assume_role(RoleArn=role, RoleSessionName="s1")["Credentials"]
    assert client(emu, session(emu, got), "sts").get_caller_identity()["Account"] == GOV


def _jwt(claims: dict[str, Any]) -> str:
    def part(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")
    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


def test_web_identity_honours_the_trust_and_its_sub_condition(emu):
    emu.apply("compliant")
    iam = emu.client("iam", "govcloud")
    provider = f"arn:{P}:iam::{GOV}:oidc-provider/token.actions.githubusercontent.com"
    trust: dict[str, Any] = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}}]}
    iam.create_role(RoleName="ci", AssumeRolePolicyDocument=json.dumps(trust))
    sts = boto3.client("sts", endpoint_url=emu.url, region_name=REGION, config=CFG,
                       aws_access_key_id="x", aws_secret_access_key="y")
    token = _jwt({"iss": "https://token.actions.githubusercontent.com", "sub": "repo:anyone/anything:ref:refs/heads/main",
                  "aud": "sts.amazonaws.com"})
    role = f"arn:{P}:iam::{GOV}:role/ci"
    sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName="gh", WebIdentityToken=token)  # any repository
    trust["Statement"][0]["Condition"]["StringLike"] = {"token.actions.githubusercontent.com:sub": "repo:acme/app:*"}
    iam.update_assume_role_policy(RoleName="ci", PolicyDocument=json.dumps(trust))
    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
        sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName="gh", WebIdentityToken=token)
    ok = _jwt({"iss": "https://token.actions.githubusercontent.com", "sub": "repo:acme/app:ref:refs/heads/main",
               "aud": "sts.amazonaws.com"})
    sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName="gh", WebIdentityToken=ok)


def test_replica_keeps_its_own_key_and_the_resource_policy(emu):
    emu.apply("compliant")
    arn, _ = secret_and_key(emu)
    east = "us-gov-east-1"
    kms_east = emu.client("kms", "govcloud", region_name=east)
    east_key = kms_east.create_key(Description="replica key")["KeyMetadata"]["Arn"]
    sm = emu.client("secretsmanager", "govcloud")
    sm.replicate_secret_to_regions(SecretId=SECRET, AddReplicaRegions=[{"Region": east, "KmsKeyId": east_key},
                                                                       {"Region": "us-gov-west-1x"}][:1])
    status = sm.describe_secret(SecretId=SECRET)["ReplicationStatus"]
    assert status[0]["Region"] == east and status[0]["KmsKeyId"] == east_key
    replica = arn.replace(REGION, east)
    sm_east = emu.client("secretsmanager", "govcloud", region_name=east)
    assert sm_east.describe_secret(SecretId=replica)["KmsKeyId"] == east_key
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": OUTSIDE},
                                                      "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}
    sm.put_resource_policy(SecretId=SECRET, ResourcePolicy=json.dumps(policy))
    partner = outside_user(emu)
    assert not can_read(emu, partner, replica, east)  # the replica's key does not admit the account
    doc = json.loads(kms_east.get_key_policy(KeyId=east_key, PolicyName="default")["Policy"])
    doc["Statement"].append({"Effect": "Allow", "Principal": {"AWS": OUTSIDE}, "Action": "kms:Decrypt", "Resource": "*"})
    kms_east.put_key_policy(KeyId=east_key, PolicyName="default", Policy=json.dumps(doc))
    assert can_read(emu, partner, replica, east)
    assert not can_read(emu, partner, arn)  # the primary's key still does not


def test_web_identity_session_of_a_govcloud_role_is_a_govcloud_session_that_reads(emu):
    """AssumeRoleWithWebIdentity is unsigned, but a GovCloud role's session is a GovCloud session:
    its ARN is ``arn:aws-us-gov:sts::…:assumed-role/…`` and it acts as the role (it reads the secret
    the role's policies allow)."""
    emu.apply("compliant")
    arn, key = secret_and_key(emu)
    iam = emu.client("iam", "govcloud")
    provider = f"arn:{P}:iam::{GOV}:oidc-provider/token.actions.githubusercontent.com"
    iam.create_role(RoleName="gh-reader", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity"}]}))
    iam.put_role_policy(RoleName="gh-reader", PolicyName="r", PolicyDocument=read_all(
        [("secretsmanager:GetSecretValue", arn), ("kms:Decrypt", key)]))
    sts = boto3.client("sts", endpoint_url=emu.url, region_name=REGION, config=CFG,
                       aws_access_key_id="x", aws_secret_access_key="y")
    token = _jwt({"iss": "https://token.actions.githubusercontent.com", "sub": "repo:a/b:ref:refs/heads/main",
                  "aud": "sts.amazonaws.com"})
    got = sts.assume_role_with_web_identity(RoleArn=f"arn:{P}:iam::{GOV}:role/gh-reader", RoleSessionName="gh",
                                            WebIdentityToken=token)
    session_arn = f"arn:{P}:sts::{GOV}:assumed-role/gh-reader/gh"
    assert got["AssumedRoleUser"]["Arn"] == session_arn
    gh = session(emu, got["Credentials"])
    assert client(emu, gh, "sts").get_caller_identity()["Arn"] == session_arn
    assert can_read(emu, gh, arn)


def _grant_reader(emu: Any, key: str, grantee_of: Any, constraints: dict[str, Any] | None = None) -> boto3.Session:
    """User ``intern`` of the GovCloud account, allowed GetSecretValue only; ``grantee_of(intern_arn)``
    names the grantee of a Decrypt grant on ``key``."""
    iam = emu.client("iam", "govcloud")
    iam.create_user(UserName="intern")
    iam.put_user_policy(UserName="intern", PolicyName="r", PolicyDocument=read_all([("secretsmanager:GetSecretValue", "*")]))
    kw: dict[str, Any] = {"Constraints": constraints} if constraints else {}
    emu.client("kms", "govcloud").create_grant(KeyId=key, GranteePrincipal=grantee_of(f"arn:{P}:iam::{GOV}:user/intern"),
                                               Operations=["Decrypt"], **kw)
    return session(emu, iam.create_access_key(UserName="intern")["AccessKey"])


@pytest.mark.parametrize("constraints, reads", [
    ({"EncryptionContextSubset": {"secretarn": "ARN"}}, True),   # keys compare without case
    ({"EncryptionContextSubset": {"SECRETARN": "ARN"}}, True),
    ({"EncryptionContextSubset": {"SecretARN": "UPPER"}}, False),  # values with it
    ({"EncryptionContextEquals": {"secretarn": "ARN", "secretversionid": "VID"}}, True),
], ids=["lower-key", "upper-key", "value-case-differs", "equals-lower-keys"])
def test_grant_constraint_keys_are_not_case_sensitive_but_values_are(emu, constraints, reads):
    """KMS API Reference, "GrantConstraints": "in a grant constraint, the key in each key-value pair is
    not case sensitive, but the value is case sensitive" -- on the Decrypt Secrets Manager makes."""
    emu.apply("compliant")
    arn, key = secret_and_key(emu)
    vid = emu.client("secretsmanager", "govcloud").get_secret_value(SecretId=SECRET)["VersionId"]
    # upper-cased, not lower-cased: the whole ARN is lower case when moto's random suffix happens to be
    fill = {"ARN": arn, "UPPER": arn.upper(), "VID": vid}
    built = {kind: {k: fill[v] for k, v in pairs.items()} for kind, pairs in constraints.items()}
    intern = _grant_reader(emu, key, lambda me: me, built)
    assert can_read(emu, intern, arn) is reads


def test_grant_to_an_account_root_serves_that_accounts_principals_its_iam_policies_allow(emu):
    """A grant whose grantee is another account's root: that account's principals use it when their
    own identity policies allow kms:Decrypt (as a key policy naming the account delegates to it)."""
    emu.apply("compliant")
    arn, key = secret_and_key(emu)
    emu.client("secretsmanager", "govcloud").put_resource_policy(SecretId=SECRET, ResourcePolicy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:{P}:iam::{OUTSIDE}:root"},
                                                "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    partner = outside_user(emu)
    assert not can_read(emu, partner, arn)
    emu.client("kms", "govcloud").create_grant(KeyId=key, GranteePrincipal=f"arn:{P}:iam::{OUTSIDE}:root",
                                               Operations=["Decrypt"])
    assert can_read(emu, partner, arn)
    iam = client(emu, outside_admin(emu), "iam")
    iam.create_user(UserName="reads-only")
    iam.put_user_policy(UserName="reads-only", PolicyName="r", PolicyDocument=read_all([("secretsmanager:GetSecretValue", "*")]))
    assert not can_read(emu, session(emu, iam.create_access_key(UserName="reads-only")["AccessKey"]), arn)


@pytest.mark.parametrize("where", ["key_policy", "resource_policy"])
def test_an_explicit_deny_with_principal_star_refuses_the_account_root_too(emu, where):
    """AWS: an explicit Deny overrides every Allow, for the root user as well; a key policy (or the secret's
    resource policy) that Denies everyone outside data-team-* refuses the account's own root keys."""
    emu.apply("compliant")
    arn, key = secret_and_key(emu)
    gov_root = boto3.Session(region_name=REGION, aws_access_key_id="AKIAEMULATORGOVCLOUD",
                             aws_secret_access_key="emulator/fake/govcloud/secret/key/not-real00")
    assert can_read(emu, gov_root, arn)
    deny = {"Effect": "Deny", "Principal": "*", "Resource": "*",
            "Condition": {"ArnNotLike": {"aws:PrincipalArn": f"arn:{P}:iam::{GOV}:role/data-team-*"}}}
    if where == "key_policy":
        add_key_statement(emu, key, {**deny, "Action": "kms:Decrypt"})
    else:
        emu.client("secretsmanager", "govcloud").put_resource_policy(SecretId=SECRET, ResourcePolicy=json.dumps(
            {"Version": "2012-10-17", "Statement": [{**deny, "Action": "secretsmanager:GetSecretValue"}]}))
    assert not can_read(emu, gov_root, arn)


def test_a_govcloud_pair_cannot_reuse_a_commercial_account_id(emu):
    """The emulator's own commercial account (or a commercial organization's account) is refused, one line, nothing made."""
    from bedrock_key_audit.emulator import partitions

    commercial = partitions.PARTITIONS["commercial"].account_id
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as refused:
        post(emu, "/_emulator/govcloud-account", {"account_id": commercial})
    assert refused.value.code == 409 and "commercial account" in json.loads(refused.value.read())["error"]


def test_an_rcp_of_the_roles_account_bounds_assume_role_by_anyone(emu):
    """"Resource control policies (RCPs)": AWS STS is a service RCPs cover, so an identity perimeter on the role's
    account (Deny sts:AssumeRole unless aws:PrincipalOrgID is the organization's) keeps out a trusted outsider and
    lets the account's own principals (which carry the organization id) through; without it the outsider gets in."""
    from bedrock_key_audit.emulator import org_guard, partitions
    from bedrock_key_audit.emulator.scenario_base import MANAGEMENT

    emu.apply("scp_caps_key_age")  # the GovCloud account is a member of the GovCloud organization
    iam = emu.client("iam", "govcloud")
    iam.create_user(UserName="alice")
    alice = session(emu, iam.create_access_key(UserName="alice")["AccessKey"])
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": [OUTSIDE, f"arn:{P}:iam::{GOV}:user/alice"]}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="shared", AssumeRolePolicyDocument=json.dumps(trust))
    role = f"arn:{P}:iam::{GOV}:role/shared"
    partner = outside_user(emu)
    client(emu, partner, "sts").assume_role(RoleArn=role, RoleSessionName="before")  # no RCP on STS yet: in
    org_id = org_guard.org_id_of(GOV)
    assert org_id
    org_guard.attach(MANAGEMENT["govcloud"], partitions.ACCOUNTS["govcloud"], org_guard.RCP, "AssumePerimeter", {
        "Version": "2012-10-17", "Statement": [
            {"Sid": "AssumePerimeter", "Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole", "Resource": "*",
             "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": org_id},
                           "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}}]}, partition=P)
    with pytest.raises(botocore.exceptions.ClientError, match="resource control policy"):
        client(emu, partner, "sts").assume_role(RoleArn=role, RoleSessionName="after")
    client(emu, alice, "sts").assume_role(RoleArn=role, RoleSessionName="insider")  # carries the organization id
