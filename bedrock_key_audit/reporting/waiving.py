"""Waivers at run time: the plugin's side of :mod:`waivers` (which holds the rules).

Each check's report is waived (or marked lapsed) as it is made, so the terminal's progress
letter, junit.xml, report.html's table and xdist all see the final status; the run's
waiver states (live, lapsed, stale, …) are computed once every row is in.

"Now" is the audit's clock, read once per run through the ``now`` fixture
(``bedrock_key_audit.fixtures.inventory``: under ``--emulate`` the emulator's clock) by
:func:`read_clock`; without that fixture (a run without the audit's inventory plugin) the
wall clock.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bedrock_key_audit.reporting import sources
from bedrock_key_audit.reporting.rundir import RunState
from bedrock_key_audit.reporting.waivers import (
    LAPSED,
    LIVE,
    WAIVED,
    Waiver,
    apply_to_record,
    waiver_note,
    waiver_states,
)


def run_waivers(config: pytest.Config, st: RunState) -> list[Waiver]:
    if st.waivers is None:
        st.waivers = sources.waivers(config)
    return st.waivers


def read_clock(request: pytest.FixtureRequest, st: RunState) -> None:
    """Once per run, when waivers are configured: the audit's now, from the ``now`` fixture."""
    if st.audit_now is not None or not run_waivers(request.config, st):
        return
    try:
        value = request.getfixturevalue("now")
    except pytest.FixtureLookupError:
        value = None
    st.audit_now = value if isinstance(value, dt.datetime) else dt.datetime.now(dt.timezone.utc)


def audit_now(st: RunState) -> dt.datetime:
    return st.audit_now or dt.datetime.now(dt.timezone.utc)


def apply_to_report(config: pytest.Config, st: RunState, report: Any) -> None:
    """A check's failing report under a waiver: its record (and the status the terminal shows)
    becomes ``waived`` while the waiver is live; its one-line verdict says so, or says the
    waiver lapsed."""
    if getattr(report, "check_status", None) != "fail":
        return
    rec = sources.record_of(report)
    waivers = run_waivers(config, st)
    if rec is None or not waivers:
        return
    live = apply_to_record(rec, waivers, audit_now(st))
    if "waiver" not in rec:
        return
    params = rec.get("params") or {}
    label = str(rec.get("check_id")) + (f"[{','.join(str(v) for v in params.values())}]" if params else "")
    if live:
        report.check_status = WAIVED
    word = "WAIVED" if live else "FAIL"
    report.longrepr = f"{label} {word}: {rec.get('detail') or ''} ({waiver_note(rec['waiver'])})"


def teststatus(report: Any) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
    """A waived check's progress letter ``w`` and word ``WAIVED``, counted apart ("N waived")."""
    if getattr(report, "check_status", None) == WAIVED and report.when in ("setup", "call"):
        return "waived", "w", ("WAIVED", {"yellow": True})
    return None


def states(config: pytest.Config, st: RunState) -> list[dict[str, Any]]:
    """Every waiver's state once all rows are in (results.json → ``waivers``)."""
    waivers = run_waivers(config, st)
    if not waivers:
        return []
    out = waiver_states(waivers, st.rows, sources.known_check_ids(config), audit_now(st))
    # under xdist the controller has no clock of its own: a row a worker marked lapsed says so
    for entry in out:
        if entry["state"] == LIVE:
            continue
        if any(isinstance(r.get("waiver"), dict) and r["waiver"].get("check") == entry["check"]
               and r["waiver"].get("state") == LAPSED for r in st.rows):
            entry["state"], entry["reason"] = LAPSED, f"expired at the end of {entry['expires']}"
    return out
