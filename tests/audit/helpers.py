"""Run the real audit (checks/) in-process against the emulator and collect its verdicts."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bedrock_key_audit import registry

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ROOT / "checks"

# every row of a one-key run (bedrock_key_audit/registry.py, from checks/metadata/)
ALL_ROWS = list(registry.row_ids())


def row_id(record: dict[str, Any]) -> str:
    params = record.get("params") or {}
    return record["check_id"] + (f"[{','.join(params.values())}]" if params else "")


class _AfterScenario:
    """Runs ``setup(emulator)`` once the emulator plugin has built the scenario."""

    def __init__(self, setup):
        self.setup = setup

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config):
        from bedrock_key_audit.fixtures.emulator.plugin import EMULATOR_KEY

        self.setup(config.stash[EMULATOR_KEY])


class SkipDiscardedTracebacks:
    """Spares pytest the long traceback it formats for a failing row before fixtures/checks.py
    throws it away.

    For a row's own verdict (``CheckFailed``, any ``AssertionError``, ``CouldNotDecide``)
    fixtures/checks.py's ``pytest_runtest_makereport`` replaces the report's ``longrepr`` with
    the one-line ``<row> FAIL|ERROR: <detail>``, so what pytest formatted first is never seen;
    formatting it (``_repr_failure_py``: the source and AST of every frame, some 65 per row) was
    about three quarters of an audit run with a dozen error rows.  Only those exception types,
    only on rows (items with a check record); anything else -- a bug in a check, whose short
    traceback fixtures/checks.py keeps -- is formatted by pytest as before.  Nothing a test can
    observe changes: the same reports, records and output.
    """

    @pytest.hookimpl
    def pytest_itemcollected(self, item):
        from bedrock_key_audit.fixtures.checks import RECORD
        from bedrock_key_audit.checkcore import CouldNotDecide

        formatted = item._repr_failure_py

        def repr_failure_py(excinfo, style=None):
            # the record is stashed at the end of collection (fixtures/checks.py), after this hook
            if item.stash.get(RECORD, None) is not None and isinstance(excinfo.value, (AssertionError, CouldNotDecide)):
                return f"(verdict {type(excinfo.value).__name__}: replaced by fixtures/checks.py)"
            return formatted(excinfo, style=style)

        item._repr_failure_py = repr_failure_py


class _SnapshotCapture:
    """Keeps the run's snapshot document (fixtures/replay.py), taken once every inventory is torn down."""

    def __init__(self):
        self.document = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session):
        from bedrock_key_audit.fixtures.config import CONFIG_KEY
        from bedrock_key_audit.fixtures.replay import document

        self.document = document(session.config, session.config.stash.get(CONFIG_KEY, None))


def run_audit(pytester, scenario: str, *args: str, setup=None, skip_tracebacks: bool = True) -> dict[str, Any]:
    """Audit ``scenario`` in-process and return {row id: final check record}.

    ``setup(emu)`` runs after the scenario is built and before the audit reads anything.
    ``skip_tracebacks``: use :class:`SkipDiscardedTracebacks` (tests/audit/test_helpers.py
    proves a run is the same without it).
    """
    capture = _SnapshotCapture()
    plugins = [capture, *([SkipDiscardedTracebacks()] if skip_tracebacks else []),
               *([_AfterScenario(setup)] if setup else [])]
    rec = pytester.inline_run(
        str(CHECKS), f"--emulate={scenario}", "--no-reports", "-p", "no:cacheprovider",
        f"--rootdir={ROOT}", "-c", str(ROOT / "pyproject.toml"), *args, plugins=plugins,
    )
    rows: dict[str, Any] = {}  # row id -> check record; "__reprec__" -> the HookRecorder
    for rep in rec.getreports("pytest_runtest_logreport"):
        for key, value in rep.user_properties:
            if key == "check_record":
                rows[row_id(value)] = value
    rows["__reprec__"] = rec
    rows["__snapshot__"] = capture.document
    return rows


def replay_audit(pytester, snapshot: dict[str, Any], *args: str) -> dict[str, Any]:
    """Judge every row again in-process from ``snapshot`` (``--replay-snapshot``): {row id: check record}."""
    import json

    path = pytester.path / "replayed-snapshot.json"
    path.write_text(json.dumps(snapshot), encoding="utf-8")
    rec = pytester.inline_run(
        str(CHECKS), f"--replay-snapshot={path}", "--no-reports", "-p", "no:cacheprovider",
        f"--rootdir={ROOT}", "-c", str(ROOT / "pyproject.toml"), *args, plugins=[SkipDiscardedTracebacks()],
    )
    rows: dict[str, Any] = {}
    for rep in rec.getreports("pytest_runtest_logreport"):
        for key, value in rep.user_properties:
            if key == "check_record":
                rows[row_id(value)] = value
    return rows


def rejudge_differences(rows: dict[str, Any], replayed: dict[str, Any]) -> dict[str, Any]:
    """{row id: (recorded status, detail), (re-judged status, detail)} of every row that differs."""
    out = {}
    for row, rec in rows.items():
        if row.startswith("__"):
            continue
        got = replayed.get(row)
        mine = (rec["status"], rec.get("detail"))
        theirs = (got["status"], got.get("detail")) if got else None
        if mine != theirs:
            out[row] = (mine, theirs)
    return out


def statuses(rows: dict[str, Any]) -> dict[str, str]:
    return {k: v["status"] for k, v in rows.items() if not k.startswith("__")}
