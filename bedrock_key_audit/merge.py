"""``bedrock-key-audit merge RUN_DIR... [--out DIR]``: combine shard runs (``--shard K/N``) into one run.

Each RUN_DIR is a run directory of one shard (its ``results.json`` is required).  The merged
directory gets what a single run writes, built with the product's own writers:

* ``results.json``: every shard's rows (``checks``), ``summary`` recounted
  (:func:`bedrock_key_audit.reporting.results.summarize`), ``other_failures`` and ``waivers``
  combined, ``run`` from the shards (earliest start, latest finish, the highest exit status);
  validated against schemas/results.schema.json;
* ``findings.ocsf.json`` (:mod:`bedrock_key_audit.reporting.ocsf`), when any shard wrote one;
* ``junit.xml``: one testcase per row (``failure`` for fail, ``error`` for error, ``skipped``);
* ``report.html``: the posture screen (:func:`bedrock_key_audit.reporting.html_report.posture_html`)
  and the rows grouped per account and user, pass rows collapsed;
* ``snapshot.json``, when every shard has one of its own run (its ``run_id`` is the shard's): one part per
  shard (a shard run under pytest-xdist brings its parts), each with the rows of that shard, so
  ``bedrock-key-audit rejudge`` replays each part alone and takes only its rows from it; otherwise none, and
  ``merge`` says why;
* ``evidence/`` + ``evidence-<run>.tar.gz`` + manifest (and OSCAL assessment results), when every
  shard has an evidence bundle (:func:`bedrock_key_audit.reporting.evidence.write_bundle`), from
  the shards' per-check evidence and call logs (and the merged snapshot).

A row present in two shards, shards of different configurations or modes, or a missing
``results.json`` stop the merge with one line and exit status 4, writing nothing.  Otherwise
the exit status is the merged run's (the highest of the shards': what one run would have said).
"""
from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import jsonschema

from bedrock_key_audit.reporting import evidence as ev
from bedrock_key_audit.reporting import html_report, ocsf, oscal, results

USAGE_ERROR = 4


class MergeError(Exception):
    """One sentence saying why the shards cannot be merged."""


def _load(run_dir: Path) -> dict[str, Any]:
    doc = results.read_results(run_dir / "results.json")
    if doc is None:
        raise MergeError(f"{run_dir}: no readable results.json (is it a run directory of a finished shard?)")
    try:
        results.validate(doc)
    except jsonschema.ValidationError as exc:
        raise MergeError(f"{run_dir}/results.json does not match schemas/results.schema.json: {exc.message}") from None
    return doc


def merge_documents(docs: Sequence[Mapping[str, Any]], run_id: str) -> dict[str, Any]:
    """The merged results.json document (pure: no file is read or written)."""
    if not docs:
        raise MergeError("no run directory given")
    first = docs[0]["run"]
    for d in docs[1:]:
        run = d["run"]
        for key in ("mode", "scenario", "fail_on"):
            if run.get(key) != first.get(key):
                raise MergeError(f"the shards differ in {key} ({first.get(key)!r} and {run.get(key)!r}); "
                                 "merge runs of one audit")
        if run["config"].get("sha256") != first["config"].get("sha256"):
            raise MergeError("the shards were run with different configurations (config sha256 differs)")
    rows: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for d in docs:
        for row in d["checks"]:
            key = results.row_key(row)
            if key in seen:
                raise MergeError(f"row {row['id']} {json.dumps(row.get('params') or {}, sort_keys=True)} is in two "
                                 f"shards ({seen[key]} and {d['run']['id']}); merge each shard once")
            seen[key] = d["run"]["id"]
            rows.append(dict(row))
    rows.sort(key=results.row_key)
    started = min(d["run"]["started"] for d in docs)
    finished = max(d["run"]["finished"] for d in docs)
    partitions: dict[str, Any] = {}
    for d in docs:
        for name, part in d["run"].get("partitions", {}).items():
            partitions.setdefault(name, part)
    run = dict(first, id=run_id, started=started, finished=finished,
               duration_s=round(sum(float(d["run"].get("duration_s") or 0) for d in docs), 3),
               partitions=partitions, exit_status=max(int(d["run"]["exit_status"]) for d in docs),
               args=[*first.get("args", []), f"(merged from {len(docs)} shards)"])
    waivers: dict[str, Any] = {}
    for d in docs:
        for w in d.get("waivers") or []:
            waivers.setdefault(json.dumps(w, sort_keys=True), w)
    out = {
        "schema_version": docs[0]["schema_version"],
        "run": run,
        "summary": results.summarize(rows),
        "checks": rows,
        "changes": results.compute_changes(rows, None, None),
        "other_failures": [f for d in docs for f in d.get("other_failures") or []],
    }
    if any("waivers" in d for d in docs) or waivers:
        out["waivers"] = list(waivers.values())
    return out


def junit_xml(doc: Mapping[str, Any]) -> str:
    """One JUnit testsuite with a testcase per row."""
    rows = doc["checks"]
    s = doc["summary"]
    cases = []
    for r in rows:
        name = r["id"] + (f"[{','.join(r['params'].values())}]" if r.get("params") else "")
        detail = str(r.get("detail") or "")
        body = {"fail": f"<failure message={quoteattr(detail)}/>", "error": f"<error message={quoteattr(detail)}/>",
                "skip": f"<skipped message={quoteattr(detail)}/>"}.get(r["status"], "")
        cases.append(f"<testcase classname={quoteattr(r.get('family') or 'checks')} name={quoteattr(name)} "
                     f"time=\"{float(r.get('duration_s') or 0):.3f}\">{body}</testcase>")
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<testsuites><testsuite name=\"bedrock-key-audit\" "
            f"tests=\"{s['total']}\" failures=\"{s['fail']}\" errors=\"{s['error']}\" skipped=\"{s['skip']}\" "
            f"timestamp={quoteattr(doc['run']['started'])}>" + "".join(cases) + "</testsuite></testsuites>\n")


def _group_of(row: Mapping[str, Any]) -> str:
    params = dict(row.get("params") or {})
    account = params.pop("account", None)
    user = params.pop("audited_user", None)
    parts = [f"account {account}" if account else "", f"user {user}" if user else ""]
    label = ", ".join(p for p in parts if p)
    return label or (f"partition {row.get('partition')}" if row.get("partition") else "run")


_ORDER = {"fail": 0, "error": 1, "waived": 2, "skip": 3, "pass": 4}


def rows_html(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows grouped per account and user; a group with failures opens, pass rows stay collapsed."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(_group_of(r), []).append(r)
    out = ["<section class='bka-groups'><h2>Rows by account and user</h2>"]
    for label in sorted(groups, key=lambda g: (min(_ORDER.get(r["status"], 5) for r in groups[g]), g)):
        members = sorted(groups[label], key=lambda r: (_ORDER.get(r["status"], 5), r["id"]))
        bad = [r for r in members if r["status"] != "pass"]
        passed = [r for r in members if r["status"] == "pass"]
        tally = ", ".join(f"{n} {s}" for s in _ORDER if (n := sum(1 for r in members if r["status"] == s)))
        trs = "".join(f"<tr class='bka-{html.escape(r['status'])}'><td>{html.escape(r['status'])}</td>"
                      f"<td>{html.escape(r['severity'])}</td><td>{html.escape(html_report.row_label(r))}</td>"
                      f"<td>{html.escape(str(r.get('detail') or ''))}</td></tr>" for r in bad)
        passes = ("<details><summary>" + f"{len(passed)} pass row(s)</summary><ul>"
                  + "".join(f"<li>{html.escape(html_report.row_label(r))}</li>" for r in passed)
                  + "</ul></details>") if passed else ""
        out.append(f"<details{' open' if bad else ''}><summary>{html.escape(label)}: {html.escape(tally)}</summary>"
                   + (f"<table><tbody>{trs}</tbody></table>" if trs else "") + passes + "</details>")
    out.append("</section>")
    return "".join(out)


def report_html(doc: Mapping[str, Any]) -> str:
    body = html_report.posture_html(doc["run"], doc["checks"], doc["changes"], None, doc.get("waivers"))
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>bedrock-key-audit (merged)</title>"
            "<style>body{font-family:sans-serif;margin:1.5em} details{margin:.3em 0} td{padding:.2em .6em;"
            "vertical-align:top} .bka-fail td:first-child,.bka-error td:first-child{color:#b00;font-weight:bold}"
            "</style></head><body><h1>bedrock-key-audit: merged run " + html.escape(doc["run"]["id"]) + "</h1>"
            + body + rows_html(doc["checks"]) + "</body></html>\n")


def _evidence_inputs(dirs: Sequence[Path]) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[Any], list[Any]] | None:
    """(run.json of the first shard, records by nodeid, calls, actions) when every shard has evidence."""
    records: dict[str, dict[str, Any]] = {}
    calls: list[Any] = []
    actions: list[Any] = []
    metas: list[dict[str, Any]] = []
    for d in dirs:
        run_json = d / "evidence" / "run.json"
        if not run_json.is_file():
            return None
        meta = json.loads(run_json.read_text())
        metas.append(meta)
        calls += meta.get("calls") or []
        actions += meta.get("remediation_actions") or []
        for f in sorted((d / "evidence" / "checks").glob("*.json")):
            rec = json.loads(f.read_text())
            records[rec["nodeid"]] = {"evidence": rec.get("evidence") or []}
    meta = dict(metas[0])
    for key in ("accounts", "regions"):
        meta[key] = sorted({x for m in metas for x in m.get(key) or []})
    meta["identities"] = {k: v for m in metas for k, v in (m.get("identities") or {}).items()}
    for key in ("calls", "remediation_actions", "call_counts"):
        meta.pop(key, None)
    return meta, records, calls, actions


def merged_snapshot(dirs: Sequence[Path], docs: Sequence[Mapping[str, Any]],
                    run_id: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the merged run's snapshot, None) or (None, why there is none): one part per shard (a shard's own parts
    when it ran under pytest-xdist), each naming the shard's rows.  Only when every shard's ``snapshot.json``
    is of the shard's own run (the run id it names is the one of the shard's results.json) and the shards
    agree on ``--all-keys`` and ``--remediate``; the parts are never merged cell by cell (each shard read its
    own accounts at its own clock, and pseudonymised its keys under its own salt)."""
    from bedrock_key_audit.rejudge import row_key
    from bedrock_key_audit.snapshot import FILE_NAME, FORMAT

    snaps: list[dict[str, Any]] = []
    for d, doc in zip(dirs, docs, strict=True):
        try:
            snap = json.loads((d / FILE_NAME).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None, f"{d} has no {FILE_NAME}"
        except (OSError, ValueError, RecursionError):
            return None, f"{d}/{FILE_NAME} cannot be read as JSON"
        if not isinstance(snap, dict) or snap.get("format") != FORMAT:
            return None, f"{d}/{FILE_NAME} is not a snapshot of this version ({FORMAT})"
        if snap.get("run_id") != doc["run"]["id"]:
            return None, f"{d}/{FILE_NAME} is of run {snap.get('run_id')}, not of the shard's run {doc['run']['id']}"
        snaps.append(snap)
    for key in ("fleet", "remediate"):
        if len({json.dumps(s.get(key)) for s in snaps}) > 1:
            return None, f"the shards' snapshots differ in {key}"
    parts: list[dict[str, Any]] = []
    for doc, snap in zip(docs, snaps, strict=True):
        shard = doc["run"]["id"]
        if "parts" in snap:
            parts += [{**p, "name": f"{shard}/{p.get('name')}"} for p in snap["parts"] if isinstance(p, dict)]
        else:
            parts.append({"name": shard, "now": snap.get("now"), "config": snap.get("config"),
                          "accounts": snap.get("accounts") or {}, "rows": sorted(row_key(r) for r in doc["checks"])})
    head = snaps[0]
    return {"format": FORMAT, "run_id": run_id, "remediate": head.get("remediate"), "fleet": head.get("fleet"),
            "parts": parts}, None


def merge(dirs: Sequence[Path], out: Path, notes: list[str] | None = None) -> dict[str, Any]:
    """Write the merged run directory ``out``; returns its results.json document (``notes`` gets why the
    merged run has no snapshot.json, when it has none)."""
    docs = [_load(d) for d in dirs]
    now = dt.datetime.now(dt.timezone.utc)
    run_id = now.strftime("%Y%m%dT%H%M%SZ")
    doc = merge_documents(docs, run_id)
    results.validate(doc)
    evidence_in = _evidence_inputs(dirs)
    snap, why = merged_snapshot(dirs, docs, run_id)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "junit.xml").write_text(junit_xml(doc), encoding="utf-8")
    (out / "report.html").write_text(report_html(doc), encoding="utf-8")
    copies = [out / "results.json", out / "junit.xml", out / "report.html"]
    if snap is not None:
        (out / "snapshot.json").write_text(json.dumps(snap, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        copies.append(out / "snapshot.json")
    elif notes is not None:
        notes.append(f"note: no snapshot.json ({why}): `bedrock-key-audit rejudge` cannot re-judge the merged run")
    if any((d / ocsf.FINDINGS_NAME).is_file() for d in dirs):
        ocsf.write(out / ocsf.FINDINGS_NAME, dict(doc["run"], run_id=run_id), doc["checks"],
                   oscal.load_check_meta(r["id"] for r in doc["checks"]))
        copies.append(out / ocsf.FINDINGS_NAME)
    if evidence_in is not None:
        meta, records, calls, actions = evidence_in
        meta.update(run_id=run_id, started=doc["run"]["started"], finished=doc["run"]["finished"],
                    exit_status=doc["run"]["exit_status"])
        ev.write_bundle(out, run_id, meta, doc["checks"], records, calls, actions, copies,
                        waivers=doc.get("waivers") or None)
    return doc


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bedrock-key-audit merge",
                                 description="combine the run directories of --shard K/N runs into one run")
    ap.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR")
    ap.add_argument("--out", type=Path, default=None,
                    help="merged run directory (default: reports/<UTC timestamp>-merged)")
    args = ap.parse_args(list(argv) if argv is not None else None)
    out = args.out or Path("reports") / (dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-merged")
    if out.exists() and any(out.iterdir()):
        print(f"merge: {out} exists and is not empty; name a new directory with --out", file=sys.stderr)
        return USAGE_ERROR
    notes: list[str] = []
    try:
        doc = merge(args.run_dirs, out, notes)
    except MergeError as exc:
        print(f"merge: {exc}", file=sys.stderr)
        return USAGE_ERROR
    for note in notes:
        print(note)
    s = doc["summary"]
    print(f"merged {len(args.run_dirs)} run(s) into {out}: {s['total']} rows — {s['pass']} pass, {s['fail']} fail, "
          f"{s['error']} error, {s['skip']} skip; exit status {doc['run']['exit_status']}")
    return int(doc["run"]["exit_status"])


if __name__ == "__main__":
    sys.exit(main())
