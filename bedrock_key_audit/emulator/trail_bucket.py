"""Whether a bucket policy lets CloudTrail deliver to the bucket: the trail's creation (kms_extras) and its
delivery status (aws_extras) both ask.  Standard library only."""
from __future__ import annotations

import json


def cloudtrail_may_write(policy: bytes | str | None) -> bool:
    """Does a bucket policy let the CloudTrail service principal PutObject (any resource, any condition)?"""
    if not policy:
        return False
    try:
        doc = json.loads(policy.decode() if isinstance(policy, bytes) else policy)
    except ValueError:
        return False
    statements = doc.get("Statement", []) if isinstance(doc, dict) else []
    for st in statements if isinstance(statements, list) else [statements]:
        if not isinstance(st, dict) or st.get("Effect") != "Allow":
            continue
        principal = st.get("Principal") or {}
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        services = [services] if isinstance(services, str) else services
        actions = st.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if "cloudtrail.amazonaws.com" in services and any(a in ("s3:PutObject", "s3:*", "*") for a in actions):
            return True
    return False
