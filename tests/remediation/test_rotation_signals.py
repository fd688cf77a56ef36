"""Real signals: SIGTERM and SIGKILL land on a rotation running in another process, at each of its steps.

One standalone emulator (``python -m bedrock_key_audit.emulator``) serves the module.  The rotation runs
in a subprocess (``tests/remediation/rotation_driver.py``); the emulator holds the step's call in flight
(``/_emulator/aws-faults`` ``stall`` for the AWS writes, ``/_emulator/faults/stall`` for the proof
``GET /foundation-models``), the test sees the hold begin and sends the signal while the call is
outstanding, then releases the hold (AWS carries out a request whose caller went away).  The next run
(in this process, reading the killed run's journal) must leave exactly one Active key, held by
``AWSCURRENT``, no ``AWSPENDING`` label, no key of the killed run, and name in its action log every key
the killed run left.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any, Callable

import boto3
import httpx
import pytest

from bedrock_key_audit.emulator.server import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY
from bedrock_key_audit.redaction import redact_text
from tests.emulator.test_server_cli import _clean_env, _free_port, _start, _stop
from tests.remediation.helpers import SECRET, USER
from tests.remediation.test_rotation_recovery import assert_converged, run, state
from tests.keyscan import holds_key_head

ROOT = Path(__file__).resolve().parents[2]


class Remote:
    """What the shared assertions need of an emulator (``client``, ``url``), for one in another process."""

    def __init__(self, url: str):
        self.url = url
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, partition: str = "commercial") -> Any:
        if (service, partition) not in self._clients:
            region = "us-gov-west-1" if partition == "govcloud" else "us-east-1"
            self._clients[(service, partition)] = boto3.Session(
                aws_access_key_id=FAKE_ACCESS_KEY_ID, aws_secret_access_key=FAKE_SECRET_ACCESS_KEY,
                region_name=region).client(service, endpoint_url=self.url)
        return self._clients[(service, partition)]

    def post(self, path: str, body: dict[str, Any]) -> Any:
        with httpx.Client(trust_env=False, timeout=10) as http:
            r = http.post(f"{self.url}{path}", json=body)
            assert r.status_code == 200, (path, r.status_code, r.text[:200])
            return r.json()

    def get(self, path: str) -> Any:
        with httpx.Client(trust_env=False, timeout=10) as http:
            return http.get(f"{self.url}{path}").json()


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("signals")
    env = _clean_env(tmp)
    proc, url = _start(["--host", "127.0.0.1", "--port", str(_free_port()), "--latency-ms", "0"], env)
    env.update({"AWS_ENDPOINT_URL": url, "AWS_ENDPOINT_URL_BEDROCK": url, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": url,
                "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_ACCESS_KEY,
                "AWS_DEFAULT_REGION": "us-east-1"})
    yield types.SimpleNamespace(emu=Remote(url), env=env, proc=proc)
    assert _stop(proc) == 0


def _held_aws(target: str) -> Callable[[Remote], None]:
    def arm(emu: Remote) -> None:
        emu.post("/_emulator/aws-faults", {"action": "stall", "target": target, "seconds": 60, "n": 1})
    return arm


def _aws_in_flight(emu: Remote) -> bool:
    return any(h["kind"] == "stall" for h in emu.get("/_emulator/aws-faults")["hits"])


def _held_proof(emu: Remote) -> None:
    emu.post("/_emulator/faults/stall", {"seconds": 60, "n": 1, "path_prefix": "/foundation-models"})


def _proof_in_flight(emu: Remote) -> bool:
    return emu.get("/_emulator/faults")["pending"] == []


def _creds(emu: Remote) -> dict[str, str]:
    return state(emu)["creds"]


def _versions(emu: Remote) -> dict[str, list[str]]:
    return state(emu)["stages"]


# step -> (arm the hold, the hold has begun, the held call has landed once released)
STEPS: dict[str, tuple[Callable[[Remote], None], Callable[[Remote], bool], Callable[[Remote, dict[str, Any]], bool]]] = {
    "create_key": (_held_aws("iam:CreateServiceSpecificCredential"), _aws_in_flight,
                   lambda emu, before: len(_creds(emu)) > len(before["creds"])),
    "write_pending": (_held_aws("secretsmanager:PutSecretValue"), _aws_in_flight,
                      lambda emu, before: len(_versions(emu)) > len(before["stages"])),
    "verify": (_held_proof, _proof_in_flight, lambda emu, before: True),
    "promote": (_held_aws("secretsmanager:UpdateSecretVersionStage"), _aws_in_flight,
                lambda emu, before: next(v for v, s in _versions(emu).items() if "AWSCURRENT" in s)
                not in before["stages"]),
    "retire_old": (_held_aws("iam:UpdateServiceSpecificCredential"), _aws_in_flight,
                   lambda emu, before: any(s == "Inactive" for s in _creds(emu).values())),
}


def _wait(cond: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting until {what}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
@pytest.mark.parametrize("step", list(STEPS))
def test_a_signal_at_each_rotation_step_converges_on_the_next_run(remote, tmp_path, step, sig, monkeypatch):
    emu = remote.emu
    emu.post("/_emulator/aws-faults", {"action": "reset"})
    emu.post("/_emulator/faults/reset", {})
    emu.post("/_emulator/scenario", {"name": "key_expiring_soon"})
    before = state(emu)
    arm, in_flight, landed = STEPS[step]
    proc = subprocess.Popen([sys.executable, "-m", "tests.remediation.rotation_driver", str(tmp_path / "run1")],
                            cwd=ROOT, env=remote.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        out: list[str] = []
        reader = threading.Thread(target=lambda: out.extend(iter(proc.stdout.readline, "")), daemon=True)
        reader.start()
        _wait(lambda: "planned\n" in out or proc.poll() is not None, "the driver planned")
        assert proc.poll() is None, redact_text(proc.stderr.read()[-800:])
        arm(emu)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        _wait(lambda: in_flight(emu) or proc.poll() is not None, f"the {step} call is held")
        assert proc.poll() is None, redact_text(proc.stderr.read()[-800:])
        os.kill(proc.pid, sig)
        code = proc.wait(timeout=30)
        reader.join(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code != 0, "the driver finished although it was signalled mid-rotation"
    emu.post("/_emulator/aws-faults", {"action": "reset"})  # the held call now lands, as on AWS
    emu.post("/_emulator/faults/reset", {})
    _wait(lambda: landed(emu, before), f"the held {step} call landed")
    logged_by_killed = [json.loads(line) for line in out if line.startswith("{")]
    assert not holds_key_head("".join(out)) and not holds_key_head((tmp_path / "run1" / "remediation-journal.jsonl").read_text())
    after_crash = state(emu)

    ctx2 = _context(monkeypatch, tmp_path, remote)
    try:
        steps, entries = run(ctx2)
    finally:
        ctx2.inv.g.close()
    assert not [s for s in steps if s.manual], [(s.key, s.action) for s in steps if s.manual]
    assert all(s.status == "applied" for s in steps), [(s.key, s.status, s.message) for s in steps]
    assert "another workload" not in json.dumps([s.action for s in steps])
    assert_converged(emu, before, after_crash, entries + logged_by_killed, ctx2)


def _context(monkeypatch, tmp_path: Path, remote, fresh: bool = False) -> Any:
    from bedrock_key_audit.emulator import clock
    from bedrock_key_audit.aws import Aws, CallLog
    from bedrock_key_audit.config import load_config
    from bedrock_key_audit.inventory.reader import Inventory
    from bedrock_key_audit.remediation import journal, rotation
    from bedrock_key_audit.remediation.core import Context

    for k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"):
        monkeypatch.delenv(k, raising=False)
    for k, v in remote.env.items():
        if k.startswith("AWS_"):
            monkeypatch.setenv(k, v)
    monkeypatch.setattr(rotation, "EMULATED_DELAY", 0.0)
    cfg = load_config(None)
    aws = Aws(cfg, CallLog(), emulated=True)
    ctx = Context(aws, cfg, Inventory(aws, cfg), clock.now(), allow_destructive=True)
    ctx.journal = journal.Journal(tmp_path / "run2", [] if fresh else [tmp_path / "run1"])
    return ctx


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_signal_right_after_minting_converges_with_a_fresh_reports_dir(remote, tmp_path, sig, monkeypatch):
    """The run is signalled while the write right after CreateServiceSpecificCredential (PutSecretValue) is held,
    and that write never lands (the hold ends in AccessDenied to a caller that is gone): the new key exists and no
    secret version names it.  The next run reads NO earlier run directory (another --reports-dir): only the intent
    marker on the secret tells the key is this tool's.  SIGTERM rolls back in the killed run itself; SIGKILL
    leaves the key and the marker to the next run."""
    from bedrock_key_audit.remediation.rotation import INTENT_TAG

    emu = remote.emu
    emu.post("/_emulator/aws-faults", {"action": "reset"})
    emu.post("/_emulator/faults/reset", {})
    emu.post("/_emulator/scenario", {"name": "key_expiring_soon"})
    before = state(emu)
    emu.post("/_emulator/aws-faults", {"action": "stall", "target": "secretsmanager:PutSecretValue", "seconds": 3,
                                       "n": 1})
    emu.post("/_emulator/aws-faults", {"action": "deny", "target": "secretsmanager:PutSecretValue", "n": 1})
    out = _signal_driver(remote, tmp_path, sig)
    _wait(lambda: any(h["kind"] == "deny" for h in emu.get("/_emulator/aws-faults")["hits"]),
          "the held PutSecretValue was refused")
    emu.post("/_emulator/aws-faults", {"action": "reset"})
    after_crash = state(emu)
    sm = emu.client("secretsmanager", "govcloud")
    marker = {t["Key"]: t["Value"] for t in sm.describe_secret(SecretId=SECRET).get("Tags") or []}.get(INTENT_TAG)
    minted = set(after_crash["creds"]) - set(before["creds"])
    if sig == signal.SIGKILL:
        assert len(minted) == 1 and marker, (after_crash, marker)
        assert not [v for v in after_crash["stages"] if any(v.startswith(c) for c in minted)]

    ctx2 = _context(monkeypatch, tmp_path, remote, fresh=True)
    try:
        steps, entries = run(ctx2)
    finally:
        ctx2.inv.g.close()
    assert not ctx2.journal.read_dirs
    assert not [s for s in steps if s.manual], [(s.key, s.action) for s in steps if s.manual]
    assert all(s.status == "applied" for s in steps), [(s.key, s.status, s.message) for s in steps]
    assert "another workload" not in json.dumps([s.action for s in steps])
    assert INTENT_TAG not in {t["Key"] for t in sm.describe_secret(SecretId=SECRET).get("Tags") or []}
    logged = json.dumps(entries, default=str)
    for cid in minted:
        assert cid in logged and marker in logged
    assert_converged(emu, before, after_crash, entries + [json.loads(line) for line in out if line.startswith("{")],
                     ctx2)
    assert _value_key_matches_current(emu)


def _value_key_matches_current(emu: Remote) -> bool:
    """The secret's value is the key of the one Active credential (by its public alias, never printed)."""
    from bedrock_key_audit.inventory.keys import decode_key

    value = json.loads(emu.client("secretsmanager", "govcloud").get_secret_value(SecretId=SECRET)["SecretString"])
    creds = emu.client("iam").list_service_specific_credentials(UserName=USER)["ServiceSpecificCredentials"]
    active = [c for c in creds if c["Status"] == "Active"]
    return len(active) == 1 and decode_key(value["bedrock_api_key"]).identity == active[0].get("ServiceCredentialAlias")


def _signal_driver(remote, tmp_path: Path, sig: int) -> list[str]:
    """Run the driver, let it go, wait until an armed AWS hold has begun, send ``sig``; its stdout lines."""
    emu = remote.emu
    proc = subprocess.Popen([sys.executable, "-m", "tests.remediation.rotation_driver", str(tmp_path / "run1")],
                            cwd=ROOT, env=remote.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out: list[str] = []
    try:
        reader = threading.Thread(target=lambda: out.extend(iter(proc.stdout.readline, "")), daemon=True)
        reader.start()
        _wait(lambda: "planned\n" in out or proc.poll() is not None, "the driver planned")
        assert proc.poll() is None, redact_text(proc.stderr.read()[-800:])
        proc.stdin.write("go\n")
        proc.stdin.flush()
        _wait(lambda: _aws_in_flight(emu) or proc.poll() is not None, "the held call began")
        assert proc.poll() is None, redact_text(proc.stderr.read()[-800:])
        os.kill(proc.pid, sig)
        code = proc.wait(timeout=30)
        reader.join(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code != 0, "the driver finished although it was signalled mid-rotation"
    assert not holds_key_head("".join(out))
    return out
