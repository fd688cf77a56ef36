"""A 403 an explicit Deny or a permissions boundary causes is never "fixed" by a grant: the fixers decide from
the diagnosis (remediation/diagnosis.py) and plan a manual step naming the Deny's policy and statement, or
the boundary; a grant is planned only for a required action nothing but a missing Allow refuses."""
from __future__ import annotations

import datetime as dt
import json

from bedrock_key_audit.checkcore import CheckRecord
from bedrock_key_audit.policy import bearer_context, principal_context
from bedrock_key_audit.remediation.core import build_plan
from bedrock_key_audit.remediation.diagnosis import diagnose
from tests.remediation.helpers import USER
from tests.remediation.test_rotation_recovery import runs, state  # noqa: F401

ARN = "arn:aws:iam::123456789012:user/u"
CTX = bearer_context(principal_context("u", ARN, "123456789012", None), dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
                     requested_region="us-east-1")
REQUIRED = ["bedrock:CallWithBearerToken", "bedrock:InvokeModel"]
OPENAI = "arn:aws:bedrock:us-east-1::foundation-model/openai.gpt-oss-20b-1:0"
ALLOW = {"Statement": [{"Effect": "Allow", "Action": REQUIRED, "Resource": "*"}]}


def _resources(action: str) -> list[str]:
    return ["*"] if action == "bedrock:CallWithBearerToken" else [OPENAI]


def _diag(documents, boundary=None):
    return diagnose(documents, boundary, REQUIRED, _resources, CTX)


def test_a_deny_on_long_term_bearer_calls_is_a_blocker_naming_its_policy_and_statement():
    deny = {"Statement": [{"Sid": "NoLongTerm", "Effect": "Deny", "Action": "bedrock:CallWithBearerToken", "Resource": "*",
                           "Condition": {"StringEquals": {"bedrock:BearerTokenType": "LONG_TERM"}}}]}
    got = _diag([("managed policy A", ALLOW), ("inline policy D", deny)])
    assert got.missing == ()
    [b] = got.blockers
    assert (b.kind, b.policy, b.statement, b.actions) == ("deny", "inline policy D", "'NoLongTerm'",
                                                          ("bedrock:CallWithBearerToken",))
    assert "inline policy D statement 'NoLongTerm'" in b.sentence() and "no grant can lift it" in b.sentence()


def test_a_resource_scoped_deny_blocks_only_where_the_workload_calls():
    deny = {"Statement": [{"Effect": "Deny", "Action": "bedrock:InvokeModel",
                           "Resource": "arn:aws:bedrock:*::foundation-model/openai.*"}]}
    [b] = _diag([("managed policy A", ALLOW), ("inline policy R", deny)]).blockers
    assert (b.statement, b.actions) == ("#1", ("bedrock:InvokeModel",))
    other = {"Statement": [{**deny["Statement"][0], "Resource": "arn:aws:bedrock:*::foundation-model/meta.*"}]}
    assert _diag([("managed policy A", ALLOW), ("inline policy R", other)]).blockers == ()


def test_a_boundary_is_a_blocker_even_when_the_identity_lacks_the_action_too():
    boundary = ("permissions boundary B", {"Statement": [{"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}]})
    got = _diag([("managed policy A", {"Statement": [{"Effect": "Allow", "Action": "bedrock:InvokeModel",
                                                      "Resource": "*"}]})], boundary)
    [b] = got.blockers
    assert (b.kind, b.policy, b.actions) == ("boundary", "permissions boundary B", ("bedrock:CallWithBearerToken",))
    assert got.missing == ()


def test_a_missing_allow_alone_is_what_a_grant_fixes_and_an_undecided_deny_blocks_nothing():
    assert _diag([]).missing == tuple(REQUIRED) and _diag([]).blockers == ()
    maybe = {"Statement": [{"Effect": "Deny", "Action": "bedrock:CallWithBearerToken", "Resource": "*",
                            "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}]}
    got = _diag([("managed policy A", ALLOW), ("inline policy V", maybe)])
    assert got.blockers == () and got.missing == ()


def _rec(cid: str) -> CheckRecord:
    return CheckRecord(cid, cid, cid.split(".")[0], "high", {}, f"checks/x::{cid}", status="fail", detail="x")


def test_a_mantle_only_workload_refused_by_a_deny_gets_the_deny_named_and_no_grant(emu, runs, tmp_path):  # noqa: F811
    emu.apply("mantle_closed_by_deny")
    ctx = runs(1)
    ctx.cfg.data["endpoint"]["surfaces"] = ["mantle"]
    ctx.cfg.data["policy"]["required_actions"] = ["bedrock-mantle:CallWithBearerToken", "bedrock-mantle:CreateInference"]
    steps = build_plan(ctx, [_rec("endpoint.list_models"), _rec("endpoint.invoke"), _rec("iam.policy_grants_required")])
    assert not [s for s in steps if s.key == "iam.ensure-policy"], [(s.key, s.action) for s in steps]
    [deny] = [s for s in steps if s.key.startswith("manual:deny:")]
    assert deny.manual and "inline policy DenyMantleBearer statement #1" in deny.action, deny.action
    assert sorted(deny.check_ids) == ["endpoint.invoke", "endpoint.list_models", "iam.policy_grants_required"]
    assert not [s for s in steps if "rerun" in s.action or "choose an available model" in s.action], \
        [s.action for s in steps]
    policies = emu.client("iam").list_user_policies(UserName=USER)["PolicyNames"]
    assert json.dumps(policies) and "DenyMantleBearer" in policies  # the plan changed nothing
