"""Re-judging recorded evidence offline: every scenario's snapshot reproduces every row.

Each scenario is audited once in-process against the emulator (recording its snapshot), then
judged again in-process from that snapshot alone (``--replay-snapshot``: no emulator, no AWS).
The scenarios tests/audit/test_scenarios.py audits are re-judged there, from that same run; the
others here.
"""
from __future__ import annotations

import pytest

from bedrock_key_audit.emulator import scenarios
from tests.audit.helpers import rejudge_differences, replay_audit, run_audit
from tests.audit.test_scenarios import EXPECTED


def test_every_scenario_is_re_judged() -> None:
    """test_scenarios re-judges the scenarios it audits (in the same run); this file the others."""
    assert set(EXPECTED) | set(OTHERS) == set(scenarios.SCENARIOS) and not set(EXPECTED) & set(OTHERS)


OTHERS = [s for s in scenarios.SCENARIOS if s not in EXPECTED]


@pytest.mark.parametrize("scenario", OTHERS)
def test_rejudge_reproduces_every_row(pytester, scenario):
    rows = run_audit(pytester, scenario)
    assert rows["__snapshot__"] is not None
    replayed = replay_audit(pytester, rows["__snapshot__"])
    diff = rejudge_differences(rows, replayed)
    assert not diff, f"{scenario}: rows the snapshot does not reproduce (recorded, re-judged): {diff}"


ORG_CONFIG = """
[organization]
role_name = "BedrockKeyAuditRole"
external_id = "xid"
govcloud_tag = "govcloud-account-id"
"""


def test_rejudge_organization_mode_one_snapshot_per_account(pytester):
    """[organization]: the snapshot holds every account (the broken role's too) and reproduces every row."""
    def org(emu):
        from bedrock_key_audit.emulator.org_builder import build_organization

        build_organization(emu.url, 3, broken=(1,), suspended=(2,), external_id="xid")

    cfg = pytester.makefile(".toml", audit=ORG_CONFIG)
    rows = run_audit(pytester, "compliant", f"--audit-config={cfg}", setup=org)
    snap = rows["__snapshot__"]
    assert len(snap["accounts"]) >= 3 and snap["config"]["accounts"]
    replayed = replay_audit(pytester, snap)
    diff = rejudge_differences(rows, replayed)
    assert not diff, f"rows the snapshot does not reproduce (recorded, re-judged): {diff}"


def test_rejudge_fleet_mode(pytester):
    rows = run_audit(pytester, "guide", "--all-keys")
    assert rows["__snapshot__"]["fleet"] is True
    replayed = replay_audit(pytester, rows["__snapshot__"], "--all-keys")
    assert not rejudge_differences(rows, replayed)


@pytest.mark.parametrize("mode", ["--remediate=plan", "--remediate"])
def test_rejudge_a_remediate_run(pytester, mode):
    """The rows of a --remediate run are the re-audit's after the fix, judged at the re-audit's clock: the
    snapshot holds that audit's reads and that clock (--remediate=plan: the one audit's), so every row
    re-judges as recorded."""
    rows = run_audit(pytester, "guide", mode)
    snap = rows["__snapshot__"]
    assert snap["remediate"] == ("plan" if mode.endswith("plan") else "apply")
    replayed = replay_audit(pytester, snap)
    diff = rejudge_differences(rows, replayed)
    assert not diff, f"{mode}: rows the snapshot does not reproduce (recorded, re-judged): {diff}"
