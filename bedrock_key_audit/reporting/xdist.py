"""pytest-xdist: workers ship their call log, identities and remediation actions to the controller,
which alone writes the reports."""
from __future__ import annotations

from typing import Any

import pytest

from bedrock_key_audit.reporting import sources
from bedrock_key_audit.reporting.rundir import RunState

WORKER_KEY = "bka_reporting"


def take_worker_output(st: RunState, node: Any) -> None:
    """Controller: take a finished worker's call log, identities and remediation actions."""
    data = (getattr(node, "workeroutput", None) or {}).get(WORKER_KEY)
    if not isinstance(data, dict):
        return
    st.worker_calls.extend(c for c in data.get("calls", []) if isinstance(c, dict))
    st.worker_identities.update(data.get("identities") or {})
    st.worker_actions.extend(a for a in data.get("actions", []) if isinstance(a, dict))


def ship_to_controller(config: pytest.Config) -> None:
    """Worker: hand this worker's data to the controller (pytest-xdist's ``workeroutput``)."""
    out = getattr(config, "workeroutput", None)
    if isinstance(out, dict):
        out[WORKER_KEY] = {
            "calls": sources.call_log(config),
            "identities": sources.identities(config),
            "actions": sources.remediation_actions(config),
        }
