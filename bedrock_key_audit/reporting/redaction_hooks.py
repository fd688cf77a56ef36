"""The redaction the reporting plugin applies at pytest's hooks (the patterns live in
:mod:`bedrock_key_audit.redaction` and :mod:`redaction`): each report is rewritten before the
terminal, junit, html or xdist see it; pytest-metadata's environment table before pytest-html
renders it; other threads' log records are kept out of each test's captured log."""
from __future__ import annotations

import logging
from typing import Any

import pytest

from bedrock_key_audit.redaction import redact_obj
from bedrock_key_audit.reporting import sources
from bedrock_key_audit.reporting.html_columns import evidence_extras
from bedrock_key_audit.reporting.redaction import redact_report
from bedrock_key_audit.reporting.rundir import RunState, ThirdPartyInfoFilter


def prepare_session(session: pytest.Session, st: RunState | None) -> None:
    """Filter other threads' records (:class:`rundir.ForeignThreadFilter`) and other libraries' INFO
    records (:class:`rundir.ThirdPartyInfoFilter`) out of captured logs, and redact pytest-metadata's
    environment table."""
    logging_plugin = session.config.pluginmanager.get_plugin("logging-plugin")
    handler = getattr(logging_plugin, "report_handler", None)
    if st is not None and isinstance(handler, logging.Handler):
        handler.addFilter(st.thread_filter)
    if isinstance(handler, logging.Handler) and not any(isinstance(f, ThirdPartyInfoFilter) for f in handler.filters):
        handler.addFilter(ThirdPartyInfoFilter())
    try:
        from pytest_metadata.plugin import metadata_key
    except Exception:  # noqa: BLE001
        return
    meta = session.config.stash.get(metadata_key, None)
    if isinstance(meta, dict):
        for k, v in list(meta.items()):
            meta[k] = redact_obj(v)


def finish_report(report: Any) -> None:
    """A test report, last: a check's evidence as html extras, then everything redacted."""
    try:
        if getattr(report, "check_status", None) is not None:
            rec = sources.record_of(report)
            if rec is not None:
                report.extras = list(getattr(report, "extras", []) or []) + evidence_extras(rec)
    finally:
        redact_report(report)


def drop_evidence(report: Any) -> None:
    """Without ``--evidence``: once the row's html extras carry its evidence, the check record
    the report keeps until the session ends (pytest's terminal and pytest-html hold every report;
    the run's state holds every record) need not hold a second copy of it."""
    rec = sources.record_of(report)
    if rec is not None and rec.get("evidence"):
        rec["evidence"] = []
