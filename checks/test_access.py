"""Who can read the key out of the GovCloud secret, and who can mint another Bedrock key.

Both checks evaluate every principal of the account (``iam:GetAccountAuthorizationDetails``)
with bedrock_key_audit/access.py; the module docstring there cites AWS's evaluation logic.

The allowed set is the configured list (``secret.allowed_readers``, ``credential.allowed_minters``;
empty by default) plus the principal running the audit in that partition
(``sts:GetCallerIdentity``; a role session counts as its role): the audit itself reads the
secret (secret.schema, secret.key_matches_credential) and its remediation rotates the key, so
its own principal necessarily does both.  The evidence names it as such.  The workload that
uses the key in GovCloud is not known to the audit: list its role in ``secret.allowed_readers``.
"""
from __future__ import annotations

from bedrock_key_audit.fixtures.checkgen import check_tests
from bedrock_key_audit.verdicts import access as verdicts


globals().update(check_tests(verdicts))
