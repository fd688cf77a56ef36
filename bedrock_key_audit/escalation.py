"""Who can mint a Bedrock API key beyond a direct grant on an existing user: users that do not
exist yet, and one step of the documented IAM privilege-escalation paths.

:func:`minters` answers ``iam.key_minting_restricted``.  For every principal of the account it
decides, three-valued like :mod:`bedrock_key_audit.access` (whose evaluator it uses):

1. **Direct**: ``iam:CreateServiceSpecificCredential`` / ``iam:ResetServiceSpecificCredential``
   for ``bedrock.amazonaws.com`` on an existing user (:func:`bedrock_key_audit.access.key_minters`),
   or on a user the principal creates first: every user-ARN pattern its Allow statements name is
   instantiated (each wildcard filled) and evaluated for ``iam:CreateUser`` and
   ``iam:CreateServiceSpecificCredential`` on that ARN.  IAM User Guide, "Actions, resources, and
   condition keys for AWS Identity and Access Management" (Service Authorization Reference,
   https://docs.aws.amazon.com/service-authorization/latest/reference/list_identityandaccessmanagementiam.html):
   both act on the ``user`` resource ``arn:${Partition}:iam::${Account}:user/${UserNameWithPath}``;
   ``CreateUser`` takes ``iam:PermissionsBoundary``, ``aws:RequestTag/${TagKey}`` and
   ``aws:TagKeys``, values the caller chooses: they are tried with the values the principal's own
   policies name (and absent), a certain grant deciding.
2. **Escalation, followed one step**: the principal gives itself -- or a principal it can take
   over -- the minting permission, through the paths of cloudsplaining's catalogue
   (:mod:`bedrock_key_audit.escalation_catalogue`; Rhino Security Labs, "AWS IAM Privilege
   Escalation -- Methods and Mitigation") that :data:`EVALUATED` names:

   * policy writes on a principal (``Put``/``Attach`` ``User``/``Role``/``Group`` ``Policy``);
     ``Attach*`` needs a policy that grants minting: AWS's ``AdministratorAccess`` and
     ``IAMFullAccess`` exist in every account, customer managed ones are read (``iam:PolicyARN``
     is tried with each);
   * ``CreatePolicyVersion`` (IAM API Reference, "CreatePolicyVersion": ``SetAsDefault`` makes
     the new version the operative one) and ``SetDefaultPolicyVersion`` on a customer managed
     policy attached to the principal (or its permissions boundary);
   * ``AddUserToGroup`` into a group whose policies mint;
   * lifting an explicit Deny in one call: deleting or detaching the policy that holds it (from
     the principal, its group, or a role it can assume), or ``RemoveUserFromGroup`` of the group
     that holds it (:meth:`_Judge._lifted`);
   * beyond the catalogue, removing the principal's permissions boundary
     (``Delete{User,Role}PermissionsBoundary``) or replacing it with ``AdministratorAccess``
     (``Put{User,Role}PermissionsBoundary``, ``iam:PermissionsBoundary`` tried with it);
   * taking over another principal: ``CreateAccessKey`` (certain with ``DeleteAccessKey`` as well,
     since a user holds at most two access keys -- IAM User Guide, "IAM and AWS STS quotas"),
     ``CreateLoginProfile`` / ``UpdateLoginProfile`` (certain with both: the first needs no
     console password, the second one; ``DeleteLoginProfile`` then ``CreateLoginProfile`` replaces one as
     ``UpdateLoginProfile`` does), ``UpdateAssumeRolePolicy`` (AWS STS API Reference,
     "AssumeRole": within one account a user named in the role's trust policy may assume it
     without an identity policy; IAM User Guide, "Update a role trust policy": the caller's
     permissions boundary must still allow ``sts:AssumeRole``) -- alone, or after a policy
     write on that principal;
   * ``iam:PassRole`` (``iam:PassedToService`` the service principal) of a role that mints, and
     trusts the service, to a service that runs code as it (``lambda:CreateFunction``,
     ``ec2:RunInstances`` with an instance profile holding the role, ``glue:CreateDevEndpoint``,
     ``cloudformation:CreateStack``, …).  The new resource's name and Region are the caller's
     choice, so a resource pattern narrower than ``*`` there leaves the step undecided.

   A takeover (or pass-role) target counts when it is a minter by any path found: directly, by
   assuming a minting role (STS "AssumeRole": the taken-over user's credentials assume what it may
   assume), or by its own escalation step; allowed minters are in that set, so taking one over
   makes the taker a minter.  :func:`minters` repeats the search with the set found so far until
   it stops growing.  :func:`escalations_to` applies the same search to another permission
   (reading the secret, for ``secret.readers_restricted``), bounded by the organization's policies
   the same way (each call of a step, and the final action by whoever makes it).

   What a written policy grants is limited by the target's permissions boundary, and the
   target's explicit Denies still hold ("Policy evaluation logic"): the target is evaluated
   with the written grant added (or the removed policy taken away).  Whoever a minting role's trust already admits is added by
   :func:`bedrock_key_audit.trust.assumer_accesses`.  Chains of two
   escalations (e.g. lifting a Deny, then writing a grant), and the catalogue's paths through existing compute resources are not evaluated (:data:`NOT_EVALUATED` says why); the row lists them.

Each minter is reported with its path, e.g. ``role X, escalation followed one step:
iam:AttachRolePolicy of AdministratorAccess to itself, after which it mints (Create on user Y)``.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from bedrock_key_audit.access import (
    MINT_ACTIONS,
    MINT_REQUESTS,
    Access,
    Principal,
    ResourceStatement,
    _context,
    _evaluate,
    _Eval,
    _existential,
    _docs_of,
    key_minters,
    principal_keys,
)
from bedrock_key_audit.escalation_catalogue import PATHS
from bedrock_key_audit.jsonable import json_default
from bedrock_key_audit.trust import assume_regions, assumer_accesses, principal_assumes, role_trust
from bedrock_key_audit.policy import (PolicyError, RequestContext, Statement, Unknown, _and, _or, decode_document,
                                      evaluate_conditions, parse_document)

CREATE = "iam:CreateServiceSpecificCredential"
CREATE_USER = "iam:CreateUser"
# Keys of CreateUser's request that the caller chooses.
CREATE_USER_CHOSEN = ("iam:permissionsboundary", "aws:requesttag/", "aws:tagkeys")
FILLS = ("x", "q7")  # what a wildcard in a user-ARN pattern is filled with (two, so one Deny of a name cannot hide both)
ESCALATION = "escalation followed one step"

# The service principal a role must trust to be passed to the service (its trust policy's
# ``Principal.Service``); "IAM User Guide, AWS services that work with IAM" and each service's
# guide (Lambda execution role, EC2 instance profile role, ECS task role, App Runner instance role).
SERVICE_PRINCIPALS = {
    "lambda": "lambda.amazonaws.com", "ec2": "ec2.amazonaws.com", "glue": "glue.amazonaws.com",
    "cloudformation": "cloudformation.amazonaws.com", "datapipeline": "datapipeline.amazonaws.com",
    "codebuild": "codebuild.amazonaws.com", "ecs": "ecs-tasks.amazonaws.com", "sagemaker": "sagemaker.amazonaws.com",
    "apprunner": "tasks.apprunner.amazonaws.com", "bedrock-agentcore": "bedrock-agentcore.amazonaws.com",
}

# Paths that pass an existing role to a resource the principal creates.
_PASS_NEW = tuple(n for n in PATHS if n.startswith("PassExistingRoleToNew")) + (
    "CreateEC2WithExistingIP", "PassExistingRoleToCloudFormation")
EVALUATED: frozenset[str] = frozenset({
    "CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile", "AddUserToGroup", "CreateNewPolicyVersion",
    "SetExistingDefaultPolicyVersion", "AttachUserPolicy", "AttachGroupPolicy", "AttachRolePolicy", "PutUserPolicy",
    "PutGroupPolicy", "PutRolePolicy", "UpdateRolePolicyToAssumeIt", "CreateAndRotateAccessKey",
    "AttachUserPolicyThenCreateAccessKey", "PutUserPolicyThenCreateAccessKey", "AttachRolePolicyThenUpdateAssumeRolePolicy",
    "CreatePolicyVersionThenUpdateAssumeRolePolicy", "PutRolePolicyThenUpdateAssumeRolePolicy",
    *_PASS_NEW,
})
NOT_EVALUATED: dict[str, str] = {
    name: ("the role trust that admits the principal is not followed" if name == "CreatePolicyVersionThenAssumeRole"
           else "it acts through an existing compute resource (function, instance, notebook, job, stack set, "
                "session), which the audit does not read")
    for name in PATHS if name not in EVALUATED
}


def not_evaluated_sentence() -> str:
    """One sentence for the row: what this evaluation leaves out."""
    return (f"{ESCALATION} (two escalations in a row not followed; an explicit Deny is followed as lifted only by one call that deletes or detaches the policy holding it, or removes the user from the group that holds it); catalogued paths not evaluated: {', '.join(sorted(NOT_EVALUATED))}")


# --------------------------------------------------------------------------- the account as a graph
@dataclasses.dataclass(frozen=True)
class Group:
    name: str
    arn: str
    statements: tuple[Statement, ...]


@dataclasses.dataclass
class Account:
    """What the escalation paths need besides the principals: groups, memberships, attachments,
    customer managed policy versions, role trust policies and instance profiles."""

    principals: list[Principal]
    groups: dict[str, Group]
    member_of: dict[str, tuple[str, ...]]  # user ARN -> group names
    attached: dict[str, tuple[str, ...]]  # principal ARN or "group:<name>" -> managed policy ARNs
    boundary_arn: dict[str, str]
    versions: dict[str, tuple[str, dict[str, Any]]]  # customer managed policy ARN -> (default id, id -> document)
    documents: dict[str, Any]  # managed policy ARN -> default document
    trust: dict[str, Any]  # role ARN -> trust policy document
    in_instance_profile: frozenset[str]  # role ARNs that an instance profile holds
    user_tags: dict[str, dict[str, str]]


def account_of(gaad: Mapping[str, Any], principals: Sequence[Principal], managed: Mapping[str, Any] | None = None) -> Account:
    """The :class:`Account` of a merged ``GetAccountAuthorizationDetails`` answer (the one the
    principals came from; ``managed``: documents of AWS managed policies it does not carry)."""
    documents: dict[str, Any] = dict(managed or {})
    versions: dict[str, tuple[str, dict[str, Any]]] = {}
    for pol in gaad.get("Policies") or []:
        vs = {str(v.get("VersionId")): v.get("Document") for v in pol.get("PolicyVersionList") or []}
        default = next((str(v.get("VersionId")) for v in pol.get("PolicyVersionList") or [] if v.get("IsDefaultVersion")),
                       str(pol.get("DefaultVersionId")))
        versions[pol["Arn"]] = (default, vs)
        if default in vs:
            documents[pol["Arn"]] = vs[default]
    groups: dict[str, Group] = {}
    attached: dict[str, tuple[str, ...]] = {}
    for g in gaad.get("GroupDetailList") or []:
        name = str(g.get("GroupName"))
        owner = f"group {name}"
        docs = _docs_of(g, "GroupPolicyList", owner)
        arns = tuple(a["PolicyArn"] for a in g.get("AttachedManagedPolicies") or [] if a.get("PolicyArn"))
        docs += [(f"managed policy {a} (attached to {owner})", documents[a]) for a in arns if a in documents]
        stmts: list[Statement] = []
        for source, doc in docs:
            stmts.extend(parse_document(doc, source))
        groups[name] = Group(name, str(g.get("Arn")), tuple(stmts))
        attached[f"group:{name}"] = arns
    member_of: dict[str, tuple[str, ...]] = {}
    boundary: dict[str, str] = {}
    trust: dict[str, Any] = {}
    profiles: set[str] = set()
    tags: dict[str, dict[str, str]] = {}
    for key in ("UserDetailList", "RoleDetailList"):
        for e in gaad.get(key) or []:
            arn = e["Arn"]
            attached[arn] = tuple(a["PolicyArn"] for a in e.get("AttachedManagedPolicies") or [] if a.get("PolicyArn"))
            b = (e.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
            if b:
                boundary[arn] = b
            if key == "UserDetailList":
                member_of[arn] = tuple(str(n) for n in e.get("GroupList") or [])
                tags[arn] = {str(t.get("Key")): str(t.get("Value")) for t in e.get("Tags") or []}
            else:
                trust[arn] = e.get("AssumeRolePolicyDocument")
                if e.get("InstanceProfileList"):
                    profiles.add(arn)
    return Account(list(principals), groups, member_of, attached, boundary, versions, documents, trust,
                   frozenset(profiles), tags)


# --------------------------------------------------------------------------- one principal, one step
@dataclasses.dataclass(frozen=True)
class _Step:
    """One escalation step: whether the principal may take it, and what it says."""

    value: bool | None
    grants: tuple[str, ...]
    unknown: frozenset[str]
    text: str


def _step(ev: _Eval, text: str, extra_unknown: Iterable[str] = ()) -> _Step:
    return _Step(ev.value, tuple(ev.grants), frozenset(ev.unknown) | frozenset(extra_unknown), text)


def _policy(doc: Any, source: str) -> tuple[Statement, ...]:
    return tuple(parse_document(doc, source))


_ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
_IAM_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}


def _with(p: Principal, statements: Iterable[Statement] = (), *, drop_source: str | None = None,
          boundary: Any = "keep") -> Principal:
    """``p`` with ``statements`` added (those of managed policy ``drop_source`` removed first)."""
    kept = [s for s in p.statements if drop_source is None or not (
        s.source == f"managed policy {drop_source}" or s.source.startswith(f"managed policy {drop_source} ("))]
    return dataclasses.replace(p, statements=tuple(kept) + tuple(statements),
                               boundary=p.boundary if boundary == "keep" else boundary)


def _without(p: Principal, sources: set[str]) -> Principal:
    """``p`` without the statements of the policies named by ``sources`` (a removed policy or group)."""
    return dataclasses.replace(p, statements=tuple(s for s in p.statements if s.source not in sources))


@dataclasses.dataclass(frozen=True)
class UserFacts:
    """What the takeover of a user depends on, as read (None: not read, e.g. the read was denied):
    how many access keys it holds (``iam:ListAccessKeys``, active and inactive alike) and whether it
    has a console password (``iam:GetLoginProfile``)."""

    access_keys: int | None
    login_profile: bool | None


# Does the organization let a principal (ARN) make a request (action, resource, request keys)?
# (True, ()) / (False, ()) / (None, keys it depends on).  Built by the verdict from the SCPs.
# The resource: an ARN, or one with segments the audit does not know (a new resource's name and Region).
ScpGate = Callable[[str, str, Any, Mapping[str, Any]], tuple[bool | None, tuple[str, ...]]]
# Does the organization let a principal (ARN) make the final action of a path, the way ``own`` found it
# (the :class:`Access` it returned: its Region, for a replica of the secret)?  Same answers as ScpGate.
FinalGate = Callable[[str, Access], tuple[bool | None, tuple[str, ...]]]


class _Judge:
    """Evaluates one account's principals; memoises each principal's direct minting."""

    def __init__(self, acct: Account, users: Sequence[tuple[str, Mapping[str, str] | None]], audited: str | None,
                 partition: str, account_id: str, now: dt.datetime,
                 facts: Mapping[str, UserFacts] | None = None, actions: Sequence[str] = MINT_ACTIONS,
                 own: Callable[[Principal], Access | None] | None = None, verb: str = "mints",
                 scp: ScpGate | None = None, final: FinalGate | None = None) -> None:
        self.scp, self.final = scp, final
        # what is being escalated to: the actions a written policy must grant, how a principal holds
        # them (``own``: None for minting, evaluated here), and the word the path ends with
        self.actions, self.own, self.verb = tuple(actions), own, verb
        self.acct, self.users, self.audited, self.partition, self.account_id, self.now = (
            acct, users, audited, partition, account_id, now)
        self.facts: Mapping[str, UserFacts] = facts or {}
        self.wanted: set[str] = set()  # users whose facts would decide a takeover
        # minters found by other paths (role chains, escalation): taking one over, or passing it, mints too
        self.known: dict[str, Access] = {}
        region = "us-gov-west-1" if partition == "aws-us-gov" else "us-east-1"
        self.base = {"aws:CurrentTime": now, "aws:EpochTime": str(int(now.timestamp())), "aws:RequestedRegion": region}
        self.existing = {u for u, _ in users}
        self._memo: dict[str, Access | None] = {}
        self._originals = {p.arn: p for p in acct.principals}
        self._trust_memo: dict[tuple[str, str], bool | None] = {}
        # shared evaluations (:meth:`may`), when ``shared`` is set: None otherwise
        self._shared: dict[tuple[Any, ...], _Eval] | None = None
        self._statement_memo: dict[int, tuple[Statement, str, str, bool]] = {}
        self._text_memo: dict[int, tuple[Any, str]] = {}
        self._parsed_trust: dict[str, list[ResourceStatement] | None] = {}
        aws_managed = f"arn:{partition}:iam::aws:policy/"
        # Attach* needs a policy that grants minting; these two exist in every account.
        self.grant_policies: list[tuple[str, tuple[Statement, ...]]] = [
            (aws_managed + "AdministratorAccess", _policy(_ALLOW_ALL, f"{aws_managed}AdministratorAccess, once attached")),
            (aws_managed + "IAMFullAccess", _policy(_IAM_ALL, f"{aws_managed}IAMFullAccess, once attached")),
        ]
        for arn, doc in acct.documents.items():
            if arn in acct.versions:
                stmts = _policy(doc, f"{arn}, once attached")
                if any(s.effect == "Allow" and s.matches(a) for s in stmts for a in self.actions):
                    self.grant_policies.append((arn, stmts))

    # ---- evaluation helpers
    def may(self, p: Principal, action: str, resource: Any, overlay: Mapping[str, Any] | None = None,
            tags: Mapping[str, str] | None = None, requests: Sequence[Mapping[str, Any]] = ({},),
            base: Mapping[str, Any] | None = None, part: tuple[Any, ...] | None = None) -> _Eval:
        """``action`` by ``p`` on ``resource`` with ``overlay``, bounded by the SCPs.  ``part``: what
        :meth:`shared_part` said of ``p``, ``action`` and ``resource`` (worked out once by a caller asking many
        requests of them)."""
        return self.gated(p, action, resource, overlay, self.unbounded(p, action, resource, overlay, tags, requests,
                                                                     base, part)[0])

    def unbounded(self, p: Principal, action: str, resource: Any, overlay: Mapping[str, Any] | None = None,
            tags: Mapping[str, str] | None = None, requests: Sequence[Mapping[str, Any]] = ({},),
            base: Mapping[str, Any] | None = None, part: tuple[Any, ...] | None = None) -> tuple[_Eval, bool]:
        """:meth:`may` before the SCPs, and whether the evaluation is one shared by the principals alike in
        ``part`` (:meth:`shared_part`)."""
        key = self._shared_key(p, action, resource, overlay, tags, requests, part) \
            if self._shared is not None and base is None else None
        got = None if key is None or self._shared is None else self._shared.get(key)
        if got is None:
            got = self._own(p, action, resource, overlay, tags, requests, base)
            if key is not None and self._shared is not None:
                got = self._shared[key] = _Eval(got.value, [], got.unknown)
        return got, key is not None

    def gated(self, p: Principal, action: str, resource: Any, overlay: Mapping[str, Any] | None, got: _Eval) -> _Eval:
        """:meth:`may`: ``got`` (:meth:`unbounded`) bounded by the SCPs for ``p``."""
        if self.scp is None or got.value is False or action in MINT_ACTIONS:
            return got
        permits, keys = self.scp(p.arn, action, resource, overlay or {})
        if permits is False:
            return _Eval(False, [], set())
        return got if permits else _Eval(_and([got.value, None]), got.grants, got.unknown | set(keys))

    def _own(self, p: Principal, action: str, resource: Any, overlay: Mapping[str, Any] | None,
             tags: Mapping[str, str] | None, requests: Sequence[Mapping[str, Any]],
             base: Mapping[str, Any] | None) -> _Eval:
        """:meth:`may` before the SCPs: ``p``'s identity policies and boundary."""
        allows = [s for s in p.statements if s.effect == "Allow" and s.matches(action)]
        if not allows or (isinstance(resource, str) and resource != "*" and not any(
                s.not_resources or any("${" in r or _loose(r).fullmatch(resource) for r in s.resources)
                for s in allows)):
            return _Eval(False, [], set())  # nothing of p's own allows it (no resource policy is in play here)
        b = {**(self.base if base is None else base), **(overlay or {})}

        def one(o: Mapping[str, Any]) -> _Eval:
            return _evaluate(p, action, resource, _context(p, {**b, **o}, [*p.statements, *(p.boundary or ())], tags,
                                                          ("aws:resourcetag/", "iam:resourcetag/")))
        return _existential(one, requests)

    def _text(self, value: Any) -> str | None:
        """``value`` as JSON text, worked out once per object (kept, so that its id stays its own); None when it
        is not written as JSON."""
        got = self._text_memo.get(id(value))
        if got is None:
            try:
                got = self._text_memo[id(value)] = (value, json.dumps(value, default=json_default))
            except (TypeError, ValueError):
                return None
        return got[1]

    def _shared_key(self, p: Principal, action: str, resource: Any, overlay: Mapping[str, Any] | None,
                    tags: Mapping[str, str] | None, requests: Sequence[Mapping[str, Any]],
                    part: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
        """The key of :meth:`may`'s shared evaluation: ``part`` (:meth:`shared_part`) and the request -- the
        keys of ``overlay`` and the resource ``tags`` --; None (not shared) for other ``requests`` than the one."""
        if tuple(requests) != ({},):
            return None
        part = part or self.shared_part(p, action, resource)
        o, t = self._text(overlay), self._text(tags)
        return None if part is None or o is None or t is None else (part, o, t)

    def _statement(self, s: Statement) -> tuple[Statement, str, str, bool]:
        """``s``, what it says (everything but where it comes from: its label), its conditions and resources
        as lower-case text, and whether a condition key in it holds a policy variable."""
        got = self._statement_memo.get(id(s))
        if got is None:
            said = json.dumps([s.effect, s.actions, s.not_actions, s.resources, s.not_resources, s.has_condition,
                               s.conditions, s.variables], default=json_default)
            text = json.dumps([s.conditions, s.resources, s.not_resources], default=json_default).lower()
            blocks = s.conditions.values() if isinstance(s.conditions, dict) else ()
            variable = any("${" in str(k) for pairs in blocks if isinstance(pairs, dict) for k in pairs)
            got = self._statement_memo[id(s)] = (s, said, text, variable)  # s kept: its id stays its own
        return got

    def shared_part(self, p: Principal, action: str, resource: Any) -> tuple[Any, ...] | None:
        """What of ``p`` decides :meth:`may` before the SCPs, so that principals alike in it share one evaluation
        of each request (with the resource tags and the request's keys, which :meth:`may` adds): the
        statements of ``p``'s policies and boundary that may apply to ``action`` on ``resource`` (the others
        apply to nothing: :func:`_evaluate` ORs each effect's outcomes), whether ``p`` has a boundary, the keys
        of ``p``'s own request context those statements name (:func:`principal_keys`; its tags when they name
        ``aws:PrincipalTag/``).  None (no sharing): a resource that is not one ARN, or a condition key holding a
        policy variable (the key it names is not in the text).  The evaluations shared carry no statement labels
        (``grants``): :func:`tag_writers`, the one user, reads the outcome and the unknown keys only."""
        if not isinstance(resource, str):
            return None

        def near(s: Statement) -> bool:
            return s.matches(action) and bool(s.not_resources or any(
                "${" in r or _loose(r).fullmatch(resource) for r in s.resources))
        own = [self._statement(s) for s in p.statements if near(s)]
        bound = [self._statement(s) for s in p.boundary or () if near(s)]
        if any(v for *_, v in (*own, *bound)):
            return None
        text = "".join(t for _, _, t, _ in (*own, *bound))
        values, absent = principal_keys(p)
        mine = tuple(sorted((k.lower(), str(v)) for k, v in values.items() if k.lower() in text))
        mine += tuple(sorted(("", k.lower()) for k in absent if k.lower() in text))
        ptags = (None if p.tags is None else tuple(p.tags.items())) if "aws:principaltag/" in text else ()
        return (action, resource, tuple(x for _, x, _, _ in own), p.boundary is not None,
                tuple(x for _, x, _, _ in bound), mine, ptags)

    def final_act(self, arn: str, ability: Access) -> tuple[bool | None, tuple[str, ...]]:
        """May the organization let principal ``arn`` make the final action itself: the mint (any
        mint action, on any user; the SCPs), or what ``own`` found (``final``, e.g. the secret read)?"""
        if self.own is not None:
            return self.final(arn, ability) if self.final is not None else (True, ())
        if self.scp is None:
            return True, ()
        other = f"arn:{self.partition}:iam::{self.account_id}:user/any-other-user"
        outs = [self.scp(arn, action, res, {"iam:ServiceSpecificCredentialServiceName": "bedrock.amazonaws.com",
                                            **overlay})
                for action in self.actions for overlay in MINT_REQUESTS.get(action, ({},))
                for res in dict.fromkeys([self.audited or other, other])]
        value = _or([v for v, _ in outs])
        return value, () if value else tuple(dict.fromkeys(k for v, ks in outs if v is None for k in ks))

    def _chosen_requests(self, p: Principal, prefixes: Sequence[str]) -> list[dict[str, Any]]:
        """Requests trying each value ``p``'s policies name for a caller-chosen key (and none)."""
        named: dict[str, list[str]] = {}
        for s in p.statements:
            for pairs in (s.conditions or {}).values() if isinstance(s.conditions, dict) else ():
                if not isinstance(pairs, dict):
                    continue
                for key, vals in pairs.items():
                    if any(key.lower().startswith(pre) for pre in prefixes):
                        for v in [vals] if isinstance(vals, str) else list(vals or []):
                            if isinstance(v, str) and "*" not in v and "?" not in v:
                                named.setdefault(key, []).append(v)
        out: list[dict[str, Any]] = [{k: None for k in named}]
        for key, vals in named.items():
            out += [{**{k: None for k in named}, key: v} for v in vals]
        if len(named) > 1:
            out.append({k: vs[0] for k, vs in named.items()})
        return out

    # ---- direct minting
    def _new_user_candidates(self, p: Principal) -> list[str]:
        prefix = f"arn:{self.partition}:iam::{self.account_id}:user/"
        out: list[str] = []
        for s in p.statements:
            if s.effect != "Allow" or not (s.matches(CREATE) or s.matches(CREATE_USER)):
                continue
            for pattern in (s.resources if not s.not_resources else ("*",)):
                if "${" in pattern:
                    continue
                rest = pattern.split(":user/", 1)[1] if ":user/" in pattern else "*"
                for fill in FILLS:
                    arn = prefix + rest.replace("*", fill).replace("?", "x")
                    if arn not in self.existing and arn not in out:
                        out.append(arn)
        return out

    def _mint_new_user(self, p: Principal) -> Access | None:
        if not any(s.effect == "Allow" and s.matches(CREATE_USER) for s in p.statements):
            return None
        possible: Access | None = None
        for arn in self._new_user_candidates(p):
            create = self.may(p, CREATE_USER, arn, requests=self._chosen_requests(p, CREATE_USER_CHOSEN))
            if create.value is False:
                continue
            mint = self.may(p, CREATE, arn, {"iam:ServiceSpecificCredentialServiceName": "bedrock.amazonaws.com"},
                            requests=MINT_REQUESTS[CREATE])
            value = _and([create.value, mint.value])
            if value is False:
                continue
            name = arn.split(":user/", 1)[1]
            acc = Access(principal=p.arn, kind=p.kind, certain=value is True,
                         grants=tuple(dict.fromkeys(create.grants + mint.grants)),
                         unknown=() if value else tuple(sorted(create.unknown | mint.unknown)),
                         note=f"creates user {name} (no such user yet), then Create on it",
                         actions=((CREATE, () if value else tuple(sorted(create.unknown | mint.unknown))),))
            if value is True:
                return acc
            possible = possible or acc
        return possible

    def direct(self, p: Principal) -> Access | None:
        """``p``'s own minting, on an existing user or on one it creates first."""
        original = self._originals.get(p.arn) is p  # only the account's own principals are memoised
        if original and p.arn in self._memo:
            return self._memo[p.arn]
        if self.own is not None:
            held = self.own(p)
            if original:
                self._memo[p.arn] = held
            return held
        got = key_minters([p], users=self.users, audited_user_arn=self.audited, arn_partition=self.partition,
                          now=self.now)
        existing = got[0] if got else None
        new = None if existing is not None and existing.certain else self._mint_new_user(p)
        best = _best([a for a in (existing, new) if a is not None])
        if original:
            self._memo[p.arn] = best
        return best

    def ability(self, t: Principal) -> Access | None:
        """How ``t`` mints by any path found so far: directly, or (``known``) by assuming a role that
        mints or by its own escalation step.  A takeover of ``t`` is judged against this whole set."""
        direct = self.direct(t)
        if direct is not None and direct.certain:
            return direct
        return _best([a for a in (direct, self.known.get(t.arn)) if a is not None])

    # ---- escalation
    def _attachable(self, p: Principal, action: str, target_arn: str, who: str,
                    tags: Mapping[str, str] | None = None) -> Iterable[tuple[_Step, tuple[Statement, ...]]]:
        for arn, stmts in self.grant_policies:
            ev = self.may(p, action, target_arn, {"iam:PolicyARN": arn}, tags=tags)
            if ev.value is not False:
                yield _step(ev, f"{action} of {arn.rsplit('/', 1)[-1]} to {who}"), stmts

    def _gains(self, p: Principal, t: Principal, who: str) -> Iterable[tuple[_Step, Principal]]:
        """What ``p`` can do to ``t``'s permissions in one step, and ``t`` afterwards."""
        if _service_linked(t):
            return  # IAM refuses policy and trust changes on a service-linked role
        written = _policy(_ALLOW_ALL, f"the policy {p.kind} {p.name} writes")
        kind = "User" if t.kind == "user" else "Role"
        tags = self.acct.user_tags.get(t.arn) if t.kind == "user" else None
        put = self.may(p, f"iam:Put{kind}Policy", t.arn, tags=tags)
        if put.value is not False:
            yield _step(put, f"iam:Put{kind}Policy on {who}"), _with(t, written)
        for step, stmts in self._attachable(p, f"iam:Attach{kind}Policy", t.arn, who, tags):
            yield step, _with(t, stmts)
        for gname in self.acct.member_of.get(t.arn, ()):
            g = self.acct.groups.get(gname)
            if g is None:
                continue
            put = self.may(p, "iam:PutGroupPolicy", g.arn)
            if put.value is not False:
                yield _step(put, f"iam:PutGroupPolicy on group {gname} of {who}"), _with(t, written)
            for step, stmts in self._attachable(p, "iam:AttachGroupPolicy", g.arn, f"group {gname} of {who}"):
                yield step, _with(t, stmts)
        # customer managed policies that apply to t: new default version, or an older one made default
        for arn in self._policies_of(t):
            default, versions = self.acct.versions[arn]
            cv = self.may(p, "iam:CreatePolicyVersion", arn)
            if cv.value is not False:
                yield _step(cv, f"iam:CreatePolicyVersion of {arn.rsplit('/', 1)[-1]} (attached to {who})"), \
                    _with(t, written, drop_source=arn)
            sd = self.may(p, "iam:SetDefaultPolicyVersion", arn)
            if sd.value is not False:
                for vid, doc in versions.items():
                    if vid != default:
                        yield _step(sd, f"iam:SetDefaultPolicyVersion {vid} of {arn.rsplit('/', 1)[-1]} (attached to "
                                        f"{who})"), _with(t, _policy(doc, f"managed policy {arn} version {vid}"),
                                                          drop_source=arn)
        b = self.acct.boundary_arn.get(t.arn)
        if b is not None:
            # beyond the catalogue: a boundary that can be removed, or replaced by one that allows everything
            # (Service Authorization Reference: Put*PermissionsBoundary takes iam:PermissionsBoundary)
            drop = self.may(p, f"iam:Delete{kind}PermissionsBoundary", t.arn, tags=tags)
            if drop.value is not False:
                yield _step(drop, f"iam:Delete{kind}PermissionsBoundary of {who}"), _with(t, boundary=None)
            admin = self.grant_policies[0][0]
            put_b = self.may(p, f"iam:Put{kind}PermissionsBoundary", t.arn, {"iam:PermissionsBoundary": admin}, tags=tags)
            if put_b.value is not False:
                yield _step(put_b, f"iam:Put{kind}PermissionsBoundary AdministratorAccess on {who}"), \
                    _with(t, boundary=None)
        if b in self.acct.versions:
            cv = self.may(p, "iam:CreatePolicyVersion", b)
            if cv.value is not False:
                yield _step(cv, f"iam:CreatePolicyVersion of {b.rsplit('/', 1)[-1]} (the permissions boundary of "
                                f"{who})"), _with(t, boundary=None)
        yield from self._lifted(p, t, who, kind, tags)
        if t.kind == "user":
            for gname, g in sorted(self.acct.groups.items()):
                if gname in self.acct.member_of.get(t.arn, ()):
                    continue
                add = self.may(p, "iam:AddUserToGroup", g.arn)
                if add.value is not False and any(s.effect == "Allow" and s.matches(a) for s in g.statements
                                                  for a in self.actions):
                    yield _step(add, f"iam:AddUserToGroup of {who} to group {gname}"), _with(t, g.statements)

    def _lifted(self, p: Principal, t: Principal, who: str, kind: str,
                tags: Mapping[str, str] | None) -> Iterable[tuple[_Step, Principal]]:
        """An explicit Deny of ``t`` that ``p`` removes with one call: ``Delete{User,Role}Policy`` of the
        inline policy holding it, ``Detach{User,Role}Policy`` of the managed policy (``iam:PolicyARN``
        that policy), ``DeleteGroupPolicy`` / ``DetachGroupPolicy`` on a group of ``t``, or
        ``RemoveUserFromGroup`` of ``t`` from that group (Service Authorization Reference, "Actions,
        resources, and condition keys for AWS Identity and Access Management": the Delete/Detach
        actions act on the user, role or group holding the policy, RemoveUserFromGroup on the group).
        ``t`` is then evaluated without that policy (or group): a Deny the same call does not remove
        still holds.  ``DeletePolicy`` of a managed policy is not such a call: IAM refuses it while the
        policy is attached (IAM API Reference, "DeletePolicy": DeleteConflict)."""
        denying = {s.source for s in t.statements
                   if s.effect == "Deny" and any(s.matches(a) for a in self.actions)}
        if not denying:
            return
        own = f" of {t.kind} {t.name}"
        for source in sorted(denying):
            if source.startswith("inline policy ") and source.endswith(own):
                name = source[len("inline policy "):-len(own)]
                ev = self.may(p, f"iam:Delete{kind}Policy", t.arn, tags=tags)
                if ev.value is not False:
                    yield _step(ev, f"iam:Delete{kind}Policy of inline policy {name} of {who} (the policy holding the Deny)"), _without(t, {source})
            elif source.startswith("managed policy ") and " (attached to " not in source:
                arn = source[len("managed policy "):]
                ev = self.may(p, f"iam:Detach{kind}Policy", t.arn, {"iam:PolicyARN": arn}, tags=tags)
                if ev.value is not False:
                    yield (_step(ev, f"iam:Detach{kind}Policy of {arn.rsplit('/', 1)[-1]} from {who} (the policy holding the Deny)"),
                           _without(t, {source}))
        for gname in self.acct.member_of.get(t.arn, ()) if t.kind == "user" else ():
            g = self.acct.groups.get(gname)
            if g is None:
                continue
            held = {s.source for s in g.statements}
            if not held & denying:
                continue
            leave = self.may(p, "iam:RemoveUserFromGroup", g.arn)
            if leave.value is not False:
                yield _step(leave, f"iam:RemoveUserFromGroup of {who} from group {gname} (whose policy holds the Deny)"), \
                    _without(t, held)
            for source in sorted(held & denying):
                if source.startswith("inline policy "):
                    ev = self.may(p, "iam:DeleteGroupPolicy", g.arn)
                    name = source[len("inline policy "):].rsplit(f" of group {gname}", 1)[0]
                    text = f"iam:DeleteGroupPolicy of inline policy {name} of group {gname} of {who} (the policy holding the Deny)"
                else:
                    arn = source[len("managed policy "):].split(" (attached to ", 1)[0]
                    ev = self.may(p, "iam:DetachGroupPolicy", g.arn, {"iam:PolicyARN": arn})
                    text = f"iam:DetachGroupPolicy of {arn.rsplit('/', 1)[-1]} from group {gname} of {who} (the policy holding the Deny)"
                if ev.value is not False:
                    yield _step(ev, text), _without(t, {source})

    def _policies_of(self, t: Principal) -> list[str]:
        arns = list(self.acct.attached.get(t.arn, ()))
        for gname in self.acct.member_of.get(t.arn, ()):
            arns += self.acct.attached.get(f"group:{gname}", ())
        return [a for a in dict.fromkeys(arns) if a in self.acct.versions]

    def _takeover(self, p: Principal, t: Principal) -> _Step | None:
        """Can ``p`` act as ``t`` (another principal of the account)?  For a user: a new access key
        works while the user holds fewer than two (IAM User Guide, "IAM and AWS STS quotas": two
        access keys per user, active or inactive; ``CreateAccessKey`` fails with LimitExceeded
        beyond), or always with ``DeleteAccessKey`` as well; ``CreateLoginProfile`` works only on a
        user without a console password and ``UpdateLoginProfile`` only on one with a password (IAM
        API Reference, "CreateLoginProfile": EntityAlreadyExists; "UpdateLoginProfile":
        NoSuchEntity), or ``DeleteLoginProfile`` then ``CreateLoginProfile`` on one with a password.  A grant of
        these gated on the user's tags counts also after ``p`` changes one of them (:meth:`_retags`).  The user's key count and password are read (:class:`UserFacts`); a user
        whose facts are missing leaves the step undecided, naming the read."""
        if t.kind == "user":
            tags = self.acct.user_tags.get(t.arn)
            now_ = self._user_takeover(p, t, tags)
            if (now_ is not None and now_.value is True) or tags is None:
                return now_
            steps = [now_] if now_ is not None else []
            # a takeover gated on the user's tags (iam:ResourceTag) that p may first change
            for tag_step, retagged in self._retags(p, t, tags):
                then = self._user_takeover(p, t, retagged)
                if then is not None and then.value is not False:
                    steps.append(_Step(_and([tag_step.value, then.value]), tuple(dict.fromkeys(
                        tag_step.grants + then.grants)), tag_step.unknown | then.unknown,
                        f"{tag_step.text}, then {then.text}"))
            return _best_step(steps)
        if _service_linked(t):
            return None
        steps = []
        assumed = self._assumed_by(p, t)
        if assumed is not None:
            steps.append(assumed)
        rewrite = self._trust_rewrite(p, t)
        if rewrite is not None:
            steps.append(rewrite)
        return _best_step(steps)

    def _retags(self, p: Principal, t: Principal, tags: Mapping[str, str]) -> list[tuple[_Step, dict[str, str]]]:
        """The tags user ``t`` may carry after ``p`` changes one that ``p``'s takeover grants read
        (``iam:ResourceTag/<key>``, ``aws:ResourceTag/<key>``): ``iam:TagUser`` setting it to each value they
        name or one they do not, ``iam:UntagUser`` removing it (IAM User Guide, "Controlling access to IAM
        principals": a user's tags are its resource tags; TagUser carries ``aws:RequestTag/<key>`` and
        ``aws:TagKeys``, UntagUser ``aws:TagKeys``).  One key per request; each with the step that sets it."""
        tagging = [a for a in ("iam:TagUser", "iam:UntagUser")
                   if any(st.effect == "Allow" and st.matches(a) for st in p.statements)]
        if not tagging:
            return []
        takeover = ("iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
                    "iam:DeleteLoginProfile")
        conds = [st.conditions for st in (*p.statements, *(p.boundary or ())) if st.has_condition
                 and any(st.matches(a) for a in takeover)]
        text = json.dumps(conds, default=json_default)
        keys = dict.fromkeys(k for k in _RESOURCE_TAG.findall(text)
                             if k and not any(c in k for c in "*?$"))
        all_conds = [st.conditions for st in (*p.statements, *(p.boundary or ())) if st.has_condition]
        request_tags = set(_REQUEST_TAG.findall(json.dumps(all_conds, default=json_default)))
        out: list[tuple[_Step, dict[str, str]]] = []
        for key in keys:
            named = [v for prefix in ("iam:ResourceTag", "aws:ResourceTag")
                     for v in _named_literals(conds, f"{prefix}/{key}")[0]]
            named += _named_literals(all_conds, f"aws:RequestTag/{key}")[0]
            have = next(((k, v) for k, v in tags.items() if k.casefold() == key.casefold()), None)
            others = {rt: None for rt in request_tags if rt.split("/", 1)[1].casefold() != key.casefold()}
            if "iam:TagUser" in tagging:
                for v in dict.fromkeys([*named, f"{_FRESH}0"]):
                    if "${" in v or (have is not None and have[1] == v):
                        continue
                    ev = self.may(p, "iam:TagUser", t.arn, {**others, "aws:TagKeys": [key], f"aws:RequestTag/{key}": v},
                                  tags=tags)
                    if ev.value is not False:
                        after = {k: x for k, x in tags.items() if k.casefold() != key.casefold()} | {key: v}
                        out.append((_step(ev, f"iam:TagUser of {key}={v} on user {t.name}"), after))
            if "iam:UntagUser" in tagging and have is not None:
                ev = self.may(p, "iam:UntagUser", t.arn, {**{rt: None for rt in request_tags}, "aws:TagKeys": [key]},
                              tags=tags)
                if ev.value is not False:
                    out.append((_step(ev, f"iam:UntagUser of {key} on user {t.name}"),
                                {k: x for k, x in tags.items() if k.casefold() != key.casefold()}))
        return out

    def _user_takeover(self, p: Principal, t: Principal, tags: Mapping[str, str] | None) -> _Step | None:
        """:meth:`_takeover` of user ``t`` carrying ``tags``."""
        facts = self.facts.get(t.arn)
        ak = self.may(p, "iam:CreateAccessKey", t.arn, tags=tags)
        steps: list[_Step] = []
        if ak.value is not False:
            rotate = self.may(p, "iam:DeleteAccessKey", t.arn, tags=tags)
            room: bool | None = facts.access_keys < 2 if facts is not None and facts.access_keys is not None else None
            sure = rotate.value is True or room is True
            if not sure and room is None:
                self.wanted.add(t.arn)
            if room is False and rotate.value is False:
                pass  # two keys already and none may be deleted: CreateAccessKey fails
            else:
                steps.append(_Step(ak.value if sure else _and([ak.value, None]), tuple(ak.grants),
                                   frozenset(ak.unknown) | (frozenset() if sure else frozenset(
                                       {f"whether user {t.name} holds fewer than two access keys (the quota; "
                                        f"iam:ListAccessKeys of user {t.name} would settle it)"})),
                                   f"iam:CreateAccessKey for user {t.name}"))
        c = self.may(p, "iam:CreateLoginProfile", t.arn, tags=tags)
        u = self.may(p, "iam:UpdateLoginProfile", t.arn, tags=tags)
        if c.value is not False or u.value is not False:
            # DeleteLoginProfile then CreateLoginProfile replaces an existing password as UpdateLoginProfile
            # does (IAM API Reference, "DeleteLoginProfile": the user can no longer sign in until a new
            # password is created; "CreateLoginProfile" then succeeds)
            d = self.may(p, "iam:DeleteLoginProfile", t.arn, tags=tags) if c.value is not False else c
            replace = _or([u.value, _and([c.value, d.value])])  # works on a user with a password
            both = _and([c.value, replace])  # works whether or not it has one
            has = facts.login_profile if facts is not None else None
            if both is not True and has is None:
                self.wanted.add(t.arn)
            value = (both if both is True else c.value if has is False else replace if has is True
                     else _and([_or([c.value, u.value]), None]))
            if value is not False:
                unknown = frozenset(c.unknown | u.unknown | d.unknown) | (
                    frozenset() if both is True or has is not None else frozenset(
                        {f"whether user {t.name} has a console password (iam:GetLoginProfile of user {t.name} "
                         f"would settle it)"}))
                steps.append(_Step(value, tuple(dict.fromkeys(c.grants + u.grants + d.grants)), unknown,
                                   f"a console password for user {t.name}"))
        return _best_step(steps)

    def _assumed_by(self, p: Principal, t: Principal) -> _Step | None:
        """Does role ``t``'s existing trust already admit ``p``?  Then ``p`` acts as ``t`` with
        ``sts:AssumeRole`` and no write: a policy written on ``t`` is a policy written for ``p``
        (the documented Put/AttachRolePolicy and CreatePolicyVersion paths applied to a role it can use)."""
        if t.arn not in self._parsed_trust:
            try:
                self._parsed_trust[t.arn] = role_trust(t)
            except PolicyError:
                self._parsed_trust[t.arn] = None
        trust = self._parsed_trust[t.arn]
        if not trust:
            return None
        a = principal_assumes(t, trust, p, now=self.now)
        if a is None:
            return None
        permits, keys = self.scp(p.arn, "sts:AssumeRole", t.arn, {}) if self.scp is not None else (True, ())
        if permits is False:
            return None
        return _Step(_and([True if a.certain else None, permits]), a.via, frozenset(a.unknown) | frozenset(keys),
                     f"sts:AssumeRole of role {t.name} (its trust policy admits it)")

    def _trust_rewrite(self, p: Principal, t: Principal) -> _Step | None:
        trust = self.may(p, "iam:UpdateAssumeRolePolicy", t.arn)
        if trust.value is False:
            return None
        # the rewritten trust names p: no identity grant is needed, but p's boundary and Denies still apply
        trusted = _policy({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": t.arn}]}, "the rewritten trust policy")
        # the AssumeRole may go to any Region's STS endpoint (trust.assume_regions): p's policies decide in each
        regions = assume_regions([*p.statements, *(p.boundary or ())], self.partition)
        assume = self.may(_with(p, trusted), "sts:AssumeRole", t.arn,
                          requests=[{"aws:RequestedRegion": r} for r in regions])
        return _Step(_and([trust.value, assume.value]), tuple(trust.grants), frozenset(trust.unknown | assume.unknown),
                     f"iam:UpdateAssumeRolePolicy of role {t.name} to trust itself, then sts:AssumeRole")

    def _pass_role(self, p: Principal) -> Iterable[tuple[_Step, Principal]]:
        if not any(s.effect == "Allow" and s.matches("iam:PassRole") for s in p.statements):
            return
        no_region = {k: v for k, v in self.base.items() if k != "aws:RequestedRegion"}
        service_actions: dict[str, _Eval] = {}  # what p may do in the services, whatever role it passes

        def service_action(a: str) -> _Eval:
            """``a`` by ``p`` on what it creates (any name, in the Region it chooses), bounded by the SCPs as a
            step's IAM call is (:meth:`may`): permitted when permitted in one Region where the service is
            offered (each action judged on its own: a Region open to one and another open to the next counts)."""
            if a not in service_actions:
                resource = ("arn", self.partition, a.split(":")[0], Unknown("the Region it chooses"), self.account_id,
                            Unknown(f"the name of what {a} creates"))
                service_actions[a] = self.may(p, a, resource, base=no_region)
            return service_actions[a]

        for r in self.acct.principals:
            if r.kind != "role" or self.ability(r) is None:
                continue  # only a role that mints is worth passing
            passes: dict[str, _Eval] = {}
            for name in _PASS_NEW:
                actions = PATHS[name]
                service = next(a.split(":")[0] for a in actions if not a.startswith("iam:"))
                principal = SERVICE_PRINCIPALS.get(service)
                if principal is None:
                    continue
                trusted = self._trusts(r.arn, principal)
                if trusted is False or (service == "ec2" and r.arn not in self.acct.in_instance_profile):
                    continue
                if principal not in passes:
                    passes[principal] = self.may(p, "iam:PassRole", r.arn, {"iam:PassedToService": principal})
                evs = [passes[principal]]
                if evs[0].value is False:
                    continue
                evs += [service_action(a) for a in actions if not a.startswith("iam:")]
                value = _and([e.value for e in evs] + [trusted])
                if value is False:
                    continue
                unknown = {k for e in evs for k in e.unknown} | (
                    set() if trusted else {f"the condition of role {r.name}'s trust policy"})
                yield (_Step(value, tuple(g for e in evs for g in e.grants), frozenset(unknown),
                             f"iam:PassRole of role {r.name} to {principal} with {', '.join(actions[1:])} ({name})"), r)

    def _trusts(self, role_arn: str, service: str) -> bool | None:
        key = (role_arn, service)
        if key not in self._trust_memo:
            self._trust_memo[key] = _trusts(self.acct.trust.get(role_arn), service)
        return self._trust_memo[key]

    def escalation(self, p: Principal) -> Access | None:
        """The best one-step escalation of ``p`` to minting, or None."""
        found: list[Access] = []

        def consider(step: _Step, target: Principal, then: str = "") -> bool:
            """Record the path; True when it is certain (no need to look further)."""
            if step.value is False:
                return False
            # another principal counts by any path it mints by; p itself only by what the step gives it
            ability = self.ability(target) if target.arn != p.arn else self.direct(target)
            if ability is None:
                return False
            # the mint (or read) is made by the target (or the role it assumes): the SCPs bound that principal
            scp_value, scp_keys = self.final_act(ability.via or target.arn, ability)
            value = _and([step.value, True if ability.certain else None, scp_value])
            if value is False:
                return False
            found.insert(0 if value else len(found), Access(
                principal=p.arn, kind=p.kind, certain=value is True,
                grants=tuple(dict.fromkeys(step.grants + ability.grants)),
                unknown=() if value else tuple(sorted(step.unknown | set(ability.unknown) | set(scp_keys))),
                note=f"{ESCALATION}: {step.text}{then}, after which it {self.verb}"
                     + (f" ({ability.note})" if ability.note else "")))
            return value is True

        if _may_escalate(p):
            for step, after in self._gains(p, p, "itself"):
                if consider(step, after):
                    return found[0]
            writes = _may_write(p)
            for t in self.acct.principals:
                if t.arn == p.arn or (not writes and self.ability(t) is None):
                    continue  # taking t over gains nothing unless t mints or p can also change its policies
                take = self._takeover(p, t)
                if take is None or take.value is False:
                    continue
                if consider(take, t):
                    return found[0]
                for step, after in self._gains(p, t, f"{t.kind} {t.name}"):
                    both = _Step(_and([step.value, take.value]), step.grants + take.grants, step.unknown | take.unknown,
                                 f"{step.text}, then {take.text}")
                    if consider(both, after):
                        return found[0]
        for step, role in self._pass_role(p):
            if consider(step, role, f" (the code runs as role {role.name})"):
                return found[0]
        return _best(found)


# calls that remove a policy (or a group membership) holding an explicit Deny
_LIFT_ACTIONS = ("iam:deleteuserpolicy", "iam:detachuserpolicy", "iam:deleterolepolicy", "iam:detachrolepolicy",
                 "iam:deletegrouppolicy", "iam:detachgrouppolicy", "iam:removeuserfromgroup")
_ESCALATION_ACTIONS = tuple(sorted({a for n in EVALUATED for a in PATHS[n] if a.startswith("iam:")} | {
    "iam:createpolicyversion", "iam:setdefaultpolicyversion", "iam:addusertogroup", "iam:updateassumerolepolicy",
    "iam:deleteuserpermissionsboundary", "iam:deleterolepermissionsboundary", "iam:putuserpermissionsboundary",
    "iam:putrolepermissionsboundary", *_LIFT_ACTIONS}))


def _may_escalate(p: Principal) -> bool:
    return any(s.effect == "Allow" and s.matches(a) for s in p.statements for a in _ESCALATION_ACTIONS
               if a != "iam:passrole")


@functools.lru_cache(maxsize=4096)
def _loose(pattern: str) -> re.Pattern[str]:
    """A Resource pattern matched more loosely than IAM does (``*`` across colons, any case): only
    to skip, before the real evaluation, statements that cannot match at all."""
    return re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), re.I | re.S)


_WRITE_ACTIONS = ("iam:putuserpolicy", "iam:attachuserpolicy", "iam:putrolepolicy", "iam:attachrolepolicy",
                  "iam:putgrouppolicy", "iam:attachgrouppolicy", "iam:createpolicyversion", "iam:setdefaultpolicyversion",
                  "iam:addusertogroup", "iam:deleteuserpermissionsboundary", "iam:deleterolepermissionsboundary",
                  "iam:putuserpermissionsboundary", "iam:putrolepermissionsboundary", *_LIFT_ACTIONS)


def _may_write(p: Principal) -> bool:
    """Does any of ``p``'s Allows name an action that changes a principal's permissions?"""
    return any(s.effect == "Allow" and s.matches(a) for s in p.statements for a in _WRITE_ACTIONS)


def _service_linked(t: Principal) -> bool:
    """A service-linked role (path ``/aws-service-role/``): "You cannot modify the trust policy for a
    service-linked role" (IAM User Guide, "Update a role trust policy"), nor its permissions
    ("Service-linked roles": only the service edits them)."""
    return t.kind == "role" and ":role/aws-service-role/" in t.arn


def _best(accesses: Sequence[Access]) -> Access | None:
    return next((a for a in accesses if a.certain), accesses[0] if accesses else None)


def _best_step(steps: Sequence[_Step]) -> _Step | None:
    return next((s for s in steps if s.value is True), steps[0] if steps else None)


def _trusts(doc: Any, service: str) -> bool | None:
    """Does a role's trust policy let ``service`` assume it?  None when only a conditional statement does."""
    try:
        raw = decode_document(doc) if doc is not None else {}
    except ValueError:
        return None
    stmts = raw.get("Statement") if isinstance(raw, dict) else None
    stmts = stmts if isinstance(stmts, list) else [stmts]
    out: bool | None = False
    for s in stmts:
        if not isinstance(s, dict) or s.get("Effect") != "Allow":
            continue
        principal = s.get("Principal")
        svc = principal.get("Service") if isinstance(principal, dict) else None
        names = [svc] if isinstance(svc, str) else list(svc or [])
        acts = s.get("Action")
        acts = [acts] if isinstance(acts, str) else list(acts or [])
        if service in names and any(re.fullmatch(a.replace("*", ".*"), "sts:AssumeRole", re.I) for a in acts
                                    if isinstance(a, str)):
            if not s.get("Condition"):
                return True
            out = None
    return out


def minters(principals: Sequence[Principal], *, users: Sequence[tuple[str, Mapping[str, str] | None]],
            audited_user_arn: str | None, arn_partition: str, account_id: str, now: dt.datetime,
            gaad: Mapping[str, Any] | None = None, managed: Mapping[str, Any] | None = None,
            user_facts: Mapping[str, UserFacts] | None = None, wanted: set[str] | None = None,
            scp: ScpGate | None = None) -> list[Access]:
    """Every principal that can or may mint (or reset) a Bedrock API key: directly on any user,
    existing or one it creates, or after one escalation step (see the module docstring).  ``gaad``
    (the merged GetAccountAuthorizationDetails answer the principals came from) supplies groups,
    policy versions, trust policies, instance profiles and user tags; without it the paths that
    need them are not found.  ``user_facts`` (user ARN -> :class:`UserFacts`) decides the takeover
    of a user by a new access key or console password; the ARNs of users whose facts would decide
    one are added to ``wanted``, so the caller can read them and evaluate again.  ``scp`` (the
    organization's SCPs of the account, as a gate) bounds each escalation: a step's own calls
    (``iam:CreateUser``, a policy write, ``sts:AssumeRole``, ...) by the principal taking it, and the
    final mint by the principal that makes it (itself, the one it takes over, the role it assumes or
    passes); direct minters' mints are left to the caller, which names whom the SCPs stop."""
    acct = account_of(gaad or {}, principals, managed)
    judge = _Judge(acct, users, audited_user_arn, arn_partition, account_id, now, user_facts, scp=scp)
    found: dict[str, Access] = {}
    pending = list(principals)
    # A takeover target is any minter the audit finds, by any path: one that mints only by assuming a
    # role that mints (or by its own escalation) makes whoever takes it over a minter too.  Each round
    # adds the minters found so far (and who can assume them) to the targets, until nothing changes.
    for _ in range(len(principals) + 1):
        changed = False
        for p in pending:
            direct = judge.direct(p)
            if direct is not None and direct.certain:
                best: Access | None = direct
            else:
                esc = judge.escalation(p)
                best = _best([a for a in (direct, esc) if a is not None])
            if best is not None and (p.arn not in found or (best.certain and not found[p.arn].certain)):
                found[p.arn] = best
                changed = True
        if not changed:
            break
        chained = assumer_accesses(list(found.values()), principals, now=now, what="mint or reset a Bedrock API key")
        known = {**{a.principal: a for a in chained}, **found}
        if all(judge.known.get(k) == v for k, v in known.items()) and len(known) == len(judge.known):
            break
        judge.known = known
        pending = [p for p in principals if p.arn not in found or not found[p.arn].certain]
    out = [found[p.arn] for p in principals if p.arn in found]
    if wanted is not None:
        wanted |= judge.wanted
    return out


def escalations_to(principals: Sequence[Principal], holders: Sequence[Access], *, actions: Sequence[str],
                   own: Callable[[Principal], Access | None], verb: str, partition: str, account_id: str,
                   now: dt.datetime, gaad: Mapping[str, Any] | None = None, managed: Mapping[str, Any] | None = None,
                   user_facts: Mapping[str, UserFacts] | None = None, wanted: set[str] | None = None,
                   scp: ScpGate | None = None, final: FinalGate | None = None,
                   kept_out: dict[str, Access] | None = None) -> list[Access]:
    """The same one-step escalation as :func:`minters`, towards another permission: ``own(p)`` says
    whether principal ``p`` (as it stands, or with a policy written on it) holds it -- e.g. reading
    the secret, its key policy and resource policy evaluated with ``p``'s identity policies --,
    ``actions`` are what a written or attached policy must allow, and ``holders`` those who hold it
    already (targets of a takeover, with whoever can assume them).  Returns the principals not in
    ``holders`` that gain it in one step, each with its path.

    ``scp`` bounds each call of a step by the principal making it, as for :func:`minters`; ``final``
    bounds the final action by the principal that makes it (the one gaining it, the one it takes over,
    or the role that one assumes).  ``kept_out`` receives, for each principal these bounds remove, the
    path it has without them: the search is made again without them for the principals it did not find
    (they can only narrow it)."""
    acct = account_of(gaad or {}, principals, managed)
    held = {a.principal for a in holders if a.certain}

    def search(among: Sequence[Principal], scp: ScpGate | None, final: FinalGate | None) -> dict[str, Access]:
        judge = _Judge(acct, [], None, partition, account_id, now, user_facts, actions=actions, own=own, verb=verb,
                       scp=scp, final=final)
        judge.known = {a.principal: a for a in holders}
        found = {p.arn: esc for p in among if p.arn not in held and (esc := judge.escalation(p)) is not None}
        if wanted is not None:
            wanted.update(judge.wanted)
        return found

    found = search(principals, scp, final)
    if kept_out is not None and (scp is not None or final is not None):
        kept_out.update(search([p for p in principals if p.arn not in found], None, None))
    return [found[p.arn] for p in principals if p.arn in found]


_TAG_ACTIONS = {"user": ("iam:TagUser", "iam:UntagUser"), "role": ("iam:TagRole", "iam:UntagRole")}
# condition operators whose outcome on a string depends only on which named literals it equals (or on its
# presence): a named literal and one fresh value then stand for every value ("IAM JSON policy elements:
# Condition operators" -- string and Null operators)
_LITERAL_OPS = frozenset({"stringequals", "stringnotequals", "stringequalsignorecase", "stringnotequalsignorecase",
                          "stringlike", "stringnotlike", "null"})
_FRESH = "q7-other-"  # a tag value no policy names (numbered past any that one does)
_MAX_OTHER_KEYS = 4  # other tag keys a TagUser request may carry alongside, tried in every combination


def _named_literals(conditions: Iterable[Any], key: str) -> tuple[list[str], bool]:
    """The values ``conditions`` (Condition blocks) name for condition key ``key`` (case-insensitive), and
    whether each such condition is decided by which of them a request value equals: a string or Null
    operator (``ForAllValues:``/``ForAnyValue:``, ``...IfExists`` alike), no policy variable, no
    wildcard in a ``StringLike`` value.  Otherwise a value outside the named ones may behave otherwise."""
    out: dict[str, None] = {}
    literal = True
    for block in conditions:
        if not isinstance(block, dict):
            literal = False
            continue
        for op, pairs in block.items():
            if not isinstance(pairs, dict):
                literal = False
                continue
            base = str(op).split(":", 1)[-1].lower().removesuffix("ifexists")
            for k, vs in pairs.items():
                if str(k).lower() != key.lower():
                    continue
                vals = [str(v) for v in (vs if isinstance(vs, list) else [vs])]
                if base not in _LITERAL_OPS or any("${" in v for v in vals) or (
                        base.endswith("like") and any("*" in v or "?" in v for v in vals)):
                    literal = False
                if base != "null":
                    out.update((v, None) for v in vals)
    return list(out), literal


def _wildcards_only(conditions: Iterable[Any], key: str) -> bool:
    """Is every condition on ``key`` in ``conditions`` a string or Null operator with no policy variable (a
    ``StringLike`` wildcard allowed)?  A request value is then judged exactly by evaluating the condition."""
    for block in conditions:
        if not isinstance(block, dict):
            return False
        for op, pairs in block.items():
            if not isinstance(pairs, dict):
                return False
            base = str(op).split(":", 1)[-1].lower().removesuffix("ifexists")
            for k, vs in pairs.items():
                if str(k).lower() == key.lower() and (base not in _LITERAL_OPS or any(
                        "${" in str(v) for v in (vs if isinstance(vs, list) else [vs]))):
                    return False
    return True


def _tag_requests(p: Principal, key: str, current: Mapping[str, str] | None, also: Sequence[Any],
                  grant: Sequence[str] | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``iam:TagUser`` (``TagRole``) and ``iam:UntagUser`` (``UntagRole``) requests that could change
    tag ``key`` of a principal whose tags are ``current`` (None: unknown), as request keys for ``p``'s
    policies and ``also`` (the organization's Condition blocks).  Service Authorization Reference, IAM:
    TagUser/TagRole carry ``aws:RequestTag/${TagKey}`` and ``aws:TagKeys``, UntagUser/UntagRole
    ``aws:TagKeys``; IAM User Guide, "Tagging IAM resources" (Case sensitivity): a user's or role's tag
    keys are not case sensitive, so ``Team`` overwrites ``team``.

    The key is tried in each spelling the conditions name for ``aws:TagKeys`` and one they do not, alone and
    with each combination of the other keys they name; the value with each value they name for
    ``aws:RequestTag/<key>`` and one they do not -- not the tag's current value, which changes nothing.
    Where a condition on either is not decided by literals (:func:`_named_literals`) the key stays unknown
    in the request: the call is then undecided, never judged refused -- except a ``StringLike`` pattern
    (no variable): on the values, when ``grant`` (the values the policies reading the tag name, their
    outcome decided by which of them a value equals) is given, the value is tried with each of those, each
    value the tagging conditions name (a pattern matches itself) and one no policy names -- a value outside
    ``grant`` reads as any other, so these stand for every value; on ``aws:TagKeys``, a pattern that no
    spelling of the key matches (compared without case) refuses or admits each spelling alike, so the
    spellings tried stand for all, and one that some spelling may match leaves the key unknown."""
    conds = [s.conditions for s in (*p.statements, *(p.boundary or ())) if s.has_condition] + list(also)
    k = key.casefold()
    named_keys, keys_literal = _named_literals(conds, "aws:TagKeys")
    values, values_literal = _named_literals(conds, f"aws:RequestTag/{key}")
    text = json.dumps(conds, default=json_default).lower()
    request_tags = {m for m in _REQUEST_TAG.findall(text) if m.split("/", 1)[1] != k}
    have = None if current is None else next((v for t, v in current.items() if t.casefold() == k), None)
    present = current is None or have is not None
    others = sorted({n for n in named_keys if n.casefold() != k}, key=str.casefold)
    patterned = not keys_literal and _wildcards_only(conds, "aws:TagKeys")
    if (not keys_literal and not patterned) or len(others) > _MAX_OTHER_KEYS:
        spellings: list[str | None] = [None]
        extra: list[list[str]] = [[]]
    else:
        mine = {n for n in named_keys if n.casefold() == k} | {key}
        fresh = next((v for v in (key.upper(), key.lower(), key.swapcase(), key.title()) if v not in mine), None)
        spellings = sorted(mine | ({fresh} if fresh else set()), key=lambda x: (x != key, x))  # as read, first
        extra = [[o for i, o in enumerate(others) if n >> i & 1] for n in range(1 << len(others))]
        if patterned and any(("*" in n or "?" in n) and _loose(n).fullmatch(key) for n in named_keys):
            spellings.append(None)  # a pattern some spelling of the key may match: which ones is not worked out
    if values_literal or (grant is not None and _wildcards_only(conds, f"aws:RequestTag/{key}")):
        named = [*values, *(grant or ())]
        fresh_value = next(f"{_FRESH}{i}" for i in range(len(named) + 1)
                           if f"{_FRESH}{i}".casefold() not in {v.casefold() for v in named})
        tries: list[str | None] = [v for v in dict.fromkeys([*named, fresh_value]) if v != have]
    else:
        tries = [None]
    tag: list[dict[str, Any]] = []
    untag: list[dict[str, Any]] = []
    for sp in spellings:
        for more in extra:
            sent = {x.casefold() for x in more} | {k}
            absent: dict[str, Any] = {rt: None for rt in request_tags if rt.split("/", 1)[1] not in sent}
            base = {**absent, **({"aws:TagKeys": [sp, *more]} if sp is not None else {})}
            tag += [{**base, **({f"aws:RequestTag/{sp or key}": v} if v is not None else {})} for v in tries]
            if present:
                untag.append({**{rt: None for rt in request_tags}, **(
                    {"aws:TagKeys": [sp, *more]} if sp is not None else {})})
    return tag, untag


def tag_writers(principals: Sequence[Principal], *, partition: str, account_id: str, now: dt.datetime,
                gaad: Mapping[str, Any] | None = None, managed: Mapping[str, Any] | None = None,
                scp: ScpGate | None = None, keys: Sequence[str] | None = None,
                also: Sequence[Any] = (), reads: TagReads | None = None,
                taggers: Sequence[Principal] | None = None) -> dict[str, dict[str, str]]:
    """Who may change whose IAM tags: user or role ARN -> {ARN of a principal that may ``iam:TagUser`` /
    ``iam:UntagUser`` (``iam:TagRole`` / ``iam:UntagRole``) it -> the clause saying so}.  "May" is judged
    with that principal's identity policies and boundary (explicit Deny wins), the call bounded by
    ``scp`` as an escalation step is; certainly or possibly alike (IAM User Guide, "Tags for AWS
    Identity and Access Management resources": TagUser/TagRole add or overwrite a tag,
    UntagUser/UntagRole remove it).

    ``keys``: the tag keys the policies in question read; each call is then judged as the requests that
    would change one of them (:func:`_tag_requests`, with ``also``: the organization's Condition blocks),
    so a TagUser limited by ``aws:RequestTag/<key>`` or ``aws:TagKeys`` to other values or keys is no
    change (IAM User Guide, "Controlling access to and for IAM users and roles using tags": the
    recommended way to keep principals from setting the tags ABAC reads).  None: any call counts.

    ``reads`` (:class:`TagReads`): the Condition blocks that read those tags as ``aws:PrincipalTag/*``; a
    change then counts only when some assignment the calls allowed make -- each key read set to a value one
    of them may set, or removed, or left, in every combination -- changes the outcome of one of those
    blocks, for the target's own policies or the shared ones (IAM User Guide, "Define permissions based on
    attributes with ABAC authorization": what matters is whether a principal can give itself the tag a grant
    reads; values are case sensitive under ``StringEquals``).  A value the calls leave unknown, a key also
    read as ``aws:ResourceTag/*``/``iam:ResourceTag/*``, or a target whose tags are not known counts as a
    change.  The clause names the request that makes it.

    ``taggers``: the principals judged as taggers (default: ``principals``) -- e.g. a principal as it is after
    writing itself a policy (:func:`self_tag_grants`)."""
    acct = account_of(gaad or {}, principals, managed)
    judge = _Judge(acct, [], None, partition, account_id, now, scp=scp)
    judge._shared = {}  # principals whose policies say the same share each evaluation (:meth:`_Judge.shared_part`)
    role_tags = {str(e["Arn"]): {str(x.get("Key")): str(x.get("Value")) for x in e.get("Tags") or []}
                 for e in (gaad or {}).get("RoleDetailList") or [] if isinstance(e, dict) and e.get("Arn")}
    out: dict[str, dict[str, str]] = {}
    # the requests to try depend on the policies' conditions, not on whose they are: worked out once per kind
    # (keyed by the principal object: a tagger may stand for one principal as it is after a policy write, and one
    # principal after two different writes twice -- ``taggers`` -- each with conditions of its own)
    judged = list(principals if taggers is None else taggers)
    conditions = {id(p): json.dumps([s.conditions for s in (*p.statements, *(p.boundary or ())) if s.has_condition],
                                    default=json_default) for p in judged}
    requests: dict[tuple[Any, ...], tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    # per target, action, and what of a principal decides its own evaluations (the part its policies' statements
    # that may apply say, and its conditions): the request without tag keys, and the requests its policies do not
    # refuse, with the assignment each makes -- the SCPs then judged per principal
    Plan = tuple[_Eval, list[tuple[Mapping[str, Any], tuple[str, Any], _Eval]]]
    plans: dict[tuple[Any, ...], Plan] = {}
    for t in principals:
        if t.kind not in _TAG_ACTIONS or not t.arn.startswith("arn:"):
            continue
        tags = acct.user_tags.get(t.arn)
        current = tags if t.kind == "user" else None
        now_tags = None if current is None else tuple(current.items())
        allowed: dict[str, list[tuple[str, _Eval, Mapping[str, Any], tuple[str, Any]]]] = {}
        for p in judged:
            evs: list[tuple[str, _Eval, Mapping[str, Any], tuple[str, Any]]] = []
            for action in _TAG_ACTIONS[t.kind]:
                part = judge.shared_part(p, action, t.arn)
                if keys is None:
                    evs.append((action, judge.may(p, action, t.arn, tags=tags, part=part), {}, ("", _ANY_VALUE)))
                    continue
                adding = action == _TAG_ACTIONS[t.kind][0]
                if reads is not None and part is not None:
                    plan = plans.get((part, conditions[id(p)]))
                    if plan is None:
                        first, alike = judge.unbounded(p, action, t.arn, tags=tags, part=part)
                        tries: list[tuple[Mapping[str, Any], tuple[str, Any], _Eval]] = []
                        for key in keys if first.value is not False else ():
                            grant = reads.values.get(key.casefold())
                            asked = (conditions[id(p)], key, now_tags, None if grant is None else tuple(grant))
                            if asked not in requests:
                                requests[asked] = _tag_requests(p, key, current, also, grant)
                            for req in requests[asked][0 if adding else 1]:
                                pre, shared = judge.unbounded(p, action, t.arn, req, tags=tags, part=part)
                                alike = alike and shared
                                if pre.value is not False:
                                    tries.append((req, (key.casefold(), _assigned(req, key, adding)), pre))
                        plan = (first, tries)
                        if alike:
                            plans[(part, conditions[id(p)])] = plan
                    if judge.gated(p, action, t.arn, None, plan[0]).value is False:
                        continue  # refused whatever it carries
                    for call, assigned, pre in plan[1]:
                        ev = judge.gated(p, action, t.arn, call, pre)
                        if ev.value is not False:
                            evs.append((action, ev, call, assigned))
                    continue
                if judge.may(p, action, t.arn, tags=tags, part=part).value is False:
                    continue  # refused whatever it carries
                for key in keys:
                    grant = reads.values.get(key.casefold()) if reads is not None else None
                    asked = (conditions[id(p)], key, now_tags, None if grant is None else tuple(grant))
                    if asked not in requests:
                        requests[asked] = _tag_requests(p, key, current, also, grant)
                    add, remove = requests[asked]
                    for overlay in add if adding else remove:
                        ev = judge.may(p, action, t.arn, overlay, tags=tags, part=part)
                        if ev.value is False:
                            continue
                        evs.append((action, ev, overlay, (key.casefold(), _assigned(overlay, key, adding))))
                        if ev.value is True and reads is None:
                            break
                    if reads is None and any(ev.value is True for _, ev, _, _ in evs):
                        break
            if evs:  # one principal after two different policy writes (``taggers``) is asked twice: both count
                allowed.setdefault(p.arn, []).extend(evs)
        if not allowed:
            continue
        harmful: list[dict[str, Any]] | None = None
        if reads is not None and keys is not None:
            harmful = _harmful_assignments(t, current if t.kind == "user" else role_tags.get(t.arn), allowed, reads)
        for p_arn, evs in allowed.items():
            if harmful is not None:
                # only the calls whose assignment takes part in a change of what the policies decide
                evs = [e for e in evs if any(h.get(e[3][0], _UNSET) == e[3][1] for h in harmful)]
            got = next(((a, ev, o) for a, ev, o, _ in evs if ev.value is True), next(
                ((a, ev, o) for a, ev, o, _ in evs if ev.value is None), None))
            if got is None:
                continue
            action, ev, sent_keys = got
            verb = "can" if ev.value else f"may (depending on {', '.join(sorted(ev.unknown)) or 'an unknown'})"
            sent = "".join(f", {k} {'a value no policy names' if str(v).startswith(_FRESH) else v}"
                           for k, v in sent_keys.items() if v is not None)
            out.setdefault(t.arn, {})[p_arn] = f"{verb} change its tags ({action} on {t.kind} {t.name})" + (
                f" (a request with{sent[1:]})" if sent else "")
    return out


def self_tag_grants(principals: Sequence[Principal], *, partition: str, account_id: str, now: dt.datetime,
                    gaad: Mapping[str, Any] | None = None, managed: Mapping[str, Any] | None = None,
                    scp: ScpGate | None = None) -> list[tuple[Principal, str]]:
    """Each principal that may, in one step, give itself a permission to tag or untag users or roles -- a policy
    write on itself (``Put``/``Attach`` ``User``/``Role``/``Group`` ``Policy``, ``CreatePolicyVersion``,
    ``SetDefaultPolicyVersion``, ``AddUserToGroup``, lifting a Deny, dropping its boundary: the escalation
    search's one step, :meth:`_Judge._gains`, for ``iam:TagUser``/``UntagUser``/``TagRole``/``UntagRole``) --
    as it is afterwards, with the sentence naming the step.  Whom it may then tag is :func:`tag_writers`' with
    these as ``taggers`` (IAM User Guide, "Define permissions based on attributes with ABAC authorization":
    principals must not be able to change their own tags -- nor grant themselves that)."""
    acct = account_of(gaad or {}, principals, managed)
    judge = _Judge(acct, [], None, partition, account_id, now, scp=scp,
                   actions=(*_TAG_ACTIONS["user"], *_TAG_ACTIONS["role"]))
    out: list[tuple[Principal, str]] = []
    for p in principals:
        if not _may_write(p):
            continue
        for step, after in judge._gains(p, p, "itself"):
            if step.value is not False:
                out.append((after, f"{'can' if step.value else 'may'} write itself the permission ({step.text})"))
    return out


def _assigned(overlay: Mapping[str, Any], key: str, adding: bool) -> Any:
    """The value a TagUser/TagRole request (``adding``) gives tag ``key`` (:data:`_ANY_VALUE`: unknown), or
    :data:`_REMOVED` for an UntagUser/UntagRole."""
    if not adding:
        return _REMOVED
    return next((v for k2, v in overlay.items() if k2.lower().startswith("aws:requesttag/")
                 and k2.split("/", 1)[1].casefold() == key.casefold()), _ANY_VALUE)


_ANY_VALUE = object()  # a tag value the request leaves unknown
_REMOVED = None  # the tag removed (UntagUser/UntagRole)
_UNSET = object()  # a key an assignment leaves as it is
_MAX_ASSIGNMENTS = 512  # combinations of tag values tried; beyond, any change counts


@dataclasses.dataclass(frozen=True)
class TagReads:
    """What reads the tags whose changes :func:`tag_writers` judges: ``shared`` -- the Condition blocks that read
    ``aws:PrincipalTag/*`` of any principal (resource, key and organization policies) --; ``values`` -- per tag
    key (case-folded), the values the blocks name for ``aws:PrincipalTag/<key>`` (with their case variants), or
    None when one is not decided by equality with them (a pattern, a variable, another operator) --; and
    ``resource_keys`` -- the keys also read as ``aws:ResourceTag/*`` or ``iam:ResourceTag/*``, or through a
    ``${aws:PrincipalTag/<key>}`` policy variable (case-folded; None: a key read through a wildcard or variable)."""

    shared: tuple[Any, ...]
    values: Mapping[str, list[str] | None]
    resource_keys: frozenset[str] | None


_TAG_VARIABLE = re.compile(r"\$\{aws:principaltag/([^}]*)\}", re.IGNORECASE)
_RESOURCE_TAG = re.compile(r"(?:aws:resourcetag|iam:resourcetag)/([^\"\\\s}]*)", re.IGNORECASE)
_REQUEST_TAG = re.compile(r'"(aws:requesttag/[^"]+)"', re.IGNORECASE)  # a request-tag condition key, quoted in JSON


def tag_reads(principals: Sequence[Principal], shared: Sequence[Any], keys: Sequence[str],
              texts: Sequence[str] = ()) -> TagReads:
    """:class:`TagReads` for ``keys`` (the tag keys read), from the principals' identity policies and boundaries,
    ``shared`` (the Condition blocks of the resource, key and organization policies) and ``texts`` (those policies
    whole, scanned for resource-tag keys).  A value named for ``aws:PrincipalTag/<key>`` is taken with its case
    variants (an ``...IgnoreCase`` operator matches them)."""
    own = [st.conditions for p in principals for st in (*p.statements, *(p.boundary or ())) if st.has_condition]
    values: dict[str, list[str] | None] = {}
    for key in keys:
        named, literal = _named_literals([*own, *shared], f"aws:PrincipalTag/{key}")
        values[key.casefold()] = list(dict.fromkeys(
            x for v in named for x in (v, v.lower(), v.upper(), v.title()))) if literal else None
    scanned = [json.dumps([st.conditions, st.resources, st.not_resources], default=json_default)
               for p in principals for st in (*p.statements, *(p.boundary or ()))]
    scanned += [json.dumps(list(shared), default=json_default), *texts]
    # a key read as a resource tag, or through a ${aws:PrincipalTag/<key>} variable (in a Resource element or a
    # condition value: not a Condition block's own key), counts whatever value it is given
    found = [k for text in scanned for k in (*_RESOURCE_TAG.findall(text), *_TAG_VARIABLE.findall(text))]
    resource_keys = None if any(not k or any(c in k for c in "*?$") for k in found) else frozenset(
        k.casefold() for k in found)
    return TagReads(tuple(shared), values, resource_keys)


def _harmful_assignments(t: Principal, current: Mapping[str, str] | None,
                         allowed: Mapping[str, Sequence[tuple[str, _Eval, Mapping[str, Any], tuple[str, Any]]]],
                         reads: TagReads) -> list[dict[str, Any]]:
    """The tag assignments (key -> value, or None: removed) the allowed calls make, alone or together, that change
    the outcome of a Condition block reading ``aws:PrincipalTag/*`` of ``t`` -- its own policies' and boundary's,
    and ``reads.shared``.  An assignment whose value is unknown, of a key read as a resource tag, or on a
    target whose tags are unknown (``current`` None) is counted as one that changes it."""
    options: dict[str, list[Any]] = {}
    for evs in allowed.values():
        for _, _, _, (k, v) in evs:
            if v not in options.setdefault(k, []):
                options[k].append(v)
    # a value that is unknown; a key read as a resource tag or through a variable; one whose reading conditions are
    # not decided by equality with the values they name (a pattern: an unnamed value may match it) set to the value
    # standing for every unnamed one -- a named value, or the key removed, is evaluated as it is; unknown tags
    risky = [{k: v} for k, vs in options.items() for v in vs
             if v is _ANY_VALUE or k == "" or reads.resource_keys is None or k in reads.resource_keys
             or (reads.values.get(k) is None and v is not _REMOVED and str(v).startswith(_FRESH)) or current is None]
    if risky:
        return risky
    assert current is not None
    own = [s.conditions for s in (*t.statements, *(t.boundary or ())) if s.has_condition]
    blocks = [b for b in (*own, *reads.shared) if isinstance(b, dict) and any(
        f"aws:principaltag/{k}" in json.dumps(b, default=json_default).lower() for k in options)]
    if not blocks:
        return []
    keys = sorted(options)
    combos = 1
    for k in keys:
        combos *= len(options[k]) + 1
    if combos > _MAX_ASSIGNMENTS:
        return [{k: v} for k in keys for v in options[k]]
    base = {k.casefold(): v for k, v in current.items()}

    # every principal tag the blocks read: the target's tags are known whole, so one it lacks is absent
    read = {m.casefold() for b in blocks for m in re.findall(r"aws:principaltag/([^\"\\\s}]*)",
                                                                 json.dumps(b, default=json_default), re.I)}

    def ctx(tags: Mapping[str, str]) -> RequestContext:
        return RequestContext({"aws:PrincipalArn": t.arn, **{f"aws:PrincipalTag/{k}": v for k, v in tags.items()}},
                              absent=[f"aws:PrincipalTag/{k}" for k in read | set(keys) if k not in tags])

    def entries(block: Any, changed: Iterable[str], c: RequestContext) -> list[bool | None]:
        """The outcome of each of ``block``'s entries on a changed key (the block ANDs its entries)."""
        names = {f"aws:principaltag/{k}" for k in changed}
        return [evaluate_conditions({op: {key: want}}, c).value for op, pairs in block.items()
                if isinstance(pairs, dict) for key, want in pairs.items() if str(key).lower() in names]

    was = ctx(base)
    before = [evaluate_conditions(b, was).value for b in blocks]
    out: list[dict[str, Any]] = []
    for pick in itertools.product(*([_UNSET, *options[k]] for k in keys)):
        change = {k: v for k, v in zip(keys, pick, strict=True) if v is not _UNSET}
        if not change:
            continue
        tags = {k: v for k, v in base.items() if k not in change}
        tags.update({k: v for k, v in change.items() if v is not _REMOVED})
        now_ = ctx(tags)
        for block, b in zip(blocks, before, strict=True):
            then, after = entries(block, change, was), entries(block, change, now_)
            if None not in then and then == after:
                continue  # each entry on a changed key decides as before: so does the block
            if b is not None and evaluate_conditions(block, now_).value == b:
                continue
            out.append(change)
            break
    return out


def tag_changers(principals: Sequence[Principal], writers: Mapping[str, Mapping[str, str]], *, partition: str,
                 account_id: str, now: dt.datetime, gaad: Mapping[str, Any] | None = None,
                 managed: Mapping[str, Any] | None = None, scp: ScpGate | None = None,
                 user_facts: Mapping[str, UserFacts] | None = None, wanted: set[str] | None = None) -> dict[str, str]:
    """The users and roles whose IAM tags a principal on their own path may change (``writers``:
    :func:`tag_writers`), each with the sentence why: a user that may tag or untag itself; a role
    that may, or that a principal which can assume it (its trust policy admits it) may tag; and any user
    or role that a principal can act as -- taking a user over (``iam:CreateAccessKey``, a console
    password), assuming or re-trusting a role, or a chain of these (:meth:`_Judge._takeover`) -- when that
    principal, or one it can act as the same way, may change its tags: it tags the principal, then acts as
    it.  Their tags are then chosen by whoever acts as them, so they are no fact about their requests'
    ``aws:PrincipalTag/*`` (IAM User Guide, "Define permissions based on attributes with ABAC
    authorization": principals must not be allowed to change their own tags; "Tags for AWS Identity and
    Access Management resources": TagUser adds or overwrites a tag).

    Whoever can act as a principal -- the principal itself, those that can take it over or assume it --
    counts: a principal that reaches (assumes, takes over, chains to) one allowed to change its own tags
    chooses them too (it tags itself through that one, then makes its requests).  A takeover by a new
    access key or console password is judged with ``user_facts`` (:class:`UserFacts`: the user's key count
    and password, as for the minters: :meth:`_Judge._takeover`); the users whose facts would decide one are
    added to ``wanted``."""
    acct = account_of(gaad or {}, principals, managed)
    judge = _Judge(acct, [], None, partition, account_id, now, facts=user_facts, scp=scp)
    out: dict[str, str] = {}
    for t in principals:
        by = writers.get(t.arn) or {}
        if t.arn in by:
            out[t.arn] = f"{t.kind} {t.name} " + by[t.arn].replace("change its tags", "change its own tags").replace(
                f" on {t.kind} {t.name})", " on itself)")
            continue
        for p in principals:
            if p.arn in by and t.kind == "role" and (s := judge._assumed_by(p, t)) is not None \
                    and s.value is not False:
                out[t.arn] = f"{p.kind} {p.name}, which can assume role {t.name}, {by[p.arn]}"
                break
    if all(t in out for t in writers):
        return out
    # who can act as whom: one step (a takeover, an assumption), then the chains of them
    step: dict[str, dict[str, str]] = {}
    for p in principals:
        escalates = _may_escalate(p)
        for t in principals:
            if t.arn == p.arn or (t.kind == "user" and not escalates):
                continue
            take = judge._takeover(p, t) if escalates else judge._assumed_by(p, t)
            if take is not None and take.value is not False:
                step.setdefault(p.arn, {})[t.arn] = take.text
    names = {p.arn: f"{p.kind} {p.name}" for p in principals}
    for a in principals:
        reach: dict[str, list[str]] = {a.arn: []}  # ARN -> the steps from a
        todo = [a.arn]
        while todo:
            x = todo.pop()
            for y, text in step.get(x, {}).items():
                if y not in reach:
                    reach[y] = [*reach[x], f"{text} (as {names[x]})" if x != a.arn else text]
                    todo.append(y)
        for t in principals:
            if t.arn in out or t.arn not in reach:
                continue
            by = writers.get(t.arn) or {}
            w = next((w for w in reach if w in by), None)
            if w is None:
                continue
            if t.arn == a.arn:  # it reaches one that may change its own tags: it tags itself through that one
                out[t.arn] = (f"{names[a.arn]} can act as {names[w]} ({'; '.join(reach[w])}), which "
                              + by[w].replace("change its tags", f"change the tags of {names[t.arn]}", 1))
                continue
            tagger = "it" if w == a.arn else f"{names[w]}, which it can act as ({'; '.join(reach[w])}),"
            out[t.arn] = (f"{names[a.arn]} can act as {names[t.arn]} ({'; '.join(reach[t.arn])}) and {tagger} "
                          f"{by[w]}")
    if wanted is not None:
        wanted |= judge.wanted
    return out
