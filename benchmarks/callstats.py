"""pytest plugin for the benchmark: writes the run's call log and timings to $BKA_CALLSTATS_OUT."""
from __future__ import annotations

import json
import os
import resource
import time

import pytest

_t0 = time.time()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    out = os.environ.get("BKA_CALLSTATS_OUT")
    if not out:
        return
    from bedrock_key_audit.fixtures.aws import CALL_LOG_KEY

    calls = session.config.stash[CALL_LOG_KEY].as_dicts()
    json.dump({
        "calls": calls,
        "session_start": _t0,
        "session_end": time.time(),
        "items": session.testscollected,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }, open(out, "w"))
