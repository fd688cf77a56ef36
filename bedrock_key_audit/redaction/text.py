"""Redact text and plain data with the patterns of ``patterns``."""
from __future__ import annotations

import functools
from typing import Any

from bedrock_key_audit.redaction import known
from bedrock_key_audit.redaction.patterns import (
    MASK,
    SECRET_FIELDS,
    TERMINAL_PATTERNS,
    TEXT_PATTERNS,
)


def redact_text(text: str, extra: tuple[str, ...] | list[str] = ()) -> str:
    """Mask every key-shaped substring, every piece of a key this process has seen (:mod:`known`), and each
    literal in ``extra``, in ``text``.

    >>> redact_text("Authorization: Bearer ABSKabcdefghijkl")
    'Authorization: Bearer ***REDACTED***'
    """
    if not text:
        return text
    for secret in extra:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    text = known.mask(text)
    for pat in TEXT_PATTERNS:
        if pat.groups:
            text = pat.sub(lambda m: m.group(1) + MASK, text)
        else:
            text = pat.sub(MASK, text)
    return text


@functools.lru_cache(maxsize=16384)
def _redact_short(text: str, generation: int) -> str:
    """Cached by the keys remembered so far (``generation``): a string redacted before a key was seen may hold a
    piece of it, and a result cached by a thread that had not yet seen a key is never served after it."""
    return redact_text(text)


def redact_obj(obj: Any) -> Any:
    """Deep copy of ``obj`` with secret fields masked and key-shaped strings redacted.

    Large documents (a fleet run's rows, OCSF findings, evidence) repeat their short strings
    across rows (titles, control ids, statuses, ARNs), so each string of up to 256 characters is
    redacted once per process (the same result: ``redact_text`` depends only on the string)."""
    if isinstance(obj, dict):
        return {
            (redact_obj(k) if isinstance(k, str) else k): (MASK if k in SECRET_FIELDS and v not in (None, "") else redact_obj(v))
            for k, v in obj.items()
        }
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [redact_obj(v) for v in obj]
    if isinstance(obj, (bytes, bytearray)):
        return MASK
    if isinstance(obj, str):
        return _redact_short(obj, known.generation) if len(obj) <= 256 else redact_text(obj)
    return obj


def redact_terminal(text: str) -> str:
    """``redact_text`` plus the saferepr-fragment patterns, for tracebacks and captured output.

    >>> redact_terminal("{'k': 'ABSKab...dGhpc2lzYXNlY3JldA=='}")
    "{'k': '***REDACTED***'}"
    >>> redact_terminal("{'filler': 'xx...dGhpc2lzYXNlY3JldA=='}")
    "{'filler': 'xx...***REDACTED***'}"
    """
    if not text:
        return text
    text = redact_text(text)
    for pat in TERMINAL_PATTERNS:
        text = pat.sub(MASK, text)
    return text
