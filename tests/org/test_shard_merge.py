"""--shard K/N takes a stable slice of the accounts; merging the shard runs gives one run's rows."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from bedrock_key_audit import merge, rejudge
from bedrock_key_audit.organization import in_shard, parse_shard
from tests.audit.helpers import CHECKS, ROOT

CANDIDATES = [f"acct-{c}" for c in "abcdefgh"]


def test_parse_shard_and_stability():
    assert parse_shard("2/4") == (2, 4)
    for bad in ("0/2", "3/2", "1", "a/b", "1/0"):
        with pytest.raises(ValueError, match="--shard"):
            parse_shard(bad)
    ids = [f"{n:012d}" for n in range(200)]
    shards = [{a for a in ids if in_shard(a, k, 4)} for k in range(1, 5)]
    assert set().union(*shards) == set(ids) and sum(map(len, shards)) == len(ids)  # a partition of the ids
    assert all(len(s) > 20 for s in shards)
    # an account keeps its shard whatever else is in the organization (a hash of its own id)
    assert [in_shard(a, 1, 4) for a in ids[:50]] == [in_shard(a, 1, 4) for a in ids[:50]]


def _accounts() -> list[str]:
    first = [a for a in CANDIDATES if in_shard(a, 1, 2)][:2]
    second = [a for a in CANDIDATES if in_shard(a, 2, 2)][:1]
    assert first and second
    return first + second


def _run(pytester, cfg: Path, reports: Path, *args: str) -> Path:
    pytester.inline_run(str(CHECKS), "--emulate=guide", f"--reports-dir={reports}", "-p", "no:cacheprovider",
                        f"--rootdir={ROOT}", "-c", str(ROOT / "pyproject.toml"), f"--audit-config={cfg}",
                        "--evidence", *args)
    return (reports / "latest").resolve()


def _detail(text: str) -> str:
    """Each run builds its emulator state anew: credential and KMS key ids differ, nothing else."""
    text = re.sub(r"\b[A-Z0-9]{8}…", "<id>", text)
    # credential.recently_used counts the audit's own earlier probes in the emulator's event history,
    # which grows with every run (each run's endpoint probes are recorded)
    # which grows with every run (each run's endpoint probes are recorded); the history is read while the
    # probes run (both start at set-up), so whether this run's own probes are in it yet is a matter of timing
    text = re.sub(r" ?\(and \d+ of this audit's own probes, not counted\)", "", text)
    text = re.sub(r"(:secret:[\w/+=.@-]+)-[A-Za-z0-9]{6}\b", r"\1-<suffix>", text)
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", text)


def _rows(doc: dict) -> list[tuple]:
    return sorted((r["id"], json.dumps(r["params"], sort_keys=True), r["status"], r["severity"], _detail(r["detail"]))
                  for r in doc["checks"])


def test_two_shards_merged_equal_one_run(pytester, tmp_path, capsys):
    cfg = tmp_path / "accounts.toml"
    cfg.write_text("".join(f'[[accounts]]\nname = "{a}"\n\n' for a in _accounts()))
    whole = _run(pytester, cfg, tmp_path / "whole")
    one = _run(pytester, cfg, tmp_path / "s1", "--shard", "1/2")
    two = _run(pytester, cfg, tmp_path / "s2", "--shard=2/2")
    single = json.loads((whole / "results.json").read_text())
    s1, s2 = (json.loads((d / "results.json").read_text()) for d in (one, two))
    assert s1["checks"] and s2["checks"]
    out = tmp_path / "merged"
    status = merge.main([str(one), str(two), "--out", str(out)])
    merged = json.loads((out / "results.json").read_text())
    assert _rows(merged) == _rows(single)
    assert merged["summary"] == single["summary"]
    assert status == single["run"]["exit_status"] != 0  # the guide fails rows
    for name in ("report.html", "junit.xml", "findings.ocsf.json", "evidence/manifest.json",
                 "evidence/oscal/assessment-results.json"):
        assert (out / name).is_file(), name
    assert list(out.glob("evidence-*.tar.gz"))
    # the merged snapshot: one part per shard, each with that shard's rows; every row re-judges as recorded
    snap = json.loads((out / "snapshot.json").read_text())
    assert snap["run_id"] == merged["run"]["id"]
    assert [p["name"] for p in snap["parts"]] == [s1["run"]["id"], s2["run"]["id"]]
    assert [len(p["rows"]) for p in snap["parts"]] == [len(s1["checks"]), len(s2["checks"])]
    assert rejudge.main([str(out)]) == 0
    # a shard without a snapshot: the merged run has none, merge says why, rejudge says so in one line
    bare = tmp_path / "bare"
    shutil.copytree(one, bare)
    (bare / "snapshot.json").unlink()
    nosnap = tmp_path / "merged-without"
    capsys.readouterr()
    assert merge.main([str(bare), str(two), "--out", str(nosnap)]) == status
    assert f"note: no snapshot.json ({bare} has no snapshot.json)" in capsys.readouterr().out
    assert not (nosnap / "snapshot.json").exists()
    assert rejudge.main([str(nosnap)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no snapshot.json: a merged run has one only when every shard" in err
    # merging a shard twice is refused, and writes nothing
    again = tmp_path / "again"
    assert merge.main([str(one), str(one), "--out", str(again)]) == merge.USAGE_ERROR
    assert not again.exists()
