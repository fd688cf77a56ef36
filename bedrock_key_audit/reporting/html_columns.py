"""report.html's check table and summary through pytest-html's hooks (see :mod:`html_report`
for the page's order): our columns, the Result cell a check that could not decide reads
"Error" in, each check's evidence as JSON extras, the corrected outcome counts, and the
posture, control view, history chart and call log around the table."""
from __future__ import annotations

import html
import re
from typing import Any

import pytest

from bedrock_key_audit import registry
from bedrock_key_audit.redaction import redact_text
from bedrock_key_audit.reporting import controls as ctl
from bedrock_key_audit.reporting import history, html_report, results, sources
from bedrock_key_audit.reporting.run_results import all_calls, run_metadata
from bedrock_key_audit.redaction import redact_obj
from bedrock_key_audit.reporting.rundir import RunState
from bedrock_key_audit.reporting.waivers import waiver_note

try:  # pytest-html is a dependency, but `-p no:html` or a broken install must not break the audit
    from pytest_html import extras as html_extras
except Exception:  # noqa: BLE001
    html_extras = None


def _metadata_of(check_id: Any) -> dict[str, Any] | None:
    try:
        return registry.metadata().get(str(check_id))
    except registry.MetadataError:
        return None


def looked_at(record: dict[str, Any]) -> str:
    """The Resource cell of a row that never named its resource (a check that could not read it, ended
    ``error`` or ``skip`` before setting ``check.resource``): what it was looking at, from its metadata's
    resource type and the row's parameters (partition, account, user), e.g. ``AWS::CloudTrail::Trail in
    govcloud (the row ended before naming it)``.  Only the report shows it: results.json keeps ``resource`` null."""
    meta = _metadata_of(record.get("check_id")) or {}
    rtype = str(meta.get("resource_type") or record.get("check_id") or "")
    params = record.get("params") or {}
    where = [str(params[k]) for k in ("audited_user", "account", "partition") if params.get(k)]
    where += [f"{k}={v}" for k, v in sorted(params.items()) if k not in ("audited_user", "account", "partition")]
    # "not read" would be false for a row that read its resource and then failed on another read
    # (a user read, its policies denied): what is known is only that the row named no resource
    return f"{rtype}{' in ' + ', '.join(where) if where else ''} (the row ended before naming it)"


def metadata_extra(record: dict[str, Any]) -> dict[str, Any]:
    """What a row without evidence links to: the check's metadata (what it judges, why it matters, how to
    fix it, the controls) and why it could not decide."""
    meta = _metadata_of(record.get("check_id")) or {}
    keep = ("id", "title", "service", "resource_type", "risk", "remediation", "controls")
    data = {k: meta[k] for k in keep if k in meta}
    data["params"] = record.get("params") or {}
    data["status"] = record.get("status")
    data["detail"] = record.get("detail")
    return {"source": "check metadata", "data": data}


def evidence_extras(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Each evidence item as a JSON extra (pytest-html's Links column names them); a row with none (a check
    that could not decide, or skipped) links its check's metadata instead."""
    if html_extras is None:
        return []
    out = []
    for i, item in enumerate(record.get("evidence") or []):
        if not isinstance(item, dict):
            continue
        name = redact_text(str(item.get("source") or f"evidence {i + 1}"))
        out.append(html_extras.json(redact_obj(sources._plain(item.get("data"))), name=name))
    if not out and record.get("check_id") and record.get("status") in ("error", "skip"):
        item = metadata_extra(record)
        out.append(html_extras.json(redact_obj(item["data"]), name=item["source"]))
    return out


# report.html is pytest-html, customised only through its hooks (see fixtures/reporting/html_report.py
# for the page's order).  Columns: pytest-html's Result (which a check that could not decide reads
# "Error" in, not "Failed") and Test id (hidden by CSS: it is under the check id), then ours: Check,
# Severity, Resource, Controls, Verdict, then pytest-html's Duration (always "N ms") and Links.
COLUMNS = (("check", "Check"), ("severity", "Severity"), ("resource", "Resource"), ("controls", "Controls"),
            ("detail", "Verdict"))


# Fleet and multi-account runs (``--all-keys``, ``[[accounts]]``, ``[organization]``) add a User
# column before Check, and the table opens grouped per user (see :func:`group_tests`).  A
# single-key run's table is unchanged.
USER_COLUMN = ("user", "User")
# Within a user, and between users (by their worst row): failing first, pass rows last.
GROUP_ORDER = {"fail": 0, "error": 1, "waived": 2, "skip": 3, "pass": 4}


def grouped(config: pytest.Config) -> bool:
    """Whether this run audits more than one user: ``--all-keys`` or several accounts."""
    if getattr(config.option, "all_keys", False):
        return True
    cfg = sources._from_stash(config, "bedrock_key_audit.fixtures.config", "CONFIG_KEY")
    return bool(getattr(cfg, "multi_account", False))


def table_header(cells: list[str], grouped: bool = False) -> None:
    columns = ((USER_COLUMN,) if grouped else ()) + COLUMNS
    for i, (key, label) in enumerate(columns):
        sortable = ' class="sortable"' if key != "detail" else ""
        cells.insert(2 + i, f'<th{sortable} data-column-type="{key}">{label}</th>')


def user_of(rec: dict[str, Any] | None) -> str:
    """The User cell: ``user`` (``account/user`` with several accounts); a row about no one user
    (a trail, an account setting) reads ``(account …)`` or ``(run)``, which sorts before names."""
    params = (rec or {}).get("params") or {}
    account = params.get("account")
    user = params.get("audited_user")
    if user:
        return f"{account}/{user}" if account else str(user)
    if account:
        return f"(account {account})"
    return "(run)" if rec else "(not a check)"


def group_tests(tests: dict[str, list[Any]], records: dict[str, dict[str, Any]]) -> dict[str, list[Any]]:
    """pytest-html's rows (``{nodeid: [row, ...]}``, the order its page shows with
    ``initialSort = original``) grouped per user: users with a failing row first, then by name;
    within a user, failing rows first, pass rows last; otherwise the run's order."""
    def rank(nodeid: str) -> int:
        return GROUP_ORDER.get(str((records.get(nodeid) or {}).get("status")), 1)

    groups: dict[str, list[str]] = {}
    for nodeid in tests:
        groups.setdefault(user_of(records.get(nodeid)), []).append(nodeid)
    out: dict[str, list[Any]] = {}
    for user in sorted(groups, key=lambda u: (min(rank(n) for n in groups[u]), u)):
        for nodeid in sorted(groups[user], key=rank):  # stable: the run's order within a rank
            out[nodeid] = tests[nodeid]
    return out


def apply_grouping(st: RunState) -> None:
    """Grouped runs: reorder pytest-html's rows per user and open the page in that order (its
    ``initialSort`` set to ``original``, unless the ``initial_sort`` ini names another column).
    The User column stays sortable; pytest-html's sort is stable, so a click on it keeps each
    user's failing rows first."""
    data = st.html_data
    if data is None or not hasattr(data, "set_data"):
        return
    tests = data.data.get("tests")
    if not isinstance(tests, dict):
        return
    data.set_data("tests", group_tests(tests, st.records))
    if data.data.get("initialSort") in (None, "", "result"):
        data.set_data("initialSort", "original")


def _controls_text(controls: dict[str, Any]) -> str:
    parts = []
    for fw, short in (("nist_800_53_rev5", "NIST"), ("cis_aws_v3", "CIS"), ("fedramp", "FedRAMP")):
        vals = controls.get(fw) or []
        if vals:
            if fw == "fedramp":
                vals = [v.replace("FedRAMP High ", "") for v in vals]
                short = "FedRAMP High"
            parts.append(f"{short} {', '.join(vals)}")
    return "; ".join(parts)


def _html_result_cell(report: Any, rec: dict[str, Any] | None, cell: str) -> tuple[str, bool]:
    """pytest-html's Result cell for this report, and whether we turned its "Failed" into "Error".

    pytest-html calls only setup/teardown failures errors; a check that could not decide fails
    in its call phase, so pytest-html would say "Failed".  The cell's text is what pytest-html's
    page reads the row's outcome from (filters, sorting, colour), so "Error" there files the row
    under the Error filter too; the counts are corrected in pytest_html_results_summary."""
    status = (rec or {}).get("status")
    if not status:
        return cell, False
    m = re.match(r'<td class="col-result">(.*?)</td>$', cell)
    word = m.group(1) if m else None
    relabel = status == "error" and word == "Failed" and report.when == "call"
    if relabel:
        word = html_report.RESULT_WORDS["error"]
    if word is None:
        return cell, False
    return f'<td class="col-result check-{html.escape(status)}">{word}</td>', relabel


def table_row(st: RunState, report: Any, cells: list[str], grouped: bool = False) -> None:
    """pytest_html_results_table_row (called from SessionHooks, which knows the run's state)."""
    rec = sources.record_of(report)
    e = html_report.esc
    if cells:
        cells[0], relabel = _html_result_cell(report, rec, cells[0])
        if relabel:
            st.html_relabeled.add(report.nodeid)
    rec = rec or {}
    if rec.get("check_id"):
        row = {"id": rec["check_id"], "params": rec.get("params") or {}}
        check = (f'<td class="col-check" id="{e(ctl.row_anchor(row))}">{e(ctl.row_label(row))}'
                 f'<span class="bka-nodeid">{e(report.nodeid)}</span></td>')
    else:
        check = f'<td class="col-check">{e(report.nodeid)}</td>'
    values = {
        "severity": rec.get("severity", ""),
        "resource": rec.get("resource") or (looked_at(rec) if rec.get("check_id") and rec.get("status") in
                                                                  ("error", "skip") else ""),
        "controls": _controls_text(rec.get("controls") or {}),
        "detail": (rec.get("detail") or "") + (f" [{waiver_note(rec['waiver'])}]"
                                                  if isinstance(rec.get("waiver"), dict) else ""),
    }
    user = [f'<td class="col-user">{e(user_of(rec))}</td>'] if grouped else []
    cells[2:2] = user + [check] + [f'<td class="col-{key}">{e(values[key])}</td>' for key, _label in COLUMNS[1:]]
    for i, cell in enumerate(cells):
        cells[i] = redact_text(cell)


def _is_verdict_line(report: Any, rec: dict[str, Any] | None) -> bool:
    """The report's longrepr is only the check's one-sentence verdict (``label FAIL: …``),
    which the Verdict column already shows."""
    if not rec or rec.get("status") not in ("fail", "error", "skip", "waived"):
        return False
    text = (getattr(report, "longreprtext", "") or "").strip()
    return bool(text) and "\n" not in text


def table_html(report: Any, data: list[str]) -> None:
    """The row's detail box: drop the verdict line the Verdict column already shows and
    pytest-html's "No log output captured." placeholder, so a row with nothing more to show
    has no box (the CSS hides an extras row with no log, no HTML and no media)."""
    rec = sources.record_of(report)
    keep = list(data)
    if keep and _is_verdict_line(report, rec) and keep[0].strip() == html.escape(report.longreprtext).strip():
        keep = keep[1:]
    keep = [x for x in keep if x.strip() not in ("No log output captured.",)]
    if not any(x.strip() for x in keep):
        keep = []
    data[:] = keep


def fix_outcomes(st: RunState) -> None:
    """Counts and filter labels: a check that could not decide counts as Error, not Failed
    (pytest-html counted it under the outcome it derived before our row hook relabelled it)."""
    data = st.html_data
    outcomes = getattr(data, "outcomes", None)
    if not isinstance(outcomes, dict):
        return
    n = len(st.html_relabeled)
    if n and "failed" in outcomes and "error" in outcomes:
        moved = min(n, outcomes["failed"]["value"])
        outcomes["failed"]["value"] -= moved
        outcomes["error"]["value"] += moved
    for key, label in html_report.OUTCOME_LABELS.items():
        if key in outcomes:
            outcomes[key]["label"] = label


def results_summary(prefix: list[str], postfix: list[str], session: pytest.Session, st: RunState) -> None:
    """pytest_html_results_summary's body: posture and control view before the table; history
    chart, call log and pytest's details after it."""
    fix_outcomes(st)
    config = session.config
    if st.grouped:
        apply_grouping(st)
    run = run_metadata(config, st, int(session.exitstatus))
    cfg = sources.audit_config(config)
    try:
        metadata = ctl.load_controls()
    except (OSError, ValueError, KeyError):
        metadata = None
    view = ctl.control_view(st.rows, metadata)
    prefix.append(html_report.CSS)
    prefix.append(redact_text(html_report.posture_html(run, st.rows, st.changes, (cfg or {}).get("data"),
                                                                    st.waiver_states)))
    prefix.append(redact_text(html_report.controls_html(view)))
    try:
        svg = history_svg(st, config)
    except OSError:
        svg = None
    postfix.append(redact_text(html_report.after_table_html(st.changes, svg, all_calls(config, st))))
    postfix.append(html_report.PYTEST_DETAILS)
    postfix.append(html_report.SCRIPT)


def history_svg(st: RunState, config: pytest.Config) -> str:
    runs = [r for r in history.history_rows(st.base) if r["name"] != st.run_id]
    s = results.summarize(st.rows)
    runs.append({"name": st.run_id, "counts": {k: s[k] for k in history.COLORS},
                 "remediate": getattr(config.option, "remediate", None)})
    return history.history_svg(runs, width=760, height=220)
