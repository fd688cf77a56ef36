"""docs/real-accounts.md as a user follows it: its ``ini`` blocks become ~/.aws/config and ~/.aws/credentials
(the example keys replaced by the emulator's partition keys), then every ``sh`` block runs in order, with the
installed console script and the AWS CLI, against the emulator (its ``compliant`` scenario)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bedrock_key_audit.emulator.partitions import PARTITION_KEYS

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "real-accounts.md"
EXAMPLE_KEYS = {
    "AKIAEXAMPLECOMMERCIAL": PARTITION_KEYS["commercial"][0],
    "example-commercial-secret-access-key": PARTITION_KEYS["commercial"][1],
    "AKIAEXAMPLEGOVCLOUD0": PARTITION_KEYS["govcloud"][0],
    "example-govcloud-secret-access-key": PARTITION_KEYS["govcloud"][1],
}


def blocks(text: str) -> list[tuple[str, str, str]]:
    """``(language, title, body)`` of every fenced block."""
    return [(m.group(1), m.group(2) or "", m.group(3))
            for m in re.finditer(r'```(\w+)(?: title="([^"]+)")?\n(.*?)```', text, re.S)]


def _substitute(text: str) -> str:
    for example, real in EXAMPLE_KEYS.items():
        text = text.replace(example, real)
    return text


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_every_command_of_the_page_runs(emu, tmp_path, monkeypatch):
    emu.apply("compliant")
    home, work = tmp_path / "home", tmp_path / "work"
    (home / ".aws").mkdir(parents=True)
    work.mkdir()
    found = blocks(DOC.read_text())
    files = {title: body for lang, title, body in found if lang == "ini" and title}
    assert set(files) == {"~/.aws/config", "~/.aws/credentials"}
    for title, body in files.items():
        (home / title[2:]).write_text(_substitute(body))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"HOME": str(home), "AWS_EC2_METADATA_DISABLED": "true",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env |= {k: v for k, v in emu.env().items() if k.startswith("AWS_ENDPOINT_URL")}
    scripts = [body for lang, _, body in found if lang == "sh"]
    assert len(scripts) == 3
    for script in scripts:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, f"{script}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    # what the steps left behind
    assert (work / "audit.toml").is_file()
    results = json.loads((work / "reports" / "latest" / "results.json").read_text())
    assert results["run"]["mode"] == "real" and results["summary"]["fail"] == 0 and results["summary"]["error"] == 0
    assert results["run"]["partitions"]["govcloud"]["arn"].startswith(
        "arn:aws-us-gov:sts::210987654321:assumed-role/BedrockKeyAuditor/")
    for part, arn_p, other in (("commercial", "aws", "aws-us-gov"), ("govcloud", "aws-us-gov", "aws")):
        management = json.loads((work / f"management-principal-{part}.json").read_text())
        assume = [st for st in management["Statement"] if st.get("Action") == "sts:AssumeRole"]
        assert assume and all(r.startswith(f"arn:{arn_p}:") for st in assume for r in st["Resource"])
        assert f"arn:{other}:" not in json.dumps(management)  # one partition per document
