"""Differential test: the emulator's evaluator (fixtures/emulator/iam_eval.py) against the audit's
(fixtures/policy.py ``Evaluator``) on generated policies over a fully-known bearer-call context.

The two are written independently (house rule: the emulator never imports audit code; this test
may import both).  With ``Resource: "*"`` and every condition key known, both must give AWS's
answer ("Policy evaluation logic", "IAM JSON policy elements: Condition operators"), so any
difference is a bug in one of them; the failure message prints the policy, the context and both
answers.
"""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bedrock_key_audit.emulator import iam_eval

policy_mod = pytest.importorskip("bedrock_key_audit.policy")

ACTIONS = ["bedrock:CallWithBearerToken", "bedrock:InvokeModel", "bedrock:ListFoundationModels", "s3:GetObject"]
ACTION_PATTERNS = ["*", "bedrock:*", "bedrock:Invoke*", "bedrock:InvokeModel", "bedrock:CallWithBearerToken",
                   "bedrock:List*", "s3:*", "BEDROCK:invokemodel", "bedrock:?nvokeModel", "iam:*"]

USER_ARN = "arn:aws:iam::123456789012:user/bedrock-cross-partition-user"

# key -> (operators that make sense for it, candidate policy values)
STRING_OPS = ["StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
              "StringLike", "StringNotLike"]
KEYS = {
    "bedrock:BearerTokenType": (STRING_OPS, ["LONG_TERM", "SHORT_TERM", "long_term", "LONG_*", "*_TERM", "?HORT_TERM"]),
    "aws:SecureTransport": (["Bool"] + STRING_OPS[:2], ["true", "false", "True"]),
    "aws:RequestedRegion": (STRING_OPS, ["us-east-1", "us-west-2", "us-gov-west-1", "us-*", "US-EAST-1"]),
    "aws:username": (STRING_OPS, ["bedrock-cross-partition-user", "admin", "bedrock-*", "*-user"]),
    "aws:PrincipalType": (STRING_OPS, ["User", "AssumedRole", "user"]),
    "aws:PrincipalAccount": (STRING_OPS, ["123456789012", "210987654321", "1234*"]),
    "aws:PrincipalArn": (["ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"] + STRING_OPS,
                         [USER_ARN, "arn:aws:iam::*:user/*", "arn:aws:iam::123456789012:role/*",
                          "arn:aws-us-gov:iam::*:user/*", "arn:aws:iam::123456789012:user/bedrock-*"]),
    "aws:SourceIp": (["IpAddress", "NotIpAddress"], ["127.0.0.1/32", "127.0.0.0/8", "10.0.0.0/8", "0.0.0.0/0",
                                                     "192.168.1.0/24"]),
    "aws:CurrentTime": (["DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
                         "DateGreaterThanEquals"],
                        ["2026-11-29T12:00:00Z", "2027-01-01T00:00:00Z", "2025-01-01T00:00:00Z", "1795953600"]),
    # absent from every bearer call (no VPC endpoint): the absent-key rules
    "aws:SourceVpc": (STRING_OPS, ["vpc-1", "vpc-*"]),
    "aws:EpochTime": (["NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
                       "NumericGreaterThan", "NumericGreaterThanEquals", "DateLessThan", "DateGreaterThan"],
                      ["1795953600", "1795953599", "1795953601", "0", "2026-11-29T12:00:00Z"]),
}

CONTEXTS = [
    {"bedrock:BearerTokenType": "LONG_TERM", "aws:SecureTransport": "true", "aws:RequestedRegion": region,
     "aws:username": "bedrock-cross-partition-user", "aws:PrincipalType": "User",
     "aws:PrincipalAccount": "123456789012", "aws:PrincipalArn": USER_ARN, "aws:SourceIp": ip,
     "aws:CurrentTime": "2026-11-29T12:00:00Z", "aws:EpochTime": "1795953600"}
    for region in ("us-east-1", "us-west-2") for ip in ("127.0.0.1", "10.1.2.3")
]


@st.composite
def conditions(draw):
    cond: dict = {}
    for _ in range(draw(st.integers(1, 2))):
        key = draw(st.sampled_from(sorted(KEYS)))
        ops, values = KEYS[key]
        op = draw(st.sampled_from(ops + ["Null"]))
        if op != "Null" and draw(st.integers(0, 5)) == 0:
            op += "IfExists"
        if op.startswith("String") and draw(st.integers(0, 5)) == 0:
            op = draw(st.sampled_from(["ForAnyValue:", "ForAllValues:"])) + op
        if op == "Null":
            values = ["true", "false"]
        spelled = draw(st.sampled_from([key, key.lower(), key.upper()]))
        vals = draw(st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True))
        cond.setdefault(op, {})[spelled] = vals if len(vals) > 1 else vals[0]
    return cond


@st.composite
def statements(draw):
    s: dict = {"Effect": draw(st.sampled_from(["Allow", "Deny"])), "Resource": "*"}
    pats = draw(st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3, unique=True))
    s["NotAction" if draw(st.integers(0, 4)) == 0 else "Action"] = pats if len(pats) > 1 else pats[0]
    if draw(st.booleans()):
        s["Condition"] = draw(conditions())
    return s


documents = st.lists(st.lists(statements(), min_size=1, max_size=3).map(
    lambda sts: {"Version": "2012-10-17", "Statement": sts}), min_size=1, max_size=2)


ABSENT = ["aws:SourceVpc"]


def _audit(docs, boundary, context, action):
    ctx = context
    if hasattr(policy_mod, "RequestContext"):  # the rewritten evaluator: absent keys are known absent
        ctx = policy_mod.RequestContext(context, absent=ABSENT)
    ev = policy_mod.Evaluator([(f"inline:p{i}", d) for i, d in enumerate(docs)],
                              boundary=("boundary:b", boundary) if boundary is not None else None,
                              context=ctx)
    return ev.decide(action).allowed


def _audit_decides_every_operator() -> bool:
    """main's fixtures/policy.py treats Date*/Numeric*/Ip*/Arn* conditions as unknown (a conditional grant)."""
    doc = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                          "Condition": {"DateLessThan": {"aws:CurrentTime": "2000-01-01T00:00:00Z"}}}]}
    return not _audit([doc], None, CONTEXTS[0], "s3:GetObject")


@pytest.mark.xfail(not _audit_decides_every_operator(), strict=True,
                   reason="the audit's evaluator on main leaves Date*/Numeric*/IpAddress/Arn* conditions undecided "
                          "(counts the Allow as a conditional grant) even with the key known; AWS decides them")
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(docs=documents, boundary=st.none() | documents.map(lambda ds: ds[0]), ctx=st.sampled_from(CONTEXTS))
def test_emulator_and_audit_evaluators_agree(docs, boundary, ctx):
    for action in ACTIONS:
        emulator = iam_eval.decide(docs, [boundary] if boundary is not None else None, action, "*", ctx).allowed
        audit = _audit(docs, boundary, ctx, action)
        assert emulator == audit, (
            f"action={action} emulator={emulator} audit={audit}\n"
            f"policies={json.dumps(docs)}\nboundary={json.dumps(boundary)}\ncontext={json.dumps(ctx)}")


@pytest.mark.xfail(strict=True, reason=(
    "known disagreement: a Date* condition value of fewer than 5 digits ('0') is epoch seconds to the "
    "emulator and unparseable (undecided) to the audit; AWS's Condition-operators page allows 'epoch (UNIX) "
    "time' without a minimum length, but 1-4 digit strings are also W3C ISO 8601 years (YYYY), so the docs "
    "do not settle it"))
def test_short_epoch_value_in_a_date_condition():
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
                                                    "Condition": {"DateGreaterThan": {"aws:EpochTime": "0"}}}]}
    emulator = iam_eval.decide([doc], None, "s3:GetObject", "*", CONTEXTS[0]).allowed
    ev = policy_mod.Evaluator([("inline:p", doc)], context=policy_mod.RequestContext(CONTEXTS[0], absent=ABSENT))
    assert emulator == ev.prove("s3:GetObject").allowed
