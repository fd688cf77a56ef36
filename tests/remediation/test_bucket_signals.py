"""Real signals at the bucket of ours: ``pytest --remediate`` in its own process is stopped (SIGTERM,
SIGKILL) while the emulator holds its ``PutBucketTagging`` between ``CreateBucket`` and the tag that marks
the bucket as ours (``/_emulator/aws-faults`` ``stall`` on ``s3:PutBucketTagging``).

The held call is then refused (a ``deny`` armed before the hold ends): the killed run's request never took
effect, so an untagged bucket of our name is left.  The next ``pytest --remediate`` with the same
``--reports-dir`` must recognise it from the killed run's journal (never as another's), tag it, finish the
step, and leave nothing orphaned: the only new bucket is that one, and no bucket entry stays open.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bedrock_key_audit.remediation import journal
from bedrock_key_audit.remediation.guard import OWNER_TAG
from tests.remediation.test_rotation_signals import ROOT, remote  # noqa: F401 -- fixture

OURS = "bedrock-key-audit-access-logs-123456789012-us-east-1"
TRAIL_BUCKET = "cloudtrail-logs-123456789012-us-east-1"


def _pytest(remote, reports: Path) -> subprocess.Popen:  # noqa: F811
    return subprocess.Popen([sys.executable, "-m", "pytest", "checks", "-p", "no:cacheprovider", "-q", "--remediate",
                             "-k", "bucket_protected", "--reports-dir", str(reports)],
                            cwd=ROOT, env=remote.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait(cond, what: str, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting until {what}")


def _journal_events(reports: Path) -> list[dict]:
    return [ev for d in sorted(reports.iterdir()) if d.is_dir() and not d.is_symlink()
            for ev in journal.read(d)]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_run_killed_between_create_bucket_and_tagging_converges_on_the_next_run(remote, tmp_path, sig):  # noqa: F811
    emu = remote.emu
    emu.post("/_emulator/aws-faults", {"action": "reset"})
    emu.post("/_emulator/scenario", {"name": "trail_bucket_no_access_logs"})
    s3 = emu.client("s3")
    before = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert OURS not in before
    reports = tmp_path / "reports"
    emu.post("/_emulator/aws-faults", {"action": "stall", "target": "s3:PutBucketTagging", "seconds": 8, "n": 1})
    proc = _pytest(remote, reports)
    try:
        _wait(lambda: any(h["kind"] == "stall" for h in emu.get("/_emulator/aws-faults")["hits"])
              or proc.poll() is not None, "PutBucketTagging is held")
        assert proc.poll() is None, (proc.stdout.read() if proc.stdout else "")[-800:]
        # the held request is refused when its hold ends: what the killed run asked never took effect
        emu.post("/_emulator/aws-faults", {"action": "deny", "target": "s3:PutBucketTagging", "n": 1})
        os.kill(proc.pid, sig)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code != 0, "pytest --remediate finished although it was signalled mid-step"
    _wait(lambda: any(h["kind"] == "deny" for h in emu.get("/_emulator/aws-faults")["hits"]), "the held call ended")
    emu.post("/_emulator/aws-faults", {"action": "reset"})
    assert {b["Name"] for b in s3.list_buckets()["Buckets"]} == before | {OURS}
    with pytest.raises(Exception, match="NoSuchTagSet"):
        s3.get_bucket_tagging(Bucket=OURS)  # untagged: only the killed run's journal says it is ours
    killed = [ev for ev in _journal_events(reports) if ev.get("kind") == "bucket"]
    assert [(ev["id"], ev["phase"]) for ev in killed] == [(OURS, "create")], killed

    nxt = _pytest(remote, reports)
    out, _ = nxt.communicate(timeout=300)
    assert nxt.returncode == 0, out[-1500:]
    assert OWNER_TAG in s3.get_bucket_tagging(Bucket=OURS)["TagSet"]
    assert {b["Name"] for b in s3.list_buckets()["Buckets"]} == before | {OURS}  # nothing orphaned
    assert s3.get_bucket_logging(Bucket=TRAIL_BUCKET)["LoggingEnabled"]["TargetBucket"] == OURS
    assert s3.get_public_access_block(Bucket=OURS)["PublicAccessBlockConfiguration"]["BlockPublicAcls"]
    events = [ev for ev in _journal_events(reports) if ev.get("kind") == "bucket"]
    assert [(ev["id"], ev["phase"]) for ev in events][-1] == (OURS, "tagged"), events
    assert journal.Journal(None, [d for d in reports.iterdir() if d.is_dir()]).open_entries("bucket") == {}
    results = json.loads((reports / "latest" / "results.json").read_text())
    assert OURS in json.dumps(results)  # the action log names the bucket it finished
    assert "never adopted" not in out and "not created by bedrock-key-audit" not in out
