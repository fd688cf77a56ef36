"""Thin root conftest: the audit is a set of pytest plugins under fixtures/."""

pytest_plugins = [
    "fixtures.options",
    "fixtures.checks",
    "fixtures.config",
    "fixtures.aws",
    "fixtures.inventory",
    "fixtures.emulator.plugin",
    "fixtures.remediation.plugin",
    "fixtures.reporting.plugin",
]
