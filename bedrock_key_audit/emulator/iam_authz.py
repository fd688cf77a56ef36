"""IAM requests of IAM users answered as AWS answers them: who may mint a key, escalate, or create
a user; ``CreateUser(PermissionsBoundary=…)``; identity policies that name a principal.

``install()`` (idempotent) adds to moto 5.2.5:

* **Authorization of IAM users' IAM calls**, with the emulator's own evaluator
  (:mod:`bedrock_key_audit.emulator.iam_eval`, independent of the audit's code) and moto's stored
  policies: the caller's inline, attached (default version) and group policies, within its
  permissions boundary ("Policy evaluation logic", IAM User Guide,
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html),
  against the resource each action acts on and the condition keys its request carries (Service
  Authorization Reference, "Actions, resources, and condition keys for AWS Identity and Access
  Management": ``iam:ServiceSpecificCredentialServiceName``/``…AgeDays``, ``iam:PolicyARN``,
  ``iam:PermissionsBoundary``, ``aws:RequestTag/*``, ``aws:TagKeys``, ``iam:ResourceTag/*``).
  It covers :data:`ACTIONS`: minting and the privilege-escalation writes, for IAM users and role
  sessions (the role's policies and boundary, intersected with the session policy: IAM User
  Guide, "Session policies").  The emulator's default credentials (the account root) are not
  checked here; moto's own switch (``enable_iam_authentication``) still applies to everyone
  when a test turns it on.
  A refusal is ``AccessDenied`` "User: <arn> is not authorized to perform: <action> on resource:
  <arn>", as AWS words it.
* **``CreateUser`` with ``PermissionsBoundary``**: moto drops the parameter; here the boundary
  must name an existing managed policy (else ``NoSuchEntity``) and is stored on the user, so
  ``GetUser``, ``GetAccountAuthorizationDetails`` and the evaluator above see it (IAM API
  Reference, "CreateUser": "The ARN of the managed policy that is used to set the permissions
  boundary for the user").
* **No principal in an identity policy**: ``PutUserPolicy``, ``PutRolePolicy``,
  ``PutGroupPolicy``, ``CreatePolicy`` and ``CreatePolicyVersion`` refuse a statement with
  ``Principal`` or ``NotPrincipal`` as ``MalformedPolicyDocument`` "Has prohibited field
  Principal" (IAM User Guide, "AWS JSON policy elements: NotPrincipal": "You cannot use the
  NotPrincipal element in an IAM identity-based policy"; AWS re:Post knowledge center,
  "How do I resolve the error 'Has prohibited field Principal'…").  moto's validator accepts both.
* **``SimulatePrincipalPolicy``** (moto 5.2.5 has none): the identity policies of an IAM user (inline,
  attached, its groups') or role, within its permissions boundary, evaluated by the same evaluator for
  each action against each resource (default ``*``), answered as ``allowed``, ``explicitDeny`` or
  ``implicitDeny`` per action with ``ResourceSpecificResults`` per resource (IAM API Reference,
  "SimulatePrincipalPolicy": "The simulation does not automatically retrieve policies for the specified
  resources"; a role's session policies are not part of it: it simulates the role).  The caller needs
  ``iam:SimulatePrincipalPolicy`` on the simulated principal's ARN; an unknown ARN is ``NoSuchEntity``.
"""
from __future__ import annotations

import dataclasses
import json
import threading
from typing import Any, Callable

from bedrock_key_audit.emulator import clock, iam_eval

_lock = threading.Lock()
_installed = False


def _user_arn(resp: Any, name: str | None) -> str:
    user = resp.backend.get_user(name) if name else None
    if user is not None:
        return str(user.arn)
    return f"arn:{resp.backend.partition}:iam::{resp.backend.account_id}:user/{name}"


def _target_user(resp: Any) -> str:
    name = resp._get_param("UserName")
    if not name:
        caller = resp.backend.get_user_from_access_key_id(resp.get_access_key())
        name = caller.name if caller else None
    return _user_arn(resp, name)


def _role_arn(resp: Any) -> str:
    return str(resp.backend.get_role(resp._get_param("RoleName")).arn)


def _group_arn(resp: Any) -> str:
    return str(resp.backend.get_group(resp._get_param("GroupName")).arn)


def _new_user_arn(resp: Any) -> str:
    path = resp._get_param("Path") or "/"
    return f"arn:{resp.backend.partition}:iam::{resp.backend.account_id}:user{path}{resp._get_param('UserName')}"


def _tags_context(resp: Any) -> dict[str, Any]:
    tags = resp._get_param("Tags") or []
    out: dict[str, Any] = {f"aws:RequestTag/{t.get('Key')}": t.get("Value") for t in tags if isinstance(t, dict)}
    if tags:
        out["aws:TagKeys"] = [t.get("Key") for t in tags if isinstance(t, dict)]
    return out


def _create_user_context(resp: Any) -> dict[str, Any]:
    out = _tags_context(resp)
    boundary = resp._get_param("PermissionsBoundary")
    if boundary:
        out["iam:PermissionsBoundary"] = boundary
    return out


def _ssc_context(resp: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    service = resp._get_param("ServiceName")
    if service is None:  # Reset/Update/Delete name the credential: its service is the one it was made for
        from bedrock_key_audit.emulator import iam_ssc

        cred = iam_ssc._store(resp.backend).get(resp._get_param("ServiceSpecificCredentialId"))
        service = cred.service_name if cred is not None else None
    if service is not None:
        out["iam:ServiceSpecificCredentialServiceName"] = service
    age = resp._get_param("CredentialAgeDays")
    if age is not None:
        out["iam:ServiceSpecificCredentialAgeDays"] = str(age)
    return out


def _policy_arn_context(resp: Any) -> dict[str, Any]:
    return {"iam:PolicyARN": resp._get_param("PolicyArn")}


def _none(resp: Any) -> dict[str, Any]:
    return {}


Resource = Callable[[Any], str]
Context = Callable[[Any], dict[str, Any]]
# response method -> (IAM action, the resource it acts on, its request's condition keys)
ACTIONS: dict[str, tuple[str, Resource, Context]] = {
    "create_service_specific_credential": ("iam:CreateServiceSpecificCredential", _target_user, _ssc_context),
    "reset_service_specific_credential": ("iam:ResetServiceSpecificCredential", _target_user, _ssc_context),
    "create_user": ("iam:CreateUser", _new_user_arn, _create_user_context),
    "put_user_policy": ("iam:PutUserPolicy", _target_user, _none),
    "attach_user_policy": ("iam:AttachUserPolicy", _target_user, _policy_arn_context),
    "put_role_policy": ("iam:PutRolePolicy", _role_arn, _none),
    "attach_role_policy": ("iam:AttachRolePolicy", _role_arn, _policy_arn_context),
    "put_group_policy": ("iam:PutGroupPolicy", _group_arn, _none),
    "attach_group_policy": ("iam:AttachGroupPolicy", _group_arn, _policy_arn_context),
    "add_user_to_group": ("iam:AddUserToGroup", _group_arn, _none),
    "create_policy_version": ("iam:CreatePolicyVersion", lambda r: str(r._get_param("PolicyArn")), _none),
    "set_default_policy_version": ("iam:SetDefaultPolicyVersion", lambda r: str(r._get_param("PolicyArn")), _none),
    "update_assume_role_policy": ("iam:UpdateAssumeRolePolicy", _role_arn, _none),
    "create_access_key": ("iam:CreateAccessKey", _target_user, _none),
    "create_login_profile": ("iam:CreateLoginProfile", _target_user, _none),
    "update_login_profile": ("iam:UpdateLoginProfile", _target_user, _none),
    "put_user_permissions_boundary": ("iam:PutUserPermissionsBoundary", _target_user,
                                      lambda r: {"iam:PermissionsBoundary": r._get_param("PermissionsBoundary")}),
    "delete_user_permissions_boundary": ("iam:DeleteUserPermissionsBoundary", _target_user, _none),
    "put_role_permissions_boundary": ("iam:PutRolePermissionsBoundary", _role_arn,
                                      lambda r: {"iam:PermissionsBoundary": r._get_param("PermissionsBoundary")}),
    "delete_role_permissions_boundary": ("iam:DeleteRolePermissionsBoundary", _role_arn, _none),
}


def _default_document(policy: Any) -> Any:
    version = next((v for v in getattr(policy, "versions", []) if v.is_default), None)
    return version.document if version is not None else getattr(policy, "document", None)


def _documents(backend: Any, user: Any) -> tuple[list[Any], list[Any] | None]:
    """The user's identity policies (inline, attached, its groups') and its boundary, or None."""
    docs: list[Any] = list(user.policies.values())
    docs += [_default_document(p) for p in user.managed_policies.values()]
    for g in backend.get_groups_for_user(user.name):
        docs += list(g.policies.values())
        docs += [_default_document(p) for p in g.managed_policies.values()]
    boundary_arn = getattr(user, "permissions_boundary_arn", None)
    boundary = [_default_document(backend.get_policy(boundary_arn))] if boundary_arn else None
    return docs, boundary


def _decoded(doc: Any) -> Any:
    if isinstance(doc, str):
        try:
            return json.loads(doc)
        except ValueError:
            return {}
    return doc


@dataclasses.dataclass(frozen=True)
class _Caller:
    arn: str
    identity: list[Any]
    boundary: list[Any] | None
    session: list[Any] | None  # a role session's session policy
    context: dict[str, Any]


def _caller(resp: Any) -> _Caller | None:
    """The IAM user or role session behind the request's access key, or None (the default
    credentials, or another account's)."""
    key = resp.get_access_key()
    user = resp.backend.get_user_from_access_key_id(key)
    if user is not None:
        docs, boundary = _documents(resp.backend, user)
        return _Caller(user.arn, docs, boundary, None, {
            "aws:username": user.name, "aws:userid": user.id, "aws:PrincipalArn": user.arn,
            "aws:PrincipalType": "User", **_principal_tags(user)})
    from moto.sts.models import sts_backends

    session = sts_backends[resp.backend.account_id][resp.backend.partition].get_assumed_role_from_access_key(key)
    if session is None:
        return None
    role = next((r for r in resp.backend.roles.values() if r.arn == session.role_arn), None)
    if role is None:
        return None
    docs = list(role.policies.values()) + [_default_document(p) for p in role.managed_policies.values()]
    b_arn = getattr(role, "permissions_boundary_arn", None)
    boundary = [_default_document(resp.backend.get_policy(b_arn))] if b_arn else None
    # "Session policies": the session's permissions are the intersection with the session policy
    return _Caller(f"arn:{resp.backend.partition}:sts::{resp.backend.account_id}:assumed-role/{role.name}/"
                   f"{session.session_name}", docs, boundary, [session.policy] if session.policy else None, {
                       "aws:userid": f"{role.id}:{session.session_name}", "aws:PrincipalArn": role.arn,
                       "aws:PrincipalType": "AssumedRole", **_principal_tags(role, key)})


def _principal_tags(entity: Any, key: str | None = None) -> dict[str, str]:
    """``aws:PrincipalTag/*`` of a request by an IAM user or role session: the tags attached to it ("AWS global
    condition context keys": aws:PrincipalTag/tag-key, "the tag attached to the principal making the
    request"), a role session's session tags replacing the role's (``key``: the session's access key)."""
    from bedrock_key_audit.emulator import issued, reach

    tags = reach.principal_tags(reach._tags_of(entity), issued.session_tags(key) if key else {})
    return {f"aws:PrincipalTag/{k}": v for k, v in tags.items()}


def authorize(resp: Any, action: str, resource: str, extra: dict[str, Any]) -> None:
    """Raise AccessDenied unless the calling IAM user or role session may ``action`` on ``resource``."""
    caller = _caller(resp)
    if caller is None:
        return
    now = clock.now()
    context: dict[str, Any] = {
        **caller.context, "aws:PrincipalAccount": resp.backend.account_id,
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "aws:EpochTime": str(int(now.timestamp())),
        "aws:RequestedRegion": "us-gov-west-1" if resp.backend.partition == "aws-us-gov" else "us-east-1",
        "aws:SecureTransport": "true",
    }
    if ":user/" in resource:
        try:
            tags = resp.backend.tagger.list_tags_for_resource(resource).get("Tags") or []
        except Exception:  # noqa: BLE001 - an untagged or new user has none
            tags = []
        context.update({f"iam:ResourceTag/{t['Key']}": t["Value"] for t in tags})
        context.update({f"aws:ResourceTag/{t['Key']}": t["Value"] for t in tags})
    context.update({k: v for k, v in extra.items() if v is not None})
    decision = iam_eval.decide([_decoded(d) for d in caller.identity],
                               [_decoded(d) for d in caller.boundary] if caller.boundary is not None else None,
                               action, resource, context)
    allowed = decision.allowed and (caller.session is None or iam_eval.evaluate(
        [_decoded(d) for d in caller.session], action, resource, context) == iam_eval.ALLOW)
    if not allowed:
        from bedrock_key_audit.emulator import refusals

        refusals.record(action, resource)
        raise _access_denied(f"User: {caller.arn} is not authorized to perform: {action} on resource: {resource}")


def _access_denied(message: str) -> Exception:
    """AWS's ``AccessDenied`` (HTTP 403), as moto raises it for its own authorization."""
    from moto.core.exceptions import AccessDeniedError

    class AccessDenied(AccessDeniedError):
        def __init__(self) -> None:
            # AccessDeniedError words its own message; its base takes (code, message)
            super(AccessDeniedError, self).__init__("AccessDenied", message)

    return AccessDenied()


def _guarded(name: str, original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    action, resource_of, context_of = ACTIONS[name]

    def method(self: Any) -> Any:
        if _caller(self) is not None:
            authorize(self, action, resource_of(self), context_of(self))
        return original(self)

    method.__wrapped__ = original  # type: ignore[attr-defined]
    return method


# --------------------------------------------------------------------------- CreateUser boundary
def _create_user_with_boundary(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def create_user(self: Any) -> Any:
        boundary = self._get_param("PermissionsBoundary")
        if boundary:
            self.backend.get_policy(boundary)  # NoSuchEntity for a policy that does not exist, before anything is made
        result = original(self)
        if boundary:
            self.backend.get_user(self._get_param("UserName")).permissions_boundary_arn = boundary
        return result

    create_user.__wrapped__ = original  # type: ignore[attr-defined]
    return create_user


# --------------------------------------------------------------------------- no principal in identity policies
def _names_a_principal(document: Any) -> str | None:
    doc = _decoded(document)
    stmts = doc.get("Statement") if isinstance(doc, dict) else None
    for st in stmts if isinstance(stmts, list) else [stmts]:
        if isinstance(st, dict):
            for field in ("Principal", "NotPrincipal"):
                if field in st:
                    return field
    return None


def _refusing_principals(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def method(self: Any) -> Any:
        from moto.iam.exceptions import MalformedPolicyDocument

        field = _names_a_principal(self._get_param("PolicyDocument"))
        if field is not None:
            raise MalformedPolicyDocument(f"Has prohibited field {field}")
        return original(self)

    method.__wrapped__ = original  # type: ignore[attr-defined]
    return method


def _principal_documents(backend: Any, arn: str) -> tuple[list[Any], list[Any] | None, dict[str, Any]] | None:
    """The identity policies, boundary and principal context of the IAM user or role ``arn``, or None."""
    user = next((u for u in backend.users.values() if u.arn == arn), None)
    if user is not None:
        docs, boundary = _documents(backend, user)
        return docs, boundary, {"aws:username": user.name, "aws:userid": user.id, "aws:PrincipalArn": user.arn,
                                "aws:PrincipalType": "User"}
    role = next((r for r in backend.roles.values() if r.arn == arn), None)
    if role is None:
        return None
    docs = list(role.policies.values()) + [_default_document(p) for p in role.managed_policies.values()]
    b_arn = getattr(role, "permissions_boundary_arn", None)
    boundary = [_default_document(backend.get_policy(b_arn))] if b_arn else None
    return docs, boundary, {"aws:userid": role.id, "aws:PrincipalArn": role.arn, "aws:PrincipalType": "AssumedRole"}


_SIM_DECISION = {"identity-deny": "explicitDeny", "boundary-deny": "explicitDeny"}


def simulate_principal_policy(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.iam.exceptions import NotFoundException

    source = self._get_param("PolicySourceArn")
    if _caller(self) is not None:
        authorize(self, "iam:SimulatePrincipalPolicy", source, {})
    found = _principal_documents(self.backend, source)
    if found is None:
        raise NotFoundException(f"Could not find principal {source}")
    docs, boundary, principal = found
    actions = self._get_param("ActionNames", [])
    resources = self._get_param("ResourceArns", []) or ["*"]
    now = clock.now()
    context: dict[str, Any] = {
        **principal, "aws:PrincipalAccount": self.backend.account_id,
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "aws:EpochTime": str(int(now.timestamp())),
        "aws:SecureTransport": "true"}
    identity = [_decoded(d) for d in docs]
    bound = [_decoded(d) for d in boundary] if boundary is not None else None
    results = []
    for action in actions:
        per_resource = []
        for resource in resources:
            decision = iam_eval.decide(identity, bound, action, resource, context)
            word = "allowed" if decision.allowed else _SIM_DECISION.get(decision.reason, "implicitDeny")
            per_resource.append({"EvalResourceName": resource, "EvalResourceDecision": word})
        words = {r["EvalResourceDecision"] for r in per_resource}
        overall = ("explicitDeny" if "explicitDeny" in words else "allowed" if words == {"allowed"}
                   else "implicitDeny")
        entry: dict[str, Any] = {"EvalActionName": action, "EvalDecision": overall}
        if len(resources) == 1:
            entry["EvalResourceName"] = resources[0]
        entry["ResourceSpecificResults"] = per_resource
        results.append(entry)
    return ActionResult({"EvaluationResults": results, "IsTruncated": False})


def install() -> None:
    """Apply the corrections (idempotent; call after ``iam_ssc.install()``)."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.iam.responses import IamResponse

        IamResponse.create_user = _create_user_with_boundary(IamResponse.create_user)  # type: ignore[method-assign,assignment]
        for name in ("put_user_policy", "put_role_policy", "put_group_policy", "create_policy", "create_policy_version"):
            setattr(IamResponse, name, _refusing_principals(getattr(IamResponse, name)))
        IamResponse.simulate_principal_policy = simulate_principal_policy  # type: ignore[attr-defined]
        for name in ACTIONS:
            original = getattr(IamResponse, name, None)
            if original is not None:
                setattr(IamResponse, name, _guarded(name, original))
        _installed = True


def installed() -> bool:
    return _installed
