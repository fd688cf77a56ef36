"""Bedrock's own record of the key's calls: model-invocation logging in the Regions the key is used in.

Data: :func:`bedrock_key_audit.inventory.traces.invocation_logging`; verdict:
:func:`bedrock_key_audit.verdicts.bedrock.invocation_logging`; fixer:
:mod:`bedrock_key_audit.remediation.fixers.traces` (provisions logging where a Region has none,
never overwrites a configuration).
"""
from __future__ import annotations

from bedrock_key_audit.fixtures.checkgen import check_tests
from bedrock_key_audit.verdicts import bedrock as verdicts


globals().update(check_tests(verdicts))
