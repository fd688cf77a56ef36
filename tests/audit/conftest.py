"""In-process audit runs share this process with the emulator's server thread.

pytester restores ``sys.modules`` after every in-process run, deleting whatever the run
imported — including the moto, flask and werkzeug modules the emulator thread loaded
lazily while serving it, which then breaks the next request.  Keep every module instead:
re-importing check modules by the same name is harmless.
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
