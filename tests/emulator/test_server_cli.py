"""The one-port server (dispatch, control API, latency) and the standalone CLI, incl. the real AWS CLI."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import types
from typing import Any

import boto3
import botocore.config
import httpx
import pytest

from bedrock_key_audit.emulator import clock, scenarios, server
from bedrock_key_audit.emulator.server import Emulator
from bedrock_key_audit.redaction import redact_text

ROOT = pathlib.Path(__file__).resolve().parents[2]
AWS_CLI = shutil.which("aws")
USER = "bedrock-cross-partition-user"


def _http() -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=10)  # loopback only: never a proxy


def _ok(cond: object, what: str) -> None:
    """Assert without letting pytest print the operands: they may hold (fake) keys."""
    assert bool(cond), what


# --------------------------------------------------------------------------- Emulator object
def test_emulator_basics(emulator):
    assert emulator.url.startswith("http://127.0.0.1:") and emulator.port > 0
    assert emulator.accounts == {"commercial": "123456789012", "govcloud": "210987654321"}
    assert emulator.session("govcloud").region_name == "us-gov-west-1"
    assert emulator.session("commercial").region_name == "us-east-1"
    with pytest.raises(ValueError):
        emulator.session("china")


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.com"])
def test_emulator_refuses_non_loopback(host):
    with pytest.raises(ValueError, match="loopback"):
        Emulator(host=host)


def test_latency_is_added_to_every_request():
    slow = Emulator(latency_ms=150).start()
    try:
        with _http() as http:
            http.get(f"{slow.url}/_emulator/health")
            t0 = time.monotonic()
            http.get(f"{slow.url}/_emulator/health")
            assert time.monotonic() - t0 >= 0.15
            t0 = time.monotonic()
            slow.client("sts").get_caller_identity()
            assert time.monotonic() - t0 >= 0.15
    finally:
        slow.stop()
    assert not slow.running


def test_requests_are_served_concurrently(emu):
    errors: list[BaseException] = []

    clients = [emu.client("iam") for _ in range(8)]  # botocore clients are thread-safe, sessions are not

    def work(i: int) -> None:
        try:
            clients[i].create_user(UserName=f"par{i}")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(emu.client("iam").list_users()["Users"]) == 8


# --------------------------------------------------------------------------- dispatch
def test_bearer_requests_go_to_the_bedrock_app(emu, monkeypatch):
    seen = {}

    def fake_app(environ, start_response):
        seen["path"] = environ["PATH_INFO"]
        seen["account"] = environ.get("HTTP_X_MOTO_ACCOUNT_ID")
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"modelSummaries": []}']

    mod = types.ModuleType("bedrock_key_audit.emulator.bedrock")
    mod.bedrock_app = fake_app  # type: ignore[attr-defined]  # a stand-in module
    monkeypatch.setitem(sys.modules, "bedrock_key_audit.emulator.bedrock", mod)
    with _http() as http:
        r = http.get(f"{emu.url}/foundation-models", headers={"Authorization": "Bearer ABSKnotarealkey"})
    assert r.status_code == 200, redact_text(r.text[:300])
    assert r.json() == {"modelSummaries": []}
    assert seen == {"path": "/foundation-models", "account": None}


def test_bearer_without_bedrock_app_is_501(emu, monkeypatch):
    monkeypatch.setitem(sys.modules, "bedrock_key_audit.emulator.bedrock", None)
    with _http() as http:
        r = http.get(f"{emu.url}/foundation-models", headers={"Authorization": "bearer whatever"})
    assert r.status_code == 501


def test_sigv4_requests_go_to_moto(emu):
    assert emu.client("iam").list_users()["Users"] == []


# --------------------------------------------------------------------------- control API
def test_control_api(emu):
    with _http() as http:
        health = http.get(f"{emu.url}/_emulator/health").json()
        assert health["ok"] is True and health["accounts"]["govcloud"] == "210987654321"
        r = http.post(f"{emu.url}/_emulator/clock", json={"advance_days": 3})
        assert r.status_code == 200 and r.json()["offset_days"] == pytest.approx(3)
        assert clock.offset().days == 3
        assert http.post(f"{emu.url}/_emulator/clock", json={"advance_days": "x"}).status_code == 400
        assert http.post(f"{emu.url}/_emulator/clock", content=b"{not json").status_code == 400
        assert http.post(f"{emu.url}/_emulator/clock", content=b"[1]").status_code == 400

        r = http.post(f"{emu.url}/_emulator/scenario", json={"name": "guide"})
        assert r.status_code == 200
        assert clock.offset().days == 0  # a scenario starts from a reset
        assert emu.client("iam").get_user(UserName=USER)["User"]["UserName"] == USER
        bad = http.post(f"{emu.url}/_emulator/scenario", json={"name": "nope"})
        assert bad.status_code == 400 and "compliant" in bad.json()["error"]
        assert emu.client("iam").get_user(UserName=USER)  # nothing changed by the bad request

        assert http.get(f"{emu.url}/_emulator/reset").status_code == 405
        assert http.post(f"{emu.url}/_emulator/reset").status_code == 200
        assert emu.client("iam").list_users()["Users"] == []
        assert http.get(f"{emu.url}/_emulator/nothing-here").status_code == 404
        listed = http.get(f"{emu.url}/_emulator/scenarios").json()["scenarios"]
        assert set(listed) == set(scenarios.SCENARIOS)


def test_control_extension_hook(emu, monkeypatch):
    monkeypatch.setitem(server._CONTROL_HANDLERS, "widgets", lambda method, payload: (200, {"m": method, **payload}))
    with _http() as http:
        assert http.post(f"{emu.url}/_emulator/widgets", json={"a": 1}).json() == {"m": "POST", "a": 1}


def test_faults_control_routes_to_faults_module(emu, monkeypatch):
    calls: list[Any] = []
    mod = types.ModuleType("bedrock_key_audit.emulator.faults")
    mod.handle_control = lambda method, payload: (calls.append((method, payload)) or (200, {"ok": True}))  # type: ignore[attr-defined,func-returns-value]  # a stand-in module
    mod.reset = lambda: calls.append("reset")  # type: ignore[attr-defined]  # a stand-in module
    monkeypatch.setitem(sys.modules, "bedrock_key_audit.emulator.faults", mod)
    with _http() as http:
        assert http.post(f"{emu.url}/_emulator/faults", json={"throttle": 1}).status_code == 200
    emu.reset()
    assert calls == [("POST", {"throttle": 1}), "reset"]


# --------------------------------------------------------------------------- standalone CLI
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env(tmp: pathlib.Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in ("MOTO_ACCOUNT_ID",)}
    env["PYTHONPATH"] = str(ROOT)
    empty = tmp / "empty"
    empty.write_text("")
    env["AWS_CONFIG_FILE"] = str(empty)
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(empty)
    return env


def _start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "bedrock_key_audit.emulator", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout=60)
    if not line or not line[0].startswith("http://"):
        proc.kill()
        raise AssertionError(f"emulator did not print its URL: {redact_text(proc.stderr.read()[-500:])}")
    return proc, line[0].strip()


def _stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.fixture(scope="module")
def standalone(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("standalone")
    env = _clean_env(tmp)
    port = _free_port()
    proc, url = _start(["--host", "127.0.0.1", "--port", str(port), "--scenario", "compliant", "--latency-ms", "1"], env)
    assert url == f"http://127.0.0.1:{port}"
    yield types.SimpleNamespace(url=url, proc=proc, env=env, tmp=tmp)
    assert _stop(proc) == 0


def _client(url: str, service: str, region: str = "us-east-1"):
    return boto3.Session(aws_access_key_id="AKIAFAKE", aws_secret_access_key="fake", region_name=region).client(
        service, endpoint_url=url, config=botocore.config.Config(retries={"max_attempts": 1}))


def test_standalone_serves_scenario_and_both_partitions(standalone):
    iam = _client(standalone.url, "iam")
    creds = iam.list_service_specific_credentials(UserName=USER)["ServiceSpecificCredentials"]
    assert [c["Status"] for c in creds] == ["Active"]
    sm = _client(standalone.url, "secretsmanager", "us-gov-west-1")
    assert sm.describe_secret(SecretId=scenarios.SECRET_NAME)["ARN"].startswith("arn:aws-us-gov:")
    assert _client(standalone.url, "sts", "us-gov-west-1").get_caller_identity()["Account"] == "210987654321"
    with _http() as http:
        health = http.get(f"{standalone.url}/_emulator/health").json()
        assert health["ok"] is True and health["ready"] is True and health["scenario"] == "compliant"


def _aws(standalone, *args: str, region: str = "us-east-1", profile_env: dict | None = None) -> Any:
    env = dict(standalone.env, AWS_ENDPOINT_URL=standalone.url, AWS_DEFAULT_REGION=region,
               AWS_ACCESS_KEY_ID="AKIAFAKECLI", AWS_SECRET_ACCESS_KEY="fake")
    if profile_env:
        env.update(profile_env)
    proc = subprocess.run([AWS_CLI, *args], env=env, cwd=standalone.tmp, capture_output=True, text=True, timeout=60)
    # the output may hold the key: only redacted text may reach an assertion message
    assert proc.returncode == 0, f"aws {' '.join(args[:2])} failed: {redact_text(proc.stderr.strip()[-400:])}"
    out = proc.stdout.strip()
    if out.startswith("{"):
        return json.loads(out)
    return out


@pytest.mark.skipif(AWS_CLI is None, reason="the AWS CLI (`aws`) is not installed on this machine")
def test_guide_commands_with_the_real_aws_cli(standalone):
    with _http() as http:
        assert http.post(f"{standalone.url}/_emulator/reset").status_code == 200
    # Step 1
    user = _aws(standalone, "iam", "create-user", "--user-name", USER)
    assert user["User"]["Arn"] == f"arn:aws:iam::123456789012:user/{USER}"
    _aws(standalone, "iam", "attach-user-policy", "--user-name", USER,
         "--policy-arn", "arn:aws:iam::aws:policy/AmazonBedrockFullAccess")
    # Step 2
    (standalone.tmp / "bedrock-enhanced-policy.json").write_text(
        json.dumps({"Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": scenarios.GUIDE_ACTIONS, "Resource": "*"}]}))
    policy = _aws(standalone, "iam", "create-policy", "--policy-name", "BedrockCrossPartitionEnhanced",
                  "--policy-document", "file://bedrock-enhanced-policy.json")
    assert policy["Policy"]["Arn"] == "arn:aws:iam::123456789012:policy/BedrockCrossPartitionEnhanced"
    account = _aws(standalone, "sts", "get-caller-identity", "--query", "Account", "--output", "text")
    assert account == "123456789012"
    _aws(standalone, "iam", "attach-user-policy", "--user-name", USER,
         "--policy-arn", f"arn:aws:iam::{account}:policy/BedrockCrossPartitionEnhanced")
    attached = _client(standalone.url, "iam").list_attached_user_policies(UserName=USER)
    assert {p["PolicyName"] for p in attached["AttachedPolicies"]} == {"AmazonBedrockFullAccess", "BedrockCrossPartitionEnhanced"}
    # Step 3
    created = _aws(standalone, "iam", "create-service-specific-credential", "--user-name", USER,
                   "--service-name", "bedrock.amazonaws.com", "--credential-age-days", "180")
    cred = created["ServiceSpecificCredential"]
    assert {"ServiceCredentialSecret", "ServiceCredentialAlias", "ExpirationDate", "CreateDate",
            "ServiceSpecificCredentialId", "Status"} <= set(cred)
    assert "ServicePassword" not in set(cred)  # the guide's field is CodeCommit's, not Bedrock's
    assert cred["Status"] == "Active"
    _ok(cred["ServiceCredentialSecret"].startswith("ABSK"), "the CLI shows an ABSK key")
    # Step 4: the guide's own command line, with its GovCloud profile
    config = standalone.tmp / "config"
    config.write_text("[profile govcloud]\nregion = us-gov-west-1\n")
    credentials = standalone.tmp / "credentials"
    credentials.write_text("[govcloud]\naws_access_key_id = AKIAFAKEGOV\naws_secret_access_key = fake\n")
    prof = {"AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(credentials)}
    env_no_keys = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    secret_json = json.dumps({"bedrock_api_key": cred["ServiceCredentialSecret"], "region": "us-east-1"})
    made = _aws(standalone, "secretsmanager", "create-secret", "--name", "cross-partition-commercial-creds",
                "--secret-string", "{}", "--region", "us-gov-west-1")
    assert made["ARN"].startswith("arn:aws-us-gov:secretsmanager:us-gov-west-1:210987654321:secret:")
    upd = _aws(standalone, "secretsmanager", "update-secret", "--secret-id", "cross-partition-commercial-creds",
               "--secret-string", secret_json, "--profile", "govcloud", "--region", "us-gov-west-1",
               profile_env={**prof, **env_no_keys})
    assert upd["Name"] == "cross-partition-commercial-creds"
    got = _client(standalone.url, "secretsmanager", "us-gov-west-1").get_secret_value(SecretId="cross-partition-commercial-creds")
    _ok(json.loads(got["SecretString"])["bedrock_api_key"] == cred["ServiceCredentialSecret"], "the secret holds the key")
    described = _client(standalone.url, "secretsmanager", "us-gov-west-1").describe_secret(
        SecretId="cross-partition-commercial-creds")
    assert "KmsKeyId" not in described  # the guide uses the default aws/secretsmanager key
    # the commercial partition has no such secret
    assert _client(standalone.url, "secretsmanager").list_secrets()["SecretList"] == []
    # Key Expiration section: list, delete, create again
    lst = _aws(standalone, "iam", "list-service-specific-credentials", "--user-name", USER,
               "--service-name", "bedrock.amazonaws.com")
    ids = [c["ServiceSpecificCredentialId"] for c in lst["ServiceSpecificCredentials"]]
    assert ids == [cred["ServiceSpecificCredentialId"]]
    assert "ServiceCredentialSecret" not in set(lst["ServiceSpecificCredentials"][0])
    _aws(standalone, "iam", "delete-service-specific-credential", "--user-name", USER,
         "--service-specific-credential-id", ids[0])
    again = _aws(standalone, "iam", "create-service-specific-credential", "--user-name", USER,
                 "--service-name", "bedrock.amazonaws.com", "--credential-age-days", "180")
    assert again["ServiceSpecificCredential"]["ServiceSpecificCredentialId"] != ids[0]


def test_cli_refuses_non_loopback_host(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bedrock_key_audit.emulator", "--host", "0.0.0.0", "--port", "0"],
                          cwd=ROOT, env=_clean_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "loopback" in proc.stderr
    assert proc.stdout == ""


def test_cli_refuses_unknown_scenario(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bedrock_key_audit.emulator", "--scenario", "nope"],
                          cwd=ROOT, env=_clean_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "nope" in lines[0] and all(n in lines[0] for n in scenarios.SCENARIOS)


def test_cli_lists_scenarios(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bedrock_key_audit.emulator", "--list-scenarios"],
                          cwd=ROOT, env=_clean_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert [line.split()[0] for line in proc.stdout.splitlines()] == list(scenarios.SCENARIOS)


def test_faults_sub_paths_reach_the_real_faults_module(emu):
    faults = pytest.importorskip("bedrock_key_audit.emulator.faults")
    if not hasattr(faults, "handle_control"):
        pytest.skip("bedrock_key_audit.emulator.faults has no handle_control yet")
    with _http() as http:
        armed = http.post(f"{emu.url}/_emulator/faults/throttle", json={"n": 1, "path_prefix": "/model/"})
        assert armed.status_code == 200
        assert http.get(f"{emu.url}/_emulator/faults").json()["pending"]
        assert http.post(f"{emu.url}/_emulator/faults/no-such-fault", json={}).status_code == 404
    emu.reset()
    assert faults.pending() == []


def test_health_answers_ready_only_after_the_start_scenario(emu, monkeypatch):
    """The CLI starts with ready=False, builds its scenario, then marks ready."""
    from bedrock_key_audit.emulator import __main__ as cli

    emu._ready.clear()
    try:
        with _http() as http:
            r = http.get(f"{emu.url}/_emulator/health")
            assert r.status_code == 503
            body = r.json()
            assert body["ok"] is False and body["ready"] is False
            assert body["accounts"]["commercial"] == "123456789012" and body["url"] == emu.url
    finally:
        emu.mark_ready()
    with _http() as http:
        r = http.get(f"{emu.url}/_emulator/health")
        assert r.status_code == 200 and r.json()["ok"] is True and r.json()["ready"] is True
    # The CLI: health is probed while the start scenario is being built, and the URL printed after.
    seen: list = []

    class Probe(Emulator):
        def apply(self, name):
            with _http() as http:
                seen.append(http.get(f"{self.url}/_emulator/health").status_code)
            super().apply(name)
            with _http() as http:
                seen.append(http.get(f"{self.url}/_emulator/health").status_code)

        def start(self, ready=True):
            seen.append(("ready", ready))
            return super().start(ready)

    import threading as _threading

    class Stop(_threading.Event):
        def wait(self, timeout=None):
            return True

    monkeypatch.setattr("bedrock_key_audit.emulator.server.Emulator", Probe)
    monkeypatch.setattr(threading, "Event", Stop)  # the module __main__ uses
    monkeypatch.setattr(signal, "signal", lambda *a: None)
    monkeypatch.setattr("bedrock_key_audit.guard.install", lambda: None)
    assert cli.main(["--scenario", "empty"]) == 0
    assert seen == [("ready", False), 503, 503]


def test_cli_refuses_moto_iam_enforcement_in_one_line(tmp_path):
    """moto's switch crashed the scenario build with a traceback; the emulator says in one line why,
    and names its own enforcement (--enforce-iam) instead."""
    env = {**_clean_env(tmp_path), "INITIAL_NO_AUTH_ACTION_COUNT": "0"}
    proc = subprocess.run([sys.executable, "-m", "bedrock_key_audit.emulator", "--port", "0", "--scenario", "guide"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("error: INITIAL_NO_AUTH_ACTION_COUNT (moto's IAM enforcement) is not supported")
    assert "use --enforce-iam" in proc.stderr
