"""The audit's notion of now, and the stash key through which a test harness supplies another clock.

The audit never imports the emulator: under ``--emulate`` the emulator's wiring
(``fixtures/emulator/plugin.py``) stores the emulator's clock under :data:`CLOCK_KEY`, and the
audit reads whatever clock is there (real UTC time when none is).  Tests move that clock to age
keys without sleeping.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

Clock = Callable[[], dt.datetime]
CLOCK_KEY = pytest.StashKey[Clock]()


def utc_now() -> dt.datetime:
    """Real time, timezone-aware UTC."""
    return dt.datetime.now(dt.timezone.utc)


def audit_now(config: pytest.Config) -> dt.datetime:
    """Now (UTC) by the clock stored under :data:`CLOCK_KEY` in ``config``, else real time."""
    return config.stash.get(CLOCK_KEY, utc_now)()
