"""The one converter from Python values to JSON-able data, for the audit, the reports and remediation.

``to_jsonable`` turns what boto3 answers and what the audit builds into plain JSON values:
dataclasses become dicts (``dataclasses.asdict``), mapping keys become text, tuples, sets and
lists become lists, datetimes and dates (anything with ``isoformat``) become ISO 8601 text, and
anything else unknown becomes ``str(value)``.  ``bytes`` are kept as they are, so that the
redaction (``bedrock_key_audit.redaction.redact_obj``) masks them: convert, then redact, then dump.

``json_default`` is the same conversion for ``json.dumps(..., default=json_default)``, where bytes
become text (``str``) since nothing may be left that ``json`` cannot write.

A leaf module: standard library only.  The emulator keeps its own ``default=str`` (it never
imports the audit's modules).
"""
from __future__ import annotations

import dataclasses
from typing import Any


def to_jsonable(obj: Any) -> Any:
    """A JSON-able copy of ``obj`` (see the module docstring; ``bytes`` pass unchanged, for the redaction).

    >>> import datetime as dt
    >>> to_jsonable({"when": dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc), "ids": ("a",), 3: {1}})
    {'when': '2026-01-02T00:00:00+00:00', 'ids': ['a'], '3': [1]}
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (bytes, bytearray)):
        return obj  # redact_obj masks bytes
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return str(obj)


def json_default(obj: Any) -> Any:
    """``default=`` for ``json.dumps``: the value as ``to_jsonable`` gives it, bytes as text."""
    if isinstance(obj, (bytes, bytearray)):
        return str(obj)
    return to_jsonable(obj)
