"""``--fail-on SEVERITY``: the exit status from the checks' severities.  Failures of tests that
are not checks (and collection or usage errors) always keep it non-zero."""
from __future__ import annotations

from typing import Any

import pytest

from bedrock_key_audit.reporting import results
from bedrock_key_audit.reporting.rundir import RunState


def apply_fail_on(session: pytest.Session, st: RunState, fail_on: str | None) -> None:
    """``--fail-on``: only failing checks at or above the severity keep the exit status non-zero.

    Waived rows (a ``fail`` a live waiver covers) never do, with or without ``--fail-on``:
    pytest saw them fail, so without ``--fail-on`` a run with waived rows is judged as
    ``--fail-on info`` would judge it (any failing check keeps the status non-zero)."""
    waived = [r for r in st.rows if r["status"] == "waived"]
    if fail_on is None and not waived:
        return
    if session.exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return  # interrupted, usage or internal errors are never masked
    name = f"--fail-on {fail_on}" if fail_on is not None else "exit status"
    if st.other_failures:
        st.exit_note = f"{name}: {len(st.other_failures)} non-check failure(s) keep the exit status non-zero"
        return
    failing = [r for r in st.rows if r["status"] in results.FAILING]
    if fail_on == "none":
        blocking: list[dict[str, Any]] = []
    else:
        floor = results.SEVERITY_RANK[fail_on or "info"]
        blocking = [r for r in failing if results.SEVERITY_RANK.get(r["severity"], 0) >= floor]
    session.exitstatus = pytest.ExitCode.TESTS_FAILED if blocking else pytest.ExitCode.OK
    ignored = f"; {len(waived)} waived row(s) ignored" if waived else ""
    if fail_on is None:
        st.exit_note = (f"exit status: {len(failing)} failing check(s){ignored} -> exit status {int(session.exitstatus)}")
    else:
        st.exit_note = (f"--fail-on {fail_on}: {len(blocking)} of {len(failing)} failing check(s) at or above it"
                        f"{ignored} -> exit status {int(session.exitstatus)}")
