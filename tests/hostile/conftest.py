"""The hostile-conditions matrix runs the real audit in-process (pytester) against the emulator.

pytester restores ``sys.modules`` after each in-process run, deleting modules the emulator's
server thread imported lazily; keep every module, as tests/audit/conftest.py does.  Every test
also leaves the emulator's faults and clock as it found them.
"""
from __future__ import annotations

import pytest
from _pytest import pytester as _pytester


@pytest.fixture(autouse=True)
def _keep_sys_modules(monkeypatch):
    monkeypatch.setattr(
        _pytester.Pytester,
        "_Pytester__take_sys_modules_snapshot",
        lambda self: _pytester.SysModulesSnapshot(preserve=lambda name: True),
    )


@pytest.fixture(scope="session", autouse=True)
def _aws_extras():
    """moto corrections this matrix needs (LatestDeliveryError, user permissions boundaries)."""
    from fixtures.emulator import aws_extras

    aws_extras.install()


@pytest.fixture(autouse=True)
def _reset_faults():
    yield
    from fixtures.emulator import aws_faults, clock, faults

    faults.reset()  # also wakes a request still sleeping in a stall
    aws_faults.reset()
    clock.reset()
