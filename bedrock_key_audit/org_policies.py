"""Service control policies (SCPs) and resource control policies (RCPs): what an organization allows.

Pure data and judgments (the reads are in :mod:`bedrock_key_audit.inventory.org`; the verdicts
call the functions here on what was read).  Sources (AWS Organizations User Guide unless noted;
the page titles are the citation):

* "SCP evaluation" -- https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
  To allow a permission for an account there must be an explicit ``Allow`` at every level from the
  root through each OU on the direct path to the account, including the account itself (the
  AWS-managed ``FullAWSAccess`` SCP is attached to every level by default); a ``Deny`` at any level
  denies, for every account below it.
* "Service control policies (SCPs)" -- https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html
  SCPs do not affect users or roles in the management account, nor service-linked roles; they bound
  the identity permissions of principals in member accounts.
* "Resource control policies (RCPs)" -- https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html
  and "RCP evaluation" -- https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html
  RCPs bound what any principal (inside or outside the organization) may do to resources of member
  accounts, for a subset of services (Amazon S3, AWS STS, AWS KMS, Amazon SQS, AWS Secrets Manager,
  Amazon Cognito, CloudWatch Logs, DynamoDB, Amazon ECR, OpenSearch Serverless); they do not affect
  resources in the management account.  The same every-level Allow / any-level Deny logic applies
  (``RCPFullAWSAccess`` is the default).
* "Policy evaluation logic" (IAM User Guide) --
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
  (an explicit deny in an SCP or RCP denies; a request must also be allowed by the SCPs/RCPs).
* Organizations API "ListParents", "ListPoliciesForTarget", "DescribePolicy" --
  https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListParents.html,
  https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListPoliciesForTarget.html,
  https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribePolicy.html
* Bedrock API key guardrails: "Control permissions for generating and using Amazon Bedrock API
  keys" (Amazon Bedrock User Guide) --
  https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys-permissions.html
  (``iam:CreateServiceSpecificCredential`` with ``iam:ServiceSpecificCredentialAgeDays`` and
  ``iam:ServiceSpecificCredentialServiceName``; ``bedrock:CallWithBearerToken`` with
  ``bedrock:BearerTokenType`` ``LONG_TERM``), and "Example SCPs for Amazon Bedrock" --
  https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_examples_bedrock.html
  with aws-samples/service-control-policy-examples (Deny-Bedrock-api-keys-longer-than-30-days.json).

Conditions are evaluated by :mod:`bedrock_key_audit.policy` (three-valued): a condition on a key
the audit does not know leaves the decision undecided, naming the key, never assumed.

``--org-policies FILE`` (the export format, :func:`parse_export`)::

    {"accounts": {"111122223333": {
        "organization": true,                   # false: the account is in no organization
        "management_account": "999988887777",   # the organization's management account id
        "organization_id": "o-exampleorgid",    # optional: aws:PrincipalOrgID of its principals
        "levels": [                             # root first, the account last
          {"target": "r-abcd", "type": "ROOT",
           "scps": [{"id": "p-FullAWSAccess", "name": "FullAWSAccess", "content": {...}}],
           "rcps": [{"id": "p-RCPFullAWSAccess", "name": "RCPFullAWSAccess", "content": {...}}]},
          {"target": "ou-abcd-11111111", "type": "ORGANIZATIONAL_UNIT", "scps": [...], "rcps": [...]},
          {"target": "111122223333", "type": "ACCOUNT", "scps": [...], "rcps": [...]}]}}}

``content`` is the policy document (an object, or its JSON text as DescribePolicy returns it).
"""
from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from bedrock_key_audit.policy import Outcome, PolicyError, RequestContext, Statement, _and, _or, parse_document, parse_operator

SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"
LEVEL_TYPES = ("ROOT", "ORGANIZATIONAL_UNIT", "ACCOUNT")
# "Resource control policies (RCPs)": the services whose resources RCPs apply to
RCP_SERVICES = frozenset({"s3", "sts", "kms", "sqs", "secretsmanager", "cognito-idp", "logs", "dynamodb", "ecr", "aoss"})
BEDROCK_SERVICE = "bedrock.amazonaws.com"
NOT_READ_HINT = ("grant organizations:DescribeOrganization, organizations:ListParents, "
                 "organizations:ListPoliciesForTarget and organizations:DescribePolicy (from the management account "
                 "or a delegated administrator: [organization] policies_profile) or give --org-policies FILE")


EXPORT_SHAPE = ('{"accounts": {"<12-digit account id>": {"organization": true, "management_account": "<12-digit id>", '
                '"levels": [{"target": "r-...", "type": "ROOT", "scps": [{"id": "p-...", "name": "...", "content": {...}}], '
                '"rcps": [...]}, ... OUs ..., {"target": "<account id>", "type": "ACCOUNT", ...}]}}} '
                '(docs/real-accounts.md, "The --org-policies file")')


class ExportError(ValueError):
    """An ``--org-policies`` file that is not the documented format (one line)."""


@dataclasses.dataclass(frozen=True)
class OrgPolicy:
    id: str
    name: str
    type: str
    document: Any


@dataclasses.dataclass(frozen=True)
class Level:
    """One level on the path from the root to the account, with the policies attached to it."""

    target: str
    type: str  # ROOT | ORGANIZATIONAL_UNIT | ACCOUNT
    scps: tuple[OrgPolicy, ...] = ()
    rcps: tuple[OrgPolicy, ...] = ()

    @property
    def label(self) -> str:
        kind = {"ROOT": "root", "ORGANIZATIONAL_UNIT": "OU", "ACCOUNT": "account"}.get(self.type, self.type)
        return f"{kind} {self.target}"


@dataclasses.dataclass(frozen=True)
class OrgPolicies:
    """The SCPs and RCPs that apply to one account, as read (or exported)."""

    account_id: str
    in_organization: bool
    management_account_id: str | None = None
    levels: tuple[Level, ...] = ()  # root first, the account last
    source: str = "organizations"
    organization_id: str | None = None  # o-...: the aws:PrincipalOrgID of the organization's principals

    @property
    def is_management(self) -> bool:
        return self.in_organization and self.account_id == self.management_account_id

    def evidence(self) -> dict[str, Any]:
        return {"account": self.account_id, "organization": self.in_organization,
                "organization_id": self.organization_id,
                "management_account": self.management_account_id, "source": self.source,
                "levels": [{"target": lv.target, "type": lv.type,
                            "scps": [{"id": p.id, "name": p.name, "content": p.document} for p in lv.scps],
                            "rcps": [{"id": p.id, "name": p.name, "content": p.document} for p in lv.rcps]}
                           for lv in self.levels]}


@dataclasses.dataclass(frozen=True)
class Gate:
    """What the organization's policies say of one request.

    ``outcome``: ``allowed`` (every level allows and no Deny applies), ``denied`` (a Deny applies:
    ``deny`` names it), ``not_allowed`` (a level allows nothing of it: ``blocked_at``), ``undecided``
    (``unknown`` keys left a statement open: ``open``), or ``exempt`` (no such policy can apply:
    ``why``)."""

    outcome: str
    deny: tuple[str, ...] = ()
    blocked_at: str | None = None
    open: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    why: str | None = None

    @property
    def permits(self) -> bool | None:
        """True: the organization lets the request through; False: it stops it; None: undecided."""
        if self.outcome in ("allowed", "exempt"):
            return True
        if self.outcome in ("denied", "not_allowed"):
            return False
        return None

    def sentence(self, kind: str) -> str:
        if self.outcome == "denied":
            return f"denied by {', '.join(self.deny)}"
        if self.outcome == "not_allowed":
            return f"not allowed by any {kind} attached to {self.blocked_at} (each level must allow it)"
        if self.outcome == "undecided":
            return f"{kind}s undecided: {', '.join(self.open)} read {', '.join(self.unknown)}"
        if self.outcome == "exempt":
            return self.why or f"no {kind} applies"
        return f"allowed by the {kind}s at every level"


def _statements(policy: OrgPolicy, level: Level, kind: str) -> list[Statement]:
    return parse_document(policy.document, f"{kind} {policy.name} ({policy.id}) attached to {level.label}")


def _parsed(levels: Sequence[Level], kind: str) -> list[list[Statement]]:
    """Each level's statements of ``kind`` (SCP or RCP), parsed once for any number of requests."""
    return [[s for p in (lv.scps if kind == "SCP" else lv.rcps) for s in _statements(p, lv, kind)] for lv in levels]


class _SameRequest:
    """``Statement.applies`` for many actions on one resource in one context, each statement's
    resource and condition outcome computed once per service: for an action the statement matches, that
    outcome depends only on the action's service prefix (``RequestContext.for_service``)."""

    def __init__(self, resource: Any, ctx: RequestContext) -> None:
        self.resource, self.ctx = resource, ctx
        self._seen: dict[tuple[int, str | None], tuple[Statement, Outcome]] = {}

    def applies(self, s: Statement, action: str) -> Outcome:
        if not s.matches(action):
            return Outcome(False)
        key = (id(s), action.split(":", 1)[0] if ":" in action else None)
        hit = self._seen.get(key)
        if hit is None:  # the statement is kept with its outcome, so its id is not reused meanwhile
            hit = self._seen[key] = (s, s.applies(action, self.resource, self.ctx))
        return hit[1]


def _gate(levels: Sequence[Level], kind: str, action: str, resource: Any, ctx: RequestContext,
          parsed: list[list[Statement]] | None = None, same: _SameRequest | None = None) -> Gate:
    deny_hits: list[str] = []
    open_: dict[str, None] = {}
    unknown: set[str] = set()
    denies: list[bool | None] = []
    allows: list[bool | None] = []
    blocked_at: str | None = None
    applies = same.applies if same is not None else (lambda s, a: s.applies(a, resource, ctx))
    for lv, stmts in zip(levels, _parsed(levels, kind) if parsed is None else parsed, strict=True):
        d_out = [(s, applies(s, action)) for s in stmts if s.effect == "Deny"]
        a_out = [(s, applies(s, action)) for s in stmts if s.effect == "Allow"]
        d = _or(o.value for _, o in d_out)
        a = _or(o.value for _, o in a_out)
        denies.append(d)
        allows.append(a)
        deny_hits += [s.label for s, o in d_out if o.value is True]
        if a is False and blocked_at is None:
            blocked_at = lv.label
        for s, o in [*d_out, *(a_out if a is None else [])]:
            if o.value is None:
                open_[s.label] = None
                unknown |= set(o.unknown)
    deny, allow = _or(denies), _and(allows)
    if deny is True:
        return Gate("denied", deny=tuple(dict.fromkeys(deny_hits)))
    if allow is False:
        return Gate("not_allowed", blocked_at=blocked_at)
    if deny is False and allow is True:
        return Gate("allowed")
    return Gate("undecided", open=tuple(open_), unknown=tuple(sorted(unknown)))


def scp_gate(org: OrgPolicies, action: str, ctx: RequestContext, resource: Any = "*") -> Gate:
    """Do the SCPs let a principal of ``org.account_id`` make this request ("SCP evaluation")?"""
    if not org.in_organization:
        return Gate("exempt", why=f"account {org.account_id} is in no AWS organization, so no SCP applies")
    if org.is_management:
        return Gate("exempt", why=f"account {org.account_id} is the organization's management account, "
                                  "which SCPs do not affect")
    return _gate(org.levels, "SCP", action, resource, ctx)


def scp_gates(org: OrgPolicies, actions: Iterable[str], ctx: RequestContext, resource: Any = "*") -> dict[str, Gate]:
    """``scp_gate`` of each action (the same gates), the SCPs parsed once rather than once per action."""
    actions = list(actions)
    if not org.in_organization or org.is_management:
        return {a: scp_gate(org, a, ctx, resource) for a in actions}
    parsed = _parsed(org.levels, "SCP") if actions else []
    same = _SameRequest(resource, ctx)
    return {a: _gate(org.levels, "SCP", a, resource, ctx, parsed, same) for a in actions}


def rcp_gate(org: OrgPolicies, action: str, ctx: RequestContext, resource: Any = "*") -> Gate:
    """Do the RCPs let anyone make this request to a resource of ``org.account_id`` ("RCP evaluation")?"""
    service = action.split(":", 1)[0].lower()
    if service not in RCP_SERVICES:
        return Gate("exempt", why=f"RCPs do not apply to {service}")
    if not org.in_organization:
        return Gate("exempt", why=f"account {org.account_id} is in no AWS organization, so no RCP applies")
    if org.is_management:
        return Gate("exempt", why=f"account {org.account_id} is the organization's management account, "
                                  "whose resources RCPs do not affect")
    if not any(lv.rcps for lv in org.levels):
        # enabling RCPs attaches RCPFullAWSAccess to every level, and it cannot be detached
        # ("Resource control policies (RCPs)"): no RCP anywhere means the type is not enabled
        return Gate("exempt", why=f"RCPs are not enabled in the organization of account {org.account_id}")
    return _gate(org.levels, "RCP", action, resource, ctx)


# --------------------------------------------------------------------------- who the organization keeps out
Request = tuple[str, str, RequestContext]  # action, resource, context


@dataclasses.dataclass(frozen=True)
class Bound:
    """What the SCPs (of the caller's account) and RCPs (of the resource's account) say of one access.

    ``stopped``: the sentence naming the policy that certainly stops it (the access is not real);
    ``open``: what left a policy undecided (the access stays counted: an organization policy can
    only narrow access, so an undecided one never adds or removes a principal)."""

    stopped: str | None = None
    open: tuple[str, ...] = ()


def _one(requests: Sequence[Request], scp_org: OrgPolicies | None, rcp_org: OrgPolicies | None) -> Bound:
    """All of ``requests`` are needed (a secret read is GetSecretValue AND the Decrypt it implies)."""
    open_: list[str] = []
    for action, resource, ctx in requests:
        for kind, org, gate in (("SCP", scp_org, scp_gate), ("RCP", rcp_org, rcp_gate)):
            if org is None:
                continue
            g = gate(org, action, ctx, resource)
            if g.permits is False:
                return Bound(stopped=f"{action} {g.sentence(kind)}")
            if g.permits is None:
                open_.append(f"{action}: {g.sentence(kind)}")
    return Bound(open=tuple(dict.fromkeys(open_)))


def bound_all(requests: Sequence[Request], *, scp_org: OrgPolicies | None, rcp_org: OrgPolicies | None) -> Bound:
    """An access that needs every one of ``requests``: stopped when the SCPs of the caller's account
    (``scp_org``; None when they do not apply or are unknown) or the RCPs of the resource's account
    (``rcp_org``) certainly stop any one of them ("Policy evaluation logic": a request must be
    allowed by the SCPs and RCPs that apply, and an explicit Deny in either denies)."""
    return _one(requests, scp_org, rcp_org)


def bound_any(alternatives: Sequence[Sequence[Request]], *, scp_org: OrgPolicies | None,
              rcp_org: OrgPolicies | None) -> Bound:
    """An access reached by any one of ``alternatives`` (each a list of needed requests): stopped only
    when the organization's policies certainly stop every alternative."""
    outs = [_one(reqs, scp_org, rcp_org) for reqs in alternatives]
    if outs and all(b.stopped for b in outs):
        return Bound(stopped="; ".join(dict.fromkeys(str(b.stopped) for b in outs)))
    return Bound(open=tuple(dict.fromkeys(o for b in outs if not b.stopped for o in b.open)))


# --------------------------------------------------------------------------- the two guardrail rows
@dataclasses.dataclass(frozen=True)
class Judgment:
    status: str  # pass | fail | error
    detail: str
    satisfied_by: tuple[str, ...] = ()


def _probe_ctx(principal_arn: str, account: str, extra: dict[str, Any], absent: Sequence[str] = ()) -> RequestContext:
    # aws:PrincipalArn / aws:PrincipalAccount of the principal asked about; the request is made
    # directly by it (not through an AWS service): "AWS global condition context keys"
    values: dict[str, Any] = {"aws:PrincipalArn": principal_arn, "aws:PrincipalAccount": account,
                              "aws:ViaAWSService": "false", "aws:PrincipalIsAWSService": "false", **extra}
    return RequestContext(values, absent=("aws:CalledVia", "aws:CalledViaFirst", "aws:CalledViaLast", *absent))


def probe_principal(account: str, partition_arn: str = "aws") -> str:
    """A principal of the account that is none of the sanctioned ones (the row asks about every other principal)."""
    return f"arn:{partition_arn}:iam::{account}:user/any-other-principal"


# aws:PrincipalArn under a negated operator in a Deny names the principals the Deny spares
_EXEMPTING = frozenset({"StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike", "StringNotEqualsIgnoreCase"})


@dataclasses.dataclass(frozen=True)
class Exemption:
    """An ``aws:PrincipalArn`` pattern a Deny statement spares (``ArnNotLike`` and kin), where it is."""

    pattern: str
    statement: str


def exemptions(org: OrgPolicies, actions: Iterable[str]) -> list[Exemption]:
    """The principal patterns that the SCP Deny statements covering any of ``actions`` exempt.

    An SCP cannot name principals (``Principal``/``NotPrincipal`` are not supported in SCPs:
    "SCP syntax", https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_syntax.html),
    so a guardrail spares principals only through conditions; the usual form is
    ``ArnNotLike``/``StringNotLike`` on ``aws:PrincipalArn`` ("AWS global condition context keys",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html)."""
    acts = list(actions)
    out: dict[tuple[str, str], Exemption] = {}
    for lv in org.levels:
        for p in lv.scps:
            for st in _statements(p, lv, "SCP"):
                if st.effect != "Deny" or not any(st.matches(a) for a in acts) or not isinstance(st.conditions, dict):
                    continue
                for op, block in st.conditions.items():
                    parsed = parse_operator(str(op))
                    if parsed is None or parsed[1] not in _EXEMPTING or not isinstance(block, dict):
                        continue
                    for key, values in block.items():
                        if str(key).lower() != "aws:principalarn":
                            continue
                        for v in values if isinstance(values, list) else [values]:
                            out.setdefault((str(v), st.label), Exemption(str(v), st.label))
    return list(out.values())


def _glob(pattern: str, text: str) -> bool:
    return re.fullmatch("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), text) is not None


def witness(pattern: str, account: str, partition_arn: str, avoid: Sequence[str] = ()) -> str | None:
    """A principal ARN of ``account`` that ``pattern`` matches and that is none of ``avoid``; None
    when the pattern can match no principal of the account (another account or partition, or only
    the ``avoid`` ARNs themselves).  Each wildcard becomes a concrete name: a principal with that
    name can exist, so an exemption that matches it spares a principal other than the sanctioned ones.
    A pattern not shaped as an ARN (``*-bot`` under ``StringNotLike``) is tried as the end of a user's
    and a role's ARN."""
    if pattern in avoid:
        return None
    parts = pattern.split(":", 5)
    candidates: list[str] = []
    for filler in ("zz-unsanctioned", "other-principal"):
        def fill(text: str, filler: str = filler) -> str:
            return "".join(filler if c == "*" else "x" if c == "?" else c for c in text)

        if len(parts) == 6 and parts[0] == "arn":
            if not _glob(parts[1], partition_arn) or not _glob(parts[2], "iam") or not _glob(parts[4], account):
                return None  # it spares principals of another account or partition only
            candidates.append(f"arn:{partition_arn}:iam::{account}:{fill(parts[5])}")
        else:
            tail = pattern.lstrip("*")
            candidates += [f"arn:{partition_arn}:iam::{account}:{kind}/{fill(tail) or filler}" for kind in ("user", "role")]
    principal = re.compile(rf"^arn:{re.escape(partition_arn)}:iam::{account}:(user|role)/[\w+=,.@/-]+$")
    return next((c for c in candidates if c not in avoid and principal.match(c) and _glob(pattern, c)), None)


def probe_principals(org: OrgPolicies, actions: Iterable[str], partition_arn: str,
                     sanctioned: Sequence[str]) -> list[tuple[str, str]]:
    """The principals a guardrail row asks about, each with why: a user, a role, a user whose name
    shares each sanctioned user's, and one principal for each exemption pattern of the SCPs that is
    not exactly a sanctioned ARN (it matches some other principal).  A guardrail holds only if it
    denies every one of them."""
    acct = org.account_id
    out: dict[str, str] = {}
    # the exemption witnesses first: a failure then names the pattern that spares them
    for ex in exemptions(org, ["iam:CreateServiceSpecificCredential", *actions]):
        w = witness(ex.pattern, acct, partition_arn, sanctioned)
        if w is not None:
            out.setdefault(w, f"matched by the exemption pattern {ex.pattern} in {ex.statement}, "
                              "which spares principals other than the sanctioned ones")
    out.setdefault(probe_principal(acct, partition_arn), "a user of the account")
    out.setdefault(f"arn:{partition_arn}:iam::{acct}:role/any-other-role", "a role of the account")
    for arn in sanctioned:
        name = arn.rsplit("/", 1)[-1]
        out.setdefault(f"arn:{partition_arn}:iam::{acct}:user/{name}-other",
                       f"a user whose name begins with the sanctioned {name}")
    return [(p, why) for p, why in out.items() if p not in sanctioned]


def lifetime_scp(max_days: int) -> dict[str, Any]:
    """The SCP that caps a Bedrock API key's lifetime at ``max_days`` (after AWS's example, plus a
    statement for keys created without an expiration, whose request has no age key)."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyBedrockKeysLongerThanMax", "Effect": "Deny", "Action": "iam:CreateServiceSpecificCredential",
         "Resource": "*", "Condition": {
             "StringEquals": {"iam:ServiceSpecificCredentialServiceName": BEDROCK_SERVICE},
             "NumericGreaterThan": {"iam:ServiceSpecificCredentialAgeDays": str(max_days)}}},
        {"Sid": "DenyBedrockKeysWithoutExpiry", "Effect": "Deny", "Action": "iam:CreateServiceSpecificCredential",
         "Resource": "*", "Condition": {
             "StringEquals": {"iam:ServiceSpecificCredentialServiceName": BEDROCK_SERVICE},
             "Null": {"iam:ServiceSpecificCredentialAgeDays": "true"}}}]}


def confine_scp(allowed_users: Sequence[str], minters: Sequence[str] = ()) -> dict[str, Any]:
    """The SCP that confines long-term Bedrock API keys: creating one to ``allowed_users`` and
    ``minters`` (the principals that rotate the key: ``credential.allowed_minters``; an SCP exempting
    none of them makes rotation impossible, since an SCP Deny binds every principal of a member
    account: "SCP evaluation", AWS Organizations User Guide), and using one (``LONG_TERM`` bearer calls,
    Mantle bearer calls) to ``allowed_users`` only.

    ``bedrock:BearerTokenType`` is documented for ``bedrock:CallWithBearerToken`` only ("Control
    permissions for generating and using Amazon Bedrock API keys"); nothing documents it on a
    ``bedrock-mantle:CallWithBearerToken`` request, so the Mantle statement denies every bearer call
    of the other principals, as AWS's sample Deny-Bedrock-api-keys.json does, without that condition."""
    creators = list(dict.fromkeys([*allowed_users, *minters]))
    cond = {"ArnNotLike": {"aws:PrincipalArn": list(allowed_users)}} if allowed_users else {}
    create_cond = {"ArnNotLike": {"aws:PrincipalArn": creators}} if creators else {}
    mantle: dict[str, Any] = {"Sid": "DenyMantleBearerUse", "Effect": "Deny",
                              "Action": "bedrock-mantle:CallWithBearerToken", "Resource": "*"}
    if cond:
        mantle["Condition"] = cond
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyBedrockKeyCreation", "Effect": "Deny", "Action": "iam:CreateServiceSpecificCredential",
         "Resource": "*", "Condition": {"StringEquals": {"iam:ServiceSpecificCredentialServiceName": BEDROCK_SERVICE},
                                        **create_cond}},
        {"Sid": "DenyLongTermBearerUse", "Effect": "Deny", "Action": "bedrock:CallWithBearerToken",
         "Resource": "*", "Condition": {"StringEquals": {"bedrock:BearerTokenType": "LONG_TERM"}, **cond}},
        mantle]}


def _outside(org: OrgPolicies, what: str, scp: dict[str, Any]) -> Judgment | None:
    """The verdict when SCPs cannot apply to the account at all: nothing at the organization level caps it."""
    attach = f"put the account in an organization and attach this SCP to it or its OU: {json.dumps(scp, separators=(',', ':'))}"
    if not org.in_organization:
        return Judgment("fail", f"account {org.account_id} is in no AWS organization, so no SCP {what}; {attach}")
    if org.is_management:
        return Judgment("fail", f"account {org.account_id} is the organization's management account, which SCPs do "
                                f"not affect, so nothing at the organization level {what}; move what is audited "
                                f"in this partition (the key's user in commercial, the secret in GovCloud) to a member "
                                f"account and attach this SCP: {json.dumps(scp, separators=(',', ':'))}")
    return None


def _ask(org: OrgPolicies, principals: Iterable[str], action: str, extra: dict[str, Any]) -> list[tuple[str, Gate]]:
    return [(p, scp_gate(org, action, _probe_ctx(p, org.account_id, extra))) for p in principals]


def _judge_denials(asks: list[tuple[str, str, Gate]], scp: dict[str, Any], what: str) -> Judgment:
    """Pass when every asked request is denied; fail naming the first one that is not; error when undecided."""
    undecided = [(label, g) for label, _, g in asks if g.outcome == "undecided"]
    through = [(label, g) for label, _, g in asks if g.permits is True]
    stopped = [g for _, _, g in asks if g.permits is False]
    fix = f"attach this SCP to the root or the account's OU: {json.dumps(scp, separators=(',', ':'))}"
    if through:
        label, g = through[0]
        return Judgment("fail", f"the SCPs do not {what}: {label} is {g.sentence('SCP')}; {fix}")
    if undecided:
        label, g = undecided[0]
        return Judgment("error", f"whether the SCPs {what} is undecided: for {label}, {', '.join(g.open)} read "
                                 f"{', '.join(g.unknown)}, which the audit does not know; give the export with "
                                 "conditions it can decide, or judge that statement by hand")
    names = tuple(dict.fromkeys(d for g in stopped for d in (g.deny or (f"(no SCP allows it at {g.blocked_at})",))))
    return Judgment("pass", f"the SCPs {what}: {'; '.join(names)}", names)


def _partition_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[1] if len(parts) > 1 and parts[1] else "aws"


def key_lifetime_capped(org: OrgPolicies, max_days: int, principals: Sequence[str]) -> Judgment:
    """Does an SCP deny every principal of the account creating a Bedrock API key that lives longer
    than ``max_days`` (``iam:ServiceSpecificCredentialAgeDays`` above it, or no expiration at all)?
    Asked of ``principals`` (the sanctioned users among them) and of :func:`probe_principals`: a
    role, a user, and one principal for each ``aws:PrincipalArn`` exemption pattern of the SCPs."""
    scp = lifetime_scp(max_days)
    what = f"cap Bedrock API keys at {max_days} days"
    out = _outside(org, what.replace("cap", "caps"), scp)
    if out:
        return out
    part = _partition_of(principals[0]) if principals else "aws"
    who = {p: f" ({why})" for p, why in probe_principals(org, [], part, ())}
    for p in principals:
        who.setdefault(p, "")
    asks = []
    for p, g in _ask(org, who, "iam:CreateServiceSpecificCredential",
                     {"iam:ServiceSpecificCredentialServiceName": BEDROCK_SERVICE,
                      "iam:ServiceSpecificCredentialAgeDays": str(max_days + 1)}):
        asks.append((f"a {max_days + 1}-day key created by {p}{who[p]}", p, g))
    for p, g in _ask(org, who, "iam:CreateServiceSpecificCredential",
                     {"iam:ServiceSpecificCredentialServiceName": BEDROCK_SERVICE,
                      "iam:ServiceSpecificCredentialAgeDays": None}):
        asks.append((f"a key without an expiration created by {p}{who[p]}", p, g))
    return _judge_denials(asks, scp, what)


MANTLE_BEARER = "bedrock-mantle:CallWithBearerToken"


def long_term_keys_confined(org: OrgPolicies, allowed_users: Sequence[str], outsider: str,
                            minters: Sequence[str] = ()) -> Judgment:
    """Are long-term Bedrock API keys confined by SCP: their creation denied to every principal but
    ``allowed_users`` and ``minters`` (the principals that rotate the key, ``credential.allowed_minters``),
    ``LONG_TERM`` bearer calls and bearer calls to Mantle to every principal but ``allowed_users``?
    Asked of ``outsider`` and of :func:`probe_principals` (a role, a user sharing a sanctioned name,
    one principal for each exemption pattern that is not exactly a sanctioned ARN); a minter that is
    not a key user is asked the bearer calls.  A Mantle bearer call is asked with
    ``bedrock:BearerTokenType`` unknown: AWS documents that key for ``bedrock:CallWithBearerToken``
    only, so a Mantle Deny that needs it leaves the row undecided, never passed."""
    creators = list(dict.fromkeys([*allowed_users, *minters]))
    scp = confine_scp(allowed_users, minters)
    users = ', '.join(allowed_users) or 'no principal'
    what = f"confine long-term Bedrock API keys to {users}" + (
        f" (creation also to {', '.join(m for m in creators if m not in allowed_users)})"
        if len(creators) > len(allowed_users) else "")
    out = _outside(org, what.replace("confine ", "confines ", 1), scp)
    if out:
        return out
    actions = ["bedrock:CallWithBearerToken", MANTLE_BEARER]
    part = _partition_of(outsider)
    create_who = {p: f" ({why})" for p, why in probe_principals(org, actions, part, creators)}
    create_who.setdefault(outsider, "")
    use_who = {p: f" ({why})" for p, why in probe_principals(org, actions, part, allowed_users)}
    use_who.setdefault(outsider, "")
    for m in creators:
        if m not in allowed_users:
            use_who.setdefault(m, " (a sanctioned minter, not a key user)")
    acct = org.account_id
    asks = []
    for p, w in create_who.items():
        asks.append((f"creating a Bedrock API key by {p}{w}", p, scp_gate(org, "iam:CreateServiceSpecificCredential",
                     _probe_ctx(p, acct, {"iam:ServiceSpecificCredentialServiceName": BEDROCK_SERVICE}))))
    for p, w in use_who.items():
        asks.append((f"a long-term API-key call to bedrock by {p}{w}", p, scp_gate(
            org, "bedrock:CallWithBearerToken", _probe_ctx(p, acct, {"bedrock:BearerTokenType": "LONG_TERM"}))))
        asks.append((f"an API-key call to bedrock-mantle by {p}{w}", p, scp_gate(
            org, MANTLE_BEARER, _probe_ctx(p, acct, {}))))
    return _judge_denials(asks, scp, what)


# --------------------------------------------------------------------------- the --org-policies export
_ACCOUNT = re.compile(r"^\d{12}$")


def _policy(raw: Any, kind: str, where: str) -> OrgPolicy:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or "content" not in raw:
        raise ExportError(f"{where}: each policy needs \"id\" and \"content\"")
    doc = raw["content"]
    try:
        parse_document(doc, f"{where} {raw['id']}")
    except PolicyError as exc:
        raise ExportError(str(exc)) from None
    return OrgPolicy(raw["id"], str(raw.get("name") or raw["id"]), kind, json.loads(doc) if isinstance(doc, str) else doc)


def parse_export(data: Any, source: str) -> dict[str, OrgPolicies]:
    """The ``--org-policies`` file's accounts (format in the module docstring); :class:`ExportError` naming the problem."""
    if not isinstance(data, dict) or not isinstance(data.get("accounts"), dict):
        raise ExportError(f"{source}: expected an object with \"accounts\" (account id -> its policies): {EXPORT_SHAPE}")
    out: dict[str, OrgPolicies] = {}
    for account, entry in data["accounts"].items():
        where = f"{source}: account {account}"
        if not _ACCOUNT.match(str(account)) or not isinstance(entry, dict):
            raise ExportError(f"{where}: keys must be 12-digit account ids mapping to objects")
        in_org = entry.get("organization", True)
        if not isinstance(in_org, bool):
            raise ExportError(f"{where}: \"organization\" must be true or false")
        mgmt = entry.get("management_account")
        if in_org and not (isinstance(mgmt, str) and _ACCOUNT.match(mgmt)):
            raise ExportError(f"{where}: \"management_account\" must be the management account's 12-digit id")
        levels = []
        raw_levels = entry.get("levels", [])
        if not isinstance(raw_levels, list) or (in_org and account != mgmt and not raw_levels):
            raise ExportError(f"{where}: \"levels\" must list the root, each OU and the account, root first")
        for i, lv in enumerate(raw_levels):
            lw = f"{where} level {i + 1}"
            if not isinstance(lv, dict) or not isinstance(lv.get("target"), str) or lv.get("type") not in LEVEL_TYPES:
                raise ExportError(f"{lw}: needs \"target\" and \"type\" (one of {', '.join(LEVEL_TYPES)})")
            for key in ("scps", "rcps"):
                if not isinstance(lv.get(key, []), list):
                    raise ExportError(f"{lw}: \"{key}\" must be a list")
            levels.append(Level(lv["target"], lv["type"],
                                tuple(_policy(p, SCP, lw) for p in lv.get("scps", [])),
                                tuple(_policy(p, RCP, lw) for p in lv.get("rcps", []))))
        if levels and (levels[0].type != "ROOT" or levels[-1].type != "ACCOUNT" or levels[-1].target != account):
            raise ExportError(f"{where}: \"levels\" must start at the ROOT and end at the ACCOUNT {account}")
        if in_org and (bare := next((lv for lv in levels if not lv.scps), None)) is not None:
            # "Every root, OU, and account must have at least one SCP attached" (AWS Organizations API Reference,
            # "DetachPolicy", https://docs.aws.amazon.com/organizations/latest/APIReference/API_DetachPolicy.html):
            # a level without one is not a state AWS has, and reading it as "nothing allowed" would fail grants
            raise ExportError(f"{where}: level {bare.type} {bare.target} lists no SCP, which AWS does not allow "
                              "(every root, OU and account keeps at least one, FullAWSAccess by default): list "
                              "every SCP attached there")
        if in_org and any(lv.rcps for lv in levels) and (bare := next((lv for lv in levels if not lv.rcps),
                                                                      None)) is not None:
            # enabling RCPs attaches RCPFullAWSAccess to every level and it cannot be detached
            raise ExportError(f"{where}: level {bare.type} {bare.target} lists no RCP while another level does, "
                              "which AWS does not allow (RCPFullAWSAccess stays at every level once RCPs are "
                              "enabled): list every RCP attached there")
        org_id = entry.get("organization_id")
        if org_id is not None and not (isinstance(org_id, str) and org_id.startswith("o-")):
            raise ExportError(f"{where}: \"organization_id\" must be the organization's id (o-...)")
        out[str(account)] = OrgPolicies(str(account), in_org, mgmt if in_org else None, tuple(levels),
                                        source=f"--org-policies {source}", organization_id=org_id if in_org else None)
    return out


def load_export(path: str) -> dict[str, OrgPolicies]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise ExportError(f"--org-policies {path}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise ExportError(f"--org-policies {path}: not JSON ({exc})") from None
    return parse_export(data, path)


# --------------------------------------------------------------------------- SCPs bounding the key's own calls
def grants_bound(org: OrgPolicies, actions: Iterable[str], resources_of: Any, ctx: RequestContext) -> Judgment:
    """Do the SCPs of the key user's account let every one of ``actions`` through for a long-term
    API-key call in ``ctx``?  ``resources_of(action)`` gives the resources the call touches.
    ``fail`` names each action and the SCP (with its target) that stops it; ``error`` names the
    statements and keys that left one undecided; ``pass`` otherwise (or when no SCP applies)."""
    stopped: list[str] = []
    open_: list[str] = []
    for action in sorted(actions):
        gates = [scp_gate(org, action, ctx, r) for r in resources_of(action)]
        worst = next((g for g in gates if g.permits is False), None) or next(
            (g for g in gates if g.permits is None), None)
        if worst is None:
            continue
        if worst.permits is False:
            stopped.append(f"{action} ({worst.sentence('SCP')})")
        else:
            open_.append(f"{action} ({', '.join(worst.open)} read {', '.join(worst.unknown)})")
    if stopped:
        return Judgment("fail", "the organization's SCPs stop " + ", ".join(stopped)
                        + " — the key cannot work while they apply to the account")
    if open_:
        return Judgment("error", "the identity policies grant every required action, but whether the SCPs let "
                                 + ", ".join(open_) + " through is undecided — declare those keys in [policy.context] "
                                 "or policy.absent_context_keys")
    if not org.in_organization or org.is_management:
        return Judgment("pass", scp_gate(org, "bedrock:CallWithBearerToken", ctx).why or "no SCP applies")
    return Judgment("pass", "the SCPs at every level from the root to the account allow them")
