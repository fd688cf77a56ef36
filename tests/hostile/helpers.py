"""One hostile audit run: build a state, run the real audit, check the rows and that nothing changed."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from tests.audit.helpers import ALL_ROWS, run_audit, statuses
from tests.remediation.helpers import snapshot

USER = "bedrock-cross-partition-user"
SECRET = "cross-partition-commercial-creds"
TRAIL = "bedrock-audit-trail"
BEDROCK = "bedrock.amazonaws.com"

# Endpoint rows and the row that asks Bedrock whether the stored key is live.
ENDPOINT = ("endpoint.list_models", "endpoint.invoke")


def write_config(pytester, text: str, name: str = "hostile.toml") -> str:
    path = Path(pytester.path) / name
    path.write_text(text)
    return f"--audit-config={path}"


# Small endpoint budget: a stalled or refusing Bedrock must not cost the matrix seconds.
FAST_ENDPOINT = "[endpoint]\ntimeout_seconds = 0.5\nmax_attempts = 1\n"


def audit(pytester, setup: Callable[[Any], object] | None = None, *args: str, scenario: str = "compliant",
          unchanged: bool = True) -> dict[str, Any]:
    """Run the audit on ``scenario`` + ``setup(emu)``; rows by id.

    Asserts what holds for every hostile run: one row per check, every verdict one clean line
    (no traceback, no "unexpected" exception), and -- unless ``unchanged=False`` -- the audit
    changed nothing in either account.
    """
    seen: dict[str, Any] = {}

    def wrapped(emu: Any) -> None:
        if setup is not None:
            setup(emu)
        seen["emu"] = emu
        if unchanged:
            seen["before"] = snapshot(emu)

    rows = run_audit(pytester, scenario, *args, setup=wrapped)
    got = statuses(rows)
    assert sorted(got) == sorted(ALL_ROWS), f"rows missing or extra: {sorted(set(got) ^ set(ALL_ROWS))}"
    for row, rec in rows.items():
        if row.startswith("__"):
            continue
        assert rec["status"] in ("pass", "fail", "error"), (row, rec["status"])
        detail = rec["detail"]
        assert detail and "\n" not in detail, (row, detail)
        assert "Traceback" not in detail, (row, detail)
    # a bug in a check or fixture (not a verdict) is reported with "(unexpected <Exception> ...)"
    for rep in rows["__reprec__"].getreports("pytest_runtest_logreport"):
        text = str(rep.longrepr or "")
        assert "(unexpected " not in text and "Traceback" not in text, text[:600]
    if unchanged:
        assert snapshot(seen["emu"]) == seen["before"], "the audit changed the accounts"
    return rows


def expect(rows: dict[str, Any], changed: dict[str, tuple[str, str | None]]) -> None:
    """Rows in ``changed`` end (status, substring of detail); every other row passes."""
    got = statuses(rows)
    want = {row: changed.get(row, ("pass", None))[0] for row in ALL_ROWS}
    wrong = {row: (got[row], want[row], rows[row]["detail"]) for row in ALL_ROWS if got[row] != want[row]}
    assert not wrong, f"(got, expected, detail): {json.dumps(wrong, indent=1)}"
    for row, (_, text) in changed.items():
        if text is not None:
            assert text in rows[row]["detail"], (row, text, rows[row]["detail"])


def records_text(rows: dict[str, Any]) -> str:
    """Every record's detail, evidence and remediation, as one string to search for leaks."""
    return json.dumps({k: v for k, v in rows.items() if not k.startswith("__")}, default=str)
