"""Keys in every request context, end to end: the audit and the emulator's Bedrock app both judge
the workload's bearer call as a direct call ("AWS global condition context keys":
``aws:ViaAWSService`` is always included, false when the principal calls itself)."""
from __future__ import annotations

import json
from typing import Any

from tests.hostile.helpers import USER, audit, expect

GR = "iam.policy_grants_required"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_a_deny_of_direct_bedrock_calls_is_seen_by_the_audit_and_the_emulator(pytester: Any) -> None:
    def setup(emu: Any) -> None:
        emu.client("iam").put_user_policy(UserName=USER, PolicyName="only-via-services", PolicyDocument=doc(
            {"Effect": "Deny", "Action": "bedrock:InvokeModel", "Resource": "*",
             "Condition": {"Bool": {"aws:ViaAWSService": "false"}}}))
    rows = audit(pytester, setup)
    expect(rows, {GR: ("fail", "bedrock:InvokeModel (denied by inline policy only-via-services)"),
                  "endpoint.invoke": ("fail", "explicit deny")})


def test_deny_unless_mfa_with_ifexists_denies_the_key_in_the_audit_and_the_emulator(pytester: Any) -> None:
    """"Deny unless MFA" written with ``BoolIfExists``: a long-term credential's call carries no
    ``aws:MultiFactorAuthPresent``, so ``...IfExists`` is true and the Deny applies -- decided, not
    undecided, and the emulator refuses the key's own calls the same way."""
    def setup(emu: Any) -> None:
        emu.client("iam").put_user_policy(UserName=USER, PolicyName="require-mfa", PolicyDocument=doc(
            {"Effect": "Deny", "Action": "bedrock:*", "Resource": "*",
             "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}))
    rows = audit(pytester, setup)
    expect(rows, {GR: ("fail", "(denied by inline policy require-mfa)"), "endpoint.invoke": ("fail", "explicit deny"),
                  "endpoint.list_models": ("fail", "explicit deny")})
