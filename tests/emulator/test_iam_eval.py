"""The emulator's own IAM evaluator (fixtures/emulator/iam_eval.py), operator by operator.

Expected values follow IAM User Guide "IAM JSON policy elements: Condition operators" and
"Policy evaluation logic".
"""
from __future__ import annotations

import base64

import pytest

from bedrock_key_audit.emulator.iam_eval import condition_holds, decide, evaluate, glob_match, statement_applies

CTX = {
    "bedrock:BearerTokenType": "LONG_TERM",
    "aws:SecureTransport": "true",
    "aws:CurrentTime": "2026-11-29T12:00:00Z",
    "aws:EpochTime": "1795953600",
    "aws:RequestedRegion": "us-east-1",
    "aws:PrincipalArn": "arn:aws:iam::123456789012:user/bedrock-user",
    "aws:PrincipalAccount": "123456789012",
    "aws:PrincipalType": "User",
    "aws:username": "bedrock-user",
    "aws:userid": "AIDAEXAMPLE",
    "aws:SourceIp": "127.0.0.1",
    "test:Blob": base64.b64encode(b"\x00\x01secret").decode(),
    "aws:TagKeys": ["team", "env"],
    "test:Empty": [],
}


def holds(op, key, values, ctx=CTX):
    return condition_holds({op: {key: values}}, ctx)


@pytest.mark.parametrize("op, key, values, expected", [
    # strings
    ("StringEquals", "bedrock:BearerTokenType", "LONG_TERM", True),
    ("StringEquals", "bedrock:BearerTokenType", "long_term", False),
    ("StringEquals", "bedrock:BearerTokenType", ["SHORT_TERM", "LONG_TERM"], True),  # values ORed
    ("StringNotEquals", "bedrock:BearerTokenType", ["SHORT_TERM", "OTHER"], True),   # NOR
    ("StringNotEquals", "bedrock:BearerTokenType", ["SHORT_TERM", "LONG_TERM"], False),
    ("StringEqualsIgnoreCase", "bedrock:BearerTokenType", "long_term", True),
    ("StringNotEqualsIgnoreCase", "bedrock:BearerTokenType", "long_term", False),
    ("StringLike", "aws:PrincipalArn", "arn:aws:iam::*:user/bedrock-*", True),
    ("StringLike", "aws:username", "bedrock-use?", True),
    ("StringLike", "aws:username", "bedrock-us?", False),
    ("StringLike", "aws:username", "bedrock.user", False),  # '.' is literal
    ("StringLike", "aws:username", "Bedrock-*", False),     # case-sensitive
    ("StringNotLike", "aws:username", ["admin*", "ops*"], True),
    ("StringNotLike", "aws:username", ["admin*", "bedrock*"], False),
    # numbers
    ("NumericEquals", "aws:EpochTime", "1795953600", True),
    ("NumericNotEquals", "aws:EpochTime", "1795953600", False),
    ("NumericLessThan", "aws:EpochTime", "1795953601", True),
    ("NumericLessThan", "aws:EpochTime", "1795953600", False),
    ("NumericLessThanEquals", "aws:EpochTime", "1795953600", True),
    ("NumericGreaterThan", "aws:EpochTime", "1795953599", True),
    ("NumericGreaterThanEquals", "aws:EpochTime", "1795953601", False),
    ("NumericEquals", "aws:username", "1", False),  # not a number: no match
    # dates (ISO 8601 or epoch seconds on either side)
    ("DateEquals", "aws:CurrentTime", "2026-11-29T12:00:00Z", True),
    ("DateNotEquals", "aws:CurrentTime", "2026-11-29T12:00:00+00:00", False),
    ("DateLessThan", "aws:CurrentTime", "2027-01-01T00:00:00Z", True),
    ("DateLessThan", "aws:CurrentTime", "2026-01-01", False),
    ("DateLessThanEquals", "aws:CurrentTime", "2026-11-29T12:00:00Z", True),
    ("DateGreaterThan", "aws:CurrentTime", "1795953599", True),
    ("DateGreaterThanEquals", "aws:EpochTime", "2026-11-29T12:00:01Z", False),
    # bool, binary, ip, arn
    ("Bool", "aws:SecureTransport", "true", True),
    ("Bool", "aws:SecureTransport", True, True),
    ("Bool", "aws:SecureTransport", "false", False),
    ("BinaryEquals", "test:Blob", base64.b64encode(b"\x00\x01secret").decode(), True),
    ("BinaryEquals", "test:Blob", base64.b64encode(b"other").decode(), False),
    ("IpAddress", "aws:SourceIp", "127.0.0.0/8", True),
    ("IpAddress", "aws:SourceIp", ["10.0.0.0/8", "127.0.0.1/32"], True),
    ("IpAddress", "aws:SourceIp", "10.0.0.0/8", False),
    ("IpAddress", "aws:SourceIp", "::/0", False),  # another address family
    ("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", True),
    ("NotIpAddress", "aws:SourceIp", ["10.0.0.0/8", "127.0.0.0/8"], False),
    ("ArnEquals", "aws:PrincipalArn", "arn:aws:iam::123456789012:user/bedrock-user", True),
    ("ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:user/*", True),
    ("ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:role/*", False),
    ("ArnLike", "aws:PrincipalArn", "arn:aws-us-gov:iam::*:user/*", False),
    ("ArnLike", "aws:username", "arn:*", False),  # not an ARN
    ("ArnNotEquals", "aws:PrincipalArn", "arn:aws:iam::123456789012:user/other", True),
    ("ArnNotLike", "aws:PrincipalArn", "arn:aws:iam::123456789012:user/bedrock-*", False),
])
def test_operator(op, key, values, expected):
    assert holds(op, key, values) is expected


@pytest.mark.parametrize("op, expected", [
    ("StringEquals", False), ("StringLike", False), ("NumericLessThan", False), ("DateLessThan", False),
    ("Bool", False), ("IpAddress", False), ("ArnLike", False), ("BinaryEquals", False),
    # negated operators: nothing in the request matches, so the condition is true
    ("StringNotEquals", True), ("StringNotLike", True), ("NumericNotEquals", True), ("DateNotEquals", True),
    ("NotIpAddress", True), ("ArnNotLike", True), ("ArnNotEquals", True),
    # IfExists: an absent key passes
    ("StringEqualsIfExists", True), ("BoolIfExists", True), ("NumericLessThanIfExists", True),
    ("StringNotEqualsIfExists", True),
])
def test_absent_key(op, expected):
    assert holds(op, "aws:SourceVpc", "1") is expected


def test_if_exists_applies_the_operator_when_present():
    assert holds("StringEqualsIfExists", "bedrock:BearerTokenType", "LONG_TERM")
    assert not holds("StringEqualsIfExists", "bedrock:BearerTokenType", "SHORT_TERM")
    assert not holds("BoolIfExists", "aws:SecureTransport", "false")


def test_null():
    assert holds("Null", "aws:SourceVpc", "true") and not holds("Null", "aws:SourceVpc", "false")
    assert holds("Null", "aws:SourceIp", "false") and not holds("Null", "aws:SourceIp", "true")
    assert holds("Null", "test:Empty", "true")  # an empty set is absent
    assert holds("Null", "aws:SourceIp", ["true", "false"])  # values ORed


def test_condition_key_names_are_case_insensitive_values_are_not():
    assert holds("StringEquals", "BEDROCK:bearertokentype", "LONG_TERM")
    assert holds("stringequals", "aws:USERNAME", "bedrock-user")  # operator names too (as IAM accepts)
    assert not holds("StringEquals", "aws:username", "BEDROCK-USER")


def test_keys_and_operators_are_anded():
    both = {"StringEquals": {"bedrock:BearerTokenType": "LONG_TERM", "aws:username": "bedrock-user"},
            "Bool": {"aws:SecureTransport": "true"}}
    assert condition_holds(both, CTX)
    assert not condition_holds({**both, "Bool": {"aws:SecureTransport": "false"}}, CTX)
    assert not condition_holds({"StringEquals": {"bedrock:BearerTokenType": "LONG_TERM", "aws:username": "x"}}, CTX)


@pytest.mark.parametrize("op, values, expected", [
    ("ForAnyValue:StringEquals", ["env"], True),
    ("ForAnyValue:StringEquals", ["cost"], False),
    ("ForAllValues:StringEquals", ["team", "env", "cost"], True),
    ("ForAllValues:StringEquals", ["team"], False),
    ("ForAnyValue:StringLike", ["t*"], True),
    ("ForAllValues:StringLike", ["t*", "e?v"], True),
    ("ForAllValues:StringNotEquals", ["cost"], True),     # no request value equals a policy value
    ("ForAllValues:StringNotEquals", ["env"], False),
    ("ForAnyValue:StringNotEquals", ["env"], True),       # "team" is not "env"
    ("ForAnyValue:StringNotEquals", ["env", "team"], False),
])
def test_set_operators(op, values, expected):
    assert holds(op, "aws:TagKeys", values) is expected


@pytest.mark.parametrize("key", ["test:Empty", "aws:NoSuchKey"])
def test_set_operators_on_an_empty_or_absent_set(key):
    assert holds("ForAllValues:StringEquals", key, ["x"]) is True
    assert holds("ForAnyValue:StringEquals", key, ["x"]) is False
    assert holds("ForAllValues:StringNotEquals", key, ["x"]) is True
    assert holds("ForAnyValue:StringNotEquals", key, ["x"]) is False


def test_unknown_operator_or_qualifier_does_not_apply():
    assert not holds("StringSortOf", "aws:username", "bedrock-user")
    assert not holds("ForSomeValues:StringEquals", "aws:TagKeys", ["env"])


def test_policy_variables():
    assert holds("StringEquals", "aws:PrincipalArn", "arn:aws:iam::123456789012:user/${aws:username}")
    assert holds("StringLike", "aws:username", "${aws:username}")
    assert not holds("StringEquals", "aws:username", "${aws:nokey}")
    assert holds("StringEquals", "aws:username", "${aws:nokey, 'bedrock-user'}")
    assert glob_match("a${*}b", "a*b", ctx={}) and not glob_match("a${*}b", "axb", ctx={})
    st = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/${aws:username}/*"}
    assert statement_applies(st, "s3:GetObject", "arn:aws:s3:::bucket/bedrock-user/x", CTX)
    assert not statement_applies(st, "s3:GetObject", "arn:aws:s3:::bucket/other/x", CTX)


def test_action_case_insensitive_resource_case_sensitive():
    st = {"Effect": "Allow", "Action": "Bedrock:invoke*", "Resource": "arn:aws:bedrock:*::foundation-model/Model*"}
    assert statement_applies(st, "bedrock:InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/Model-1", CTX)
    assert not statement_applies(st, "bedrock:InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/model-1", CTX)


def test_not_action_and_not_resource():
    allow = {"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:bedrock:*::foundation-model/secret*"}
    assert statement_applies(allow, "bedrock:InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/m", CTX)
    assert not statement_applies(allow, "iam:CreateUser", "*", CTX)
    assert not statement_applies(allow, "bedrock:InvokeModel", "arn:aws:bedrock:us-east-1::foundation-model/secret1", CTX)


ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def test_evaluation_logic():
    cond_deny = {"Effect": "Deny", "Action": "bedrock:*", "Resource": "*",
                 "Condition": {"StringEquals": {"bedrock:BearerTokenType": "SHORT_TERM"}}}
    assert evaluate([{"Statement": [ALL, cond_deny]}], "bedrock:InvokeModel", "*", CTX) == "allow"
    live_deny = {**cond_deny, "Condition": {"StringEquals": {"bedrock:BearerTokenType": "LONG_TERM"}}}
    assert evaluate([{"Statement": [ALL]}, {"Statement": live_deny}], "bedrock:InvokeModel", "*", CTX) == "deny"
    assert evaluate([{"Statement": [live_deny]}], "s3:GetObject", "*", CTX) == "neutral"
    cond_allow = {**ALL, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    assert evaluate(['{"Statement": [%s]}' % __import__("json").dumps(cond_allow)], "s3:GetObject", "*", CTX) == "neutral"


def test_boundary_intersection_and_denies():
    bedrock_only = {"Statement": [{"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"}]}
    assert decide([{"Statement": [ALL]}], None, "s3:GetObject", "*", CTX).allowed
    assert decide([{"Statement": [ALL]}], [bedrock_only], "s3:GetObject", "*", CTX).reason == "no-boundary-allow"
    assert decide([{"Statement": [ALL]}], [bedrock_only], "bedrock:InvokeModel", "*", CTX).allowed
    assert decide([bedrock_only], [{"Statement": [ALL]}], "s3:GetObject", "*", CTX).reason == "no-identity-allow"
    assert decide([{"Statement": [ALL]}], [], "bedrock:InvokeModel", "*", CTX).reason == "no-boundary-allow"
    # a boundary's conditions and NotAction count
    b = {"Statement": [ALL, {"Effect": "Deny", "NotAction": "bedrock:*", "Resource": "*"},
                       {"Effect": "Deny", "Action": "bedrock:InvokeModel", "Resource": "*",
                        "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}
    assert decide([{"Statement": [ALL]}], [b], "s3:GetObject", "*", CTX).reason == "boundary-deny"
    assert decide([{"Statement": [ALL]}], [b], "bedrock:InvokeModel", "*", CTX).reason == "boundary-deny"
    assert decide([{"Statement": [ALL]}], [b], "bedrock:InvokeModel", "*", {**CTX, "aws:SourceIp": "10.1.2.3"}).allowed
    # an identity deny is reported first
    deny = {"Statement": [ALL, {"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    assert decide([deny], [b], "s3:GetObject", "*", CTX).reason == "identity-deny"
