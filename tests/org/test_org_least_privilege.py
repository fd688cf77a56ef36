"""iam.policy_least_privilege bounded by the account's SCPs, on hand-built data: an action the identity
policies grant but an SCP denies the user is not reachable, so it is no extra (named in the evidence)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.org_policies import RCP, SCP, Level, OrgPolicies, OrgPolicy
from bedrock_key_audit.verdicts import iam as v
from tests.policy_docs import allow, deny, doc
from tests.unit.helpers import ACCOUNT, USER, config, run
from tests.unit.test_iam import CFG_TOML, REQUIRED, policies

FULL = doc(allow("*"))


class Inv:
    def __init__(self, got: Any):
        self.got = got
        self.run_started = None  # the audit's clock; None: real time

    def org_policies(self, partition: str) -> OrgPolicies:
        assert partition == "commercial"
        if isinstance(self.got, Exception):
            raise self.got
        return self.got


def member(*scps: dict[str, Any]) -> OrgPolicies:
    full = (OrgPolicy("p-FullAWSAccess", "FullAWSAccess", SCP, FULL),)
    mine = tuple(OrgPolicy(f"p-{i}", f"Guard{i}", SCP, d) for i, d in enumerate(scps))
    return OrgPolicies(ACCOUNT, True, "999988887777", (
        Level("r-root", "ROOT", full, (OrgPolicy("p-RCPFullAWSAccess", "RCPFullAWSAccess", RCP, FULL),)),
        Level(ACCOUNT, "ACCOUNT", (*full, *mine))))


def evidence(rec: Any) -> dict[str, Any]:
    return next(e["data"] for e in rec.evidence if e["source"] == "effective-permissions")


def test_an_extra_the_scp_denies_is_not_counted(tmp_path: Path) -> None:
    up = policies(allow([*REQUIRED, "bedrock:GetFoundationModel", "s3:GetObject"]))
    status, text, rec = run(v.policy_least_privilege, USER, up, config(tmp_path, CFG_TOML),
                            Inv(member(doc(deny("s3:*", Sid="NoS3")))))
    assert status == "fail" and "bedrock:GetFoundationModel" in text
    assert "1 more granted action(s) are denied by the account's SCPs and not counted: s3:GetObject" in text
    assert rec.severity == "medium"  # only Bedrock extras remain reachable
    ev = evidence(rec)
    assert [e["action"] for e in ev["extra_actions"]] == ["bedrock:GetFoundationModel"]
    assert ev["removed_by_scps"][0]["action"] == "s3:GetObject" and "Guard0" in ev["removed_by_scps"][0]["why"]
    assert all(p["kind"] != "scp-denied" for p in ev["policies"])


def test_every_extra_denied_passes_naming_the_scp(tmp_path: Path) -> None:
    up = policies(allow([*REQUIRED, "s3:GetObject"]))
    status, text, _ = run(v.policy_least_privilege, USER, up, config(tmp_path, CFG_TOML),
                          Inv(member(doc(deny("s3:*", Sid="NoS3")))))
    assert status == "pass" and "s3:GetObject" in text and "SCP Guard0 (p-0)" in text


def test_a_conditional_or_resource_scoped_deny_removes_nothing(tmp_path: Path) -> None:
    up = policies(allow([*REQUIRED, "s3:GetObject"]))
    for scp in (doc(deny("s3:*", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}})),
                doc(deny("s3:*", resource="arn:aws:s3:::secret-bucket/*")),
                doc(deny("s3:*", NotResource="arn:aws:s3:::open/*"))):
        status, text, _ = run(v.policy_least_privilege, USER, up, config(tmp_path, CFG_TOML), Inv(member(scp)))
        assert status == "fail" and "s3:GetObject" in text and "not counted" not in text, scp


def test_unread_scps_count_every_grant_and_say_so(tmp_path: Path) -> None:
    up = policies(allow([*REQUIRED, "s3:GetObject"]))
    status, text, rec = run(v.policy_least_privilege, USER, up, config(tmp_path, CFG_TOML),
                            Inv(CouldNotDecide("SCPs/RCPs not read: grant organizations:ListPoliciesForTarget")))
    assert status == "fail" and "s3:GetObject" in text
    assert evidence(rec)["organization_policies"].startswith("SCPs/RCPs not read")
