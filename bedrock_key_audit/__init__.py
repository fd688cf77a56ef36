"""bedrock-key-audit as an installable pytest plugin (``pytest11`` entry point ``bedrock_key_audit``).

For now it holds only the command-line options (:mod:`bedrock_key_audit.plugin`): registered by
the entry point before pytest reads any conftest, so that ``--audit-config PATH`` and
``--reports-dir DIR`` work with a space as with ``=``.  The audit itself is still the plugins
under ``fixtures/`` that the project's ``conftest.py`` loads.
"""
