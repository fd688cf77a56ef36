"""Fixers facing an SCP that stops the key: a manual step naming the SCP and its target, never an
identity-policy write (no grant to the user lifts an SCP's Deny, nor a level that allows nothing)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from bedrock_key_audit.checkcore import CheckRecord, CouldNotDecide
from bedrock_key_audit.org_policies import SCP, Level, OrgPolicies, OrgPolicy
from bedrock_key_audit.remediation.core import Context
from bedrock_key_audit.remediation.fixers.iam import fix_policy_grants_required, scp_stop
from tests.policy_docs import allow, deny, doc
from tests.unit.helpers import ACCOUNT, FakeInventory, config

LONG_TERM = {"StringEquals": {"bedrock:BearerTokenType": "LONG_TERM"}}
FULL = OrgPolicy("p-FullAWSAccess", "FullAWSAccess", SCP, doc(allow("*")))


class Inv(FakeInventory):
    def identity(self, partition: str) -> dict[str, Any]:
        return {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/auditor"}


def member(*extra: OrgPolicy, ou: tuple[OrgPolicy, ...] = (FULL,)) -> OrgPolicies:
    return OrgPolicies(ACCOUNT, True, "999988887777", (Level("r-root", "ROOT", (FULL, *extra)),
                                                      Level("ou-work", "ORGANIZATIONAL_UNIT", ou),
                                                      Level(ACCOUNT, "ACCOUNT", (FULL,))))


def ctx(org: Any) -> Context:
    return Context(None, config(), Inv(org=org), dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))  # type: ignore[arg-type]


def rec() -> CheckRecord:
    return CheckRecord(check_id="iam.policy_grants_required", title="", family="iam", severity="high", controls={},
                       nodeid="x")


def test_an_scp_denying_long_term_keys_makes_the_grants_fix_a_manual_step_naming_it() -> None:
    deny_lt = OrgPolicy("p-denylt", "DenyLongTermKeys", SCP,
                        doc(deny("bedrock:CallWithBearerToken", Sid="DenyLT", Condition=LONG_TERM)))
    steps = fix_policy_grants_required(ctx(member(deny_lt)), rec())
    assert len(steps) == 1 and steps[0].manual and not steps[0].calls, steps
    assert "SCP DenyLongTermKeys (p-denylt) attached to root r-root" in steps[0].action, steps[0].action
    assert "BedrockApiKeyLeastPrivilege" not in steps[0].action


def test_an_ou_that_allows_nothing_of_it_is_named_too() -> None:
    s3_only = OrgPolicy("p-s3only", "S3Only", SCP, doc(allow("s3:*")))
    stop = scp_stop(ctx(member(ou=(s3_only,))))
    assert stop is not None and "OU ou-work" in stop, stop


def test_no_scp_stop_when_they_allow_it_or_were_not_read() -> None:
    for org in (member(), OrgPolicies(ACCOUNT, False), CouldNotDecide("SCPs/RCPs not read: x")):
        assert scp_stop(ctx(org)) is None


def test_the_plan_for_an_scp_denied_key_writes_no_identity_policy(pytester, emu):
    """Emulator-proved: under scp_denies_long_term the grants and endpoint rows fail because of the
    SCP; the plan names it for the organization and changes nothing of the user's."""
    from tests.remediation.helpers import run as remediate

    _, cap = remediate(pytester, "--remediate=plan", scenario="scp_denies_long_term")
    for cid in ("iam.policy_grants_required", "endpoint.list_models", "endpoint.invoke"):
        assert cap.records[cid].status == "fail", (cid, cap.records[cid].detail)
        steps = [s for s in cap.plan if cid in (s.check_ids or [])]
        assert steps and all(s.manual and not s.calls for s in steps), (cid, [(s.key, s.action) for s in steps])
        assert any("SCP DenyLongTermKeys (p-" in s.action for s in steps), [s.action for s in steps]
    assert not [s for s in cap.plan if "BedrockApiKeyLeastPrivilege" in str(s.action) and not s.manual]
