"""``aws_faults.stall``: a call is held in flight, then carried out (or released early by ``reset``)."""
from __future__ import annotations

import threading
import time

import httpx

from bedrock_key_audit.emulator import aws_faults


def test_a_stalled_call_is_held_then_carried_out_and_reset_releases_it(emu):
    iam = emu.client("iam")
    aws_faults.stall("iam:CreateUser", seconds=30, n=1)
    done: list[float] = []
    t0 = time.monotonic()
    def create() -> None:
        iam.create_user(UserName="held")
        done.append(time.monotonic() - t0)
    worker = threading.Thread(target=create)
    worker.start()
    deadline = time.monotonic() + 10
    while not any(h["kind"] == "stall" for h in aws_faults.hits()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert any(h["kind"] == "stall" and h["operation"] == "CreateUser" for h in aws_faults.hits())
    time.sleep(0.3)
    assert not done, "the stalled call was answered before its hold ended"
    assert "held" not in [u["UserName"] for u in iam.list_users()["Users"]]  # not carried out yet
    aws_faults.reset()
    worker.join(timeout=10)
    assert done and done[0] < 15
    assert "held" in [u["UserName"] for u in iam.list_users()["Users"]]
    iam.create_user(UserName="next")  # n=1: the next call is not held


def test_stall_control_endpoint_validates(emu):
    with httpx.Client(trust_env=False, timeout=10) as http:
        bad = http.post(f"{emu.url}/_emulator/aws-faults", json={"action": "stall", "target": "iam:GetUser",
                                                                  "seconds": -1})
        assert bad.status_code == 400 and "seconds" in bad.json()["error"]
        ok = http.post(f"{emu.url}/_emulator/aws-faults", json={"action": "stall", "target": "iam:GetUser",
                                                                 "seconds": 0.01, "n": 1})
        assert ok.status_code == 200
        rules = http.get(f"{emu.url}/_emulator/aws-faults").json()["rules"]
        assert rules[-1]["kind"] == "stall" and rules[-1]["seconds"] == 0.01
    aws_faults.reset()
