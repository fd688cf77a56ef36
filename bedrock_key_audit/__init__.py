"""bedrock-key-audit: a pytest compliance audit of an Amazon Bedrock long-term API key.

The product code (policy evaluation, the embedded AWS emulator, remediation, reporting) lives in
this package; its pytest wiring is :mod:`bedrock_key_audit.fixtures` (the source tree's
``fixtures/``), its checks :mod:`bedrock_key_audit.checks` (``checks/``) and its JSON schemas
``bedrock_key_audit.schemas`` (``schemas/``), located through :mod:`bedrock_key_audit.resources`.

- :mod:`bedrock_key_audit.plugin` is the ``pytest11`` entry point: it registers the command-line
  options only, so another project's pytest run is untouched;
- :mod:`bedrock_key_audit.cli` is the console script ``bedrock-key-audit``, which runs the
  packaged checks with the wiring (:mod:`bedrock_key_audit.fixtures.audit`) from any directory.

PYTEST_DONT_REWRITE: this module holds no assertion, and the console script imports it before
pytest starts, so pytest's assertion rewriting could only warn that it came too late.
"""
