"""The emulator authorizes IAM users' minting and escalation calls with its own evaluator, honours
CreateUser(PermissionsBoundary=…), refuses a principal in identity policies -- and the paths the
audit reports (bedrock_key_audit.escalation) really work there, with the principal's own keys."""
from __future__ import annotations

import datetime as dt
import json

import botocore.exceptions
import pytest

from bedrock_key_audit.access import principals_from_gaad
from bedrock_key_audit.escalation import minters

BEDROCK = "bedrock.amazonaws.com"
GAAD_FILTER = ["User", "Role", "Group", "LocalManagedPolicy"]


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def as_user(emu, iam, name):
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return emu.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])


def code(exc_info) -> str:
    return exc_info.value.response["Error"]["Code"]


def audit_minters(iam) -> dict:
    """The audit's answer for the emulator's account as it stands (its own GAAD read)."""
    pages = list(iam.get_paginator("get_account_authorization_details").paginate(Filter=GAAD_FILTER))
    g = {k: [x for p in pages for x in p.get(k, [])] for k in ("UserDetailList", "GroupDetailList", "RoleDetailList",
                                                               "Policies")}
    users: list[tuple[str, dict[str, str] | None]] = [(u["Arn"], {}) for u in g["UserDetailList"]]
    account = users[0][0].split(":")[4]
    got = minters(principals_from_gaad(g), users=users, audited_user_arn=None, arn_partition="aws", account_id=account,
                  now=dt.datetime.now(dt.timezone.utc), gaad=g)
    return {a.principal.rsplit("/", 1)[-1]: a for a in got}


def test_create_user_honours_a_permissions_boundary(emu):
    iam = emu.client("iam")
    arn = iam.create_policy(PolicyName="Fence", PolicyDocument=doc({"Effect": "Allow", "Action": "s3:*",
                                                                     "Resource": "*"}))["Policy"]["Arn"]
    made = iam.create_user(UserName="fenced", PermissionsBoundary=arn)["User"]
    assert made["PermissionsBoundary"]["PermissionsBoundaryArn"] == arn
    assert iam.get_user(UserName="fenced")["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == arn
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_user(UserName="ghost", PermissionsBoundary=arn.replace("Fence", "Missing"))
    assert code(e) == "NoSuchEntity"
    assert "ghost" not in [u["UserName"] for u in iam.list_users()["Users"]]


@pytest.mark.parametrize("field", ["NotPrincipal", "Principal"])
def test_identity_policies_naming_a_principal_are_refused(emu, field):
    iam = emu.client("iam")
    iam.create_user(UserName="u")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                                "Action": "sts:AssumeRole"}))
    iam.create_group(GroupName="g")
    bad = doc({"Effect": "Deny", field: {"AWS": "arn:aws:iam::123456789012:user/u"}, "Action": "*", "Resource": "*"})
    good = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    arn = iam.create_policy(PolicyName="ok", PolicyDocument=good)["Policy"]["Arn"]
    calls = [lambda: iam.put_user_policy(UserName="u", PolicyName="p", PolicyDocument=bad),
             lambda: iam.put_role_policy(RoleName="r", PolicyName="p", PolicyDocument=bad),
             lambda: iam.put_group_policy(GroupName="g", PolicyName="p", PolicyDocument=bad),
             lambda: iam.create_policy(PolicyName="bad", PolicyDocument=bad),
             lambda: iam.create_policy_version(PolicyArn=arn, PolicyDocument=bad)]
    for call in calls:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert code(e) == "MalformedPolicyDocument" and f"prohibited field {field}" in str(e.value)
    assert iam.list_user_policies(UserName="u")["PolicyNames"] == []


def test_attach_to_itself_then_mint_works_as_the_audit_reports(emu):
    """The audit names ``climber`` a minter through iam:AttachUserPolicy on itself; the emulator,
    with climber's own access key, refuses the mint first and allows it after the attach."""
    iam = emu.client("iam")
    iam.create_user(UserName="climber")
    iam.put_user_policy(UserName="climber", PolicyName="self-service", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["iam:AttachUserPolicy", "iam:CreateAccessKey"],
         "Resource": "arn:aws:iam::*:user/climber"}))
    mint_policy = iam.create_policy(PolicyName="MintKeys", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "iam:CreateServiceSpecificCredential", "Resource": "*",
         "Condition": {"StringEquals": {"iam:ServiceSpecificCredentialServiceName": BEDROCK}}}))["Policy"]["Arn"]
    iam.create_user(UserName="bystander")
    found = audit_minters(iam)
    assert set(found) == {"climber"} and found["climber"].certain
    assert "iam:AttachUserPolicy of " in found["climber"].note and "to itself" in found["climber"].note

    climber = as_user(emu, iam, "climber")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        climber.create_service_specific_credential(UserName="climber", ServiceName=BEDROCK)
    assert code(e) == "AccessDenied" and "iam:CreateServiceSpecificCredential on resource" in str(e.value)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(botocore.exceptions.ClientError) as e:
        climber.attach_user_policy(UserName="bystander", PolicyArn=mint_policy)  # not its own user
    assert code(e) == "AccessDenied"
    climber.attach_user_policy(UserName="climber", PolicyArn=mint_policy)
    cred = climber.create_service_specific_credential(UserName="bystander", ServiceName=BEDROCK)
    assert cred["ServiceSpecificCredential"]["UserName"] == "bystander"
    with pytest.raises(botocore.exceptions.ClientError) as e:  # the condition on the service holds
        climber.create_service_specific_credential(UserName="climber", ServiceName="codecommit.amazonaws.com")
    assert code(e) == "AccessDenied"


def test_bystander_without_a_path_is_neither_reported_nor_able(emu):
    iam = emu.client("iam")
    iam.create_user(UserName="helper")
    iam.create_user(UserName="other")
    iam.put_user_policy(UserName="helper", PolicyName="p", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "iam:AttachUserPolicy", "Resource": "arn:aws:iam::*:user/other"}))
    assert audit_minters(iam) == {}
    helper = as_user(emu, iam, "helper")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        helper.attach_user_policy(UserName="helper", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    assert code(e) == "AccessDenied"


def test_create_a_user_with_the_required_boundary_then_mint_for_it(emu):
    """A delegated administrator may create users under /dev/ only with a boundary, and mint keys
    for them: the audit names it a minter through a user not yet created, and it really mints."""
    iam = emu.client("iam")
    fence = iam.create_policy(PolicyName="DevFence", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))["Policy"]["Arn"]
    iam.create_user(UserName="lead")
    iam.put_user_policy(UserName="lead", PolicyName="delegate", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "iam:CreateUser", "Resource": "arn:aws:iam::*:user/dev/*",
         "Condition": {"StringEquals": {"iam:PermissionsBoundary": fence}}},
        {"Effect": "Allow", "Action": "iam:CreateServiceSpecificCredential", "Resource": "arn:aws:iam::*:user/dev/*"}))
    found = audit_minters(iam)
    assert set(found) == {"lead"} and found["lead"].certain and "creates user dev/" in found["lead"].note

    lead = as_user(emu, iam, "lead")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        lead.create_user(UserName="newbie", Path="/dev/")  # no boundary: refused
    assert code(e) == "AccessDenied"
    lead.create_user(UserName="newbie", Path="/dev/", PermissionsBoundary=fence)
    cred = lead.create_service_specific_credential(UserName="newbie", ServiceName=BEDROCK)
    assert cred["ServiceSpecificCredential"]["UserName"] == "newbie"
    assert iam.get_user(UserName="newbie")["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == fence


# --------------------------------------------------------------------------- differential: generated minting policies
MINT_ACTIONS_PATTERNS = ["iam:CreateServiceSpecificCredential", "iam:*ServiceSpecificCredential", "iam:CreateService*",
                         "IAM:createservicespecificcredential", "s3:*"]
RESOURCES = ["*", "arn:aws:iam::*:user/t0", "arn:aws:iam::123456789012:user/t*", "arn:aws:iam::*:user/u?",
             "arn:aws:iam::*:user/nobody", ["arn:aws:iam::*:user/t1", "arn:aws:iam::*:user/u0"]]
CONDITIONS = [None, {"StringEquals": {"iam:ServiceSpecificCredentialServiceName": BEDROCK}},
              {"StringEquals": {"iam:ServiceSpecificCredentialServiceName": "codecommit.amazonaws.com"}},
              {"StringLike": {"iam:ServiceSpecificCredentialServiceName": "bed*"}},
              {"NumericLessThanEquals": {"iam:ServiceSpecificCredentialAgeDays": "90"}},
              {"Null": {"iam:ServiceSpecificCredentialAgeDays": "false"}},
              {"StringEquals": {"aws:username": "u1"}}]
PRINCIPALS = ("u0", "u1", "u2")
USERS = ("u0", "u1", "u2", "t0", "t1")
TARGETS = ("t0", "t1", "u0", "u1")  # every pattern above that names a user names one of these
AGES = (None, 1)  # requests a caller can make: no age, or a one-day key (meets every age condition above)


def _statements():
    from hypothesis import strategies as st

    statement = st.fixed_dictionaries({
        "Effect": st.sampled_from(["Allow", "Allow", "Deny"]), "Action": st.sampled_from(MINT_ACTIONS_PATTERNS),
        "Resource": st.sampled_from(RESOURCES), "Condition": st.sampled_from(CONDITIONS)})
    return st.lists(statement, min_size=0, max_size=3).map(
        lambda sts: [{k: v for k, v in s.items() if v is not None} for s in sts])


def test_generated_policies_minters_equal_the_emulators(emulator):
    """The audit's minter set (certain; none may be left undecided here: every key is known or the
    caller's choice) equals the set of principals for which the emulator, with each principal's own
    keys, lets CreateServiceSpecificCredential for Bedrock succeed on some user with some age."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(st.fixed_dictionaries({p: _statements() for p in PRINCIPALS}))
    def run(policies):
        emulator.reset()
        iam = emulator.client("iam")
        for name in USERS:
            iam.create_user(UserName=name)
        clients = {}
        for name in PRINCIPALS:
            if policies[name]:
                iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=doc(*policies[name]))
            clients[name] = as_user(emulator, iam, name)
        found = audit_minters(iam)
        assert all(a.certain for a in found.values()), (policies, {k: a.unknown for k, a in found.items()})
        emulated = set()
        for name in PRINCIPALS:
            for target in TARGETS:
                for age in AGES:
                    kw = {"CredentialAgeDays": age} if age is not None else {}
                    try:
                        made = clients[name].create_service_specific_credential(UserName=target, ServiceName=BEDROCK, **kw)
                    except botocore.exceptions.ClientError as exc:
                        assert exc.response["Error"]["Code"] == "AccessDenied", exc
                        continue
                    iam.delete_service_specific_credential(
                        UserName=target,
                        ServiceSpecificCredentialId=made["ServiceSpecificCredential"]["ServiceSpecificCredentialId"])
                    emulated.add(name)
                    break
                if name in emulated:
                    break
        assert set(found) == emulated, json.dumps({"policies": policies, "audit": sorted(found),
                                                   "emulator": sorted(emulated)})

    run()


def test_role_session_attaches_to_its_role_then_mints(emu):
    """The audit's example path -- role X: iam:AttachRolePolicy on itself, then
    CreateServiceSpecificCredential -- taken by a session of that role with its own credentials."""
    iam = emu.client("iam")
    account = emu.client("sts").get_caller_identity()["Account"]
    iam.create_user(UserName="target")
    iam.create_role(RoleName="ci-deployer", AssumeRolePolicyDocument=doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}))
    iam.put_role_policy(RoleName="ci-deployer", PolicyName="own-policies", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "iam:AttachRolePolicy", "Resource": f"arn:aws:iam::{account}:role/ci-deployer"}))
    grant = iam.create_policy(PolicyName="Everything", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "*", "Resource": "*"}))["Policy"]["Arn"]
    found = audit_minters(iam)
    assert set(found) == {"ci-deployer"} and "iam:AttachRolePolicy of " in found["ci-deployer"].note

    creds = emu.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/ci-deployer",
                                          RoleSessionName="build-42")["Credentials"]
    session = emu.client("iam", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        session.create_service_specific_credential(UserName="target", ServiceName=BEDROCK)
    assert code(e) == "AccessDenied" and "assumed-role/ci-deployer/build-42" in str(e.value)
    session.attach_role_policy(RoleName="ci-deployer", PolicyArn=grant)
    made = session.create_service_specific_credential(UserName="target", ServiceName=BEDROCK)
    assert made["ServiceSpecificCredential"]["UserName"] == "target"


MINT = {"Effect": "Allow", "Action": "iam:CreateServiceSpecificCredential", "Resource": "*"}


def test_new_default_policy_version_then_mint(emu):
    """Policy versions: a customer managed policy attached to the user lets it write its own new version."""
    iam = emu.client("iam")
    iam.create_user(UserName="author")
    arn = iam.create_policy(PolicyName="self-edit", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "iam:CreatePolicyVersion", "Resource": "arn:aws:iam::*:policy/self-edit"}
    ))["Policy"]["Arn"]
    iam.attach_user_policy(UserName="author", PolicyArn=arn)
    found = audit_minters(iam)
    assert set(found) == {"author"} and "iam:CreatePolicyVersion of self-edit (attached to itself)" in found["author"].note
    author = as_user(emu, iam, "author")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        author.create_service_specific_credential(UserName="author", ServiceName=BEDROCK)
    assert code(e) == "AccessDenied"
    author.create_policy_version(PolicyArn=arn, PolicyDocument=doc(MINT), SetAsDefault=True)
    assert author.create_service_specific_credential(UserName="author", ServiceName=BEDROCK)["ServiceSpecificCredential"]


def test_join_a_minting_group_then_mint(emu):
    """Group membership: AddUserToGroup of itself into a group whose policy mints."""
    iam = emu.client("iam")
    iam.create_group(GroupName="key-admins")
    iam.put_group_policy(GroupName="key-admins", PolicyName="mint", PolicyDocument=doc(MINT))
    iam.create_user(UserName="joiner")
    iam.put_user_policy(UserName="joiner", PolicyName="join", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "iam:AddUserToGroup", "Resource": "arn:aws:iam::*:group/key-admins"}))
    found = audit_minters(iam)
    assert set(found) == {"joiner"} and "iam:AddUserToGroup of itself to group key-admins" in found["joiner"].note
    joiner = as_user(emu, iam, "joiner")
    with pytest.raises(botocore.exceptions.ClientError):
        joiner.create_service_specific_credential(UserName="joiner", ServiceName=BEDROCK)
    joiner.add_user_to_group(GroupName="key-admins", UserName="joiner")
    assert joiner.create_service_specific_credential(UserName="joiner", ServiceName=BEDROCK)["ServiceSpecificCredential"]


def test_access_key_of_a_minting_user_then_mint(emu):
    """Credentials of a minting user: CreateAccessKey (with DeleteAccessKey, past the two-key quota)."""
    iam = emu.client("iam")
    iam.create_user(UserName="rotator")
    iam.put_user_policy(UserName="rotator", PolicyName="mint", PolicyDocument=doc(MINT))
    iam.create_user(UserName="ops")
    iam.put_user_policy(UserName="ops", PolicyName="keys", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["iam:CreateAccessKey", "iam:DeleteAccessKey"],
         "Resource": "arn:aws:iam::*:user/rotator"}))
    found = audit_minters(iam)
    assert found["ops"].certain and "iam:CreateAccessKey for user rotator" in found["ops"].note
    ops = as_user(emu, iam, "ops")
    with pytest.raises(botocore.exceptions.ClientError):
        ops.create_service_specific_credential(UserName="ops", ServiceName=BEDROCK)
    key = ops.create_access_key(UserName="rotator")["AccessKey"]
    as_rotator = emu.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    assert as_rotator.create_service_specific_credential(UserName="ops", ServiceName=BEDROCK)["ServiceSpecificCredential"]


def test_remove_its_own_boundary_then_mint(emu):
    """Beyond the catalogue: a fenced user that may delete its own permissions boundary."""
    iam = emu.client("iam")
    fence = iam.create_policy(PolicyName="Fence", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["s3:*", "iam:DeleteUserPermissionsBoundary"], "Resource": "*"}))["Policy"]["Arn"]
    iam.create_user(UserName="fenced", PermissionsBoundary=fence)
    iam.put_user_policy(UserName="fenced", PolicyName="p", PolicyDocument=doc(
        MINT, {"Effect": "Allow", "Action": "iam:DeleteUserPermissionsBoundary", "Resource": "arn:aws:iam::*:user/fenced"}))
    found = audit_minters(iam)
    assert set(found) == {"fenced"} and "iam:DeleteUserPermissionsBoundary of itself" in found["fenced"].note
    fenced = as_user(emu, iam, "fenced")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        fenced.create_service_specific_credential(UserName="fenced", ServiceName=BEDROCK)
    assert code(e) == "AccessDenied"  # the boundary does not allow it
    fenced.delete_user_permissions_boundary(UserName="fenced")
    assert fenced.create_service_specific_credential(UserName="fenced", ServiceName=BEDROCK)["ServiceSpecificCredential"]


def test_access_key_of_a_user_who_mints_through_a_role_then_mint(emu):
    """A takeover target is any minter: ops creates an access key for a user who mints only by
    assuming a minting role, assumes that role as the user, and mints."""
    iam = emu.client("iam")
    account = emu.client("sts").get_caller_identity()["Account"]
    iam.create_role(RoleName="mint-role", AssumeRolePolicyDocument=doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}))
    iam.put_role_policy(RoleName="mint-role", PolicyName="mint", PolicyDocument=doc(MINT))
    iam.create_user(UserName="assumer")
    iam.put_user_policy(UserName="assumer", PolicyName="p", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{account}:role/mint-role"}))
    iam.create_user(UserName="ops")
    iam.put_user_policy(UserName="ops", PolicyName="keys", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["iam:CreateAccessKey", "iam:DeleteAccessKey"],
         "Resource": f"arn:aws:iam::{account}:user/assumer"}))
    found = audit_minters(iam)
    assert found["ops"].certain and "iam:CreateAccessKey for user assumer" in found["ops"].note
    assert "role mint-role" in found["ops"].note
    ops = as_user(emu, iam, "ops")
    with pytest.raises(botocore.exceptions.ClientError):
        ops.create_service_specific_credential(UserName="ops", ServiceName=BEDROCK)
    key = ops.create_access_key(UserName="assumer")["AccessKey"]
    creds = emu.client("sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/mint-role", RoleSessionName="taken")["Credentials"]
    as_role = emu.client("iam", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"])
    assert as_role.create_service_specific_credential(UserName="ops", ServiceName=BEDROCK)["ServiceSpecificCredential"]
