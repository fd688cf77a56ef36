"""Embedded AWS emulator: moto plus the IAM and Bedrock pieces moto lacks.

Public API (imported lazily: importing this package does not import moto)::

    from bedrock_key_audit.emulator import Emulator, SCENARIOS
    with Emulator() as emu:            # 127.0.0.1, free port
        emu.apply("compliant")
        emu.client("iam").list_users()

Modules: ``server`` (Emulator, one-port WSGI dispatcher, control API), ``iam_ssc``
(service-specific credentials on moto, ``lookup_bedrock_key``), ``partitions`` (commercial
and GovCloud, moto corrections), ``scenarios``, ``clock``, ``plugin`` (``pytest --emulate``),
``bedrock``/``faults`` (the Bedrock API-key app).  Standalone: ``python -m bedrock_key_audit.emulator``.
"""
from __future__ import annotations

from typing import Any

__all__ = ["Emulator", "SCENARIOS", "lookup_bedrock_key", "decode_long_term_key", "KeyLookup"]


def __getattr__(name: str) -> Any:
    if name == "Emulator":
        from bedrock_key_audit.emulator.server import Emulator

        return Emulator
    if name == "SCENARIOS":
        from bedrock_key_audit.emulator.scenarios import SCENARIOS

        return SCENARIOS
    if name in ("lookup_bedrock_key", "decode_long_term_key", "KeyLookup"):
        from bedrock_key_audit.emulator import iam_ssc

        return getattr(iam_ssc, name)
    raise AttributeError(f"module 'bedrock_key_audit.emulator' has no attribute {name!r}")
