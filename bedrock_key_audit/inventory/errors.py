"""The inventory's two exceptions: a failed read, and a secret region that is a verdict."""
from __future__ import annotations

from bedrock_key_audit.checkcore import CouldNotDecide


class ReadError(CouldNotDecide):
    """An AWS read failed; the message says which call, why, and what to do."""


class BadRegion(Exception):
    """The secret names a region the workload cannot call Bedrock in (a verdict, not an error)."""
