"""Redact every log record at birth: a filter on the root logger and the record factory."""
from __future__ import annotations

import logging
from typing import Any

from bedrock_key_audit.redaction.text import redact_terminal


class RedactingFilter(logging.Filter):
    """Rewrite a log record's message (and its exception text) redacted; never drops a record.

    Installed on the root logger *and* as the record factory's last step: a logger's
    filters only see records logged on that very logger, not those propagated from
    ``bedrock_audit.aws``, while the factory sees every record at birth.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_bka_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 — a bad %-format: keep the template, drop args
            message = str(record.msg)
        record.msg = redact_terminal(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact_terminal(text)
            # the formatter re-renders exc_info only when exc_text is empty; drop the live
            # exception so no handler formats it again from the original message
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact_terminal(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_terminal(record.stack_info)
        record._bka_redacted = True
        return True


class LoggingRedaction:
    """Install/uninstall the filter and the record factory (nesting-safe for pytester)."""

    def __init__(self) -> None:
        self.filter = RedactingFilter()
        self._previous_factory: Any = None

    def install(self) -> None:
        logging.getLogger().addFilter(self.filter)
        previous = logging.getLogRecordFactory()
        self._previous_factory = previous
        flt = self.filter

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            flt.filter(record)
            return record

        factory._bka_previous = previous  # type: ignore[attr-defined]
        logging.setLogRecordFactory(factory)

    def uninstall(self) -> None:
        logging.getLogger().removeFilter(self.filter)
        if self._previous_factory is not None:
            logging.setLogRecordFactory(self._previous_factory)
            self._previous_factory = None
