"""docs/reports.md's assessor steps pass as written: the shell block under "The assessor's three commands",
run in a directory holding only the archive, its .sha256 and allowed_signers (the doc's sample run id
replaced by the real one, ``bedrock-key-audit`` from this environment)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reporting.test_signing import SSH_KEYGEN, keys, signed  # noqa: F401 -- fixtures

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_RUN = "20261125T201500Z"


def documented_steps() -> str:
    text = (ROOT / "docs" / "reports.md").read_text()
    section = text[text.index("### The assessor's three commands"):]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


@pytest.mark.skipif(SSH_KEYGEN is None or shutil.which("sha256sum") is None, reason="needs ssh-keygen and sha256sum")
def test_the_documented_assessor_steps_pass_verbatim(signed, keys, tmp_path):  # noqa: F811
    run_id = signed.name
    work = tmp_path / "assessor"
    work.mkdir()
    for name in (f"evidence-{run_id}.tar.gz", f"evidence-{run_id}.tar.gz.sha256"):
        shutil.copy(signed / name, work / name)
    shutil.copy(keys["allowed"], work / "allowed_signers")
    script = documented_steps().replace(SAMPLE_RUN, run_id)
    assert "bedrock-key-audit verify" in script and "allowed_signers" in script
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'signature: good signature by "auditee"' in done.stdout
    assert "Good \"bedrock-key-audit-evidence\" signature for auditee" in done.stdout + done.stderr
    assert not (work / "evidence" / "allowed_signers").exists()
