"""A property of every plan, over every emulator scenario.

For each scenario: one in-process ``--remediate=plan`` run (the audit and the plan), then the
plan's steps are applied directly against the same emulator -- first without
``--allow-destructive`` (destructive steps skipped), then the skipped ones with it -- and the
account is snapshotted (tests/remediation/snapshot.py) before, between and after:

1. after the non-destructive steps, every resource that existed before still exists with a
   superset of its previous state (nothing deleted, deactivated, detached, overwritten or
   narrowed without being marked destructive);
2. after the whole plan, nothing outside the targets the plan's steps list has changed;
3. after the non-destructive steps, no IAM user, group or role can do anything it could not do
   before, beyond the actions the steps declare (``Step.grants``) where it had none, under any
   context (``bedrock_key_audit.remediation.guard.identity_widening``, whose unknown condition keys
   stay unknown): the change guard's refusals hold for every write, including the ones it made to
   resources of the run's own.
"""
from __future__ import annotations

import json

import pytest

from bedrock_key_audit.aws import Aws, CallLog
from bedrock_key_audit.config import load_config
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
    seen.update(plan=steps, entries=entries, records=cap.records, result=result, emu=emulator)
    return seen


def _documents(snap: dict, arn: str, emu) -> list[tuple[str, object]]:
    """The identity policies of the user/group/role ``arn`` in snapshot ``snap`` (AWS managed policies,
    which never change, read from the emulator)."""
    entity = snap[arn]
    docs: list[tuple[str, object]] = [(f"inline:{n}", d) for n, d in sorted(entity["inline"].items())]
    for p in entity["attached"]:
        if p in snap:
            docs.append((f"managed:{p}", json.loads(snap[p]["versions"][snap[p]["default_version"]])))
        else:
            iam = emu.client("iam")
            default = iam.get_policy(PolicyArn=p)["Policy"]["DefaultVersionId"]
            docs.append((f"managed:{p}", iam.get_policy_version(PolicyArn=p, VersionId=default)["PolicyVersion"]["Document"]))
    for g in entity.get("groups", []):
        garn = arn.split(":user/")[0] + f":group/{g}"
        if garn in snap:
            docs += [(f"group:{g}:{lab}", d) for lab, d in _documents(snap, garn, emu)]
    return docs


def widened_principals(seen: dict) -> dict[str, str]:
    from bedrock_key_audit.remediation.guard import identity_widening

    before, middle = seen["before"], seen["middle"]
    grants = [g for s in seen["plan"] if not s.destructive for g in s.grants]
    out = {}
    for arn, entity in before.items():
        if entity.get("kind") not in ("user", "group", "role") or arn not in middle:
            continue
        why = identity_widening(_documents(before, arn, seen["emu"]), _documents(middle, arn, seen["emu"]), grants)
        if why:
            out[arn] = why
    return out


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
    widened = widened_principals(seen)
    assert not widened, f"non-destructive steps widened access: {widened}"


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_plan_keeps_state_and_stays_within_its_targets(pytester, monkeypatch, emulator, scenario):
    seen = plan_then_apply(pytester, monkeypatch, emulator, scenario)
    check_property(seen)


def test_the_widening_property_sees_a_condition_dropped():
    """The third property can fail: a user whose only grant was conditioned on aws:SourceIp gains an
    unconditional one (what a plan once did), while a declared grant where there was none passes."""
    from types import SimpleNamespace

    user = "arn:aws:iam::123456789012:user/u"
    ip = {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*",
          "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}
    open_ = {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}

    def snap(*statements):
        return {user: {"kind": "user", "inline": {f"p{i}": {"Statement": [s]} for i, s in enumerate(statements)},
                       "attached": [], "groups": []}}
    step = SimpleNamespace(destructive=False, grants=["bedrock:InvokeModel"])
    seen = {"before": snap(ip), "middle": snap(ip, open_), "plan": [step], "emu": None}
    assert user in widened_principals(seen)
    seen = {"before": snap(), "middle": snap(open_), "plan": [step], "emu": None}
    assert widened_principals(seen) == {}
