"""An interrupted rotation converges on the next run.

Run 1 rotates the key of ``key_expiring_soon`` and stops at one point: killed (no rollback runs, the
process is gone), or one write denied or throttled past its retries.  Run 2 (a fresh context that reads
run 1's journal, as the plugin's next run does) plans from the credential rows and applies with
``--allow-destructive``.  After run 2: exactly one Active key, held by ``AWSCURRENT`` (its version id
names it and Bedrock accepts it), no ``AWSPENDING`` label, no key of run 1 left, and every key run 1
made is named in run 2's action log.

Real signals (SIGTERM/SIGKILL to a subprocess) are in ``test_rotation_signals.py``; these in-process
kills stop the same code at the same points, fast.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bedrock_key_audit.emulator import aws_faults
from bedrock_key_audit.aws import Aws, CallLog
from bedrock_key_audit.checkcore import CheckRecord
from bedrock_key_audit.config import load_config
from bedrock_key_audit.emulator import clock
from bedrock_key_audit.inventory.reader import Inventory
from bedrock_key_audit.remediation import core, journal, rotation
from bedrock_key_audit.remediation import fixers as _fixers  # noqa: F401 -- registers the fixers
from bedrock_key_audit.remediation.core import Context, apply_plan, build_plan
from tests.remediation.helpers import SECRET, USER, current_key_answers, point_env_at
from tests.keyscan import holds_key_head

ROWS = ("credential.unexpired", "credential.single_active")


class Killed(BaseException):
    """The process died here: nothing after this line of the run happens (not even the rollback)."""


@pytest.fixture
def runs(emu, monkeypatch, tmp_path):
    point_env_at(monkeypatch, emu)
    monkeypatch.setattr(rotation, "EMULATED_DELAY", 0.0)
    made: list[Context] = []

    def make(n: int, destructive: bool = True) -> Context:
        cfg = load_config(None)
        aws = Aws(cfg, CallLog(), emulated=True)
        ctx = Context(aws, cfg, Inventory(aws, cfg), clock.now(), allow_destructive=destructive)
        earlier = [tmp_path / f"run{i}" for i in range(1, n)]
        ctx.journal = journal.Journal(tmp_path / f"run{n}", earlier)
        made.append(ctx)
        return ctx
    yield make
    for c in made:
        c.inv.g.close()


def records(ctx: Context) -> list[CheckRecord]:
    return [CheckRecord(cid, cid, "credential", "high", {}, f"checks/x::{cid}", status="fail", detail="")
            for cid in ROWS]


def run(ctx: Context) -> tuple[list[core.Step], list[dict[str, Any]]]:
    entries: list[dict[str, Any]] = []
    steps = build_plan(ctx, records(ctx))
    apply_plan(ctx, steps, lambda s, e: entries.append(e))
    assert not holds_key_head(json.dumps(entries, default=str))
    return steps, entries


def state(emu) -> dict[str, Any]:
    iam = emu.client("iam")
    creds = {c["ServiceSpecificCredentialId"]: c["Status"] for c in
             iam.list_service_specific_credentials(UserName=USER)["ServiceSpecificCredentials"]}
    stages = emu.client("secretsmanager", "govcloud").describe_secret(SecretId=SECRET)["VersionIdsToStages"]
    return {"creds": creds, "stages": stages}


def assert_converged(emu, before: dict[str, Any], after_crash: dict[str, Any], entries: list[dict[str, Any]],
                     ctx: Context) -> None:
    now = state(emu)
    active = [c for c, s in now["creds"].items() if s == "Active"]
    assert len(active) == 1, now["creds"]
    current = next(v for v, s in now["stages"].items() if "AWSCURRENT" in s)
    assert rotation.credential_of_version(current, active) == active[0], (current, active)
    assert not [v for v, s in now["stages"].items() if "AWSPENDING" in s], now["stages"]
    assert current_key_answers(emu) == 200
    # nothing orphaned: besides the Active key, only keys that existed before run 1 remain
    assert set(now["creds"]) - set(before["creds"]) == set(active)
    # nothing unnamed: every key run 1 left is named in run 2's action log, or (the key it committed) in
    # run 1's journal, which outlives a killed process's action log
    logged = json.dumps(entries, default=str)
    journaled = json.dumps(ctx.journal.events())
    assert not holds_key_head(journaled)
    for cid in set(after_crash["creds"]) - set(before["creds"]):
        assert cid in logged or (cid in journaled and cid == active[0]), \
            f"credential {cid} left by run 1 is named neither in run 2's action log nor in run 1's journal"


def kill_after(ctx: Context, monkeypatch, operation: str, when=lambda params: True) -> None:
    """The call goes through (AWS did it), then the process dies before it hears the answer."""
    original = ctx.call

    def call(service, partition, op, **params):
        out = original(service, partition, op, **params)
        if op == operation and when(params):
            raise Killed(op)
        return out
    monkeypatch.setattr(ctx, "call", call)


def kill_at_checkpoint(monkeypatch, step: str) -> None:
    def checkpoint(name: str) -> None:
        if name == step:
            raise Killed(name)
    monkeypatch.setattr(rotation, "checkpoint", checkpoint)
    monkeypatch.setattr(rotation, "_rollback", lambda *a, **k: (_ for _ in ()).throw(Killed("no rollback")))


KILL_POINTS = [
    ("checkpoint", "create_key"), ("checkpoint", "write_pending"), ("checkpoint", "verify"),
    ("checkpoint", "promote"), ("checkpoint", "retire_old"),
    ("after", "CreateServiceSpecificCredential"), ("after", "PutSecretValue"),
    ("after", "UpdateSecretVersionStage"), ("after", "UpdateServiceSpecificCredential"),
]


@pytest.mark.parametrize("how,where", KILL_POINTS, ids=[f"{h}-{w}" for h, w in KILL_POINTS])
def test_a_killed_rotation_converges_on_the_next_run(emu, runs, monkeypatch, how, where):
    emu.apply("key_expiring_soon")
    before = state(emu)
    ctx1 = runs(1)
    with monkeypatch.context() as m:
        if how == "checkpoint":
            kill_at_checkpoint(m, where)
        else:
            kill_after(ctx1, m, where)
            m.setattr(rotation, "_rollback", lambda *a, **k: (_ for _ in ()).throw(Killed("no rollback")))
        with pytest.raises(Killed):
            run(ctx1)
    after_crash = state(emu)
    ctx2 = runs(2)
    steps, entries = run(ctx2)
    assert all(s.status in ("applied", "manual") for s in steps if not s.key.startswith("waived")), \
        [(s.key, s.status, s.message) for s in steps]
    assert not [s for s in steps if s.manual], [(s.key, s.action) for s in steps if s.manual]
    assert "another workload" not in json.dumps([s.action for s in steps])
    assert_converged(emu, before, after_crash, entries, ctx2)


WRITES = ["CreateServiceSpecificCredential", "PutSecretValue", "UpdateSecretVersionStage",
          "UpdateServiceSpecificCredential"]


@pytest.mark.parametrize("fault", ["deny", "throttle"])
@pytest.mark.parametrize("operation", WRITES)
def test_a_denied_or_throttled_write_converges_on_the_next_run(emu, runs, monkeypatch, operation, fault):
    if fault == "throttle":
        # botocore's standard retry mode waits rand(0, 1) x 2**i s before throttled attempt i+1 (5-8 s of this
        # test's time): the retries are what a throttled write exercises, not the waits, so the waits are zero
        # here (as tests/audit/test_read_errors.py no_backoff); every attempt still happens and is throttled
        from botocore.retries import standard

        monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    emu.apply("key_expiring_soon")
    before = state(emu)
    service = "iam" if "ServiceSpecific" in operation else "secretsmanager"
    getattr(aws_faults, fault)(f"{service}:{operation}")  # every call, retries included
    steps1, entries1 = run(runs(1))
    assert any(s.status == "failed" for s in steps1)
    aws_faults.reset()
    after_crash = state(emu)
    ctx2 = runs(2)
    steps, entries = run(ctx2)
    assert not [s for s in steps if s.manual], [(s.key, s.action) for s in steps if s.manual]
    assert all(s.status == "applied" for s in steps), [(s.key, s.status, s.message) for s in steps]
    # run 1's own log names whatever it could not undo; run 2's names what it finished or deleted
    assert_converged(emu, before, after_crash, entries + entries1, ctx2)


def test_a_pending_rotation_is_completed_not_called_another_workloads(emu, runs, monkeypatch):
    """SIGTERM between AWSPENDING and the promotion: the plan completes it (non-destructive) and retires the
    old key (destructive); without --allow-destructive the old key stays until it is allowed."""
    emu.apply("key_expiring_soon")
    with monkeypatch.context() as m:
        kill_at_checkpoint(m, "promote")
        with pytest.raises(Killed):
            run(runs(1))
    ctx = runs(2, destructive=False)
    steps, entries = run(ctx)
    by_key = {s.key: s for s in steps}
    assert by_key["credential.rotate"].status == "applied" and "interrupted rotation" in by_key["credential.rotate"].action
    assert not by_key["credential.rotate"].destructive
    retire = [s for s in steps if s.key.startswith("credential.retire:")]
    assert len(retire) == 1 and retire[0].destructive and retire[0].status == "skipped"
    creds = state(emu)["creds"]
    assert sorted(creds.values()) == ["Active", "Active"]
    assert current_key_answers(emu) == 200


def test_a_key_created_while_the_run_died_is_recognised_only_inside_the_journals_window(emu, runs, monkeypatch):
    """Journal says a key was being created; a key made much later by someone else is not taken for it."""
    emu.apply("key_expiring_soon")
    ctx = runs(1)
    ids = list(state(emu)["creds"])
    ctx.journal.record("rotation", "r1", "create_key", user=USER, secret=SECRET, before_ids=ids,
                       at=ctx.clock() - rotation.CREATE_WINDOW * 3)
    iam = emu.client("iam")
    iam.create_service_specific_credential(UserName=USER, ServiceName="bedrock.amazonaws.com",
                                           CredentialAgeDays=ctx.cfg.max_key_age_days)
    lo = rotation.leftovers(runs(2))
    assert not lo.orphans
    ctx2 = runs(3)
    ctx2.journal.record("rotation", "r2", "create_key", user=USER, secret=SECRET, before_ids=ids, at=ctx2.clock())
    assert len(rotation.leftovers(ctx2).orphans) == 1
    # a key with another expiry than the tool requests is someone else's, even inside the window
    ctx3 = runs(4)
    made = [c for c in state(emu)["creds"] if c not in ids]
    iam.delete_service_specific_credential(UserName=USER, ServiceSpecificCredentialId=made[0])
    iam.create_service_specific_credential(UserName=USER, ServiceName="bedrock.amazonaws.com", CredentialAgeDays=30)
    ctx3.journal.record("rotation", "r3", "create_key", user=USER, secret=SECRET, before_ids=ids, at=ctx3.clock())
    assert not rotation.leftovers(ctx3).orphans


def test_journal_survives_a_cut_line_and_holds_no_key(tmp_path):
    j = journal.Journal(tmp_path / "a")
    j.record("rotation", "x", "create_key", user=USER, before_ids=["A"])
    j.record("rotation", "x", "created", credential="ABSKQmVkcm9ja0FQSUtleS1hYmNkZWZnaGlqa2xtbm9wcXJzdHV2")
    with open(tmp_path / "a" / journal.FILE, "a") as fh:
        fh.write('{"kind": "rotation", "id": "x", "pha')  # a kill mid-line
    text = (tmp_path / "a" / journal.FILE).read_text()
    assert "ABSK" not in text
    later = journal.Journal(tmp_path / "b", [tmp_path / "a"])
    assert list(later.open_entries("rotation")) == ["x"]
    later.record("rotation", "x", "rolled_back")
    assert later.open_entries("rotation") == {}
    assert Path(tmp_path / "b" / journal.FILE).exists()


def _own_keys(emu) -> list[str]:
    kms = emu.client("kms", "govcloud")
    return sorted(k["KeyArn"] for k in kms.list_keys()["Keys"]
                  if kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"].get("KeyManager") == "CUSTOMER")


def test_a_kms_key_of_a_failed_step_is_named_and_reused_not_one_more_per_run(emu, runs):
    """secret_missing: the rotation creates the secret under our CMK.  Run 1's CreateAlias is denied: the key
    exists without its alias.  The failed step's log entry names it; run 2 gives it the alias (no new key),
    and run 3 finds nothing left to create."""
    emu.apply("secret_missing")
    keys_before = _own_keys(emu)
    aws_faults.deny("kms:CreateAlias")
    ctx1 = runs(1)
    entries1: list[dict[str, Any]] = []
    steps1 = build_plan(ctx1, [CheckRecord("secret.exists", "s", "secret", "high", {}, "x", status="fail")])
    apply_plan(ctx1, steps1, lambda s, e: entries1.append(e))
    aws_faults.reset()
    made = sorted(set(_own_keys(emu)) - set(keys_before))
    assert len(made) == 1
    kms_entry = next(e for e in entries1 if e["step"] == "kms.create:govcloud")
    assert kms_entry["status"] == "failed" and made[0] in kms_entry["message"]
    assert kms_entry["before"]["created_key"] == made[0]
    ctx2 = runs(2)
    entries2: list[dict[str, Any]] = []
    steps2 = build_plan(ctx2, [CheckRecord("secret.exists", "s", "secret", "high", {}, "x", status="fail")])
    kms_step = next(s for s in steps2 if s.key == "kms.create:govcloud")
    assert made[0] in kms_step.action and "instead of creating another" in kms_step.action
    apply_plan(ctx2, steps2, lambda s, e: entries2.append(e))
    assert all(s.status == "applied" for s in steps2), [(s.key, s.status, s.message) for s in steps2]
    assert sorted(set(_own_keys(emu)) - set(keys_before)) == made  # reused: not one more
    alias = emu.client("kms", "govcloud").describe_key(KeyId="alias/bedrock-key-audit")["KeyMetadata"]["Arn"]
    assert alias == made[0]
    secret = emu.client("secretsmanager", "govcloud").describe_secret(SecretId=SECRET)
    assert secret.get("KmsKeyId") in (made[0], alias, made[0].split("/")[-1])
    assert rotation.leftovers(runs(3)).orphans == []
    assert not runs(3).journal.open_entries("kms")


def test_undoing_an_earlier_runs_pending_key_waits_for_allow_destructive(emu, runs, monkeypatch):
    """The pending key is refused on the next run: without --allow-destructive nothing of it is undone (that
    deletes a key an earlier run made); with it, the attempt is undone; either way the old key stays current."""
    from bedrock_key_audit.emulator import faults

    emu.apply("key_expiring_soon")
    before = state(emu)
    with monkeypatch.context() as m:
        kill_at_checkpoint(m, "promote")
        with pytest.raises(Killed):
            run(runs(1))
    left = state(emu)
    faults.fail(status=503, n=None, path_prefix="/foundation-models")
    steps, _ = run(runs(2, destructive=False))
    rot = next(s for s in steps if s.key == "credential.rotate")
    assert rot.status == "failed" and "destructive" in rot.message, rot.message
    assert state(emu) == left
    steps, entries = run(runs(3, destructive=True))
    rot = next(s for s in steps if s.key == "credential.rotate")
    assert rot.status == "failed" and "rolled back" in rot.message, rot.message
    faults.reset()
    now = state(emu)
    assert now["creds"] == before["creds"] and not [v for v, s in now["stages"].items() if "AWSPENDING" in s]
    assert current_key_answers(emu) == 200
    for cid in set(left["creds"]) - set(before["creds"]):
        assert cid in json.dumps(entries), f"the undone key {cid} is not named in the action log"


def test_a_rewrite_waits_for_the_interrupted_rotation_and_its_completion_keeps_later_edits(emu, runs, monkeypatch):
    """A person edits the secret (a new field, a bad region) while this tool's rotation sits in AWSPENDING.
    secret.schema's rewrite would take the pending label off: the plan finishes the rotation instead, and
    puts the key into a document built from the value current now (the new field kept, the region valid)
    rather than promoting the stale pending document."""
    emu.apply("compliant")
    before = state(emu)
    ctx1 = runs(1)
    with monkeypatch.context() as m:
        kill_at_checkpoint(m, "promote")
        with pytest.raises(Killed):
            from bedrock_key_audit.remediation.fixers import keys
            apply_plan(ctx1, rotation.plan_rotation(ctx1, "test", keys.key_diagnosis(ctx1).get("held")),
                       lambda s, e: None)
    sm = emu.client("secretsmanager", "govcloud")
    data = json.loads(sm.get_secret_value(SecretId=SECRET)["SecretString"])
    data.update(region="moon-base-1", owner="team-a")
    sm.put_secret_value(SecretId=SECRET, SecretString=json.dumps(data), VersionStages=["AWSCURRENT"])
    recs = [CheckRecord("secret.schema", "s", "secret", "high", {}, "x", status="fail"),
            CheckRecord("credential.single_active", "s", "credential", "high", {}, "x", status="fail")]
    ctx2 = runs(2)
    steps = build_plan(ctx2, recs)
    assert "secret.rewrite" not in {s.key for s in steps} and "credential.rotate" in {s.key for s in steps}
    apply_plan(ctx2, steps, lambda s, e: None)
    assert all(s.status == "applied" for s in steps if not s.manual), [(s.key, s.status, s.message) for s in steps]
    now = state(emu)
    active = [c for c, s in now["creds"].items() if s == "Active"]
    assert len(active) == 1 and active[0] not in before["creds"]
    current = json.loads(sm.get_secret_value(SecretId=SECRET)["SecretString"])
    assert current["owner"] == "team-a" and current["region"] == "us-east-1"
    assert not [v for v, s in now["stages"].items() if "AWSPENDING" in s]
    assert current_key_answers(emu) == 200
    assert [s.key for s in build_plan(runs(3), recs)] == ["manual:secret-extra-fields"]  # owner: kept, reported
