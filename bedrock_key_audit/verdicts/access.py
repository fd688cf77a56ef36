"""Verdicts of secret.readers_restricted and iam.key_minting_restricted: who can read the key out of the
GovCloud secret, and who can mint another Bedrock key (marked checks: checks/test_access.py).

Both checks evaluate every principal of the account (``iam:GetAccountAuthorizationDetails``)
with bedrock_key_audit/access.py; the module docstring there cites AWS's evaluation logic.

The allowed set is the configured list (``secret.allowed_readers`` and ``secret.auditors``,
``credential.allowed_minters``; empty by default) plus the principal running the audit in that partition
(``sts:GetCallerIdentity``; a role session counts as its role): the audit itself reads the
secret (secret.schema, secret.key_matches_credential) and its remediation rotates the key, so
its own principal necessarily does both.  The evidence names it as such.  The workload that
uses the key in GovCloud is not known to the audit: list its role in ``secret.allowed_readers``.
"""
from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bedrock_key_audit.configured_principals import ARN, resolve_against
from bedrock_key_audit.inventory.models import AccountAuthorization
from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.jsonable import json_default
from bedrock_key_audit.checkcore import verdict

from bedrock_key_audit.access import (
    ANY_OTHER_ACCOUNT,
    BEDROCK_SERVICE,
    DECRYPT,
    GET_SECRET_VALUE,
    MINT_ACTIONS,
    MINT_REQUESTS,
    Access,
    KeyAccess,
    Principal,
    outside,
    read_contexts,
    secret_readers,
    tag_lookup,
)
from bedrock_key_audit.escalation import (ESCALATION, FinalGate, ScpGate, escalations_to, not_evaluated_sentence,
                                          UserFacts, self_tag_grants, tag_changers, tag_reads,
                                          tag_writers)
from bedrock_key_audit.escalation_resource import OrgStops, Target, resource_escalations
from bedrock_key_audit.escalation import minters as escalation_minters
from bedrock_key_audit.org_policies import Bound, OrgPolicies, Request, bound_all, rcp_gate, scp_gate
from bedrock_key_audit.policy import PolicyError, RequestContext, _or, decode_document, parse_document
from bedrock_key_audit.trust import (CHAIN_DEPTH, assume_region_outcomes, assumer_accesses, assumes_another_role,
                                     home_region, offered_regions, session_tagger)

UNSEEN = "session policies are not readable from the account and can only narrow this"
_SYNTHETIC = ":role/any-principal-of-the-account"
TRUST_SCOPE = (f"roles are followed through their trust policies to a chain depth of {CHAIN_DEPTH}; who can pass a "
               "role to a service (iam:PassRole) is not followed beyond the catalogued paths")


def _allowed(configured: list[str], auth: AccountAuthorization) -> dict[str, str]:
    """The allowed principals by IAM's ARN: a configured user or role written without its IAM path is the
    one the account lists under that name (:mod:`bedrock_key_audit.configured_principals`, the rule the
    fixers use too); an entry naming no user or role of the account is kept as written and said so."""
    known = [p.arn for p in auth.principals] + [arn for arn, _ in auth.users]
    accounts = {p.account for p in auth.principals}
    out: dict[str, str] = {}
    for arn in configured:
        real, missing = arn, list[str]()
        for acct in accounts:
            resolved, missing = resolve_against([arn], known, acct)
            if resolved[0] != arn or missing:
                real = resolved[0]
                break
        m = ARN.match(arn)
        out.setdefault(real, "configured" if not missing else
                       f"configured, but no user or role of account {m['account'] if m else '?'} "
                       "has that name: correct audit.toml (IAM's ARN, with its path)")
    caller = auth.caller_principal()
    if caller is not None:
        out.setdefault(caller.arn, "the principal running this audit")
    return out


def _listing(accesses: list[Access]) -> str:
    return "; ".join(a.describe() for a in accesses)


def _undecided(accesses: list[Access], what: str) -> str:
    first = accesses[0]
    keys = ", ".join(first.unknown) or "an unknown"
    return (f"{first.kind} {first.principal} may {what} through {'; '.join(first.grants)}, depending on {keys}, "
            f"which the audit cannot know; remove or narrow that grant (or allow the principal) to settle it"
            + (f" ({len(accesses) - 1} more such principal(s) in the evidence)" if len(accesses) > 1 else ""))


def _org_of(inventory: Any, partition: str) -> tuple[OrgPolicies | None, str]:
    """The partition's SCPs/RCPs, and the sentence the row's evidence carries about them."""
    try:
        org = inventory.org_policies(partition)
    except CouldNotDecide as exc:
        # never assumed absent: the verdict stays the one without them (they can only narrow it)
        return None, f"{exc} -- without them every principal above is counted"
    return org, f"read ({org.source}): applied as shown per principal"


def _with_org_id(principals: Sequence[Principal], org: OrgPolicies | None, account: str) -> list[Principal]:
    """The account's principals with the ``aws:PrincipalOrgID`` their requests carry, when the
    organization read (or the ``--org-policies`` export) says it: the organization's id, or none for
    an account in no organization ("AWS global condition context keys", aws:PrincipalOrgID: the
    organization "to which the requesting principal belongs", present only for a member)."""
    if org is None or org.account_id != account:
        return list(principals)
    org_id = org.organization_id if org.in_organization else ""
    if org_id is None:
        return list(principals)
    return [dataclasses.replace(p, org_id=org_id) for p in principals]


def _mentioned_accounts(org: OrgPolicies) -> list[str]:
    docs = [p.document for lv in org.levels for p in (*lv.scps, *lv.rcps)]
    return sorted(set(re.findall(r"(?<!\d)\d{12}(?!\d)", json.dumps(docs))))


def _callers(a: Access, org: OrgPolicies, owner_account: str, scp_of: Mapping[str, OrgPolicies] | None = None,
             principal_tags: Mapping[str, Mapping[str, str] | None] | None = None) -> list[dict[str, Any]]:
    """The caller-describing keys of the principal (or principals) an access stands for.  An
    outsider's organization is the one an ``--org-policies`` export states for its account
    (``organization_id``, "the aws:PrincipalOrgID of the organization's principals"; none for an
    account in no organization), else unknown; its tags are unknown (left out, so a condition on
    them stays undecided);
    the synthetic principal standing for a whole account has no known ARN; the one standing for
    every account no resource policy mentions is asked about each account the organization's
    policies mention as well (it must be stopped for all of them).  A user or role of the owner
    account carries its IAM tags as ``aws:PrincipalTag/*`` (``principal_tags``, :func:`_tag_values`)."""
    accounts = [a.account]
    if a.account == ANY_OTHER_ACCOUNT:
        accounts += [x for x in _mentioned_accounts(org) if x != owner_account]
    out = []
    for acct in accounts:
        keys: dict[str, Any] = {"aws:PrincipalAccount": acct, "kms:CallerAccount": acct,
                                "aws:PrincipalIsAWSService": "false"}
        if not a.caller_arn.endswith(_SYNTHETIC):
            keys["aws:PrincipalArn"] = a.caller_arn
            if acct == owner_account and (principal_tags or {}).get(a.caller_arn) is not None:
                keys.update(_tag_values(a.caller_arn, principal_tags, _principal_tag_keys(org)))
        if acct in (owner_account, org.management_account_id) and org.organization_id:
            keys["aws:PrincipalOrgID"] = org.organization_id
        elif (theirs := (scp_of or {}).get(acct)) is not None and theirs.account_id == acct:
            if not theirs.in_organization:
                keys["aws:PrincipalOrgID"] = keys["aws:PrincipalOrgPaths"] = None
            elif theirs.organization_id:
                keys["aws:PrincipalOrgID"] = theirs.organization_id
        out.append(keys)
    return out


def _ctx(base: dict[str, Any], keys: dict[str, Any]) -> RequestContext:
    merged = {**base, **keys}
    return RequestContext({k: v for k, v in merged.items() if v is not None},
                          absent={k for k, v in merged.items() if v is None})


def _org_bound_readers(readers: list[Access], org: OrgPolicies | None, *, secret_arn: str, region: str,
                       owner_account: str, key_arn_of: dict[str, str | None], now: Any,
                       scp_of: dict[str, OrgPolicies] | None = None,
                       principal_tags: Mapping[str, Mapping[str, str] | None] | None = None,
                       retag: Mapping[str, str] | None = None,
                       principals: Sequence[Principal] = ()) -> tuple[list[Access], list[dict[str, Any]]]:
    """The readers the organization does not certainly stop, and what it said of each reader.

    RCPs on the secret's (member) account bound every caller, inside or outside the organization,
    for ``secretsmanager:GetSecretValue`` and the ``kms:Decrypt`` it implies; the account's SCPs
    bound its own principals' ``GetSecretValue``.  Sources: "Resource control policies (RCPs)" --
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html;
    "SCP evaluation" -- https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html;
    "Policy evaluation logic" -- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html.
    An access through a role the principal assumes (``Access.via``, a role chain) is stopped with that
    role, or when the SCPs deny the principal that ``sts:AssumeRole`` (:func:`_assume_bound`, as for the
    minters; an outsider by its own account's SCPs in ``scp_of``), and *may* read when they leave that
    AssumeRole undecided; one through an escalation step was bounded in the escalation search (:func:`_scp_gate_of`,
    :func:`_final_read_gate`) and is left as it is here, as is one by an AWS service.
    ``scp_of``: the SCPs of other accounts, when known (an ``--org-policies`` export that lists them):
    an outsider of such an account is bounded by them too.  ``principal_tags``: the ``aws:PrincipalTag/*``
    of the account's users and roles (:func:`_principal_tags`)."""
    if org is None or org.account_id != owner_account:
        return readers, []
    readers = list(readers)
    scp_of = {k: o for k, o in (scp_of or {}).items() if k != ANY_OTHER_ACCOUNT}
    readers = list(readers)
    verdicts: dict[int, dict[str, Any] | None] = {}  # reader index -> what was said of it (None: counted as it is)
    for i, a in enumerate(readers):
        if not a.caller_arn:
            verdicts[i] = None
            continue
        bounds = _read_bounds(a, org, secret_arn=secret_arn, region=region, owner_account=owner_account,
                              key_arn_of=key_arn_of, now=now, scp_of=scp_of, principal_tags=principal_tags)
        if bounds and all(b.stopped for b in bounds):
            verdicts[i] = {"principal": a.principal, "stopped": "; ".join(dict.fromkeys(str(b.stopped) for b in bounds))}
            continue
        opened = list(_tag_reason([o for b in bounds for o in b.open], a.caller_arn, retag))
        verdicts[i] = {"principal": a.principal, "undecided (counted)": opened} if opened else None
        if (why := (retag or {}).get(a.caller_arn)) and any(why in o for o in opened):
            readers[i] = a = dataclasses.replace(a, note="; ".join(x for x in (
                a.note, f"its tags, which the organization's policies read, are not facts: {why}") if x))
    # who reads as a role it assumes: stopped with that role, or when the SCPs deny it the sts:AssumeRole
    counted = {a.principal for i, a in enumerate(readers) if not a.via and "stopped" not in (verdicts[i] or {})}
    stopped = {a.principal for i, a in enumerate(readers) if "stopped" in (verdicts[i] or {})} - counted
    arn_partition = secret_arn.split(":")[1]
    for i, a in enumerate(readers):
        if not a.via:
            continue
        if a.via in stopped:
            verdicts[i] = {"principal": a.principal, "stopped": f"it reads only as role {a.via}, which the organization's "
                                                                "policies stop"}
            continue
        why, keys = _assume_bound(org, a, account_id=owner_account, arn_partition=arn_partition,
                                  principal_tags=principal_tags, scp_of=scp_of, principals=principals, now=now)
        if why:
            verdicts[i] = {"principal": a.principal, "stopped": why, **_own_scps(a, why)}
        elif keys:
            readers[i] = _undecided_assume(a, keys)
            verdicts[i] = {"principal": a.principal, "undecided (may read)": list(keys)}
        else:
            verdicts[i] = None
    kept = [a for i, a in enumerate(readers) if "stopped" not in (verdicts[i] or {})]
    return kept, [d for d in verdicts.values() if d is not None]


def _escalations_kept_out(kept_out: Mapping[str, Access], counted: set[str]) -> list[dict[str, Any]]:
    """What the organization said of the principals whose every escalation path it stops (a call of a step,
    or the final action, certainly denied): each with the path it would have had.  One still counted by
    another way (directly, by a role chain, by one call on the secret or key) is not named."""
    return [{"principal": arn, "stopped": "the SCPs/RCPs deny a call of each escalation path it has, or its final "
                                          f"read (without them: {a.note})"}
            for arn, a in kept_out.items() if arn not in counted]


def _read_bounds(a: Access, org: OrgPolicies, *, secret_arn: str, region: str, owner_account: str,
                 key_arn_of: Mapping[str, str | None], now: Any, scp_of: Mapping[str, OrgPolicies],
                 principal_tags: Mapping[str, Mapping[str, str] | None] | None) -> list[Bound]:
    """What the SCPs (of the caller's account) and RCPs (of the secret's) say of the read ``a`` stands for
    (its caller: ``a.caller_arn``; in ``a.region``): ``GetSecretValue``, the ``kms:Decrypt`` it implies and
    ``a.calls``, once per account the caller stands for (:func:`_callers`)."""
    arn = secret_arn if not a.region else secret_arn.replace(f":{region}:", f":{a.region}:", 1)
    base, kms_base = read_contexts(now, a.region or region, owner_account, arn)
    key_arn = key_arn_of.get(a.region or region)
    bounds = []
    for keys in _callers(a, org, owner_account, scp_of, principal_tags):
        reqs: list[Request] = [(GET_SECRET_VALUE, arn, _ctx(base, keys))]
        if key_arn:
            reqs.append((DECRYPT, key_arn, _ctx(kms_base, keys)))
        # the call an escalation makes first: the caller's own request at the read's time, sent to the Region of
        # what it acts on (a replica's read may follow a resource policy written on the primary, in its Region)
        reqs += [(action, resource, _ctx({**base, "aws:RequestedRegion": _arn_region(resource) or base[
            "aws:RequestedRegion"]}, keys)) for action, resource in a.calls]
        scp_org = org if a.account == owner_account else scp_of.get(a.account)
        bounds.append(bound_all(reqs, scp_org=scp_org, rcp_org=org))
    return bounds


def _org_stops(org: OrgPolicies | None, *, secret_arn: str, region: str, owner_account: str,
               key_arn_of: Mapping[str, str | None], now: Any,
               principal_tags: Mapping[str, Mapping[str, str] | None] | None) -> OrgStops | None:
    """Do the account's SCPs and the RCPs certainly stop a one-call path (its call and the read after it, the
    principal's own; :func:`_read_bounds`, as :func:`_org_bound_readers` judges it afterwards)?  So the path
    search (:func:`~bedrock_key_audit.escalation_resource.resource_escalations`) can prefer one they leave open,
    e.g. on a replica's key in a Region where the SCPs do not deny the call."""
    if org is None or org.account_id != owner_account:
        return None

    def stops(a: Access) -> bool:
        bounds = _read_bounds(a, org, secret_arn=secret_arn, region=region, owner_account=owner_account,
                              key_arn_of=key_arn_of, now=now, scp_of={}, principal_tags=principal_tags)
        return bool(bounds) and all(b.stopped for b in bounds)
    return stops


def _arn_region(arn: str) -> str:
    """The Region field of an ARN ("" when it has none)."""
    parts = arn.split(":", 5)
    return parts[3] if len(parts) == 6 and parts[0] == "arn" else ""


def _final_read_gate(org: OrgPolicies | None, *, secret_arn: str, region: str, owner_account: str,
                     key_arn_of: Mapping[str, str | None], now: Any,
                     principal_tags: Mapping[str, Mapping[str, str] | None] | None,
                     retag: Mapping[str, str] | None = None) -> FinalGate | None:
    """The organization's bound on the read that ends an escalation path (:data:`FinalGate`): the
    principal making it (one of the account's users or roles) is bounded as a direct reader is
    (:func:`_read_bounds`: the account's SCPs and RCPs on ``GetSecretValue`` and ``kms:Decrypt``).  The
    path reads in one Region (``Access.region``); when they stop it there, the secret's other Regions
    (its replicas) are asked too, and the read counts when one lets it through: the principal might
    read a replica its policies allow as well -- never a reader missed."""
    if org is None or org.account_id != owner_account:
        return None
    memo: dict[tuple[str, str], tuple[bool | None, tuple[str, ...]]] = {}
    regions = ["" if r == region else r for r in key_arn_of]

    def one(arn: str, where: str) -> tuple[bool | None, tuple[str, ...]]:
        if (arn, where) not in memo:
            probe = Access(principal=arn, kind="", certain=True, grants=(), region=where, account=owner_account,
                           caller_arn=arn)
            [b] = _read_bounds(probe, org, secret_arn=secret_arn, region=region, owner_account=owner_account,
                               key_arn_of=key_arn_of, now=now, scp_of={}, principal_tags=principal_tags)
            memo[arn, where] = (False, ()) if b.stopped else (None, _tag_reason(b.open, arn, retag)) if b.open \
                else (True, ())
        return memo[arn, where]

    def gate(arn: str, ability: Access) -> tuple[bool | None, tuple[str, ...]]:
        first = one(arn, ability.region)
        if first[0] is not False:
            return first
        others = [one(arn, r) for r in regions if r != ability.region]
        return next((o for o in others if o[0] is True), next((o for o in others if o[0] is None), first))
    return gate


@verdict("secret.readers_restricted", reads=("account_authorization", "key_grants", "key_policy", "kms_key", "org_export",
                                             "org_policies", "secret_replicas", "secret_resource_policy", "user_facts"))
def readers_restricted(check: Any, secret: Any, inventory: Any, audit_config: Any, now: Any) -> None:
    """Every principal that can ``secretsmanager:GetSecretValue`` the secret and ``kms:Decrypt``
    its key, from the secret's resource policy, every identity policy of the GovCloud account
    (users, groups, roles) and the key policy (and grants) of its KMS key; fails when one is
    outside ``secret.allowed_readers``.

    The GovCloud account's SCPs (and RCPs, on the read) bound every way in, as for the minters: a direct
    read and one by a single call (:func:`_org_bound_readers`), a role chain (stopped with its role, or by
    a denied ``sts:AssumeRole``), and each escalation step and its final read (:func:`_scp_gate_of`,
    :func:`_final_read_gate`), ``aws:PrincipalTag/*`` decided from the IAM tags (:func:`_principal_tags`) unless a
    principal on the path may change them (:func:`_facts_of_tags`: then unknown, and the detail says who may);
    so too in the principal's own policies (identity, boundary, the secret's resource and key policies) when one
    reads ``aws:PrincipalTag/*`` (:func:`_tags_not_facts`): an ABAC grant on a tag it may set is no fact.
    IAM User Guide, "Policy evaluation logic": SCPs bound every request of a member account's principals
    (not the management account's); "AWS global condition context keys": aws:PrincipalTag.  The detail
    names the principals they keep out."""
    check.resource = secret.arn or f"secret {secret.secret_id}"
    if not secret.exists or secret.pending_deletion:
        raise CouldNotDecide(f"secret {secret.secret_id} is missing or pending deletion (see secret.exists)")

    def key_access(kms_id: str | None, region: str) -> KeyAccess | None:
        if not kms_id or kms_id == "alias/aws/secretsmanager" or kms_id.endswith(":alias/aws/secretsmanager"):
            return None
        meta = inventory.kms_key("govcloud", kms_id, region=region)
        if meta.get("missing"):
            raise CouldNotDecide(f"secret {secret.secret_id} names KMS key {kms_id} in {region}, which does not "
                                 "exist (see secret.encrypted_with_cmk)")
        if meta.get("KeyManager", "CUSTOMER") != "CUSTOMER":
            return None  # an AWS managed key: its documented policy (access.py)
        arn = meta.get("Arn", kms_id)
        policy_text, grants = inventory.g.fanout([lambda: inventory.key_policy(arn),
                                                  lambda: inventory.key_grants(arn)])
        versions = (secret.describe or {}).get("VersionIdsToStages")
        return KeyAccess(arn, policy_text, tuple(grants), versions if isinstance(versions, dict) else None)

    _, _, _, region, account, _ = secret.arn.split(":", 5)
    # independent reads side by side (the audit's other reads were prefetched)
    auth, policy, key, replicas = inventory.g.fanout([
        lambda: inventory.account_authorization("govcloud"), lambda: inventory.secret_resource_policy(),
        lambda: key_access(secret.kms_key_id, region), lambda: inventory.secret_replicas(secret.arn, secret.describe or {})])
    replica_keys = inventory.g.fanout([(lambda r=r: key_access(r.kms_key_id, r.region)) for r in replicas])
    tags = {str(t.get("Key")): str(t.get("Value")) for t in (secret.describe or {}).get("Tags") or []}
    org, org_note = _org_of(inventory, "govcloud")
    principals = _with_org_id(auth.principals, org, account)
    key_arn_of = {region: key.arn if key else None,
                  **{r.region: (k.arn if k else None) for r, k in zip(replicas, replica_keys, strict=True)}}
    # the organization bounds an escalation as it bounds the minters' (each call of a step; here the
    # final read too), with the aws:PrincipalTag/* of the account's users and roles
    arn_partition = secret.arn.split(":")[1]
    # a role's trust policy reading the caller's aws:PrincipalTag/* decides who may assume a role that reads: the
    # caller's tags are then read as its own too (no fact when someone acting as the caller may change them)
    own_reads = _reads_principal_tag(principals, policy, *(k.policy for k in (key, *replica_keys) if k),
                                     *_trust_documents(principals))
    row_docs = (policy, *(k.policy for k in (key, *replica_keys) if k))
    principal_tags, retag, scp = _facts_of_tags(auth, org, account_id=account, arn_partition=arn_partition, now=now,
                                                principals=principals, own=own_reads, docs=row_docs,
                                                facts_of=_facts_reader(check, inventory, "govcloud"))
    # a principal that may rewrite its own tags is not judged by them in its own policies either; a role whose
    # tags no one may change and no session may override is
    principals = _tags_not_facts(principals, retag, principal_tags)
    final = _final_read_gate(org, secret_arn=secret.arn, region=region, owner_account=account, key_arn_of=key_arn_of,
                             now=now, principal_tags=principal_tags, retag=retag)
    kept_out: dict[str, Access] = {}
    kept_by_call: dict[str, Access] = {}
    try:
        readers = secret_readers(principals, secret_arn=secret.arn, region=region, account=account,
                                 resource_policy=policy, key=key, now=now, secret_tags=tags)
        for r, rkey in zip(replicas, replica_keys, strict=True):
            # the resource policy is replicated with the secret; the key is the replica's own
            readers += [dataclasses.replace(a, region=r.region) for a in secret_readers(
                principals, secret_arn=r.arn, region=r.region, account=account, resource_policy=policy,
                key=rkey, now=now, secret_tags=tags)]
        readers += assumer_accesses(readers, principals, now=now, what="read the secret")

        def own(p: Principal) -> Access | None:
            """``p`` (as it stands, or with a policy written on it) reads the secret or a replica."""
            got = secret_readers([p], secret_arn=secret.arn, region=region, account=account, resource_policy=policy,
                                 key=key, now=now, secret_tags=tags)
            for r, rkey in zip(replicas, replica_keys, strict=True):
                got += [dataclasses.replace(a, region=r.region) for a in secret_readers(
                    [p], secret_arn=r.arn, region=r.region, account=account, resource_policy=policy, key=rkey,
                    now=now, secret_tags=tags)]
            return next((a for a in got if a.certain), got[0] if got else None)

        def escalated(facts: Any = None, wanted: set[str] | None = None) -> list[Access]:
            kept_out.clear()
            return escalations_to(principals, readers, actions=(GET_SECRET_VALUE,), own=own,
                                  verb="reads the secret", partition=arn_partition, account_id=account,
                                  now=now, gaad=auth.gaad, managed=auth.managed, user_facts=facts, wanted=wanted,
                                  scp=scp, final=final, kept_out=kept_out)
        wanted: set[str] = set()
        esc = escalated(wanted=wanted)
        if wanted and any(not a.certain for a in esc):
            # a takeover of a user by a new access key or console password depends on what the user holds
            facts = inventory.user_facts("govcloud", wanted)
            check.evidence("iam:ListAccessKeys+GetLoginProfile", {
                arn: {"access_keys": f.access_keys, "login_profile": f.login_profile} for arn, f in facts.items()})
            esc = escalated(facts)
        readers = readers + esc
        targets = [Target(secret.arn, region, key), *(Target(r.arn, r.region, k)
                                                      for r, k in zip(replicas, replica_keys, strict=True))]
        # the organization bounds these paths too: a stopped one gives way to another Region's, each learning
        # call and each step of a grant to a role it assumes is gated as an escalation step is
        by_call = resource_escalations(principals, readers, targets=targets, account=account, resource_policy=policy,
                                       now=now, secret_tags=tags, scp=scp, final=final, kept_out=kept_by_call,
                                       stops=_org_stops(org, secret_arn=secret.arn, region=region, owner_account=account,
                                                        key_arn_of=key_arn_of, now=now, principal_tags=principal_tags))
        readers = readers + by_call
        seen = {a.principal for a in readers}
        readers += [a for a in assumer_accesses(esc + by_call, principals, now=now, what="read the secret")
                    if a.principal not in seen]
    except PolicyError as exc:
        raise CouldNotDecide(f"cannot evaluate the policies of secret {secret.secret_id}: {exc}") from None
    readers, org_said = _org_bound_readers(readers, org, secret_arn=secret.arn, region=region, owner_account=account,
                                           key_arn_of=key_arn_of, now=now,
                                           scp_of=getattr(inventory, "org_export", None) or {},
                                           principal_tags=principal_tags, retag=retag, principals=principals)
    org_said += _escalations_kept_out({**kept_by_call, **kept_out}, {a.principal for a in readers})
    readers = _name_retaggers(certain_first(readers), retag)
    # the principals configured to run the audit read the secret by design, as the caller does
    allowed = _allowed(audit_config.allowed_readers + audit_config.auditors, auth)
    extra = outside(readers, allowed)
    check.evidence("organization-policies", {"SCPs/RCPs": org_note, "per principal": org_said,
                                             **({"policies": org.evidence()} if org is not None else {})})
    check.evidence("secretsmanager:GetResourcePolicy", {"ResourcePolicy": policy})
    check.evidence("kms:GetKeyPolicy+ListGrants", {"KeyArn": key.arn, "Policy": key.policy, "Grants": list(key.grants)}
                   if key else {"KeyArn": None, "note": "AWS managed key aws/secretsmanager"})
    check.evidence("secretsmanager:DescribeSecret (replicas)", {"replicas": [
        {"Region": r.region, "ARN": r.arn, "KmsKeyId": r.kms_key_id or "aws/secretsmanager (default)",
         "Status": r.status, "KeyArn": k.arn if k else None} for r, k in zip(replicas, replica_keys, strict=True)]})
    check.evidence("iam:GetAccountAuthorizationDetails", {"partition": "govcloud", **auth.counts})
    check.evidence("readers", {"allowed": allowed, "not_evaluated": f"the account root user; {UNSEEN}; {TRUST_SCOPE}; "
                                                                  f"{not_evaluated_sentence()}",
                               "readers": [{**a.as_dict(), "allowed": a.principal in allowed} for a in readers]})
    certain = [a for a in extra if a.certain]
    org_part = _org_part(org, org_note, org_said, "the organization's SCPs/RCPs")
    check.require(not certain, f"secret {secret.secret_id} can be read by {len(certain)} principal(s) outside "
                               f"secret.allowed_readers: {_listing(certain)}"
                               + (org_part if org is not None else f" ({org_note.split(' -- ')[0]})"))
    if extra:
        raise CouldNotDecide(f"secret {secret.secret_id}: {_undecided(extra, 'read it')}")
    who = _listing(readers) if readers else "no principal of the account"
    check.passed(f"only allowed principals can read secret {secret.secret_id}, directly or by one privilege-escalation "
                 f"step: {who}{org_part} (root user, session policies, escalation chains and paths through existing "
                 f"compute resources not evaluated: see the evidence; role chains followed to depth {CHAIN_DEPTH})")


def certain_first(accesses: list[Access]) -> list[Access]:
    """A principal that certainly reaches the key (directly, or by a path the organization's policies leave it)
    is listed by its certain accesses alone.  Applied after the SCPs/RCPs bound them
    (:func:`_org_bound_readers`), so a certain path they stop leaves the principal's possible accesses standing:
    the row then ends ``error``, never ``pass``."""
    surer = {a.principal for a in accesses if a.certain}
    return [a for a in accesses if a.certain or a.principal not in surer]


@verdict("iam.key_minting_restricted", reads=("account_authorization", "fleet_users", "org_export", "org_policies",
                                               "user_facts"),
         test="test_key_minting_restricted",
         all_keys=lambda pytestconfig: bool(pytestconfig.getoption("all_keys", False)))
def key_minting_restricted(check: Any, inventory: Any, audit_config: Any, now: Any, all_keys: bool) -> None:
    """Every principal of the commercial account that may ``iam:CreateServiceSpecificCredential``
    or ``iam:ResetServiceSpecificCredential`` for ``bedrock.amazonaws.com`` on the audited user, on
    any user, or on a user it may create, or that can give itself that permission in one step of
    the documented IAM privilege-escalation paths (bedrock_key_audit/escalation.py, which cites
    them); fails when one is outside ``credential.allowed_minters``.  With ``--all-keys`` the
    row also lists every other user holding a Bedrock key.  A principal whose tags a principal on its
    path may change (``iam:TagUser``/``UntagUser`` on itself, :func:`_facts_of_tags`) has its
    ``aws:PrincipalTag/*`` unknown in its own policies too (:func:`_tags_not_facts`; IAM User Guide, "Define
    permissions based on attributes with ABAC authorization"): it *may* mint, the detail naming who may tag it."""
    auth = inventory.account_authorization("commercial")
    user_arn = auth.user_arn(audit_config.user_name)  # from the same answer: no iam:GetUser dependency
    check.resource = user_arn or f"iam user {audit_config.user_name}"
    caller_arn = auth.caller.get("Arn") or ""
    arn_partition = caller_arn.split(":")[1] if caller_arn.count(":") >= 2 else "aws"
    account_id = next((arn.split(":")[4] for arn, _ in auth.users), "") or (
        caller_arn.split(":")[4] if caller_arn.count(":") >= 5 else "")
    org, org_note = _org_of(inventory, "commercial")
    tags, retag, scp = _facts_of_tags(auth, org, account_id=account_id, arn_partition=arn_partition, now=now,
                                      own=_reads_principal_tag(auth.principals, *_trust_documents(auth.principals)),
                                      facts_of=_facts_reader(check, inventory, "commercial"))
    # a principal that may rewrite its own tags is not judged by them in its own policies either; a role whose
    # tags no one may change and no session may override is
    principals = _tags_not_facts(auth.principals, retag, tags)
    try:
        wanted: set[str] = set()
        minters = escalation_minters(principals, users=auth.users, audited_user_arn=user_arn,
                                     arn_partition=arn_partition, account_id=account_id, now=now, gaad=auth.gaad,
                                     managed=auth.managed, wanted=wanted, scp=scp)
        if wanted and any(not a.certain for a in minters):
            # a takeover of a user by a new access key or console password depends on what the user holds
            facts = inventory.user_facts("commercial", wanted)
            check.evidence("iam:ListAccessKeys+GetLoginProfile", {
                arn: {"access_keys": f.access_keys, "login_profile": f.login_profile} for arn, f in facts.items()})
            minters = escalation_minters(principals, users=auth.users, audited_user_arn=user_arn,
                                         arn_partition=arn_partition, account_id=account_id, now=now, gaad=auth.gaad,
                                         managed=auth.managed, user_facts=facts, scp=scp)
    except PolicyError as exc:
        raise CouldNotDecide(f"cannot evaluate the commercial account's policies: {exc}") from None
    try:  # whoever can assume a role that mints (or escalates to minting) can mint too
        minters += assumer_accesses(minters, principals, now=now, what="mint or reset a Bedrock API key")
    except PolicyError as exc:
        raise CouldNotDecide(f"cannot evaluate the trust policies of the commercial account's roles: {exc}") from None
    if org is not None and org.account_id == account_id and org.is_management:
        org_note += (f"; account {account_id} is the organization's management account, which SCPs do not affect: "
                     "they stop none of its principals")
    minters, org_said = _org_bound_minters(minters, org, user_arn=user_arn, arn_partition=arn_partition,
                                           account_id=account_id, principal_tags=tags,
                                           user_arns=[arn for arn, _ in auth.users], retag=retag,
                                           scp_of={k: o for k, o in (getattr(inventory, "org_export", None) or {}).items()
                                                   if k != ANY_OTHER_ACCOUNT},
                                           principals=principals, now=now)
    minters = _name_retaggers(minters, retag)
    allowed = _allowed(audit_config.allowed_minters, auth)
    extra = outside(minters, allowed)
    others: list[str] = []
    if all_keys:
        audited = (user_arn or audit_config.user_name).rsplit("/", 1)[-1]
        others = [u for u in inventory.fleet_users() if u.lower() != audited.lower()]
    evidence: dict[str, Any] = {"allowed": allowed,
                                "not_evaluated": f"the account root user; {UNSEEN}; {TRUST_SCOPE}; "
                                                 f"{not_evaluated_sentence()}",
                                "minters": [{**a.as_dict(), "allowed": a.principal in allowed} for a in minters]}
    if all_keys:
        evidence["other_users_with_bedrock_keys"] = others
    check.evidence("organization-policies", {"SCPs": org_note, "per principal": org_said,
                                             **({"policies": org.evidence()} if org is not None else {})})
    check.evidence("iam:GetAccountAuthorizationDetails", {"partition": "commercial", **auth.counts})
    check.evidence("minters", evidence)
    also = (f"; other users holding a Bedrock key: {', '.join(others) or 'none'}" if all_keys else "")
    certain = [a for a in extra if a.certain]
    maybe = [a for a in extra if not a.certain]
    more = (f"; and {len(maybe)} more that may mint, depending on "
            f"{', '.join(dict.fromkeys(k for a in maybe for k in a.unknown)) or 'an unknown'} (see the evidence)"
            if maybe else "")
    check.require(not certain, f"{len(certain)} principal(s) outside credential.allowed_minters can mint or reset a "
                               f"Bedrock API key: {_listing(certain)}{more}{also}"
                               + ("" if org is not None else f" ({org_note.split(' -- ')[0]})"))
    if extra:
        how = f" ({extra[0].note})" if extra[0].note else ""
        raise CouldNotDecide(f"{_undecided(extra, 'mint or reset a Bedrock API key' + how)}{also}")
    who = _listing(minters) if minters else "no principal of the account"
    org_part = _org_part(org, org_note, org_said, "the account's SCPs")
    check.passed(f"only allowed principals can mint or reset a Bedrock API key, on any user or one they create, "
                 f"directly or by one privilege-escalation step: {who}{org_part} (root user, escalation chains and paths "
                 f"through existing compute resources not evaluated: see the evidence){also}")



def _org_part(org: OrgPolicies | None, org_note: str, org_said: list[dict[str, Any]], by: str) -> str:
    """The pass sentence's clause on the organization: who ``by`` keeps out, or that its policies were not read."""
    stopped = [d["principal"] + (f" (by {d['by its own SCPs']})" if "by its own SCPs" in d else "")
               for d in org_said if "stopped" in d]
    return (f"; kept out by {by}: {', '.join(stopped)}" if stopped else "") + (
        "" if org is not None else f"; {org_note.split(' -- ')[0]}")

def _org_bound_minters(minters: list[Access], org: OrgPolicies | None, *, user_arn: str | None, arn_partition: str,
                       account_id: str, principal_tags: Mapping[str, Mapping[str, str] | None] | None = None,
                       user_arns: Sequence[str] = (), retag: Mapping[str, str] | None = None,
                       scp_of: Mapping[str, OrgPolicies] | None = None, principals: Sequence[Principal] = (),
                       now: Any = None) -> tuple[list[Access], list[dict[str, Any]]]:
    """The minters the SCPs of the commercial account do not certainly stop ("SCP evaluation" --
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html:
    an SCP bounds what a member account's principals may do, whatever their identity policies grant;
    IAM is not a service RCPs cover).  A direct minter counts only for the mint actions its own
    policies grant (``Access.actions``; every mint action when not known) that the SCPs do not deny:
    it is stopped when every way to make each of them -- Create with or without an age, Reset, on
    the audited user or any other -- is denied to it.  An action the SCPs leave undecided (a
    condition on a key the audit cannot know) makes the minter one that *may* mint, naming the key;
    it stays certain only through an action its grant and the SCPs both certainly allow.  A user
    the SCPs protect (every way to mint on it denied) is not named as mintable.

    The request's known keys: ``aws:RequestedRegion`` is us-east-1 (us-gov-west-1 in GovCloud) --
    IAM User Guide, "AWS global condition context keys" (aws:RequestedRegion: "for global services
    such as IAM, the Region is us-east-1"; "AWS GovCloud (US)": us-gov-west-1) -- except for an
    ``sts:AssumeRole``, which may be sent to any Region's STS endpoint (:func:`_requested_regions`:
    permitted when permitted in one); ``aws:PrincipalTag/*``
    are the user's or role's tags (``principal_tags``: ARN -> tags; None when a session may carry
    other tags, so the key stays unknown -- IAM User Guide, "Passing session tags in AWS STS":
    session tags override the role's tags of the same key).

    A minter that gets there by an escalation step was bounded by the SCPs within the escalation search
    (:func:`_scp_gate_of`: each call of the step, and the final mint by whoever makes it), so it is
    left as it is here.  One that mints by assuming a role makes the role's calls: it is stopped when
    that role is, or when the SCPs deny it ``sts:AssumeRole`` (of that role and of any other, the
    first hop of a chain; an outsider's own account's SCPs, when ``scp_of`` -- an ``--org-policies``
    export -- lists them: :func:`_assume_bound`); it *may* mint when they leave that AssumeRole
    undecided (a condition on a key the audit cannot know: the row ends ``error`` naming it and its
    SCP, unless a certain minter fails it), and is counted otherwise."""
    if org is None or org.account_id != account_id:
        return minters, []
    other_user = f"arn:{arn_partition}:iam::{account_id}:user/any-other-user"
    region = home_region(arn_partition)
    tag_keys = _principal_tag_keys(org)
    named_users = {arn.rsplit("/", 1)[-1]: arn for arn in (*user_arns, *([user_arn] if user_arn else []))}
    kept: list[Access] = []
    said: list[dict[str, Any]] = []
    stopped: set[str] = set()
    for a in sorted(minters, key=lambda m: bool(m.via)):  # the roles before those who assume them
        if a.via:
            if a.via in stopped:
                stopped.add(a.principal)
                said.append({"principal": a.principal, "stopped": f"it mints only as role {a.via}, which the SCPs stop"})
                continue
            why, open_keys = _assume_bound(org, a, account_id=account_id, arn_partition=arn_partition,
                                           principal_tags=principal_tags, scp_of=scp_of, principals=principals,
                                           now=now)
            if why:
                stopped.add(a.principal)
                said.append({"principal": a.principal, "stopped": why, **_own_scps(a, why)})
                continue
            if open_keys:
                a = _undecided_assume(a, open_keys)
                said.append({"principal": a.principal, "undecided (may mint)": list(open_keys)})
            kept.append(a)
            continue
        if a.kind not in ("user", "role") or not a.principal.startswith("arn:") or ESCALATION in a.note:
            kept.append(a)
            continue
        keys = {**_caller_keys(org, a.principal, account_id, region, principal_tags, tag_keys),
                "iam:ServiceSpecificCredentialServiceName": BEDROCK_SERVICE}
        granted: dict[str, tuple[str, ...]] = dict(a.actions) if a.actions else dict.fromkeys(MINT_ACTIONS, ())

        def alts(action: str, resources: Sequence[str], keys: dict[str, Any] = keys) -> list[list[Request]]:
            return [[(action, res, _ctx({**keys, **overlay}, {}))]
                    for overlay in MINT_REQUESTS[action] for res in dict.fromkeys(resources)]

        per_action = {action: alts(action, [user_arn or other_user, other_user])
                      for action in MINT_ACTIONS if action in granted}
        denied = {action: f"{action} {why}" for action, alts_ in per_action.items() if (why := _denial(org, alts_))}
        if denied.keys() == per_action.keys():
            stopped.add(a.principal)
            said.append({"principal": a.principal, "stopped": "; ".join(dict.fromkeys(denied.values()))})
            continue
        opened: dict[str, tuple[str, ...]] = {}
        for action, alts_ in per_action.items():
            if action in denied:
                continue
            gates = [scp_gate(org, x, ctx, res) for alt in alts_ for x, res, ctx in alt]
            if not any(g.permits is True for g in gates):
                opened[action] = tuple(dict.fromkeys(
                    _why_unknown(k, a.principal, retag) + f" (a condition of {', '.join(g.open)})"
                    for g in gates if g.permits is None for k in g.unknown))
        if opened:
            said.append({"principal": a.principal, "undecided (may mint)": [
                f"{x}: {k}" for x, ks in opened.items() for k in ks]})
        gone = {f"{_short(x)} on user {name}" for name, arn in named_users.items() for x in per_action
                if x not in denied and f"{_short(x)} on user {name}" in a.note and _denial(org, alts(x, [arn]))}
        if denied:
            said.append({"principal": a.principal, "stopped for": sorted(denied), "by": list(denied.values())})
        if gone:
            said.append({"principal": a.principal, "not on": sorted(gone)})
        if denied or opened or gone:
            a = _narrowed(a, granted, denied, user_arn.rsplit("/", 1)[-1] if user_arn else None, opened, gone)
        kept.append(a)
    return kept, said


def _assume_bound(org: OrgPolicies, a: Access, *, account_id: str, arn_partition: str,
                  principal_tags: Mapping[str, Mapping[str, str] | None] | None,
                  scp_of: Mapping[str, OrgPolicies] | None = None, principals: Sequence[Principal] = (),
                  now: Any = None) -> tuple[str, tuple[str, ...]]:
    """What the SCPs say of the ``sts:AssumeRole`` an access through role ``a.via`` starts with -- of that
    role, and of any other (the first hop of a chain) --: why they deny it (first), or the keys that leave
    it undecided (second: a condition the audit cannot know, such as aws:MultiFactorAuthPresent,
    aws:SourceIp or aws:SourceVpc, each named with its SCP); ("", ()) when they permit it in some Region.

    A principal of the account (user or role) is bounded by the account's SCPs, its request carrying what
    :func:`_caller_keys` says.  An outsider (``kind`` external: an account, or a user or role of one) is
    bounded by its own account's SCPs when ``scp_of`` (an ``--org-policies`` export) lists them, its request
    carrying what :func:`_callers` knows of it; else nothing is said of it.  IAM User Guide, "Policy
    evaluation logic" (an SCP bounds every request of a member account's principals) and "Cross-account
    policy evaluation logic" (the caller's account's policies bound its request to another account).

    AWS evaluates the SCPs, the trust policy and the caller's own policies in the one Region whose endpoint
    the caller picks: with ``principals`` (and ``now``) given, the AssumeRole of ``a.via`` is asked of the
    SCPs only in the Regions where the trust policy and the caller's policies do not deny it
    (:func:`bedrock_key_audit.trust.assume_region_outcomes`), and the one of any other role (the first hop
    of a chain) only when the caller may assume another role (:func:`bedrock_key_audit.trust.assumes_another_role`)."""
    bound: OrgPolicies | None
    if a.kind == "external":
        m = re.fullmatch(r"arn:[^:]+:iam::(\d{12}):(.+)", a.principal)
        if m is None or m[1] == account_id:
            return "", ()
        theirs = (scp_of or {}).get(m[1])
        caller = a.principal if m[2] != "root" else f"arn:{arn_partition}:iam::{m[1]}{_SYNTHETIC}"
        key_sets = _callers(dataclasses.replace(a, account=m[1], caller_arn=caller), org, account_id, scp_of)
        bound = theirs if theirs is not None and theirs.account_id == m[1] else None
    elif a.kind in ("user", "role") and a.principal.startswith("arn:"):
        key_sets = [_caller_keys(org, a.principal, account_id, home_region(arn_partition), principal_tags,
                                 _principal_tag_keys(org))]
        bound = org
    else:
        return "", ()
    # the RCPs of the role's account bound every caller's sts:AssumeRole of its roles, inside or outside the
    # organization ("Resource control policies (RCPs)": STS is a service RCPs cover); rcp_gate says when none apply
    rcps = org if any(lv.rcps for lv in org.levels) else None
    if bound is None and rcps is None:
        return "", ()
    any_role = f"arn:{arn_partition}:iam::{account_id}:role/any-role"
    reads_region = (bound is not None and _reads_requested_region(bound)) or (
        rcps is not None and _reads_requested_region(rcps, kinds=("rcps",)))
    everywhere = _requested_regions(reads_region, "sts:AssumeRole", arn_partition)
    # one alternative per Region the request may be sent to (_requested_regions): stopped only when denied in each;
    # the role's own AssumeRole only where its trust and the caller's policies let it be made
    role = next((p for p in principals if p.arn == a.via and p.kind == "role"), None)
    try:
        own = assume_region_outcomes(role, a.principal, principals, now=now) if role is not None and now else None
        chain = own is None or role is None or assumes_another_role(role, a.principal, principals, now=now)
    except PolicyError:  # a trust policy that cannot be read: every Region, and any role, as without them
        own, chain = None, True
    wheres = {a.via: tuple(own) if own else everywhere}
    if chain:
        wheres.setdefault(any_role, everywhere)
    alts: list[list[Request]] = [[("sts:AssumeRole", res, _ctx({**keys, "aws:RequestedRegion": where}, {}))]
                                 for keys in key_sets for res, regions in wheres.items() for where in regions]
    # each way in (caller keys, role, Region) is stopped when the caller's SCPs or the role account's RCPs deny it
    pairs = [(scp_gate(bound, x, ctx, res) if bound is not None else None,
              rcp_gate(rcps, x, ctx, res) if rcps is not None else None) for alt in alts for x, res, ctx in alt]
    if pairs and all(any(g is not None and g.permits is False for g in pair) for pair in pairs):
        clauses = [_denied_by(scp, "SCP") if scp is not None and scp.permits is False else _denied_by(rcp, "RCP")
                   for scp, rcp in pairs]
        common = [c for c in clauses[0] if all(c in other for other in clauses[1:])]
        why = "denied by " + ", ".join(common or dict.fromkeys(c for cs in clauses for c in cs))
        limited = f" (in each Region where its own policies and the trust policy allow it: {', '.join(own)})" \
            if own and any_role not in wheres else ""
        return f"sts:AssumeRole {why}{limited}", ()
    if any(all(g is None or g.permits is True for g in pair) for pair in pairs):
        return "", ()
    undecided = [g for pair in pairs if not any(g is not None and g.permits is False for g in pair)
                 for g in pair if g is not None and g.permits is None]
    return "", tuple(dict.fromkeys(f"{k} (a condition of {', '.join(g.open)})" for g in undecided
                                   for k in g.unknown)) or ("a condition of the SCPs/RCPs",)


def _denied_by(gate: Any, kind: str) -> tuple[str, ...]:
    """The statements a denying gate names (``gate.deny``), or its sentence ("not allowed by any SCP ...")."""
    return tuple(gate.deny) if gate.outcome == "denied" else (gate.sentence(kind),)


def _own_scps(a: Access, why: str) -> dict[str, str]:
    """For an outsider kept out by its own account's SCPs (:func:`_assume_bound`'s ``why`` names an SCP): which
    they are."""
    return {"by its own SCPs": f"the SCPs of its account {a.principal.split(':')[4]} (--org-policies export)"} \
        if a.kind == "external" and ("SCP " in why) else {}


def _undecided_assume(a: Access, keys: tuple[str, ...]) -> Access:
    """``a``, whose ``sts:AssumeRole`` the SCPs leave undecided (``keys``): it *may* get there, naming the keys."""
    return dataclasses.replace(a, certain=False, unknown=tuple(dict.fromkeys(
        [*(a.unknown if not a.certain else ()), *(f"sts:AssumeRole: {k}" for k in keys)])))


def _reads_requested_region(org: OrgPolicies, kinds: Sequence[str] = ("scps",)) -> bool:
    """Does any SCP (or, with ``kinds``, RCP) mention ``aws:RequestedRegion`` (in a condition, or as a policy
    variable)?  A textual test: it may only ask for more evaluations than needed, never fewer."""
    return any("aws:requestedregion" in (p.document if isinstance(p.document, str) else json.dumps(p.document)).lower()
               for lv in org.levels for kind in kinds for p in getattr(lv, kind))


def _requested_regions(reads_region: bool, action: str, arn_partition: str) -> tuple[str, ...]:
    """The ``aws:RequestedRegion`` values a principal's request for ``action`` may carry, as SCPs that read that key
    (``reads_region``: :func:`_reads_requested_region`) see it.

    IAM (and the other global services on a path) is called at us-east-1 (us-gov-west-1 in GovCloud):
    IAM User Guide, "AWS global condition context keys", aws:RequestedRegion.  AWS STS is not: it has
    Regional endpoints, the caller picks one, and ``aws:RequestedRegion`` is that endpoint's Region
    (IAM User Guide, "Manage AWS STS in an AWS Region"; the global endpoint sts.amazonaws.com is
    us-east-1).  So an STS request is permitted by the SCPs when it is permitted in ANY Region of the
    partition where STS is offered (botocore's endpoint data: :func:`trust.offered_regions`), undecided when
    undecided in one and denied in the rest.  Opt-in Regions are counted whether or not the account
    has enabled them: these rows do not read the account's enabled Regions, and enabling one
    (account:EnableRegion) is itself within reach of a principal that may, so counting every Region
    never misses a reader or minter (at worst an SCP that leaves only a Region the account has not
    enabled open counts the principal).  Only when some SCP reads aws:RequestedRegion are the
    Regions evaluated one by one; otherwise one evaluation (the home Region) decides.

    A Regional service's call that creates what a path passes a role to (``lambda:CreateFunction``,
    ``lambda:InvokeFunction``, ...: the ``iam:PassRole`` paths of :mod:`bedrock_key_audit.escalation`) goes
    to the Region the caller chooses as well: each Region where botocore's endpoint data offers the
    service, counted the same way."""
    service = action.split(":", 1)[0].lower()
    if service in _GLOBAL_SERVICES or not reads_region:
        return (home_region(arn_partition),)
    return offered_regions(service, arn_partition)


# services with one endpoint, whose requests carry the home Region (IAM User Guide, aws:RequestedRegion)
_GLOBAL_SERVICES = frozenset({"iam", "organizations", "account", "cloudfront", "route53", "globalaccelerator"})


def _principal_tags(gaad: Mapping[str, Any] | None) -> dict[str, dict[str, str] | None]:
    """Each user's and role's tags (``GetAccountAuthorizationDetails``), the ``aws:PrincipalTag``
    values of its requests; None for a role whose trust policy allows ``sts:TagSession``: a session
    may then carry tags the role does not ("Passing session tags in AWS STS" -- tagging a session
    needs sts:TagSession in the role's trust policy)."""
    out: dict[str, dict[str, str] | None] = {}
    for key in ("UserDetailList", "RoleDetailList"):
        for e in (gaad or {}).get(key) or []:
            if not isinstance(e, dict) or not e.get("Arn"):
                continue
            tags = {str(t.get("Key")): str(t.get("Value")) for t in e.get("Tags") or [] if isinstance(t, dict)}
            out[str(e["Arn"])] = None if key == "RoleDetailList" and _allows_tag_session(e.get("AssumeRolePolicyDocument")) \
                else tags
    return out


def _facts_of_tags(auth: AccountAuthorization, org: OrgPolicies | None, *, account_id: str, arn_partition: str,
                   now: Any, principals: Sequence[Principal] | None = None, own: bool = False,
                   docs: Sequence[Any] = (), facts_of: Callable[[set[str]], Mapping[str, UserFacts]] | None = None,
                   ) -> tuple[dict[str, dict[str, str] | None], dict[str, str], ScpGate | None]:
    """The ``aws:PrincipalTag/*`` values the account's users' and roles' requests carry for the SCPs/RCPs
    (:func:`_principal_tags`), and the principals whose tags are no fact, each with why: a user or role
    whose tags a principal on its own path may change (itself, or one that can assume the role:
    :func:`bedrock_key_audit.escalation.tag_changers`) carries the tags that principal picks, so the keys
    stay unknown (None) and an organization condition on them is undecided.  IAM User Guide, "Tags for
    AWS Identity and Access Management resources" (TagUser/TagRole, UntagUser/UntagRole) and
    "Define permissions based on attributes with ABAC authorization" (principals must not be able to
    change their own tags).  A role whose trust allows ``sts:TagSession`` keeps its IAM tags unless a session
    may carry another value of a key the policies read (:func:`bedrock_key_audit.trust.session_tagger`).
    Asked only when the organization's policies read a principal or resource tag, or ``own``: when a policy the
    row evaluates for the principals themselves reads ``aws:PrincipalTag/*`` (:func:`_reads_principal_tag`) --
    a role's trust policy too: its condition on the caller's ``aws:PrincipalTag/*`` decides who may assume the
    role (IAM User Guide, "IAM tutorial: Define permissions to access AWS resources based on tags": a trust
    policy may read the caller's ``aws:PrincipalTag``; the caller's tags are then its own to rewrite if it may).

    Also the SCP gate (:func:`_scp_gate_of`) the rows use, with these tags and the IAM tags of the account's
    users and roles as the ``aws:ResourceTag/*`` of a request on one of them -- unless the caller may change
    that user's or role's tags itself (:func:`bedrock_key_audit.escalation.tag_writers`): "Controlling access
    to AWS resources using tags" (aws:ResourceTag) and "Controlling access to IAM principals" (an IAM user's
    or role's tags are its resource tags).

    Who may change a tag is judged for the tag keys these policies read (:func:`_read_tag_keys`, over the
    principals' policies, ``docs`` -- the row's resource and key policies -- and the organization's):
    a TagUser/UntagUser (TagRole/UntagRole) with the ``aws:TagKeys`` and ``aws:RequestTag/*`` that would
    change one (:func:`bedrock_key_audit.escalation.tag_writers`).  A takeover on the way (a new access key or
    console password) is judged with what the user holds, read by ``facts_of`` (``iam:ListAccessKeys``,
    ``iam:GetLoginProfile``) only for the users whose facts would decide it, as for the minters: IAM User Guide,
    "IAM and AWS STS quotas" (two access keys per user: CreateAccessKey fails with LimitExceeded beyond); IAM API
    Reference, "CreateLoginProfile" (EntityAlreadyExists) and "UpdateLoginProfile" (NoSuchEntity)."""
    tags = _principal_tags(auth.gaad)
    org_reads = org is not None and org.account_id == account_id and bool(_tag_keys(
        org, ("aws:principaltag/", "aws:resourcetag/", "iam:resourcetag/")))
    scp = _scp_gate_of(org, account_id=account_id, arn_partition=arn_partition, principal_tags=tags)
    if not org_reads and not own:
        return tags, {}, scp
    ps = auth.principals if principals is None else principals
    try:
        org_conds = _org_conditions(org) if org is not None and org.account_id == account_id else []
        trusts = _trust_documents(ps)
        read_keys = _read_tag_keys(ps, org_conds, *docs, *trusts)
        # a tag change counts only where it changes what a policy reading the tag decides: the principals' own, the
        # resource and key policies, the organization's, and the roles' trust policies (a condition on the caller's
        # aws:PrincipalTag/* there decides who may assume the role)
        reads = tag_reads(ps, [*org_conds, *_doc_conditions([*docs, *trusts])], read_keys, [
            d if isinstance(d, str) else json.dumps(d, default=json_default) for d in (*docs, *trusts) if d]) \
            if read_keys is not None else None
        writers = tag_writers(ps, partition=arn_partition, account_id=account_id, now=now, gaad=auth.gaad,
                              managed=auth.managed, scp=scp, keys=read_keys, also=org_conds, reads=reads)
        # and a principal that may first write itself a policy allowing it to tag (the escalation search's one step)
        granted = self_tag_grants(ps, partition=arn_partition, account_id=account_id, now=now, gaad=auth.gaad,
                                  managed=auth.managed, scp=scp)
        for after, how in granted:
            more = tag_writers(ps, partition=arn_partition, account_id=account_id, now=now, gaad=auth.gaad,
                               managed=auth.managed, scp=scp, keys=read_keys, also=org_conds, reads=reads,
                               taggers=[after])
            for t_arn, by in more.items():
                if after.arn in by and after.arn not in writers.get(t_arn, {}):
                    writers.setdefault(t_arn, {})[after.arn] = f"{how}, then {by[after.arn]}"
        wanted: set[str] = set()
        retag = tag_changers(ps, writers, partition=arn_partition, account_id=account_id, now=now, gaad=auth.gaad,
                             managed=auth.managed, scp=scp, wanted=wanted)
        if wanted and retag and facts_of is not None:
            # a takeover on the way depends on what the user holds: read it, judge again
            retag = tag_changers(ps, writers, partition=arn_partition, account_id=account_id, now=now, gaad=auth.gaad,
                                 managed=auth.managed, scp=scp, user_facts=facts_of(wanted))
    except PolicyError as exc:
        raise CouldNotDecide(f"cannot evaluate who may change the tags of account {account_id}'s users and roles: "
                             f"{exc}") from None
    # a role whose trust allows sts:TagSession: its tags stand unless a session may override one the policies read
    # (the organization's, and -- read as the principals' own -- the identity, boundary, resource and key policies')
    keys = [*(_principal_tag_keys(org) if org_reads and org is not None else []),
            *(f"aws:PrincipalTag/{k}" for k in read_keys or ())]
    own_conds = [st.conditions for p in ps for st in (*p.statements, *(p.boundary or ())) if st.has_condition]
    own_conds += _doc_conditions(docs)
    iam_tags = _iam_tags(auth.gaad)
    for p in ps:
        if p.kind == "role" and tags.get(p.arn, {}) is None and p.arn not in retag:
            if read_keys is None:
                continue  # a tag key read through a wildcard or variable: which a session may carry is not known
            candidates = {k: list(dict.fromkeys([*(_named_values(org, k) if org_reads and org is not None else []),
                                                 *_named_in(own_conds, k)])) for k in keys}
            try:
                why = session_tagger(p, iam_tags.get(p.arn, {}), ps, candidates=candidates, now=now)
            except PolicyError:
                continue  # unreadable: the tags stay unknown
            if why is None:
                tags[p.arn] = iam_tags.get(p.arn, {})
            else:
                retag[p.arn] = why
    if org is None or not org_reads:
        # only the principals' own policies read their tags: the SCPs (which read none) gate as before
        return {arn: None if arn in retag else t for arn, t in tags.items()}, retag, scp
    principal_tags = {arn: None if arn in retag else t for arn, t in tags.items()}
    gate = _scp_gate_of(org, account_id=account_id, arn_partition=arn_partition, principal_tags=principal_tags,
                        retag=retag, resource_tags=(iam_tags, writers))
    return principal_tags, retag, gate


def _facts_reader(check: Any, inventory: Any, partition: str) -> Callable[[set[str]], Mapping[str, UserFacts]]:
    """Reads what the users whose takeover would decide who may change tags hold (:func:`_facts_of_tags`),
    recording it as evidence."""
    def read(wanted: set[str]) -> Mapping[str, UserFacts]:
        facts: Mapping[str, UserFacts] = inventory.user_facts(partition, wanted)
        check.evidence("iam:ListAccessKeys+GetLoginProfile (who may change tags)", {
            arn: {"access_keys": f.access_keys, "login_profile": f.login_profile} for arn, f in facts.items()})
        return facts
    return read


def _reads_principal_tag(principals: Sequence[Principal], *docs: Any) -> bool:
    """Does a policy the row evaluates for the principals themselves -- an identity policy or boundary of one
    of ``principals``, or one of ``docs`` (a resource or key policy, as text or parsed) -- read
    ``aws:PrincipalTag/*``, in a condition or as a ``${aws:PrincipalTag/...}`` variable?  A textual test:
    it may only ask for more than needed, never less."""
    needle = "aws:principaltag/"
    for p in principals:
        for st in (*p.statements, *(p.boundary or ())):
            if st.has_condition and needle in json.dumps(st.conditions, default=json_default).lower():
                return True
            if any("${" in r and needle in r.lower() for r in (*st.resources, *st.not_resources)):
                return True
    return any(needle in (d if isinstance(d, str) else json.dumps(d, default=json_default)).lower() for d in docs if d)


_TAG_KEY = re.compile(r"(?:aws:principaltag|aws:resourcetag|iam:resourcetag)/([^\"\\\s}]*)", re.IGNORECASE)


def _read_tag_keys(principals: Sequence[Principal], *docs: Any) -> list[str] | None:
    """The tag keys that the principals' identity policies and boundaries, and ``docs`` (resource, key
    and organization policies, as text or parsed), read as ``aws:PrincipalTag/<key>``,
    ``aws:ResourceTag/<key>`` or ``iam:ResourceTag/<key>`` (in a condition or a ``${...}`` variable), one per
    key up to case (IAM User Guide, "Tagging IAM resources": a user's or role's tag keys are not case
    sensitive).  None when one cannot be read whole (a key with a wildcard or variable in it): then any
    tag change counts.  A textual scan: it may name more keys than are read, never fewer."""
    texts = [json.dumps([st.conditions, st.resources, st.not_resources], default=json_default)
             for p in principals for st in (*p.statements, *(p.boundary or ()))]
    texts += [d if isinstance(d, str) else json.dumps(d, default=json_default) for d in docs if d]
    out: dict[str, str] = {}
    for text in texts:
        for key in _TAG_KEY.findall(text):
            if not key or any(c in key for c in "*?$"):
                return None
            out.setdefault(key.casefold(), key)
    return list(out.values())


def _trust_documents(principals: Sequence[Principal]) -> list[Any]:
    """The roles' trust policies, decoded (one that cannot be is kept as text: scanned, never evaluated)."""
    out: list[Any] = []
    for p in principals:
        if p.kind == "role" and p.trust:
            try:
                out.append(decode_document(p.trust))
            except ValueError:
                out.append(str(p.trust))
    return out


def _doc_conditions(docs: Sequence[Any]) -> list[Any]:
    """The Condition blocks of ``docs`` (resource and key policies, as text or parsed); unreadable ones give none
    (they are judged, and refused, where the row evaluates them)."""
    out: list[Any] = []
    for d in docs:
        if not d:
            continue
        try:
            parsed = decode_document(d)
        except (ValueError, PolicyError):
            continue
        stmts = parsed.get("Statement") if isinstance(parsed, dict) else None
        for st in stmts if isinstance(stmts, list) else [stmts] if isinstance(stmts, dict) else []:
            if isinstance(st, dict) and isinstance(st.get("Condition"), dict):
                out.append(st["Condition"])
    return out


def _named_in(conds: Sequence[Any], key: str) -> list[str]:
    """The values Condition blocks ``conds`` name for condition key ``key`` (any case; a pattern's wildcards
    filled), as :func:`_named_values` does for the organization's."""
    out: dict[str, None] = {}
    for block in conds:
        for pairs in block.values() if isinstance(block, dict) else ():
            for k, vs in pairs.items() if isinstance(pairs, dict) else ():
                if str(k).lower() == key.lower():
                    out.update((v.replace("*", "x").replace("?", "x"), None)
                               for v in (vs if isinstance(vs, list) else [vs]) if isinstance(v, str))
    return list(out)


def _org_conditions(org: OrgPolicies) -> list[Any]:
    """The Condition blocks of the organization's SCPs and RCPs."""
    return [stmt.conditions for lv in org.levels for pol in (*lv.scps, *lv.rcps)
            for stmt in parse_document(pol.document, pol.name) if stmt.conditions]


def _tags_not_facts(principals: Sequence[Principal], retag: Mapping[str, str],
                    known: Mapping[str, Mapping[str, str] | None] | None = None) -> list[Principal]:
    """``principals``, those whose tags a principal on their own path may change (``retag``,
    :func:`_facts_of_tags`) with their tags unknown: their own policies' conditions on ``aws:PrincipalTag/*``
    are then undecided, not judged from tags they may rewrite.  IAM User Guide, "Define permissions based on
    attributes with ABAC authorization" (principals must not be allowed to change their own tags) and "Tags
    for AWS Identity and Access Management resources" (TagUser adds or overwrites a tag, UntagUser removes it).

    A role's tags, unknown in ``principals`` (a session may carry others), are its IAM tags where ``known``
    (:func:`_facts_of_tags`, the rule the SCPs/RCPs use) says they are facts: no one may change them and no
    session may carry another value of a key the policies read (IAM User Guide, "Passing session tags in AWS
    STS": session tags need ``sts:TagSession`` allowed by the role's trust policy)."""
    out: list[Principal] = []
    for p in principals:
        if p.arn in retag:
            out.append(dataclasses.replace(p, tags=None) if p.tags is not None else p)
        elif p.kind == "role" and p.tags is None and (tags := (known or {}).get(p.arn)) is not None:
            out.append(dataclasses.replace(p, tags=dict(tags)))
        else:
            out.append(p)
    return out


def _name_retaggers(accesses: Sequence[Access], retag: Mapping[str, str]) -> list[Access]:
    """``accesses``, each unknown ``aws:PrincipalTag/*`` of a principal whose tags may be changed naming who
    may change them (:func:`_why_unknown`)."""
    if not retag:
        return list(accesses)
    return [dataclasses.replace(a, unknown=_tag_reason(a.unknown, a.caller_arn or a.principal, retag))
            if a.unknown else a for a in accesses]


def _iam_tags(gaad: Mapping[str, Any] | None) -> dict[str, dict[str, str]]:
    """Each user's and role's IAM tags (``GetAccountAuthorizationDetails``): its ``aws:ResourceTag/*``."""
    return {str(e["Arn"]): {str(t.get("Key")): str(t.get("Value")) for t in e.get("Tags") or [] if isinstance(t, dict)}
            for key in ("UserDetailList", "RoleDetailList") for e in (gaad or {}).get(key) or []
            if isinstance(e, dict) and e.get("Arn")}


def _why_unknown(key: str, arn: str, retag: Mapping[str, str] | None) -> str:
    """An unknown condition key, with why when it is a principal tag ``arn`` may change (:func:`_facts_of_tags`).
    A tag the request named there does not change is said to be unknown with the rest, not by that request."""
    why = (retag or {}).get(arn)
    if not why or not key.lower().startswith("aws:principaltag/"):
        return key
    return f"{key} ({why})" if _changes(why, key.split("/", 1)[1]) else \
        f"{key} (its tags are taken as unknown with one that may be changed: {why})"


def _changes(why: str, tag: str) -> bool:
    """Might the request ``why`` names (``aws:TagKeys [...]``) change tag ``tag``?  True when it names none."""
    named = [k.strip().strip("'\"").casefold() for m in re.findall(r"aws:TagKeys \[([^\]]*)\]", why)
             for k in m.split(",")]
    return not named or tag.casefold() in named


def _tag_reason(opened: Sequence[str], arn: str, retag: Mapping[str, str] | None) -> tuple[str, ...]:
    """What left an organization policy undecided (:class:`Bound.open`), with why where it read a principal
    tag ``arn`` may change."""
    why = (retag or {}).get(arn)
    return tuple((f"{o} ({why})" if _changes(why, o.split("/", 1)[1].split(" ", 1)[0]) else
                  f"{o} (its tags are taken as unknown with one that may be changed: {why})")
                 if why and o.lower().startswith("aws:principaltag/") else
                 f"{o} ({why})" if why and "aws:principaltag/" in o.lower() else o for o in opened)


def _allows_tag_session(trust: Any) -> bool:
    """Might the trust policy let a caller tag its session (an Allow naming ``sts:TagSession``)?  True
    when it cannot be read."""
    try:
        stmts = parse_document(trust, "trust policy") if trust is not None else []
    except PolicyError:
        return True
    return any(st.effect == "Allow" and st.matches("sts:TagSession") for st in stmts)


def _caller_keys(org: OrgPolicies, arn: str, account_id: str, region: str,
                 principal_tags: Mapping[str, Mapping[str, str] | None] | None, tag_keys: Sequence[str]) -> dict[str, Any]:
    """What a request of principal ``arn`` of the account carries for the SCPs (see :func:`_org_bound_minters`)."""
    keys: dict[str, Any] = {"aws:PrincipalArn": arn, "aws:PrincipalAccount": account_id,
                            "aws:PrincipalIsAWSService": "false", "aws:ViaAWSService": "false",
                            "aws:RequestedRegion": region}
    if org.organization_id:
        keys["aws:PrincipalOrgID"] = org.organization_id
    keys.update(_tag_values(arn, principal_tags, tag_keys))
    return keys


def _tag_values(arn: str, principal_tags: Mapping[str, Mapping[str, str] | None] | None,
                tag_keys: Sequence[str]) -> dict[str, Any]:
    """The ``aws:PrincipalTag/*`` keys ``tag_keys`` as principal ``arn``'s requests carry them: its IAM
    tags, the tag key matched without case (:func:`bedrock_key_audit.access.tag_lookup`; None: the tag is
    known absent); nothing (the keys stay unknown) when its tags are not known or a session may carry
    others (:func:`_principal_tags`)."""
    tags = (principal_tags or {}).get(arn)
    if tags is None:
        return {}
    return _tags_as_keys(tags, tag_keys)


def _tags_as_keys(tags: Mapping[str, str], keys: Sequence[str]) -> dict[str, Any]:
    """Tag condition keys ``keys`` (``<prefix>/<tag key>``) from ``tags``, the tag key matched without case
    (:func:`bedrock_key_audit.access.tag_lookup`): the value, None (known absent), or left out (unknown:
    two tags differing only in case)."""
    out: dict[str, Any] = {}
    for k in keys:
        state, value = tag_lookup(tags, k.split("/", 1)[1])
        if state != "unknown":
            out[k] = value
    return out


def _scp_gate_of(org: OrgPolicies | None, *, account_id: str, arn_partition: str,
                 principal_tags: Mapping[str, Mapping[str, str] | None] | None = None,
                 retag: Mapping[str, str] | None = None,
                 resource_tags: tuple[Mapping[str, Mapping[str, str]], Mapping[str, Mapping[str, str]]] | None = None,
                 ) -> ScpGate | None:
    """The account's SCPs as a gate for the escalation search (:data:`bedrock_key_audit.escalation.ScpGate`):
    each request evaluated with the caller's keys (:func:`_caller_keys`) and the request's own; an STS
    request in each Region it may be sent to (:func:`_requested_regions`), permitted when one permits it.
    ``resource_tags`` (IAM tags by ARN, and who may change them): a request on a user or role of the account
    carries its tags as ``aws:ResourceTag/*`` / ``iam:ResourceTag/*`` unless the caller may change them."""
    if org is None or org.account_id != account_id:
        return None
    region = home_region(arn_partition)
    tag_keys = _principal_tag_keys(org)
    res_keys = _tag_keys(org, ("aws:resourcetag/", "iam:resourcetag/")) if resource_tags else []
    reads_region = _reads_requested_region(org)  # once: the SCPs do not change between requests
    memo: dict[tuple[Any, ...], tuple[bool | None, tuple[str, ...]]] = {}
    # callers whose requests carry the same values of the keys that the SCP statements covering the action name
    # (their conditions, Resource variables) get the same answer: one evaluation for them all (a key no such
    # statement names is never looked up: a statement whose Action does not cover the action does not apply)
    statements = [st for lv in org.levels for pol in lv.scps for st in parse_document(pol.document, pol.name)]
    named: dict[str, str] = {}
    alike: dict[tuple[Any, ...], tuple[bool | None, tuple[str, ...]]] = {}

    def gate(arn: str, action: str, resource: Any, overlay: Mapping[str, Any]) -> tuple[bool | None, tuple[str, ...]]:
        key = (arn, action, resource, tuple(sorted((k, str(v)) for k, v in overlay.items())))
        if key not in memo:
            keys = _caller_keys(org, arn, account_id, region, principal_tags, tag_keys)
            if resource_tags and (on := resource_tags[0].get(resource)) is not None and \
                    arn not in resource_tags[1].get(resource, {}):
                keys.update(_tags_as_keys(on, res_keys))
            # an STS call may go to any Region's endpoint: permitted when permitted in one (_requested_regions)
            changes = (resource_tags[1].get(resource) or {}).get(arn) if resource_tags else None
            if action not in named:
                named[action] = json.dumps([[st.conditions, st.resources, st.not_resources] for st in statements
                                            if st.matches(action)], default=json_default).lower()
            read = tuple(sorted((k.lower(), json.dumps(v, default=json_default)) for k, v in keys.items()
                                if k.lower() in named[action]))
            same = (action, resource, key[3], read, changes, (retag or {}).get(arn))  # all the answer depends on
            if same not in alike:
                wheres = (overlay["aws:RequestedRegion"],) if "aws:RequestedRegion" in overlay else \
                    _requested_regions(reads_region, action, arn_partition)
                gates = [scp_gate(org, action, _ctx({**keys, "aws:RequestedRegion": where, **overlay}, {}), resource)
                         for where in wheres]
                permits = _or([g.permits for g in gates])
                alike[same] = (permits, () if permits is not None else tuple(dict.fromkeys(
                    (f"{k} (the caller {changes})" if changes and k.lower().startswith(("aws:resourcetag/", "iam:resourcetag/"))
                     else _why_unknown(k, arn, retag)) + f" (a condition of {', '.join(g.open)})"
                    for g in gates if g.permits is None for k in g.unknown)))
            memo[key] = alike[same]
        return memo[key]
    return gate


def _principal_tag_keys(org: OrgPolicies) -> list[str]:
    """The ``aws:PrincipalTag/...`` keys the SCPs' and RCPs' conditions read."""
    return _tag_keys(org, ("aws:principaltag/",))


def _named_values(org: OrgPolicies, key: str) -> list[str]:
    """The values the SCPs' and RCPs' conditions name for condition key ``key`` (a pattern's wildcards filled)."""
    return _named_in(_org_conditions(org), key)


def _tag_keys(org: OrgPolicies, prefixes: tuple[str, ...]) -> list[str]:
    """The condition keys starting with one of ``prefixes`` (lower case) the SCPs' and RCPs' conditions read."""
    out: dict[str, None] = {}
    for lv in org.levels:
        for pol in (*lv.scps, *lv.rcps):
            for stmt in parse_document(pol.document, pol.name):
                for pairs in (stmt.conditions or {}).values() if isinstance(stmt.conditions, dict) else ():
                    if isinstance(pairs, dict):
                        out.update((k, None) for k in pairs if k.lower().startswith(prefixes))
    return list(out)


def _denial(org: OrgPolicies, alternatives: list[list[Request]]) -> str:
    """Why the SCPs deny every one of ``alternatives`` (the ways to make one action), in one clause
    naming each denying statement once -- the statements that deny them all when there are such --;
    "" when some alternative is not certainly denied."""
    gates = [scp_gate(org, action, ctx, resource) for alt in alternatives for action, resource, ctx in alt]
    if not gates or any(g.permits is not False for g in gates):
        return ""
    clauses = [g.deny if g.outcome == "denied" else (g.sentence("SCP"),) for g in gates]
    common = [c for c in clauses[0] if all(c in other for other in clauses[1:])]
    return "denied by " + ", ".join(common or dict.fromkeys(c for cs in clauses for c in cs))


def _short(action: str) -> str:
    return action.split(":")[1].replace("ServiceSpecificCredential", "")


def _narrowed(a: Access, granted: dict[str, tuple[str, ...]], denied: dict[str, str], audited: str | None,
              opened: Mapping[str, tuple[str, ...]] | None = None, gone: set[str] | None = None) -> Access:
    """``a`` counted only for the granted mint actions the SCPs do not deny, with each denied one
    named once with the SCP statements that deny it (a minter kept for Reset is not also said to
    Create), and not on the users the SCPs protect (``gone``: "Create on user x").  When only
    actions its policies grant depending on a key, or the SCPs leave open (``opened``: the keys),
    are left, it may mint."""
    shorts = {_short(x) for x in denied}
    prefix = "the audited user included: "
    parts = [part for part in a.note.removeprefix(prefix).split(", ")
             if part.split(" ", 1)[0] not in shorts and part not in (gone or set())]
    left = {x: tuple(dict.fromkeys((*k, *(opened or {}).get(x, ())))) for x, k in granted.items() if x not in denied}
    certain = a.certain and any(not k for k in left.values())
    if not parts:
        parts = [f"{_short(x)} on a user" for x in left]
    kept_note = ", ".join(parts)
    if audited and any(part.endswith(f" on user {audited}") for part in parts):
        kept_note = prefix + kept_note
    notes = [f"{_short(x)} not counted: {denied[x]}" for x in denied]
    barred: dict[str, list[str]] = {}
    for part in sorted(gone or ()):
        barred.setdefault(part.rsplit(" on user ", 1)[1], []).append(part.split(" ", 1)[0])
    notes += [f"not on user {name}: the SCPs deny {' and '.join(what)} there" for name, what in barred.items()]
    why = "; ".join(dict.fromkeys(notes))
    unknown = () if certain else tuple(dict.fromkeys(
        [*(a.unknown if not a.certain else ()), *(k for ks in left.values() for k in ks)]))
    return dataclasses.replace(a, note=kept_note + (f" ({why})" if why else ""), certain=certain, unknown=unknown,
                               actions=tuple(left.items()))
