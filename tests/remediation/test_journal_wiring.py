"""The plugin journals a rotation into the run directory, and the next run reads every earlier run's journal
(also a killed run's directory that holds nothing else)."""
from __future__ import annotations

import datetime as dt
import json
import types
from pathlib import Path
from typing import Any

import pytest

from bedrock_key_audit.fixtures.remediation import plugin
from bedrock_key_audit.remediation import journal, rotation
from tests.remediation.helpers import CHECKS, ROOT, Capture
from tests.keyscan import holds_key_head


def test_a_remediation_run_journals_into_its_run_directory(pytester, monkeypatch, tmp_path):
    monkeypatch.setattr(rotation, "EMULATED_DELAY", 0.0)
    reports = tmp_path / "reports"
    cap = Capture()
    result = pytester.runpytest_inprocess(
        str(CHECKS), "--emulate=key_expiring_soon", "--remediate", "-p", "no:cacheprovider", f"--rootdir={ROOT}",
        "-c", str(ROOT / "pyproject.toml"), f"--reports-dir={reports}", "-k", "credential", plugins=[cap])
    assert any(s.key == "credential.rotate" and s.status == "applied" for s in cap.plan), result.stdout.str()[-2000:]
    journals = [p for p in reports.glob("*/" + journal.FILE) if not p.parent.is_symlink()]  # not latest/
    assert len(journals) == 1
    text = journals[0].read_text()
    assert not holds_key_head(text) and "bedrock-api-key-" not in text
    events = [json.loads(line) for line in text.splitlines()]
    phases = [e["phase"] for e in events if e["kind"] == "rotation"]
    assert phases[0] == "create_key" and phases[-1] == "committed"
    new = next(e["credential"] for e in events if e["phase"] == "created")
    entry = next(e for e in cap.actions if e["step"] == "credential.rotate")
    assert entry["after"]["new_credential"] == new


def test_the_next_run_reads_earlier_journals_including_a_killed_runs(tmp_path):
    base = tmp_path / "reports"
    killed = base / "20261206T101010Z"  # a killed run: nothing but its journal
    killed.mkdir(parents=True)
    journal.Journal(killed).record("rotation", "r1", "create_key", user="u", before_ids=[])
    (base / "not-a-run").mkdir()
    journal.Journal(base / "not-a-run").record("rotation", "r9", "create_key", user="u")
    current = base / "20261206T111111Z"
    from bedrock_key_audit.fixtures.reporting.rundir import STATE, RunState

    stash = pytest.Stash()
    stash[STATE] = RunState(started=dt.datetime.now(dt.timezone.utc), run_id=current.name, base=base,
                            controller=True, write=True, run_dir=current)
    config: Any = types.SimpleNamespace(stash=stash)  # run_journal reads only the run's state from the stash
    j = plugin.run_journal(config)
    assert j.write_dir == current and j.read_dirs == [killed]
    assert list(j.open_entries("rotation")) == ["r1"]
    assert not Path(current / journal.FILE).exists()  # nothing written until a step records
