"""A run stopped by the user leaves no empty run directory, and index.html never shows a blank row."""
from __future__ import annotations

import json

import pytest

from bedrock_key_audit.reporting.history import history_rows, write_index
from tests.audit.helpers import CHECKS, ROOT


class _CtrlC:
    """The user's Ctrl-C while pytest collects (after the run directory was made)."""

    def pytest_collection_modifyitems(self, items):
        raise KeyboardInterrupt


def test_ctrl_c_before_any_check_leaves_no_run_directory(pytester, tmp_path):
    reports = tmp_path / "reports"
    (reports / "20261101T000000Z").mkdir(parents=True)
    (reports / "20261101T000000Z" / "results.json").write_text(json.dumps(
        {"run": {"exit_status": 0, "mode": "emulate"}, "summary": {"pass": 1}, "checks": []}))
    result = pytester.runpytest_inprocess(str(CHECKS), "-p", "no:cacheprovider", f"--rootdir={ROOT}", "-c",
                                          str(ROOT / "pyproject.toml"), f"--reports-dir={reports}",
                                          "--emulate=compliant", plugins=[_CtrlC()], no_reraise_ctrlc=True)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert sorted(p.name for p in reports.iterdir() if p.is_dir()) == ["20261101T000000Z"]


def test_an_abandoned_empty_run_directory_is_no_row(tmp_path):
    """A run killed before it wrote anything (or one still running) leaves its directory empty."""
    (tmp_path / "20261101T000000Z").mkdir()
    (tmp_path / "20261101T000000Z" / "results.json").write_text(json.dumps(
        {"run": {"exit_status": 1, "mode": "emulate", "started": "2026-11-01T00:00:00Z"}, "summary": {"fail": 2},
         "checks": []}))
    (tmp_path / "20261102T000000Z").mkdir()
    assert [r["name"] for r in history_rows(tmp_path)] == ["20261101T000000Z"]
    html = write_index(tmp_path).read_text()
    assert "20261101T000000Z" in html and "20261102T000000Z" not in html
