"""Run the real audit (checks/) in-process against the emulator and collect its verdicts."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ROOT / "checks"

ALL_ROWS = [
    "iam.user_exists", "iam.user_no_other_credentials", "iam.policy_least_privilege", "iam.policy_grants_required",
    "credential.active", "credential.unexpired", "credential.bounded_lifetime", "credential.single_active",
    "credential.recently_used",
    "secret.exists", "secret.schema", "secret.key_matches_credential", "secret.encrypted_with_cmk",
    "endpoint.list_models", "endpoint.invoke",
    *[f"cloudtrail.{c}[{p}]" for c in ("logging", "multi_region", "log_file_validation", "management_events", "kms")
      for p in ("commercial", "govcloud")],
]


def row_id(record: dict[str, Any]) -> str:
    params = record.get("params") or {}
    return record["check_id"] + (f"[{','.join(params.values())}]" if params else "")


class _AfterScenario:
    """Runs ``setup(emulator)`` once the emulator plugin has built the scenario."""

    def __init__(self, setup):
        self.setup = setup

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config):
        from bedrock_key_audit.fixtures.emulator.plugin import EMULATOR_KEY

        self.setup(config.stash[EMULATOR_KEY])


def run_audit(pytester, scenario: str, *args: str, setup=None) -> dict[str, dict[str, Any]]:
    """Audit ``scenario`` in-process and return {row id: final check record}.

    ``setup(emu)`` runs after the scenario is built and before the audit reads anything.
    """
    plugins = [_AfterScenario(setup)] if setup else []
    rec = pytester.inline_run(
        str(CHECKS), f"--emulate={scenario}", "--no-reports", "-p", "no:cacheprovider",
        f"--rootdir={ROOT}", "-c", str(ROOT / "pyproject.toml"), *args, plugins=plugins,
    )
    rows: dict[str, dict[str, Any]] = {}
    for rep in rec.getreports("pytest_runtest_logreport"):
        for key, value in rep.user_properties:
            if key == "check_record":
                rows[row_id(value)] = value
    rows["__reprec__"] = rec  # type: ignore[assignment]
    return rows


def statuses(rows: dict[str, Any]) -> dict[str, str]:
    return {k: v["status"] for k, v in rows.items() if not k.startswith("__")}
