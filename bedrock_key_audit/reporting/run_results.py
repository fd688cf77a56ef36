"""The run's results: its rows, metadata and change list, gathered from the audit's stash keys
(:mod:`sources`) and the xdist workers' output, as ``results.json`` carries them
(schemas/results.schema.json)."""
from __future__ import annotations

import datetime as dt
import platform
from typing import Any

import pytest

from bedrock_key_audit.redaction import redact_obj, redact_text
from bedrock_key_audit.reporting import history, results, sources
from bedrock_key_audit.reporting.rundir import RunState, iso


def all_calls(config: pytest.Config, st: RunState) -> list[dict[str, Any]]:
    worker: list[dict[str, Any]] = sources.safe(st.worker_calls)
    return sources.call_log(config) + worker


def all_identities(config: pytest.Config, st: RunState) -> dict[str, dict[str, Any]]:
    return {**sources.safe(st.worker_identities), **sources.identities(config)}


def all_actions(config: pytest.Config, st: RunState) -> list[dict[str, Any]]:
    worker: list[dict[str, Any]] = sources.safe(st.worker_actions)
    return sources.remediation_actions(config) + worker


def live_remediation(session: pytest.Session | None) -> dict[str, list[dict[str, Any]]]:
    """Remediation the remediation plugin added to a record after its report was made
    (``--remediate=plan`` plans once the audit loop is over).  In-process only: under xdist
    the controller has no items, and --remediate refuses xdist anyway."""
    out: dict[str, list[dict[str, Any]]] = {}
    try:
        from bedrock_key_audit.fixtures.checks import RECORD
    except Exception:  # noqa: BLE001
        return out
    for item in getattr(session, "items", None) or []:
        rec = item.stash.get(RECORD, None)
        if rec is not None and getattr(rec, "remediation", None):
            out[item.nodeid] = sources.safe(list(rec.remediation))
    return out


def gather_rows(config: pytest.Config, st: RunState, session: pytest.Session | None = None) -> list[dict[str, Any]]:
    actions = all_actions(config, st)
    live = live_remediation(session)
    rows = []
    for nodeid, rec in st.records.items():
        if nodeid in live and not rec.get("remediation"):
            rec = dict(rec, remediation=live[nodeid])
        # a row does not carry the check's evidence (the html extras and the evidence bundle
        # do): leave it out instead of converting and redacting it once more
        rows.append(results.check_row(sources.safe({k: v for k, v in rec.items() if k != "evidence"}), actions))
    return rows


def _partitions(config: pytest.Config, st: RunState, cfg: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    ids = all_identities(config, st)
    configured = ((cfg or {}).get("data") or {}).get("partitions") or {}
    out: dict[str, dict[str, Any]] = {}
    for part in sorted(set(configured) | set(ids)):
        ident = ids.get(part) or {}
        conf = configured.get(part) or {}
        out[part] = {
            "region": conf.get("region") if isinstance(conf, dict) else None,
            "account": ident.get("Account"),
            "arn": ident.get("Arn"),
            "user_id": ident.get("UserId"),
        }
    return out


def run_metadata(config: pytest.Config, st: RunState, exit_status: int) -> dict[str, Any]:
    cfg = sources.audit_config(config)
    commit, dirty = sources.git_state()
    mode, scenario = sources.mode(config)
    finished = st.finished or dt.datetime.now(dt.timezone.utc)
    workers = getattr(config.option, "numprocesses", None)
    meta = {
        "id": st.run_id,
        "started": iso(st.started),
        "finished": iso(finished),
        "duration_s": round((finished - st.started).total_seconds(), 3),
        "tool": {"name": sources.TOOL_NAME, "version": sources.tool_version(), "git_commit": commit,
                 "git_dirty": dirty, "python": platform.python_version(), "pytest": pytest.__version__},
        "config": {"path": cfg["path"] if cfg else None, "sha256": cfg["sha256"] if cfg else None,
                   **({"source": cfg["source"]} if cfg and cfg.get("source") else {})},
        "mode": mode,
        "scenario": scenario,
        "partitions": _partitions(config, st, cfg),
        "args": sources.args(config),
        "exit_status": int(exit_status),
        "fail_on": getattr(config.option, "fail_on", None),
        "remediate": getattr(config.option, "remediate", None),
    }
    meta["kind"] = run_kind(config)
    meta["selection"] = sources.selection(config)
    if isinstance(workers, int):
        meta["workers"] = workers
    safe_meta: dict[str, Any] = redact_obj(meta)
    return safe_meta


def results_document(config: pytest.Config, st: RunState, exit_status: int) -> dict[str, Any]:
    rows = st.rows
    return {
        "schema_version": results.SCHEMA_VERSION,
        "run": run_metadata(config, st, exit_status),
        "summary": results.summarize(rows),
        "checks": rows,
        "changes": st.changes or results.compute_changes(rows, None, None),
        "other_failures": [redact_text(n) for n in st.other_failures],
        "waivers": redact_obj(st.waiver_states),
    }


def run_kind(config: pytest.Config) -> dict[str, Any]:
    """What makes two runs comparable (see :func:`history.run_kind`)."""
    cfg = sources.audit_config(config)
    mode, scenario = sources.mode(config)
    return {"mode": mode, "scenario": scenario, "config_sha256": cfg["sha256"] if cfg else None,
            "all_keys": bool(getattr(config.option, "all_keys", False))}


def run_changes(st: RunState, config: pytest.Config) -> dict[str, Any]:
    mode, _ = sources.mode(config)
    prev, notes = history.baseline(st.base, st.run_id if st.run_dir else None, run_kind(config),
                                   filtered=sources.selection(config)["filtered"], emulated=mode == "emulate")
    doc = results.read_results(prev / "results.json") if prev else None
    changes = results.compute_changes(st.rows, doc, prev.name if (prev and doc) else None)
    if notes:
        changes["notes"] = notes
    return changes
