"""Bedrock endpoints answer the key from the secret (httpx, ``Authorization: Bearer``).

The verdicts live in :mod:`bedrock_key_audit.verdicts.endpoint` (one function per check id, each
declaring its check with ``@verdict``); this module's tests are generated from those declarations.
"""
from __future__ import annotations

from bedrock_key_audit.fixtures.checkgen import check_tests
from bedrock_key_audit.verdicts import endpoint as verdicts


globals().update(check_tests(verdicts))
