"""Thin root conftest: the audit is a set of pytest plugins under fixtures/ (installed as bedrock_key_audit.fixtures)."""

pytest_plugins = [
    "bedrock_key_audit.fixtures.options",
    "bedrock_key_audit.fixtures.checks",
    "bedrock_key_audit.fixtures.config",
    "bedrock_key_audit.fixtures.aws",
    "bedrock_key_audit.fixtures.inventory",
    "bedrock_key_audit.fixtures.usage",
    "bedrock_key_audit.fixtures.emulator.plugin",
    "bedrock_key_audit.fixtures.remediation.plugin",
    "bedrock_key_audit.fixtures.reporting.plugin",
]
