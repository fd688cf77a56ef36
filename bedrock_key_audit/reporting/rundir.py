"""The run's directory and its per-session state.

Every run that collects at least one check writes ``<reports dir>/<UTC start>/`` (report.html,
results.json, junit.xml, findings.ocsf.json, and with ``--evidence`` the bundle); only the
xdist controller (or a plain run) writes.  :func:`open_run` chooses the directory and points
pytest-html and junitxml at it; :func:`drop_own_reports` takes them back when no audit
happened; :func:`close_run` removes an empty directory.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from bedrock_key_audit.reporting import history, results
from bedrock_key_audit.redaction import LoggingRedaction


class ForeignThreadFilter(logging.Filter):
    """Keeps records logged by other threads out of a test's captured log.

    pytest files every record its report handler sees under the test that is running; the
    inventory's prefetch threads (``fixtures/inventory.py``) make calls for other checks
    meanwhile, so their log lines (an httpx line of the Bedrock ``converse`` call under a
    CloudTrail row) would be attributed to the wrong row.  The run's calls are listed in
    report.html's call log instead, and each check's evidence names the calls it rests on.
    Live logging (``--log-cli-level``) and ``caplog`` are not filtered."""

    def __init__(self) -> None:
        super().__init__("bka-foreign-thread")
        self.ident: int | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        return self.ident is None or record.thread == self.ident


class ThirdPartyInfoFilter(logging.Filter):
    """Keeps other libraries' INFO and DEBUG records (botocore's "Found endpoint for cloudtrail via:
    environment_global", one per client) out of a test's captured log, so they never sit under a row of
    report.html or junit.xml.  botocore, boto3, urllib3 and httpx are held at INFO (``fixtures/aws.py``:
    their DEBUG lines carry response bodies); their warnings and errors still show.  The project's own
    loggers (``bedrock_audit.*``) and a check module's keep every level.  Live logging
    (``--log-cli-level``) is not filtered."""

    OWN = frozenset({"bedrock_audit", "bedrock_key_audit", "bka", "checks", "fixtures", "tests", "root"})

    def __init__(self) -> None:
        super().__init__("bka-third-party-info")

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.split(".", 1)[0] in self.OWN


@dataclasses.dataclass
class RunState:
    """Everything this plugin keeps for one pytest session (one per Config: pytester-safe)."""

    started: dt.datetime
    run_id: str
    base: Path
    controller: bool
    write: bool
    run_dir: Path | None = None
    #: the reports directory did not exist before this run made it (an empty one is removed again)
    made_base: bool = False
    html_path: Path | None = None
    xml_path: Path | None = None
    own_html: bool = False
    own_xml: bool = False
    records: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    verdict_failed: set[str] = dataclasses.field(default_factory=set)
    other_failures: list[str] = dataclasses.field(default_factory=list)
    check_items: int | None = None
    worker_calls: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    worker_identities: dict[str, Any] = dataclasses.field(default_factory=dict)
    worker_actions: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    rows: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    changes: dict[str, Any] | None = None
    finished: dt.datetime | None = None
    exit_note: str | None = None
    results_path: Path | None = None
    archive: Path | None = None
    archive_sha256: str | None = None
    ocsf_path: Path | None = None  # findings.ocsf.json
    latest: Path | None = None
    pruned: list[str] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)
    logging: LoggingRedaction = dataclasses.field(default_factory=LoggingRedaction)
    thread_filter: ForeignThreadFilter = dataclasses.field(default_factory=lambda: ForeignThreadFilter())
    html_data: Any = None  # pytest-html's ReportData (from pytest_html_report_title)
    html_relabeled: set[str] = dataclasses.field(default_factory=set)  # nodeids whose "Failed" reads "Error"
    grouped: bool = False  # report.html: a User column and rows grouped per user (html_columns.grouped)
    audit_now: dt.datetime | None = None  # the audit's clock (the ``now`` fixture), read once for waivers
    waivers: list[Any] | None = None  # [[waivers]], parsed on first use (reporting/waivers.py)
    waiver_states: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def note_report(self, nodeid: str, rec: dict[str, Any] | None, failed: bool, when: str) -> None:
        """Keep the last record per nodeid; note failures that are not a check's verdict."""
        if rec is not None:
            self.records[nodeid] = rec
        if failed:
            verdict_phase = rec is not None and when in ("setup", "call") and rec.get("status") in (*results.FAILING, "waived")
            if verdict_phase:
                self.verdict_failed.add(nodeid)
            elif nodeid not in self.other_failures:
                self.other_failures.append(nodeid)


STATE = pytest.StashKey[RunState]()


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def state_of(config: pytest.Config) -> RunState | None:
    return config.stash.get(STATE, None)



def reports_base(config: pytest.Config) -> Path:
    """``--reports-dir`` (relative to the invocation directory) or ``<rootdir>/reports``."""
    opt = config.option
    if getattr(opt, "reports_dir", None):
        base = Path(os.path.expanduser(opt.reports_dir))
        if not base.is_absolute():
            base = config.invocation_params.dir / base
        return base
    return config.rootpath / "reports"


def open_run(config: pytest.Config) -> RunState:
    """Before pytest-html and junitxml configure: the run's state, its directory (controller
    only, unless --no-reports), and pytest-html/junitxml pointed into it."""
    opt = config.option
    keep = getattr(opt, "keep_runs", None)
    if keep is not None and keep < 1:
        raise pytest.UsageError(f"--keep-runs must be at least 1 (got {keep})")
    started = dt.datetime.now(dt.timezone.utc)
    base = reports_base(config)
    controller = not hasattr(config, "workerinput")
    write = controller and not getattr(opt, "no_reports", False)
    st = RunState(started=started, run_id=history.run_stamp(started), base=base, controller=controller, write=write)
    config.stash[STATE] = st
    st.logging.install()
    if not write:
        return st
    if base.exists() and not base.is_dir():
        raise pytest.UsageError(f"--reports-dir {base}: exists and is not a directory")
    st.made_base = not base.exists()
    try:
        st.run_dir = history.allocate_run_dir(base, started)
    except OSError as exc:
        raise pytest.UsageError(f"--reports-dir {base}: cannot create a run directory ({exc.strerror or exc})") from None
    st.run_id = st.run_dir.name
    if hasattr(opt, "htmlpath"):
        if not opt.htmlpath:
            opt.htmlpath = str(st.run_dir / "report.html")
            # no CSS/JS/asset files beside it: the report must survive being mailed or archived
            opt.self_contained_html = True
            st.own_html = True
        st.html_path = Path(opt.htmlpath)
    if hasattr(opt, "xmlpath"):
        if not opt.xmlpath:
            opt.xmlpath = str(st.run_dir / "junit.xml")
            st.own_xml = True
        st.xml_path = Path(opt.xmlpath)
    return st


def close_run(st: RunState) -> None:
    """A run that ended before writing anything (usage error, no checks) leaves no empty run directory."""
    st.logging.uninstall()
    if st.run_dir is not None and st.run_dir.is_dir() and not any(st.run_dir.iterdir()):
        st.run_dir.rmdir()
        if st.made_base and st.base.is_dir() and not any(st.base.iterdir()):
            st.base.rmdir()  # a config error: the run leaves no trace, not even an empty reports/


def no_checks(st: RunState) -> bool:
    return not st.records


def drop_own_reports(config: pytest.Config, st: RunState) -> None:
    """Remove the html/junit files we asked for, and their "generated …" terminal lines."""
    if st.own_xml:
        from _pytest.junitxml import xml_key

        xml = config.stash.get(xml_key, None)
        if xml is not None:
            del config.stash[xml_key]
            config.pluginmanager.unregister(xml)
    if st.own_html:
        try:
            from pytest_html.basereport import BaseReport
        except Exception:  # noqa: BLE001
            BaseReport = None
        for plugin in config.pluginmanager.get_plugins():
            if BaseReport is not None and isinstance(plugin, BaseReport) and config.pluginmanager.is_registered(plugin):
                config.pluginmanager.unregister(plugin)
    for own, path in ((st.own_html, st.html_path), (st.own_xml, st.xml_path)):
        if own and path is not None and path.is_file():
            path.unlink()
    if st.run_dir is not None and st.run_dir.is_dir() and not any(st.run_dir.iterdir()):
        st.run_dir.rmdir()
        if st.made_base and st.base.is_dir() and not any(st.base.iterdir()):
            st.base.rmdir()  # a config error: the run leaves no trace, not even an empty reports/
    st.run_dir = None

