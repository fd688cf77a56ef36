"""A run without ``audit.toml`` says so: the terminal header, results.json and report.html name the
built-in defaults instead of auditing them silently."""
from __future__ import annotations

import json

import pytest

from bedrock_key_audit import cli
from bedrock_key_audit.config import load_config


def test_source_names_the_file_or_the_missing_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(None, root=tmp_path)
    assert cfg.path is None and cfg.source == "built-in defaults (no ./audit.toml)"
    (tmp_path / "audit.toml").write_text('[user]\nname = "u"\n')
    cfg = load_config(None, root=tmp_path)
    assert cfg.source == str(tmp_path / "audit.toml")


def test_a_run_without_audit_toml_says_built_in_defaults(pytester, monkeypatch):
    runs: list[pytest.RunResult] = []

    def inline(args: list[str]) -> int:
        res = pytester.runpytest_inprocess(*args, "-p", "no:hypothesispytest", "-p", "no:cacheprovider")
        runs.append(res)
        return int(res.ret)

    monkeypatch.setattr(pytest, "main", inline)
    assert cli.main(["--emulate=compliant", "-n", "0", "-k", "iam.user_exists"]) == 0
    (res,) = runs
    assert "bedrock audit config: built-in defaults (no ./audit.toml)" in res.stdout.lines
    doc = json.loads((pytester.path / "reports" / "latest" / "results.json").read_text())
    assert doc["run"]["config"] == {"path": None, "sha256": doc["run"]["config"]["sha256"],
                                    "source": "built-in defaults (no ./audit.toml)"}
    html = (pytester.path / "reports" / "latest" / "report.html").read_text()
    assert "built-in defaults (no ./audit.toml)" in html
