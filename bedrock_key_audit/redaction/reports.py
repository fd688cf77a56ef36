"""Redact the objects pytest fills on its own: tracebacks (``longrepr``), html extras, warnings.

pytest's ``Repr*`` classes are dataclasses, redacted in place so colours and ``reprcrash``
survive; anything else becomes redacted text.  Standard library only (see ``patterns``).
"""
from __future__ import annotations

import dataclasses
from typing import Any

from bedrock_key_audit.redaction.text import redact_obj, redact_terminal, redact_text


def _redact_any(value: Any, seen: set[int]) -> Any:
    if isinstance(value, str):
        return redact_terminal(value)
    if isinstance(value, list):
        return [_redact_any(v, seen) for v in value]
    if isinstance(value, tuple):
        return tuple(_redact_any(v, seen) for v in value)
    if isinstance(value, dict):
        return {k: _redact_any(v, seen) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if id(value) in seen:
            return value
        seen.add(id(value))
        for f in dataclasses.fields(value):
            object.__setattr__(value, f.name, _redact_any(getattr(value, f.name), seen))
        return value
    return value


def redact_longrepr(longrepr: Any) -> Any:
    """The same longrepr with every string redacted in place (keeps colours, ``reprcrash`` for ``-r``).

    pytest's ``Repr*`` classes are dataclasses; anything else becomes a redacted string.
    """
    if longrepr is None:
        return None
    if isinstance(longrepr, (str, tuple)):
        return _redact_any(longrepr, set())
    if dataclasses.is_dataclass(longrepr):
        try:
            return _redact_any(longrepr, set())
        except Exception:  # noqa: BLE001 — never let redaction hide a failure: fall back to text
            pass
    return redact_terminal(str(longrepr))


def redact_extra(extra: Any) -> Any:
    """A pytest-html extra with its text/JSON content redacted (images and URLs pass unchanged)."""
    if not isinstance(extra, dict):
        return extra
    out = dict(extra)
    fmt = out.get("format_type")
    content = out.get("content")
    if fmt == "json":
        out["content"] = redact_obj(content)
    elif fmt in ("text", "html"):
        out["content"] = redact_terminal(content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content))
    if isinstance(out.get("name"), str):
        out["name"] = redact_text(out["name"])
    return out


def redact_warning(warning_message: Any) -> None:
    """Rewrite a recorded warning's message before the terminal summary stores it."""
    msg = getattr(warning_message, "message", None)
    if msg is None:
        return
    text = str(msg)
    clean = redact_terminal(text)
    if clean != text:
        try:
            warning_message.message = type(msg)(clean) if isinstance(msg, Warning) else clean
        except Exception:  # noqa: BLE001
            warning_message.message = clean
