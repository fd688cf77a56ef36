"""fixtures/policy.py against AWS's IAM documentation, and the two policy checks' logic.

Golden cases are the examples of these AWS IAM User Guide pages (values as printed there):

* "IAM JSON policy elements: Condition operators"
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
* "Conditions with multiple context keys or values"
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
* "Single-valued vs. multivalued context keys" and "Multivalued context key examples"
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition_examples-multi-valued-context-keys.html
* "IAM JSON policy elements: Condition" (key names are case-insensitive)
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
* "IAM policy elements: Variables and tags"
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
* "Policy evaluation logic" (one test per step)
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""
from __future__ import annotations

import base64
import copy
import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bedrock_key_audit import iam_verdicts
from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.config import ConfigError, load_config
from bedrock_key_audit.inventory.models import IamUser, PolicyDoc, UserPolicies
from bedrock_key_audit.policy import (
    Evaluator, FromContext, RequestContext, arn, evaluate_condition, evaluate_conditions, forbidden_match,
    match_resource,
)

V = "2012-10-17"


def ctx(values=None, absent=()):
    return RequestContext(values or {}, absent=absent)


def cond(op, key, expected, values=None, absent=(), variables=True):
    return evaluate_condition(op, key, expected, ctx(values, absent), variables).value


def doc(*statements):
    return {"Version": V, "Statement": list(statements)}


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


# --------------------------------------------------------------------------- "Condition operators"
def test_string_equals_principal_tag_example():
    c = ("StringEquals", "aws:PrincipalTag/job-category", "iamuser-admin")
    assert cond(*c, values={"aws:PrincipalTag/job-category": "iamuser-admin"}) is True
    assert cond(*c, values={"aws:PrincipalTag/job-category": "IAMUSER-ADMIN"}) is False  # case-sensitive
    # "If a user without the tag attempts to view or edit an access key, the condition returns false"
    assert cond(*c, absent=["aws:PrincipalTag/job-category"]) is False
    assert cond(*c) is None  # not known either way: undecided


def test_string_like_home_directory_example_with_policy_variable():
    c = ("StringLike", "s3:prefix", ["", "home/", "home/${aws:username}/"])
    assert cond(*c, values={"s3:prefix": "home/David/", "aws:username": "David"}) is True
    assert cond(*c, values={"s3:prefix": "home/Adele/", "aws:username": "David"}) is False
    assert cond(*c, values={"s3:prefix": "", "aws:username": "David"}) is True
    # the variable's key unknown: the third value cannot be resolved, the others do not match
    got = evaluate_condition(*c, ctx({"s3:prefix": "home/Adele/"}))
    assert got.value is None and got.unknown == {"aws:username"}


def test_numeric_less_than_equals_max_keys_example():
    c = ("NumericLessThanEquals", "s3:max-keys", "10")
    assert cond(*c, values={"s3:max-keys": "10"}) is True
    assert cond(*c, values={"s3:max-keys": "9.5"}) is True
    assert cond(*c, values={"s3:max-keys": "11"}) is False
    assert cond("NumericNotEquals", "s3:max-keys", ["10", "20"], values={"s3:max-keys": "20"}) is False


def test_date_greater_than_token_issue_time_example():
    c = ("DateGreaterThan", "aws:TokenIssueTime", "2020-01-01T00:00:01Z")
    assert cond(*c, values={"aws:TokenIssueTime": "2020-06-01T00:00:00Z"}) is True
    assert cond(*c, values={"aws:TokenIssueTime": "2019-12-31T23:59:59Z"}) is False
    # epoch form and W3C date-only form compare the same instants
    assert cond("DateLessThan", "aws:EpochTime", "2020-01-01", values={"aws:EpochTime": "1577836799"}) is True
    assert cond("DateEquals", "aws:CurrentTime", "1577836800", values={"aws:CurrentTime": "2020-01-01T00:00:00Z"}) is True
    # "The key is not present in ... requests that are made using access keys": the Allow does not apply
    assert cond(*c, absent=["aws:TokenIssueTime"]) is False


def test_bool_secure_transport_deny_example():
    statement = {"Sid": "BooleanExample", "Action": "s3:*", "Effect": "Deny",
                 "Resource": ["arn:aws:s3:::DOC-EXAMPLE-BUCKET", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    assert evaluate_conditions(statement["Condition"], ctx({"aws:SecureTransport": "true"})).value is False
    assert evaluate_conditions(statement["Condition"], ctx({"aws:SecureTransport": False})).value is True


def test_binary_equals_example():
    value = base64.b64encode(b"BinaryValueInBase64").decode()
    assert value == "QmluYXJ5VmFsdWVJbkJhc2U2NA=="
    assert cond("BinaryEquals", "key", "QmluYXJ5VmFsdWVJbkJhc2U2NA==", values={"key": value}) is True
    assert cond("BinaryEquals", "key", "QmluYXJ5VmFsdWVJbkJhc2U2NA==", values={"key": "b3RoZXI="}) is False


def test_ip_address_examples_ipv4_and_ipv6():
    c = ("IpAddress", "aws:SourceIp", ["203.0.113.0/24", "2001:DB8:1234:5678::/64"])
    assert cond(*c, values={"aws:SourceIp": "203.0.113.7"}) is True
    assert cond(*c, values={"aws:SourceIp": "2001:db8:1234:5678::1"}) is True
    assert cond(*c, values={"aws:SourceIp": "198.51.100.1"}) is False
    assert cond("IpAddress", "aws:SourceIp", "203.0.113.7", values={"aws:SourceIp": "203.0.113.7"}) is True  # /32
    assert cond("NotIpAddress", "aws:SourceIp", "203.0.113.0/24", values={"aws:SourceIp": "203.0.113.7"}) is False
    # a declared range wholly inside decides; straddling the policy's range does not
    assert cond(*c, values={"aws:SourceIp": "203.0.113.128/25"}) is True
    assert cond(*c, values={"aws:SourceIp": "203.0.112.0/23"}) is None


def test_arn_like_matches_segments_string_like_does_not():
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
    assert cond("StringLike", "aws:SourceArn", pattern, values={"aws:SourceArn": value}) is True
    assert cond("ArnLike", "aws:SourceArn", pattern, values={"aws:SourceArn": value}) is False
    ok = "arn:aws:someservice:us-east-2:111122223333:finance/report.txt"
    assert cond("ArnLike", "aws:SourceArn", pattern, values={"aws:SourceArn": ok}) is True
    assert cond("ArnEquals", "aws:SourceArn", pattern, values={"aws:SourceArn": ok}) is True  # "behave identically"
    assert cond("ArnNotLike", "aws:SourceArn", pattern, values={"aws:SourceArn": ok}) is False
    # "If an IAM user attempts to perform this operation directly, the condition returns false"
    assert cond("ArnEquals", "aws:SourceArn", "arn:aws:sns:REGION:123456789012:TOPIC-ID", absent=["aws:SourceArn"]) is False


def test_if_exists_run_instances_example():
    types = ["t1.*", "t2.*", "m3.*"]
    assert cond("StringLikeIfExists", "ec2:InstanceType", types, absent=["ec2:InstanceType"]) is True
    assert cond("StringLike", "ec2:InstanceType", types, absent=["ec2:InstanceType"]) is False  # THISPOLICYDOESNOTWORK
    assert cond("StringLikeIfExists", "ec2:InstanceType", types, values={"ec2:InstanceType": "m3.large"}) is True
    assert cond("StringLikeIfExists", "ec2:InstanceType", types, values={"ec2:InstanceType": "c5.large"}) is False
    # "a negated condition operator like StringNotEqualsIfExists, the request is still denied even if the tag is missing"
    assert cond("StringNotEqualsIfExists", "aws:ResourceTag/team", "blue", absent=["aws:ResourceTag/team"]) is True


def test_negated_operators_are_true_when_the_key_is_absent():
    # "If the policy condition requires that the key is not matched, such as StringNotLike or
    # ArnNotLike, and the right key is not present, the condition is true."
    for op in ("StringNotLike", "ArnNotLike", "StringNotEquals", "NotIpAddress", "NumericNotEquals", "DateNotEquals"):
        assert cond(op, "k:x", "1", absent=["k:x"]) is True, op
    for op in ("StringLike", "ArnLike", "StringEquals", "IpAddress", "NumericEquals", "DateEquals", "Bool", "BinaryEquals"):
        assert cond(op, "k:x", "1", absent=["k:x"]) is False, op


def test_null_token_issue_time_example():
    assert cond("Null", "aws:TokenIssueTime", "true", absent=["aws:TokenIssueTime"]) is True
    assert cond("Null", "aws:TokenIssueTime", "true", values={"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}) is False
    assert cond("Null", "aws:TokenIssueTime", "false", values={"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}) is True
    assert cond("Null", "aws:TokenIssueTime", "true") is None  # never assumed absent
    assert cond("NullIfExists", "aws:TokenIssueTime", "true", absent=["aws:TokenIssueTime"]) is None  # not an operator


# --------------------------------------------------------------------------- set operators
ATTRS = ["PostDateTime", "Message", "Tags"]


def test_for_all_values_dynamodb_example():
    c = ("ForAllValues:StringLike", "dynamodb:requestedAttributes", ATTRS)
    assert cond(*c, values={"dynamodb:requestedAttributes": ["PostDateTime", "Message"]}) is True
    assert cond(*c, values={"dynamodb:requestedAttributes": ["PostDateTime", "UserName"]}) is False
    # "If the key values in the request resolve to an empty data set ... ForAllValues returns true"
    assert cond(*c, values={"dynamodb:requestedAttributes": []}) is True
    assert cond(*c, absent=["dynamodb:requestedAttributes"]) is True


def test_for_any_value_dynamodb_deny_example():
    c = ("ForAnyValue:StringLike", "dynamodb:requestedAttributes", ["ID", "PostDateTime"])
    assert cond(*c, values={"dynamodb:requestedAttributes": ["UserName", "Message", "PostDateTime"]}) is True
    assert cond(*c, values={"dynamodb:requestedAttributes": ["UserName"]}) is False
    assert cond(*c, values={"dynamodb:requestedAttributes": []}) is False  # empty set: ForAnyValue false
    assert cond(*c, absent=["dynamodb:requestedAttributes"]) is False
    assert cond("ForAnyValue:StringLikeIfExists", "dynamodb:requestedAttributes", ["ID"],
                absent=["dynamodb:requestedAttributes"]) is True


@pytest.mark.parametrize("tag_keys, match", [
    (["key1:legal"], False), (["key1:hr", "key1:personnel"], False), (["key2:audit"], True), (None, True)])
def test_for_all_values_string_not_like_tag_keys_table(tag_keys, match):
    # "Multivalued context key examples": Deny with ForAllValues:StringNotLike aws:TagKeys "key1*"
    values, absent = ({"aws:TagKeys": tag_keys}, ()) if tag_keys else ({}, ["aws:TagKeys"])
    assert cond("ForAllValues:StringNotLike", "aws:TagKeys", "key1*", values=values, absent=absent) is match


def test_single_valued_operator_on_a_multivalued_key_is_undecided():
    assert cond("StringEquals", "aws:TagKeys", "a", values={"aws:TagKeys": ["a", "b"]}) is None
    assert cond("ForAnyValue:StringEquals", "aws:TagKeys", "a", values={"aws:TagKeys": "a"}) is True


# --------------------------------------------------------------------------- several keys and values
def test_keys_and_operators_anded_values_ored():
    c = {"StringEquals": {"aws:PrincipalTag/department": ["finance", "hr", "legal"],
                          "aws:PrincipalTag/role": ["audit", "security"]},
         "ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::222222222222:user/Ana", "arn:aws:iam::222222222222:user/Mary"]}}
    base = {"aws:PrincipalTag/department": "hr", "aws:PrincipalTag/role": "audit",
            "aws:PrincipalArn": "arn:aws:iam::222222222222:user/Mary"}
    assert evaluate_conditions(c, ctx(base)).value is True
    assert evaluate_conditions(c, ctx({**base, "aws:PrincipalTag/role": "dev"})).value is False
    assert evaluate_conditions(c, ctx({**base, "aws:PrincipalArn": "arn:aws:iam::222222222222:user/Bob"})).value is False
    # one key unknown, one decided false: AND is decided false
    assert evaluate_conditions(c, ctx({k: v for k, v in base.items() if k != "aws:PrincipalArn"} | {"aws:PrincipalTag/role": "dev"})).value is False
    got = evaluate_conditions(c, ctx({k: v for k, v in base.items() if k != "aws:PrincipalArn"}))
    assert got.value is None and got.unknown == {"aws:PrincipalArn"}


def test_negated_operator_values_are_nored():
    c = ("StringNotEquals", "aws:PrincipalTag/role", ["audit", "security"])
    assert cond(*c, values={"aws:PrincipalTag/role": "audit"}) is False
    assert cond(*c, values={"aws:PrincipalTag/role": "security"}) is False
    assert cond(*c, values={"aws:PrincipalTag/role": "dev"}) is True


def test_context_key_names_are_case_insensitive():
    assert cond("IpAddress", "AWS:SourceIp", "203.0.113.0/24", values={"aws:sourceip": "203.0.113.1"}) is True
    assert cond("StringEquals", "BEDROCK:bearertokentype", "LONG_TERM", values={"bedrock:BearerTokenType": "LONG_TERM"}) is True


# --------------------------------------------------------------------------- policy variables
def test_variables_defaults_special_characters_and_version():
    assert cond("StringEquals", "aws:Resource", "bucket/${aws:userid, 'anonymous'}",
                values={"aws:Resource": "bucket/anonymous"}, absent=["aws:userid"]) is True
    assert cond("StringEquals", "aws:Resource", "bucket/${aws:userid, 'anonymous'}",
                values={"aws:Resource": "bucket/anonymous"}) is None  # userid unknown, not absent
    assert cond("StringLike", "s3:prefix", "a${*}b", values={"s3:prefix": "a*b"}) is True
    assert cond("StringLike", "s3:prefix", "a${*}b", values={"s3:prefix": "axxb"}) is False  # ${*} is a literal *
    # without "Version": "2012-10-17" variables are literal text
    assert cond("StringEquals", "s3:prefix", "${aws:username}", values={"s3:prefix": "${aws:username}"}, variables=False) is True
    r = arn("aws", "s3", "", "", "mybucket/David/notes.txt")
    assert match_resource("arn:aws:s3:::mybucket/${aws:username}/*", r, ctx({"aws:username": "David"})).value is True
    assert match_resource("arn:aws:s3:::mybucket/${aws:username}/*", r, ctx({"aws:username": "Adele"})).value is False
    assert match_resource("arn:aws:s3:::mybucket/${aws:username}/*", r, ctx()).value is None


def test_resource_patterns_against_partly_known_arns():
    model = arn("aws", "bedrock", FromContext("aws:RequestedRegion"), "", "foundation-model/anthropic.claude-v2:1")
    assert match_resource("arn:aws:bedrock:*::foundation-model/*", model, ctx()).value is True
    got = match_resource("arn:aws:bedrock:us-east-1::foundation-model/*", model, ctx())
    assert got.value is None and got.unknown == {"aws:RequestedRegion"}
    assert match_resource("arn:aws:bedrock:us-east-1::foundation-model/*", model, ctx({"aws:RequestedRegion": "us-east-1"})).value is True
    assert match_resource("arn:aws:bedrock:us-west-2::foundation-model/*", model, ctx({"aws:RequestedRegion": "us-east-1"})).value is False
    assert match_resource("arn:aws:bedrock:*::foundation-model/meta.*", model, ctx()).value is False
    assert match_resource("*", "*", ctx()).value is True
    assert match_resource("arn:aws:bedrock:*:*:*", "*", ctx()).value is None  # an action without resource types


# --------------------------------------------------------------------------- "Policy evaluation logic", step by step
CWBT = "bedrock:CallWithBearerToken"
BEARER = RequestContext({"bedrock:BearerTokenType": "LONG_TERM", "aws:SecureTransport": "true"})


def test_step_implicit_deny_without_an_allow():
    ev = Evaluator([("p", doc(allow("bedrock:InvokeModel")))], context=BEARER)
    assert ev.prove(CWBT).outcome == "not_allowed" and not ev.decide(CWBT).allowed


def test_step_identity_allow_grants():
    ev = Evaluator([("p", doc(allow(CWBT)))], context=BEARER)
    assert ev.prove(CWBT).outcome == "allowed" and ev.decide(CWBT).allowed


def test_step_boundary_must_also_allow():
    ev = Evaluator([("p", doc(allow(CWBT)))], boundary=("b", doc(allow("bedrock:Invoke*"))), context=BEARER)
    p = ev.prove(CWBT)
    assert p.outcome == "not_allowed" and p.boundary_blocks and ev.decide(CWBT).boundary_blocks
    # a boundary alone grants nothing
    ev = Evaluator([], boundary=("b", doc(allow(CWBT))), context=BEARER)
    assert ev.prove(CWBT).outcome == "not_allowed" and not ev.decide(CWBT).allowed


def test_step_explicit_deny_in_any_policy_wins():
    for docs, boundary in (([("p", doc(allow(CWBT))), ("d", doc(deny(CWBT)))], None),
                           ([("p", doc(allow(CWBT)))], ("b", doc(allow("*"), deny(CWBT, Condition={
                               "StringEquals": {"bedrock:BearerTokenType": "LONG_TERM"}}))))):
        ev = Evaluator(docs, boundary=boundary, context=BEARER)
        assert ev.prove(CWBT).outcome == "denied", docs
        assert not ev.decide(CWBT).allowed and ev.decide(CWBT).deny_sources


def test_boundary_not_action_and_not_resource_are_honoured():
    ev = Evaluator([("p", doc(allow("*")))], boundary=("b", doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})))
    assert ev.decide("s3:GetObject").allowed and not ev.decide("iam:PassRole").allowed
    ev = Evaluator([("p", doc(allow("*")))], boundary=("b", doc(allow("*"), {"Effect": "Deny", "Action": "s3:*",
                                                                              "NotResource": "arn:aws:s3:::logs/*"})))
    d = ev.decide("s3:GetObject")
    assert d.allowed and d.conditional and d.scoped_deny_sources == ("b",)  # denied except on logs/*
    r = arn("aws", "s3", "", "", "other/x")
    assert ev.prove("s3:GetObject", [r]).outcome == "denied"
    assert ev.prove("s3:GetObject", [arn("aws", "s3", "", "", "logs/x")]).outcome == "allowed"


# --------------------------------------------------------------------------- properties
ACTIONS = ["bedrock:InvokeModel", "bedrock:ListFoundationModels", CWBT, "s3:GetObject", "iam:PassRole", "ec2:RunInstances"]
KEYS = ["aws:SourceIp", "aws:RequestedRegion", "bedrock:BearerTokenType", "aws:SourceVpce"]
OPS = ["StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "StringEqualsIgnoreCase",
       "IpAddress", "NotIpAddress", "Bool", "NumericLessThan", "DateGreaterThan", "ArnLike", "ArnNotEquals",
       "ForAllValues:StringEquals", "ForAnyValue:StringNotLike", "Null"]
VALUES = ["LONG_TERM", "us-east-1", "203.0.113.0/24", "vpce-1*", "true", "10", "2020-01-01", "arn:aws:*:*:*:*"]

condition = st.one_of(st.none(), st.builds(
    lambda op, key, vals, ie: {op + ("IfExists" if ie and op != "Null" else ""): {key: vals}},
    st.sampled_from(OPS), st.sampled_from(KEYS), st.lists(st.sampled_from(VALUES), min_size=1, max_size=2), st.booleans()))
resource = st.sampled_from(["*", "arn:aws:bedrock:*::foundation-model/*", "arn:aws:bedrock:us-east-1::foundation-model/meta.*",
                            "arn:aws:s3:::logs/*"])


@st.composite
def statement(draw, effect=None):
    s = {"Effect": effect or draw(st.sampled_from(["Allow", "Deny"])),
         "Action": draw(st.lists(st.sampled_from(ACTIONS + ["bedrock:*", "*", "s3:Get*"]), min_size=1, max_size=2)),
         "Resource": draw(resource)}
    c = draw(condition)
    if c:
        s["Condition"] = c
    return s


context = st.fixed_dictionaries({}, optional={k: st.sampled_from(["LONG_TERM", "us-east-1", "203.0.113.9", "vpce-1a", "true"])
                                              for k in KEYS})


def _ctx(values):
    return RequestContext(values)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(statement(), min_size=1, max_size=4), st.lists(st.sampled_from(ACTIONS + ["bedrock:*", "*"]), min_size=1, max_size=2),
       context)
def test_an_unconditional_deny_never_grows_the_allowed_set(statements, denied, values):
    before = Evaluator([("p", doc(*statements))], context=_ctx(values))
    after = Evaluator([("p", doc(*statements)), ("d", doc(deny(denied)))], context=_ctx(values))
    grown = {a for a in ACTIONS if after.decide(a).allowed and not before.decide(a).allowed}
    assert not grown
    assert all(not after.decide(a).allowed for a in ACTIONS if after.statements[-1].matches(a))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([o for o in OPS if o != "Null"]), st.sampled_from(KEYS), st.lists(st.sampled_from(VALUES), min_size=1, max_size=3),
       st.sampled_from(["present", "absent", "unknown"]), st.sampled_from(["LONG_TERM", "us-east-1", "203.0.113.9", "vpce-1a", "true", "7"]))
def test_if_exists_differs_only_when_the_key_is_absent(op, key, expected, state, actual):
    c = RequestContext({key: actual} if state == "present" else {}, absent=[key] if state == "absent" else [])
    plain = evaluate_condition(op, key, expected, c).value
    if_exists = evaluate_condition(op + "IfExists", key, expected, c).value
    if state == "absent":
        assert if_exists is True
    else:
        assert plain == if_exists


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(statement(), min_size=1, max_size=4), statement(effect="Deny"), context)
def test_adding_any_deny_never_grows_the_certainly_granted_set(statements, extra_deny, values):
    model = arn("aws", "bedrock", "us-east-1", "", "foundation-model/anthropic.claude-v2")
    requests = [(a, ["*"]) for a in ACTIONS] + [("bedrock:InvokeModel", [model])]
    before = Evaluator([("p", doc(*statements))], context=_ctx(values))
    after = Evaluator([("p", doc(*statements, extra_deny))], context=_ctx(values))
    for action, res in requests:
        if after.prove(action, res).allowed:
            assert before.prove(action, res).allowed, (action, res)


# --------------------------------------------------------------------------- forbidden policies by ARN
def test_forbidden_policies_are_matched_by_arn():
    forbidden = ["AmazonBedrockFullAccess", "arn:aws:iam::123456789012:policy/TeamAdmin"]
    assert forbidden_match("arn:aws:iam::aws:policy/AmazonBedrockFullAccess", forbidden) == "AmazonBedrockFullAccess"
    assert forbidden_match("arn:aws-us-gov:iam::aws:policy/AmazonBedrockFullAccess", forbidden) == "AmazonBedrockFullAccess"
    assert forbidden_match("arn:aws:iam::123456789012:policy/AmazonBedrockFullAccess", forbidden) is None
    assert forbidden_match("arn:aws:iam::123456789012:policy/TeamAdmin", forbidden) is not None
    assert forbidden_match("arn:aws:iam::210987654321:policy/TeamAdmin", forbidden) is None
    assert forbidden_match("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess", ["ViewOnlyAccess"]) == "ViewOnlyAccess"


# --------------------------------------------------------------------------- the two checks on hand-built objects
USER = IamUser(name="key-user", exists=True, arn="arn:aws:iam::123456789012:user/key-user", account_id="123456789012",
               raw={"UserId": "AIDAEXAMPLEEXAMPLE01", "UserName": "key-user"})
NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.timezone.utc)
REQUIRED = ["bedrock:CallWithBearerToken", "bedrock:InvokeModel", "bedrock:ListFoundationModels"]


def config(tmp_path: Path, extra: str = ""):
    path = tmp_path / "audit.toml"
    path.write_text('[policy]\nrequired_actions = ["bedrock:CallWithBearerToken", "bedrock:InvokeModel", '
                    '"bedrock:ListFoundationModels"]\n' + extra)
    return load_config(path)


def policies(*docs, boundary=None):
    out = []
    for i, d in enumerate(docs):
        if isinstance(d, PolicyDoc):
            out.append(d)
        else:
            out.append(PolicyDoc("inline", f"p{i}", None, None, d))
    return UserPolicies(USER.name, out, boundary, [d.arn for d in out if d.arn])


def grants(up, cfg, region="us-east-1"):
    return iam_verdicts.grants_required(USER, up, cfg, NOW, lambda: region, "make the secret readable")


BASE = doc(allow(REQUIRED))


def test_least_privilege_counts_a_conditional_allow_on_an_unknown_key(tmp_path):
    up = policies(BASE, doc(allow("s3:GetObject", Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})))
    v = iam_verdicts.least_privilege(USER, up, config(tmp_path))
    assert not v.passed and "s3:GetObject" in v.message and "conditional" in v.message and "aws:SourceIp" in v.message
    row = v.evidence["effective-permissions"]["extra_actions"][0]
    assert row["action"] == "s3:GetObject" and row["conditional"] and row["undecided_keys"] == ["aws:SourceIp"]


def test_least_privilege_drops_an_allow_whose_principal_condition_is_false(tmp_path):
    up = policies(BASE, doc(allow("s3:GetObject", Condition={"StringEquals": {"aws:username": "someone-else"}})))
    assert iam_verdicts.least_privilege(USER, up, config(tmp_path)).passed


def test_grants_required_errors_naming_the_unknown_key_of_a_deny(tmp_path):
    up = policies(BASE, doc({"Sid": "OnlyFromOffice", **deny("*", Condition={"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}})}))
    with pytest.raises(CouldNotDecide) as exc:
        grants(up, config(tmp_path))
    msg = str(exc.value)
    assert "aws:SourceIp" in msg and "'OnlyFromOffice'" in msg and "inline policy p1" in msg
    assert "[policy.context]" in msg and "\n" not in msg
    # the user says where calls come from: decided both ways
    assert grants(up, config(tmp_path, '[policy.context]\n"aws:SourceIp" = "203.0.113.10"\n')).passed
    v = grants(up, config(tmp_path, '[policy.context]\n"aws:SourceIp" = "198.51.100.10"\n'))
    assert not v.passed and "denied by inline policy p1" in v.message


def test_grants_required_ignores_a_deny_whose_condition_is_known_false(tmp_path):
    up = policies(BASE, doc(deny("bedrock:*", Condition={"Bool": {"aws:SecureTransport": "false"}}),
                            deny(CWBT, Condition={"StringEquals": {"bedrock:BearerTokenType": "SHORT_TERM"}})))
    v = grants(up, config(tmp_path))
    assert v.passed, v.message


def test_grants_required_absent_key_declared_by_the_user(tmp_path):
    vpce_only = doc(deny("bedrock:*", Condition={"StringNotEquals": {"aws:SourceVpce": "vpce-0abc"}}))
    up = policies(BASE, vpce_only)
    with pytest.raises(CouldNotDecide, match="aws:SourceVpce"):
        grants(up, config(tmp_path))
    v = grants(up, config(tmp_path, 'absent_context_keys = ["aws:SourceVpce"]\n'))
    assert not v.passed and "denied by" in v.message  # no VPC endpoint: the negated operator is true


def test_grants_required_region_from_secret_and_configuration(tmp_path):
    region_deny = doc(deny("bedrock:*", Condition={"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}))
    up = policies(BASE, region_deny)
    assert grants(up, config(tmp_path), region="us-east-1").passed
    assert not grants(up, config(tmp_path), region="us-west-2").passed  # the consumer calls elsewhere
    with pytest.raises(CouldNotDecide, match="make the secret readable"):
        grants(up, config(tmp_path), region=None)
    # nothing reads the region: an unreadable secret changes nothing
    assert grants(policies(BASE), config(tmp_path), region=None).passed


def test_grants_required_resource_scoped_allow_and_deny(tmp_path):
    model = "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0"
    scoped = doc(allow([CWBT, "bedrock:ListFoundationModels"]), allow("bedrock:InvokeModel", resource=model))
    assert grants(policies(scoped), config(tmp_path)).passed
    other = doc(allow([CWBT, "bedrock:ListFoundationModels"]), allow("bedrock:InvokeModel", resource="arn:aws:bedrock:*::foundation-model/meta.*"))
    v = grants(policies(other), config(tmp_path))
    assert not v.passed and "bedrock:InvokeModel (no Allow applies" in v.message
    # a Deny scoped to a resource that may be the one used counts as "may apply"
    up = policies(BASE, doc(deny("bedrock:InvokeModel", resource="arn:aws:bedrock:us-west-2::foundation-model/*")))
    with pytest.raises(CouldNotDecide, match="aws:RequestedRegion"):
        grants(up, config(tmp_path), region=None)
    assert grants(up, config(tmp_path), region="us-east-1").passed


def test_customer_policy_named_like_a_forbidden_one_is_judged_by_its_actions(tmp_path):
    cfg = config(tmp_path, 'forbidden_policies = ["AmazonBedrockFullAccess"]\n')
    customer = PolicyDoc("managed", "AmazonBedrockFullAccess", "arn:aws:iam::123456789012:policy/AmazonBedrockFullAccess",
                         "v1", BASE)
    assert iam_verdicts.least_privilege(USER, policies(customer), cfg).passed
    wide = PolicyDoc("managed", "AmazonBedrockFullAccess", "arn:aws:iam::123456789012:policy/AmazonBedrockFullAccess",
                     "v1", doc(allow(REQUIRED), allow("iam:PassRole")))
    v = iam_verdicts.least_privilege(USER, policies(wide), cfg)
    assert not v.passed and "forbidden" not in v.message and "iam:PassRole" in v.message
    aws_managed = PolicyDoc("managed", "AmazonBedrockFullAccess", "arn:aws:iam::aws:policy/AmazonBedrockFullAccess", "v1", BASE)
    v = iam_verdicts.least_privilege(USER, policies(aws_managed), cfg)
    assert not v.passed and "forbidden managed policy AmazonBedrockFullAccess attached" in v.message


def test_policy_context_config_errors(tmp_path):
    for text, words in (('[policy.context]\n"aws:RequestedRegion" = "us-east-1"\n', "derived by the audit"),
                        ('[policy.context]\n"aws:SourceIp" = "not-an-ip"\n', "not an IP address"),
                        ('[policy.context]\n"aws:SourceVpce" = "v"\n[policy]\nabsent_context_keys = ["aws:SourceVpce"]\n', "given twice")):
        path = tmp_path / "bad.toml"
        path.write_text(text)
        with pytest.raises(ConfigError, match=words):
            load_config(path)


def test_grants_required_decides_what_every_bearer_call_carries(tmp_path):
    carried = {"StringEquals": {"aws:PrincipalType": "User", "aws:PrincipalAccount": "123456789012",
                                "aws:userid": "AIDAEXAMPLEEXAMPLE01", "bedrock:BearerTokenType": "LONG_TERM"},
               "ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::${aws:PrincipalAccount}:user/${aws:username}"},
               "Bool": {"aws:SecureTransport": "true"},
               "DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"},
               "NumericGreaterThan": {"aws:EpochTime": "1700000000"}}
    assert grants(policies(doc(allow(REQUIRED, Condition=carried))), config(tmp_path)).passed
    expired = doc(allow(REQUIRED, Condition={"DateLessThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}}))
    v = grants(policies(expired), config(tmp_path))
    assert not v.passed and "no Allow applies" in v.message
    # MFA keys are absent from a call with a long-term credential: an Allow that needs MFA never applies
    mfa = doc(allow(REQUIRED, Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
    v = grants(policies(mfa), config(tmp_path))
    assert not v.passed and "no Allow applies" in v.message
    # a key no bearer call is documented to carry or lack stays undecided
    vpce = doc(allow(REQUIRED, Condition={"StringEquals": {"aws:SourceVpce": "vpce-1"}}))
    with pytest.raises(CouldNotDecide, match="aws:SourceVpce"):
        grants(policies(vpce), config(tmp_path))


@pytest.mark.parametrize("operator, value, denied", [
    ("BoolIfExists", "false", True), ("Bool", "false", False), ("NumericGreaterThanIfExists", "3600", True),
    ("NumericGreaterThan", "3600", False), ("DateLessThanIfExists", "2020-01-01T00:00:00Z", True),
    ("Null", "true", True), ("Null", "false", False)])
def test_ifexists_on_a_key_a_long_term_credential_never_carries_is_decided(tmp_path, operator, value, denied):
    """"Deny unless MFA" (``BoolIfExists aws:MultiFactorAuthPresent false``) and its kin: the MFA and
    session keys are absent from a call with the long-term key, so ``...IfExists`` is true (the Deny
    applies) and the plain operator false (it does not); never undecided."""
    key = {"Bool": "aws:MultiFactorAuthPresent", "Numeric": "aws:MultiFactorAuthAge", "Date": "aws:TokenIssueTime",
           "Null": "aws:MultiFactorAuthPresent"}[operator[:4] if operator.startswith(("Bool", "Date", "Null")) else "Numeric"]
    up = policies(doc(allow(REQUIRED), deny("bedrock:*", Condition={operator: {key: value}})))
    v = grants(up, config(tmp_path))
    assert v.passed is not denied, v.message
    if denied:
        assert "denied by" in v.message


def test_boundary_conditions_and_conditional_denies_count(tmp_path):
    boundary = PolicyDoc("boundary", "key-boundary", "arn:aws:iam::123456789012:policy/key-boundary", "v1",
                         doc(allow("bedrock:*"), {"Sid": "Vpc", **deny("bedrock:*", Condition={
                             "StringNotEqualsIfExists": {"aws:SourceVpc": "vpc-1"}})}))
    up = policies(doc(allow(REQUIRED + ["s3:GetObject"])), boundary=boundary)
    with pytest.raises(CouldNotDecide, match="permissions boundary key-boundary statement 'Vpc'.*aws:SourceVpc"):
        grants(up, config(tmp_path))
    assert grants(up, config(tmp_path, '[policy.context]\n"aws:SourceVpc" = "vpc-1"\n')).passed
    # "...IfExists": a missing key makes the condition true, so the boundary's Deny applies
    v = grants(up, config(tmp_path, 'absent_context_keys = ["aws:SourceVpc"]\n'))
    assert not v.passed and "denied by permissions boundary key-boundary" in v.message
    v = iam_verdicts.least_privilege(USER, up, config(tmp_path))
    assert v.passed, v.message  # s3:GetObject is trimmed by the boundary; the conditional Deny removes nothing


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(statement(), min_size=1, max_size=4), st.sampled_from(["2012-10-17", "2008-10-17"]),
       st.booleans(), st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=3), context)
def test_a_document_parsed_from_text_is_the_document_parsed_afresh(statements, version, encoded, actions, values):
    """``parse_document`` of JSON text (remembered per text and source) equals the parse of the same document
    as a dict, call after call, and hands each caller its own list; so do the decisions made from it."""
    import urllib.parse

    from bedrock_key_audit.policy import parse_document

    document = {"Version": version, "Statement": statements}
    text = json.dumps(document)
    text = urllib.parse.quote(text) if encoded else text
    direct = parse_document(copy.deepcopy(document), "p")
    first, second = parse_document(text, "p"), parse_document(text, "p")
    assert first == direct and second == direct and first is not second
    first.clear()
    assert parse_document(text, "p") == direct
    from_text, from_dict = Evaluator([("p", text)], context=_ctx(values)), Evaluator([("p", document)], context=_ctx(values))
    for a in actions:
        assert from_text.decide(a) == from_dict.decide(a)
        assert from_text.prove(a) == from_dict.prove(a)


_ACTION_PATTERNS = ["*", "bedrock:*", "bedrock:Invoke*", "s3:Get*", "s3:?etObject", "iam:*Role*", "iam:Pass[RS]ole",
                    "BEDROCK:invokemodel", "ec2:*Instances", "bedrock-mantle:*", "*:List*", "s3:*Object*Tag*"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_ACTION_PATTERNS), max_size=4), st.booleans(),
       st.lists(st.sampled_from(ACTIONS + ["s3:PutObjectTagging", "iam:PassSole", "ec2:ListThings", "kms:Decrypt"]),
                min_size=1, max_size=6),
       st.lists(st.sampled_from(["*", "**", "", "arn:aws:s3:::b/*"]), max_size=2), st.booleans())
def test_a_statement_matches_as_its_patterns_one_by_one(patterns, negated, actions, resources, not_resource):
    """``Statement.matches`` (its patterns as one regex) answers as matching each pattern in turn, and the
    remembered resource answers equal a fresh reading of the same fields."""
    import fnmatch
    import re

    from bedrock_key_audit.policy import Statement

    s = Statement(effect="Allow", actions=() if negated else tuple(patterns), not_actions=tuple(patterns) if negated else (),
                  resources=() if not_resource else tuple(resources), not_resources=tuple(resources) if not_resource else (),
                  has_condition=False, source="p")

    def one_by_one(a: str) -> bool:
        hit = any(re.match(fnmatch.translate(p.lower()), a.lower()) for p in patterns)
        return not hit if negated and patterns else hit

    for a in actions:
        assert s.matches(a) == one_by_one(a)
    fresh = dataclasses.replace(s)
    for _ in range(2):
        assert s.all_resources == (not fresh.not_resources and any(p and set(p) == {"*"} for p in fresh.resources))
        assert s.some_resource == (not any(p and set(p) == {"*"} for p in fresh.not_resources) if fresh.not_resources
                                   else bool(fresh.resources))
