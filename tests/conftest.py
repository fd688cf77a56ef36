"""Fixtures for the project's own tests: an in-process emulator, reset per test."""
from __future__ import annotations

from typing import Iterator

import pytest

from fixtures import guard
from fixtures.emulator.plugin import get_emulator
from fixtures.emulator.server import Emulator

pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def emulator() -> Emulator:
    """One emulator for the whole test session (the network guard is installed first)."""
    guard.install()
    return get_emulator()


@pytest.fixture
def emu(emulator: Emulator) -> Iterator[Emulator]:
    """The emulator with empty state, clock and faults reset."""
    emulator.reset()
    yield emulator
