"""Readers that give themselves the read with one call on the secret or its KMS key.

A secret read needs both halves: ``secretsmanager:GetSecretValue`` on the secret and the
``kms:Decrypt`` Secrets Manager makes with the caller's credentials.  A principal that holds one
half, and may change the resource side of the other with one call, reads after that call.  The
calls followed (each the principal's own request, judged by its identity policies, boundary and
the resource's policy; for KMS the key policy must allow it or delegate to IAM):

* ``kms:CreateGrant`` on the key, naming itself grantee for ``Decrypt`` -- AWS KMS Developer Guide,
  "Grants in AWS KMS" (https://docs.aws.amazon.com/kms/latest/developerguide/grants.html): a grant
  allows its grantee the operations it lists, besides the key policy; API Reference "CreateGrant"
  (https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html).  The request carries
  ``kms:GrantOperations``, ``kms:GranteePrincipal``, ``kms:GrantIsForAWSResource`` (false for a
  principal's own call), ``kms:RetiringPrincipal`` and ``kms:GrantConstraintType`` only when given
  ("AWS KMS condition keys", https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html).
  The requests tried: operations ``[Decrypt]``, ``Decrypt`` with each other operation, and every
  operation, without constraint or constrained to the secret (``EncryptionContextSubset``
  SecretARN), then constrained with ``EncryptionContextEquals`` to one version's context (certain
  when the principal may learn the version id -- DescribeSecret, ListSecretVersionIds or ListSecrets,
  a call the SCPs let through --, else possible); where none is allowed and an Allow's condition on ``kms:GrantOperations`` may want
  another set (any operator but a positive ``ForAllValues:String*``), the path stays undecided,
  naming that key.
* ``kms:PutKeyPolicy`` on the key, writing a policy that allows itself -- "Key policies in AWS KMS"
  (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html) and API Reference
  "PutKeyPolicy" (``kms:BypassPolicyLockoutSafetyCheck`` is the caller's choice).  The new policy
  replaces the old one, its Denies included.
* ``secretsmanager:PutResourcePolicy`` on the secret, writing a policy that allows itself
  ``GetSecretValue`` -- Secrets Manager User Guide, "Authentication and access control for AWS
  Secrets Manager" (https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access.html):
  within one account an Allow in the identity policy or in the resource policy suffices.  A policy
  naming one principal of the account is not public, so ``BlockPublicPolicy`` does not refuse it.
* ``secretsmanager:DeleteResourcePolicy`` on the secret, removing a resource-policy Deny that
  stops it.

Not followed (and why): ``secretsmanager:UpdateSecret`` or ``ReplicateSecretToRegions`` with a KMS
key the principal controls.  Re-encrypting or replicating decrypts the versions under the current
key with the caller's own permission: "Change the encryption key for an AWS Secrets Manager secret"
(https://docs.aws.amazon.com/secretsmanager/latest/userguide/manage_update-encryption-key.html:
without ``kms:Decrypt`` on the previous key Secrets Manager cannot decrypt the versions to
re-encrypt them, and leaves them as they are) and the API Reference "ReplicateSecretToRegions"
(the primary's customer managed key needs ``kms:Decrypt``).  A principal without that half gains
nothing by them, and one with it reads already if it may GetSecretValue.  Cross-account replication
through a replication role, and grants that give their grantee ``CreateGrant``, are not followed.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bedrock_key_audit.access import (
    Access,
    KeyAccess,
    Outsider,
    Principal,
    _resource_side,
    outsiders,
    _context,
    _Eval,
    _evaluate,
    _picked,
    parse_resource_policy,
    principal_match,
    read_contexts,
    secret_readers,
)
from bedrock_key_audit.escalation import ESCALATION, FinalGate, ScpGate
from bedrock_key_audit.policy import RequestContext, _and
from bedrock_key_audit.trust import principal_assumes, role_trust

# the operations CreateGrant accepts ("GrantOperation", AWS KMS API Reference)
GRANT_OPERATIONS = ("Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom",
                    "ReEncryptTo", "Sign", "Verify", "GetPublicKey", "CreateGrant", "RetireGrant", "DescribeKey",
                    "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac",
                    "DeriveSharedSecret")
NEW_GRANT_ID = "(the one it creates)"


@dataclasses.dataclass(frozen=True)
class Target:
    """The secret (or a replica) in one Region and its KMS key (None: the AWS managed key)."""

    secret_arn: str
    region: str
    key: KeyAccess | None


Evaluate = Callable[[Mapping[str, Any], Sequence[str]], _Eval]
# Does the organization (SCPs of the caller's account, RCPs of the secret's) certainly stop an access found here
# -- its call and the read after it, as the verdict bounds every reader?  Built by the verdict.
OrgStops = Callable[[Access], bool]


def decrypt_grant_requests(grantee: str, caller: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The grant a caller makes to give ``grantee`` ``Decrypt``, and the ``kms:CreateGrant`` requests it may send
    for it (the condition keys each carries, "AWS KMS condition keys"): operations ``[Decrypt]``, ``Decrypt`` with
    each other operation, or every operation; no constraint or ``EncryptionContextSubset``; no retiring principal
    or the caller itself."""
    grant = {"GrantId": NEW_GRANT_ID, "GranteePrincipal": grantee, "Operations": ["Decrypt"]}
    common = {"kms:GranteePrincipal": grantee, "kms:GrantIsForAWSResource": "false"}
    requests = [{**common, "kms:GrantOperations": ops, "kms:RetiringPrincipal": retiring,
                 "kms:GrantConstraintType": constraint}
                for ops in (["Decrypt"], *(["Decrypt", o] for o in GRANT_OPERATIONS[1:]), list(GRANT_OPERATIONS))
                for constraint in (None, "EncryptionContextSubset")
                for retiring in (None, caller)]
    return grant, requests


def _one_of(evaluate: Evaluate, requests: Sequence[Mapping[str, Any]], chosen: Sequence[str]) -> _Eval:
    """Is *some* request allowed?  Each concrete request in turn (the first certain one wins, else an
    undecided one); when every one is refused, the evaluation with the ``chosen`` keys unknown: a
    condition on them that the requests tried do not satisfy leaves the path undecided (naming them),
    never closed."""
    first: _Eval | None = None
    hit: _Eval | None = None
    for r in requests:
        t = _picked(lambda o: evaluate(o, ()), r)
        if t.value is True:
            return t
        first = first or t
        hit = hit or (t if t.value is None else None)
    assert first is not None
    if hit is not None or not chosen:
        return hit or first
    open_ = _picked(lambda o: evaluate(o, chosen), requests[0])
    if open_.value is False:
        return first
    return _Eval(None, open_.grants, open_.unknown | set(chosen))


def _ctx_base(base: Mapping[str, Any], overlay: Mapping[str, Any], unknown: Sequence[str]) -> dict[str, Any]:
    lowered = {k.lower() for k in unknown}
    return {k: v for k, v in {**base, **overlay}.items() if k.lower() not in lowered}


def _step_on_key(p: Principal, action: str, key: KeyAccess, base: Mapping[str, Any],
                 requests: Sequence[Mapping[str, Any]], chosen: Sequence[str] = ()) -> _Eval:
    kp = parse_resource_policy(key.policy, f"key policy of {key.arn}")
    stmts = [*p.statements, *(p.boundary or ()), *(r.statement for r in kp)]

    def evaluate(overlay: Mapping[str, Any], unknown: Sequence[str]) -> _Eval:
        ctx = _context(p, _ctx_base({**base, "kms:CallerAccount": p.account}, overlay, unknown), stmts, None, ())
        return _evaluate(p, action, key.arn, ctx, kp, delegation_needed=True)
    return _one_of(evaluate, requests, [k for k in chosen if _open_set_condition(stmts, action, k)])


def _open_set_condition(stmts: Sequence[Any], action: str, key: str) -> bool:
    """Does an Allow for ``action`` hold a condition on the multivalued ``key`` other than a positive
    ``ForAllValues:String*``?  For those, the smallest request (here ``[Decrypt]``) is the one most
    often allowed and a larger one never helps; any other operator may want a set the requests
    tried do not hold ("Multivalued context keys", IAM User Guide)."""
    for s in stmts:
        if s.effect != "Allow" or not s.matches(action) or not isinstance(s.conditions, dict):
            continue
        for op, pairs in s.conditions.items():
            if isinstance(pairs, dict) and any(k.lower() == key.lower() for k in pairs):
                o = op.lower().removesuffix("ifexists")
                if not (o.startswith("forallvalues:string") and "not" not in o):
                    return True
    return False


def _step_on_secret(p: Principal, action: str, t: Target, base: Mapping[str, Any], resource_policy: Any,
                    secret_tags: Mapping[str, str] | None, requests: Sequence[Mapping[str, Any]]) -> _Eval:
    rp = parse_resource_policy(resource_policy, "secret resource policy") if resource_policy else []
    stmts = [*p.statements, *(p.boundary or ()), *(r.statement for r in rp)]

    def evaluate(overlay: Mapping[str, Any], unknown: Sequence[str]) -> _Eval:
        ctx = _context(p, _ctx_base(base, overlay, unknown), stmts, secret_tags,
                       ("aws:resourcetag/", "secretsmanager:resourcetag/"))
        return _evaluate(p, action, t.secret_arn, ctx, rp)
    return _one_of(evaluate, requests, ())


VERSION_UNKNOWN = "the SecretVersionId an EncryptionContextEquals grant must name"


def _equals_grant(p: Principal, t: Target, key: KeyAccess, direct: Mapping[str, Any],
                  requests: Sequence[Mapping[str, Any]], resource_policy: Any,
                  secret_tags: Mapping[str, str] | None, secret_ids: Sequence[str],
                  scp: ScpGate | None = None) -> _Eval | None:
    """CreateGrant allowed with ``EncryptionContextEquals`` only.  Secrets Manager decrypts a version
    with the encryption context ``{SecretARN, SecretVersionId}`` ("Secret encryption and decryption in
    AWS Secrets Manager", https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html),
    so a grant constrained to exactly that context lets its grantee read that version.  The path is
    certain when the principal may learn the current version id (``DescribeSecret`` returns
    ``VersionIdsToStages``, ``ListSecretVersionIds`` the ids, ``ListSecrets`` -- Resource ``*``, no
    resource-level permission -- ``SecretVersionsToStages`` in each ``SecretListEntry``: Secrets Manager
    API Reference, "DescribeSecret", "ListSecretVersionIds", "ListSecrets") and the organization's SCPs
    (``scp``) let that call through, in the target's Region; possible otherwise (the id may be known from
    elsewhere).  None when no such request is allowed either."""
    equals = [{**r, "kms:GrantConstraintType": "EncryptionContextEquals"} for r in requests
              if r.get("kms:GrantConstraintType") is None]
    step = _step_on_key(p, "kms:CreateGrant", key, direct, equals, ("kms:GrantOperations",))
    if step.value is False:
        return None
    learn = [(action, t.secret_arn, _step_on_secret(p, action, t, direct, resource_policy, secret_tags,
                                                    [{"secretsmanager:SecretId": sid} for sid in secret_ids]))
             for action in ("secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds")]
    stmts = [*p.statements, *(p.boundary or ())]
    learn.append(("secretsmanager:ListSecrets", "*", _picked(lambda o: _evaluate(
        p, "secretsmanager:ListSecrets", "*", _context(p, {**direct, **o}, stmts, None, ())), {})))
    for action, resource, e in learn:
        if e.value is not True:
            continue
        if scp is None or scp(p.arn, action, resource, {"aws:RequestedRegion": t.region})[0] is True:
            return step
    return _Eval(None, step.grants, step.unknown | {VERSION_UNKNOWN})


DELETED = object()  # the resource policy after DeleteResourcePolicy


def _paths(p: Principal, t: Target, primary: Target, *, resource_policy: Any,
           secret_tags: Mapping[str, str] | None, now: dt.datetime,
           account: str, scp: ScpGate | None = None) -> list[tuple[_Eval, str, Any, KeyAccess | None]]:
    """Each one-call path of ``p`` on target ``t``: (may it make the call, what the call is, the
    resource policy after it, the key after it).  The resource policy is written on the primary
    secret (Secrets Manager replicates it; a replica cannot be changed: "Replicate an AWS Secrets
    Manager secret to other AWS Regions"), so that call is judged there."""
    # a principal's own call: the caller's GetSecretValue context without the read's own keys
    direct, _ = read_contexts(now, t.region, account, t.secret_arn)
    on_primary, _ = read_contexts(now, primary.region, account, primary.secret_arn)
    out: list[tuple[_Eval, str, Any, KeyAccess | None]] = []
    rp = parse_resource_policy(resource_policy, "secret resource policy") if resource_policy else []
    kp = parse_resource_policy(t.key.policy, f"key policy of {t.key.arn}") if t.key is not None else []

    def may(action: str, resource_side: Sequence[Any]) -> bool:
        """Cheap screen: an Allow of ``action`` in the identity policies, or in the resource's policy
        for ``p`` itself (a grant to the account alone needs the identity policies' Allow too)."""
        return any(s.effect == "Allow" and s.matches(action) for s in p.statements) or any(
            r.statement.effect == "Allow" and r.statement.matches(action) and principal_match(r, p) not in (
                None, "account") for r in resource_side)
    name = primary.secret_arn.split(":", 6)[-1]
    secret_ids = (primary.secret_arn, name.rsplit("-", 1)[0] if "-" in name else name)
    if t.key is not None and may("kms:CreateGrant", kp):
        key = t.key
        grant, requests = decrypt_grant_requests(p.arn, p.arn)
        step = _step_on_key(p, "kms:CreateGrant", key, direct, requests, ("kms:GrantOperations",))
        how = ""
        if step.value is not True:
            equals = _equals_grant(p, t, key, direct, requests, resource_policy, secret_tags, secret_ids, scp)
            if equals is not None:
                step, how = equals, " constrained by EncryptionContextEquals to the current version's context"
        out.append((step, f"kms:CreateGrant on key {key.arn} naming itself grantee for Decrypt{how}", None,
                    dataclasses.replace(key, grants=(*key.grants, grant))))
    if t.key is not None and may("kms:PutKeyPolicy", kp):
        key = t.key
        step = _step_on_key(p, "kms:PutKeyPolicy", key, direct, [
            {"kms:BypassPolicyLockoutSafetyCheck": v} for v in (None, "false", "true")])
        policy = {"Version": "2012-10-17", "Statement": [
            {"Sid": "written by the principal", "Effect": "Allow", "Principal": {"AWS": p.arn}, "Action": "kms:*",
             "Resource": "*"}]}
        out.append((step, f"kms:PutKeyPolicy on key {key.arn} allowing itself", None,
                    dataclasses.replace(key, policy=policy)))
    if may("secretsmanager:PutResourcePolicy", rp):
        requests = [{"secretsmanager:SecretId": sid, "secretsmanager:BlockPublicPolicy": block}
                    for sid in secret_ids for block in (None, "true", "false")]
        step = _step_on_secret(p, "secretsmanager:PutResourcePolicy", primary, on_primary, resource_policy, secret_tags, requests)
        written = {"Version": "2012-10-17", "Statement": [
            {"Sid": "written by the principal", "Effect": "Allow", "Principal": {"AWS": p.arn},
             "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}
        out.append((step, "secretsmanager:PutResourcePolicy on the secret allowing itself GetSecretValue", written,
                    t.key))
    if resource_policy and may("secretsmanager:DeleteResourcePolicy", rp):
        step = _step_on_secret(p, "secretsmanager:DeleteResourcePolicy", primary, on_primary, resource_policy, secret_tags,
                               [{"secretsmanager:SecretId": sid} for sid in secret_ids])
        out.append((step, "secretsmanager:DeleteResourcePolicy on the secret", DELETED, t.key))
    return out


def resource_escalations(principals: Sequence[Principal], readers: Sequence[Access], *, targets: Sequence[Target],
                         account: str, resource_policy: Any, now: dt.datetime,
                         secret_tags: Mapping[str, str] | None = None, stops: OrgStops | None = None,
                         scp: ScpGate | None = None, final: FinalGate | None = None,
                         kept_out: dict[str, Access] | None = None) -> list[Access]:
    """The principals, not already certain readers, that read the secret (or a replica) after one
    call of this module's list; each with the best path (a certain one first).

    The organization's policies bound each path as every other way in: a path on the secret or on one
    Region's key that ``stops`` says they stop gives way to one on another Region's (a replica and its
    own key: the SCPs may read ``aws:RequestedRegion``); when each is stopped, the best is returned all the
    same, and the verdict says so.  ``scp`` bounds a self-grant with its request's own keys
    (``kms:GranteePrincipal`` itself, ``kms:GrantIsForAWSResource`` false: "AWS KMS condition keys"), the calls
    that learn a version id (an
    ``EncryptionContextEquals`` grant) and, with ``final``, the grant-to-a-role path
    (:func:`_grant_to_assumable_role`); a principal whose paths only these stop is put in ``kept_out`` (with
    what it has without them)."""
    held = {a.principal for a in readers if a.certain}
    out: list[Access] = []
    for p in principals:
        if p.arn in held:
            continue
        best: Access | None = None
        stopped: Access | None = None  # the best path the organization stops
        denied: Access | None = None  # a self-grant the SCPs deny for its request's own keys
        for t in targets:
            for step, text, policy_after, key_after in _paths(p, t, targets[0], resource_policy=resource_policy,
                                                              secret_tags=secret_tags, now=now, account=account,
                                                              scp=scp):
                if step.value is False:
                    continue
                got = secret_readers([p], secret_arn=t.secret_arn, region=t.region, account=account,
                                     resource_policy=(None if policy_after is DELETED else policy_after
                                                      if policy_after is not None else resource_policy),
                                     key=key_after, now=now, secret_tags=secret_tags)
                after = next((a for a in got if a.principal == p.arn and a.certain),
                             next((a for a in got if a.principal == p.arn), None))
                if after is None:
                    continue
                value = _and([step.value, True if after.certain else None])
                if value is False:
                    continue
                primary = t is targets[0]
                access = Access(
                    principal=p.arn, kind=p.kind, certain=value is True,
                    grants=tuple(dict.fromkeys([*step.grants, *after.grants])),
                    unknown=() if value else tuple(sorted(step.unknown | set(after.unknown))),
                    note=f"{ESCALATION}: {text}, after which it reads the secret",
                    region="" if primary else t.region, account=p.account, caller_arn=p.arn,
                    calls=(_call_of(text, t, targets[0]),))
                if stops is not None and stops(access):
                    if stopped is None or (access.certain and not stopped.certain):
                        stopped = access
                    continue
                if scp is not None and text.startswith("kms:CreateGrant") and scp(
                        p.arn, "kms:CreateGrant", access.calls[0][1], {
                            "aws:RequestedRegion": t.region, "kms:GranteePrincipal": p.arn,
                            "kms:GrantIsForAWSResource": "false"})[0] is False:
                    # the SCPs deny the grant as requested: naming itself grantee, not for an AWS resource
                    denied = denied or access
                    continue
                if best is None or (access.certain and not best.certain):
                    best = access
                if best.certain:
                    break
            if best is not None and best.certain:
                break
        if best is None or not best.certain:
            via_role = _grant_to_assumable_role(p, principals, targets, account=account,
                                                resource_policy=resource_policy, now=now, secret_tags=secret_tags,
                                                scp=scp, final=final, kept_out=kept_out)
            if via_role is not None and (best is None or via_role.certain):
                best = via_role
        if best is None and stopped is None and denied is not None and kept_out is not None:
            kept_out.setdefault(p.arn, denied)
        best = best or stopped
        if best is not None:
            out.append(best)
    out += _outsider_grants(readers, targets, account=account, resource_policy=resource_policy, now=now,
                            secret_tags=secret_tags)
    return out


def _outsider_grants(readers: Sequence[Access], targets: Sequence[Target], *, account: str, resource_policy: Any,
                     now: dt.datetime, secret_tags: Mapping[str, str] | None) -> list[Access]:
    """Principals of other accounts that the key policy lets ``kms:CreateGrant`` ("Cross-account use:
    Yes", API Reference "CreateGrant") and that the resource policy admits for ``GetSecretValue``:
    each may grant itself ``Decrypt`` and read.  Their own identity policies are not visible and are
    assumed to allow, as for the readers of other accounts (``*``: any principal of any other account)."""
    held = {a.principal for a in readers if a.certain}
    out: dict[str, Access] = {}
    if not resource_policy:
        return []
    for t in targets:
        if t.key is None:
            continue
        kp = parse_resource_policy(t.key.policy, f"key policy of {t.key.arn}")
        if not any(r.statement.effect == "Allow" and r.statement.matches("kms:CreateGrant") for r in kp):
            continue
        rp = parse_resource_policy(resource_policy, "secret resource policy")
        direct, _ = read_contexts(now, t.region, account, t.secret_arn)
        for o in outsiders([rp, kp], t.key.grants, account, t.secret_arn.split(":")[1]):
            if o.kind == "service" or o.label in held or (o.label in out and out[o.label].certain):
                continue
            step = _outsider_create_grant(o, t.key, kp, direct)
            if step.value is False:
                continue
            grantee = o.arn or ""
            grant = {"GrantId": NEW_GRANT_ID, "GranteePrincipal": grantee, "Operations": ["Decrypt"]}
            got = secret_readers([], secret_arn=t.secret_arn, region=t.region, account=account,
                                 resource_policy=resource_policy,
                                 key=dataclasses.replace(t.key, grants=(*t.key.grants, grant)), now=now,
                                 secret_tags=secret_tags)
            after = next((a for a in got if a.principal == o.label or (grantee and a.caller_arn == grantee)), None)
            if after is None:
                continue
            value = _and([step.value, after.certain or None])
            if value is False:
                continue
            unknown = tuple(sorted(step.unknown | set(after.unknown)))
            out[o.label] = Access(
                principal=o.label, kind="external", certain=value is True,
                grants=tuple(dict.fromkeys([*step.grants, *after.grants])), unknown=() if value else unknown,
                note=f"{ESCALATION}: kms:CreateGrant on key {t.key.arn} naming itself grantee for Decrypt "
                     f"(a principal of {o.account_text()}), after which it reads the secret; counted as a reader: "
                     "its own account's identity policies are not visible here",
                region="" if t is targets[0] else t.region, account=o.account or "", caller_arn=o.arn or "",
                calls=(("kms:CreateGrant", t.key.arn),))
    return list(out.values())


def _outsider_create_grant(o: Outsider, key: KeyAccess, kp: Sequence[Any], direct: Mapping[str, Any]) -> _Eval:
    """The key policy alone on the outsider's own ``CreateGrant`` naming itself for ``Decrypt``."""
    values, absent = o.context()
    undecided: _Eval | None = None
    refused: _Eval | None = None
    for constraint in (None, "EncryptionContextSubset", "EncryptionContextEquals"):
        request = {"kms:GranteePrincipal": o.arn, "kms:GrantIsForAWSResource": "false",
                   "kms:GrantOperations": ["Decrypt"], "kms:GrantConstraintType": constraint}
        ctx_values = {k: v for k, v in {**direct, **values, **request}.items() if v is not None and k not in absent}
        gone = set(absent) | {k for k, v in request.items() if v is None}
        ev = _resource_side(kp, "kms:CreateGrant", key.arn, RequestContext(ctx_values, absent=gone), o)
        if ev.value is not False and constraint == "EncryptionContextEquals":
            ev = _Eval(None, ev.grants, ev.unknown | {VERSION_UNKNOWN})
        if ev.value is True:
            return ev
        if ev.value is None:
            undecided = undecided or ev
        refused = refused or ev
    assert refused is not None
    return undecided or refused


def _call_of(text: str, t: Target, primary: Target) -> tuple[str, str]:
    """The call a path of :func:`_paths` makes: its action and the resource it is made on."""
    action = text.split(" ", 1)[0]
    if action.startswith("kms:") and t.key is not None:
        return action, t.key.arn
    return action, primary.secret_arn


def _grant_to_assumable_role(p: Principal, principals: Sequence[Principal], targets: Sequence[Target], *,
                             account: str, resource_policy: Any, now: dt.datetime,
                             secret_tags: Mapping[str, str] | None, scp: ScpGate | None = None,
                             final: FinalGate | None = None, kept_out: dict[str, Access] | None = None,
                             ) -> Access | None:
    """``kms:CreateGrant`` naming as grantee a role of the account that ``p`` can assume and that holds
    the ``GetSecretValue`` half: ``p`` grants the role ``Decrypt``, assumes it and reads ("Grants in
    AWS KMS": the grantee may be any principal; IAM User Guide, "Methods to assume a role").  The
    grant request is the one of :func:`_paths` with ``kms:GranteePrincipal`` the role's ARN.

    Each step is bounded by the organization as the escalation search bounds its steps
    (:mod:`bedrock_key_audit.escalation`): ``scp`` on ``p``'s ``CreateGrant`` (sent to the key's Region)
    and ``sts:AssumeRole`` (any Region with an STS endpoint, when the SCPs read ``aws:RequestedRegion``),
    ``final`` on the role's read.  The access is returned with no caller (the verdict leaves it as it is:
    its read is the role's); a path they stop is put in ``kept_out`` as it would be without them."""
    def named(t: Target) -> bool:
        return t.key is not None and any(
            r.statement.effect == "Allow" and r.statement.matches("kms:CreateGrant")
            and principal_match(r, p) not in (None, "account")
            for r in parse_resource_policy(t.key.policy, f"key policy of {t.key.arn}"))
    if not any(s.effect == "Allow" and s.matches("kms:CreateGrant") for s in p.statements) and not any(
            named(t) for t in targets):
        return None
    best: Access | None = None
    stopped: Access | None = None
    for role in principals:
        if role.kind != "role" or role.arn == p.arn or role.account != p.account or not (
                resource_policy or any(s.effect == "Allow" and s.matches("secretsmanager:GetSecretValue")
                                       for s in role.statements)):
            continue
        trust = role_trust(role)
        if not trust:
            continue
        assume = principal_assumes(role, trust, p, now=now)
        if assume is None:
            continue
        for t in targets:
            if t.key is None:
                continue
            direct, _ = read_contexts(now, t.region, account, t.secret_arn)
            grant, requests = decrypt_grant_requests(role.arn, p.arn)
            step = _step_on_key(p, "kms:CreateGrant", t.key, direct, requests, ("kms:GrantOperations",))
            if step.value is False:
                continue
            got = secret_readers([role], secret_arn=t.secret_arn, region=t.region, account=account,
                                 resource_policy=resource_policy,
                                 key=dataclasses.replace(t.key, grants=(*t.key.grants, grant)), now=now,
                                 secret_tags=secret_tags)
            after = next((a for a in got if a.principal == role.arn and a.certain),
                         next((a for a in got if a.principal == role.arn), None))
            if after is None:
                continue
            value = _and([step.value, assume.certain or None, after.certain or None])
            if value is False:
                continue
            unknown = set(step.unknown) | set(assume.unknown) | set(after.unknown)
            access = Access(
                principal=p.arn, kind=p.kind, certain=value is True,
                grants=tuple(dict.fromkeys([*step.grants, *assume.via, *after.grants])),
                unknown=() if value else tuple(sorted(unknown)) or ("the assumed role's own access",),
                note=f"{ESCALATION}: kms:CreateGrant on key {t.key.arn} naming role {role.name} grantee for Decrypt, "
                     f"then assumes role {role.name}, which reads the secret",
                region="" if t is targets[0] else t.region, account=p.account, caller_arn=p.arn,
                calls=(("kms:CreateGrant", t.key.arn),))
            if scp is not None or final is not None:
                bounds = [scp(p.arn, "kms:CreateGrant", t.key.arn, {
                    "aws:RequestedRegion": t.region, "kms:GranteePrincipal": role.arn,
                    "kms:GrantIsForAWSResource": "false"}) if scp is not None else (True, ()),
                    scp(p.arn, "sts:AssumeRole", role.arn, {}) if scp is not None else (True, ()),
                    final(role.arn, dataclasses.replace(after, region="" if t is targets[0] else t.region))
                    if final is not None else (True, ())]
                if any(v is False for v, _ in bounds):
                    if stopped is None or (access.certain and not stopped.certain):
                        stopped = access
                    continue
                value = _and([value, *(v for v, _ in bounds)])
                unknown |= {k for v, ks in bounds if v is None for k in ks}
                # the read is the role's, bounded here: the verdict leaves an access without a caller as it is
                access = dataclasses.replace(access, certain=value is True, caller_arn="", calls=(),
                                             unknown=() if value else tuple(sorted(unknown))
                                             or ("the assumed role's own access",))
            if best is None or (access.certain and not best.certain):
                best = access
            if best.certain:
                return best
    if best is None and stopped is not None and kept_out is not None:
        kept_out.setdefault(p.arn, stopped)
    return best
