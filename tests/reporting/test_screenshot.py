"""report.html and index.html render in a real browser (headless Chromium), when one is installed."""
from __future__ import annotations

import os
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


def _dom(url: Path) -> str:
    """The DOM after the page's own scripts ran (pytest-html builds its table in JavaScript)."""
    profile = subprocess.run(["mktemp", "-d"], capture_output=True, text=True, check=True).stdout.strip()
    try:
        out = subprocess.run(
            [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--virtual-time-budget=3000", "--dump-dom", url.as_uri()],
            capture_output=True, text=True, timeout=60)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return out.stdout


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
    assert '<td class="col-check">credential.unexpired</td>' in dom
    assert 'class="col-verdict check-fail"' in dom
    assert "Newly failing" in dom and 'class="bar-fail"' in dom
    if os.environ.get("BKA_KEEP_SCREENSHOTS"):  # to look at them: BKA_KEEP_SCREENSHOTS=/tmp/shots
        keep = Path(os.environ["BKA_KEEP_SCREENSHOTS"])
        keep.mkdir(parents=True, exist_ok=True)
        for png in tmp_path.glob("*.png"):
            shutil.copy(png, keep / png.name)


def test_screenshot_script_refuses_a_missing_report(tmp_path):
    res = subprocess.run([str(SCRIPT), str(tmp_path / "none.html")], capture_output=True, text=True, timeout=30)
    assert res.returncode == 2 and "no such report" in res.stderr
