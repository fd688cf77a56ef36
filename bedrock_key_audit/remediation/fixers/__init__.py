"""One fixer per check id, in one module per family of checks; importing this package registers them all.

Each fixer reads the Inventory the checks read and returns steps (``@fixer("<check id>")``,
:func:`bedrock_key_audit.remediation.core.fixer`).  Where a row is fixed:

* ``iam.*`` -> :mod:`.iam` (user, least-privilege policy, what grants too much, other credentials);
* ``credential.*`` and ``secret.key_matches_credential`` -> :mod:`.credential` (rotate, retire,
  a single Active key);
* ``secret.*`` -> :mod:`.secret` (restore, recreate, rewrite, encrypt with our CMK);
* ``endpoint.*`` -> :mod:`.endpoint`;
* ``cloudtrail.*`` -> :mod:`.cloudtrail`, except ``cloudtrail.bucket_protected`` -> :mod:`.traces`;
* ``bedrock.invocation_logging`` -> :mod:`.traces`;
* ``secret.readers_restricted``, ``iam.key_minting_restricted`` -> :mod:`.access`;
* ``credential.recently_used`` -> :mod:`.usage`;
* ``org.key_lifetime_capped``, ``org.long_term_keys_confined`` -> :mod:`.org` (manual: the SCP to attach).

Helpers without fixers: :mod:`.keys` (``key_diagnosis``, rotation glue, restoring the secret) and
:mod:`.kms` (our customer-managed key).  The rotation itself is
:mod:`bedrock_key_audit.remediation.rotation`; the names of what remediation creates are
:mod:`bedrock_key_audit.remediation.names` (both import no fixer module: no cycle).

Adding fixers: write a module (here, or anywhere in the package) whose functions carry
``@fixer("<check id>")`` and add ONE line to the registration block below importing it.
``tests/remediation/test_fixer_modules.py`` fails when a module in this folder is not registered.
"""
from __future__ import annotations

# --------------------------------------------------------------------------- registration
# One line per module: importing it registers its @fixer functions in core.FIXERS (in this order).
from bedrock_key_audit.remediation.fixers import iam  # noqa: F401
from bedrock_key_audit.remediation.fixers import credential  # noqa: F401
from bedrock_key_audit.remediation.fixers import secret  # noqa: F401
from bedrock_key_audit.remediation.fixers import endpoint  # noqa: F401
from bedrock_key_audit.remediation.fixers import cloudtrail  # noqa: F401
from bedrock_key_audit.remediation.fixers import traces  # noqa: F401
from bedrock_key_audit.remediation.fixers import access  # noqa: F401
from bedrock_key_audit.remediation.fixers import usage  # noqa: F401
from bedrock_key_audit.remediation.fixers import org  # noqa: F401

# --------------------------------------------------------------------------- the names this module always had
from bedrock_key_audit.remediation.core import RemediationError
from bedrock_key_audit.remediation.fixers.cloudtrail import (
    MAX_SELECTORS,
    _create_trail_step,
    _trail_fixer,
    management_selectors,
    trail_bucket_policy,
)
from bedrock_key_audit.remediation.fixers.credential import _credential_fixer, fix_single_active
from bedrock_key_audit.remediation.fixers.endpoint import _endpoint_fixer, fix_unused_surfaces_closed
from bedrock_key_audit.remediation.fixers.iam import (
    MAX_POLICY_VERSIONS,
    _create_user_step,
    _ensure_policy_step,
    desired_policy,
    fix_policy_grants_required,
    fix_policy_least_privilege,
    fix_user_exists,
    fix_user_no_other_credentials,
    has_deny,
    narrowed,
    policy_arn,
    policy_names,
)
from bedrock_key_audit.remediation.fixers.keys import key_diagnosis
from bedrock_key_audit.remediation.fixers.kms import kms_key_arn, kms_key_policy
from bedrock_key_audit.remediation.fixers.secret import fix_secret_cmk, fix_secret_exists, fix_secret_schema
from bedrock_key_audit.remediation.names import KMS_ALIAS, POLICY_NAME, TRAIL_NAME

__all__ = [
    "KMS_ALIAS", "MAX_POLICY_VERSIONS", "MAX_SELECTORS", "POLICY_NAME", "TRAIL_NAME", "RemediationError",
    "_create_trail_step", "_create_user_step", "_credential_fixer", "_endpoint_fixer", "_ensure_policy_step",
    "_trail_fixer", "desired_policy", "fix_policy_grants_required", "fix_policy_least_privilege",
    "fix_secret_cmk", "fix_secret_exists", "fix_secret_schema", "fix_single_active", "fix_user_exists",
    "fix_unused_surfaces_closed", "fix_user_no_other_credentials", "has_deny", "key_diagnosis", "kms_key_arn", "kms_key_policy",
    "management_selectors", "narrowed", "policy_arn", "policy_names", "trail_bucket_policy",
]
