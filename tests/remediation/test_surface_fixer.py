"""Fixer of endpoint.unused_surfaces_closed: an explicit Deny of the open surface's CallWithBearerToken,
added as an inline policy of ours (non-destructive), closes Mantle to the key."""
from __future__ import annotations

import json

from bedrock_key_audit.emulator.scenarios import USER
from bedrock_key_audit.remediation.names import SURFACE_DENY_POLICY
from tests.remediation.helpers import run


def test_open_mantle_gets_a_deny_of_its_bearer_action_and_the_row_passes(pytester, emu):
    _, cap = run(pytester, "--remediate", scenario="mantle_open")
    step = next(s for s in cap.plan if s.key == "endpoint.deny-unused-surfaces")
    assert not step.destructive and step.status == "applied", (step.status, step.message)
    assert step.check_ids == ["endpoint.unused_surfaces_closed"]
    doc = emu.client("iam").get_user_policy(UserName=USER, PolicyName=SURFACE_DENY_POLICY)["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    assert doc["Statement"] == [{"Sid": "DenyBearerCallsOnUnusedBedrockSurfaces", "Effect": "Deny",
                                 "Action": ["bedrock-mantle:CallWithBearerToken"], "Resource": "*"}]
    row = cap.records["endpoint.unused_surfaces_closed"]
    assert row.status == "pass", row.detail
    # the workload's own surface still answers
    assert cap.records["endpoint.invoke"].status == "pass", cap.records["endpoint.invoke"].detail


def test_an_existing_policy_of_that_name_is_rewritten_only_as_a_destructive_step(pytester, emu):
    other = {"Sid": "Mine", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}

    def ours_exists(emu):
        emu.client("iam").put_user_policy(UserName=USER, PolicyName=SURFACE_DENY_POLICY,
                                          PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [other]}))

    _, cap = run(pytester, "--remediate=plan", scenario="mantle_open", setup=ours_exists)
    step = next(s for s in cap.plan if s.key == "endpoint.deny-unused-surfaces")
    assert step.destructive and step.before["PolicyDocument"]["Statement"] == [other]


def test_nothing_open_means_no_change(pytester, emu):
    _, cap = run(pytester, "--remediate=plan", scenario="compliant")
    assert not [s for s in cap.plan if s.key == "endpoint.deny-unused-surfaces"]
