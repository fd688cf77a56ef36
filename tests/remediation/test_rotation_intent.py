"""The rotation's intent marker on the secret: a run killed right after minting converges with a FRESH run directory.

The journal lives in the run directory (``--reports-dir``); a next run pointed elsewhere cannot read it.  Before
``CreateServiceSpecificCredential`` the rotation also tags the secret (``bedrock-key-audit:rotation-intent`` =
``<user>/<UTC time>/<run id>[/<key ids that existed>]``) and takes the tag off when it commits or rolls back.  The
next run reads it from DescribeSecret's ``Tags`` and recognises a key created inside the marker's window that no
secret version holds as this tool's: the same leftover the journal would have named (``credential.orphan``), so
the same recovery.  These runs kill in-process (fast); the real signals are in ``test_rotation_signals.py``.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest

from bedrock_key_audit.emulator import aws_faults, clock
from bedrock_key_audit.aws import Aws, CallLog
from bedrock_key_audit.checkcore import CheckRecord
from bedrock_key_audit.config import load_config
from bedrock_key_audit.inventory.reader import Inventory
from bedrock_key_audit.remediation import core, journal, rotation
from bedrock_key_audit.remediation.core import Context
from tests.remediation.helpers import SECRET, USER, point_env_at
from tests.remediation.test_rotation_recovery import Killed, assert_converged, kill_after, run, state

TAG = rotation.INTENT_TAG


@pytest.fixture
def runs(emu, monkeypatch, tmp_path):
    """``runs(n)``: run n's context; it reads the journals of runs 1..n-1 (the same --reports-dir)."""
    point_env_at(monkeypatch, emu)
    monkeypatch.setattr(rotation, "EMULATED_DELAY", 0.0)
    made: list[Context] = []

    def make(n: int, destructive: bool = True) -> Context:
        cfg = load_config(None)
        aws = Aws(cfg, CallLog(), emulated=True)
        ctx = Context(aws, cfg, Inventory(aws, cfg), clock.now(), allow_destructive=destructive)
        ctx.journal = journal.Journal(tmp_path / f"run{n}", [tmp_path / f"run{i}" for i in range(1, n)])
        made.append(ctx)
        return ctx
    yield make
    for c in made:
        c.inv.g.close()


def _tags(emu) -> dict[str, str]:
    desc = emu.client("secretsmanager", "govcloud").describe_secret(SecretId=SECRET)
    return {t["Key"]: t["Value"] for t in desc.get("Tags") or []}


def _fresh(runs, n: int, destructive: bool = True):
    """A run that reads no earlier run directory: another --reports-dir."""
    ctx = runs(n, destructive)
    ctx.journal.read_dirs = []
    return ctx


def test_the_marker_round_trips_and_holds_no_key():
    at = dt.datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=dt.timezone.utc)
    value = rotation.intent_value("svc,user", at, "a" * 32, ["ACCAEXAMPLE0000000001"])
    assert value == "svc.user/2026-01-02T03:04:05Z/" + "a" * 32 + "/ACCAEXAMPLE0000000001"
    intent = rotation.read_intent({"Tags": [{"Key": "other", "Value": "x"}, {"Key": TAG, "Value": value}]})
    assert intent is not None
    assert (intent.user, intent.at, intent.rid, intent.before_ids) == (
        "svc.user", at.replace(microsecond=0), "a" * 32, ("ACCAEXAMPLE0000000001",))
    lo, hi = intent.window()
    assert lo == intent.at - rotation.CLOCK_SKEW and hi == intent.at + rotation.CREATE_WINDOW + rotation.CLOCK_SKEW
    assert rotation.read_intent({"Tags": [{"Key": "other", "Value": "x"}]}) is None
    # a marker that cannot be read adopts nothing (no run id, so no window is ever computed)
    for bad in ("garbage", "user/not-a-time/" + "a" * 32):
        got = rotation.read_intent({"Tags": [{"Key": TAG, "Value": bad}]})
        assert got is not None and got.rid == "" and got.value == bad
    # Secrets Manager's allowed characters only (letters, numbers, + - = . _ : / @)
    assert all(ch.isalnum() or ch in "+-=._:/@" for ch in value)


@pytest.mark.parametrize("destructive", [True, False], ids=["allow-destructive", "plain"])
def test_killed_right_after_minting_converges_with_a_fresh_reports_dir(emu, runs, monkeypatch, destructive):
    emu.apply("key_expiring_soon")
    before = state(emu)
    ctx1 = runs(1)
    with monkeypatch.context() as m:
        kill_after(ctx1, m, "CreateServiceSpecificCredential")
        m.setattr(rotation, "_rollback", lambda *a, **k: (_ for _ in ()).throw(Killed("no rollback")))
        with pytest.raises(Killed):
            run(ctx1)
    after_crash = state(emu)
    minted = sorted(set(after_crash["creds"]) - set(before["creds"]))
    assert len(minted) == 1 and TAG in _tags(emu)
    marker = _tags(emu)[TAG]

    ctx2 = _fresh(runs, 2, destructive)
    assert not ctx2.journal.open_entries("rotation")  # the journal cannot tell: only the marker can
    steps, entries = run(ctx2)
    by_key = {s.key: s for s in steps}
    orphan = by_key[f"credential.orphan:{minted[0]}"]
    assert marker in orphan.action and "another workload" not in json.dumps([s.action for s in steps])
    assert orphan.destructive
    if not destructive:
        # plain --remediate: the key it made is named as this tool's, and left with the marker that names it
        assert orphan.status == "skipped" and by_key["credential.rotate"].status == "blocked"
        assert by_key[rotation.CLEAR_INTENT].status == "blocked"
        assert _tags(emu)[TAG] == marker
        return
    assert all(s.status == "applied" for s in steps), [(s.key, s.status, s.message) for s in steps]
    assert TAG not in _tags(emu)
    logged = json.dumps(entries, default=str)
    assert minted[0] in logged and marker in logged
    assert_converged(emu, before, after_crash, entries, ctx2)


def test_killed_before_minting_the_marker_is_simply_cleared(emu, runs, monkeypatch):
    emu.apply("key_expiring_soon")
    before = state(emu)
    ctx1 = runs(1)
    with monkeypatch.context() as m:
        kill_after(ctx1, m, "TagResource")
        with pytest.raises(Killed):
            run(ctx1)
    assert state(emu) == before and TAG in _tags(emu)
    ctx2 = _fresh(runs, 2)
    steps, entries = run(ctx2)
    assert not [s for s in steps if s.key.startswith("credential.orphan:")]
    assert all(s.status == "applied" for s in steps), [(s.key, s.status, s.message) for s in steps]
    assert TAG not in _tags(emu)
    assert_converged(emu, before, state(emu), entries, ctx2)


def _signed(emu, at: dt.datetime, rid: str, ids: list[str]) -> str:
    """A marker as the rotation writes it: MAC keyed with the secret's AWSCURRENT value."""
    got = emu.client("secretsmanager", "govcloud").get_secret_value(SecretId=SECRET)
    return rotation.intent_value(USER, at, rid, ids, got["VersionId"], got["SecretString"])


def _mint(emu, days: int) -> str:
    made = emu.client("iam").create_service_specific_credential(UserName=USER, ServiceName="bedrock.amazonaws.com",
                                                                CredentialAgeDays=days)
    return str(made["ServiceSpecificCredential"]["ServiceSpecificCredentialId"])


def test_a_marker_adopts_only_a_key_created_inside_its_window(emu, runs):
    """A marker left behind (its UntagResource failed) must not adopt a key someone minted later; nor a key that
    existed when it was written; nor a key with another expiry than the tool requests; nor anything under a
    marker whose MAC does not verify (a forged or unsigned tag)."""
    emu.apply("key_expiring_soon")
    ids = list(state(emu)["creds"])
    sm = emu.client("secretsmanager", "govcloud")
    ctx = _fresh(runs, 1)
    days = ctx.cfg.max_key_age_days
    old = _signed(emu, ctx.clock() - rotation.CREATE_WINDOW * 3, "b" * 32, ids)
    sm.tag_resource(SecretId=SECRET, Tags=[{"Key": TAG, "Value": old}])
    _mint(emu, days)
    lo = rotation.leftovers(_fresh(runs, 2))
    assert not lo.orphans and lo.intent is not None and lo.intent.value == old and not lo.intent_problem
    steps = rotation.recovery_steps(_fresh(runs, 3), lo, None, "x")
    assert [s.key for s in steps] == [rotation.CLEAR_INTENT]  # cleared, nothing adopted
    # the same key under a marker written just before it: adopted
    now = _signed(emu, _fresh(runs, 4).clock() - dt.timedelta(seconds=5), "c" * 32, ids)
    sm.tag_resource(SecretId=SECRET, Tags=[{"Key": TAG, "Value": now}])
    assert len(rotation.leftovers(_fresh(runs, 5)).orphans) == 1
    # ... but not under the same marker without its MAC, or with a MAC keyed with anything but the secret's value
    at = _fresh(runs, 6).clock() - dt.timedelta(seconds=5)
    version = sm.get_secret_value(SecretId=SECRET)["VersionId"]
    for forged in (rotation.intent_value(USER, at, "e" * 32, ids),
                   rotation.intent_value(USER, at, "e" * 32, ids, version, "guess")):
        sm.tag_resource(SecretId=SECRET, Tags=[{"Key": TAG, "Value": forged}])
        lo = rotation.leftovers(_fresh(runs, 7))
        assert not lo.orphans and lo.intent_problem, forged
        steps = rotation.recovery_steps(_fresh(runs, 8), lo, None, "x")
        assert [s.key for s in steps] == [rotation.CLEAR_INTENT] and not steps[0].destructive
        assert "adopts no key" in steps[0].action
    # ... nor when the marker lists it among the keys that existed when it was written
    every = list(state(emu)["creds"])
    sm.tag_resource(SecretId=SECRET, Tags=[{"Key": TAG, "Value": _signed(
        emu, _fresh(runs, 9).clock() - dt.timedelta(seconds=5), "d" * 32, every)}])
    assert not rotation.leftovers(_fresh(runs, 10)).orphans


def test_a_marker_adopts_no_key_of_another_expiry_and_never_one_of_two(emu, runs):
    """Only a key with the expiry the tool requests is adoptable; two such keys: neither is, a person decides."""
    emu.apply("compliant")
    ids = list(state(emu)["creds"])
    sm = emu.client("secretsmanager", "govcloud")
    ctx = _fresh(runs, 1)
    marker = _signed(emu, ctx.clock() - dt.timedelta(seconds=5), "f" * 32, ids)
    sm.tag_resource(SecretId=SECRET, Tags=[{"Key": TAG, "Value": marker}])
    other = _mint(emu, ctx.cfg.max_key_age_days - 1)
    lo = rotation.leftovers(_fresh(runs, 2))
    assert not lo.orphans and not lo.ambiguous
    for cid in [other, *ids]:  # two slots per user: make room for two candidates
        emu.client("iam").delete_service_specific_credential(UserName=USER, ServiceSpecificCredentialId=cid)
    a, b = _mint(emu, ctx.cfg.max_key_age_days), _mint(emu, ctx.cfg.max_key_age_days)
    lo = rotation.leftovers(_fresh(runs, 3))
    assert not lo.orphans and [sorted(c.id for c in keys) for keys, _ in lo.ambiguous] == [sorted([a, b])]
    steps = rotation.recovery_steps(_fresh(runs, 4), lo, None, "x")
    manual = [s for s in steps if s.manual]
    assert len(manual) == 1 and a in manual[0].action and b in manual[0].action
    assert not any(s.destructive for s in steps)


def test_a_denied_marker_does_not_stop_the_rotation_and_the_step_says_so(emu, runs):
    emu.apply("key_expiring_soon")
    aws_faults.deny("secretsmanager:TagResource")
    try:
        steps, entries = run(runs(1))
    finally:
        aws_faults.reset()
    rot = next(s for s in steps if s.key == "credential.rotate")
    assert rot.status == "applied" and TAG in rot.message and "journal" in rot.message
    assert TAG not in _tags(emu)


@pytest.mark.parametrize("also_denied", [(), ("iam:DeleteServiceSpecificCredential",)],
                         ids=["rolled-back", "rollback-denied-too"])
def test_a_denied_write_after_minting_converges_with_a_fresh_reports_dir(emu, runs, also_denied):
    """PutSecretValue (the write right after minting) is denied.  Run 1 rolls back: the key is deleted and the
    marker taken off.  When its DeleteServiceSpecificCredential is denied too, the key stays and so does the
    marker: the next run (another --reports-dir) deletes that key as this tool's and rotates."""
    emu.apply("key_expiring_soon")
    before = state(emu)
    aws_faults.deny("secretsmanager:PutSecretValue")
    for target in also_denied:
        aws_faults.deny(target)
    try:
        steps1, entries1 = run(runs(1))
    finally:
        aws_faults.reset()
    assert next(s for s in steps1 if s.key == "credential.rotate").status == "failed"
    after_crash = state(emu)
    left = sorted(set(after_crash["creds"]) - set(before["creds"]))
    assert (TAG in _tags(emu)) == bool(also_denied) and len(left) == len(also_denied)
    ctx2 = _fresh(runs, 2)
    steps, entries = run(ctx2)
    assert all(s.status == "applied" for s in steps), [(s.key, s.status, s.message) for s in steps]
    assert "another workload" not in json.dumps([s.action for s in steps])
    assert TAG not in _tags(emu)
    for cid in left:
        assert f"credential.orphan:{cid}" in {s.key for s in steps}
    assert_converged(emu, before, after_crash, entries + entries1, ctx2)


def test_the_marker_mac_binds_every_field_to_the_secret_value():
    """The MAC is keyed with the secret's AWSCURRENT value: verifiable by its reader, unforgeable by a tagger."""
    at = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    secret_text = json.dumps({"bedrock_api_key": "k" * 40, "region": "us-east-1"})
    value = rotation.intent_value("u", at, "b" * 32, ["ACCAEXAMPLE0000000001"], "v" * 36, secret_text)
    assert "k" * 10 not in value and len(value) <= 255
    intent = rotation.read_intent({"Tags": [{"Key": TAG, "Value": value}]})
    assert intent is not None and intent.version == "v" * 36 and intent.before_ids == ("ACCAEXAMPLE0000000001",)
    assert intent.mac == rotation.intent_mac(secret_text, intent.signed_part())
    # any other key, or any edited field, gives another MAC
    assert intent.mac != rotation.intent_mac(secret_text + " ", intent.signed_part())
    forged = value.replace("03:04:05Z", "03:09:05Z")
    f = rotation.read_intent({"Tags": [{"Key": TAG, "Value": forged}]})
    assert f is not None and f.mac != rotation.intent_mac(secret_text, f.signed_part())
    # a very long user name still leaves room for the MAC within the 255-character tag value
    long = rotation.intent_value("u" * 64, at, "b" * 32, ["ACCA" + "E" * 120], "v" * 64, secret_text)
    assert len(long) <= 255 and rotation.read_intent({"Tags": [{"Key": TAG, "Value": long}]}).mac


def test_no_key_is_deactivated_when_the_secret_holds_none(emu, runs):
    """secret_missing with two Active keys (the workload's, and one a killed run minted but could not store): the
    tool cannot know which one the workload holds, so it deactivates neither and names both in a manual step."""
    import types

    from bedrock_key_audit.remediation.fixers.credential import fix_single_active

    emu.apply("secret_missing")
    ctx = _fresh(runs, 1)
    before = [c["ServiceSpecificCredentialId"] for c in emu.client("iam").list_service_specific_credentials(
        UserName=USER)["ServiceSpecificCredentials"]]
    assert len(before) == 1
    minted = _mint(emu, ctx.cfg.max_key_age_days)
    rec = types.SimpleNamespace(resource="arn:aws:iam::123456789012:user/x", partition="commercial")
    steps = fix_single_active(_fresh(runs, 2), rec)  # type: ignore[arg-type]
    assert [(s.key, s.manual) for s in steps] == [("manual:single_active", True)], [s.key for s in steps]
    assert minted in steps[0].action and all(cid in steps[0].action for cid in before)
    assert not any(s.destructive for s in steps)


def test_a_marker_left_on_a_finished_rotation_is_cleared_when_every_row_passes(emu, runs):
    """UntagResource denied after a committed rotation: the marker stays; the next run takes it off even though no
    row fails (no fixer runs)."""
    emu.apply("key_expiring_soon")
    aws_faults.deny("secretsmanager:UntagResource")
    try:
        run(runs(1))
    finally:
        aws_faults.reset()
    assert TAG in _tags(emu)
    ctx = _fresh(runs, 2)
    steps = core.build_plan(ctx, [])
    assert [s.key for s in steps] == [rotation.CLEAR_INTENT] and not steps[0].destructive
    core.apply_plan(ctx, steps, lambda s, e: None)
    assert steps[0].status == "applied" and TAG not in _tags(emu)
    assert core.build_plan(_fresh(runs, 3), []) == []


def test_a_half_done_rotation_is_finished_even_when_no_row_asks(emu, runs, monkeypatch):
    """Killed after the new key went into AWSPENDING; a waiver (or any reason) leaves no failing row: the tool's
    own leftover is still finished, not stranded."""
    from tests.remediation.test_rotation_recovery import kill_at_checkpoint

    emu.apply("key_expiring_soon")
    with monkeypatch.context() as m:
        kill_at_checkpoint(m, "promote")
        with pytest.raises(Killed):
            run(runs(1))
    ctx = _fresh(runs, 2)
    steps = core.build_plan(ctx, [])
    keys = [s.key for s in steps]
    assert "credential.rotate" in keys and rotation.CLEAR_INTENT in keys, keys
    # the marker's step does not call the rotation the plan is completing one that "never finished"
    clear = steps[keys.index(rotation.CLEAR_INTENT)]
    assert "never finished" not in clear.action and "completes it" in clear.action, clear.action
    assert keys.index("credential.rotate") < keys.index(rotation.CLEAR_INTENT)


def test_the_slot_step_does_not_call_a_key_active_that_the_same_plan_deactivates(emu, runs):
    """An Active key the secret does not hold takes the second slot and credential.single_active deactivates it in
    the same plan: the key-slot manual step must not say it "is Active" after that."""
    emu.apply("key_expiring_soon")
    extra = _mint(emu, 30)
    ctx = _fresh(runs, 1)
    recs = [CheckRecord(c, "s", "credential", "high", {}, "x", status="fail")
            for c in ("credential.unexpired", "credential.single_active")]
    plan = {s.key: s for s in core.build_plan(ctx, recs)}
    assert f"credential.deactivate:{extra}" in plan, list(plan)
    slot = plan["manual:key-slot"]
    assert extra in slot.action and "is Active" not in slot.action and f"credential.deactivate:{extra}" in slot.action
