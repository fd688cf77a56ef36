"""ARN wildcards: the audit's one ARN matcher (``bedrock_key_audit.policy.match_arn``) and every
evaluator that uses it.

AWS sources:

* IAM User Guide, "IAM JSON policy elements: Resource"
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html):
  wildcards within the colon-separated segments; "If the * wildcard is the last character of a
  resource ARN segment, it can expand to match beyond the colon boundaries".
* IAM User Guide, "IAM JSON policy elements: Condition operators", ARN condition operators
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
  "Each of the six colon-delimited components of the ARN is checked separately".

Property tests build patterns from generated ARNs (segment suffixes replaced by ``*`` or ``?``,
the pattern cut after a trailing ``*``) and check what must then hold; scenario tests put such
patterns into identity, boundary, resource and key policies, Allow and Deny.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bedrock_key_audit import iam_verdicts
from bedrock_key_audit.access import KeyAccess, key_minters, principals_from_gaad, secret_readers
from bedrock_key_audit.config import load_config
from bedrock_key_audit.inventory.models import IamUser, PolicyDoc, UserPolicies
from bedrock_key_audit.policy import (
    Evaluator, FromContext, RequestContext, Unknown, arn, evaluate_condition, match_resource,
)
from tests.policy_docs import allow, deny, doc

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EMPTY = RequestContext({})


def res(pattern: str, value: Any, ctx: RequestContext = EMPTY) -> bool | None:
    return match_resource(pattern, value, ctx).value


def arn_like(pattern: str, value: str) -> bool | None:
    return evaluate_condition("ArnLike", "aws:SourceArn", pattern, RequestContext({"aws:SourceArn": value})).value


# --------------------------------------------------------------------------- documented cases
SECRET = "arn:aws-us-gov:secretsmanager:us-gov-west-1:210987654321:secret:bedrock-key-AbCdEf"
MODEL = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0"


def test_a_trailing_star_spans_the_segments_that_follow():
    for pattern in ("arn:aws-us-gov:secretsmanager:*", "arn:aws-us-gov:secretsmanager:us-*",
                    "arn:aws-us-gov:secrets*", "arn*", "arn:aws-us-gov:secretsmanager:*:2109*"):
        assert res(pattern, SECRET) is True, pattern
    assert res("arn:aws:bedrock:*", MODEL) is True
    assert res("arn:aws:bedrock:*", SECRET) is False
    assert res("arn:aws:secretsmanager:*", SECRET) is False  # another partition


def test_a_star_inside_a_segment_stays_in_it_and_a_short_pattern_without_one_matches_nothing():
    # "us-*-1" is not the segment's last character: it cannot take the colons of the account and resource
    assert res("arn:aws-us-gov:secretsmanager:us-*-1:210987654321:secret:bedrock-key-AbCdEf", SECRET) is True
    assert res("arn:aws-us-gov:secretsmanager:us-*-AbCdEf", SECRET) is False
    assert res("arn:aws-us-gov:secretsmanager:us-gov-west-1:210987654321", SECRET) is False
    assert res("arn:aws-us-gov:secretsmanager:us-gov-?est-1:*", SECRET) is True
    assert res("arn:aws-us-gov:secretsmanager:us-gov-west-1?210987654321:*", SECRET) is False  # ? is not a colon


def test_conditions_keep_six_components_as_the_condition_operators_page_shows():
    # the Condition-operators page's own example: StringLike matches, ArnLike does not
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
    assert arn_like(pattern, value) is False
    assert res(pattern, value) is True  # the Resource element's rule would match it
    assert arn_like("arn:aws:bedrock:*", MODEL) is False  # not six components
    assert arn_like("arn:aws:bedrock:*:*:*", MODEL) is True


def test_partly_known_arns_stay_three_valued():
    model = arn("aws", "bedrock", FromContext("aws:RequestedRegion"), "", "foundation-model/x")
    assert res("arn:aws:bedrock:*", model) is True
    assert res("arn:aws:s3:*", model) is False
    got = match_resource("arn:aws:bedrock:us-*", model, EMPTY)
    assert got.value is None and got.unknown == {"aws:RequestedRegion"}
    assert res("arn:aws:bedrock:us-*", model, RequestContext({"aws:RequestedRegion": "us-east-1"})) is True
    assert res("arn:aws:bedrock:us-*", model, RequestContext({"aws:RequestedRegion": "eu-west-1"})) is False
    anything = arn("aws", "kms", FromContext("aws:RequestedRegion"), Unknown("acct"), Unknown("key"))
    assert res("arn:aws:kms:*", anything) is True
    assert res("arn:aws:kms:*:*:*", anything) is True
    assert res("arn:aws:kms:*:1*", anything) is None
    assert res("arn:aws:kms:us-east-1", anything) is False
    # an undecided match names the segments it hangs on, not every unknown one
    assert match_resource("arn:aws:kms:us-*:*:*", anything, EMPTY).unknown == {"aws:RequestedRegion"}
    assert match_resource("arn:aws:kms:*:*:key/x", anything, EMPTY).unknown == {"key"}


# --------------------------------------------------------------------------- properties
SEGMENT = st.text(alphabet="abcdefgxyz0123456789-_./", min_size=0, max_size=10)
RESOURCE_PART = st.lists(st.text(alphabet="abcdefxyz0123456789-_./", min_size=0, max_size=8), min_size=1, max_size=3)


@st.composite
def arns(draw: Any) -> str:
    partition = draw(st.sampled_from(["aws", "aws-us-gov", "aws-cn"]))
    service = draw(st.sampled_from(["secretsmanager", "bedrock", "kms", "iam", "s3"]))
    region = draw(st.sampled_from(["", "us-east-1", "us-gov-west-1", "eu-west-1"]))
    account = draw(st.sampled_from(["", "123456789012", "210987654321"]))
    return ":".join(["arn", partition, service, region, account, ":".join(draw(RESOURCE_PART))])


@st.composite
def arn_and_pattern(draw: Any) -> tuple[str, str]:
    """An ARN and a pattern that must match it: per segment keep it, end it with ``*`` (replacing a
    suffix), or put ``?`` for one character; optionally cut the pattern after a trailing ``*``."""
    value = draw(arns())
    segs = value.split(":")
    out = []
    for seg in segs:
        how = draw(st.sampled_from(["keep", "keep", "star", "question", "inner-star"]))
        if how == "star":
            seg = seg[:draw(st.integers(0, len(seg)))] + "*"
        elif how == "question" and seg:
            i = draw(st.integers(0, len(seg) - 1))
            seg = seg[:i] + "?" + seg[i + 1:]
        elif how == "inner-star" and len(seg) >= 2:
            i = draw(st.integers(1, len(seg) - 1))
            seg = seg[:i] + "*" + seg[i:]
        out.append(seg)
        if seg.endswith("*") and draw(st.booleans()):
            break  # a trailing * takes the rest, colons and all
    return value, ":".join(out)


@SETTINGS
@given(arn_and_pattern())
def test_property_patterns_built_from_an_arn_match_it(pair: tuple[str, str]) -> None:
    value, pattern = pair
    assert res(pattern, value) is True, (pattern, value)


def _literal_prefix(pattern: str) -> str:
    return re.split(r"[*?]", pattern, maxsplit=1)[0]


@SETTINGS
@given(arns(), arn_and_pattern())
def test_property_a_literal_prefix_the_arn_lacks_never_matches(value: str, pair: tuple[str, str]) -> None:
    _, pattern = pair
    got = res(pattern, value)
    if not value.startswith(_literal_prefix(pattern)):
        assert got is False, (pattern, value)
    if "*" not in pattern and "?" not in pattern:
        assert got is (pattern == value)


@SETTINGS
@given(arns(), arn_and_pattern())
def test_property_a_condition_match_is_a_resource_match(value: str, pair: tuple[str, str]) -> None:
    _, pattern = pair
    if arn_like(pattern, value):
        assert res(pattern, value) is True, (pattern, value)


HOLE_FILL = st.text(alphabet="abxyz0189-", min_size=0, max_size=6)


@SETTINGS
@given(arn_and_pattern(), st.sets(st.integers(1, 5), min_size=1, max_size=2), st.lists(HOLE_FILL, min_size=4, max_size=4))
def test_property_a_decided_match_on_a_partly_known_arn_holds_for_every_filling(
        pair: tuple[str, str], holes: set[int], fills: list[str]) -> None:
    value, pattern = pair
    segs = value.split(":", 5)
    structured = tuple(Unknown(f"segment {i}") if i in holes else s for i, s in enumerate(segs))
    got = res(pattern, structured)
    if got is None:
        return
    for k in range(3):
        filled = ":".join(fills[(i + k) % 4] if i in holes else s for i, s in enumerate(segs))
        assert res(pattern, filled) is got, (pattern, structured, filled)
    # and the filling of the original ARN itself
    assert res(pattern, value) is got


# --------------------------------------------------------------------------- evaluators
NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.timezone.utc)
USER = IamUser(name="key-user", exists=True, arn="arn:aws:iam::123456789012:user/key-user", account_id="123456789012",
               raw={"UserId": "AIDAEXAMPLEEXAMPLE01", "UserName": "key-user"})
REQUIRED = ["bedrock:CallWithBearerToken", "bedrock:InvokeModel", "bedrock:ListFoundationModels"]



def grants(tmp_path: Path, *docs: dict[str, Any], boundary: dict[str, Any] | None = None) -> Any:
    path = tmp_path / "audit.toml"
    path.write_text('[policy]\nrequired_actions = ["bedrock:CallWithBearerToken", "bedrock:InvokeModel", '
                    '"bedrock:ListFoundationModels"]\n')
    b = PolicyDoc("boundary", "b", "arn:aws:iam::123456789012:policy/b", "v1", boundary) if boundary else None
    up = UserPolicies(USER.name, [PolicyDoc("inline", f"p{i}", None, None, d) for i, d in enumerate(docs)], b, [])
    return iam_verdicts.grants_required(USER, up, load_config(path), NOW, lambda: "us-east-1", "make the secret readable")


def test_grants_required_sees_a_deny_of_bedrock_on_a_short_arn_pattern(tmp_path: Path) -> None:
    v = grants(tmp_path, doc(allow(REQUIRED)), doc({"Sid": "NoModels", **deny("bedrock:*", "arn:aws:bedrock:*")}))
    assert not v.passed and "bedrock:InvokeModel (denied by inline policy p1)" in v.message


def test_grants_required_accepts_an_allow_on_a_short_arn_pattern(tmp_path: Path) -> None:
    v = grants(tmp_path, doc(allow(["bedrock:CallWithBearerToken", "bedrock:ListFoundationModels"]),
                             allow("bedrock:InvokeModel", "arn:aws:bedrock:*")))
    assert v.passed, v.message
    # the boundary's Allow on a short pattern counts as well
    v = grants(tmp_path, doc(allow(REQUIRED)), boundary=doc(allow(["bedrock:CallWithBearerToken", "bedrock:List*"]),
                                                            allow("bedrock:Invoke*", "arn:aws:bedrock:us-*")))
    assert v.passed, v.message
    # and its Deny on one
    v = grants(tmp_path, doc(allow(REQUIRED)), boundary=doc(allow("bedrock:*"), deny("bedrock:InvokeModel", "arn:aws:bedrock:*")))
    assert not v.passed and "bedrock:InvokeModel (denied by" in v.message


def test_evaluator_prove_and_not_resource_use_the_same_rule() -> None:
    ev = Evaluator([("p", doc({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret*"}))])
    assert ev.prove("s3:GetObject", ["arn:aws:s3:::secret-bucket/a:b"]).outcome == "not_allowed"
    assert ev.prove("s3:GetObject", ["arn:aws:s3:::public/a"]).outcome == "allowed"


ACCT = "210987654321"
P = "aws-us-gov"
KEY = f"arn:{P}:kms:us-gov-west-1:{ACCT}:key/1111-2222"
ROOT = {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:{P}:iam::{ACCT}:root"}, "Action": "kms:*",
        "Resource": "*"}


def readers(roles: dict[str, list[dict[str, Any]]], key_policy: dict[str, Any] | None = None,
            resource_policy: dict[str, Any] | None = None) -> set[str]:
    g = {"UserDetailList": [], "GroupDetailList": [], "Policies": [],
         "RoleDetailList": [{"RoleName": n, "RoleId": f"AROA{n.upper()}", "Arn": f"arn:{P}:iam::{ACCT}:role/{n}",
                             "RolePolicyList": [{"PolicyName": f"p{i}", "PolicyDocument": d} for i, d in enumerate(ds)],
                             "AttachedManagedPolicies": []} for n, ds in roles.items()]}
    got = secret_readers(principals_from_gaad(g), secret_arn=SECRET.replace("210987654321", ACCT), region="us-gov-west-1",
                         account=ACCT, resource_policy=resource_policy, key=KeyAccess(KEY, key_policy or doc(ROOT)),
                         now=NOW)
    return {a.principal.rsplit("/", 1)[-1] for a in got}


def test_secret_readers_see_short_patterns_in_identity_resource_and_key_policies() -> None:
    read_all = allow(["secretsmanager:GetSecretValue", "kms:Decrypt"], [f"arn:{P}:secretsmanager:*", f"arn:{P}:kms:*"])
    assert readers({"app": [doc(read_all)]}) == {"app"}
    # an identity Deny of GetSecretValue on every secret ARN of the partition
    hide = deny("secretsmanager:GetSecretValue", f"arn:{P}:secretsmanager:*")
    assert readers({"app": [doc(read_all, hide)]}) == set()
    # a key-policy Deny of Decrypt on the partition's keys
    kp = doc(ROOT, {"Sid": "NoDecrypt", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt",
                    "Resource": f"arn:{P}:kms:*"})
    assert readers({"app": [doc(read_all)]}, key_policy=kp) == set()
    # a resource-policy Deny on a short pattern
    rp = doc({"Effect": "Deny", "Principal": "*", "Action": "secretsmanager:*", "Resource": f"arn:{P}:secretsmanager:us-*"})
    assert readers({"app": [doc(read_all)]}, resource_policy=rp) == set()
    # a pattern of another partition grants nothing
    assert readers({"app": [doc(allow(["secretsmanager:GetSecretValue", "kms:Decrypt"], "arn:aws:secretsmanager:*"))]}) == set()


def test_key_minters_see_a_short_user_pattern() -> None:
    c = "arn:aws:iam::123456789012"
    g: dict[str, Any] = {"UserDetailList": [{"UserName": "admin", "UserId": "AIDAADMIN", "Arn": f"{c}:user/admin", "UserPolicyList": [
        {"PolicyName": "p", "PolicyDocument": doc(allow("iam:CreateServiceSpecificCredential", "arn:aws:iam::*"))}]},
        {"UserName": "key-user", "UserId": "AIDAKEY", "Arn": f"{c}:user/key-user"}]}
    users: list[tuple[str, dict[str, str] | None]] = [(u["Arn"], {}) for u in g["UserDetailList"]]
    got = key_minters(principals_from_gaad(g), users=users, audited_user_arn=f"{c}:user/key-user", arn_partition="aws",
                      now=NOW)
    assert [a.principal for a in got if a.certain] == [f"{c}:user/admin"]


@pytest.mark.parametrize("pattern", ["arn:aws:bedrock:*", "arn:aws:bedrock:us-east-1:*", "arn:aws:*"])
def test_a_deny_on_a_short_pattern_removes_the_grant_it_covers(pattern: str) -> None:
    ev = Evaluator([("p", doc(allow("bedrock:InvokeModel"), deny("bedrock:InvokeModel", pattern)))])
    assert ev.prove("bedrock:InvokeModel", [MODEL]).outcome == "denied"
