"""The terminal summary: counts, the change since the previous comparable run, the exit-status
note, where the reports went, and any problem writing them (every line redacted)."""
from __future__ import annotations

from typing import Any

from bedrock_key_audit.reporting import results
from bedrock_key_audit.redaction import redact_terminal
from bedrock_key_audit.reporting.rundir import RunState, no_checks
from bedrock_key_audit.reporting.waivers import (
    LAPSED,
    NOT_RUN,
    STALE,
    UNDECIDED,
    waiver_note,
)


def label(entry: dict[str, Any]) -> str:
    params = entry.get("params") or {}
    suffix = "[" + ",".join(f"{k}={v}" for k, v in sorted(params.items())) + "]" if params else ""
    return f"{entry['id']}{suffix}"


def write_summary(tr: Any, st: RunState) -> None:
    """pytest_terminal_summary's body on the controller (``tr`` is pytest's TerminalReporter)."""
    if not st.rows and no_checks(st):
        if st.problems and st.write:
            tr.write_sep("-", "bedrock audit reports")
            for p in st.problems:
                tr.write_line(redact_terminal(p))
        return
    tr.write_sep("-", "bedrock audit")
    s = results.summarize(st.rows)
    waived = f", {s['waived']} waived" if s.get("waived") else ""
    tr.write_line(f"checks: {s['total']} — {s['pass']} pass, {s['fail']} fail, {s['error']} error, {s['skip']} skip"
                  f"{waived}")
    write_waivers(tr, st)
    ch = st.changes or {}
    for note in ch.get("notes") or []:
        tr.write_line(redact_terminal(f"baseline: {note}"))
    if ch.get("previous_run"):
        tr.write_line(f"since {ch['previous_run']}: {len(ch['newly_failing'])} newly failing, "
                      f"{len(ch['newly_fixed'])} newly fixed, {len(ch['still_failing'])} still failing")
        for key, word, markup in (("newly_failing", "NEWLY FAILING", {"red": True}),
                                  ("newly_fixed", "NEWLY FIXED", {"green": True}),
                                  ("still_failing", "still failing", {})):
            for e in ch[key]:
                tr.write_line(redact_terminal(f"  {word} {label(e)} ({e['severity']}, {e['status']}): {e['detail']}"),
                              **markup)
    else:
        tr.write_line("since last run: no previous run with results.json in " + str(st.base))
    if st.exit_note:
        tr.write_line(st.exit_note)
    if st.run_dir is not None and st.results_path is not None:
        tr.write_line(f"reports: {st.run_dir}")
    if st.archive is not None:
        tr.write_line(f"evidence: {st.archive} sha256 {st.archive_sha256}")
        tr.write_line(f"verify with: bedrock-key-audit verify {st.archive}")
    if st.latest is not None:
        tr.write_line(f"latest: {st.latest}")
    if st.pruned:
        tr.write_line(f"pruned {len(st.pruned)} old run(s): {', '.join(st.pruned)}")
    for p in st.problems:
        tr.write_line(redact_terminal(p), red=True)



def write_waivers(tr: Any, st: RunState) -> None:
    """Waived rows, rows whose waiver lapsed, and waivers that are stale or did nothing."""
    for r in st.rows:
        w = r.get("waiver")
        if not isinstance(w, dict):
            continue
        word, markup = ("WAIVED", {"yellow": True}) if r["status"] == "waived" else ("WAIVER LAPSED", {"red": True})
        tr.write_line(redact_terminal(f"  {word} {label(r)} ({r['severity']}): {waiver_note(w)}"), **markup)
    shown = {r["waiver"].get("check") for r in st.rows if isinstance(r.get("waiver"), dict)}
    for w in st.waiver_states:
        if w["state"] in (STALE, UNDECIDED, NOT_RUN) or (w["state"] == LAPSED and w["check"] not in shown):
            tr.write_line(redact_terminal(f"  waiver {w['check']} ({w['state'].replace('_', ' ')}): {w['reason']}"),
                          **({"yellow": True} if w["state"] == STALE else {}))
