"""Fixtures for the remediation tests: in-process audit runs and direct fixer contexts.

pytester restores ``sys.modules`` after every in-process run, which would delete modules the
emulator's server thread imported lazily; keep them all (as tests/audit does).
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
