"""Differential: the audit's reader set (bedrock_key_audit.access.secret_readers, over what the
emulator answers to GetAccountAuthorizationDetails, GetResourcePolicy, GetKeyPolicy and ListGrants)
equals the set of principals of a fixed universe for which the emulator lets GetSecretValue (and the
kms:Decrypt it implies) succeed with their own credentials.

Universe: user ``alice`` and role ``app`` (assumed by alice, whose ARN its trust names) of the
secret's account, and user ``partner`` of another account whose own identity policy allows
everything (the audit cannot see an outsider's identity policies and assumes they allow).
Generated: the secret's resource policy, extra key-policy statements, an unconstrained Decrypt grant
and the identity policies of alice and app, from menus of documented patterns."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bedrock_key_audit.access import KeyAccess, principals_from_gaad, secret_readers
from tests.emulator.test_reach import (
    GOV,
    OUTSIDE,
    P,
    REGION,
    SECRET,
    can_read,
    client,
    outside_user,
    secret_and_key,
    session,
)

ALICE = f"arn:{P}:iam::{GOV}:user/alice"
APP = f"arn:{P}:iam::{GOV}:role/app"
PARTNER = f"arn:{P}:iam::{OUTSIDE}:user/partner"
GSV = "secretsmanager:GetSecretValue"


def _rp(principal: Any, effect: str = "Allow", **cond: Any) -> dict[str, Any]:
    s: dict[str, Any] = {"Effect": effect, "Principal": principal, "Action": GSV, "Resource": "*"}
    if cond:
        s["Condition"] = cond
    return s


def _kp(principal: Any, effect: str = "Allow", **cond: Any) -> dict[str, Any]:
    s: dict[str, Any] = {"Effect": effect, "Principal": principal, "Action": "kms:Decrypt", "Resource": "*"}
    if cond:
        s["Condition"] = cond
    return s


RP_MENU = [
    _rp({"AWS": OUTSIDE}),
    _rp({"AWS": PARTNER}),
    _rp({"AWS": APP}),
    _rp({"AWS": ALICE}),
    _rp("*"),
    _rp("*", StringEquals={"aws:PrincipalAccount": GOV}),
    _rp("*", StringEquals={"aws:PrincipalAccount": OUTSIDE}),
    _rp("*", "Deny", StringNotEquals={"aws:PrincipalArn": [APP, PARTNER]}),
    _rp({"AWS": f"arn:{P}:iam::{OUTSIDE}:root"}, "Deny"),
]
KP_MENU = [
    _kp({"AWS": f"arn:{P}:iam::{OUTSIDE}:root"}),
    _kp({"AWS": PARTNER}),
    _kp({"AWS": APP}),
    _kp({"AWS": "*"}, StringEquals={"kms:CallerAccount": GOV}),
    _kp({"AWS": "*"}, StringEquals={"kms:CallerAccount": OUTSIDE}),
    _kp({"AWS": PARTNER}, "Deny"),
]


def _identity(read: bool, decrypt: bool, deny: bool) -> dict[str, Any] | None:
    stmts = ([{"Effect": "Allow", "Action": GSV, "Resource": "*"}] if read else []) + \
        ([{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}] if decrypt else []) + \
        ([{"Effect": "Deny", "Action": GSV, "Resource": "*"}] if deny else [])
    return {"Version": "2012-10-17", "Statement": stmts} if stmts else None


identity = st.builds(_identity, st.booleans(), st.booleans(), st.booleans())
states = st.fixed_dictionaries({
    "rp": st.lists(st.sampled_from(RP_MENU), max_size=3, unique_by=json.dumps),
    "kp": st.lists(st.sampled_from(KP_MENU), max_size=2, unique_by=json.dumps),
    "alice": identity,
    "app": identity,
    "grant": st.sampled_from([None, ALICE, APP, PARTNER]),  # an unconstrained Decrypt grant
})


@pytest.fixture(scope="module")
def universe(emulator: Any) -> dict[str, Any]:
    emulator.reset()
    emulator.apply("compliant")
    iam = emulator.client("iam", "govcloud")
    iam.create_user(UserName="alice")
    iam.put_user_policy(UserName="alice", PolicyName="assume", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": APP}]}))
    alice = session(emulator, iam.create_access_key(UserName="alice")["AccessKey"])
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "sts:AssumeRole"}]}))
    app = session(emulator, client(emulator, alice, "sts").assume_role(RoleArn=APP, RoleSessionName="diff")["Credentials"])
    arn, key = secret_and_key(emulator)
    kms = emulator.client("kms", "govcloud")
    base_policy = kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]
    return {"emu": emulator, "arn": arn, "key": key, "base": json.loads(base_policy),
            "callers": {ALICE: alice, APP: app, PARTNER: outside_user(emulator)}}


def _apply(u: dict[str, Any], state: dict[str, Any]) -> None:
    emu = u["emu"]
    sm, kms, iam = emu.client("secretsmanager", "govcloud"), emu.client("kms", "govcloud"), emu.client("iam", "govcloud")
    if state["rp"]:
        sm.put_resource_policy(SecretId=SECRET, ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": state["rp"]}))
    else:
        sm.delete_resource_policy(SecretId=SECRET)
    kms.put_key_policy(KeyId=u["key"], PolicyName="default", Policy=json.dumps(
        {**u["base"], "Statement": [*u["base"]["Statement"], *state["kp"]]}))
    for g in kms.list_grants(KeyId=u["key"])["Grants"]:
        kms.revoke_grant(KeyId=u["key"], GrantId=g["GrantId"])
    if state["grant"]:
        kms.create_grant(KeyId=u["key"], GranteePrincipal=state["grant"], Operations=["Decrypt"])
    for name, put, delete, kw in (("alice", iam.put_user_policy, iam.delete_user_policy, "UserName"),
                                  ("app", iam.put_role_policy, iam.delete_role_policy, "RoleName")):
        if state[name] is None:
            try:
                delete(**{kw: name}, PolicyName="gen")
            except iam.exceptions.NoSuchEntityException:
                pass
        else:
            put(**{kw: name}, PolicyName="gen", PolicyDocument=json.dumps(state[name]))


def _audit(u: dict[str, Any]) -> set[str]:
    emu = u["emu"]
    iam = emu.client("iam", "govcloud")
    gaad: dict[str, list[Any]] = {k: [] for k in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")}
    for page in iam.get_paginator("get_account_authorization_details").paginate(
            Filter=["User", "Role", "Group", "LocalManagedPolicy"]):
        for k in gaad:
            gaad[k] += page.get(k, [])
    managed = {}
    for entity in gaad["UserDetailList"] + gaad["RoleDetailList"] + gaad["GroupDetailList"]:
        for a in entity.get("AttachedManagedPolicies") or []:
            pol = iam.get_policy(PolicyArn=a["PolicyArn"])["Policy"]
            managed[a["PolicyArn"]] = iam.get_policy_version(
                PolicyArn=a["PolicyArn"], VersionId=pol["DefaultVersionId"])["PolicyVersion"]["Document"]
    sm, kms = emu.client("secretsmanager", "govcloud"), emu.client("kms", "govcloud")
    key = KeyAccess(u["key"], kms.get_key_policy(KeyId=u["key"], PolicyName="default")["Policy"],
                    tuple(kms.list_grants(KeyId=u["key"])["Grants"]))
    got = secret_readers(principals_from_gaad(gaad, managed), secret_arn=u["arn"], region=REGION, account=GOV,
                         resource_policy=sm.get_resource_policy(SecretId=SECRET).get("ResourcePolicy"), key=key,
                         now=dt.datetime.now(dt.timezone.utc))
    assert all(a.certain for a in got), [a.describe() for a in got if not a.certain]
    named = {a.principal for a in got}
    # the most specific candidate the audit evaluated for partner: its ARN, else its account, else "*"
    text = json.dumps([sm.get_resource_policy(SecretId=SECRET).get("ResourcePolicy"), key.policy, key.grants])
    out = {p for p in (ALICE, APP) if p in named}
    if PARTNER in text:
        partner_reads = PARTNER in named
    elif OUTSIDE in text:
        partner_reads = f"arn:{P}:iam::{OUTSIDE}:root" in named
    else:
        partner_reads = "*" in named
    if partner_reads:
        out.add(PARTNER)
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture],
          derandomize=True)
@given(state=states)
def test_audit_readers_equal_the_emulators(universe, state):
    _apply(universe, state)
    predicted = _audit(universe)
    actual = {p for p, s in universe["callers"].items() if can_read(universe["emu"], s, universe["arn"])}
    event(f"readers: {len(actual)}")
    assert predicted == actual, state


TRUST_MENU = [
    {"AWS": ALICE}, {"AWS": f"arn:{P}:iam::{GOV}:root"}, {"AWS": OUTSIDE}, {"AWS": PARTNER}, "*",
    {"AWS": f"arn:{P}:iam::{OUTSIDE}:role/someone-else"},
]
trusts = st.fixed_dictionaries({
    "principals": st.lists(st.sampled_from(TRUST_MENU), min_size=1, max_size=2, unique_by=json.dumps),
    "condition": st.sampled_from([None, {"StringEquals": {"aws:PrincipalAccount": GOV}},
                                  {"StringEquals": {"aws:PrincipalAccount": OUTSIDE}},
                                  {"StringLike": {"aws:PrincipalArn": f"arn:{P}:iam::*:user/a*"}}]),
    "deny_partner": st.booleans(),
    "alice_may_assume": st.booleans(),
})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture],
          derandomize=True)
@given(t=trusts)
def test_audit_assumers_equal_the_emulators(universe, t):
    """bedrock_key_audit.trust.role_assumers over the role's trust policy as GAAD returns it equals
    the callers (alice, partner) the emulator lets AssumeRole."""
    import botocore.exceptions

    from bedrock_key_audit.trust import role_assumers

    emu = universe["emu"]
    iam = emu.client("iam", "govcloud")
    stmts: list[dict[str, Any]] = [{"Effect": "Allow", "Principal": p, "Action": "sts:AssumeRole",
                                    **({"Condition": t["condition"]} if t["condition"] else {})} for p in t["principals"]]
    if t["deny_partner"]:
        stmts.append({"Effect": "Deny", "Principal": {"AWS": PARTNER}, "Action": "sts:AssumeRole"})
    iam.create_role(RoleName="target", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": stmts}))
    try:
        iam.put_user_policy(UserName="alice", PolicyName="assume", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Resource": [APP] + ([f"arn:{P}:iam::{GOV}:role/target"]
                                                                         if t["alice_may_assume"] else [])}]}))
        gaad: dict[str, list[Any]] = {k: [] for k in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")}
        for page in iam.get_paginator("get_account_authorization_details").paginate(Filter=["User", "Role", "Group"]):
            for k in gaad:
                gaad[k] += page.get(k, [])
        for r in gaad["RoleDetailList"]:
            r["AttachedManagedPolicies"] = []  # the trust is what is compared here
        ps = principals_from_gaad(gaad)
        target = next(p for p in ps if p.name == "target")
        got = {a.who: a for a in role_assumers(target, ps, now=dt.datetime.now(dt.timezone.utc))}
        assert all(a.certain for a in got.values()), got
        text = json.dumps(stmts)
        predicted = {ALICE} & set(got)
        if PARTNER in text:
            partner = PARTNER in got
        elif OUTSIDE in text:
            partner = f"arn:{P}:iam::{OUTSIDE}:root" in got
        else:
            partner = "*" in got
        if partner:
            predicted.add(PARTNER)
        actual = set()
        for who in (ALICE, PARTNER):
            try:
                client(emu, universe["callers"][who], "sts").assume_role(
                    RoleArn=f"arn:{P}:iam::{GOV}:role/target", RoleSessionName="diff")
                actual.add(who)
            except botocore.exceptions.ClientError as exc:
                assert exc.response["Error"]["Code"] == "AccessDenied"
        assert predicted == actual, (t, sorted(got))
    finally:
        iam.delete_role(RoleName="target")
