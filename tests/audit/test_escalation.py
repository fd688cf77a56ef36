"""bedrock_key_audit.escalation: who can mint a Bedrock key on a user not yet created, or after one
privilege-escalation step (hand-built GetAccountAuthorizationDetails answers)."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from bedrock_key_audit.access import principals_from_gaad
from bedrock_key_audit.escalation import EVALUATED, NOT_EVALUATED, UserFacts, minters, not_evaluated_sentence
from bedrock_key_audit.escalation_catalogue import PATHS
from tests.policy_docs import allow, deny, doc

A = "123456789012"
C = "arn:aws"
NOW = dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc)
AUDITED_NAME = "bedrock-cross-partition-user"
AUDITED = f"{C}:iam::{A}:user/{AUDITED_NAME}"
BR = {"StringEquals": {"iam:ServiceSpecificCredentialServiceName": "bedrock.amazonaws.com"}}



def user(name: str, *policies: dict[str, Any], groups: tuple[str, ...] = (), managed: tuple[str, ...] = (),
         boundary: str | None = None) -> dict[str, Any]:
    u: dict[str, Any] = {"UserName": name, "UserId": f"AIDA{name.upper()}", "Arn": f"{C}:iam::{A}:user/{name}",
                         "UserPolicyList": [{"PolicyName": f"p{i}", "PolicyDocument": d} for i, d in enumerate(policies)],
                         "GroupList": list(groups),
                         "AttachedManagedPolicies": [{"PolicyName": m.rsplit("/", 1)[1], "PolicyArn": m} for m in managed]}
    if boundary:
        u["PermissionsBoundary"] = {"PermissionsBoundaryArn": boundary}
    return u


def trust(service: str | None = None, **condition: Any) -> dict[str, Any]:
    st: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service} if service else {"AWS": f"{C}:iam::{A}:root"},
                          "Action": "sts:AssumeRole"}
    if condition:
        st["Condition"] = condition
    return doc(st)


def role(name: str, *policies: dict[str, Any], assume: dict[str, Any] | None = None, managed: tuple[str, ...] = (),
         profile: bool = False, boundary: str | None = None) -> dict[str, Any]:
    r: dict[str, Any] = {"RoleName": name, "RoleId": f"AROA{name.upper()}", "Arn": f"{C}:iam::{A}:role/{name}",
                         "RolePolicyList": [{"PolicyName": f"p{i}", "PolicyDocument": d} for i, d in enumerate(policies)],
                         "AttachedManagedPolicies": [{"PolicyName": m.rsplit("/", 1)[1], "PolicyArn": m} for m in managed],
                         "AssumeRolePolicyDocument": assume or trust(), "InstanceProfileList": [{"x": 1}] if profile else []}
    if boundary:
        r["PermissionsBoundary"] = {"PermissionsBoundaryArn": boundary}
    return r


def group(name: str, *policies: dict[str, Any]) -> dict[str, Any]:
    return {"GroupName": name, "GroupId": f"AGPA{name.upper()}", "Arn": f"{C}:iam::{A}:group/{name}",
            "GroupPolicyList": [{"PolicyName": f"p{i}", "PolicyDocument": d} for i, d in enumerate(policies)],
            "AttachedManagedPolicies": []}


def policy(name: str, *versions: dict[str, Any], default: int = 1) -> dict[str, Any]:
    return {"PolicyName": name, "Arn": f"{C}:iam::{A}:policy/{name}", "DefaultVersionId": f"v{default}",
            "PolicyVersionList": [{"VersionId": f"v{i + 1}", "IsDefaultVersion": i + 1 == default, "Document": d}
                                  for i, d in enumerate(versions)]}


def run(users=(), roles=(), groups=(), policies=(), facts=None, wanted=None) -> dict[str, Any]:
    g = {"UserDetailList": [user(AUDITED_NAME), *users], "RoleDetailList": list(roles),
         "GroupDetailList": list(groups), "Policies": list(policies)}
    ps = principals_from_gaad(g)
    got = minters(ps, users=[(u["Arn"], {}) for u in g["UserDetailList"]], audited_user_arn=AUDITED,
                  arn_partition="aws", account_id=A, now=NOW, gaad=g,
                  user_facts={f"{C}:iam::{A}:user/{n}": f for n, f in (facts or {}).items()}, wanted=wanted)
    return {a.principal.rsplit("/", 1)[-1]: a for a in got}


# --------------------------------------------------------------------------- users that do not exist yet
def test_minting_on_a_pattern_of_users_not_yet_created_needs_create_user():
    mint_temp = allow("iam:CreateServiceSpecificCredential", f"{C}:iam::{A}:user/temp-*", Condition=BR)
    assert run(users=[user("ops", doc(mint_temp))]) == {}  # no such user, and it cannot create one
    both = doc(mint_temp, allow("iam:CreateUser", f"{C}:iam::{A}:user/temp-*"))
    a = run(users=[user("ops", both)])["ops"]
    assert a.certain and "creates user temp-x (no such user yet), then Create on it" in a.note
    # CreateUser only elsewhere: the two patterns never meet
    apart = doc(mint_temp, allow("iam:CreateUser", f"{C}:iam::{A}:user/svc-*"))
    assert run(users=[user("ops", apart)]) == {}


def test_create_user_conditioned_on_a_boundary_the_creator_chooses():
    """The delegated-administrator pattern: CreateUser only with a named boundary.  The creator
    passes that boundary; the boundary limits the new user, not the creator's minting."""
    b = f"{C}:iam::{A}:policy/DevBoundary"
    pol = doc(allow("iam:CreateServiceSpecificCredential", f"{C}:iam::{A}:user/dev/*"),
              allow("iam:CreateUser", f"{C}:iam::{A}:user/dev/*",
                    Condition={"StringEquals": {"iam:PermissionsBoundary": b}}))
    a = run(users=[user("lead", pol)])["lead"]
    assert a.certain and "creates user dev/x" in a.note
    unknown = doc(allow("iam:CreateServiceSpecificCredential"),
                  allow("iam:CreateUser", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    a = run(users=[user("net", unknown)])["net"]
    # an existing user is enough for a certain minter; the source IP only matters for new ones
    assert a.certain and "Create on user" in a.note


def test_a_deny_of_new_users_holds():
    pol = doc(allow(["iam:CreateUser", "iam:CreateServiceSpecificCredential"], f"{C}:iam::{A}:user/tmp/*"),
              deny("iam:CreateUser"))
    assert run(users=[user("ops", pol)]) == {}


def test_a_direct_minter_carries_the_mint_actions_it_is_granted():
    """Only the actions a principal's own policies grant (each certain, or with the keys it depends
    on) are what an SCP must deny to stop it (iam.key_minting_restricted)."""
    create = allow("iam:CreateServiceSpecificCredential", Condition=BR)
    vpce = allow("iam:ResetServiceSpecificCredential", Condition={**BR, "StringEquals": {
        **BR["StringEquals"], "aws:SourceVpce": "vpce-1"}})
    got = run(roles=[role("creator", doc(create)), role("both", doc(create, vpce)), role("vpce", doc(vpce))])
    assert got["creator"].actions == (("iam:CreateServiceSpecificCredential", ()),)
    assert got["both"].certain and got["both"].actions == (
        ("iam:CreateServiceSpecificCredential", ()), ("iam:ResetServiceSpecificCredential", ("aws:SourceVpce",)))
    assert not got["vpce"].certain and got["vpce"].actions == (("iam:ResetServiceSpecificCredential", ("aws:SourceVpce",)),)
    new_user = doc(allow("iam:CreateServiceSpecificCredential", f"{C}:iam::{A}:user/temp-*", Condition=BR),
                   allow("iam:CreateUser", f"{C}:iam::{A}:user/temp-*"))
    assert run(users=[user("ops", new_user)])["ops"].actions == (("iam:CreateServiceSpecificCredential", ()),)


# --------------------------------------------------------------------------- policy writes on itself
@pytest.mark.parametrize("action, kind", [("iam:PutUserPolicy", "user"), ("iam:AttachUserPolicy", "user"),
                                          ("iam:PutRolePolicy", "role"), ("iam:AttachRolePolicy", "role")])
def test_policy_write_on_itself(action, kind):
    pol = doc(allow(action, f"{C}:iam::{A}:{kind}/climber"))
    got = run(users=[user("climber", pol)]) if kind == "user" else run(roles=[role("climber", pol)])
    a = got["climber"]
    assert a.certain and a.kind == kind
    assert a.note.startswith(f"escalation followed one step: {action}") and "itself, after which it mints (" in a.note
    assert "Create on user bedrock-cross-partition-user" in a.note
    assert "inline policy p0 of " in a.grants[0]


def test_tag_conditions_on_the_target_user_are_decided():
    own = allow("iam:PutUserPolicy", Condition={"StringEquals": {"iam:ResourceTag/team": "platform"}})
    tagged = user("climber", doc(own))
    tagged["Tags"] = [{"Key": "team", "Value": "platform"}]
    assert run(users=[tagged])["climber"].certain
    tagged["Tags"] = [{"Key": "team", "Value": "data"}]
    assert run(users=[tagged]) == {}


def test_policy_write_on_someone_else_alone_is_not_minting():
    pol = doc(allow("iam:PutUserPolicy", f"{C}:iam::{A}:user/other"))
    assert run(users=[user("climber", pol), user("other")]) == {}


def test_attach_policy_arn_condition_is_tried_with_policies_that_exist():
    only_readonly = doc(allow("iam:AttachUserPolicy", f"{C}:iam::{A}:user/climber", Condition={
        "ArnEquals": {"iam:PolicyARN": "arn:aws:iam::aws:policy/ReadOnlyAccess"}}))
    assert run(users=[user("climber", only_readonly)]) == {}
    admin = doc(allow("iam:AttachUserPolicy", f"{C}:iam::{A}:user/climber", Condition={
        "ArnLike": {"iam:PolicyARN": "arn:aws:iam::aws:policy/Administrator*"}}))
    assert "AdministratorAccess" in run(users=[user("climber", admin)])["climber"].note


def test_written_grant_is_limited_by_the_boundary_and_by_denies():
    b_arn = f"{C}:iam::{A}:policy/NoIam"
    boundary = policy("NoIam", doc(allow("s3:*")))
    pol = doc(allow("iam:PutUserPolicy", f"{C}:iam::{A}:user/climber"))
    assert run(users=[user("climber", pol, boundary=b_arn)], policies=[boundary]) == {}
    denied = doc(allow("iam:PutUserPolicy", f"{C}:iam::{A}:user/climber"), deny("iam:*ServiceSpecificCredential"))
    assert run(users=[user("climber", denied)]) == {}


def test_group_policy_write_on_its_own_group():
    pol = doc(allow("iam:PutGroupPolicy", f"{C}:iam::{A}:group/devs"))
    a = run(users=[user("dev", groups=("devs",))], groups=[group("devs", pol)])["dev"]
    assert a.certain and "iam:PutGroupPolicy on group devs of itself" in a.note
    attach = doc(allow("iam:AttachGroupPolicy", f"{C}:iam::{A}:group/devs"))
    assert run(users=[user("dev", groups=("devs",))], groups=[group("devs", attach)])["dev"].certain


# --------------------------------------------------------------------------- policy versions
def test_create_policy_version_of_a_policy_attached_to_itself():
    pa = f"{C}:iam::{A}:policy/selfmanaged"
    pol = policy("selfmanaged", doc(allow("iam:CreatePolicyVersion", pa)))
    a = run(users=[user("climber", managed=(pa,))], policies=[pol])["climber"]
    assert a.certain and "iam:CreatePolicyVersion of selfmanaged (attached to itself)" in a.note
    # on a policy not attached to it: nothing to gain in one step
    other = policy("other", doc(allow("s3:GetObject")))
    pol2 = policy("selfmanaged", doc(allow("iam:CreatePolicyVersion", f"{C}:iam::{A}:policy/other")))
    assert run(users=[user("climber", managed=(pa,))], policies=[pol2, other]) == {}


def test_set_default_policy_version_to_an_older_version_that_mints():
    pa = f"{C}:iam::{A}:policy/rollback"
    pol = policy("rollback", doc(allow("iam:CreateServiceSpecificCredential")),
                 doc(allow("iam:SetDefaultPolicyVersion", pa)), default=2)
    a = run(users=[user("climber", managed=(pa,))], policies=[pol])["climber"]
    assert a.certain and "iam:SetDefaultPolicyVersion v1 of rollback" in a.note
    harmless = policy("rollback", doc(allow("s3:*")), doc(allow("iam:SetDefaultPolicyVersion", pa)), default=2)
    assert run(users=[user("climber", managed=(pa,))], policies=[harmless]) == {}


def test_create_policy_version_of_its_own_boundary():
    b_arn = f"{C}:iam::{A}:policy/Fence"
    fence = policy("Fence", doc(allow(["s3:*", "iam:CreatePolicyVersion"])))
    pol = doc(allow(["iam:CreateServiceSpecificCredential", "iam:CreatePolicyVersion"]))
    a = run(users=[user("fenced", pol, boundary=b_arn)], policies=[fence])["fenced"]
    assert a.certain and "permissions boundary of itself" in a.note


@pytest.mark.parametrize("action", ["iam:DeleteUserPermissionsBoundary", "iam:PutUserPermissionsBoundary"])
def test_removing_or_replacing_its_own_boundary(action):
    b_arn = f"{C}:iam::{A}:policy/Fence"
    fence = policy("Fence", doc(allow(["s3:*", "iam:*PermissionsBoundary"])))
    pol = doc(allow(["iam:CreateServiceSpecificCredential", action], "*"))
    a = run(users=[user("fenced", pol, boundary=b_arn)], policies=[fence])["fenced"]
    assert a.certain and f"{action}" in a.note
    # without the boundary action: the boundary holds and it mints nothing
    assert run(users=[user("fenced", doc(allow("iam:CreateServiceSpecificCredential")), boundary=b_arn)],
               policies=[fence]) == {}


# --------------------------------------------------------------------------- group membership
def test_add_user_to_a_group_that_mints():
    minting = group("key-admins", doc(allow("iam:CreateServiceSpecificCredential", Condition=BR)))
    pol = doc(allow("iam:AddUserToGroup", f"{C}:iam::{A}:group/key-admins"))
    a = run(users=[user("joiner", pol)], groups=[minting])["joiner"]
    assert a.certain and "iam:AddUserToGroup of itself to group key-admins" in a.note
    other = doc(allow("iam:AddUserToGroup", f"{C}:iam::{A}:group/readers"))
    assert run(users=[user("joiner", other)], groups=[minting, group("readers", doc(allow("s3:*")))]) == {}


# --------------------------------------------------------------------------- taking over another principal
def test_update_assume_role_policy_of_a_role_that_mints():
    minter = role("key-rotator", doc(allow("iam:*ServiceSpecificCredential")))
    pol = doc(allow("iam:UpdateAssumeRolePolicy", f"{C}:iam::{A}:role/key-rotator"))
    got = run(users=[user("ops", pol)], roles=[minter])
    a = got["ops"]
    assert a.certain and "iam:UpdateAssumeRolePolicy of role key-rotator" in a.note
    assert got["key-rotator"].certain  # the role itself mints directly
    # the caller's boundary must allow sts:AssumeRole
    b_arn = f"{C}:iam::{A}:policy/NoSts"
    fence = policy("NoSts", doc(allow("iam:UpdateAssumeRolePolicy")))
    assert "ops" not in run(users=[user("ops", pol, boundary=b_arn)], roles=[minter], policies=[fence])


def test_a_boundary_allowing_sts_in_another_region_only_still_lets_the_rewriter_assume():
    """The AssumeRole after the trust rewrite may go to any Region's STS endpoint (IAM User Guide, "Manage AWS STS
    in an AWS Region"): a boundary allowing it in eu-west-1 only does not stop it; one allowing it nowhere does."""
    minter = role("key-rotator", doc(allow("iam:*ServiceSpecificCredential")))
    pol = doc(allow("iam:UpdateAssumeRolePolicy", f"{C}:iam::{A}:role/key-rotator"))
    b_arn = f"{C}:iam::{A}:policy/StsInEu"

    def fence(region: str) -> dict[str, Any]:
        return policy("StsInEu", doc(allow("iam:UpdateAssumeRolePolicy"), allow(
            "sts:AssumeRole", Condition={"StringEquals": {"aws:RequestedRegion": region}})))
    got = run(users=[user("ops", pol, boundary=b_arn)], roles=[minter], policies=[fence("eu-west-1")])
    assert "ops" in got and got["ops"].certain, got
    assert "ops" not in run(users=[user("ops", pol, boundary=b_arn)], roles=[minter], policies=[fence("xx-nowhere-1")])


def test_service_linked_roles_cannot_be_rewritten():
    slr = role("AWSServiceRoleForX", doc(allow("iam:*ServiceSpecificCredential")))
    slr["Arn"] = f"{C}:iam::{A}:role/aws-service-role/x.amazonaws.com/AWSServiceRoleForX"
    pol = doc(allow(["iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy"]))
    assert "ops" not in run(users=[user("ops", pol)], roles=[slr])


def test_put_role_policy_then_update_assume_role_policy():
    plain = role("idle", doc(allow("s3:GetObject")))
    pol = doc(allow(["iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy"], f"{C}:iam::{A}:role/idle"))
    a = run(users=[user("ops", pol)], roles=[plain])["ops"]
    assert a.certain and "iam:PutRolePolicy on role idle, then iam:UpdateAssumeRolePolicy of role idle" in a.note


def test_access_key_of_a_user_that_mints():
    minter = user("rotator", doc(allow("iam:CreateServiceSpecificCredential")))
    only_create = doc(allow("iam:CreateAccessKey", f"{C}:iam::{A}:user/rotator"))
    a = run(users=[minter, user("ops", only_create)])["ops"]
    assert not a.certain and any("fewer than two access keys" in k for k in a.unknown)
    rotate = doc(allow(["iam:CreateAccessKey", "iam:DeleteAccessKey"], f"{C}:iam::{A}:user/rotator"))
    assert run(users=[minter, user("ops", rotate)])["ops"].certain
    # attach then create an access key: a user that cannot mint yet
    plain = user("idle")
    both = doc(allow(["iam:AttachUserPolicy", "iam:CreateAccessKey", "iam:DeleteAccessKey"], f"{C}:iam::{A}:user/idle"))
    a = run(users=[plain, user("ops", both)])["ops"]
    assert a.certain and "iam:AttachUserPolicy of AdministratorAccess to user idle, then iam:CreateAccessKey" in a.note


@pytest.mark.parametrize(("keys", "minter"), [(0, True), (1, True), (2, False), (None, None)])
def test_access_key_takeover_is_decided_by_the_users_key_count(keys, minter):
    """A user holds at most two access keys (IAM and AWS STS quotas): with fewer, CreateAccessKey
    alone takes it over; with two and no DeleteAccessKey it fails; unread, it stays undecided."""
    rotator = user("rotator", doc(allow("iam:CreateServiceSpecificCredential")))
    ops = user("ops", doc(allow("iam:CreateAccessKey", f"{C}:iam::{A}:user/rotator")))
    wanted: set[str] = set()
    got = run(users=[rotator, ops], facts={"rotator": UserFacts(keys, False)}, wanted=wanted)
    if minter is False:
        assert "ops" not in got
    else:
        a = got["ops"]
        assert a.certain is bool(minter) and "iam:CreateAccessKey for user rotator" in a.note
        if not minter:
            assert any("iam:ListAccessKeys of user rotator would settle it" in k for k in a.unknown)
    assert wanted == ({f"{C}:iam::{A}:user/rotator"} if keys is None else set())


@pytest.mark.parametrize(("has_password", "action", "minter"), [
    (False, "iam:CreateLoginProfile", True), (True, "iam:CreateLoginProfile", False),
    (True, "iam:UpdateLoginProfile", True), (False, "iam:UpdateLoginProfile", False),
    (None, "iam:CreateLoginProfile", None)])
def test_console_password_takeover_is_decided_by_the_users_login_profile(has_password, action, minter):
    """CreateLoginProfile works only on a user without a console password, UpdateLoginProfile only
    on one with a password (IAM API Reference: EntityAlreadyExists / NoSuchEntity)."""
    rotator = user("rotator", doc(allow("iam:CreateServiceSpecificCredential")))
    ops = user("ops", doc(allow(action, f"{C}:iam::{A}:user/rotator")))
    got = run(users=[rotator, ops], facts={"rotator": UserFacts(0, has_password)})
    if minter is False:
        assert "ops" not in got
    else:
        assert got["ops"].certain is bool(minter) and "a console password for user rotator" in got["ops"].note
        if minter is None:
            assert any("iam:GetLoginProfile of user rotator would settle it" in k for k in got["ops"].unknown)


def test_login_profile_of_a_user_that_mints():
    minter = user("rotator", doc(allow("iam:CreateServiceSpecificCredential")))
    one = doc(allow("iam:UpdateLoginProfile", f"{C}:iam::{A}:user/rotator"))
    a = run(users=[minter, user("ops", one)])["ops"]
    assert not a.certain and any("console password" in k for k in a.unknown)
    both = doc(allow(["iam:CreateLoginProfile", "iam:UpdateLoginProfile"], f"{C}:iam::{A}:user/rotator"))
    assert run(users=[minter, user("ops", both)])["ops"].certain


# --------------------------------------------------------------------------- passing a role to a service
def test_pass_a_minting_role_to_lambda():
    minter = role("fn-role", doc(allow("iam:CreateServiceSpecificCredential", Condition=BR)),
                  assume=trust("lambda.amazonaws.com"))
    pol = doc(allow("iam:PassRole", f"{C}:iam::{A}:role/fn-role"), allow(["lambda:CreateFunction", "lambda:InvokeFunction"]))
    a = run(users=[user("dev", pol)], roles=[minter])["dev"]
    assert a.certain and "iam:PassRole of role fn-role to lambda.amazonaws.com" in a.note
    assert "the code runs as role fn-role" in a.note
    # PassedToService another service: not this path
    other = doc(allow("iam:PassRole", f"{C}:iam::{A}:role/fn-role", Condition={
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}),
        allow(["lambda:CreateFunction", "lambda:InvokeFunction"]))
    assert "dev" not in run(users=[user("dev", other)], roles=[minter])
    # a role that does not trust the service cannot be passed to it
    untrusting = role("fn-role", doc(allow("iam:CreateServiceSpecificCredential")), assume=trust("ec2.amazonaws.com"))
    assert "dev" not in run(users=[user("dev", pol)], roles=[untrusting])


def test_pass_role_with_a_named_function_pattern_is_undecided():
    minter = role("fn-role", doc(allow("iam:CreateServiceSpecificCredential")), assume=trust("lambda.amazonaws.com"))
    pol = doc(allow("iam:PassRole", f"{C}:iam::{A}:role/fn-role"),
              allow(["lambda:CreateFunction", "lambda:InvokeFunction"], f"{C}:lambda:us-east-1:{A}:function:app-*"))
    a = run(users=[user("dev", pol)], roles=[minter])["dev"]
    assert not a.certain and any("lambda:createfunction creates" in k for k in a.unknown)


def test_pass_role_to_ec2_needs_an_instance_profile():
    pol = doc(allow(["iam:PassRole", "ec2:RunInstances"]))
    bare = role("vm", doc(allow("iam:CreateServiceSpecificCredential")), assume=trust("ec2.amazonaws.com"))
    assert "dev" not in run(users=[user("dev", pol)], roles=[bare])
    held = role("vm", doc(allow("iam:CreateServiceSpecificCredential")), assume=trust("ec2.amazonaws.com"), profile=True)
    assert "CreateEC2WithExistingIP" in run(users=[user("dev", pol)], roles=[held])["dev"].note


def test_conditional_service_trust_is_undecided():
    minter = role("fn-role", doc(allow("iam:CreateServiceSpecificCredential")),
                  assume=trust("lambda.amazonaws.com", StringEquals={"aws:SourceArn": "arn:aws:lambda:x"}))
    pol = doc(allow(["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"]))
    a = run(users=[user("dev", pol)], roles=[minter])["dev"]
    assert not a.certain and "the condition of role fn-role's trust policy" in a.unknown


# --------------------------------------------------------------------------- the catalogue and the row
def test_every_catalogued_path_is_evaluated_or_named_as_not():
    assert set(PATHS) == EVALUATED | set(NOT_EVALUATED)
    assert not EVALUATED & set(NOT_EVALUATED)
    sentence = not_evaluated_sentence()
    assert "escalation followed one step" in sentence and all(n in sentence for n in NOT_EVALUATED)


def test_direct_minters_are_unchanged_and_json_ready():
    got = run(users=[user("admin", doc(allow("iam:*")))])
    assert got["admin"].certain and "escalation" not in got["admin"].note
    assert json.dumps([a.as_dict() for a in got.values()])


# --------------------------------------------------------------------------- a role the principal can already assume
def _trusting(name: str) -> dict[str, Any]:
    """A trust policy naming one user of the account by ARN (enough on its own within the account)."""
    return doc({"Effect": "Allow", "Principal": {"AWS": f"{C}:iam::{A}:user/{name}"}, "Action": "sts:AssumeRole"})


@pytest.mark.parametrize("write", ["iam:AttachRolePolicy", "iam:PutRolePolicy"])
def test_policy_write_on_a_role_it_can_assume(write: str):
    helper = role("helper", doc(allow("s3:GetObject")), assume=_trusting("ops"))
    a = run(users=[user("ops", doc(allow(write, f"{C}:iam::{A}:role/helper")))], roles=[helper])["ops"]
    assert a.certain and "sts:AssumeRole of role helper (its trust policy admits it)" in a.note
    assert f"{write}" in a.note


def test_create_policy_version_of_a_policy_attached_to_a_role_it_can_assume():
    pa = f"{C}:iam::{A}:policy/helper-policy"
    helper = role("helper", assume=_trusting("ops"), managed=(pa,))
    pol = policy("helper-policy", doc(allow("s3:GetObject")))
    a = run(users=[user("ops", doc(allow("iam:CreatePolicyVersion", pa)))], roles=[helper], policies=[pol])["ops"]
    assert a.certain and "sts:AssumeRole of role helper" in a.note and "iam:CreatePolicyVersion" in a.note


def test_a_role_whose_trust_names_the_account_needs_the_callers_assume_grant():
    helper = role("helper", doc(allow("s3:GetObject")))  # trust: the account root (delegates to IAM policies)
    write_only = doc(allow("iam:AttachRolePolicy", f"{C}:iam::{A}:role/helper"))
    assert "ops" not in run(users=[user("ops", write_only)], roles=[helper])
    can_assume = doc(allow("iam:AttachRolePolicy", f"{C}:iam::{A}:role/helper"),
                     allow("sts:AssumeRole", f"{C}:iam::{A}:role/helper"))
    assert run(users=[user("ops", can_assume)], roles=[helper])["ops"].certain


# --------------------------------------------------------------------------- takeover targets: every minter found
def _assumer_user(name: str) -> dict[str, Any]:
    return user(name, doc(allow("sts:AssumeRole", f"{C}:iam::{A}:role/mint-role")))


MINT_ROLE = role("mint-role", doc(allow(["iam:CreateServiceSpecificCredential", "iam:ResetServiceSpecificCredential"],
                                        AUDITED)))


@pytest.mark.parametrize("action", ["iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile"])
def test_takeover_of_a_user_who_mints_only_through_a_role(action):
    """A user who mints only by assuming a minting role is a minter; taking it over (a new access
    key or console password) makes the taker one too, whatever the allowed lists say."""
    helpdesk = user("helpdesk", doc(allow(action, f"{C}:iam::{A}:user/mint-assumer")))
    has_password = action == "iam:UpdateLoginProfile"
    got = run(users=[_assumer_user("mint-assumer"), helpdesk], roles=[MINT_ROLE],
              facts={"mint-assumer": UserFacts(0, has_password)})
    a = got["helpdesk"]
    assert a.certain and "mint-assumer" in a.note and "role mint-role" in a.note, a.note
    # control: the same takeover of a user who cannot assume the role mints nothing
    idle = user("mint-assumer")
    assert "helpdesk" not in run(users=[idle, helpdesk], roles=[MINT_ROLE],
                                 facts={"mint-assumer": UserFacts(0, has_password)})


def test_takeover_of_a_user_who_mints_by_its_own_escalation():
    """A user who mints after its own escalation step is in the minter set too: taking it over mints."""
    self_writer = user("writer", doc(allow("iam:PutUserPolicy", f"{C}:iam::{A}:user/writer")))
    helpdesk = user("helpdesk", doc(allow(["iam:CreateAccessKey", "iam:DeleteAccessKey"], f"{C}:iam::{A}:user/writer")))
    got = run(users=[self_writer, helpdesk])
    assert got["writer"].certain
    assert got["helpdesk"].certain and "user writer" in got["helpdesk"].note


def test_pass_a_role_that_mints_only_through_another_role():
    """Passing to a service a role that can assume a minting role makes the passer a minter."""
    fn = role("fn-role", doc(allow("sts:AssumeRole", f"{C}:iam::{A}:role/mint-role")), assume=trust("lambda.amazonaws.com"))
    dev = user("dev", doc(allow("iam:PassRole", f"{C}:iam::{A}:role/fn-role"),
                          allow(["lambda:CreateFunction", "lambda:InvokeFunction"])))
    a = run(users=[dev], roles=[MINT_ROLE, fn])["dev"]
    assert a.certain and "iam:PassRole of role fn-role" in a.note


# --------------------------------------------------------------------------- escalation to reading the secret
G = "arn:aws-us-gov"
GOV = "210987654321"
SECRET = f"{G}:secretsmanager:us-gov-west-1:{GOV}:secret:cross-partition-commercial-creds-AbCdEf"


def _gov(entity: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(entity).replace(f"{C}:iam::{A}:", f"{G}:iam::{GOV}:").replace(
        f"arn:aws:iam::{A}:", f"{G}:iam::{GOV}:"))


def readers_after_one_step(users=(), roles=(), facts=None, key=None):
    from bedrock_key_audit.access import secret_readers
    from bedrock_key_audit.escalation import escalations_to
    g = {"UserDetailList": [_gov(u) for u in users], "RoleDetailList": [_gov(r) for r in roles],
         "GroupDetailList": [], "Policies": []}
    ps = principals_from_gaad(g)

    def own(p):
        got = secret_readers([p], secret_arn=SECRET, region="us-gov-west-1", account=GOV, resource_policy=None,
                             key=key, now=NOW)
        return got[0] if got else None
    holders = secret_readers(ps, secret_arn=SECRET, region="us-gov-west-1", account=GOV, resource_policy=None,
                             key=key, now=NOW)
    esc = escalations_to(ps, holders, actions=("secretsmanager:GetSecretValue",), own=own, verb="reads the secret",
                         partition="aws-us-gov", account_id=GOV, now=NOW, gaad=g,
                         user_facts={f"{G}:iam::{GOV}:user/{n}": f for n, f in (facts or {}).items()})
    return {a.principal.rsplit("/", 1)[-1]: a for a in holders}, {a.principal.rsplit("/", 1)[-1]: a for a in esc}


READ = doc(allow(["secretsmanager:GetSecretValue", "kms:Decrypt"]))


def test_a_principal_that_writes_itself_a_read_grant_is_a_reader():
    intern = user("intern", doc(allow("iam:PutUserPolicy", f"{G}:iam::{GOV}:user/intern")))
    holders, esc = readers_after_one_step(users=[intern])
    assert "intern" not in holders
    assert esc["intern"].certain and "iam:PutUserPolicy on itself, after which it reads the secret" in esc["intern"].note
    # a write on someone else, who cannot be used, reads nothing
    other = user("intern", doc(allow("iam:PutUserPolicy", f"{G}:iam::{GOV}:user/bystander")))
    assert readers_after_one_step(users=[other, user("bystander")])[1] == {}


def test_taking_over_a_reader_is_reading():
    helpdesk = user("helpdesk", doc(allow("iam:CreateAccessKey", f"{G}:iam::{GOV}:user/reader-bot")))
    holders, esc = readers_after_one_step(users=[user("reader-bot", READ), helpdesk], facts={"reader-bot": UserFacts(0, False)})
    assert holders["reader-bot"].certain and "helpdesk" not in holders
    assert esc["helpdesk"].certain and "iam:CreateAccessKey for user reader-bot" in esc["helpdesk"].note
    # the same grant on a user that reads nothing gains nothing
    assert readers_after_one_step(users=[user("reader-bot"), helpdesk], facts={"reader-bot": UserFacts(0, False)})[1] == {}


# --------------------------------------------------------------------------- lifting its own explicit Deny
DENY_MINT = deny(["iam:CreateServiceSpecificCredential", "iam:ResetServiceSpecificCredential"])
RESET_ANY = allow("iam:ResetServiceSpecificCredential", Condition=BR)


def test_detaching_or_deleting_its_own_denying_policy():
    pa = f"{C}:iam::{A}:policy/deny-mint"
    pol = policy("deny-mint", doc(DENY_MINT))
    detach = doc(RESET_ANY, allow("iam:DetachUserPolicy", f"{C}:iam::{A}:user/dd1"))
    a = run(users=[user("dd1", detach, managed=(pa,))], policies=[pol])["dd1"]
    assert a.certain and "iam:DetachUserPolicy of deny-mint from itself (the policy holding the Deny)" in a.note
    delete = doc(RESET_ANY, allow("iam:DeleteUserPolicy", f"{C}:iam::{A}:user/dd2"))
    a = run(users=[user("dd2", delete, doc(DENY_MINT))])["dd2"]
    assert a.certain and "iam:DeleteUserPolicy of inline policy p1 of itself" in a.note
    # the Detach restricted by iam:PolicyARN to another policy, or no removal grant at all: the Deny holds
    other = doc(RESET_ANY, allow("iam:DetachUserPolicy", f"{C}:iam::{A}:user/dd1",
                                 Condition={"ArnEquals": {"iam:PolicyARN": f"{C}:iam::{A}:policy/other"}}))
    assert run(users=[user("dd1", other, managed=(pa,))], policies=[pol]) == {}
    assert run(users=[user("dd2", doc(RESET_ANY), doc(DENY_MINT))]) == {}


def test_a_deny_the_removal_does_not_reach_still_holds():
    # two denying inline policies: deleting one leaves the other
    delete = doc(RESET_ANY, allow("iam:DeleteUserPolicy", f"{C}:iam::{A}:user/dd2"))
    assert run(users=[user("dd2", delete, doc(DENY_MINT), doc(DENY_MINT))]) == {}
    # the denying policy also denies the removal
    both = doc(DENY_MINT, deny("iam:DeleteUserPolicy"))
    assert run(users=[user("dd2", delete, both)]) == {}


def test_leaving_or_emptying_its_denying_group():
    nomint = group("nomint", doc(DENY_MINT))
    leave = doc(RESET_ANY, allow("iam:RemoveUserFromGroup", f"{C}:iam::{A}:group/nomint"))
    a = run(users=[user("dd3", leave, groups=("nomint",))], groups=[nomint])["dd3"]
    assert a.certain and "iam:RemoveUserFromGroup of itself from group nomint" in a.note
    empty = doc(RESET_ANY, allow("iam:DeleteGroupPolicy", f"{C}:iam::{A}:group/nomint"))
    a = run(users=[user("dd3", empty, groups=("nomint",))], groups=[nomint])["dd3"]
    assert a.certain and "iam:DeleteGroupPolicy of inline policy p0 of group nomint of itself" in a.note
    # RemoveUserFromGroup acts on the group: a grant on the user ARN does not reach it
    wrong = doc(RESET_ANY, allow("iam:RemoveUserFromGroup", f"{C}:iam::{A}:user/dd3"))
    assert run(users=[user("dd3", wrong, groups=("nomint",))], groups=[nomint]) == {}


def test_lifting_the_deny_of_a_role_it_can_assume():
    helper = role("helper", doc(RESET_ANY), doc(DENY_MINT), assume=_trusting("ops"))
    ops = user("ops", doc(allow("iam:DeleteRolePolicy", f"{C}:iam::{A}:role/helper")))
    a = run(users=[ops], roles=[helper])["ops"]
    assert a.certain and "iam:DeleteRolePolicy of inline policy p1 of role helper" in a.note
    assert "sts:AssumeRole of role helper" in a.note
    assert "helper" not in run(users=[ops], roles=[helper])


def test_detaching_the_denying_managed_policy_of_its_group():
    pa = f"{C}:iam::{A}:policy/deny-mint"
    nomint = {**group("nomint"), "AttachedManagedPolicies": [{"PolicyName": "deny-mint", "PolicyArn": pa}]}
    detach = doc(RESET_ANY, allow("iam:DetachGroupPolicy", f"{C}:iam::{A}:group/nomint"))
    a = run(users=[user("dd3", detach, groups=("nomint",))], groups=[nomint],
            policies=[policy("deny-mint", doc(DENY_MINT))])["dd3"]
    assert a.certain and "iam:DetachGroupPolicy of deny-mint from group nomint of itself" in a.note


@pytest.mark.parametrize(("has_password", "actions", "minter"), [
    (True, ["iam:CreateLoginProfile", "iam:DeleteLoginProfile"], True),
    (None, ["iam:CreateLoginProfile", "iam:DeleteLoginProfile"], True),
    (False, ["iam:CreateLoginProfile", "iam:DeleteLoginProfile"], True),
    (True, ["iam:DeleteLoginProfile"], False),  # control: a deleted password is no new one
    (True, ["iam:CreateLoginProfile"], False)])  # control: EntityAlreadyExists
def test_delete_then_create_login_profile_takes_over_a_user_with_a_password(has_password, actions, minter):
    """DeleteLoginProfile then CreateLoginProfile replaces a console password as UpdateLoginProfile does
    (IAM API Reference, "DeleteLoginProfile", "CreateLoginProfile"): certain whatever the user holds."""
    rotator = user("rotator", doc(allow("iam:CreateServiceSpecificCredential")))
    ops = user("ops", doc(allow(actions, f"{C}:iam::{A}:user/rotator")))
    wanted: set[str] = set()
    got = run(users=[rotator, ops], facts={"rotator": UserFacts(0, has_password)} if has_password is not None else {},
              wanted=wanted)
    if not minter:
        assert "ops" not in got
    else:
        assert got["ops"].certain and "a console password for user rotator" in got["ops"].note
        assert not wanted


@pytest.mark.parametrize(("settable", "gate", "minter"), [
    ("true", "true", True),  # tag keyadmin=true, then the key gate opens (RT3 T18, MT07)
    ("true", "maybe", False),  # control: no value it may set opens the gate
    (None, "true", False)])  # control: no TagUser -- the gate reads the current tag (false)
def test_a_takeover_gated_on_the_users_tag_that_the_taker_may_set(settable, gate, minter):
    """ops may CreateAccessKey on rotator only while rotator's iam:ResourceTag/keyadmin is ``gate``, and TagUser on
    rotator with aws:RequestTag/keyadmin = ``settable``: it tags first, then takes over (IAM User Guide,
    "Controlling access to IAM principals": a user's tags are its resource tags; TagUser changes them)."""
    rotator = user("rotator", doc(allow("iam:CreateServiceSpecificCredential")))
    rotator["Tags"] = [{"Key": "keyadmin", "Value": "false"}]
    rot = f"{C}:iam::{A}:user/rotator"
    ops = user("ops", doc(allow("iam:CreateAccessKey", rot, Condition={"StringEquals": {"iam:ResourceTag/keyadmin": gate}}),
                          *([allow("iam:TagUser", rot, Condition={"StringEquals": {"aws:RequestTag/keyadmin": settable}})]
                            if settable else [])))
    got = run(users=[rotator, ops], facts={"rotator": UserFacts(0, False)})
    if not minter:
        assert "ops" not in got
    else:
        assert got["ops"].certain and "iam:TagUser of keyadmin=true on user rotator, then iam:CreateAccessKey" \
            in got["ops"].note, got["ops"].note
