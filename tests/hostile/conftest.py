"""The hostile-conditions matrix runs the real audit in-process (pytester) against the emulator.

tests/conftest.py keeps the emulator's modules across pytester runs.  Every test here also
leaves the emulator's faults and clock as it found them.
"""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _aws_extras():
    """moto corrections this matrix needs (LatestDeliveryError, user permissions boundaries)."""
    from bedrock_key_audit.emulator import aws_extras

    aws_extras.install()


@pytest.fixture(autouse=True)
def _reset_faults():
    yield
    from bedrock_key_audit.emulator import aws_faults, clock, faults

    faults.reset()  # also wakes a request still sleeping in a stall
    aws_faults.reset()
    clock.reset()
