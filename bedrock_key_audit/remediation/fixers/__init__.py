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

Adding fixers: write a module in this folder whose functions carry ``@fixer("<check id>")``;
importing this package imports every module in it (in name order), which registers them.
"""
from __future__ import annotations

import importlib
import pkgutil

# every module of this folder: importing it registers its @fixer functions in core.FIXERS
for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")
