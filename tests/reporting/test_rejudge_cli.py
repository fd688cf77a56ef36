"""``bedrock-key-audit rejudge BUNDLE``: a recorded bundle re-judges as recorded, an edited one is flagged
row by row, no key is in the snapshot or the bundle, and bad input is one line with exit status 2."""
from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from bedrock_key_audit.rejudge import main as rejudge
from bedrock_key_audit.rejudge import row_key
from bedrock_key_audit.reporting.evidence import MANIFEST_NAME, _dump, build_manifest
from bedrock_key_audit.reporting.results import summarize
from tests.audit.helpers import CHECKS, ROOT



@pytest.fixture(autouse=True)
def _each_snapshot_replayed_once(monkeypatch):
    """Within one test, rejudge's replay (bedrock_key_audit/rejudge.py ``replay``: a subprocess that judges one
    snapshot file offline and returns its results.json) runs once per distinct input -- the snapshot file's bytes,
    fleet mode and the selection -- and a later call with the same input gets a copy of what that run returned.

    A replay is a function of that input alone (rows judge the snapshot's reads at the snapshot's own clock, with no
    AWS and no profile: the subprocess gets AWS_CONFIG_FILE=/dev/null), and rejudge reads only its ``checks``.
    These tests replay one recorded snapshot many times to prove how rejudge compares it with edited results,
    manifests and run ids; rejudge still reads, verifies and compares every bundle itself, and every distinct
    snapshot (each edited one too) is still judged by a real replay subprocess."""
    import bedrock_key_audit.rejudge as rejudge_mod

    real = rejudge_mod.replay
    done: dict[tuple[str, bool, tuple[str, ...]], str] = {}

    def replay(snapshot_path, workdir, fleet, select=None):
        key = (hashlib.sha256(Path(snapshot_path).read_bytes()).hexdigest(), bool(fleet), tuple(select or ()))
        if key not in done:
            done[key] = json.dumps(real(snapshot_path, workdir, fleet, select))
        return json.loads(done[key])
    monkeypatch.setattr(rejudge_mod, "replay", replay)


def _record(pytester, scenario: str, *args: str) -> tuple[Path, str]:
    """Audit ``scenario`` in-process with --evidence; (the run directory, the emulator's key)."""
    seen: dict[str, str] = {}

    class Key:
        def pytest_sessionstart(self, session):
            from bedrock_key_audit.fixtures.config import CONFIG_KEY
            from bedrock_key_audit.fixtures.emulator.plugin import EMULATOR_KEY

            config = session.config
            got = config.stash[EMULATOR_KEY].client("secretsmanager", "govcloud").get_secret_value(
                SecretId=config.stash[CONFIG_KEY].secret_id)
            seen["key"] = json.loads(got["SecretString"])["bedrock_api_key"]

    reports = pytester.path / "reports"
    pytester.inline_run(str(CHECKS), f"--emulate={scenario}", "--evidence", f"--reports-dir={reports}",
                        "-p", "no:cacheprovider", f"--rootdir={ROOT}", "-c", str(ROOT / "pyproject.toml"), *args,
                        plugins=[Key()])
    runs = sorted(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink())
    return runs[-1], seen["key"]


def _files(run_dir: Path) -> dict[str, bytes]:
    """Every file of the run directory, the archive's members unpacked."""
    out = {p.relative_to(run_dir).as_posix(): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    for name, raw in list(out.items()):
        if name.endswith(".tar.gz"):
            with tarfile.open(fileobj=io.BytesIO(gzip.decompress(raw))) as tar:
                for m in tar.getmembers():
                    fh = tar.extractfile(m)
                    if fh is not None:
                        out[f"{name}!{m.name}"] = fh.read()
    return out


def _rehash(ev: Path) -> None:
    manifest = json.loads((ev / MANIFEST_NAME).read_text())
    _dump(ev / MANIFEST_NAME, build_manifest(ev, manifest["run_id"], manifest["created"]))


def _differs(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("differs:")]


def test_rejudge_a_recorded_bundle_and_flag_edits(pytester, capsys, tmp_path):
    run_dir, key = _record(pytester, "guide")
    snap = run_dir / "snapshot.json"
    assert snap.is_file() and (run_dir / "evidence" / "snapshot.json").is_file()
    manifest = json.loads((run_dir / "evidence" / MANIFEST_NAME).read_text())
    assert "snapshot.json" in {f["path"] for f in manifest["files"]}

    # (c) no key: not the key, not its secret part, not its base64 body, in any file or archive member
    assert key.startswith("ABSK")
    body = key[4:]
    secret_part = base64.b64decode(body + "=" * (-len(body) % 4)).decode().partition(":")[2]
    assert len(secret_part) >= 8
    for name, raw in _files(run_dir).items():
        for needle in (key, body, secret_part):
            assert needle.encode() not in raw, f"{name} holds the key"
    # the pseudonym keeps the prefix, the identity and the length
    text = snap.read_text()
    doc = json.loads(text)
    secrets_ = [c["value"]["v"] for c in doc["accounts"]["default"]["cells"]
                if c["key"]["v"][0] == "secret-fields"][0]
    pseudo = secrets_[0]["v"]
    assert pseudo.startswith("ABSK") and len(pseudo) == len(key) and pseudo != key
    ident = base64.b64decode(body + "=" * (-len(body) % 4)).decode().partition(":")[0]
    assert base64.b64decode(pseudo[4:] + "=" * (-len(pseudo[4:]) % 4)).decode().partition(":")[0] == ident

    # the recorded bundle re-judges as recorded, as an archive, an evidence/ directory and a run directory
    archive = next(run_dir.glob("evidence-*.tar.gz"))
    for target in (archive, run_dir / "evidence", run_dir):
        capsys.readouterr()
        assert rejudge([str(target)]) == 0, capsys.readouterr().out
        assert "OK: all" in capsys.readouterr().out

    # (b) one cell edited (the commercial trail stops logging), manifest re-hashed: exactly that row differs
    ev = tmp_path / "edited"
    shutil.copytree(run_dir / "evidence", ev)
    doc = json.loads((ev / "snapshot.json").read_text())
    trails = [c for c in doc["accounts"]["default"]["cells"] if c["key"]["v"] == ["trails", "commercial"]][0]
    assert trails["value"][0]["f"]["is_logging"] is True
    trails["value"][0]["f"]["is_logging"] = False
    (ev / "snapshot.json").write_text(json.dumps(doc))
    capsys.readouterr()
    assert rejudge([str(ev)]) == 1  # not re-hashed yet: the manifest names the file
    out = capsys.readouterr().out
    assert "manifest: changed: snapshot.json" in out
    _rehash(ev)
    assert rejudge([str(ev)]) == 1
    out = capsys.readouterr().out
    # exactly that row changes status; the other rows of that trail only say "is not logging" too
    status = [line for line in _differs(out) if " both, detail " not in line]
    assert len(status) == 1 and "cloudtrail.logging[commercial]: recorded pass, re-judged fail" in status[0], out
    assert all("[commercial]" in line and "logging" in line for line in _differs(out)), out
    assert "manifest:" not in out

    # results.json edited (a passing row says fail), manifest re-hashed: exactly that row differs
    ev2 = tmp_path / "edited-results"
    shutil.copytree(run_dir / "evidence", ev2)
    res = json.loads((ev2 / "results.json").read_text())
    row = next(r for r in res["checks"] if r["id"] == "iam.user_exists")
    row["status"] = "fail"
    (ev2 / "results.json").write_text(json.dumps(res))
    _rehash(ev2)
    assert rejudge([str(ev2)]) == 1
    out = capsys.readouterr().out
    assert _differs(out) == [
        "differs: summary: fail recorded {f}, the rows count {f1}, pass recorded {p}, the rows count {p1}".format(
            f=res["summary"]["fail"], f1=res["summary"]["fail"] + 1, p=res["summary"]["pass"],
            p1=res["summary"]["pass"] - 1),
        *[line for line in _differs(out) if "iam.user_exists: recorded fail, re-judged pass" in line]]
    # ... and with the summary recounted to match: exactly that row differs
    res["summary"] = summarize(res["checks"])
    (ev2 / "results.json").write_text(json.dumps(res))
    _rehash(ev2)
    assert rejudge([str(ev2)]) == 1
    out = capsys.readouterr().out
    assert _differs(out) == [line for line in _differs(out) if "iam.user_exists: recorded fail, re-judged pass" in line]
    assert len(_differs(out)) == 1

    # only the summary edited (one fail counted as a pass), manifest re-hashed: the summary line alone
    ev5 = tmp_path / "edited-summary"
    shutil.copytree(run_dir / "evidence", ev5)
    res = json.loads((ev5 / "results.json").read_text())
    assert res["summary"]["fail"] > 0
    res["summary"] = dict(res["summary"], fail=res["summary"]["fail"] - 1, **{"pass": res["summary"]["pass"] + 1})
    (ev5 / "results.json").write_text(json.dumps(res))
    _rehash(ev5)
    assert rejudge([str(ev5)]) == 1
    out = capsys.readouterr().out
    lines = _differs(out)
    assert len(lines) == 1 and lines[0].startswith("differs: summary: fail recorded "), lines
    # no row differs: the count says so, and names the other difference
    assert f"DIFFERS: 0 of {len(res['checks'])} rows re-judge differently" in out and "1 other difference(s)" in out

    # the run directory's own results.json (the one report.html and merge read) edited: flagged, though the
    # evidence's copy re-judges as recorded
    rd = tmp_path / "run-dir"
    shutil.copytree(run_dir, rd, symlinks=True)
    res = json.loads((rd / "results.json").read_text())
    next(r for r in res["checks"] if r["status"] == "fail")["status"] = "pass"
    (rd / "results.json").write_text(json.dumps(res))
    assert rejudge([str(rd)]) == 1
    assert _differs(capsys.readouterr().out) == [
        f"differs: {rd / 'results.json'} is not the evidence's results.json (the rows were re-judged against the "
        "evidence's)"]

    # a snapshot of another run put in the bundle (manifest regenerated): flagged, as is one naming no run
    for name, other in (("other-run", "20200101T000000Z"), ("no-run-id", None)):
        ev6 = tmp_path / name
        shutil.copytree(run_dir / "evidence", ev6)
        snap_doc = json.loads((ev6 / "snapshot.json").read_text())
        assert snap_doc["run_id"] == manifest["run_id"] == json.loads((ev6 / "results.json").read_text())["run"]["id"]
        snap_doc["run_id"] = other
        (ev6 / "snapshot.json").write_text(json.dumps(snap_doc))
        _rehash(ev6)
        assert rejudge([str(ev6)]) == 1
        lines = _differs(capsys.readouterr().out)
        want = ([f"differs: snapshot.json is of run {other}, results.json of run {manifest['run_id']}",
                 f"differs: snapshot.json is of run {other}, manifest.json of run {manifest['run_id']}"] if other
                else [f"differs: snapshot.json names no run id, so it cannot be tied to run {manifest['run_id']} "
                      "(a snapshot of this version records the run it was taken in)"])
        assert lines == want

    # rows taken out of results.json (a failing one; then every one), manifest re-hashed: each is flagged
    for name, keep in (("dropped-fail", lambda r: r["status"] != "fail" or r["id"] != "iam.policy_least_privilege"),
                       ("dropped-all", lambda r: False)):
        ev3 = tmp_path / name
        shutil.copytree(run_dir / "evidence", ev3)
        res = json.loads((ev3 / "results.json").read_text())
        kept = [r for r in res["checks"] if keep(r)]
        gone = len(res["checks"]) - len(kept)
        res["checks"] = kept
        res["summary"] = summarize(kept)
        (ev3 / "results.json").write_text(json.dumps(res))
        _rehash(ev3)
        assert rejudge([str(ev3)]) == 1
        lines = _differs(capsys.readouterr().out)
        assert len(lines) == gone and all(": not recorded, re-judged " in line for line in lines), lines

    # the evidence directory without its manifest: not verified, so not OK
    ev4 = tmp_path / "no-manifest" / "evidence"
    shutil.copytree(run_dir / "evidence", ev4)
    (ev4 / "manifest.json").unlink()
    assert rejudge([str(ev4)]) == 1
    assert "manifest: missing" in capsys.readouterr().out


@pytest.mark.parametrize("make", ["missing", "empty-dir", "not-a-bundle", "no-snapshot", "bad-json", "deep-json",
                                  "bad-parts", "bad-clock", "other-format"])
def test_rejudge_bad_input(tmp_path, capsys, make):
    target = tmp_path / "in"
    if make == "empty-dir":
        target.mkdir()
    elif make == "not-a-bundle":
        target = tmp_path / "evidence-x.tar.gz"
        target.write_bytes(b"not a tar")
    elif make in ("no-snapshot", "bad-json", "deep-json", "bad-parts", "bad-clock", "other-format"):
        target.mkdir()
        (target / "results.json").write_text(json.dumps({"checks": []}))
        if make == "bad-json":
            (target / "snapshot.json").write_text("{")
        if make == "deep-json":
            (target / "snapshot.json").write_text("[" * 100_000 + "]" * 100_000)
        if make == "bad-parts":
            (target / "snapshot.json").write_text(json.dumps({"format": "bedrock-key-audit-snapshot/1",
                                                              "run_id": None, "parts": [{"rows": "x"}]}))
        if make in ("bad-clock", "other-format"):
            (target / "snapshot.json").write_text(json.dumps({
                "format": "bedrock-key-audit-snapshot/1" if make == "bad-clock" else "bedrock-key-audit-snapshot/999",
                "run_id": None, "now": "garbage", "config": {}, "accounts": {}}))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert rejudge([str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rejudge: ") and "\n" not in err and "INTERNALERROR" not in err, err
    if make == "bad-clock":
        assert "its clock (now) is 'garbage', not an ISO 8601 time" in err
    if make == "other-format":
        assert "format 'bedrock-key-audit-snapshot/999'" in err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written


@pytest.mark.parametrize("extra", ["--emulate=compliant", "--remediate=plan", "parts"])
def test_replay_refuses_options_that_need_aws(pytester, extra):
    """--replay-snapshot with an option that needs AWS, or of a snapshot in parts (rejudge replays each alone)."""
    snap = pytester.path / "snapshot.json"
    one = {"now": "2026-01-01T00:00:00+00:00", "accounts": {}, "config": {}}
    snap.write_text(json.dumps({"format": "bedrock-key-audit-snapshot/1",
                                **({"parts": [dict(one, name="gw0", rows=[])]} if extra == "parts" else one)}))
    res = pytester.runpytest_inprocess(str(CHECKS), f"--replay-snapshot={snap}", *([extra] if extra != "parts" else []),
                                       "--no-reports", "-p", "no:cacheprovider", f"--rootdir={ROOT}",
                                       "-c", str(ROOT / "pyproject.toml"))
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    assert "--replay-snapshot" in res.stderr.str()
    if extra == "parts":
        assert "a snapshot in parts" in res.stderr.str()


@pytest.mark.parametrize("kind", [tarfile.LNKTYPE, tarfile.SYMTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE],
                         ids=["hard-link", "symlink", "char-device", "block-device", "fifo"])
def test_links_and_devices_in_an_archive_are_bad_input(tmp_path, capsys, kind):
    """A hard or symbolic link, a device or a FIFO in an archive: refused with one line by rejudge and verify
    (exit status 2), not reported as an added file."""
    from bedrock_key_audit.reporting.verify import main as verify

    ev = tmp_path / "evidence"
    ev.mkdir()
    (ev / "results.json").write_bytes(b'{"checks": []}')
    manifest = json.dumps(build_manifest(ev, "20260101T000000Z", "2026-01-01T00:00:00Z")).encode()
    archive = tmp_path / "evidence-20260101T000000Z.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, raw in (("evidence/results.json", b'{"checks": []}'), ("evidence/manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
        odd = tarfile.TarInfo("evidence/snapshot.json")
        odd.type = kind
        odd.linkname = "evidence/results.json" if kind in (tarfile.LNKTYPE, tarfile.SYMTYPE) else ""
        tar.addfile(odd)
    for command in (rejudge, verify):
        capsys.readouterr()
        assert command([str(archive)]) == 2
        captured = capsys.readouterr()
        err = captured.err.strip()
        assert "\n" not in err and "'evidence/snapshot.json' is a" in err and "not a regular file" in err, err
        assert "added" not in captured.out


KEY_SPY = '''
import json, os


def pytest_sessionstart(session):
    """Each process's emulator key (every pytest-xdist worker builds its own emulator) into $BKA_KEY_SPY."""
    from bedrock_key_audit.fixtures.config import CONFIG_KEY
    from bedrock_key_audit.fixtures.emulator.plugin import EMULATOR_KEY

    config = session.config
    got = config.stash[EMULATOR_KEY].client("secretsmanager", "govcloud").get_secret_value(
        SecretId=config.stash[CONFIG_KEY].secret_id)
    with open(os.environ["BKA_KEY_SPY"], "a", encoding="utf-8") as fh:
        fh.write(json.loads(got["SecretString"])["bedrock_api_key"] + "\\n")
'''


@pytest.mark.skipif(not __import__("importlib").util.find_spec("xdist"), reason="pytest-xdist not installed")
def test_rejudge_an_xdist_emulated_run(tmp_path, capsys):
    """-n 2 --emulate: each worker judged its rows against its own emulator (own key, own clock); the snapshot
    keeps one part per worker with the rows it judged, every row re-judges as recorded, and no worker's key is
    in any file."""
    import os
    import subprocess
    import sys

    (tmp_path / "bka_key_spy.py").write_text(KEY_SPY)
    spy = tmp_path / "keys.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_"))}
    env.update(PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]), PYTEST_PLUGINS="bka_key_spy",
               BKA_KEY_SPY=str(spy))
    reports = tmp_path / "reports"
    subprocess.run([sys.executable, "-m", "bedrock_key_audit.cli", "--emulate=guide", "-n", "2", "--evidence",
                    f"--reports-dir={reports}", "-p", "no:cacheprovider", "-q", "-k", "iam or credential or secret"],
                   cwd=tmp_path, env=env, capture_output=True, check=False, timeout=600)
    run_dir = next(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink())
    snap = json.loads((run_dir / "snapshot.json").read_text())
    res = json.loads((run_dir / "results.json").read_text())
    assert snap["run_id"] == res["run"]["id"] and len(snap["parts"]) == 2
    claimed = [r for p in snap["parts"] for r in p["rows"]]
    assert sorted(claimed) == sorted(row_key(r) for r in res["checks"])  # each row in one part
    assert rejudge([str(run_dir)]) == 0, capsys.readouterr().out
    assert "OK: all" in capsys.readouterr().out

    keys = set(spy.read_text().split())
    assert len(keys) >= 3  # the controller's emulator and each worker's
    for key in keys:
        body = key[4:]
        secret_part = base64.b64decode(body + "=" * (-len(body) % 4)).decode().partition(":")[2]
        for name, raw in _files(run_dir).items():
            for needle in (key, body, secret_part):
                assert needle.encode() not in raw, f"{name} holds a worker's key"


def test_names_from_a_bundle_are_printed_escaped_and_rows_counted_once():
    from bedrock_key_audit.rejudge import differing_rows
    from bedrock_key_audit.reporting.verify import shown

    assert shown("evidence/\x1b[2J\rOK: all fine\n\udcff.json") == "evidence/\\x1b[2J\\rOK: all fine\\n\\udcff.json"
    assert shown("evidence/résumé.json") == "evidence/résumé.json"
    lines = ["differs: summary: fail recorded 3, the rows count 4",
             "differs: iam.user_exists: pass both, detail recorded 'a', re-judged 'b'",
             "differs: iam.user_exists: pass both, resource recorded 'a', re-judged 'b'",
             "differs: cloudtrail.logging[commercial]: recorded pass, re-judged fail: x",
             "differs: snapshot.json is of run 1, results.json of run 2"]
    assert differing_rows(lines) == 2


def test_a_selected_run_re_judges_its_selection_and_a_dropped_row_is_still_flagged(pytester, capsys, tmp_path):
    run_dir, _ = _record(pytester, "guide", "-m", "credential and not endpoint")
    res = json.loads((run_dir / "evidence" / "results.json").read_text())
    assert res["checks"] and all(r["id"].startswith("credential.") for r in res["checks"])
    capsys.readouterr()
    assert rejudge([str(run_dir / "evidence")]) == 0
    out = capsys.readouterr().out
    assert "note: the recorded run audited a selection, re-judged the same: '-m credential and not endpoint'" in out
    assert f"OK: all {len(res['checks'])} rows" in out
    # a row of the selection taken out (summary recounted, manifest re-hashed): still flagged
    ev = tmp_path / "dropped"
    shutil.copytree(run_dir / "evidence", ev)
    gone = res["checks"][0]
    res["checks"] = res["checks"][1:]
    res["summary"] = summarize(res["checks"])
    (ev / "results.json").write_text(json.dumps(res))
    _rehash(ev)
    assert rejudge([str(ev)]) == 1
    lines = _differs(capsys.readouterr().out)
    assert len(lines) == 1 and lines[0].startswith(f"differs: {row_key(gone)}: not recorded, re-judged "), lines


def test_the_recorded_selection_is_repeated_where_it_can_be():
    from bedrock_key_audit import resources
    from bedrock_key_audit.rejudge import selection_args

    results = {"run": {"selection": {"filtered": True, "filters": [
        "-m credential and not endpoint", "-k not unexpired", "checks/test_endpoint.py::test_endpoint_invoke",
        "/elsewhere/checks/test_cloudtrail.py", "--deselect", "tests/other.py"]}}}
    args, notes = selection_args(results)
    assert args == ["-m", "credential and not endpoint", "-k", "not unexpired",
                    f"{resources.checks_dir() / 'test_endpoint.py'}::test_endpoint_invoke",
                    str(resources.checks_dir() / "test_cloudtrail.py")]
    assert "re-judged the same" in notes[0] and notes[1].startswith("note: rejudge cannot repeat the selection "
                                                                   "'--deselect', 'tests/other.py'")
    assert selection_args({"run": {"selection": {"filtered": False, "filters": []}}}) == ([], [])


def test_a_snapshot_of_another_remediate_mode_is_flagged(pytester, capsys, tmp_path):
    """An apply run's bundle whose snapshot says ``remediate: plan`` (a plan run's snapshot swapped in, its run id
    made to match, the manifest re-hashed): results.json and run.json say apply, so rejudge says it differs."""
    run_dir, _key = _record(pytester, "guide", "--remediate")
    ev = tmp_path / "swapped"
    shutil.copytree(run_dir / "evidence", ev)
    capsys.readouterr()
    code = rejudge([str(ev)])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    doc = json.loads((ev / "snapshot.json").read_text())
    assert doc["remediate"] == "apply"
    doc["remediate"] = "plan"
    (ev / "snapshot.json").write_text(json.dumps(doc))
    _rehash(ev)
    capsys.readouterr()
    assert rejudge([str(ev)]) == 1
    out = capsys.readouterr().out
    assert "differs: snapshot.json is of a run with remediate 'plan', results.json of one with remediate 'apply'" in out
    assert "differs: snapshot.json is of a run with remediate 'plan', run.json of one with remediate 'apply'" in out
    assert "DIFFERS:" in out and "other difference(s) above" in out


def _evidence_dir(tmp_path: Path) -> Path:
    ev = tmp_path / "evidence"
    (ev / "checks").mkdir(parents=True)
    (ev / "results.json").write_bytes(b'{"checks": []}')
    (ev / "checks" / "a.json").write_bytes(b"{}")
    _dump(ev / MANIFEST_NAME, build_manifest(ev, "20260101T000000Z", "2026-01-01T00:00:00Z"))
    return ev


@pytest.mark.parametrize("kind", ["symlink", "dir-symlink", "fifo", "nested-symlink"])
def test_links_and_fifos_in_a_directory_bundle_are_bad_input(tmp_path, capsys, kind):
    """A symbolic link or a FIFO in an evidence directory: refused with one line by rejudge and verify (exit
    status 2), never followed or opened, not reported as a changed or added file."""
    import os

    from bedrock_key_audit.reporting.verify import main as verify

    ev = _evidence_dir(tmp_path)
    if kind == "symlink":
        (ev / "snapshot.json").symlink_to(ev / "results.json")
    elif kind == "dir-symlink":
        (ev / "oscal").symlink_to(tmp_path)
    elif kind == "fifo":
        os.mkfifo(ev / "snapshot.json")  # opening it would block
    else:
        (ev / "checks" / "a.json").unlink()
        (ev / "checks" / "a.json").symlink_to("/dev/zero")  # reading it would never end
    for command in (rejudge, verify):
        capsys.readouterr()
        assert command([str(ev)]) == 2
        captured = capsys.readouterr()
        err = captured.err.strip()
        assert "\n" not in err and "not a regular file" in err, err
        assert ("symbolic link" if kind != "fifo" else "FIFO") in err
        assert "changed" not in captured.out and "added" not in captured.out


def test_verify_flags_an_unlisted_or_resized_file_without_reading_it(tmp_path, capsys, monkeypatch):
    """A file the manifest does not list is added, and a listed one of another size changed, from its size alone:
    a sparse 64 GiB file is flagged at once; only the listed files of their listed size are hashed."""
    from bedrock_key_audit.reporting import verify as verify_mod

    ev = _evidence_dir(tmp_path)
    with (ev / "huge.bin").open("wb") as fh:
        fh.truncate(64 << 30)
    (ev / "checks" / "a.json").write_bytes(b"{}\n")  # listed, now one byte longer
    hashed: list[int] = []
    real = verify_mod._digest_stream

    def spy(fh):
        digest = real(fh)
        hashed.append(1)
        return digest

    monkeypatch.setattr(verify_mod, "_digest_stream", spy)
    assert verify_mod.main([str(ev)]) == 1
    out = capsys.readouterr().out
    assert "changed: checks/a.json" in out and "added: huge.bin" in out
    assert len(hashed) == 1  # results.json only

    archive = tmp_path / "evidence-20260101T000000Z.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("checks/a.json", "manifest.json", "results.json", "zz-unlisted.bin"):
            raw = (ev / name).read_bytes() if name != "zz-unlisted.bin" else b"\0" * 4096
            info = tarfile.TarInfo("evidence/" + name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    hashed.clear()
    assert verify_mod.main([str(archive)]) == 1
    out = capsys.readouterr().out
    assert "changed: checks/a.json" in out and "added: zz-unlisted.bin" in out
    assert len(hashed) == 1
