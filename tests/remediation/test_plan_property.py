"""A property of every plan, over every emulator scenario.

For each scenario: one in-process ``--remediate=plan`` run (the audit and the plan), then the
plan's steps are applied directly against the same emulator -- first without
``--allow-destructive`` (destructive steps skipped), then the skipped ones with it -- and the
account is snapshotted (tests/remediation/snapshot.py) before, between and after:

1. after the non-destructive steps, every resource that existed before still exists with a
   superset of its previous state (nothing deleted, deactivated, detached, overwritten or
   narrowed without being marked destructive);
2. after the whole plan, nothing outside the targets the plan's steps list has changed.
"""
from __future__ import annotations

import pytest

from bedrock_key_audit.fixtures.aws import Aws, CallLog
from bedrock_key_audit.fixtures.config import load_config
from bedrock_key_audit.emulator import clock
from bedrock_key_audit.emulator.scenarios import SCENARIOS
from bedrock_key_audit.remediation.core import apply_plan
from bedrock_key_audit.fixtures.remediation.plugin import context_for
from tests.remediation.helpers import ROOT, point_env_at, run
from tests.remediation.snapshot import account_snapshot, changed_outside, superset_violations


def plan_then_apply(pytester, monkeypatch, emulator, scenario: str | None = None, setup=None) -> dict:
    """Plan (one audit run), apply non-destructive steps, then destructive ones; snapshots of each stage."""
    point_env_at(monkeypatch, emulator)
    seen: dict = {}

    def build(emu):
        if setup is not None:
            setup(emu)
        seen["before"] = account_snapshot(emu)

    if scenario is None:  # build the state from nothing
        emulator.reset()
        build(emulator)
        result, cap = run(pytester, "--remediate=plan")
    else:
        result, cap = run(pytester, "--remediate=plan", scenario=scenario, setup=build)
    assert "before" in seen, result.stdout.str()[-2000:]
    steps = cap.plan
    cfg = load_config(ROOT / "audit.toml")
    aws = Aws(cfg, CallLog(), emulated=True)
    entries: list[dict] = []
    apply_plan(context_for(aws, cfg, clock.now(), False), steps, lambda st, e: entries.append(e))
    seen["middle"] = account_snapshot(emulator)
    skipped = [s for s in steps if s.status == "skipped"]
    for s in skipped:
        s.status, s.message = "planned", ""
    if skipped:
        apply_plan(context_for(aws, cfg, clock.now(), True), skipped, lambda st, e: entries.append(e))
        seen["after"] = account_snapshot(emulator)
    else:
        seen["after"] = seen["middle"]
    seen.update(plan=steps, entries=entries, records=cap.records, result=result)
    return seen


def check_property(seen: dict) -> None:
    steps = seen["plan"]
    for st in steps:
        assert st.manual or st.target_list(), f"step {st.key} lists no targets"
    targets = [t for s in steps for t in s.target_list()]
    outside = changed_outside(seen["before"], seen["after"], targets)
    assert not outside, (f"changed outside the plan's targets: {outside}", targets)
    lost = superset_violations(seen["before"], seen["middle"])
    assert not lost, (f"non-destructive steps lost state: {lost}",
                      [(s.key, s.status) for s in steps if not s.destructive])


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_plan_keeps_state_and_stays_within_its_targets(pytester, monkeypatch, emulator, scenario):
    seen = plan_then_apply(pytester, monkeypatch, emulator, scenario)
    check_property(seen)
