"""The policy evaluator: Allow minus unconditional Deny, NotAction, wildcards, boundaries."""
from __future__ import annotations

import fnmatch
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bedrock_key_audit.policy import Evaluator, PolicyError, access_level, catalogue
from tests.policy_docs import allow, deny, doc



def test_catalogue_knows_the_bearer_token_action():
    assert access_level("bedrock:CallWithBearerToken") != "Unknown"
    assert access_level("iam:PassRole") == "Write" or access_level("iam:PassRole") == "Permissions management"
    assert len(catalogue()) > 10000


def test_explicit_deny_wins():
    ev = Evaluator([("a", doc(allow("bedrock:*"))), ("b", doc(deny("bedrock:CallWithBearerToken")))])
    d = ev.decide("bedrock:CallWithBearerToken")
    assert not d.allowed and d.deny_sources == ("b",)
    assert "bedrock:CallWithBearerToken" not in ev.allowed()
    assert "bedrock:InvokeModel" in ev.allowed()


def test_conditional_or_scoped_deny_does_not_remove_the_permission():
    ev = Evaluator([("a", doc(allow("bedrock:InvokeModel"),
                              deny("bedrock:InvokeModel", Condition={"Bool": {"aws:SecureTransport": "false"}}),
                              deny("bedrock:InvokeModel", resource="arn:aws:bedrock:*::foundation-model/meta.*")))])
    d = ev.decide("bedrock:InvokeModel")
    assert d.allowed and d.conditional and len(d.scoped_deny_sources) == 1


def test_not_action_allows_everything_else():
    ev = Evaluator([("a", doc({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}))])
    allowed = ev.allowed()
    assert "s3:GetObject" in allowed and "bedrock:InvokeModel" in allowed
    assert not any(a.startswith("iam:") for a in allowed)


def test_wildcard_in_the_middle_and_case():
    ev = Evaluator([("a", doc(allow("Bedrock:*Foundation*")))])
    allowed = ev.allowed()
    assert {"bedrock:ListFoundationModels", "bedrock:GetFoundationModel"} <= set(allowed)
    assert "bedrock:InvokeModel" not in allowed


def test_permissions_boundary_intersects():
    ev = Evaluator([("a", doc(allow("bedrock:*"), allow("iam:PassRole")))],
                   boundary=("b", doc(allow("bedrock:Invoke*"), allow("bedrock:CallWithBearerToken"))))
    allowed = ev.allowed()
    assert "iam:PassRole" not in allowed and "bedrock:DeleteInferenceProfile" not in allowed
    assert {"bedrock:InvokeModel", "bedrock:CallWithBearerToken"} <= set(allowed)
    assert ev.decide("bedrock:ListFoundationModels").boundary_blocks


def test_url_encoded_document_and_bad_documents():
    encoded = json.dumps(doc(allow("bedrock:InvokeModel"))).replace("{", "%7B").replace("}", "%7D").replace('"', "%22")
    assert "bedrock:InvokeModel" in Evaluator([("a", encoded)]).allowed()
    with pytest.raises(PolicyError):
        Evaluator([("a", "{not json")])
    with pytest.raises(PolicyError):
        Evaluator([("a", doc({"Effect": "Maybe", "Action": "*"}))])


def test_aws_managed_full_access_is_far_beyond_bedrock():
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    full = json.loads(aws_managed_policies_data)["AmazonBedrockFullAccess"]["Document"]
    allowed = Evaluator([("AmazonBedrockFullAccess", full)]).allowed()
    assert "iam:PassRole" in allowed
    assert {a.split(":")[0] for a in allowed} >= {"bedrock", "sagemaker", "ec2", "iam"}


# ---- property: the evaluator agrees with a brute-force reading of the same statements
SERVICES = ["bedrock", "iam", "s3", "sagemaker"]
_actions = sorted(a for a in catalogue() if a.split(":")[0] in SERVICES)


def _pattern_strategy():
    literal = st.sampled_from(_actions)
    wild = st.builds(lambda svc, stem: f"{svc}:{stem}*", st.sampled_from(SERVICES), st.sampled_from(["", "Get", "List", "Invoke", "Create", "Put", "Delete"]))
    mid = st.builds(lambda svc, part: f"{svc}:*{part}*", st.sampled_from(SERVICES), st.sampled_from(["Model", "Policy", "Bucket", "Role"]))
    return st.one_of(literal, wild, mid, st.just("*"))


statement = st.fixed_dictionaries({
    "Effect": st.sampled_from(["Allow", "Deny"]),
    "Action": st.lists(_pattern_strategy(), min_size=1, max_size=3),
    "Resource": st.just("*"),
}) | st.fixed_dictionaries({
    "Effect": st.sampled_from(["Allow", "Deny"]),
    "NotAction": st.lists(_pattern_strategy(), min_size=1, max_size=2),
    "Resource": st.just("*"),
})


def _brute(statements, action):
    def hit(s):
        if "NotAction" in s:
            return not any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in s["NotAction"])
        return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in s["Action"])
    return any(s["Effect"] == "Allow" and hit(s) for s in statements) and not any(
        s["Effect"] == "Deny" and hit(s) for s in statements)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(statement, min_size=1, max_size=4))
def test_evaluator_agrees_with_brute_force(statements):
    ev = Evaluator([("p", doc(*statements))])
    allowed = ev.allowed()
    for action in _actions:
        assert (action in allowed) == _brute(statements, action), action
