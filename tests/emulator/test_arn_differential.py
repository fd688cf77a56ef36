"""Differential test: the audit's ARN matcher (``bedrock_key_audit.policy``) against the emulator's
independently written one (``emulator/iam_eval.py``: ``resource_arn_match`` for Resource /
NotResource, the ARN condition operators in ``condition_entry_holds``).

Both follow "IAM JSON policy elements: Resource" (a segment's trailing ``*`` crosses colons) and
"IAM JSON policy elements: Condition operators" (six components matched separately); any pair on
which they differ is a bug in one of them.  Pairs are generated from an ARN: a pattern derived
from it (kept, suffixed with ``*``, ``?``, an inner ``*``, cut after a trailing ``*``, a character
changed, a colon added, or
two segments joined by an inner ``*``) and tried against that ARN and against another one.
"""
from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bedrock_key_audit.emulator import iam_eval
from bedrock_key_audit.policy import Evaluator, RequestContext, evaluate_condition, match_resource

SEG = st.text(alphabet="abcxyz019-_./", min_size=0, max_size=8)


@st.composite
def arns(draw: Any) -> str:
    partition = draw(st.sampled_from(["aws", "aws-us-gov"]))
    service = draw(st.sampled_from(["secretsmanager", "bedrock", "kms", "s3"]))
    region = draw(st.sampled_from(["", "us-east-1", "us-gov-west-1"]))
    account = draw(st.sampled_from(["", "123456789012"]))
    resource = ":".join(draw(st.lists(SEG, min_size=1, max_size=3)))
    return ":".join(["arn", partition, service, region, account, resource])


@st.composite
def patterns(draw: Any, value: str) -> str:
    out = []
    for seg in value.split(":"):
        how = draw(st.sampled_from(["keep", "keep", "star", "question", "inner-star", "change", "colon", "lead-star"]))
        if how == "star":
            seg = seg[:draw(st.integers(0, len(seg)))] + "*"
        elif how == "lead-star":
            seg = "*" + seg[draw(st.integers(0, len(seg))):]
        elif how == "question" and seg:
            i = draw(st.integers(0, len(seg) - 1))
            seg = seg[:i] + "?" + seg[i + 1:]
        elif how == "inner-star" and len(seg) >= 2:
            i = draw(st.integers(1, len(seg) - 1))
            seg = seg[:i] + "*" + seg[i:]
        elif how == "change" and seg:
            i = draw(st.integers(0, len(seg) - 1))
            seg = seg[:i] + draw(st.sampled_from("aqz9:")) + seg[i + 1:]
        elif how == "colon":
            seg = seg + ":" + draw(SEG)
        out.append(seg)
        if seg.endswith("*") and draw(st.integers(0, 2)) == 0:
            break
    if len(out) >= 2 and draw(st.booleans()):
        # an inner * where a colon was: it may not take that colon (only a segment's last * may)
        i = draw(st.integers(0, len(out) - 2))
        tail = out[i + 1][draw(st.integers(0, len(out[i + 1]))):] or "x"
        out[i:i + 2] = [out[i] + "*" + tail]
    return ":".join(out)


@st.composite
def pairs(draw: Any) -> tuple[str, str]:
    value = draw(arns())
    source = draw(st.sampled_from([value, value, draw(arns())]))
    return draw(patterns(source)), value


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs())
def test_resource_rule_audit_equals_emulator(pair: tuple[str, str]) -> None:
    pattern, value = pair
    audit = match_resource(pattern, value, RequestContext({})).value
    emulator = iam_eval.resource_arn_match(pattern, value, {})
    assert audit is emulator, f"Resource {pattern!r} vs {value!r}: audit {audit}, emulator {emulator}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs(), st.sampled_from(["ArnLike", "ArnEquals", "ArnNotLike", "ArnNotEquals"]))
@example(("**", "arn:aws:secretsmanager:::"), "ArnLike")  # found by hypothesis: a pattern of stars only is "*"
def test_condition_rule_audit_equals_emulator(pair: tuple[str, str], op: str) -> None:
    pattern, value = pair
    audit = evaluate_condition(op, "aws:SourceArn", pattern, RequestContext({"aws:SourceArn": value})).value
    emulator = iam_eval.condition_entry_holds(op, "aws:SourceArn", pattern, {"aws:sourcearn": value})
    assert audit is emulator, f"{op} {pattern!r} vs {value!r}: audit {audit}, emulator {emulator}"


def test_emulator_statements_use_the_resource_rule() -> None:
    secret = "arn:aws-us-gov:secretsmanager:us-gov-west-1:210987654321:secret:k-AbCdEf"
    deny = {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": "arn:aws-us-gov:secretsmanager:*"}
    allow = {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}
    doc = {"Version": "2012-10-17", "Statement": [allow, deny]}
    assert iam_eval.evaluate([doc], "secretsmanager:GetSecretValue", secret, {}) == iam_eval.DENY
    assert iam_eval.evaluate([doc], "secretsmanager:DescribeSecret", secret, {}) == iam_eval.ALLOW
    not_res = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:*", "NotResource": "arn:aws-us-gov:secretsmanager:us-*"}]}
    assert iam_eval.evaluate([not_res], "secretsmanager:GetSecretValue", secret, {}) == iam_eval.NEUTRAL
    # a star inside a segment does not cross colons
    assert not iam_eval.resource_arn_match("arn:aws-us-gov:secretsmanager:us-*-AbCdEf", secret, {})


@st.composite
def statement_sets(draw: Any) -> tuple[list[dict[str, Any]], str]:
    """Allow/Deny statements of one action whose Resource or NotResource patterns derive from the
    requested ARN (or another), and that ARN."""
    value = draw(arns())
    statements = []
    for _ in range(draw(st.integers(1, 3))):
        element = draw(st.sampled_from(["Resource", "Resource", "NotResource"]))
        pats = [draw(patterns(draw(st.sampled_from([value, draw(arns())])))) for _ in range(draw(st.integers(1, 2)))]
        statements.append({"Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"])), "Action": "s3:GetObject",
                           element: pats})
    return statements, value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(statement_sets())
def test_whole_statements_audit_equals_emulator(case: tuple[list[dict[str, Any]], str]) -> None:
    statements, value = case
    doc = {"Version": "2012-10-17", "Statement": statements}
    audit = Evaluator([("p", doc)]).prove("s3:GetObject", [value], RequestContext({})).outcome
    emulator = iam_eval.decide([doc], None, "s3:GetObject", value, {})
    assert (audit == "allowed") is emulator.allowed, (doc, value, audit, emulator)
    assert (audit == "denied") is (emulator.reason == "identity-deny"), (doc, value, audit, emulator)
