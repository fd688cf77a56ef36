"""A permissions boundary that caps grants the identity already has: the endpoint rows' fix is a manual
step naming the boundary, never a grant that cannot change the answer."""
from __future__ import annotations

import json

from bedrock_key_audit.checkcore import CheckRecord
from bedrock_key_audit.remediation.core import build_plan
from tests.remediation.helpers import USER
from tests.remediation.test_rotation_recovery import runs, state  # noqa: F401


def _rec(cid: str) -> CheckRecord:
    return CheckRecord(cid, cid, cid.split(".")[0], "high", {}, f"checks/x::{cid}", status="fail", detail="x")


def test_a_boundary_capping_granted_actions_is_a_manual_step_not_a_grant(emu, runs):  # noqa: F811
    emu.apply("compliant")
    iam = emu.client("iam")
    arn = iam.create_policy(PolicyName="onprem-boundary", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))["Policy"]["Arn"]
    iam.put_user_permissions_boundary(UserName=USER, PermissionsBoundary=arn)
    steps = build_plan(runs(1), [_rec("endpoint.list_models"), _rec("endpoint.invoke")])
    keys = {s.key: s for s in steps}
    assert not any(k.startswith("iam.ensure-policy") for k in keys), list(keys)
    manual = [s for s in steps if s.key.startswith("manual:boundary:")]
    assert manual and all(s.manual and "onprem-boundary" in s.action for s in manual), [(s.key, s.action) for s in steps]
