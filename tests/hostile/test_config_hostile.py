"""Configuration failures through the command line: pytest's usage-error status (4) and exactly
one line naming the file and the problem, before any check runs.

tests/audit/test_config.py already covers the messages of wrong types, unknown keys, wrong
region names, a bad TOML text and a missing file (load_config), and on the command line a bad
value, an unknown AWS profile, no credentials at all and an unknown scenario.  Added here: the
command-line path for the file-level failures.
"""
from __future__ import annotations

import pytest

from tests.audit.helpers import CHECKS, ROOT


def _run(pytester, *args):
    return pytester.runpytest_inprocess(str(CHECKS), f"--rootdir={ROOT}", "-c", str(ROOT / "pyproject.toml"),
                                        "-p", "no:cacheprovider", "--no-reports", *args)


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "nope.toml", "file not found"),
    (lambda d: (d / "bad.toml").write_text("[user\nname = 1\n") and d / "bad.toml", "not valid TOML"),
    (lambda d: (d / "latin1.toml").write_bytes(b'[user]\nname = "b\xe9atrice"\n') and d / "latin1.toml", "not valid TOML"),
    (lambda d: (d / "adir.toml").mkdir() or d / "adir.toml", "cannot read"),
    (lambda d: (d / "typo.toml").write_text("[secret]\nname = \"x\"\n") and d / "typo.toml", "secret.name: unknown key"),
    (lambda d: (d / "t.toml").write_text("[endpoint]\ntimeout_seconds = 0\n") and d / "t.toml",
     "endpoint.timeout_seconds"),
], ids=["missing-file", "bad-toml", "not-utf8", "a-directory", "unknown-key", "zero-timeout"])
def test_bad_config_file_on_the_command_line(pytester, make, message):
    path = make(pytester.path)
    result = _run(pytester, f"--audit-config={path}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in result.stderr.lines if line.strip()]
    assert len(lines) == 1, lines
    assert message in lines[0] and str(path) in lines[0], lines[0]
    assert "passed" not in result.stdout.str() and "failed" not in result.stdout.str()
