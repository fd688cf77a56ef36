"""Re-judging recorded evidence offline: every scenario's snapshot reproduces every row.

Each scenario is audited once in-process against the emulator (recording its snapshot), then
judged again in-process from that snapshot alone (``--replay-snapshot``: no emulator, no AWS).
"""
from __future__ import annotations

import pytest

from bedrock_key_audit.emulator import scenarios
from tests.audit.helpers import rejudge_differences, replay_audit, run_audit


@pytest.mark.parametrize("scenario", list(scenarios.SCENARIOS))
def test_rejudge_reproduces_every_row(pytester, scenario):
    rows = run_audit(pytester, scenario)
    assert rows["__snapshot__"] is not None
    replayed = replay_audit(pytester, rows["__snapshot__"])
    diff = rejudge_differences(rows, replayed)
    assert not diff, f"{scenario}: rows the snapshot does not reproduce (recorded, re-judged): {diff}"
