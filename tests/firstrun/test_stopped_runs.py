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


def _swallowed_ctrl_c(word: str) -> None:
    """A real SIGINT delivered inside a weakref callback, where CPython prints "Exception ignored" and
    drops the KeyboardInterrupt (as during start-up imports, ``_get_module_lock.<locals>.cb``)."""
    import gc
    import os
    import signal
    import weakref

    class Thing:
        pass

    def callback(r: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(1000))  # the handler runs here, inside the callback

    thing = Thing()
    ref = weakref.ref(thing, callback)
    del thing
    gc.collect()
    assert ref() is None
    return None


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the swallowed interrupt, on purpose
def test_a_ctrl_c_swallowed_at_start_up_stops_the_run(monkeypatch, capsys, tmp_path):
    import signal

    from bedrock_key_audit import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "_mistyped_subcommand", _swallowed_ctrl_c)
    before = signal.getsignal(signal.SIGINT)
    ran: list[object] = []

    def fake_main(*a: object, **k: object) -> int:
        ran.append(a)
        return 0

    monkeypatch.setattr("pytest.main", fake_main)
    assert cli.main(["-q"]) == pytest.ExitCode.INTERRUPTED
    assert not ran, "the audit ran after Ctrl-C"
    assert capsys.readouterr().err.strip().endswith("bedrock-key-audit: interrupted")
    assert signal.getsignal(signal.SIGINT) is before  # the handler is the console script's only while it runs
    assert not (tmp_path / "reports").exists()
    assert not cli.interrupted()


def test_a_swallowed_ctrl_c_stops_before_collection_and_before_each_check(monkeypatch):
    from bedrock_key_audit import cli
    from bedrock_key_audit.fixtures import audit

    audit.pytest_collection_modifyitems([])  # no Ctrl-C: nothing happens
    monkeypatch.setattr(cli, "_SIGINT", [True])
    with pytest.raises(KeyboardInterrupt):
        audit.pytest_collection_modifyitems([])
    with pytest.raises(KeyboardInterrupt):
        audit.pytest_runtest_protocol(None)


def test_a_config_error_leaves_no_reports_directory(pytester, tmp_path):
    bad = tmp_path / "audit.toml"
    bad.write_text('[partitions.commercial]\nregion = "us-esat-1"\n')
    reports = tmp_path / "reports"
    result = pytester.runpytest_inprocess(str(CHECKS), "-p", "no:cacheprovider", f"--rootdir={ROOT}", "-c",
                                          str(ROOT / "pyproject.toml"), f"--reports-dir={reports}",
                                          f"--audit-config={bad}", "--emulate=compliant")
    assert result.ret == 4
    assert not reports.exists()
    # a reports directory that was there before stays, with what it held
    (reports / "20261101T000000Z").mkdir(parents=True)
    result = pytester.runpytest_inprocess(str(CHECKS), "-p", "no:cacheprovider", f"--rootdir={ROOT}", "-c",
                                          str(ROOT / "pyproject.toml"), f"--reports-dir={reports}",
                                          f"--audit-config={bad}", "--emulate=compliant")
    assert result.ret == 4 and [p.name for p in reports.iterdir()] == ["20261101T000000Z"]
