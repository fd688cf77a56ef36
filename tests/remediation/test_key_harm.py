"""Keys / secret / rotation: remediation harms nothing it does not own.

Each test builds an account on the emulator, plans (nothing may change: a ``--remediate=plan`` run, or the
``--remediate`` run at its plan point, see ``three_runs``), then runs ``--remediate`` and ``--remediate
--allow-destructive`` on a fresh copy of the same account, and compares the account before and after each.  Credential ids differ between the three builds, so
every comparison is within one run.
"""
from __future__ import annotations

import hashlib
import json
import uuid

import botocore.exceptions
import httpx
import pytest

from bedrock_key_audit.emulator import faults
from bedrock_key_audit.fixtures.remediation import plugin
from bedrock_key_audit.remediation import core, rotation
from tests.remediation.helpers import SECRET, USER, plan_point, run, snapshot
from tests.keyscan import holds_key_head

BEDROCK = "bedrock.amazonaws.com"
MODES = {"plan": ("--remediate=plan",), "apply": ("--remediate",),
         "destructive": ("--remediate", "--allow-destructive")}


@pytest.fixture(autouse=True)
def _fast_rotation(monkeypatch):
    monkeypatch.setattr(rotation, "EMULATED_DELAY", 0.0)


def _keys(emu) -> dict[str, dict]:
    return {c["ServiceSpecificCredentialId"]: c for c in
            emu.client("iam").list_service_specific_credentials(UserName=USER)["ServiceSpecificCredentials"]}


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]  # compared, never printed as the key


def _secret(emu) -> dict:
    """Labels, and per labelled version: its non-key fields and a digest of its key."""
    sm = emu.client("secretsmanager", "govcloud")
    stages = sm.describe_secret(SecretId=SECRET)["VersionIdsToStages"]
    out = {"stages": stages, "values": {}}
    for label in ("AWSCURRENT", "AWSPREVIOUS"):
        if any(label in s for s in stages.values()):
            try:
                data = json.loads(sm.get_secret_value(SecretId=SECRET, VersionStage=label)["SecretString"])
            except botocore.exceptions.ClientError as exc:
                out["values"][label] = {"error": exc.response["Error"]["Code"]}
                continue
            key = data.pop("bedrock_api_key", "") if isinstance(data, dict) else ""
            out["values"][label] = {"fields": data, "key": _digest(key)}
    return out


def _new_key(emu, *, status="Active", days_later=0.0, age=180) -> dict:
    from bedrock_key_audit.emulator import clock

    if days_later:
        clock.advance(days=days_later)
    c = emu.client("iam").create_service_specific_credential(UserName=USER, ServiceName=BEDROCK,
                                                             CredentialAgeDays=age)["ServiceSpecificCredential"]
    c.pop("ServiceCredentialSecret", None)
    if status != "Active":
        emu.client("iam").update_service_specific_credential(
            UserName=USER, ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"], Status=status)
    return c


def three_runs(pytester, build, extra_plugins=(), modes=tuple(MODES)) -> dict[str, dict]:
    """``build(emu) -> dict`` makes the account (on an empty emulator); for each mode: the build's
    facts, snapshots before/after, keys and secret before/after, the plan and the action log.

    With "apply" among the modes, "plan" is not a run of its own: it is the apply run at its plan point
    (complete, before the first write: tests/remediation/helpers.py ``plan_point``) -- apply without
    --allow-destructive builds its plan by plan mode's own code with the same flags (fixtures/remediation/
    plugin.py ``_plan``), so that plan is plan mode's, and the account then ("after") is the account a plan run
    leaves.  Without "apply", "plan" is a real ``--remediate=plan`` run."""
    out: dict[str, dict] = {}
    at_point = "plan" in modes and "apply" in modes
    for mode in modes:
        if mode == "plan" and at_point:
            continue
        args = MODES[mode]
        seen: dict = {}

        def setup(emu, seen=seen):
            seen["facts"] = build(emu)
            seen.update(emu=emu, before=snapshot(emu), keys_before=_keys(emu), secret_before=_secret(emu))

        def at(seen=seen):
            emu = seen["emu"]
            return {"after": snapshot(emu), "keys_after": _keys(emu), "secret_after": _secret(emu)}
        with plan_point(at) as point:
            result, cap = run(pytester, *args, scenario="empty", setup=setup, plugins_extra=extra_plugins)
        emu = seen["emu"]
        faults.reset()
        seen.update(result=result, cap=cap, plan={s.key: s for s in cap.plan}, after=snapshot(emu),
                    keys_after=_keys(emu), secret_after=_secret(emu), actions=cap.actions)
        blob = json.dumps(cap.actions, default=str) + result.stdout.str()
        assert not holds_key_head(blob) and "bedrock-api-key-" not in blob
        out[mode] = seen
        if mode == "apply" and at_point:
            assert point.seen, result.stdout.str()[-2000:]
            out["plan"] = {**seen, **point.state, "plan": {s.key: s for s in point.plan}, "actions": []}
            assert point.state["after"] == seen["before"], "planning (the audit and its dry runs) changed the account"
    if not at_point and "plan" in out:
        assert out["plan"]["after"] == out["plan"]["before"], "--remediate=plan changed the account"
        assert out["plan"]["cap"].actions == []
    return {m: out[m] for m in modes}


def _named(step, cred_id: str, alias: str) -> bool:
    return cred_id in step.action and alias in step.action


# --------------------------------------------------------------------------- 1. ownership of keys
def _expiring_plus_other_workload(emu):
    emu.apply("key_expiring_soon")
    held = next(iter(_keys(emu).values()))
    other = _new_key(emu, days_later=1)  # another workload's key: the secret never held it
    return {"held": held["ServiceSpecificCredentialId"], "other": other["ServiceSpecificCredentialId"],
            "alias": other["ServiceCredentialAlias"]}


def test_other_workloads_active_key_is_only_touched_by_a_named_destructive_step(pytester):
    runs = three_runs(pytester, _expiring_plus_other_workload)
    for _mode, r in runs.items():
        f, plan = r["facts"], r["plan"]
        # the rotation needs the slot another workload's key holds: a person decides, named by id and alias
        slot = plan["manual:key-slot"]
        assert slot.manual and _named(slot, f["other"], f["alias"]) and "a person must decide" in slot.action
        assert "credential.rotate" not in plan
        deact = plan[f"credential.deactivate:{f['other']}"]
        assert deact.destructive and _named(deact, f["other"], f["alias"]) and "another workload" in deact.action
        assert not any(k.startswith(("credential.delete", "credential.free-slot", "credential.retire")) for k in plan)
        assert f"credential.deactivate:{f['held']}" not in plan
    apply = runs["apply"]
    assert apply["after"] == apply["before"], "without --allow-destructive nothing of the keys may change"
    assert apply["plan"][f"credential.deactivate:{apply['facts']['other']}"].status == "skipped"
    d = runs["destructive"]
    assert d["keys_after"][d["facts"]["other"]]["Status"] == "Inactive"
    assert d["keys_after"][d["facts"]["held"]]["Status"] == "Active"
    assert len(d["keys_after"]) == 2 and d["secret_after"] == d["secret_before"]
    entry = next(e for e in d["actions"] if e["step"] == f"credential.deactivate:{d['facts']['other']}")
    assert entry["destructive"] and entry["before"]["Status"] == "Active" and "--status Active" in entry["before"]["restore"]


def _expiring_plus_spare(emu):
    emu.apply("key_expiring_soon")
    held = next(iter(_keys(emu).values()))
    spare = _new_key(emu, status="Inactive", days_later=1)
    return {"held": held["ServiceSpecificCredentialId"], "spare": spare["ServiceSpecificCredentialId"],
            "alias": spare["ServiceCredentialAlias"], "held_alias": held["ServiceCredentialAlias"]}


def test_spare_inactive_key_is_deleted_only_by_a_named_destructive_step(pytester, emulator):
    runs = three_runs(pytester, _expiring_plus_spare)
    for r in runs.values():
        f, plan = r["facts"], r["plan"]
        free = plan[f"credential.free-slot:{f['spare']}"]
        retire = plan[f"credential.retire:{f['held']}"]
        assert free.destructive and _named(free, f["spare"], f["alias"]) and "cannot be restored" in free.action
        assert retire.destructive and _named(retire, f["held"], f["held_alias"])
        assert not plan["credential.rotate"].destructive
        assert free.key in plan["credential.rotate"].requires
    apply = runs["apply"]
    assert apply["after"] == apply["before"], "without --allow-destructive the spare must survive"
    assert [apply["plan"][k].status for k in (f"credential.free-slot:{apply['facts']['spare']}", "credential.rotate")] \
        == ["skipped", "blocked"]
    d = runs["destructive"]
    f = d["facts"]
    assert f["spare"] not in d["keys_after"] and d["keys_after"][f["held"]]["Status"] == "Inactive"
    new = [k for k in d["keys_after"] if k not in d["keys_before"]]
    assert len(new) == 1 and d["keys_after"][new[0]]["Status"] == "Active"
    assert all(r.status == "pass" for r in d["cap"].records.values()), \
        {k: r.detail for k, r in d["cap"].records.items() if r.status != "pass"}


def test_expired_key_not_in_the_secret_is_deleted_only_with_allow_destructive(pytester):
    def build(emu):
        emu.apply("compliant")
        from bedrock_key_audit.emulator import clock
        clock.advance(days=-3)
        old = _new_key(emu, age=1)
        clock.advance(days=3)
        return {"expired": old["ServiceSpecificCredentialId"], "alias": old["ServiceCredentialAlias"]}
    runs = three_runs(pytester, build)
    for r in runs.values():
        st = r["plan"][f"credential.delete:{r['facts']['expired']}"]
        assert st.destructive and _named(st, r["facts"]["expired"], r["facts"]["alias"])
    assert runs["apply"]["after"] == runs["apply"]["before"]
    assert runs["destructive"]["facts"]["expired"] not in runs["destructive"]["keys_after"]


# --------------------------------------------------------------------------- 2. preservation
def test_rotation_keeps_fields_and_region_and_the_old_value_as_previous(pytester):
    def build(emu):
        emu.apply("key_expiring_soon")
        sm = emu.client("secretsmanager", "govcloud")
        data = json.loads(sm.get_secret_value(SecretId=SECRET)["SecretString"])
        data.update(region="us-west-2", owner="team-a", endpoint_hint="runtime")
        sm.put_secret_value(SecretId=SECRET, SecretString=json.dumps(data))
        return {}
    runs = three_runs(pytester, build)
    for mode in ("apply", "destructive"):
        r = runs[mode]
        before, after = r["secret_before"]["values"]["AWSCURRENT"], r["secret_after"]["values"]
        assert r["plan"]["credential.rotate"].status == "applied", r["plan"]["credential.rotate"].message
        assert after["AWSCURRENT"]["fields"] == {"region": "us-west-2", "owner": "team-a", "endpoint_hint": "runtime"}
        assert after["AWSCURRENT"]["key"] != before["key"]
        assert after["AWSPREVIOUS"] == before, "the overwritten value must stay readable as AWSPREVIOUS"
        entry = next(e for e in r["actions"] if e["step"] == "credential.rotate")
        img = entry["before"]["secret"]
        assert img["fields"] == before["fields"] and img["current_version"] in r["secret_before"]["stages"]
        # the extra fields break secret.schema; remediation keeps them and says so
        assert r["plan"]["manual:secret-extra-fields"].manual
        assert "endpoint_hint, owner" in r["plan"]["manual:secret-extra-fields"].action


def test_rewrite_fixes_an_invalid_region_and_keeps_other_fields(pytester):
    def build(emu):
        emu.apply("compliant")
        sm = emu.client("secretsmanager", "govcloud")
        data = json.loads(sm.get_secret_value(SecretId=SECRET)["SecretString"])
        data.update(region="moon-base-1", owner="team-a")
        sm.put_secret_value(SecretId=SECRET, SecretString=json.dumps(data))
        return {}
    runs = three_runs(pytester, build)
    r = runs["apply"]
    assert r["plan"]["secret.rewrite"].status == "applied" and not r["plan"]["secret.rewrite"].destructive
    before, after = r["secret_before"]["values"]["AWSCURRENT"], r["secret_after"]["values"]
    assert after["AWSCURRENT"]["fields"] == {"region": "us-east-1", "owner": "team-a"}
    assert after["AWSCURRENT"]["key"] == before["key"] and after["AWSPREVIOUS"] == before
    assert r["keys_after"] == r["keys_before"]
    entry = next(e for e in r["actions"] if e["step"] == "secret.rewrite")
    assert entry["before"]["fields"] == {"region": "moon-base-1", "owner": "team-a"}


# --------------------------------------------------------------------------- 3. outage while freeing a slot
def test_bedrock_outage_deletes_no_spare(pytester, monkeypatch):
    """Planned while Bedrock answers; Bedrock fails (503) from the moment apply starts: the spare survives."""
    def outage(ctx, steps, on_action):
        faults.fail(status=503, n=None, path_prefix="/foundation-models")
        return core.apply_plan(ctx, steps, on_action)
    monkeypatch.setattr(plugin, "apply_plan", outage)
    seen: dict = {}

    def setup(emu):
        seen["facts"] = _expiring_plus_spare(emu)
        seen.update(emu=emu, keys=_keys(emu), secret=_secret(emu), before=snapshot(emu))
    result, cap = run(pytester, "--remediate", "--allow-destructive", scenario="empty", setup=setup)
    faults.reset()
    plan = {s.key: s for s in cap.plan}
    f = seen["facts"]
    free = plan[f"credential.free-slot:{f['spare']}"]
    assert free.status == "failed" and "did not answer definitively" in free.message
    assert plan["credential.rotate"].status == "blocked" and plan[f"credential.retire:{f['held']}"].status == "blocked"
    assert _keys(seen["emu"]) == seen["keys"] and _secret(seen["emu"]) == seen["secret"]


# --------------------------------------------------------------------------- 4. only a refusal rotates
def _force_same_alias(emu):
    """AWS gives a second key the alias ``<user>+1-at-<account>`` (so does the emulator); keys that share
    an alias (as the emulator once made them, and as AWS documents only "user name plus a suffix") are
    forced in the emulator's model, the way tests/remediation/test_plugin.py::_same_alias does."""
    from moto.iam.models import iam_backends

    from bedrock_key_audit.emulator import iam_ssc

    for cred in iam_ssc._store(iam_backends[emu.accounts["commercial"]]["aws"]).values():
        cred.alias_suffix = ""


@pytest.mark.parametrize("alias", ["shared", "own"])
def test_throttled_probe_never_rotates_a_healthy_key(pytester, alias):
    """A healthy key and an Inactive spare; Bedrock throttles every call.  With a shared alias, telling the
    keys apart needs Bedrock's answer (the path that used to rotate); with their own aliases only the
    endpoint checks are undecided.  Either way the plan says "rerun" and nothing changes."""
    def build(emu):
        emu.apply("compliant")
        _new_key(emu, status="Inactive", days_later=1)
        if alias == "shared":
            _force_same_alias(emu)
        faults.throttle(n=None)
        return {}
    runs = three_runs(pytester, build, modes=tuple(MODES) if alias == "shared" else ("plan", "destructive"))
    for _mode, r in runs.items():
        assert not any(k.startswith(("credential.rotate", "credential.free-slot", "credential.retire",
                                     "credential.deactivate", "credential.delete")) for k in r["plan"]), list(r["plan"])
        assert r["after"] == r["before"] and r["secret_after"] == r["secret_before"]
        manual = " ".join(s.action for s in r["plan"].values() if s.manual)
        assert "rerun" in manual


def test_unreadable_secret_is_a_manual_step_not_a_rotation(pytester):
    """GetSecretValue fails (the secret's customer-managed key is disabled): that says nothing about the key."""
    def build(emu):
        emu.apply("compliant")
        kms = emu.client("kms", "govcloud")
        kms.disable_key(KeyId=kms.describe_key(KeyId="alias/cross-partition-secrets")["KeyMetadata"]["KeyId"])
        return {}
    runs = three_runs(pytester, build, modes=("plan", "destructive"))
    for r in runs.values():
        assert "credential.rotate" not in r["plan"], list(r["plan"])
        assert not any(s.run and not s.manual and s.key.startswith(("credential.", "secret.")) for s in r["plan"].values()), [(s.key, s.manual, s.action) for s in r["plan"].values()]
        # the secret's own CMK is disabled: a person enables it; nothing can be re-encrypted around it
        assert r["plan"]["manual:secret-cmk-unusable"].manual, list(r["plan"])
    d = runs["destructive"]
    assert d["keys_after"] == d["keys_before"]


def _response(status, body, headers=None):
    return httpx.Response(status, json=body, headers=headers or {},
                          request=httpx.Request("GET", "https://bedrock.us-east-1.amazonaws.com/foundation-models"))


@pytest.mark.parametrize("status,body,want", [
    (403, {"Message": "Authentication failed: Please make sure your API Key is valid."}, "bad_key"),
    (403, {"Message": "User: arn:aws:iam::1:user/u is not authorized to perform: bedrock:ListFoundationModels"},
     "forbidden"),
    (403, {"Message": "Forbidden"}, "forbidden"),
    (429, {"message": "Too many requests, please wait before trying again."}, "throttled"),
    (503, {"message": "Bedrock is unable to process your request."}, "server_error"),
])
def test_only_aws_authentication_refusal_counts_as_a_refused_key(status, body, want):
    from bedrock_key_audit.inventory.probes import classify_http as _classify_http

    assert _classify_http("list_models", "u", _response(status, body), 1).classification == want


# --------------------------------------------------------------------------- 5. another party's rotation
def test_foreign_pending_version_is_named_and_left_alone(pytester):
    def build(emu):
        emu.apply("key_expiring_soon")
        version = f"lambda-{uuid.uuid4()}"
        emu.client("secretsmanager", "govcloud").put_secret_value(
            SecretId=SECRET, SecretString=json.dumps({"bedrock_api_key": "not-ours"}), VersionStages=["AWSPENDING"],
            ClientRequestToken=version)
        return {"version": version}
    runs = three_runs(pytester, build)
    for r in runs.values():
        st = r["plan"]["manual:secret-pending"]
        assert st.manual and r["facts"]["version"] in st.action and "finish it" in st.action and "cancel it" in st.action
        assert "credential.rotate" not in r["plan"]
        assert r["after"] == r["before"] and r["secret_after"] == r["secret_before"]


# --------------------------------------------------------------------------- 6. usable KMS key
@pytest.mark.parametrize("how", ["disabled", "pending_deletion"])
def test_unusable_kms_key_under_our_alias_encrypts_nothing(pytester, how):
    def build(emu):
        emu.apply("secret_default_kms")
        kms = emu.client("kms", "govcloud")
        key = kms.create_key(Description="ours, but not usable")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/bedrock-key-audit", TargetKeyId=key)
        if how == "disabled":
            kms.disable_key(KeyId=key)
        else:
            kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        return {}
    runs = three_runs(pytester, build)
    for r in runs.values():
        st = r["plan"]["manual:kms-unusable:govcloud"]
        assert st.manual and "alias/bedrock-key-audit" in st.action and "nothing is encrypted" in st.action
        assert "secret.kms" not in r["plan"]
        assert r["after"] == r["before"]
