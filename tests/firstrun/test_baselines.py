"""Which earlier run a run is compared with: never a filtered run for a run of every check, never an
emulated run that applied fixes for an emulated run (the emulator starts fresh), and only rows both ran."""
from __future__ import annotations

import json

from bedrock_key_audit.reporting.history import baseline, was_filtered
from tests.audit.helpers import CHECKS, ROOT

KIND = {"mode": "emulate", "scenario": "guide", "config_sha256": "a" * 64, "all_keys": False}


def _run(base, name, **run):
    d = base / name
    d.mkdir()
    meta = {"exit_status": 1, "mode": "emulate", "scenario": "guide", "config": {"sha256": "a" * 64}, "args": []}
    meta.update(run)
    (d / "results.json").write_text(json.dumps({"run": meta, "checks": []}))
    return d


def test_a_filtered_run_is_never_the_baseline_of_a_full_one(tmp_path):
    full = _run(tmp_path, "20261101T000000Z")
    _run(tmp_path, "20261102T000000Z", selection={"filtered": True, "filters": ["-k iam"]})
    _run(tmp_path, "20261103T000000Z", args=["-m", "cloudtrail"])  # written before selection was recorded
    prev, notes = baseline(tmp_path, None, KIND, filtered=False)
    assert prev == full
    assert notes == ["20261103T000000Z audited only some checks (-k/-m): not the baseline of a run of every check",
                     "20261102T000000Z audited only some checks (-k iam): not the baseline of a run of every check"]
    # a filtered run may compare with a filtered one: only the rows both ran are compared
    assert baseline(tmp_path, None, KIND, filtered=True) == (tmp_path / "20261103T000000Z", [])


def test_an_emulated_run_after_remediate_says_the_emulator_starts_fresh(tmp_path):
    before = _run(tmp_path, "20261101T000000Z")
    _run(tmp_path, "20261102T000000Z", remediate="apply")
    _run(tmp_path, "20261103T000000Z", remediate="plan")  # changed nothing: a baseline
    assert baseline(tmp_path, None, KIND, filtered=False, emulated=True) == (tmp_path / "20261103T000000Z", [])
    (tmp_path / "20261103T000000Z" / "results.json").unlink()
    prev, notes = baseline(tmp_path, None, KIND, filtered=False, emulated=True)
    assert prev == before
    assert notes == ["20261102T000000Z applied fixes to the emulator, which starts fresh at every run (its scenario "
                     "is built again): not a baseline, and rows it fixed failing again is no regression"]
    # against real accounts a remediated run is the state after the fixes: the baseline
    assert baseline(tmp_path, None, dict(KIND, mode="real"), filtered=False)[0] is None  # other kind
    assert baseline(tmp_path, None, KIND, filtered=False, emulated=False)[0] == tmp_path / "20261102T000000Z"


def test_was_filtered_from_old_arguments():
    assert was_filtered({"args": ["-kiam"]}) and was_filtered({"args": ["--deselect=x"]})
    assert not was_filtered({"args": ["--emulate=guide", "--evidence"]})


def test_a_filtered_then_a_full_run_end_to_end(pytester, tmp_path):
    reports = tmp_path / "reports"
    common = (str(CHECKS), "-p", "no:cacheprovider", f"--rootdir={ROOT}", "-c", str(ROOT / "pyproject.toml"),
              f"--reports-dir={reports}", "--emulate=guide")
    pytester.runpytest_inprocess(*common, "-k", "credential.unexpired or iam.user_exists")
    doc1 = json.loads((reports / "latest" / "results.json").read_text())
    assert doc1["run"]["selection"] == {"filtered": True, "filters": ["-k credential.unexpired or iam.user_exists"]}
    second = pytester.runpytest_inprocess(*common)
    doc2 = json.loads((reports / "latest" / "results.json").read_text())
    assert doc2["run"]["selection"] == {"filtered": False, "filters": []}
    assert doc2["changes"]["previous_run"] is None and doc2["changes"]["newly_failing"] == []
    assert doc2["changes"]["notes"] == [f"{doc1['run']['id']} audited only some checks (-k credential.unexpired or "
                                        "iam.user_exists): not the baseline of a run of every check"]
    assert any(line.startswith(f"baseline: {doc1['run']['id']} audited only some checks") for line in second.outlines)
    html = (reports / "latest" / "report.html").read_text()
    assert f"{doc1['run']['id']} audited only some checks" in html
