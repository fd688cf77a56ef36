"""Who can reach a secret in the emulator: callers with their own credentials, resource and key
policies on ``GetSecretValue`` (also across accounts), role trust, and replicas with their own key.

Written from AWS's documentation with the emulator's own evaluator (``iam_eval``), independent of
the audit's code, so that the emulator proves what the audit claims:

* **Callers.**  A request signed with an IAM user's access key (``CreateAccessKey``) acts as that
  user, in the user's account (moto routed it to the partition's default account); one signed
  with credentials ``AssumeRole``/``AssumeRoleWithWebIdentity`` issued acts as that role session.
  The emulator's own fake keys act as the account root, as before (no policy applies to it).
* **``GetSecretValue`` by a user or role session** ("Policy evaluation logic",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html;
  "Cross-account policy evaluation logic",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html):
  an explicit Deny in the caller's identity policies, its permissions boundary or the secret's
  resource policy refuses.  Within the secret's account an Allow in the identity policies (and
  the boundary) or in the resource policy for the caller suffices; from another account both are
  needed.  A ``SecretId`` that is the ARN of a secret in another account reads that account's
  secret ("Access AWS Secrets Manager secrets from a different account",
  https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples_cross.html).
* **The ``kms:Decrypt`` it implies** ("Secret encryption and decryption in AWS Secrets Manager";
  "Allowing users in other accounts to use a KMS key",
  https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html;
  "Grants in AWS KMS"): the AWS managed key ``aws/secretsmanager`` serves every principal of its
  own account and no other; a customer key needs a key-policy Allow that names the caller (or
  ``*``), or one that names the caller's account together with the caller's identity policy --
  from another account the identity policy is always needed -- or a grant to the caller whose
  constraints the encryption context (``SecretARN``, ``SecretVersionId``) meets.  A key-policy
  Deny refuses.  Refused: ``AccessDeniedException`` "Access to KMS is not allowed".
* **``AssumeRole`` by a user or role session** ("Grant a user permissions to switch roles"): the
  trust policy must allow the caller -- naming its ARN, its account or ``*`` -- with its
  conditions; a trust naming an account needs the caller's identity policy to allow
  ``sts:AssumeRole`` on the role (within one account, a trust naming the caller's ARN suffices;
  from another account the identity policy is always needed).
* **``AssumeRoleWithWebIdentity``** ("Create a role for OpenID Connect federation"): the role's
  trust policy must allow ``sts:AssumeRoleWithWebIdentity`` to ``Federated`` = the OIDC provider
  of the token's issuer in the role's account, with its conditions on the token's claims
  (``<issuer host>:sub``, ``:aud``).  The emulator accepts unsigned JWTs (it checks the claims, not
  the signature).
* **Replicas** (``ReplicaRegions``): moto gave every replica the default key and no resource
  policy; a replica now keeps the ``KmsKeyId`` asked for (``DescribeSecret`` in its Region and the
  primary's ``ReplicationStatus`` name it; absent for the default key), and shares the primary's
  resource policy ("Replicate AWS Secrets Manager secrets across Regions",
  https://docs.aws.amazon.com/secretsmanager/latest/userguide/replicate-secrets.html: "Secrets
  Manager replicates the encrypted secret data and metadata such as tags and resource policies").
"""
from __future__ import annotations

import base64
import dataclasses
import json
import re
import threading
from typing import Any

from bedrock_key_audit.emulator import clock, iam_eval

_lock = threading.Lock()
_installed = False
_KEY_ID = re.compile(r"Credential=([A-Z0-9]{16,128})/")
DEFAULT_KEY = "alias/aws/secretsmanager"


def installed() -> bool:
    return _installed


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        _fix_get_secret_value()
        _fix_web_identity()
        _fix_replicas()
        _installed = True


# --------------------------------------------------------------------------- callers
@dataclasses.dataclass(frozen=True)
class Caller:
    """An IAM user or role session signing a request."""

    account: str
    partition: str
    kind: str  # "user" | "role"
    name: str  # user name / role name
    arn: str  # user ARN / role ARN
    session_arn: str | None = None
    session_tags: tuple[tuple[str, str], ...] = ()  # a role session's session tags (AssumeRole Tags)

    @property
    def principal_arn(self) -> str:
        return self.arn

    @property
    def identity_arn(self) -> str:
        return self.session_arn or self.arn


def _access_key_id(authorization: str) -> str | None:
    m = _KEY_ID.search(authorization or "")
    return m.group(1) if m else None


def caller_of(authorization: str) -> Caller | None:
    """The user or role session whose credentials signed the request; None for the emulator's
    own keys (the account root) and unknown keys."""
    key = _access_key_id(authorization)
    if not key:
        return None
    if key.startswith("AKIAEMULATOR"):
        return None  # the emulator's own keys: the account root
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    for account, by_partition in list(iam_backends.items()):
        for partition in ("aws", "aws-us-gov"):
            if partition not in by_partition.keys():
                # never made, so it holds no access key; indexing would make it (moto builds an IAM
                # backend lazily, with every AWS managed policy: 0.3-0.5 s inside the first request)
                continue
            try:
                ak = by_partition[partition].access_keys.get(key)
            except KeyError:
                continue
            if ak is None:
                continue
            role_arn = getattr(ak, "role_arn", None)
            if role_arn:
                ar = next((r for r in list(sts_backends[account][partition].assumed_roles)
                           if r.access_key_id == key), None)
                if ar is None:
                    return None
                name = role_arn.rsplit("/", 1)[-1]
                from bedrock_key_audit.emulator import issued

                return Caller(account, partition, "role", name, role_arn,
                              f"arn:{partition}:sts::{account}:assumed-role/{name}/{ar.session_name}",
                              tuple(sorted(issued.session_tags(key).items())))
            if ak.user_name:
                user = by_partition[partition].users.get(ak.user_name)
                return Caller(account, partition, "user", ak.user_name, user.arn) if user is not None else None
    return None


def account_for_request(environ: dict[str, Any], arn_partition: str) -> str | None:
    """The account of the IAM user whose access key signed the request (same partition), or None."""
    c = caller_of(environ.get("HTTP_AUTHORIZATION", "") or "")
    return c.account if c is not None and c.kind == "user" and c.partition == arn_partition else None


def _document(policy: Any) -> Any:
    from moto.iam.access_control import IAMPolicy

    try:
        return IAMPolicy(policy)._policy_json
    except (ValueError, TypeError, KeyError, AttributeError, StopIteration):
        return None


def _entity(c: Caller) -> Any:
    from moto.iam.models import iam_backends

    backend = iam_backends[c.account][c.partition]
    if c.kind == "user":
        return backend.users.get(c.name)
    return next((r for r in backend.roles.values() if r.name == c.name), None)


def identity_policies(c: Caller) -> tuple[list[Any], list[Any] | None]:
    """The caller's identity policy documents (groups included) and its boundary (None: none)."""
    from moto.iam.access_control import AssumedRoleAccessKey, IAMUserAccessKey
    from moto.iam.models import iam_backends

    backend = iam_backends[c.account][c.partition]
    collector: Any
    if c.kind == "user":
        collector = IAMUserAccessKey.__new__(IAMUserAccessKey)
        collector._owner_user_name = c.name
    else:
        collector = AssumedRoleAccessKey.__new__(AssumedRoleAccessKey)
        collector._owner_role_name = c.name
    collector.account_id, collector.partition = c.account, c.partition
    try:
        docs = [d for d in (_document(p) for p in collector.collect_policies()) if d is not None]
    except Exception:  # noqa: BLE001 -- the entity was deleted: it holds no policy
        docs = []
    entity = _entity(c)
    arn = getattr(entity, "permissions_boundary_arn", None) if c.kind == "user" else getattr(
        entity, "permissions_boundary", None)
    if isinstance(arn, dict):
        arn = arn.get("PermissionsBoundaryArn")
    if not isinstance(arn, str) or not arn:
        return docs, None
    try:
        doc = _document(backend.get_policy(arn))
    except Exception:  # noqa: BLE001 -- a boundary naming a missing policy allows nothing
        return docs, []
    return docs, [doc] if doc is not None else []


def _tags_of(entity: Any) -> dict[str, str]:
    tags = getattr(entity, "tags", None) or {}
    out: dict[str, str] = {}
    if isinstance(tags, dict):
        for k, v in tags.items():
            out[str(k)] = str(v.get("Value")) if isinstance(v, dict) else str(v)
    elif isinstance(tags, list):
        out = {str(t.get("Key")): str(t.get("Value")) for t in tags if isinstance(t, dict)}
    return out


def caller_context(c: Caller, region: str) -> dict[str, Any]:
    """Global condition keys of a request by ``c`` ("AWS global condition context keys")."""
    now = clock.now()
    ctx: dict[str, Any] = {
        "aws:PrincipalArn": c.arn, "aws:PrincipalAccount": c.account, "aws:RequestedRegion": region,
        "aws:PrincipalType": "User" if c.kind == "user" else "AssumedRole", "aws:SecureTransport": "true",
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "aws:EpochTime": str(int(now.timestamp())),
        "aws:PrincipalIsAWSService": "false", "aws:ViaAWSService": "false",
    }
    if c.kind == "user":
        ctx["aws:username"] = c.name
    from bedrock_key_audit.emulator import org_guard

    org = org_guard.org_id_of(c.account)  # "included in the request context only if the principal is a member"
    if org:
        ctx["aws:PrincipalOrgID"] = org
    for k, v in principal_tags(_tags_of(_entity(c)), dict(c.session_tags)).items():
        ctx[f"aws:PrincipalTag/{k}"] = v
    return ctx


def principal_tags(tags: dict[str, str], session: dict[str, str]) -> dict[str, str]:
    """The ``aws:PrincipalTag`` values of a request: the user's or role's tags, where a role session's session
    tags replace a role tag of the same key -- tag keys compared without case ("Passing session tags in AWS
    STS": "If the session tag key matches a role tag key, the session tag value overrides the role tag"; IAM
    tag keys are case-insensitive, "Tagging IAM resources")."""
    keep = {k: v for k, v in tags.items() if k.lower() not in {s.lower() for s in session}}
    return {**keep, **session}


# --------------------------------------------------------------------------- resource-based policies
def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _root_account(value: str) -> str | None:
    if re.fullmatch(r"\d{12}", value):
        return value
    m = re.fullmatch(r"arn:[\w-]+:iam::(\d{12}):root", value)
    return m.group(1) if m else None


def names(principal: Any, c: Caller | None, caller_account: str) -> tuple[bool, bool]:
    """(covered, by its own ARN / ``*``): does a Principal element cover the caller (``None``:
    the account root of ``caller_account``)?  An account covers every principal of it."""
    if principal == "*":
        return True, True
    if not isinstance(principal, dict):
        return False, False
    for v in _as_list(principal.get("AWS")):
        v = str(v)
        if v == "*":
            return True, True
        if _root_account(v) == caller_account:
            return True, c is None
        if c is not None and v in (c.arn, c.session_arn):
            return True, True
    return False, False


def _covers(st: dict[str, Any], c: Caller | None, caller_account: str) -> tuple[bool, bool]:
    if "NotPrincipal" in st:
        hit = False
        for v in _as_list(st["NotPrincipal"].get("AWS") if isinstance(st["NotPrincipal"], dict) else st["NotPrincipal"]):
            if v == "*" or (c is not None and v in (c.arn, c.session_arn)):
                hit = True
        return (not hit), True
    return names(st.get("Principal"), c, caller_account)


def resource_policy(document: Any, action: str, resource: str, c: Caller | None, caller_account: str,
                    context: dict[str, Any]) -> tuple[str, str]:
    """``(deny | allow | neutral, how)`` of a resource-based policy for the caller; ``how`` is
    "direct" (named by ARN or ``*``) or "account" (its account is named)."""
    out, how = iam_eval.NEUTRAL, ""
    for st in iam_eval.statements_of(document):
        if "Resource" not in st and "NotResource" not in st:
            st = {**st, "Resource": "*"}  # a trust policy: the role itself
        effect = st.get("Effect")
        covered, direct = _covers(st, c, caller_account)
        if not covered or not iam_eval.statement_applies(st, action, resource, context):
            continue
        if effect == "Deny":
            return iam_eval.DENY, "direct"
        if effect == "Allow" and how != "direct":
            out, how = iam_eval.ALLOW, ("direct" if direct else "account")
    return out, how


# --------------------------------------------------------------------------- decisions
def may_read(c: Caller, owner: str, secret: Any, version_id: str | None, stage: str | None,
             region: str) -> str | None:
    """None when ``c`` may ``GetSecretValue`` the secret (and Secrets Manager may decrypt it for
    ``c``); otherwise the AccessDeniedException message."""
    from moto.kms.models import kms_backends

    from bedrock_key_audit.emulator import kms_extras

    arn = secret.arn
    identity, boundary = identity_policies(c)
    ctx = caller_context(c, region)
    if stage:
        ctx["secretsmanager:VersionStage"] = stage
    if version_id:
        ctx["secretsmanager:VersionId"] = version_id
    action = "secretsmanager:GetSecretValue"
    ident = iam_eval.evaluate(identity, action, arn, ctx)
    bound = iam_eval.evaluate(boundary, action, arn, ctx) if boundary is not None else None
    policy = getattr(secret, "policy", None)
    rp, how = resource_policy(policy, action, arn, c, c.account, ctx) if policy else (iam_eval.NEUTRAL, "")
    denied = f"User: {c.identity_arn} is not authorized to perform: {action} on resource: {arn}"
    if iam_eval.DENY in (ident, bound, rp):
        return denied + " with an explicit deny"
    # the caller's SCPs bound what it may do; the owner's RCPs bound what anyone may do to the secret
    from bedrock_key_audit.emulator import org_guard

    for kind, account in ((org_guard.SCP, c.account), (org_guard.RCP, owner)):
        why = org_guard.refusal(kind, account, action, arn, ctx)
        if why is not None:
            return f"{denied} {why}"
    id_ok = ident == iam_eval.ALLOW and bound in (None, iam_eval.ALLOW)
    if c.account == owner:
        rp_ok = rp == iam_eval.ALLOW and how == "direct" and (c.kind == "user" or bound in (None, iam_eval.ALLOW))
        if not (id_ok or rp_ok):
            return denied
    elif not (id_ok and rp == iam_eval.ALLOW):
        return denied + " because no resource-based policy allows it" if id_ok else denied

    # the kms:Decrypt Secrets Manager makes for the caller
    ref = getattr(secret, "kms_key_id", None)
    vid = version_id or next((v for v, d in secret.versions.items()
                              if (stage or "AWSCURRENT") in d.get("version_stages", [])), None)
    if not ref or ref == DEFAULT_KEY or str(ref).endswith(":" + DEFAULT_KEY):
        return None if c.account == owner else "Access to KMS is not allowed"
    key = kms_extras.find_key(owner, region, ref)
    if key is None:
        return None  # kms_extras answers DecryptionFailure for a missing key
    kctx = {**ctx, "kms:CallerAccount": c.account, "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
            "kms:EncryptionContext:SecretARN": arn, "kms:EncryptionContext:SecretVersionId": vid or "",
            "kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT", "aws:ViaAWSService": "true"}
    if org_guard.refusal(org_guard.RCP, owner, "kms:Decrypt", key.arn, kctx) is not None:
        return "Access to KMS is not allowed"
    kid = iam_eval.evaluate(identity, "kms:Decrypt", key.arn, kctx)
    kbound = iam_eval.evaluate(boundary, "kms:Decrypt", key.arn, kctx) if boundary is not None else None
    kp, khow = resource_policy(getattr(key, "policy", None), "kms:Decrypt", key.arn, c, c.account, kctx)
    if iam_eval.DENY in (kid, kbound, kp):
        return "Access to KMS is not allowed"
    kid_ok = kid == iam_eval.ALLOW and kbound in (None, iam_eval.ALLOW)
    if kp == iam_eval.ALLOW and ((c.account == owner and khow == "direct") or kid_ok):
        return None
    context = {"SecretARN": arn, "SecretVersionId": vid or ""}
    backend = kms_backends[owner][region]
    # a grant to the caller (or its role), or to the caller's account root: the account's principals
    # whose identity policies allow the operation use it, as with a key policy naming the account
    grantees = {c.arn, *([c.session_arn] if c.session_arn else [])}
    if kid_ok:
        grantees.add(f"arn:{c.partition}:iam::{c.account}:root")
    for grant in list(getattr(backend.keys.get(key.id), "grants", {}).values()):
        if kms_extras.grant_permits(grant, grantees, "Decrypt", context):
            return None
    return "Access to KMS is not allowed"


def may_assume(role: Any, role_account: str, c: Caller | None, caller_account: str, arn_partition: str,
               action: str, extra: dict[str, Any], region: str | None = None) -> bool:
    """Does the trust policy (and, where needed, the caller's identity policy) let the caller
    assume ``role``?  ``c`` None: the account root of ``caller_account`` (every identity policy
    allows it).  ``region``: the Region of the STS endpoint the request was sent to, its
    ``aws:RequestedRegion`` (IAM User Guide, "Manage AWS STS in an AWS Region"); the global
    endpoint's (us-east-1, us-gov-west-1 in GovCloud) when not given."""
    region = region or ("us-gov-west-1" if arn_partition == "aws-us-gov" else "us-east-1")
    ctx = {**(caller_context(c, region) if c else {"aws:PrincipalAccount": caller_account,
                                                     "aws:PrincipalArn": f"arn:{arn_partition}:iam::{caller_account}:root"}),
           **extra}
    trust, how = resource_policy(role.assume_role_policy_document, action, role.arn, c, caller_account, ctx)
    if trust != iam_eval.ALLOW:
        return False
    if c is None:
        return True
    identity, boundary = identity_policies(c)
    ident = iam_eval.evaluate(identity, action, role.arn, ctx)
    bound = iam_eval.evaluate(boundary, action, role.arn, ctx) if boundary is not None else None
    if iam_eval.DENY in (ident, bound):
        return False
    id_ok = ident == iam_eval.ALLOW and bound in (None, iam_eval.ALLOW)
    return id_ok or (c.account == role_account and how == "direct")


# --------------------------------------------------------------------------- moto patches
def _names_root(principal: Any, account: str) -> bool:
    """Whether a policy's ``Principal`` covers the account root of ``account`` (``*``, the account id or
    its root ARN)."""
    if principal == "*":
        return True
    values = principal.get("AWS", []) if isinstance(principal, dict) else []
    values = [values] if isinstance(values, str) else list(values or [])
    return any(v == "*" or v == account or _root_account(str(v)) == account for v in values)


def root_denial(secret: Any, owner: str, region: str, partition: str) -> str | None:
    """Why the account root's own GetSecretValue is refused, else None: an explicit Deny applies to the
    root user too ("Policy evaluation logic": an explicit deny in any policy overrides an allow; the root
    is exempt from none but SCP-free cases), so a Deny in the secret's resource policy or its key's key
    policy whose Principal covers the root and whose conditions hold for the root refuses it."""
    arn = str(secret.arn)
    now = clock.now()
    ctx = {"aws:PrincipalArn": f"arn:{partition}:iam::{owner}:root", "aws:PrincipalAccount": owner,
           "aws:PrincipalType": "Account", "aws:RequestedRegion": region, "aws:SecureTransport": "true",
           "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "aws:EpochTime": str(int(now.timestamp())),
           "aws:PrincipalIsAWSService": "false", "aws:ViaAWSService": "false"}
    for st in iam_eval.statements_of(getattr(secret, "policy", None) or "{}"):
        if st.get("Effect") == "Deny" and _names_root(st.get("Principal"), owner) and \
                iam_eval.statement_applies(st, "secretsmanager:GetSecretValue", arn, ctx):
            return f"User: {ctx['aws:PrincipalArn']} is not authorized to perform: secretsmanager:GetSecretValue on resource: {arn} with an explicit deny"
    ref = getattr(secret, "kms_key_id", None)
    if not ref or ref == DEFAULT_KEY or str(ref).endswith(":" + DEFAULT_KEY):
        return None
    from bedrock_key_audit.emulator import kms_extras

    key = kms_extras.find_key(owner, region, ref)
    if key is None:
        return None
    kctx = {**ctx, "kms:CallerAccount": owner, "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
            "kms:EncryptionContext:SecretARN": arn, "kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "aws:ViaAWSService": "true"}
    for st in iam_eval.statements_of(getattr(key, "policy", None) or "{}"):
        if st.get("Effect") == "Deny" and _names_root(st.get("Principal"), owner) and \
                iam_eval.statement_applies(st, "kms:Decrypt", str(key.arn), kctx):
            return "Access to KMS is not allowed"
    return None


def _fix_get_secret_value() -> None:
    from moto.secretsmanager.exceptions import SecretsManagerClientError
    from moto.secretsmanager.models import secretsmanager_backends
    from moto.secretsmanager.responses import SecretsManagerResponse

    class AccessDenied(SecretsManagerClientError):
        def __init__(self, message: str) -> None:
            self.code = 400
            super().__init__("AccessDeniedException", message)

    class NotFound(SecretsManagerClientError):
        def __init__(self) -> None:
            self.code = 400
            super().__init__("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")

    original = SecretsManagerResponse.get_secret_value

    def get_secret_value(self: Any) -> str:
        secret_id = str(self._get_param("SecretId") or "")
        caller = caller_of(self.headers.get("Authorization", "") or "")
        owner = self.current_account
        m = re.fullmatch(r"arn:[\w-]+:secretsmanager:([\w-]+):(\d{12}):secret:.+", secret_id)
        if m and m.group(2) != owner:
            owner = m.group(2)
            if caller is None:
                raise NotFound()  # a foreign account's root keys: nothing in this account's policies admits it
        if caller is not None:
            backend = secretsmanager_backends[owner][self.region]
            if not backend._is_valid_identifier(secret_id):
                raise NotFound() if owner == caller.account else AccessDenied(
                    f"User: {caller.identity_arn} is not authorized to perform: secretsmanager:GetSecretValue on "
                    f"resource: {secret_id}")
            why = may_read(caller, owner, backend.secrets[secret_id], self._get_param("VersionId"),
                           self._get_param("VersionStage"), self.region)
            if why is not None:
                raise AccessDenied(why)
        else:
            from moto.utilities.utils import get_partition

            backend = secretsmanager_backends[owner][self.region]
            if backend._is_valid_identifier(secret_id):
                why = root_denial(backend.secrets[secret_id], owner, self.region, get_partition(self.region))
                if why is not None:
                    raise AccessDenied(why)
        if owner != self.current_account:
            self.current_account = owner  # serve the owner's secret (moto's backend is per account)
        return str(original(self))

    SecretsManagerResponse.get_secret_value = get_secret_value  # type: ignore[method-assign]


def _claims(token: str) -> dict[str, Any]:
    """The payload of a JWT (unsigned tokens accepted: the emulator checks claims, not signatures)."""
    try:
        payload = token.split(".")[1]
        return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
    except (IndexError, ValueError, TypeError):
        return {}


def _fix_web_identity() -> None:
    from moto.iam.models import iam_backends
    from moto.sts.exceptions import STSClientError
    from moto.sts.responses import TokenResponse

    from bedrock_key_audit.emulator import issued

    class AccessDenied(STSClientError):
        def __init__(self, message: str) -> None:
            super().__init__("AccessDenied", message)
            self.code = "AccessDenied"

    original = TokenResponse.assume_role_with_web_identity

    def assume_role_with_web_identity(self: Any) -> Any:
        import datetime as dt

        role_arn = self._get_param("RoleArn") or ""
        claims = _claims(self._get_param("WebIdentityToken") or "")
        m = re.fullmatch(r"arn:([\w-]+):iam::(\d{12}):role/(?:.*/)?([\w+=,.@-]+)", role_arn)
        denied = AccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity")
        if not m:
            raise denied
        arn_partition, account, name = m.groups()
        role = next((r for r in iam_backends[account][arn_partition].roles.values() if r.name == name), None)
        issuer = re.sub(r"^https://", "", str(claims.get("iss") or ""))
        if role is None or not issuer:
            raise denied
        provider = f"arn:{arn_partition}:iam::{account}:oidc-provider/{issuer}"
        ctx: dict[str, Any] = {f"{issuer}:{k}": v for k, v in claims.items() if k in ("sub", "aud", "amr", "azp")}
        ctx.update({"aws:FederatedProvider": provider, "aws:CurrentTime": clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")})
        allowed = False
        for st in iam_eval.statements_of(role.assume_role_policy_document):
            fed = st.get("Principal", {}).get("Federated") if isinstance(st.get("Principal"), dict) else None
            if provider not in _as_list(fed):
                continue
            if not iam_eval.statement_applies({**st, "Resource": "*"}, "sts:AssumeRoleWithWebIdentity", role.arn, ctx):
                continue
            if st.get("Effect") == "Deny":
                raise denied
            allowed = allowed or st.get("Effect") == "Allow"
        if not allowed:
            raise denied
        # the call is unsigned, so moto cannot tell the Region from a credential scope and would issue
        # a commercial session; a role is assumed at its own partition's STS ("AWS STS Regions and
        # endpoints"), so the session -- its ARN, its credentials' partition -- is the role's
        from moto.utilities.utils import get_partition

        if get_partition(self.region) != arn_partition:
            self.region = "us-gov-west-1" if arn_partition == "aws-us-gov" else "us-east-1"
        result = original(self)
        creds: Any = result.result["Credentials"]  # type: ignore[index]
        expires = clock.now() + dt.timedelta(seconds=self._get_int_param("DurationSeconds", 3600))
        issued.record(creds.access_key_id, account, arn_partition, expires)
        return result

    TokenResponse.assume_role_with_web_identity = assume_role_with_web_identity  # type: ignore[method-assign]


def _fix_replicas() -> None:
    from moto.secretsmanager import models as sm_models

    FakeSecret = sm_models.FakeSecret
    Replica = sm_models.ReplicaSecret
    original_create = FakeSecret.create_replicas

    def create_replicas(self: Any, replica_regions: list[dict[str, str]], force_overwrite: bool) -> Any:
        replicas = original_create(self, replica_regions, force_overwrite)
        asked = {r.get("Region"): r.get("KmsKeyId") for r in replica_regions or []}
        for rep in replicas:
            key = asked.get(rep.region)
            setattr(rep, "kms_key_id", key or None)  # noqa: B010 -- moto declares no such attribute
            rep.config["KmsKeyId"] = key or DEFAULT_KEY
        return replicas

    FakeSecret.create_replicas = create_replicas  # type: ignore[method-assign]

    original_to_dict = Replica.to_dict

    def to_dict(self: Any) -> dict[str, Any]:
        d = original_to_dict(self)
        key = getattr(self, "kms_key_id", None)
        if key and key != DEFAULT_KEY:
            d["KmsKeyId"] = key
        else:
            d.pop("KmsKeyId", None)
        return dict(d)

    Replica.to_dict = to_dict  # type: ignore[method-assign]
    if not hasattr(Replica, "kms_key_id"):
        setattr(Replica, "kms_key_id", None)  # noqa: B010 -- a class attribute moto does not declare
    Replica.policy = property(lambda self: getattr(self.source, "policy", None))  # type: ignore[attr-defined]
