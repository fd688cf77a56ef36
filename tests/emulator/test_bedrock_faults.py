"""Fault injection on the Bedrock endpoints (python API and the emulator's control API)."""
from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from bedrock_key_audit.emulator import faults

from .test_bedrock_helpers import (  # noqa: F401  (fixtures)
    CLAUDE_35, assert_auth_failed, assert_error, bedrock, key, keys, light, module_emu,
)

LIST = "/foundation-models"


def test_throttle(bedrock, key):
    faults.throttle(n=2)
    for _ in range(2):
        r = bedrock.get(LIST, key)
        assert_error(r, 429, "ThrottlingException", "Too many requests, please wait before trying again.")
    assert bedrock.get(LIST, key).status_code == 200
    assert faults.pending() == []


def test_throttle_path_prefix(bedrock, key):
    faults.throttle(n=1, path_prefix="/model/")
    assert bedrock.get(LIST, key).status_code == 200
    assert faults.pending()[0]["remaining"] == 1
    assert_error(bedrock.converse(CLAUDE_35, key), 429, "ThrottlingException")
    assert bedrock.converse(CLAUDE_35, key).status_code == 200


def test_faults_come_before_authentication(bedrock, key):
    faults.throttle(n=1)
    assert_error(bedrock.get(LIST, "ABSKbogus"), 429, "ThrottlingException")
    assert_auth_failed(bedrock.get(LIST, "ABSKbogus"))


def test_unlimited_until_reset(bedrock, key):
    faults.fail(status=503, n=None)
    for _ in range(3):
        assert_error(bedrock.get(LIST, key), 503, "ServiceUnavailableException")
    faults.reset()
    assert bedrock.get(LIST, key).status_code == 200


@pytest.mark.parametrize("status, error_type, expect", [
    (500, None, "InternalServerException"),
    (503, None, "ServiceUnavailableException"),
    (500, "ModelErrorException", "ModelErrorException"),
    (408, None, "ModelTimeoutException"),
])
def test_fail(bedrock, key, status, error_type, expect):
    faults.fail(status=status, n=1, error_type=error_type)
    assert_error(bedrock.converse(CLAUDE_35, key), status, expect)
    assert bedrock.converse(CLAUDE_35, key).status_code == 200


def test_malformed(bedrock, key):
    faults.malformed(n=1)
    r = bedrock.get(LIST, key)
    assert r.status_code == 200
    with pytest.raises(ValueError):
        json.loads(r.text)
    assert bedrock.get(LIST, key).json()["modelSummaries"]


def test_stall(bedrock, key):
    faults.stall(seconds=0.4, n=1)
    t0 = time.perf_counter()
    assert bedrock.get(LIST, key).status_code == 200
    assert time.perf_counter() - t0 >= 0.4
    t0 = time.perf_counter()
    bedrock.get(LIST, key)
    assert time.perf_counter() - t0 < 0.4


def test_stall_makes_a_client_time_out(bedrock, key):
    faults.stall(seconds=30, n=1)
    with pytest.raises(httpx.ReadTimeout):
        bedrock.get(LIST, key, timeout=0.3)
    t0 = time.perf_counter()
    faults.reset()  # wakes the stalled request at once instead of in 30 s
    assert bedrock.get(LIST, key).status_code == 200
    assert time.perf_counter() - t0 < 2


def test_stall_then_fail(bedrock, key):
    faults.stall(seconds=0.2)
    faults.fail(status=503)
    t0 = time.perf_counter()
    assert_error(bedrock.get(LIST, key), 503, "ServiceUnavailableException")
    assert time.perf_counter() - t0 >= 0.2


def test_first_armed_first_consumed(bedrock, key):
    faults.fail(status=500)
    faults.throttle()
    assert bedrock.get(LIST, key).status_code == 500
    assert bedrock.get(LIST, key).status_code == 429
    assert bedrock.get(LIST, key).status_code == 200


def test_thread_safety(bedrock, key):
    faults.throttle(n=10)
    statuses: list[int] = []
    lock = threading.Lock()

    def call():
        with httpx.Client(base_url=str(bedrock.http.base_url), timeout=10) as c:
            s = c.get(LIST, headers={"Authorization": f"Bearer {key}"}).status_code
        with lock:
            statuses.append(s)

    threads = [threading.Thread(target=call) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] * 6 + [429] * 10


def test_calls_log(bedrock, key):
    faults.throttle()
    bedrock.get(LIST, key)
    bedrock.converse(CLAUDE_35, key)
    bedrock.get(LIST, "ABSKnope")
    log = faults.calls()
    assert [(c["method"], c["path"], c["status"]) for c in log] == [
        ("GET", LIST, 429), ("POST", f"/model/{CLAUDE_35}/converse", 200), ("GET", LIST, 403)]
    assert all(c["duration_ms"] >= 0 for c in log)
    assert log[0]["error_type"] == "ThrottlingException"
    leaked = key in json.dumps(log)
    assert not leaked, "the call log holds the key"
    faults.clear_calls()
    assert faults.calls() == []


def test_emulator_reset_resets_faults(emu, bedrock, key):
    faults.throttle(n=None)
    emu.reset()
    assert faults.pending() == [] and faults.calls() == []


@pytest.mark.parametrize("call", [
    lambda: faults.throttle(n=0), lambda: faults.throttle(n=True), lambda: faults.throttle(path_prefix="model"),
    lambda: faults.stall(seconds=-1), lambda: faults.stall(seconds=10_000), lambda: faults.fail(status=418),
    lambda: faults.fail(status=500, error_type="not an identifier"), lambda: faults.malformed(n=1.5),  # type: ignore[arg-type]  # deliberately invalid
])
def test_bad_arguments(call):
    with pytest.raises(ValueError):
        call()
    assert faults.pending() == []


# --------------------------------------------------------------------------- control API
def test_handle_control_path_form(light):
    assert faults.handle_control("/_emulator/reset", {}) is None
    assert faults.handle_control("/_emulator/faultsX", {}) is None
    status, body = faults.handle_control("/_emulator/faults/throttle", {"n": 2, "path_prefix": "/model/"})
    assert status == 200 and body["fault"]["kind"] == "throttle" and body["fault"]["remaining"] == 2
    status, body = faults.handle_control("/_emulator/faults/stall", {"seconds": 1})
    assert status == 200 and body["fault"]["seconds"] == 1
    status, body = faults.handle_control("/_emulator/faults", {})
    assert status == 200 and [f["kind"] for f in body["pending"]] == ["throttle", "stall"]
    assert faults.handle_control("/_emulator/faults/fail", {"status": 418})[0] == 400
    assert faults.handle_control("/_emulator/faults/fail", {"statsu": 500})[0] == 400
    assert faults.handle_control("/_emulator/faults/explode", {})[0] == 404
    assert faults.handle_control("/_emulator/faults/throttle/x", {})[0] == 404
    assert faults.handle_control("/_emulator/faults/calls", {}) == (200, {"calls": []})
    assert faults.handle_control("/_emulator/faults/reset", {}) == (200, {"ok": True})
    assert faults.pending() == []


def test_handle_control_method_form(light):
    status, body = faults.handle_control("POST", {"action": "fail", "status": 503, "n": 3})
    assert status == 200 and body["fault"]["error_type"] == "ServiceUnavailableException"
    status, body = faults.handle_control("GET", {})
    assert status == 200 and body["pending"][0]["remaining"] == 3
    assert faults.handle_control("POST", {"action": "reset"}) == (200, {"ok": True})
    assert faults.pending() == []


def test_control_api_over_http(light, bedrock, key):
    """Through the server's ``/_emulator/faults`` route, whichever convention it wires."""
    with httpx.Client(base_url=light.url, timeout=10) as c:
        r = c.post("/_emulator/faults", json={"action": "throttle", "n": 1})
        assert r.status_code == 200, r.text
        assert_error(bedrock.get(LIST, key), 429, "ThrottlingException")
        assert bedrock.get(LIST, key).status_code == 200
        r = c.get("/_emulator/faults")
        assert r.status_code == 200 and r.json()["pending"] == [] and r.json()["calls"] == 2
        c.post("/_emulator/faults", json={"action": "malformed", "n": None})
        assert bedrock.get(LIST, key).status_code == 200
        assert c.post("/_emulator/faults", json={"action": "reset"}).status_code == 200
        assert bedrock.get(LIST, key).json()["modelSummaries"]
        assert c.post("/_emulator/faults", json={"action": "fail", "status": 418}).status_code == 400
