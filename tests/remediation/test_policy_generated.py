"""The remediator policy generated from the remediation's declared calls and the audit's reads
(bedrock_key_audit/permissions.py) is the policy the hand-written template granted, for every option of
``bedrock-key-audit policy remediator``: the partition, the account, the organization's statements, and configured
user and secret names.  Actions within a statement are compared as sets (the generated ones are sorted).

One difference, on purpose: a GovCloud document leaves out every action the remediation calls in the commercial
partition only, as the declarations say (:func:`bedrock_key_audit.permissions.remediator_partition_only`); the
template's hand-kept list missed three of them (:data:`NOT_CALLED_IN_GOVCLOUD`), which it granted in GovCloud for
nothing.  tests/remediation/test_policies_enforced.py runs the remediation as principals holding the generated
per-partition documents."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from bedrock_key_audit import policies


def _normal(doc: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    for st in out["Statement"]:
        st["Action"] = sorted(policies._as_list(st["Action"]))
    return out


#: the least-privilege policy's name checks (iam.py ``_policy_state``; the guard's ListEntitiesForPolicy reads for IAM
#: writes, all to the commercial key user) and the invocation-log bucket's encryption (fixers/traces.py, commercial)
NOT_CALLED_IN_GOVCLOUD = frozenset({"iam:ListPolicies", "iam:ListEntitiesForPolicy", "s3:PutEncryptionConfiguration"})

OPTIONS: list[dict[str, Any]] = [
    {},
    {"partition": "commercial"}, {"partition": "govcloud"},
    {"partition": "commercial", "accounts": {"commercial": "111122223333"}},
    {"partition": "govcloud", "accounts": {"govcloud": "210987654321"}},
    {"partition": "commercial", "organization": {}}, {"partition": "govcloud", "organization": {"role_name": "Audit"}},
    {"partition": "govcloud", "organization": {}, "accounts": {"govcloud": "210987654321"}},
    {"accounts": {"commercial": "111122223333", "govcloud": "210987654321"},
     "regions": {"commercial": "us-east-1", "govcloud": "us-gov-west-1"}},
    {"user": "svc-bedrock", "secret": "prod/bedrock-key"},
    {"user": "svc-bedrock", "secret": "arn:aws-us-gov:secretsmanager:us-gov-west-1:210987654321:secret:k-AbCdEf",
     "partition": "govcloud"},
    {"user": "svc-bedrock", "partition": "commercial", "accounts": {"commercial": "111122223333"}},
]


@pytest.mark.parametrize("options", OPTIONS, ids=[",".join(sorted(o)) or "defaults" for o in OPTIONS])
def test_generated_remediator_policy_is_the_templates(monkeypatch: pytest.MonkeyPatch, options: dict[str, Any]) -> None:
    generated = policies.generate("remediator", **options)
    with monkeypatch.context() as m:
        m.setattr(policies, "template", policies.template_file)
        m.setattr(policies, "COMMERCIAL_ONLY", {"remediator": policies._COMMERCIAL_KEY_USER_READS | {
            "bedrock:PutModelInvocationLoggingConfiguration"} | NOT_CALLED_IN_GOVCLOUD})
        hand_written = policies.generate("remediator", **options)
    assert _normal(generated) == _normal(hand_written)


def test_the_generated_govcloud_remediator_leaves_out_exactly_what_the_template_granted_there_for_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    generated = set(_allowed(policies.generate("remediator", partition="govcloud")))
    with monkeypatch.context() as m:
        m.setattr(policies, "template", policies.template_file)
        m.setattr(policies, "COMMERCIAL_ONLY", {"remediator": policies._COMMERCIAL_KEY_USER_READS | {
            "bedrock:PutModelInvocationLoggingConfiguration"}})
        hand_written = set(_allowed(policies.generate("remediator", partition="govcloud")))
    assert hand_written - generated == NOT_CALLED_IN_GOVCLOUD and generated <= hand_written


def _allowed(doc: dict[str, Any]) -> list[str]:
    return [a for st in doc["Statement"] if st["Effect"] == "Allow" for a in policies._as_list(st["Action"])]
