"""The audit's JSON schemas, installed as the package ``bedrock_key_audit.schemas`` (data only).

Locate them with :mod:`bedrock_key_audit.resources` (``schema("results.schema.json")``).
"""
