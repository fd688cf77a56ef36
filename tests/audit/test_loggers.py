"""No logger is created by the inventory's threads (pytest iterates the logger dict at every phase)."""
from __future__ import annotations

import logging
import sys
import threading

from tests.audit.helpers import run_audit, statuses


def test_no_logger_is_created_while_the_inventory_gathers(pytester, monkeypatch):
    # Start as a fresh process would: httpx has not imported httpcore yet (its modules create
    # loggers on import, and httpx imports it on its first request, in an inventory thread).
    manager = logging.Logger.manager
    for name in [m for m in sys.modules if m == "httpcore" or m.startswith("httpcore.")]:
        monkeypatch.delitem(sys.modules, name)
    for name in [n for n in manager.loggerDict if n == "httpcore" or n.startswith("httpcore.")]:
        monkeypatch.delitem(manager.loggerDict, name)

    created: list[tuple[str, str]] = []
    original = logging.Manager.getLogger

    def spy(self, name):
        new = not isinstance(self.loggerDict.get(name), logging.Logger)
        logger = original(self, name)
        if new:
            created.append((name, threading.current_thread().name))
        return logger

    monkeypatch.setattr(logging.Manager, "getLogger", spy)
    sizes: dict[str, int] = {}

    def before_gathering(emu):  # after configure, before the inventory starts its threads
        sizes["before"] = len(manager.loggerDict)
        sizes["index"] = len(created)

    rows = run_audit(pytester, "compliant", setup=before_gathering)
    assert set(statuses(rows).values()) == {"pass"}
    sizes["after"] = len(manager.loggerDict)
    by_inventory = [(n, t) for n, t in created if t.startswith("inventory")]
    assert not by_inventory, f"loggers created by inventory threads: {by_inventory}"
    # the httpcore loggers were made, by the main thread, before the threads started
    assert {"httpcore.connection", "httpcore.http11"} <= {n for n, t in created if t == "MainThread"}
    assert sizes["after"] == sizes["before"], created[sizes["index"]:]
