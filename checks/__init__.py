"""The audit's checks (``test_*.py``) and their metadata (``metadata/*.json``).

Installed as the package ``bedrock_key_audit.checks`` so the wheel carries them; locate them with
:mod:`bedrock_key_audit.resources`, not with paths relative to a module.
"""
