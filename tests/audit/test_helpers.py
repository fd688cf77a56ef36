"""The in-process run helpers change nothing a test can observe."""
from __future__ import annotations

import re
from typing import Any

from bedrock_key_audit.emulator import aws_faults
from tests.audit.helpers import run_audit


# what differs between two builds of a scenario: credential ids, KMS key ids, secret ARN suffixes
_IDS = re.compile(r"ACCA[A-Z0-9]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
                  r"|(?<=:secret:cross-partition-commercial-creds)-[A-Za-z0-9]{6}")


def _observable(rows: dict[str, Any]) -> dict[str, Any]:
    """Each row's verdict and every report's outcome and text (timings and generated ids left out)."""
    out: dict[str, Any] = {row: (rec["status"], _IDS.sub("<id>", rec["detail"]), rec.get("remediation"))
                           for row, rec in rows.items() if not row.startswith("__")}
    for rep in rows["__reprec__"].getreports("pytest_runtest_logreport"):
        out[f"{rep.nodeid} {rep.when}"] = (rep.outcome, _IDS.sub("<id>", str(rep.longrepr or "")))
    return out


def test_skipping_discarded_tracebacks_changes_no_row_and_no_report(pytester):
    """SkipDiscardedTracebacks (tests/audit/helpers.py) on a run with fail rows (the guide) and
    error rows (a denied read): the same verdicts, details and report texts as without it."""
    def deny(emu):
        aws_faults.deny("secretsmanager:GetSecretValue")

    fast = _observable(run_audit(pytester, "guide", setup=deny))
    slow = _observable(run_audit(pytester, "guide", setup=deny, skip_tracebacks=False))
    assert any(text[0] == "failed" for text in fast.values() if isinstance(text, tuple) and len(text) == 2)
    assert {r for r, v in fast.items() if len(v) == 3 and v[0] == "error"}, "the run has error rows"
    assert {r for r, v in fast.items() if len(v) == 3 and v[0] == "fail"}, "the run has fail rows"
    assert fast == slow


def _collected_rows(pytester, rows: list[str]) -> list[str]:
    from tests.audit.helpers import ROOT, node_ids

    rec = pytester.inline_run(*node_ids(rows), "--collect-only", "--emulate=compliant", "--no-reports",
                              "-p", "no:cacheprovider", f"--rootdir={ROOT}", "-c", str(ROOT / "pyproject.toml"))
    items = rec.getcalls("pytest_collection_finish")[0].session.items
    out = []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        out.append(item.get_closest_marker("check").args[0] + (f"[{','.join(params.values())}]" if params else ""))
    return out


def test_rows_name_exactly_their_node_ids(pytester):
    """``run_audit(rows=...)`` turns every row id, and every check id, into node ids that collect exactly
    that row (or every row of that check) and nothing else."""
    from bedrock_key_audit import registry
    from tests.audit.helpers import ALL_ROWS, wanted_rows

    assert sorted(_collected_rows(pytester, ALL_ROWS)) == sorted(ALL_ROWS)
    assert sorted(_collected_rows(pytester, list(registry.check_ids()))) == sorted(ALL_ROWS)
    some = ["cloudtrail.logging[govcloud]", "secret.readers_restricted", "org.key_lifetime_capped", "org.key_lifetime_capped[commercial]"]
    assert sorted(_collected_rows(pytester, some)) == sorted(wanted_rows(some)) == [
        "cloudtrail.logging[govcloud]", "org.key_lifetime_capped[commercial]", "org.key_lifetime_capped[govcloud]",
        "secret.readers_restricted"]
