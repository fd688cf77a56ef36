"""IAM: the key's user exists, holds no other credentials, and has exactly the permissions it needs.

The verdicts live in :mod:`bedrock_key_audit.verdicts.iam` (one function per check id, each
declaring its check with ``@verdict``); this module's tests are generated from those declarations.
"""
from __future__ import annotations

from bedrock_key_audit.fixtures.checkgen import check_tests
from bedrock_key_audit.verdicts import iam as verdicts


globals().update(check_tests(verdicts))
