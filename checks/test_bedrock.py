"""Bedrock's own record of the key's calls: model-invocation logging in the Regions the key is used in.

Data: :func:`bedrock_key_audit.inventory.traces.invocation_logging`; verdict:
:func:`bedrock_key_audit.verdicts.bedrock.invocation_logging`; fixer:
:mod:`bedrock_key_audit.remediation.fixers.traces` (provisions logging where a Region has none,
never overwrites a configuration).
"""
from __future__ import annotations

import pytest

from bedrock_key_audit.verdicts import bedrock as verdicts


@pytest.mark.check("bedrock.invocation_logging")
def test_bedrock_invocation_logging(check, inventory, key_use_regions):
    verdicts.invocation_logging(check, inventory, key_use_regions)
