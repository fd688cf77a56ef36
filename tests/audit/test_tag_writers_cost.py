"""What tag_writers costs as the account grows: principals whose policies say the same share one evaluation of
each request (escalation._Judge.shared_part), so the policy evaluations grow with the number of principals, not
with the number of pairs of them (reviewer RT3: 200 users, each allowed ``iam:TagUser`` on ``*`` gated by
``aws:ResourceTag/team`` = ``${aws:PrincipalTag/team}``, took minutes).  Nothing is timed: the evaluations are
counted.  The answers are compared with sharing switched off, on an account whose principals differ in their
tags, their names (a Deny on ``aws:username``) and their boundaries, so a key that left out what tells two
principals apart would show."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bedrock_key_audit import escalation
from bedrock_key_audit.access import _evaluate, principals_from_gaad
from bedrock_key_audit.escalation import tag_reads, tag_writers
from tests.policy_docs import allow, deny, doc

A = "123456789012"
NOW = dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc)


def uarn(name: str) -> str:
    return f"arn:aws:iam::{A}:user/{name}"


def account(n: int) -> dict[str, Any]:
    users = []
    for i in range(n):
        name = f"u{i:03d}"
        statements = [
            allow("secretsmanager:GetSecretValue", "*", Condition={"StringEquals": {"aws:PrincipalTag/team": "bedrock"}}),
            allow("iam:TagUser", uarn(name), Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["costcenter"]}}),
            allow("iam:TagUser", "*", Condition={"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}",
                                                                  "aws:RequestTag/team": "web"}}),
        ]
        if i % 20 == 9:  # one refused any tagging by a Deny on its own name
            statements.append(deny("iam:TagUser", "*", Condition={"StringEquals": {"aws:username": name}}))
        user: dict[str, Any] = {"UserName": name, "UserId": f"AIDA{name.upper()}", "Arn": uarn(name), "GroupList": [],
                "AttachedManagedPolicies": [], "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": doc(*statements)}],
                "Tags": [{"Key": "team", "Value": "db" if i % 5 == 4 else "web"}, {"Key": "env", "Value": "dev"}]}
        if i % 20 == 14:  # a boundary that allows tagging only other teams' users
            user["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy",
                                           "PermissionsBoundaryArn": f"arn:aws:iam::{A}:policy/b"}
        users.append(user)
    boundary = {"PolicyName": "b", "Arn": f"arn:aws:iam::{A}:policy/b", "DefaultVersionId": "v1", "PolicyVersionList": [
        {"VersionId": "v1", "IsDefaultVersion": True, "Document": doc(
            allow("iam:TagUser", "*", Condition={"StringNotEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}),
            allow("secretsmanager:GetSecretValue", "*"))}]}
    return {"UserDetailList": users, "RoleDetailList": [], "GroupDetailList": [], "Policies": [boundary]}


def run(n: int, monkeypatch: pytest.MonkeyPatch, *, shared: bool = True) -> tuple[int, dict[str, dict[str, str]]]:
    """tag_writers on ``account(n)`` as _facts_of_tags asks it (the keys read, the reads): the number of policy
    evaluations it made, and its answer."""
    g = account(n)
    ps = principals_from_gaad(g, managed={p["Arn"]: p for p in g["Policies"]})
    count = 0
    real = _evaluate

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal count
        count += 1
        return real(*args, **kwargs)
    with monkeypatch.context() as m:
        m.setattr("bedrock_key_audit.escalation._evaluate", counted)
        if not shared:
            m.setattr(escalation._Judge, "shared_part", lambda *_: None)
        keys = ["team", "env"]
        got = tag_writers(ps, partition="aws", account_id=A, now=NOW, gaad=g, keys=keys,
                          reads=tag_reads(ps, [], keys))
    return count, got


def test_evaluations_grow_with_the_principals_not_the_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    small, _ = run(20, monkeypatch)
    large, got = run(40, monkeypatch)
    assert len(got) == 8 and len(got[uarn("u004")]) == 4  # the team db users, each taggable by 4 of them
    assert large <= 2.5 * small, (small, large)  # twice the principals: about twice the evaluations


def test_control_without_sharing_the_evaluations_grow_with_the_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    small, _ = run(20, monkeypatch, shared=False)
    large, _ = run(40, monkeypatch, shared=False)
    assert large > 3.5 * small, (small, large)  # what the test above would see if the sharing went


def test_sharing_changes_no_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    _, shared = run(23, monkeypatch)
    _, alone = run(23, monkeypatch, shared=False)
    assert shared == alone
    # the principals differ where it matters: a Deny on its own name, a boundary, another team
    assert set(shared) == {uarn("u004"), uarn("u009"), uarn("u014"), uarn("u019")}  # team db: team web is no change
    assert all(set(by) == {uarn("u004"), uarn("u019")} for by in shared.values())


def test_callers_share_an_scp_answer_only_when_the_scps_read_them_alike() -> None:
    """The SCP gate evaluates once for callers whose requests carry the same values of the keys the SCPs name;
    its answers are those of a gate asked once per caller (nothing shared)."""
    from bedrock_key_audit.org_policies import SCP
    from bedrock_key_audit.verdicts.access import _scp_gate_of
    from tests.org.test_org_bounds import COMMERCIAL, org, pol

    scps = (pol("Team", doc(deny("iam:TagUser", Condition={"StringNotEquals": {"aws:PrincipalTag/team": "web"}})), SCP),
            pol("Ops", doc(deny("iam:TagUser", Condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/ops*"}})),
                SCP))
    o = org(scps=scps, account=COMMERCIAL)
    users = {f"arn:aws:iam::{COMMERCIAL}:user/{name}": tags for name, tags in [
        ("u1", {"team": "web"}), ("u2", {"team": "web", "env": "dev"}), ("u3", {"team": "db"}), ("u4", None),
        ("ops1", {"team": "web"}), ("u5", {"team": "web"}), ("u6", {})]}
    shared = _scp_gate_of(o, account_id=COMMERCIAL, arn_partition="aws", principal_tags=users)
    assert shared is not None
    target = f"arn:aws:iam::{COMMERCIAL}:user/target"
    got = {}
    for arn, _ in users.items():
        for overlay in ({}, {"aws:RequestTag/team": "web"}):
            alone = _scp_gate_of(o, account_id=COMMERCIAL, arn_partition="aws", principal_tags=users)
            assert alone is not None
            got[arn.rsplit("/", 1)[1], bool(overlay)] = answer = shared(arn, "iam:TagUser", target, overlay)
            assert answer == alone(arn, "iam:TagUser", target, overlay)
    assert [got[n, False][0] for n in ("u1", "u2", "u5", "u3", "u6", "ops1", "u4")] == [
        True, True, True, False, False, False, None]
