"""pytest plugin for the benchmark: writes the run's call log and timings to $BKA_CALLSTATS_OUT.

With ``$BKA_TIMELINE`` set (``scripts/bench --timeline FILE``) each call also carries what the call
timeline needs: the thread that made it, where in the audit it was asked for (the innermost
``bedrock_key_audit`` / ``fixtures`` frames), the pytest item running at the time (a verdict that
starts a read lazily shows here), and the process CPU time is sampled every 20 ms.  Off by default:
walking the stack costs CPU the plain figures should not include.
"""
from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from typing import Any

import pytest

_t0 = time.time()
_current_item: list[str] = [""]
_cpu: list[tuple[float, float]] = []  # (wall time, process CPU seconds)
_stop = threading.Event()
_extra: dict[int, dict[str, Any]] = {}  # id(Call) -> timeline fields


def _timeline_on() -> bool:
    return bool(os.environ.get("BKA_TIMELINE"))


def _site() -> list[str]:
    """The innermost audit frames that led to this call (file:function), innermost first."""
    out: list[str] = []
    f = sys._getframe(2)
    while f is not None and len(out) < 6:
        path = f.f_code.co_filename.replace(os.sep, "/")
        if ("/bedrock_key_audit/" in path or "/fixtures/" in path) and "/emulator/" not in path \
                and not path.endswith(("/aws_call.py", "/gather.py")):
            name = f"{path.rsplit('/', 1)[-1][:-3]}:{f.f_code.co_name}"
            if not out or out[-1] != name:
                out.append(name)
        f = f.f_back
    return out


def _sample_cpu() -> None:
    while not _stop.is_set():
        _cpu.append((time.time(), time.process_time()))
        _stop.wait(0.02)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if not _timeline_on():
        return
    from bedrock_key_audit.fixtures.aws import CALL_LOG_KEY

    log = config.stash[CALL_LOG_KEY]
    plain_add = log.add

    def add(call: Any) -> None:
        # after-call hooks and the HTTP probe add the call on the thread that made it
        _extra[id(call)] = {"thread": threading.current_thread().name, "site": _site(), "item": _current_item[0],
                            "ended": time.time()}
        plain_add(call)

    log.add = add  # type: ignore[method-assign]
    threading.Thread(target=_sample_cpu, name="bench-cpu-sampler", daemon=True).start()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: Any) -> Any:
    _current_item[0] = item.nodeid
    yield
    _current_item[0] = ""


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    out = os.environ.get("BKA_CALLSTATS_OUT")
    if not out:
        return
    from bedrock_key_audit.fixtures.aws import CALL_LOG_KEY

    log = session.config.stash[CALL_LOG_KEY]
    calls = log.as_dicts()
    if _timeline_on():
        _stop.set()
        for c, d in zip(log.calls, calls, strict=True):
            d.update(_extra.get(id(c), {}))
    json.dump({
        "calls": calls,
        "session_start": _t0,
        "session_end": time.time(),
        "items": session.testscollected,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cpu_samples": _cpu,
        "cpu_total_s": time.process_time(),
    }, open(out, "w"))
