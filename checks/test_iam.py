"""IAM: the key's user exists, holds no other credentials, and has exactly the permissions it needs."""
from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from fixtures.checks import CouldNotDecide
from fixtures.policy import ACCESS_ORDER, BEARER_CONTEXT, Evaluator, PolicyError, access_level, expand

BEDROCK_PREFIXES = ("bedrock",)


@pytest.mark.check("iam.user_exists")
def test_user_exists(check, iam_user):
    check.resource = iam_user.arn or f"iam user {iam_user.name}"
    check.evidence("iam:GetUser", iam_user.raw or {"UserName": iam_user.name, "exists": False})
    check.require(iam_user.exists, f"IAM user {iam_user.name} does not exist in the commercial account")
    check.passed(f"IAM user {iam_user.name} exists ({iam_user.arn})")


@pytest.mark.check("iam.user_no_other_credentials")
def test_user_no_other_credentials(check, existing_user, other_credentials):
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

    def item(kind, status, ident) -> str:
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


def _evaluator(user_policies, context=None) -> Evaluator:
    try:
        return Evaluator(
            [(d.label, d.document) for d in user_policies.documents],
            boundary=(user_policies.boundary.label, user_policies.boundary.document) if user_policies.boundary else None,
            context=context,
        )
    except PolicyError as exc:
        raise CouldNotDecide(f"a policy of {user_policies.user} cannot be evaluated: {exc}") from None


def _forbidden(user_policies, forbidden: list[str]) -> list[str]:
    names = {f.split("/")[-1] for f in forbidden}
    return sorted({f"{d.name}{' (via group ' + d.via_group + ')' if d.via_group else ''}"
                   for d in user_policies.documents if d.kind in ("managed", "group-managed") and d.name in names})


@pytest.mark.check("iam.policy_least_privilege")
def test_policy_least_privilege(check, existing_user, user_policies, audit_config):
    check.resource = existing_user.arn
    ev = _evaluator(user_policies)
    allowed = ev.allowed()
    required = expand(audit_config.required_actions)
    extra = {a: d for a, d in allowed.items() if a not in required}
    forbidden = _forbidden(user_policies, audit_config.forbidden_policies)

    by_service: dict[str, list[str]] = defaultdict(list)
    for a in extra:
        by_service[a.split(":")[0]].append(a)
    check.evidence("effective-permissions", {
        "policies": [{"kind": d.kind, "name": d.name, "arn": d.arn, "version": d.version_id, "via_group": d.via_group}
                     for d in user_policies.documents],
        "permissions_boundary": user_policies.boundary.arn if user_policies.boundary else None,
        "allowed_count": len(allowed),
        "extra_actions": [{"action": a, "access_level": access_level(a), "granted_by": list(d.allow_sources),
                           "conditional": d.conditional} for a, d in sorted(extra.items())],
        "forbidden_policies_attached": forbidden,
    })
    if not extra and not forbidden:
        check.passed(f"{existing_user.name} may perform only required actions ({len(allowed)} allowed by identity policies)")
        return
    non_bedrock = sorted(s for s in by_service if not s.startswith(BEDROCK_PREFIXES))
    high = "iam:PassRole" in extra or bool(non_bedrock) or bool(forbidden)
    check.severity = "high" if high else "medium"
    levels = Counter(access_level(a) for a in extra)
    level_text = ", ".join(f"{levels[lv]} {lv}" for lv in ACCESS_ORDER if levels.get(lv))
    notable = [a for a in ("iam:PassRole",) if a in extra]
    notable += sorted((a for a in extra if not a.startswith(("bedrock:", "iam:PassRole"))),
                      key=lambda a: (ACCESS_ORDER.index(access_level(a)) if access_level(a) in ACCESS_ORDER else 9, a))[:6]
    notable += sorted(a for a in extra if a.startswith("bedrock:"))[: max(0, 8 - len(notable))]
    parts = []
    if forbidden:
        parts.append("forbidden managed polic" + ("ies " if len(forbidden) > 1 else "y ") + ", ".join(forbidden) + " attached")
    if extra:
        parts.append(
            f"{len(extra)} actions beyond required_actions ({level_text}) across {', '.join(sorted(by_service))}, e.g. "
            + ", ".join(f"{a} ({access_level(a)})" for a in notable)
        )
    check.fail(f"{existing_user.name} is not least-privilege: " + "; ".join(parts)
               + " — replace them with a policy allowing only required_actions")


@pytest.mark.check("iam.policy_grants_required")
def test_policy_grants_required(check, existing_user, user_policies, audit_config):
    check.resource = existing_user.arn
    # judged for what the key does: long-term bearer-token calls over HTTPS
    ev = _evaluator(user_policies, context=BEARER_CONTEXT)
    missing, notes = [], []
    for action in sorted(expand(audit_config.required_actions)):
        d = ev.decide(action)
        if not d.allowed:
            why = ("denied by " + ", ".join(d.deny_sources)) if d.deny_sources else (
                "blocked by the permissions boundary" if d.boundary_blocks and d.allow_sources else "not allowed by any policy")
            missing.append(f"{action} ({why})")
        elif d.conditional:
            notes.append(action)
    check.evidence("required-actions", {"required": audit_config.required_actions, "missing": missing, "conditional": notes})
    check.require(not missing, f"{existing_user.name} lacks {len(missing)} required action(s): " + ", ".join(missing)
                  + " — without them the key cannot work")
    extra = f" ({len(notes)} only under a condition or on some resources: {', '.join(notes[:4])})" if notes else ""
    check.passed(f"all {len(audit_config.required_actions)} required actions are allowed to {existing_user.name}{extra}")
