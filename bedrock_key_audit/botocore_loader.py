"""botocore's data loader shared by every session of the run: service models and endpoint data are read
and parsed once (about 0.1 s of CPU and tens of MB each time otherwise), not once per partition, account
or helper.  Standard library only, so the pure helpers that read botocore's endpoint data
(inventory/keys.py) may use it."""
from __future__ import annotations

import threading
from typing import Any

_LOADER: Any = None
_LOCK = threading.Lock()


def adopt(loader: Any) -> Any:
    """The shared loader: ``loader`` when none is shared yet (it becomes the shared one)."""
    global _LOADER
    with _LOCK:
        if _LOADER is None:
            _LOADER = loader
        return _LOADER


def current() -> Any:
    """The shared loader, or None before the first session."""
    return _LOADER
