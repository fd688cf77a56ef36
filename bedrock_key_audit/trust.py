"""Who can become a role: every principal its trust policy admits, and the readers (or minters)
that follows for roles that hold a permission, through role chains to :data:`CHAIN_DEPTH`.

Sources (the page titles are the citation):

* IAM User Guide, "Cross account resource access in IAM" / "IAM roles" and "Grant a user
  permissions to switch roles" --
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_permissions-to-switch.html
  (a trust policy that names the account lets the account's administrators delegate: a principal
  of that account then needs an identity policy allowing ``sts:AssumeRole`` on the role; a trust
  policy naming a user or role ARN of the same account lets it assume the role by itself, as any
  resource-based policy does within one account -- "Policy evaluation for requests within a
  single account", reference_policies_evaluation-logic_policy-eval-basics.html);
* IAM User Guide, "Cross-account policy evaluation logic" --
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
  (a principal of another account also needs its own identity policy: invisible here, so a
  principal of another account that the trust policy admits is counted);
* IAM User Guide, "Create a role for OpenID Connect federation" and "Configuring a role for
  GitHub OIDC identity provider" --
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html
  (``sts:AssumeRoleWithWebIdentity``; without a condition on ``token.actions.githubusercontent.com:sub``
  any repository on GitHub can obtain a token the role accepts), and "Create a role for SAML 2.0
  federation" (``sts:AssumeRoleWithSAML``);
* AWS STS API Reference, "AssumeRole" (``ExternalId``, ``RoleSessionName``, ``SourceIdentity`` and
  session tags are values the caller puts in its request).

Decisions:

* A trust condition on a value the caller chooses (``sts:ExternalId``, ``sts:RoleSessionName``,
  ``sts:SourceIdentity``, ``aws:RequestTag/*``, ``aws:TagKeys``, ``sts:TransitiveTagKeys``) or on a
  claim of the federated token (``<provider>:sub``, ``:aud``, ``SAML:*``) is taken as met: some
  request meets it.  A Deny with such a condition is taken as avoidable.  The claims a trust
  requires are reported with the federated principal.
* An ``sts:AssumeRole*`` may be sent to any Region's STS endpoint, and its ``aws:RequestedRegion`` is
  that endpoint's Region (IAM User Guide, "Manage AWS STS in an AWS Region"): when the caller's
  policies or the trust policy read that key, each Region with an STS endpoint (botocore's endpoint
  data, opt-in Regions included) is tried and the best answer counts (:func:`assume_regions`).
* A service principal (``ec2.amazonaws.com``) in a trust policy is not an assumer here: who can
  pass the role to that service (``iam:PassRole``) is not followed.
* Chains: the roles holding the permission are depth 0; principals that can assume one are depth
  1; and so on to :data:`CHAIN_DEPTH`.  A role at the last depth whose own assumers were not
  followed is reported as a possible path ("role chain not followed beyond depth N").
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from typing import Any

from bedrock_key_audit.access import (
    Access,
    Principal,
    ResourceStatement,
    _context,
    _evaluate,
    _resource_side,
    outsiders,
    parse_resource_policy,
    tag_lookup,
)
from bedrock_key_audit.policy import PolicyError, RequestContext, Statement, decode_document

ASSUME = "sts:AssumeRole"
WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"
SAML = "sts:AssumeRoleWithSAML"
CHAIN_DEPTH = 3
_CALLER_CHOSEN = ("sts:externalid", "sts:rolesessionname", "sts:sourceidentity", "sts:transitivetagkeys",
                  "aws:tagkeys")
_CALLER_CHOSEN_PREFIXES = ("aws:requesttag/",)


def _claim_key(key: str) -> bool:
    """A key of the federated token (``token.actions.githubusercontent.com:sub``, ``SAML:aud``)."""
    k = key.lower()
    prefix = k.split(":", 1)[0]
    return k.startswith("saml:") or "." in prefix or prefix.endswith("amazonaws.com")


def _caller_chosen(key: str) -> bool:
    k = key.lower()
    return k in _CALLER_CHOSEN or k.startswith(_CALLER_CHOSEN_PREFIXES) or _claim_key(k)


@dataclasses.dataclass(frozen=True)
class Assumer:
    """One principal that can (``certain``) or may assume a role, with the trust statements."""

    who: str  # an ARN, an outside principal's label (Outsider.label) or a federated provider
    kind: str  # "user" | "role" | "external" | "federated"
    certain: bool
    via: tuple[str, ...]
    unknown: tuple[str, ...] = ()
    note: str = ""


def _trust_document(role: Principal) -> tuple[dict[str, Any], dict[int, list[str]]]:
    """The trust policy with the caller-chosen and token-claim conditions taken out of its Allows
    (and Denies carrying one dropped), and, per statement index, the claims it required."""
    try:
        doc = decode_document(role.trust)
    except ValueError:
        raise PolicyError(f"trust policy of role {role.name}: not JSON") from None
    if not isinstance(doc, dict):
        raise PolicyError(f"trust policy of role {role.name}: not a JSON object")
    raw = doc.get("Statement")
    stmts = raw if isinstance(raw, list) else [raw]
    out: list[Any] = []
    claims: dict[int, list[str]] = {}
    for i, st in enumerate(stmts):
        if not isinstance(st, dict):
            out.append(st)
            continue
        st = dict(st)
        raw_cond = st.get("Condition")
        cond: dict[str, Any] = raw_cond if isinstance(raw_cond, dict) else {}
        kept: dict[str, Any] = {}
        chosen = False
        for op, pairs in cond.items():
            if not isinstance(pairs, dict):
                kept[op] = pairs
                continue
            rest = {k: v for k, v in pairs.items() if not _caller_chosen(k)}
            for k, v in pairs.items():
                if _caller_chosen(k):
                    chosen = True
                    if _claim_key(k):
                        claims.setdefault(i, []).append(f"{k} {op} {v}")
            if rest:
                kept[op] = rest
        if chosen and st.get("Effect") == "Deny":  # avoidable by the caller: it matches no request
            st = {k: v for k, v in st.items() if k not in ("Action", "NotAction")}
            st["Action"] = "bedrock-key-audit:never"
        st["Condition"] = kept
        if not kept:
            st.pop("Condition")
        out.append(st)
    return {**doc, "Statement": out}, claims


def role_trust(role: Principal) -> list[ResourceStatement] | None:
    """The statements of ``role``'s trust policy (None when the answer carried none)."""
    if role.trust is None:
        return None
    doc, _ = _trust_document(role)
    return parse_resource_policy(doc, f"trust policy of role {role.name}")


def home_region(arn_partition: str) -> str:
    """The ``aws:RequestedRegion`` of a request to a global service's endpoint (IAM, and STS's global
    endpoint sts.amazonaws.com): us-east-1, us-gov-west-1 in GovCloud -- IAM User Guide, "AWS global
    condition context keys" (aws:RequestedRegion)."""
    return "us-gov-west-1" if arn_partition == "aws-us-gov" else "us-east-1"


@functools.cache
def offered_regions(service: str, arn_partition: str) -> tuple[str, ...]:
    """The Regions of ``arn_partition`` where botocore's endpoint data offers ``service`` (its endpoint prefix),
    the partition's home Region at least; read offline, as botocore's ``Session.get_available_regions`` reads
    it, with no session or client (verdicts make no call).  Opt-in Regions are included whether or not the
    account has enabled them (the rows using this do not read the enabled Regions): counting a Region the caller
    cannot use yet never misses a principal."""
    # deferred: only a policy that reads aws:RequestedRegion needs the endpoint data
    import botocore.loaders
    import botocore.regions

    from bedrock_key_audit import botocore_loader

    loader = botocore_loader.current() or botocore.loaders.create_loader()
    got = botocore.regions.EndpointResolver(loader.load_data("endpoints")).get_available_endpoints(
        service, arn_partition)
    return tuple(sorted(set(got) | {home_region(arn_partition)}))


def sts_regions(arn_partition: str) -> tuple[str, ...]:
    """The Regions of ``arn_partition`` where AWS STS has an endpoint (:func:`offered_regions`).  STS has
    Regional endpoints and the caller picks one; a request's ``aws:RequestedRegion`` is that endpoint's Region
    (IAM User Guide, "Manage AWS STS in an AWS Region"; the global endpoint is us-east-1)."""
    return offered_regions("sts", arn_partition)


def reads_requested_region(statements: Iterable[Statement]) -> bool:
    """Does any of ``statements`` read ``aws:RequestedRegion`` (a condition key, or a policy variable in a
    resource)?  May only ask for more evaluations than needed, never fewer."""
    for st in statements:
        conds = st.conditions if isinstance(st.conditions, dict) else {}
        if any(isinstance(pairs, dict) and any(str(k).lower() == "aws:requestedregion" for k in pairs)
               for pairs in conds.values()):
            return True
        if "aws:requestedregion" in " ".join((*st.resources, *st.not_resources)).lower():
            return True
    return False


def assume_regions(statements: Iterable[Statement], arn_partition: str) -> tuple[str, ...]:
    """The ``aws:RequestedRegion`` values an ``sts:AssumeRole`` may carry, as ``statements`` see it: every
    Region with an STS endpoint (:func:`sts_regions`) when one of them reads the key, else the home
    Region alone (one evaluation decides)."""
    return sts_regions(arn_partition) if reads_requested_region(statements) else (home_region(arn_partition),)


def principal_assumes(role: Principal, trust: Sequence[ResourceStatement], p: Principal, *,
                      now: dt.datetime) -> Assumer | None:
    """Can principal ``p`` of the role's own account assume ``role`` under its (parsed) ``trust``?
    Its identity policy, boundary and the trust policy are evaluated as :func:`role_assumers` does;
    None when it certainly cannot.  The AssumeRole may be sent to any Region's STS endpoint: it is
    evaluated in each (:func:`assume_regions`) and the best answer counts (certain in one Region: certain)."""
    partition = role.arn.split(":")[1]
    stmts = [*p.statements, *(rs.statement for rs in trust)]
    best = None
    for region in assume_regions([*stmts, *(p.boundary or ())], partition):
        base = {"aws:CurrentTime": now, "aws:EpochTime": str(int(now.timestamp())), "aws:RequestedRegion": region}
        ev = _evaluate(p, ASSUME, role.arn, _context(p, base, stmts, None, ()), trust, delegation_needed=True)
        if ev.value is not False and (best is None or ev.value is True):
            best = ev
        if ev.value is True:
            break
    if best is None:
        return None
    return Assumer(p.arn, p.kind, best.value is True, tuple(best.grants),
                   tuple(sorted(best.unknown)) if best.value is None else ())


def role_assumers(role: Principal, principals: Sequence[Principal], *, now: dt.datetime) -> list[Assumer]:
    """Every principal that can or may assume ``role`` (see the module docstring)."""
    if role.trust is None:
        return []
    doc, claims = _trust_document(role)
    trust = parse_resource_policy(doc, f"trust policy of role {role.name}")
    partition = role.arn.split(":")[1]
    base = {"aws:CurrentTime": now, "aws:EpochTime": str(int(now.timestamp())),
            "aws:RequestedRegion": home_region(partition)}
    out: list[Assumer] = [a for p in principals if p.arn != role.arn
                          and (a := principal_assumes(role, trust, p, now=now)) is not None]
    trust_regions = assume_regions([rs.statement for rs in trust], partition)
    for o in outsiders([trust], (), role.account, partition):
        if o.kind == "service":
            continue
        ov, oa = o.context()
        # the outsider's AssumeRole may go to any Region's STS endpoint: the best Region's answer counts
        evs = [_resource_side(trust, ASSUME, role.arn, RequestContext(
            {**base, "aws:RequestedRegion": region, **{k: v for k, v in ov.items() if v is not None}}, absent=oa), o)
            for region in trust_regions]
        ev = next((e for e in evs if e.value is True), next((e for e in evs if e.value is None), evs[0]))
        if ev.value is False:
            continue
        out.append(Assumer(o.label, "external", ev.value is True, tuple(ev.grants),
                           tuple(sorted(ev.unknown)) if ev.value is None else (),
                           "outside the account; counted: its own account's identity policies are not visible here"))
    for rs in trust:
        fed = rs.principal.get("Federated") if isinstance(rs.principal, dict) else None
        for provider in [fed] if isinstance(fed, str) else list(fed or []):
            action = SAML if ":saml-provider/" in str(provider) else WEB_IDENTITY
            if rs.statement.effect != "Allow" or not rs.statement.matches(action):
                continue
            denies = [d for d in trust if d.statement.effect == "Deny" and d.statement.matches(action)
                      and (d.principal == "*" or (isinstance(d.principal, dict) and provider in _as_list(
                          d.principal.get("Federated"))))]
            # in the best Region of the STS endpoints the token may be sent to
            outcomes = []
            for region in trust_regions:
                ctx = RequestContext({**base, "aws:RequestedRegion": region})
                if not any(d.statement.applies(action, role.arn, ctx).value is True for d in denies):
                    outcomes.append(rs.statement.applies(action, role.arn, ctx))
            oc = next((o for o in outcomes if o.value is True), next((o for o in outcomes if o.value is None), None))
            if oc is None:
                continue
            host = str(provider).rsplit("/", 1)[-1]
            required = claims.get(rs.statement.index, [])
            if not any(c.lower().startswith(f"{host.lower()}:sub ") for c in required) and action == WEB_IDENTITY:
                scope = f"any subject of {host}" + (" (every repository on GitHub)"
                                                     if host == "token.actions.githubusercontent.com" else "")
            else:
                scope = "tokens with " + "; ".join(required) if required else "any identity the provider asserts"
            out.append(Assumer(str(provider), "federated", oc.value is True, (rs.statement.label,),
                               tuple(sorted(oc.unknown)) if oc.value is None else (), f"{action}: {scope}"))
    return out


def assume_region_outcomes(role: Principal, who: str, principals: Sequence[Principal], *,
                           now: dt.datetime) -> dict[str, bool | None] | None:
    """The Regions whose STS endpoint ``who`` may send its ``sts:AssumeRole`` of ``role`` to, as the trust
    policy, ``who``'s identity policies and its permissions boundary see it (``who``: the ARN of a principal of
    ``principals``, or an outsider's label, as :func:`role_assumers` names them): Region -> True (allowed) or
    None (undecided); a Region where they deny it is left out.  None when none of them reads
    ``aws:RequestedRegion`` (every Region answers alike) or ``who`` is neither.  AWS evaluates every policy
    of the request in the one Region the caller picks (IAM User Guide, "Policy evaluation logic";
    "Manage AWS STS in an AWS Region"), so another bound (the SCPs) is to be asked in these Regions only."""
    trust = role_trust(role)
    if trust is None:
        return None
    partition = role.arn.split(":")[1]
    base = {"aws:CurrentTime": now, "aws:EpochTime": str(int(now.timestamp()))}
    p = next((x for x in principals if x.arn == who), None)
    out: dict[str, bool | None] = {}
    if p is not None:
        stmts = [*p.statements, *(rs.statement for rs in trust)]
        if not reads_requested_region([*stmts, *(p.boundary or ())]):
            return None
        for region in sts_regions(partition):
            ev = _evaluate(p, ASSUME, role.arn, _context(p, {**base, "aws:RequestedRegion": region}, stmts, None, ()),
                           trust, delegation_needed=True)
            if ev.value is not False:
                out[region] = ev.value
        return out
    o = next((x for x in outsiders([trust], (), role.account, partition) if x.label == who and x.kind != "service"), None)
    if o is None or not reads_requested_region([rs.statement for rs in trust]):
        return None
    ov, oa = o.context()
    for region in sts_regions(partition):
        ev = _resource_side(trust, ASSUME, role.arn, RequestContext(
            {**base, "aws:RequestedRegion": region, **{k: v for k, v in ov.items() if v is not None}}, absent=oa), o)
        if ev.value is not False:
            out[region] = ev.value
    return out


def assumes_another_role(role: Principal, who: str, principals: Sequence[Principal], *, now: dt.datetime) -> bool:
    """May ``who`` (as :func:`assume_region_outcomes` names it) assume a role of ``principals`` other than
    ``role`` -- the first hop of a chain that might lead to ``role`` another way?"""
    return any(r.kind == "role" and r.arn not in (role.arn, who)
               and any(a.who == who for a in role_assumers(r, [x for x in principals if x.arn == who], now=now))
               for r in principals)


def _as_list(v: Any) -> list[Any]:
    return [v] if isinstance(v, str) else list(v or [])


def assumer_accesses(direct: Sequence[Access], principals: Sequence[Principal], *, now: dt.datetime,
                     what: str = "read", depth: int = CHAIN_DEPTH) -> list[Access]:
    """The principals that reach ``direct``'s roles by assuming them, followed through role chains
    to ``depth``; each as an :class:`Access` naming the chain.  A role at ``depth`` that others
    can assume is reported as possible ("not followed beyond depth N")."""
    by_arn: dict[str, Principal] = {p.arn: p for p in principals}
    seen = {a.principal for a in direct}
    region_of: dict[str, str] = {}  # the primary ("") wins over a replica Region
    certain_of: dict[str, bool] = {}
    for a in direct:
        if a.principal not in region_of or not a.region:
            region_of[a.principal] = a.region
        certain_of[a.principal] = certain_of.get(a.principal, False) or a.certain
    frontier: list[tuple[str, int, bool, str, str]] = [(arn, 0, sure, "", arn) for arn, sure in certain_of.items()
                                                       if arn in by_arn and by_arn[arn].kind == "role"]
    out: list[Access] = []
    while frontier:
        arn, level, certain, chain, origin = frontier.pop(0)
        role = by_arn[arn]
        path = f"role {role.name}" + (f", which can assume {chain}" if chain else "")
        assumers = [a for a in role_assumers(role, principals, now=now) if a.who not in seen]
        if level >= depth:
            if assumers:
                out.append(Access(principal=f"assumers of role {role.arn}", kind="chain", certain=False,
                                  grants=(f"trust policy of role {role.name}",),
                                  unknown=(f"role chain not followed beyond depth {depth}",),
                                  note=f"{len(assumers)} principal(s) can assume {path}, which can {what}",
                                  region=region_of.get(arn, "")))
            continue
        for asm in assumers:
            seen.add(asm.who)
            sure = certain and asm.certain
            unknown = tuple(sorted(set(asm.unknown))) if not sure else ()
            note = f"can assume {path}, which can {what}" + (f"; {asm.note}" if asm.note else "")
            out.append(Access(principal=asm.who, kind=asm.kind, certain=sure, grants=asm.via,
                              unknown=unknown or (() if sure else ("the assumed role's own access",)),
                              note=note, region=region_of.get(arn, ""), via=origin))
            if asm.kind == "role" and asm.who in by_arn:
                frontier.append((asm.who, level + 1, sure, path, origin))
                region_of[asm.who] = region_of.get(arn, "")
    return out


TAG_SESSION = "sts:TagSession"


def _only_from(rs: ResourceStatement, account: str, partition: str) -> bool:
    """Does the trust statement admit only principals of ``account`` (its root, users and roles)?"""
    if rs.principal is None or not isinstance(rs.principal, dict) or set(rs.principal) != {"AWS"}:
        return False
    names = rs.principal["AWS"] if isinstance(rs.principal["AWS"], list) else [rs.principal["AWS"]]
    return all(isinstance(n, str) and (n == account or n.startswith(f"arn:{partition}:iam::{account}:")) for n in names)


def session_tagger(role: Principal, role_tags: dict[str, str], principals: Sequence[Principal], *,
                   candidates: dict[str, list[str]], now: dt.datetime) -> str | None:
    """Why a session of ``role`` may carry a principal tag (a key of ``candidates``, ``aws:PrincipalTag/<k>``)
    with a value other than the role's own tag (``role_tags``); None when none can.

    A session tag overrides the role's tag of the same key, and passing one needs ``sts:TagSession``
    allowed by the role's trust policy and, for a caller of the account, by its identity policies (IAM
    User Guide, "Passing session tags in AWS STS": "Permissions required to add session tags"; the trust
    policy may constrain them with ``aws:RequestTag`` / ``aws:TagKeys``).  Each principal of the account
    that can assume the role is evaluated tagging each key with each value in ``candidates[k]`` (the
    values the policies name, and one they do not); a trust statement allowing ``sts:TagSession`` to a
    principal outside the account (another account, a service, a federated identity, ``*``) counts as
    one that may (its policies are not read)."""
    if role.trust is None:
        return None
    try:
        trust = parse_resource_policy(decode_document(role.trust), f"trust policy of role {role.name}")
    except ValueError:
        raise PolicyError(f"trust policy of role {role.name}: not JSON") from None
    allows = [rs for rs in trust if rs.statement.effect == "Allow" and rs.statement.matches(TAG_SESSION)]
    if not allows:
        return None
    _, partition, _, _, account, _ = role.arn.split(":", 5)
    for rs in allows:
        if not _only_from(rs, account, partition):
            return f"the trust policy of role {role.name} allows {TAG_SESSION} to principals outside account {account} ({rs.label})"
    base = {"aws:CurrentTime": now, "aws:EpochTime": str(int(now.timestamp())), "aws:RequestedRegion": home_region(partition)}
    assumable = role_trust(role) or []
    for p in principals:
        if principal_assumes(role, assumable, p, now=now) is None:
            continue
        stmts = [*p.statements, *(rs.statement for rs in trust)]
        for key, values in candidates.items():
            tag = key.split("/", 1)[1]
            named = [v for rs in allows for op, pairs in (rs.statement.conditions or {}).items()
                     if isinstance(pairs, dict) for k, vs in pairs.items() if k.lower() == f"aws:requesttag/{tag}".lower()
                     for v in (vs if isinstance(vs, list) else [vs]) if isinstance(v, str)]
            for v in dict.fromkeys([*values, *(n.replace("*", "x").replace("?", "x") for n in named), "x-other-value"]):
                if tag_lookup(role_tags, tag) == ("present", v):
                    continue
                for sp in _spellings(tag, stmts):
                    ctx = _context(p, {**base, f"aws:RequestTag/{sp}": v, "aws:TagKeys": [sp]}, stmts, None, ())
                    ev = _evaluate(p, TAG_SESSION, role.arn, ctx, trust, delegation_needed=True)
                    if ev.value is not False:
                        return (f"{p.kind} {p.name} {'can' if ev.value else 'may'} assume role {role.name} with the "
                                f"session tag {sp}={v} ({TAG_SESSION})")
    return None


def _spellings(tag: str, stmts: Sequence[Statement]) -> list[str]:
    """The spellings of session tag key ``tag`` worth trying: the key itself, each spelling up to case that
    ``stmts``' conditions name (as ``aws:TagKeys`` values or ``aws:RequestTag/<key>`` keys), and one they do not.
    A session tag's key is read without case (``aws:PrincipalTag/TEAM`` is ``aws:PrincipalTag/team``, "IAM JSON
    policy elements: Condition"), so a condition refusing one spelling case-sensitively leaves another open."""
    want = tag.casefold()
    mine = {tag}
    for s in stmts:
        for pairs in (s.conditions or {}).values() if isinstance(s.conditions, dict) else ():
            for k, vs in pairs.items() if isinstance(pairs, dict) else ():
                if k.lower() == "aws:tagkeys":
                    mine.update(v for v in (vs if isinstance(vs, list) else [vs])
                                if isinstance(v, str) and v.casefold() == want)
                elif k.lower().startswith("aws:requesttag/") and k.split("/", 1)[1].casefold() == want:
                    mine.add(k.split("/", 1)[1])
    flips = [tag.upper(), tag.lower(), tag.swapcase(), tag.title(),
             *(tag[:i] + tag[i].swapcase() + tag[i + 1:] for i in range(len(tag)))]
    fresh = next((f for f in flips if f not in mine), None)
    return [tag, *sorted((mine | ({fresh} if fresh else set())) - {tag})]
