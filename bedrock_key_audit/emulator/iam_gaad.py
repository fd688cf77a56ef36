"""``iam:GetAccountAuthorizationDetails`` as botocore's model describes it; ``install()`` applies it.

moto 5.2.5 answers the call with every entity in one page (``IsTruncated`` always false,
``MaxItems`` / ``Marker`` ignored) and leaves out fields of the output shapes
(``Policies[].PolicyName`` / ``PolicyId`` / ``PermissionsBoundaryUsageCount``).  AWS pages the
answer ("GetAccountAuthorizationDetails", IAM API Reference: ``MaxItems`` 1..1000, default
100; "IsTruncated ... Marker"), and botocore's paginator merges the four lists
``UserDetailList``, ``GroupDetailList``, ``RoleDetailList`` and ``Policies`` page by page.

Here the four lists, in that order, form one sequence cut into pages of ``MaxItems`` entries;
``Marker`` is the opaque position of the next entry.  Users' ``PermissionsBoundary`` comes from
``aws_extras`` (``User.permissions_boundary``), roles' from moto.  Idempotent.
"""
from __future__ import annotations

import base64
import threading
from typing import Any

_lock = threading.Lock()
_installed = False
_KEYS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


def installed() -> bool:
    return _installed


def _marker(position: int) -> str:
    return base64.urlsafe_b64encode(f"gaad:{position}".encode()).decode()


def _position(marker: str | None) -> int | None:
    if not marker:
        return 0
    try:
        text = base64.urlsafe_b64decode(marker.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not text.startswith("gaad:") or not text[5:].isdigit():
        return None
    return int(text[5:])


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        from moto.core.responses import ActionResult
        from moto.iam import models as iam_models
        from moto.iam.exceptions import IAMException
        from moto.iam.responses import IamResponse

        class ValidationError(IAMException):
            code = "ValidationError"

        policy_cls = iam_models.ManagedPolicy
        if not hasattr(policy_cls, "policy_name"):
            policy_cls.policy_name = property(lambda self: self.name)  # type: ignore[attr-defined]
            policy_cls.policy_id = property(lambda self: self.id)  # type: ignore[attr-defined]

        def get_account_authorization_details(self: Any) -> Any:
            filter_param = self._get_param("Filter", [])
            max_items = self._get_int_param("MaxItems", 100)
            if not 1 <= max_items <= 1000:
                raise ValidationError("1 validation error detected: Value at 'maxItems' failed "
                                   "to satisfy constraint: Member must have value between 1 and 1000")
            start = _position(self._get_param("Marker"))
            if start is None:
                raise ValidationError("Invalid Marker")
            details = self.backend.get_account_authorization_details(filter_param)
            sequence = ([("UserDetailList", u) for u in details["users"]]
                        + [("GroupDetailList", g) for g in details["groups"]]
                        + [("RoleDetailList", r) for r in details["roles"]]
                        + [("Policies", p) for p in details["managed_policies"]])
            page = sequence[start:start + max_items]
            result: dict[str, Any] = {k: [obj for key, obj in page if key == k] for k in _KEYS}
            truncated = start + max_items < len(sequence)
            result["IsTruncated"] = truncated
            if truncated:
                result["Marker"] = _marker(start + max_items)
            return ActionResult(result)

        IamResponse.get_account_authorization_details = get_account_authorization_details  # type: ignore[method-assign]
        _installed = True
