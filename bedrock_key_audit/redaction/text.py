"""Redact text and plain data with the patterns of ``patterns``."""
from __future__ import annotations

import functools
from typing import Any

from bedrock_key_audit.redaction import known
from bedrock_key_audit.redaction.patterns import (
    MASK,
    SECRET_FIELDS,
    TERMINAL_PATTERN_NEEDS,
    TERMINAL_PATTERNS,
    TEXT_PATTERN_NEEDS,
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
    for pat, needs in zip(TEXT_PATTERNS, TEXT_PATTERN_NEEDS, strict=True):
        if not _may_match(text, needs):
            continue
        if pat.groups:
            text = pat.sub(lambda m: m.group(1) + MASK, text)
        else:
            text = pat.sub(MASK, text)
    return text


def _may_match(text: str, needs: tuple[bool, tuple[str, ...]]) -> bool:
    """False only when ``text`` holds none of the literals a pattern cannot match without (its
    ``TEXT_PATTERN_NEEDS`` / ``TERMINAL_PATTERN_NEEDS`` entry), so skipping the pattern changes nothing.  A case-insensitive pattern is
    tested on the lower-cased text only when the text is ASCII: a ``(?i)`` pattern also matches non-ASCII
    case variants (the long s ``ſ`` for ``s``, the Kelvin sign for ``k``), which are then left to the pattern."""
    ignore_case, literals = needs
    if ignore_case:
        if not text.isascii():
            return True
        text = text.lower()
    return any(lit in text for lit in literals)


@functools.lru_cache(maxsize=65536)
def _redact_short(text: str, generation: int) -> str:
    """Cached by the keys remembered so far (``generation``): a string redacted before a key was seen may hold a
    piece of it, and a result cached by a thread that had not yet seen a key is never served after it."""
    return redact_text(text)


def redact_obj(obj: Any) -> Any:
    """Deep copy of ``obj`` with secret fields masked and key-shaped strings redacted.

    Large documents (a fleet run's rows, OCSF findings, evidence) repeat their short strings
    across rows (titles, control ids, statuses, ARNs), so each string of up to 256 characters is
    redacted once per process (the same result: ``redact_text`` depends only on the string); the cache holds
    more strings than there are IAM actions (about 20,000), so an evidence record listing every action a
    ``NotAction`` grant allows is redacted once, not again at each report layer.  A plain ``str``, number,
    bool or None leaf is looked up in the cache or kept directly, without a call of this function per leaf."""
    kind = type(obj)
    if kind is str:
        return _redact_short(obj, known.generation) if len(obj) <= 256 else redact_text(obj)
    if kind in _AS_IS:
        return obj
    if isinstance(obj, dict):
        return {
            (_redact_short(k, known.generation) if type(k) is str and len(k) <= 256 else
             redact_obj(k) if isinstance(k, str) else k):
            (MASK if k in SECRET_FIELDS and v not in (None, "") else
             v if type(v) in _AS_IS else
             _redact_short(v, known.generation) if type(v) is str and len(v) <= 256 else redact_obj(v))
            for k, v in obj.items()
        }
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [v if type(v) in _AS_IS else
                _redact_short(v, known.generation) if type(v) is str and len(v) <= 256 else redact_obj(v)
                for v in obj]
    if isinstance(obj, (bytes, bytearray)):
        return MASK
    if isinstance(obj, str):
        return _redact_short(obj, known.generation) if len(obj) <= 256 else redact_text(obj)
    return obj


_AS_IS = frozenset({bool, int, float, type(None)})  # returned unchanged by redact_obj (exact types: no subclass)


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
    for pat, needs in zip(TERMINAL_PATTERNS, TERMINAL_PATTERN_NEEDS, strict=True):
        if _may_match(text, needs):
            text = pat.sub(MASK, text)
    return text
