"""Run the real audit (checks/) in-process against the emulator and collect its verdicts."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

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


def node_ids(rows: Iterable[str]) -> list[str]:
    """The exact pytest node ids that run ``rows``: check ids (``secret.readers_restricted``, every row of
    the check) or row ids (``cloudtrail.logging[commercial]``), as the generated ``checks/test_<module>.py``
    names them (bedrock_key_audit/fixtures/checkgen.py: one test per ``@verdict``, its parameters in brackets)."""
    import importlib

    from bedrock_key_audit.checkcore import VERDICTS

    for path in sorted(CHECKS.glob("test_*.py")):  # each declares the verdicts of its namesake module
        importlib.import_module(f"bedrock_key_audit.verdicts.{path.stem.removeprefix('test_')}")

    rows = list(rows)
    out = []
    for row in rows:
        check_id, bracket, params = row.partition("[")
        if bracket and check_id in rows:
            continue  # the whole check is selected
        decl = VERDICTS.get(check_id)
        if decl is None:
            raise ValueError(f"no check {check_id!r} (row {row!r})")
        path = CHECKS / f"test_{decl.module.rsplit('.', 1)[-1]}.py"
        if not path.is_file():
            raise ValueError(f"check {check_id!r}: no {path.name} in checks/")
        node = f"{path}::{decl.test_name}{bracket}{params}"
        if node not in out:
            out.append(node)
    return out


def wanted_rows(rows: Iterable[str]) -> set[str]:
    """Every row id that ``rows`` (check or row ids) name in a one-key run."""
    return {r.id for row in rows for r in registry.rows_of(row.partition("[")[0]) if row in (r.id, r.check_id)}


def run_audit(pytester, scenario: str, *args: str, setup=None, skip_tracebacks: bool = True,
              rows: Iterable[str] | None = None) -> dict[str, Any]:
    """Audit ``scenario`` in-process and return {row id: final check record}.

    ``setup(emu)`` runs after the scenario is built and before the audit reads anything.
    ``skip_tracebacks``: use :class:`SkipDiscardedTracebacks` (tests/audit/test_helpers.py
    proves a run is the same without it).
    ``rows``: run only these checks or rows (check ids or row ids, turned into exact node ids by
    :func:`node_ids`); the read planner then starts only the reads they need, and a selection's rows
    equal a whole run's (tests/audit/test_selection.py).  Without it, the whole audit runs.
    """
    capture = _SnapshotCapture()
    plugins = [capture, *([SkipDiscardedTracebacks()] if skip_tracebacks else []),
               *([_AfterScenario(setup)] if setup else [])]
    selected = None if rows is None else list(rows)
    targets = [str(CHECKS)] if selected is None else node_ids(selected)
    rec = pytester.inline_run(
        *targets, f"--emulate={scenario}", "--no-reports", "-p", "no:cacheprovider",
        f"--rootdir={ROOT}", "-c", str(ROOT / "pyproject.toml"), *args, plugins=plugins,
    )
    got: dict[str, Any] = {}  # row id -> check record; "__reprec__" -> the HookRecorder
    for rep in rec.getreports("pytest_runtest_logreport"):
        for key, value in rep.user_properties:
            if key == "check_record":
                got[row_id(value)] = value
    if selected is not None:
        ran = {r.partition("[")[0] for r in got}
        assert ran == {r.partition("[")[0] for r in selected}, f"selected {sorted(selected)}, ran {sorted(ran)}"
    got["__reprec__"] = rec
    got["__snapshot__"] = capture.document
    return got


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
