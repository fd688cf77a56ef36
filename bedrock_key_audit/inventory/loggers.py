"""Loggers the inventory's threads would otherwise create lazily, created up front."""
from __future__ import annotations

# Modules the inventory's threads would import lazily, each creating loggers on import:
# httpx imports httpcore (``httpcore.connection``, ``httpcore.http11``, ``httpcore.proxy``) on
# its first request.  pytest's ``catching_logs`` iterates ``logging.Logger.manager.loggerDict``
# at every test phase; a logger created by another thread meanwhile ends the run with a rare
# "dictionary changed size during iteration".  So they are all created before any thread starts.
LAZY_LOGGER_MODULES = ("httpcore",)
LAZY_LOGGERS = ("httpx", "httpcore", "httpcore.connection", "httpcore.http11", "httpcore.proxy",
                "botocore", "boto3", "urllib3", "urllib3.connectionpool",
                "policy_sentry")  # made by fixtures/policy.py's lazy import, in the main thread


def create_lazy_loggers() -> None:
    """Import :data:`LAZY_LOGGER_MODULES` and create :data:`LAZY_LOGGERS` now, in this thread."""
    import importlib
    import logging

    for module in LAZY_LOGGER_MODULES:
        importlib.import_module(module)
    for name in LAZY_LOGGERS:
        logging.getLogger(name)
