"""report.html and index.html render in a real browser (headless Chromium), when one is installed."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "screenshot-report"
BROWSER = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(not BROWSER, reason="chromium not installed (apt-get install -y chromium)")

CHECKS = '''
import pathlib, pytest

@pytest.mark.check("credential.unexpired")
def test_unexpired(check):
    check.resource = "ACCAEXAMPLE"
    check.evidence("iam:ListServiceSpecificCredentials", {"ServiceSpecificCredentials": [{"Status": "Active"}]})
    check.require(pathlib.Path("state.txt").read_text() == "ok", "key ACCAEXAMPLE expires in 12 days (rotate before 30)")
    check.passed("key ACCAEXAMPLE expires in 170 days")

@pytest.mark.check("cloudtrail.kms")
def test_kms(check):
    check.passed("trail main is encrypted with a customer-managed key")
'''


def _dom(url: Path, *extra: str) -> str:
    """The DOM after the page's own scripts ran (pytest-html builds its table in JavaScript)."""
    profile = subprocess.run(["mktemp", "-d"], capture_output=True, text=True, check=True).stdout.strip()
    try:
        out = subprocess.run(
            [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--virtual-time-budget=3000", *extra, "--dump-dom", url.as_uri()],
            capture_output=True, text=True, timeout=60)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return out.stdout


def _tops(page: Path, selectors: list[str]) -> dict[str, float]:
    """The top (px) of each selector's first element, laid out at 1400x1000: a copy of the page
    writes them into its title after our script ran, and Chromium's --dump-dom returns it."""
    probe = page.with_name("probe.html")
    js = ("<script>window.addEventListener('load',function(){setTimeout(function(){var o={};"
          + "".join(f"o[{s!r}]=document.querySelector({s!r}).getBoundingClientRect().top;" for s in selectors)
          + "document.title='TOPS'+JSON.stringify(o);},0);});</script>")
    probe.write_text(page.read_text().replace("</body>", js + "</body>"))
    try:
        dom = _dom(probe, "--window-size=1400,1000")
    finally:
        probe.unlink()
    import json

    m = re.search(r"<title[^>]*>TOPS(.*?)</title>", dom)
    assert m, "probe did not run"
    return json.loads(m.group(1).replace("&quot;", '"'))


def test_report_and_history_render_in_chromium(audit_dir, tmp_path):
    audit_dir.pytester.makepyfile(test_shot=CHECKS)
    state = audit_dir.path / "state.txt"
    for value in ("bad", "ok", "bad"):
        state.write_text(value)
        audit_dir.run()
    run = audit_dir.latest()

    for page, png in ((run / "report.html", tmp_path / "report.png"), (audit_dir.reports / "index.html", tmp_path / "index.png")):
        res = subprocess.run([str(SCRIPT), str(page), str(png), "1400x1000"], capture_output=True, text=True, timeout=90)
        assert res.returncode == 0, res.stderr
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000

    dom = _dom(run / "report.html")
    # rows exist only once app.js has rendered them from the report's JSON
    assert '<td class="col-check" id="check-credential.unexpired">credential.unexpired' in dom
    assert 'class="col-result check-fail">Failed</td>' in dom
    assert "Newly failing since" in dom and 'class="bar-fail"' in dom
    assert 'bka-arranged' in dom  # our script ran

    # first screen, in this order: title, what was audited, counts by severity, newly failing,
    # the control view (each control with its status); then the checks; pytest's machinery last
    marks = ['id="title"', "What was audited", 'id="bka-counts"', 'id="bka-newly"', 'id="bka-controls"',
             'class="bka-control"', 'id="bka-checks"', 'id="results-table"', 'id="bka-after"', 'id="bka-pytest"',
             'data-test-result="xfailed"', 'data-test-result="rerun"', 'id="environment"']
    pos = [dom.index(m) for m in marks]
    assert pos == sorted(pos), [m for m, p in sorted(zip(marks, pos, strict=True), key=lambda x: x[1])]
    # only the outcomes an audit has are filtered above the table
    checks_part = dom[dom.index('id="bka-checks"'):dom.index('id="results-table"')]
    assert {"passed", "failed", "error", "skipped"} == set(re.findall(r'data-test-result="(\w+)"', checks_part))
    first = re.search(r'<tr class="bka-control"[^>]*data-status="(\w+)"', dom)
    assert first and first.group(1) in ("satisfied", "not_satisfied", "not_assessed")
    # the failing row (verdict only, no output) has no detail box: no .log in its extras row
    failing = dom[dom.index('<tbody class="results-table-row failed"'):]
    failing = failing[:failing.index("</tbody>")]
    assert 'class="log"' not in failing

    # the first screen, measured: Chromium lays the page out at 1400x1000 and reports where
    # the blocks are; each must start within the first 1000 px
    tops = _tops(run / "report.html", ["#bka-posture", "#bka-counts", "#bka-controls", ".bka-control"])
    assert all(0 <= t < 1000 for t in tops.values()), tops
    if os.environ.get("BKA_KEEP_SCREENSHOTS"):  # to look at them: BKA_KEEP_SCREENSHOTS=/tmp/shots
        keep = Path(os.environ["BKA_KEEP_SCREENSHOTS"])
        keep.mkdir(parents=True, exist_ok=True)
        for png in tmp_path.glob("*.png"):
            shutil.copy(png, keep / png.name)


def test_screenshot_script_refuses_a_missing_report(tmp_path):
    res = subprocess.run([str(SCRIPT), str(tmp_path / "none.html")], capture_output=True, text=True, timeout=30)
    assert res.returncode == 2 and "no such report" in res.stderr
