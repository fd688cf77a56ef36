"""The Bedrock service-specific credential (the API key): active, unexpired, bounded, single.

The verdicts live in :mod:`bedrock_key_audit.verdicts.credential` (one function per check id, each
declaring its check with ``@verdict``); this module's tests are generated from those declarations.
"""
from __future__ import annotations

from bedrock_key_audit.fixtures.checkgen import check_tests
from bedrock_key_audit.verdicts import credential as verdicts


globals().update(check_tests(verdicts))
