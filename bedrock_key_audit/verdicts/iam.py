"""The verdicts of the iam.* checks (called by the marked checks in checks/test_iam.py).

Each function is named after its check id (``iam.<name>`` -> :func:`<name>`) and takes the
``check`` recorder and the plain inventory data the check reads, so it can be tested on
hand-built objects (tests/unit/test_iam.py) with no emulator.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from bedrock_key_audit import iam_verdicts
from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.checkcore import verdict

if TYPE_CHECKING:
    import datetime as dt

    from bedrock_key_audit.checkcore import Check
    from bedrock_key_audit.config import AuditConfig
    from bedrock_key_audit.inventory.models import (
        IamUser,
        OtherCredentials,
        UserPolicies,
    )
    from bedrock_key_audit.inventory.reader import Inventory
    from bedrock_key_audit.org_policies import OrgPolicies


@verdict("iam.user_exists", test="test_user_exists")
def user_exists(check: Check, iam_user: IamUser) -> None:
    check.resource = iam_user.arn or f"iam user {iam_user.name}"
    check.evidence("iam:GetUser", iam_user.raw or {"UserName": iam_user.name, "exists": False})
    check.require(iam_user.exists, f"IAM user {iam_user.name} does not exist in the commercial account")
    check.passed(f"IAM user {iam_user.name} exists ({iam_user.arn})")


@verdict("iam.user_no_other_credentials", test="test_user_no_other_credentials")
def user_no_other_credentials(check: Check, existing_user: IamUser, other_credentials: OtherCredentials) -> None:
    """The key-only user holds no credential but its Bedrock API key(s).

    Every credential type IAM gives a user counts (IAM User Guide, "AWS security
    credentials"): a console password (login profile), access keys, X.509 signing
    certificates, SSH public keys (CodeCommit), and service-specific credentials for other
    services (CodeCommit, Amazon Keyspaces).  Inactive ones count as well: each is still
    stored and turns back on with one ``iam:Update*`` call by anyone allowed it, with no new
    secret handed out, so whoever kept the old secret is back in.  MFA devices do not
    count: an MFA device authenticates nothing alone; it is a second factor for a password
    or for ``sts:GetSessionToken`` with an access key, and both of those are findings here
    already.  The user's ``bedrock.amazonaws.com`` credentials are the credential.* checks'.
    """
    check.resource = existing_user.arn
    oc = other_credentials
    check.evidence("iam:GetLoginProfile+ListAccessKeys+ListSigningCertificates+ListSSHPublicKeys"
                   "+ListServiceSpecificCredentials", {
        "LoginProfile": oc.login_profile,
        "AccessKeys": [{k: v for k, v in a.items() if k in ("AccessKeyId", "Status", "CreateDate")}
                       for a in oc.access_keys],
        "SigningCertificates": [{k: v for k, v in c.items() if k in ("CertificateId", "Status", "UploadDate")}
                                for c in oc.signing_certificates],
        "SSHPublicKeys": [{k: v for k, v in k_.items() if k in ("SSHPublicKeyId", "Status", "UploadDate")}
                          for k_ in oc.ssh_public_keys],
        "ServiceSpecificCredentials": [{k: v for k, v in c.items() if k in (
            "ServiceSpecificCredentialId", "ServiceName", "ServiceUserName", "Status", "CreateDate")}
            for c in oc.service_credentials],
    })
    problems = []
    if oc.login_profile:
        problems.append("a console password (login profile)")

    def item(kind: str, status: Any, ident: Any) -> str:
        return f"{str(status or '').lower() or 'unknown-status'} {kind} {str(ident)[:8]}…"

    problems += [item("access key", a.get("Status"), a.get("AccessKeyId")) for a in oc.access_keys]
    problems += [item("X.509 signing certificate", c.get("Status"), c.get("CertificateId")) for c in oc.signing_certificates]
    problems += [item("SSH public key", k.get("Status"), k.get("SSHPublicKeyId")) for k in oc.ssh_public_keys]
    problems += [item(f"{c.get('ServiceName')} credential", c.get("Status"), c.get("ServiceSpecificCredentialId"))
                 for c in oc.service_credentials]
    inactive = any(p.startswith("inactive ") for p in problems)
    check.require(not problems, f"key-only user {existing_user.name} also has " + ", ".join(problems)
                  + "; delete them so a leak of one credential cannot become console, SigV4, SSH or Git access"
                  + (" (an inactive one can be switched back on, so it counts)" if inactive else ""))
    check.passed(f"{existing_user.name} has no console password, access key, signing certificate, SSH public key "
                 "or other service-specific credential")


def _report(check: Check, verdict: iam_verdicts.Verdict) -> None:
    for source, data in verdict.evidence.items():
        check.evidence(source, data)
    if verdict.severity:
        check.severity = verdict.severity
    if verdict.passed:
        check.passed(verdict.message)
    else:
        check.fail(verdict.message)


@verdict("iam.policy_least_privilege", reads=("org_policies",), test="test_policy_least_privilege")
def policy_least_privilege(check: Check, existing_user: IamUser, user_policies: UserPolicies,
                           audit_config: AuditConfig, inventory: Inventory | None = None) -> None:
    check.resource = existing_user.arn
    closed = _mantle_closed_by_scps(existing_user, audit_config, inventory)
    verdict = iam_verdicts.least_privilege(existing_user, user_policies, audit_config, closed)
    if not verdict.passed and inventory is not None:
        verdict = _extras_bounded_by_scps(verdict, existing_user, user_policies, audit_config, inventory, closed)
    _report(check, verdict)


def _mantle_closed_by_scps(user: IamUser, cfg: AuditConfig, inventory: Inventory | None) -> tuple[str, ...]:
    """The SCP sentence when the account's SCPs certainly refuse the key's bedrock-mantle:CallWithBearerToken
    in every Region (the Region is left unknown, so a Region-conditioned Deny does not count): then Mantle is
    not an endpoint the key can open, whatever the identity policies grant ("SCP evaluation",
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html)."""
    import datetime as dt

    from bedrock_key_audit.org_policies import scp_gate
    from bedrock_key_audit.policy import bearer_context, principal_context

    if inventory is None:
        return ()
    try:
        org = inventory.org_policies("commercial")
    except CouldNotDecide:
        return ()
    principal = principal_context(user.name, str(user.arn), str(user.account_id), None)
    ctx = bearer_context(principal, inventory.run_started or dt.datetime.now(dt.timezone.utc), user_values=cfg.policy_context,
                         user_absent=cfg.absent_context_keys)
    gate = scp_gate(org, iam_verdicts.MANTLE_BEARER, ctx)
    return (gate.sentence("SCP"),) if gate.permits is False else ()


def _scp_unreachable(org: OrgPolicies, actions: Iterable[str], principal: dict[str, str]) -> dict[str, str]:
    """The actions the SCPs of the user's account certainly deny it, whatever the request: each with the
    sentence naming the SCP ("SCP evaluation" --
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html:
    an SCP bounds the permissions of a member account's principals; what it denies, no identity
    policy grants).  Asked on every resource (``*``) with only the user's own keys known, so a Deny
    scoped to some resources or some requests (a condition on another key) removes nothing; an SCP
    with ``NotResource`` is not used (a resource outside it stays reachable)."""
    from bedrock_key_audit.org_policies import scp_gates
    from bedrock_key_audit.policy import RequestContext

    if any("NotResource" in json.dumps(p.document) for lv in org.levels for p in lv.scps):
        return {}
    ctx = RequestContext({**principal, "aws:PrincipalIsAWSService": "false"})
    return {a: g.sentence("SCP") for a, g in scp_gates(org, actions, ctx, "*").items() if g.permits is False}


_SCP_KIND = "scp-denied"  # a stand-in document for what the SCPs deny, never shown as a policy


def _narrowed_policies(user_policies: UserPolicies, denied: set[str]) -> UserPolicies:
    """The user's policies plus an explicit Deny of ``denied`` (what the SCPs deny it)."""
    import dataclasses

    from bedrock_key_audit.inventory.models import PolicyDoc

    stand_in = PolicyDoc(_SCP_KIND, "SCPs of the account", None, None, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": sorted(denied), "Resource": "*"}]})
    return dataclasses.replace(user_policies, documents=[*user_policies.documents, stand_in])


def _extras_bounded_by_scps(verdict: iam_verdicts.Verdict, user: IamUser, user_policies: UserPolicies,
                            cfg: AuditConfig, inventory: Inventory,
                            mantle_closed_by: tuple[str, ...] = ()) -> iam_verdicts.Verdict:
    """What an SCP removes is not an extra: an action the identity policies grant but the account's
    SCPs deny the user is not reachable, so it is left out of the extras (and named in the evidence)."""
    from bedrock_key_audit.policy import principal_context

    data = verdict.evidence.get("effective-permissions", {})
    extras = [e["action"] for e in data.get("extra_actions", [])]
    try:
        org = inventory.org_policies("commercial")
    except CouldNotDecide as exc:
        data["organization_policies"] = f"{exc} -- every action the identity policies grant is counted"
        return verdict
    data["organization_policies"] = org.evidence()
    gone = _scp_unreachable(org, extras, principal_context(user.name, str(user.arn), str(user.account_id), None))
    if not gone:
        return verdict
    data["removed_by_scps"] = [{"action": a, "why": why} for a, why in sorted(gone.items())]
    kept = {e["action"] for e in data["extra_actions"] if e["action"] not in gone}
    if not kept and not data.get("forbidden_policies_attached"):
        return iam_verdicts.Verdict(True, f"{user.name} may perform only required actions: the identity policies also "
                                    f"grant {', '.join(sorted(gone))}, but the account's SCPs deny them "
                                    f"({next(iter(gone.values()))})", verdict.evidence)
    # recount on what is left, so the message and the severity name only reachable actions
    narrowed = _narrowed_policies(user_policies, set(gone))
    again = iam_verdicts.least_privilege(user, narrowed, cfg, mantle_closed_by)
    perms = again.evidence["effective-permissions"]
    perms["policies"] = [d for d in perms["policies"] if d["kind"] != _SCP_KIND]
    perms.update(
        organization_policies=data["organization_policies"], removed_by_scps=data["removed_by_scps"])
    return iam_verdicts.Verdict(again.passed, again.message + f" ({len(gone)} more granted action(s) are denied by the "
                                f"account's SCPs and not counted: {', '.join(sorted(gone)[:6])})",
                                again.evidence, severity=again.severity)


@verdict("iam.policy_grants_required", reads=("org_policies", "secret"), test="test_policy_grants_required",
         fleet=lambda pytestconfig: bool(pytestconfig.getoption("all_keys", False)))
def policy_grants_required(check: Check, existing_user: IamUser, user_policies: UserPolicies,
                           audit_config: AuditConfig, inventory: Inventory, fleet: bool, now: dt.datetime) -> None:
    check.resource = existing_user.arn
    # the secret's region is read only if a statement needs it, and never makes this row error by itself
    def secret_region() -> str | None:
        try:
            return iam_verdicts.secret_region(inventory.secret(), existing_user.name, fleet)
        except CouldNotDecide:
            return None
    hint = (f"make secret {audit_config.secret_id} readable with its region field "
            "(where the key is used: aws:RequestedRegion)")
    verdict = iam_verdicts.grants_required(existing_user, user_policies, audit_config, now, secret_region, hint)
    if verdict.passed:
        verdict = _bounded_by_scps(check, verdict, existing_user, audit_config, inventory, now)
    _report(check, verdict)


def _bounded_by_scps(check: Check, verdict: iam_verdicts.Verdict, user: IamUser, cfg: AuditConfig,
                     inventory: Inventory, now: dt.datetime) -> iam_verdicts.Verdict:
    """What the identity policies grant, bounded by the SCPs of the user's account
    (:func:`bedrock_key_audit.org_policies.grants_bound`): an SCP that denies a required action for a
    long-term API-key call makes the key useless.  SCPs that cannot be read leave the row undecided."""
    from bedrock_key_audit.org_policies import grants_bound
    from bedrock_key_audit.policy import bearer_context, expand, principal_context

    try:
        org = inventory.org_policies("commercial")
    except CouldNotDecide as exc:
        raise CouldNotDecide(f"the identity policies grant every required action, but {exc}") from None
    check.evidence("organization-policies", org.evidence())
    principal = principal_context(user.name, str(user.arn), str(user.account_id), None)
    region = cfg.region("commercial")
    ctx = bearer_context(principal, now, requested_region=region, user_values=cfg.policy_context,
                         user_absent=cfg.absent_context_keys)
    partition = str(user.arn).split(":")[1]
    judged = grants_bound(org, expand(cfg.required_actions),
                          lambda a: iam_verdicts.required_resources(a, iam_verdicts.runtime_model(cfg), partition, str(user.account_id),
                                                                     cfg.mantle_project, iam_verdicts.openai_model(cfg)), ctx)
    if judged.status == "error":
        raise CouldNotDecide(judged.detail)
    if judged.status == "fail":
        return iam_verdicts.Verdict(False, f"{user.name}'s identity policies grant the required actions, but "
                                    + judged.detail, verdict.evidence)
    return iam_verdicts.Verdict(True, verdict.message.replace("(identity policies)", f"(identity policies; {judged.detail})"),
                                verdict.evidence)


from bedrock_key_audit.verdicts.access import key_minting_restricted  # noqa: E402,F401 -- judged with the access checks
