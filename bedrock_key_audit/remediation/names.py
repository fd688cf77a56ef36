"""Names of what remediation creates (documented in docs/remediation.md).

* customer-managed policy ``BedrockApiKeyLeastPrivilege``: ``required_actions`` on ``*``;
* inline user policy ``BedrockApiKeyUnusedSurfaces``: Deny of the ``CallWithBearerToken`` of Bedrock
  surfaces the workload does not use (``endpoint.surfaces``);
* KMS key with alias ``alias/bedrock-key-audit`` in a partition that needs one (a key
  already under that alias is used as given);
* trail ``bedrock-key-audit-trail`` and bucket ``bedrock-key-audit-trail-<account>-<region>``
  where a partition has no trail at all.

A leaf of the remediation package: the fixers and the rotation both read these names.
"""
from __future__ import annotations

POLICY_NAME = "BedrockApiKeyLeastPrivilege"
KMS_ALIAS = "alias/bedrock-key-audit"
TRAIL_NAME = "bedrock-key-audit-trail"
# inline policy of the key's user denying the CallWithBearerToken of surfaces the workload does not use
SURFACE_DENY_POLICY = "BedrockApiKeyUnusedSurfaces"
