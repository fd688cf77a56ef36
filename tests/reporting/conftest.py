"""Run small synthetic check modules through the real plugins with pytester.

The synthetic runs load only ``bedrock_key_audit.fixtures.options``, ``bedrock_key_audit.fixtures.checks`` and
``bedrock_key_audit.fixtures.reporting.plugin`` (not the audit's AWS fixtures), so these tests do not depend
on the audit; check ids are real (``fixtures/checks.py`` reads ``checks/metadata`` from the
project root).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest
from _pytest import pytester as _pytester

ROOT = Path(__file__).resolve().parents[2]

INNER_CONFTEST = '''
pytest_plugins = ["bedrock_key_audit.fixtures.options", "bedrock_key_audit.fixtures.checks", "bedrock_key_audit.fixtures.reporting.plugin"]


def pytest_configure(config):
    for mark in ("check(id)", "iam", "credential", "secret", "endpoint", "cloudtrail"):
        config.addinivalue_line("markers", mark)
'''


class AuditDir:
    """A pytester directory with the plugins loaded; ``run(*args)`` returns the RunResult."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        self.path = pytester.path
        self.reports = pytester.path / "reports"
        pytester.makeconftest(INNER_CONFTEST)

    def run(self, *args: str) -> pytest.RunResult:
        # hypothesis' plugin re-imports hypothesis in every in-process run (>1 s): not needed here
        return self.pytester.runpytest("-p", "no:cacheprovider", "-p", "no:hypothesispytest",
                                       f"--reports-dir={self.reports}", *args)

    def run_dirs(self) -> list[Path]:
        from bedrock_key_audit.reporting.history import run_dirs

        return run_dirs(self.reports)

    def latest(self) -> Path:
        runs = self.run_dirs()
        assert runs, "no run directory written"
        return runs[-1]

    def results(self, run: Path | None = None) -> dict[str, Any]:
        return json.loads(((run or self.latest()) / "results.json").read_text())

    def rows(self, run: Path | None = None) -> dict[str, dict[str, Any]]:
        out = {}
        for r in self.results(run)["checks"]:
            key = r["id"] + ("[" + ",".join(f"{k}={v}" for k, v in sorted(r["params"].items())) + "]" if r["params"] else "")
            out[key] = r
        return out


@pytest.fixture
def audit_dir(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> AuditDir:
    # pytester drops every module an in-process run imported; re-importing pytest-html,
    # jsonschema's validators etc. in each run costs more than the run itself
    monkeypatch.setattr(
        _pytester.Pytester,
        "_Pytester__take_sys_modules_snapshot",
        lambda self: _pytester.SysModulesSnapshot(preserve=lambda name: not name.startswith(("test_", "conftest"))),
    )
    return AuditDir(pytester)


@pytest.fixture
def schema() -> Callable[[str], dict[str, Any]]:
    return lambda name: json.loads((ROOT / "schemas" / name).read_text())
