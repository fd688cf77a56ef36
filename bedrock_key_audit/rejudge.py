"""``bedrock-key-audit rejudge BUNDLE``: re-run every row of a recorded audit offline, from its evidence alone.

BUNDLE is an ``evidence-<run>.tar.gz`` archive, an ``evidence/`` directory, or a run directory
(with ``evidence/``, or with ``snapshot.json`` and ``results.json``).  An archive member that is a link,
a device or a FIFO is bad input.  The manifest's digests are checked first
(:mod:`bedrock_key_audit.reporting.verify`; a mismatch is reported).  Then the audit runs again, as ``bedrock-key-audit`` runs it, with ``--replay-snapshot``: the recorded
configuration and clock, every read answered from ``snapshot.json``, no AWS or HTTP call
(:mod:`bedrock_key_audit.snapshot`).  One line is printed per row whose status or detail differs
from the bundle's ``results.json``, then a summary.  A snapshot in parts (one per pytest-xdist worker, or
per shard of a ``merge``) is replayed part by part, each part's own rows taken from its replay.  The snapshot
must name the run of results.json (and of the manifest), and results.json's ``summary`` must count its rows.

Exit status: 0 every row matches (and the manifest verifies); 1 a row differs, or the manifest
does not verify; 2 bad input (one line on stderr; nothing is written outside a temporary directory).  Rows are compared on
:data:`COMPARED`; a row missing from, added to or repeated in ``results.json`` differs too.  An evidence
directory without its manifest fails; a plain run directory (no ``--evidence``) has none, which is said.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import re
import stat
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from bedrock_key_audit.reporting.verify import refused_member, shown
from bedrock_key_audit.snapshot import FILE_NAME as SNAPSHOT_NAME

RESULTS_NAME = "results.json"
#: the evidence's run metadata (bedrock_key_audit.reporting.evidence), when the bundle has one
RUN_NAME = "run.json"
#: the files rejudge reads from a bundle
READ_NAMES = (SNAPSHOT_NAME, RESULTS_NAME, RUN_NAME)
#: the largest member read from an archive: a snapshot is some 100 KB a key, so this is far beyond any real one
MAX_MEMBER_BYTES = 256 << 20
#: what a row is compared on (the rest of a row is the check's metadata or the run's timing)
COMPARED = ("status", "detail", "severity", "resource")


class InputError(Exception):
    """BUNDLE cannot be re-judged (exit status 2)."""


def row_key(row: dict[str, Any]) -> str:
    """A row's id with its parameters (``cloudtrail.logging[commercial]``): the same whatever the rootdir."""
    params = row.get("params") or {}
    return str(row["id"]) + (f"[{','.join(str(v) for v in params.values())}]" if params else "")


def _from_archive(path: Path) -> dict[str, bytes]:
    try:
        with tarfile.open(path, mode="r:*") as tar:
            out: dict[str, bytes] = {}
            for member in tar.getmembers():
                name = PurePosixPath(member.name)
                if not member.isfile() and not member.isdir():
                    raise InputError(refused_member(path, member))
                if member.isfile() and len(name.parts) == 2 and name.name in READ_NAMES:
                    if member.size > MAX_MEMBER_BYTES:
                        raise InputError(f"{path}: {member.name} is {member.size} bytes, more than any evidence "
                                         f"file of this tool ({MAX_MEMBER_BYTES} at most)")
                    fh = tar.extractfile(member)
                    if fh is not None:
                        out[name.name] = fh.read()
            return out
    except (tarfile.TarError, OSError) as exc:
        raise InputError(f"{path}: not an evidence bundle ({type(exc).__name__})") from None


def _from_dir(where: Path) -> dict[str, bytes]:
    """{name: bytes} of the files of :data:`READ_NAMES` in ``where``; a link, device or FIFO under one of those
    names is bad input (never followed or opened), as it is in an archive."""
    out: dict[str, bytes] = {}
    for name in READ_NAMES:
        p = where / name
        try:
            st = p.lstat()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise InputError(f"{p}: cannot be read ({type(exc).__name__})") from None
        if stat.S_ISDIR(st.st_mode):
            continue
        if not stat.S_ISREG(st.st_mode):
            kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "a device, FIFO or socket"
            raise InputError(f"{p} is {kind}, not a regular file; an evidence bundle of this tool holds regular "
                             "files only")
        if st.st_size > MAX_MEMBER_BYTES:
            raise InputError(f"{p} is {st.st_size} bytes, more than any evidence file of this tool "
                             f"({MAX_MEMBER_BYTES} at most)")
        out[name] = p.read_bytes()
    return out


def locate(path: Path) -> tuple[Path | None, dict[str, bytes]]:
    """(what to verify against a manifest or None, {snapshot.json, results.json, run.json: bytes})."""
    if path.is_file():
        return path, _from_archive(path)
    if not path.is_dir():
        raise InputError(f"{path}: no such file or directory")
    for where in (path, path / "evidence"):
        if (where / "manifest.json").is_file():
            return where, _from_dir(where)
    archives = sorted(path.glob("evidence-*.tar.gz"))
    if len(archives) == 1:
        return archives[0], _from_archive(archives[0])
    return None, _from_dir(path)


def _merged(results_raw: bytes | None) -> bool:
    """Whether a results.json is of a ``bedrock-key-audit merge`` run (its args end "(merged from N shards)")."""
    try:
        args = json.loads(results_raw or b"null")["run"]["args"]
    except (ValueError, RecursionError, KeyError, TypeError):
        return False
    return isinstance(args, list) and bool(args) and str(args[-1]).startswith("(merged from ")


def _json(name: str, raw: bytes | None, bundle: Path, results_raw: bytes | None = None) -> Any:
    if raw is None:
        if name == SNAPSHOT_NAME and _merged(results_raw):
            raise InputError(f"{bundle}: no {name}: a merged run has one only when every shard's run directory holds "
                             "a snapshot of its own run (merge said which did not); re-judge the shards one by one")
        if name == SNAPSHOT_NAME:
            raise InputError(f"{bundle}: no {name} (a snapshot is recorded by every run of this version that writes "
                             "reports; re-run the audit to get one)")
        raise InputError(f"{bundle}: no {name}: there are no recorded rows to compare with")
    try:
        return json.loads(raw)
    except ValueError:
        raise InputError(f"{bundle}: {name} is not JSON") from None
    except RecursionError:
        raise InputError(f"{bundle}: {name} is JSON nested too deeply to be a file of this tool") from None


def selection_args(results: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(the pytest options that select the recorded run's checks again, notes): a run that audited part of the
    checks (``-k``, ``-m``: results.json ``run.selection``) is re-judged on the same part, and says so.  A
    selection rejudge cannot repeat (``--deselect``, a test path or node id) is named: the rows outside it then
    show as not recorded."""
    run = results.get("run")
    sel = run.get("selection") if isinstance(run, dict) else None
    if not isinstance(sel, dict) or not sel.get("filtered"):
        return [], []
    filters = [f for f in sel.get("filters") or [] if isinstance(f, str)]
    args = [a for f in filters if f[:3] in ("-k ", "-m ") for a in (f[:2], f[3:])]
    paths = {f: _check_node(f) for f in filters if f[:3] not in ("-k ", "-m ")}
    args += [node for node in paths.values() if node is not None]
    notes = [f"note: the recorded run audited a selection, re-judged the same: {', '.join(map(repr, filters))}"]
    if other := [f for f, node in paths.items() if node is None]:
        notes.append(f"note: rejudge cannot repeat the selection {', '.join(map(repr, other))}: rows it left out show "
                     "as not recorded")
    return args, notes


def _check_node(arg: str) -> str | None:
    """A recorded test path or node id of the checks (``checks/test_endpoint.py::test_endpoint_invoke``) as the
    same node of this installation's checks; None for anything else (``--deselect``, another path)."""
    from bedrock_key_audit import resources

    path, sep, rest = arg.partition("::")
    name = PurePosixPath(path.replace("\\", "/")).name
    if not re.fullmatch(r"test_[a-z_]+\.py", name) or not (resources.checks_dir() / name).is_file():
        return None
    return str(resources.checks_dir() / name) + sep + rest


def replay(snapshot_path: Path, workdir: Path, fleet: bool, select: list[str] | None = None) -> dict[str, Any]:
    """Run the audit with ``--replay-snapshot`` in ``workdir`` (on the checks ``select`` picks); its results.json."""
    reports = workdir / "reports"
    args = [sys.executable, "-m", "bedrock_key_audit.cli", f"--replay-snapshot={snapshot_path}",
            f"--reports-dir={reports}", "-q", "-p", "no:cacheprovider", *(["--all-keys"] if fleet else []),
            *(select or [])]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_ADDOPTS"))}
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull  # no profile reaches a replay
    proc = subprocess.run(args, cwd=workdir, env=env, capture_output=True, text=True, check=False)
    found = sorted(reports.glob(f"*/{RESULTS_NAME}"))
    if not found:
        tail = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["no output"])[-1]
        raise InputError(f"the replay wrote no {RESULTS_NAME} (exit status {proc.returncode}: {tail})")
    doc: dict[str, Any] = json.loads(found[-1].read_text(encoding="utf-8"))
    return doc


def parts_of(snap: dict[str, Any], bundle: Path) -> list[tuple[str, dict[str, Any], set[str] | None]]:
    """(name, a snapshot of one part, the rows it judged or None for all) of each part of ``snap``.

    A run in one process has one snapshot; a pytest-xdist run has one part per worker and a merged run one
    per shard (``parts``: each with its own clock, configuration, reads and the rows judged from them)."""
    if "parts" not in snap:
        return [("", snap, None)]
    parts = snap["parts"]
    if not isinstance(parts, list) or not parts or not all(
            isinstance(p, dict) and isinstance(p.get("rows"), list) for p in parts):
        raise InputError(f"{bundle}: {SNAPSHOT_NAME} has parts that are not parts of a snapshot of this tool")
    head = {k: snap.get(k) for k in ("format", "run_id", "remediate", "fleet")}
    return [(str(p.get("name") or n), {**head, **{k: v for k, v in p.items() if k not in ("name", "rows")}},
             {str(r) for r in p["rows"]}) for n, p in enumerate(parts)]


def replay_parts(snap: dict[str, Any], bundle: Path, select: list[str] | None = None
                 ) -> tuple[list[dict[str, Any]], list[str]]:
    """(every re-judged row, a line per row that two parts claim): each part replayed alone, and only the
    rows it judged taken from it."""
    rows: list[dict[str, Any]] = []
    owner: dict[str, str] = {}
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bka-rejudge-") as tmp:
        for n, (name, doc, claimed) in enumerate(parts_of(snap, bundle)):
            work = Path(tmp) / f"part-{n}"
            work.mkdir()
            path = work / SNAPSHOT_NAME
            path.write_text(json.dumps(doc), encoding="utf-8")
            got = replay(path, work, bool(snap.get("fleet")), select).get("checks") or []
            for row in got:
                key = row_key(row)
                if claimed is not None and key not in claimed:
                    continue
                if key in owner:
                    lines.append(f"differs: {key}: judged in two parts of {SNAPSHOT_NAME} ({owner[key]} and {name})")
                    continue
                owner[key] = name
                rows.append(row)
    return rows, lines


def compare(recorded: list[dict[str, Any]], rejudged: list[dict[str, Any]]) -> list[str]:
    """One line per row whose status, detail, severity or resource differs, that only one side has, or that the
    record holds twice: a row taken out of results.json is as much a change as a row edited in it."""
    new = {row_key(r): r for r in rejudged}
    lines = []
    seen: set[str] = set()
    for row in recorded:
        if not isinstance(row, dict) or "id" not in row or "status" not in row:
            lines.append(f"differs: a recorded row is not a row of this tool: {str(row)[:80]!r}")
            continue
        key = row_key(row)
        if key in seen:
            lines.append(f"differs: {key}: recorded twice")
            continue
        seen.add(key)
        got = new.get(key)
        if got is None:
            lines.append(f"differs: {key}: recorded {row['status']}, not re-judged (no such row in the replay)")
        elif got["status"] != row["status"]:
            lines.append(f"differs: {key}: recorded {row['status']}, re-judged {got['status']}: {got.get('detail', '')}")
        else:
            for field in COMPARED[1:]:
                if (got.get(field) or "") != (row.get(field) or ""):
                    lines.append(f"differs: {key}: {row['status']} both, {field} recorded {row.get(field, '')!r}, "
                                 f"re-judged {got.get(field, '')!r}")
    for key, got in new.items():
        if key not in seen:
            lines.append(f"differs: {key}: not recorded, re-judged {got['status']}: {got.get('detail', '')}")
    return lines


def summary_lines(results: dict[str, Any]) -> list[str]:
    """One line when results.json's ``summary`` is not the count of its own rows
    (:func:`bedrock_key_audit.reporting.results.summarize`): an edited total is as much a change as an edited row."""
    from bedrock_key_audit.reporting.results import summarize

    rows = results["checks"]
    if not all(isinstance(r, dict) and isinstance(r.get("status"), str) for r in rows):
        return []  # compare() names each row that is not one
    recorded, counted = results.get("summary"), summarize(rows)
    if not isinstance(recorded, dict):
        return [f"differs: summary: recorded {recorded!r}, the rows count {json.dumps(counted, sort_keys=True)}"]
    keys = sorted(set(recorded) | set(counted))
    wrong = [k for k in keys if recorded.get(k, 0) != counted.get(k, 0)]
    if not wrong:
        return []
    return ["differs: summary: " + ", ".join(f"{k} recorded {recorded.get(k, 0)!r}, the rows count "
                                            f"{counted.get(k, 0)}" for k in wrong)]


def run_id_lines(snap: dict[str, Any], results: dict[str, Any], manifest_run: str | None) -> list[str]:
    """One line when the snapshot is not the run's: its ``run_id`` must be results.json's ``run.id`` (and the
    manifest's ``run_id``, when there is a manifest).  A snapshot that names no run cannot be tied to the rows."""
    run = results.get("run")
    recorded = run.get("id") if isinstance(run, dict) else None
    own = snap.get("run_id")
    if not own:
        return [f"differs: {SNAPSHOT_NAME} names no run id, so it cannot be tied to run {recorded} "
                "(a snapshot of this version records the run it was taken in)"]
    out = []
    if own != recorded:
        out.append(f"differs: {SNAPSHOT_NAME} is of run {own}, {RESULTS_NAME} of run {recorded}")
    if manifest_run is not None and own != manifest_run:
        out.append(f"differs: {SNAPSHOT_NAME} is of run {own}, manifest.json of run {manifest_run}")
    return out


def remediate_lines(snap: dict[str, Any], results: dict[str, Any], run_raw: bytes | None) -> list[str]:
    """One line when the snapshot's ``remediate`` (``plan``: the reads are the audit's; ``apply``: the re-audit's
    after the fix; null: no remediation) is not the run's, as results.json's ``run.remediate`` and the evidence's
    run.json (when the bundle has one and it records it) say: a plan run's snapshot in an apply run's bundle judges other
    reads than the rows rest on."""
    own = snap.get("remediate")
    run = results.get("run")
    sides = [(RESULTS_NAME, run.get("remediate") if isinstance(run, dict) else None)]
    if run_raw is not None:
        try:
            meta = json.loads(run_raw)
        except (ValueError, RecursionError):
            meta = None
        if isinstance(meta, dict):
            if "remediate" in meta:  # the run.json of an earlier version does not record it
                sides.append((RUN_NAME, meta.get("remediate")))
        else:
            return [f"differs: {RUN_NAME} is not the run metadata of this tool, so the snapshot's remediate "
                    f"({own!r}) cannot be compared with it"]
    return [f"differs: {SNAPSHOT_NAME} is of a run with remediate {own!r}, {name} of one with remediate {theirs!r}"
            for name, theirs in sides if theirs != own]


def rejudge(bundle: Path, notes: list[str] | None = None) -> tuple[list[str], list[str], int]:
    """(manifest lines, differing-row lines, rows compared); what the reader should know besides is added to
    ``notes``."""
    from bedrock_key_audit.reporting.verify import BundleError, verify

    target, files = locate(bundle)
    manifest_lines: list[str] = []
    manifest_run: str | None = None
    if target is None and bundle.is_dir() and ((bundle / "run.json").is_file() or bundle.name == "evidence"):
        manifest_lines = ["manifest: missing: an evidence directory without manifest.json cannot be verified"]
    if target is not None:
        try:
            verdict = verify(target)
        except BundleError as exc:
            raise InputError(" ".join(str(exc).split())) from None
        manifest_run = verdict.run_id
        bad_signature = verdict.signature_problem is not None or (
            verdict.signature is not None and not verdict.signature.ok and not verdict.signature.untrusted)
        if not verdict.files_ok or bad_signature:
            manifest_lines = [f"manifest: {line}" for line in verdict.lines()
                              if bad_signature or not line.startswith("signature:")]
    snap = _json(SNAPSHOT_NAME, files.get(SNAPSHOT_NAME), bundle, files.get(RESULTS_NAME))
    results = _json(RESULTS_NAME, files.get(RESULTS_NAME), bundle)
    if not isinstance(results, dict) or not isinstance(results.get("checks"), list):
        raise InputError(f"{bundle}: {RESULTS_NAME} has no checks list")
    if not isinstance(snap, dict):
        raise InputError(f"{bundle}: {SNAPSHOT_NAME} is not a snapshot")
    select, said = selection_args(results)
    if notes is not None:
        notes += said
    rejudged, part_lines = replay_parts(snap, bundle, select)
    rows = run_id_lines(snap, results, manifest_run) + remediate_lines(snap, results, files.get(RUN_NAME))
    rows += summary_lines(results) + part_lines + own_results_lines(bundle, files)
    rows += compare(results["checks"], rejudged)
    return manifest_lines, rows, max(len(results["checks"]), len(rejudged))


def own_results_lines(bundle: Path, files: dict[str, bytes]) -> list[str]:
    """A run directory re-judged from its evidence/ keeps a results.json of its own (the one report.html, JUnit and
    ``merge`` read): one line when it is not the evidence's."""
    own = bundle / RESULTS_NAME
    if not (bundle.is_dir() and (bundle / "evidence").is_dir() and own.is_file()):
        return []
    if own.read_bytes() != files.get(RESULTS_NAME):
        return [f"differs: {own} is not the evidence's {RESULTS_NAME} (the rows were re-judged against the evidence's)"]
    return []


_ROW_LINE = re.compile(r"differs: ([a-z0-9_]+\.[a-z0-9_]+(?:\[[^\]]*\])?): ")


def differing_rows(lines: list[str]) -> int:
    """How many rows the lines name (a row with several differing fields counts once)."""
    return len({m.group(1) for line in lines if (m := _ROW_LINE.match(line))})


def _unverified(bundle: Path) -> str | None:
    """The note for a run directory re-judged without an evidence manifest (its files are not verified)."""
    try:
        target, _ = locate(bundle)
    except InputError:
        return None
    return None if target is not None else "note: no manifest.json: the files were not verified against one"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bedrock-key-audit rejudge",
                                     description="Re-judge every row of a recorded audit offline from its evidence.")
    parser.add_argument("bundle", type=Path,
                        help="evidence-<run>.tar.gz, an evidence/ directory, or a run directory")
    ns = parser.parse_args(argv)
    try:
        notes: list[str] = []
        manifest_lines, rows, total = rejudge(ns.bundle, notes)
    except InputError as exc:
        print(f"rejudge: {exc}", file=sys.stderr)
        return 2
    for line in notes + manifest_lines + rows:
        print(shown(line))
    n = differing_rows(rows)
    others = sum(1 for line in rows if not _ROW_LINE.match(line))
    other = f"; {others} other difference(s) above" if others else ""
    if manifest_lines:
        print(f"FAILED: the bundle does not match its manifest; {n} of {total} rows differ when re-judged{other}")
        return 1
    if target_note := _unverified(ns.bundle):
        print(target_note)
    if rows:
        print(f"DIFFERS: {n} of {total} rows re-judge differently from the recorded results.json{other}")
        return 1
    print(f"OK: all {total} rows re-judge as recorded (offline, from {SNAPSHOT_NAME})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
