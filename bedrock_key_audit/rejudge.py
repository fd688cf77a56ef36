"""``bedrock-key-audit rejudge BUNDLE``: re-run every row of a recorded audit offline, from its evidence alone.

BUNDLE is an ``evidence-<run>.tar.gz`` archive, an ``evidence/`` directory, or a run directory
(with ``evidence/``, or with ``snapshot.json`` and ``results.json``).  The manifest's digests
are checked first (:mod:`bedrock_key_audit.reporting.verify`; a mismatch is reported).  Then the
audit runs again, as ``bedrock-key-audit`` runs it, with ``--replay-snapshot``: the recorded
configuration and clock, every read answered from ``snapshot.json``, no AWS or HTTP call
(:mod:`bedrock_key_audit.snapshot`).  One line is printed per row whose status or detail differs
from the bundle's ``results.json``, then a summary.

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
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from bedrock_key_audit.snapshot import FILE_NAME as SNAPSHOT_NAME

RESULTS_NAME = "results.json"
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
                if member.isfile() and len(name.parts) == 2 and name.name in (SNAPSHOT_NAME, RESULTS_NAME):
                    if member.size > MAX_MEMBER_BYTES:
                        raise InputError(f"{path}: {member.name} is {member.size} bytes, more than any evidence "
                                         f"file of this tool ({MAX_MEMBER_BYTES} at most)")
                    fh = tar.extractfile(member)
                    if fh is not None:
                        out[name.name] = fh.read()
            return out
    except (tarfile.TarError, OSError) as exc:
        raise InputError(f"{path}: not an evidence bundle ({type(exc).__name__})") from None


def locate(path: Path) -> tuple[Path | None, dict[str, bytes]]:
    """(what to verify against a manifest or None, {snapshot.json, results.json: bytes})."""
    if path.is_file():
        return path, _from_archive(path)
    if not path.is_dir():
        raise InputError(f"{path}: no such file or directory")
    for where in (path, path / "evidence"):
        if (where / "manifest.json").is_file():
            return where, {n: (where / n).read_bytes() for n in (SNAPSHOT_NAME, RESULTS_NAME) if (where / n).is_file()}
    archives = sorted(path.glob("evidence-*.tar.gz"))
    if len(archives) == 1:
        return archives[0], _from_archive(archives[0])
    return None, {n: (path / n).read_bytes() for n in (SNAPSHOT_NAME, RESULTS_NAME) if (path / n).is_file()}


def _json(name: str, raw: bytes | None, bundle: Path) -> Any:
    if raw is None:
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


def replay(snapshot_path: Path, workdir: Path, fleet: bool) -> dict[str, Any]:
    """Run the audit with ``--replay-snapshot`` in ``workdir``; its results.json."""
    reports = workdir / "reports"
    args = [sys.executable, "-m", "bedrock_key_audit.cli", f"--replay-snapshot={snapshot_path}",
            f"--reports-dir={reports}", "-q", "-p", "no:cacheprovider", *(["--all-keys"] if fleet else [])]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_ADDOPTS"))}
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull  # no profile reaches a replay
    proc = subprocess.run(args, cwd=workdir, env=env, capture_output=True, text=True, check=False)
    found = sorted(reports.glob(f"*/{RESULTS_NAME}"))
    if not found:
        tail = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["no output"])[-1]
        raise InputError(f"the replay wrote no {RESULTS_NAME} (exit status {proc.returncode}: {tail})")
    doc: dict[str, Any] = json.loads(found[-1].read_text(encoding="utf-8"))
    return doc


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


def rejudge(bundle: Path) -> tuple[list[str], list[str], int]:
    """(manifest lines, differing-row lines, rows compared)."""
    from bedrock_key_audit.reporting.verify import BundleError, verify

    target, files = locate(bundle)
    manifest_lines: list[str] = []
    if target is None and bundle.is_dir() and ((bundle / "run.json").is_file() or bundle.name == "evidence"):
        manifest_lines = ["manifest: missing: an evidence directory without manifest.json cannot be verified"]
    if target is not None:
        try:
            verdict = verify(target)
        except BundleError as exc:
            raise InputError(" ".join(str(exc).split())) from None
        bad_signature = verdict.signature_problem is not None or (
            verdict.signature is not None and not verdict.signature.ok and not verdict.signature.untrusted)
        if not verdict.files_ok or bad_signature:
            manifest_lines = [f"manifest: {line}" for line in verdict.lines()
                              if bad_signature or not line.startswith("signature:")]
    snap = _json(SNAPSHOT_NAME, files.get(SNAPSHOT_NAME), bundle)
    results = _json(RESULTS_NAME, files.get(RESULTS_NAME), bundle)
    if not isinstance(results, dict) or not isinstance(results.get("checks"), list):
        raise InputError(f"{bundle}: {RESULTS_NAME} has no checks list")
    if not isinstance(snap, dict):
        raise InputError(f"{bundle}: {SNAPSHOT_NAME} is not a snapshot")
    with tempfile.TemporaryDirectory(prefix="bka-rejudge-") as tmp:
        work = Path(tmp)
        path = work / SNAPSHOT_NAME
        path.write_bytes(files[SNAPSHOT_NAME])
        doc = replay(path, work, bool(snap.get("fleet")))
    rows = compare(results["checks"], doc.get("checks") or [])
    return manifest_lines, rows, max(len(results["checks"]), len(doc.get("checks") or []))


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
        manifest_lines, rows, total = rejudge(ns.bundle)
    except InputError as exc:
        print(f"rejudge: {exc}", file=sys.stderr)
        return 2
    for line in manifest_lines + rows:
        print(line)
    if manifest_lines:
        print(f"FAILED: the bundle does not match its manifest; {len(rows)} of {total} rows differ when re-judged")
        return 1
    if target_note := _unverified(ns.bundle):
        print(target_note)
    if rows:
        print(f"DIFFERS: {len(rows)} of {total} rows re-judge differently from the recorded results.json")
        return 1
    print(f"OK: all {total} rows re-judge as recorded (offline, from {SNAPSHOT_NAME})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
