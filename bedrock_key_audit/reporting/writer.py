"""Writing the run's files once pytest-html and junitxml have written theirs: results.json,
findings.ocsf.json, the evidence bundle (``--evidence``), ``latest``, pruning and index.html."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bedrock_key_audit.redaction import redact_text
from bedrock_key_audit.reporting import evidence as ev
from bedrock_key_audit.reporting import history, results, sources, waiving
from bedrock_key_audit.reporting.run_results import (
    all_actions,
    all_calls,
    all_identities,
    gather_rows,
    results_document,
    run_changes,
    run_metadata,
)
from bedrock_key_audit.reporting.rundir import RunState, drop_own_reports, no_checks


def write_all(session: pytest.Session, st: RunState) -> None:
    config = session.config
    assert st.run_dir is not None
    if session.exitstatus == pytest.ExitCode.USAGE_ERROR:
        # bad input changes nothing, not even the reports directory
        drop_own_reports(config, st)
        return
    if no_checks(st):
        # the project's own test suite, --collect-only, `-k` selections without checks: no
        # audit happened, and an empty run must never become the "previous run" of the next
        drop_own_reports(config, st)
        if st.check_items:  # checks were collected but none ran (e.g. --collect-only): say why
            st.problems.append("no check ran: no report directory written")
        return
    if getattr(config.option, "remediate", None) or not st.rows:
        # remediation may have recorded actions during sessionfinish; without it the rows
        # gathered before the reporters wrote are the run's rows (no report comes after them)
        st.rows = gather_rows(config, st, session)
    st.changes = run_changes(st, config)
    st.waiver_states = waiving.states(config, st)
    doc: dict[str, Any] | None = results_document(config, st, int(session.exitstatus))
    try:
        results.validate(doc)
    except jsonschema.ValidationError as exc:
        st.problems.append(f"results.json not written: it does not match schemas/results.schema.json: "
                           f"{redact_text(exc.message)} at /{'/'.join(map(str, exc.absolute_path))}")
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
        doc = None
    if doc is not None:
        st.results_path = st.run_dir / "results.json"
        tmp = st.run_dir / ".results.json.tmp"
        tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, st.results_path)
        from bedrock_key_audit.reporting import (  # OCSF Detection Findings, every run
            ocsf,
            oscal,
        )

        try:
            st.ocsf_path = ocsf.write(st.run_dir / ocsf.FINDINGS_NAME, dict(doc["run"], run_id=st.run_id), st.rows,
                                      oscal.load_check_meta(r["id"] for r in st.rows))
        except (OSError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            st.problems.append(f"{ocsf.FINDINGS_NAME} not written: {redact_text(str(exc).splitlines()[0])}")
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    if getattr(config.option, "evidence", False):
        try:
            write_evidence(config, st, doc)
        except (OSError, jsonschema.ValidationError) as exc:
            msg = exc.message if isinstance(exc, jsonschema.ValidationError) else str(exc)
            st.problems.append(f"evidence bundle not written: {redact_text(msg)}")
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
    try:
        st.latest = history.point_latest(st.base, st.run_dir)
        keep = getattr(config.option, "keep_runs", None)
        if keep:
            st.pruned = history.prune(st.base, keep, protect=st.run_dir)
        history.write_index(st.base)
    except OSError as exc:
        st.problems.append(f"reports index not updated: {exc}")


def write_evidence(config: pytest.Config, st: RunState, doc: dict[str, Any] | None) -> None:
    assert st.run_dir is not None
    meta = dict(doc["run"]) if doc else run_metadata(config, st, 0)
    calls = all_calls(config, st)
    identities = all_identities(config, st)
    regions = {p.get("region") for p in meta.get("partitions", {}).values() if p.get("region")}
    regions |= {c.get("region") for c in calls if c.get("region")}
    run_meta = {
        "run_id": st.run_id,
        "started": meta["started"],
        "finished": meta["finished"],
        "tool": meta["tool"],
        "config": meta["config"],
        "mode": meta["mode"],
        "scenario": meta["scenario"],
        "partitions": meta["partitions"],
        "identities": identities,
        "accounts": sorted({str(i["Account"]) for i in identities.values() if i.get("Account")}),
        "regions": sorted(str(r) for r in regions),
        "args": meta["args"],
        "exit_status": meta.get("exit_status"),
    }
    by_node = {nodeid: sources.safe(rec) for nodeid, rec in st.records.items()}
    copies = [p for p in (st.results_path, st.xml_path, st.html_path, st.ocsf_path) if p is not None]
    key = getattr(config.option, "sign_key", None)
    st.archive, st.archive_sha256 = ev.write_bundle(
        st.run_dir, st.run_id, run_meta, st.rows, by_node, calls, all_actions(config, st), copies,
        sign_key=Path(key) if key else None, waivers=st.waiver_states)

