"""One place that knows what a secret looks like, so nothing else has to.

Everything that leaves the process (terminal, logs, reports, evidence, the emulator's error
messages) goes through ``redact_text`` / ``redact_obj`` (``redact_terminal`` for tracebacks and
captured output).  A leaf package: standard library only, importable by the audit, the reports
and the emulator alike.  Modules: ``patterns`` (every pattern and secret field name), ``text``
(text and plain data), ``reports`` (pytest's tracebacks, html extras, warnings), ``logs``
(log records).
"""
from __future__ import annotations

from bedrock_key_audit.redaction.logs import LoggingRedaction, RedactingFilter
from bedrock_key_audit.redaction.patterns import (
           MASK,
           SECRET_FIELDS,
           TERMINAL_PATTERNS,
           TEXT_PATTERNS,
           TOKEN_REST,
)
from bedrock_key_audit.redaction.reports import (
           redact_extra,
           redact_longrepr,
           redact_warning,
)
from bedrock_key_audit.redaction.text import redact_obj, redact_terminal, redact_text

__all__ = ["MASK", "SECRET_FIELDS", "TERMINAL_PATTERNS", "TEXT_PATTERNS", "TOKEN_REST", "LoggingRedaction",
           "RedactingFilter", "redact_extra", "redact_longrepr", "redact_obj", "redact_terminal", "redact_text",
           "redact_warning"]
