"""Thin root conftest: the audit is a set of pytest plugins under fixtures/ (installed as
bedrock_key_audit.fixtures), listed once in fixtures/audit.py; the console script
``bedrock-key-audit`` loads the same module from any directory."""

pytest_plugins = ["bedrock_key_audit.fixtures.audit"]
