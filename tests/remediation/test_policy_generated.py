"""The auditor policy generated from the reads' declarations (bedrock_key_audit/permissions.py) is the policy
the hand-written template granted, for every option of ``bedrock-key-audit policy auditor``: the partition,
the account, the organization's statements, and configured user and secret names.  Actions within a statement
are compared as sets (the generated ones are sorted)."""
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


OPTIONS = [
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
]


@pytest.mark.parametrize("options", OPTIONS, ids=[",".join(sorted(o)) or "defaults" for o in OPTIONS])
def test_generated_auditor_policy_is_the_templates(monkeypatch: pytest.MonkeyPatch, options: dict[str, Any]) -> None:
    generated = policies.generate("auditor", **options)
    with monkeypatch.context() as m:
        m.setattr(policies, "template", policies.template_file)
        m.setattr(policies, "COMMERCIAL_ONLY", {"auditor": policies._COMMERCIAL_KEY_USER_READS | {
            "iam:GetUser", "iam:GenerateCredentialReport", "iam:GetCredentialReport"}})
        hand_written = policies.generate("auditor", **options)
    assert _normal(generated) == _normal(hand_written)
