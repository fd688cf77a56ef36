"""The verdicts of the credential.* checks (called by the marked checks in checks/test_credential.py).

Each function is named after its check id (``credential.<name>`` -> :func:`<name>`) and takes the
``check`` recorder and the plain inventory data the check reads, so it can be tested on
hand-built objects (tests/unit/test_credential.py) with no emulator.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.checkcore import verdict
from bedrock_key_audit.inventory.keys import decode_key
from bedrock_key_audit.inventory.models import SecretText

if TYPE_CHECKING:
    from bedrock_key_audit.checkcore import Check
    from bedrock_key_audit.config import AuditConfig
    from bedrock_key_audit.inventory.models import Credential, IamUser
    from bedrock_key_audit.inventory.reader import Inventory

MINUTE = dt.timedelta(minutes=1)


def _evidence(check: Check, creds: list[Credential]) -> None:
    check.evidence("iam:ListServiceSpecificCredentials", [
        {"ServiceSpecificCredentialId": c.id, "UserName": c.user_name, "Status": c.status,
         "CreateDate": c.create_date.isoformat(), "ExpirationDate": c.expiration_date.isoformat() if c.expiration_date else None,
         "ServiceCredentialAlias": c.alias}
        for c in creds
    ])


def _live(existing_user: IamUser, creds: list[Credential], now: dt.datetime) -> list[Credential]:
    """Credentials not deliberately switched off: Active, or Active by status but past their
    expiry.  None of them: nothing to judge (``error``; credential.active says why)."""
    live = [c for c in creds if c.effective_status(now) in ("Active", "Expired") and c.status != "Inactive"]
    if not live:
        raise CouldNotDecide(f"{existing_user.name} has no Active Bedrock API key to judge (see credential.active)")
    return live


@verdict("credential.active")
def active(check: Check, existing_user: IamUser, bedrock_credentials: list[Credential], now: dt.datetime) -> None:
    check.resource = existing_user.arn
    _evidence(check, bedrock_credentials)
    check.require(bedrock_credentials, f"{existing_user.name} has no Bedrock API key (bedrock.amazonaws.com credential)")
    active = [c for c in bedrock_credentials if c.effective_status(now) == "Active"]
    states = ", ".join(f"{c.short_id} {c.effective_status(now)}" for c in bedrock_credentials)
    check.require(active, f"{existing_user.name} has no Active Bedrock API key ({states}) — create or rotate one")
    check.resource = f"{existing_user.arn}/credential/{active[0].id}"
    check.passed(f"{existing_user.name} has an Active Bedrock API key ({', '.join(c.short_id for c in active)})")


@verdict("credential.unexpired")
def unexpired(check: Check, existing_user: IamUser, bedrock_credentials: list[Credential], now: dt.datetime,
              audit_config: AuditConfig) -> None:
    check.resource = existing_user.arn
    _evidence(check, bedrock_credentials)
    live = _live(existing_user, bedrock_credentials, now)
    window = audit_config.rotate_before_days
    problems, fine = [], []
    for c in live:
        left = c.days_left(now)
        if left is None:
            fine.append(f"{c.short_id} never expires (see credential.bounded_lifetime)")
        elif left <= 0:
            problems.append(f"key {c.short_id} of {existing_user.name} expired {abs(int(left))} day(s) ago "
                            f"({c.expiration_date:%Y-%m-%d}); rotate it")
        elif left <= window:
            problems.append(f"key {c.short_id} of {existing_user.name} expires in {int(left)} day(s) "
                            f"({c.expiration_date:%Y-%m-%d}; rotate before {window})")
        else:
            fine.append(f"{c.short_id} expires in {int(left)} days")
    if problems:
        check.resource = f"{existing_user.arn}/credential/{live[0].id}"
    check.require(not problems, "; ".join(problems))
    check.passed("; ".join(fine))


@verdict("credential.bounded_lifetime")
def bounded_lifetime(check: Check, existing_user: IamUser, bedrock_credentials: list[Credential], now: dt.datetime,
                     audit_config: AuditConfig) -> None:
    check.resource = existing_user.arn
    _evidence(check, bedrock_credentials)
    live = _live(existing_user, bedrock_credentials, now)
    limit = audit_config.max_key_age_days
    problems, fine = [], []
    for c in live:
        if c.expiration_date is None:
            problems.append(f"key {c.short_id} of {existing_user.name} never expires (created without "
                            f"--credential-age-days); rotate to a key of at most {limit} days")
            continue
        lifetime = c.expiration_date - c.create_date
        if lifetime > dt.timedelta(days=limit) + MINUTE:
            problems.append(f"key {c.short_id} of {existing_user.name} lives {lifetime.days} days "
                            f"(more than max_key_age_days {limit})")
        else:
            fine.append(f"{c.short_id} lives {round(lifetime.total_seconds() / 86400)} days")
    check.require(not problems, "; ".join(problems))
    check.passed(f"every active key has an expiry within {limit} days: " + ", ".join(fine))


def _stored_key(text: SecretText | None) -> SecretText | None:
    """``bedrock_api_key`` of a secret version's JSON, kept in ``SecretText``; None when absent.

    Keys travel only inside ``SecretText`` here, so no frame of a failing check (``pytest -l``
    prints locals) holds one in the clear."""
    if text is None:
        return None
    try:
        data = json.loads(text.reveal())
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("bedrock_api_key"), str) or not data["bedrock_api_key"]:
        return None
    return SecretText(data["bedrock_api_key"])


def _named_by_version(version_id: str | None, creds: list[Credential]) -> Credential | None:
    """The credential a version id names as ``<credential id>-<hex>`` (fixtures/remediation/rotation.py
    ``version_token``), if exactly one does."""
    named = [c for c in creds if version_id and version_id.startswith(c.id + "-")]
    return named[0] if len(named) == 1 else None


AMBIGUOUS = object()


def held_credential(key: SecretText | None, version_id: str | None, active: list[Credential]) -> Any:
    """Which Active credential a stored key is: the one whose ``ServiceCredentialAlias`` equals the
    key's decoded identity; when several share that alias (IAM may give every key of a user the
    same one), the one the version id names.  None: no Active credential; AMBIGUOUS: cannot tell."""
    if key is None:
        return None
    decoded = decode_key(key.reveal())
    if decoded.kind != "long-term" or not decoded.identity:
        return None
    matches = [c for c in active if c.alias and c.alias == decoded.identity]
    if len(matches) <= 1:
        return matches[0] if matches else None
    return _named_by_version(version_id, matches) or AMBIGUOUS


# How long a rotation can really be in progress.  Secrets Manager API Reference, "RotationRulesType"
# (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotationRulesType.html), Duration: "The length
# of the rotation window in hours ... Secrets Manager rotates your secret at any time during this window. The window
# must not extend into the next rotation window or the next UTC day": a rotation runs within one day.  This tool's
# own rotation takes seconds.  So an AWSPENDING key created longer ago than a day (plus clock skew) is a rotation
# that died, not one in progress.
ROTATION_MAX_AGE = dt.timedelta(hours=24, minutes=5)


def rotation_in_progress(active: list[Credential], current: tuple[str | None, SecretText | None],
                         pending: tuple[str | None, SecretText | None],
                         now: dt.datetime | None = None) -> tuple[bool | None, str]:
    """Whether two Active keys are a rotation in progress: (True, why) / (False, why) / (None, why unknown).

    ``current`` / ``pending``: (version id, key as ``SecretText`` or None) of the AWSCURRENT and
    AWSPENDING versions.
    A rotation (fixtures/remediation/rotation.py; Secrets Manager's own staging labels) puts the
    new key in AWSPENDING while AWSCURRENT still holds the old one; so it excuses two Active
    keys only when AWSPENDING is another version holding a different key that *is* one Active
    credential, and AWSCURRENT holds the *other*.  The proof is the keys' public identity (the
    alias decoded from the key, compared with IAM's ServiceCredentialAlias); where both keys
    share one alias, the version id naming the credential (``<credential id>-<hex>``, as the
    rotation writes it) tells them apart; failing that, AWSCURRENT is the other key by
    elimination only when its content differs from the proven pending key.  A label alone, a
    pending copy of the current key, or a pending key of no Active credential proves nothing.
    """
    (cur_vid, cur_key), (pend_vid, pend_key) = current, pending
    if pend_vid is None:
        return False, "the secret has no AWSPENDING version, so no rotation is in progress"
    if pend_vid == cur_vid:
        return False, "AWSPENDING labels the current version, so no new key is being rotated in"
    if pend_key is None:
        return False, "the AWSPENDING version holds no bedrock_api_key, so it is not a key rotation"
    if cur_key is not None and pend_key.reveal() == cur_key.reveal():
        return False, "the AWSPENDING version holds the same key as AWSCURRENT"
    p = held_credential(pend_key, pend_vid, active)
    if p is None:
        return False, "the AWSPENDING version holds a key of neither Active credential"
    if p is AMBIGUOUS:
        return None, ("the AWSPENDING version holds a key whose alias both Active keys carry and its version id "
                      "names neither, so the audit cannot tell which key it is; rotate with version ids "
                      "<credential id>-<hex> or finish the rotation")
    c = held_credential(cur_key, cur_vid, active)
    if c is AMBIGUOUS:
        others = [x for x in active if x is not p]
        c = others[0] if len(others) == 1 else AMBIGUOUS
    if c is None or c is AMBIGUOUS or c is p:
        return False, (f"AWSPENDING holds {p.short_id} but AWSCURRENT holds no other Active key, "
                       "so the second Active key is not part of the rotation")
    if now is not None and now - p.create_date > ROTATION_MAX_AGE:
        return False, (f"AWSPENDING version {pending[0]} holds key {p.id}, created {p.create_date:%Y-%m-%d %H:%M} UTC, "
                       "longer ago than a rotation can take (Secrets Manager's rotation window ends within the UTC "
                       "day), so it is a stale rotation that never finished, not one in progress")
    return True, f"AWSCURRENT holds {c.short_id} and AWSPENDING holds the new key {p.short_id}"


@verdict("credential.single_active", reads=("secret", "secret_version", "api_key"))
def single_active(check: Check, existing_user: IamUser, bedrock_credentials: list[Credential], now: dt.datetime,
                  inventory: Inventory) -> None:
    """One Active Bedrock API key; two only while a rotation is in progress, proven by what the
    secret's AWSCURRENT and AWSPENDING versions hold (:func:`rotation_in_progress`)."""
    check.resource = existing_user.arn
    _evidence(check, bedrock_credentials)
    active = [c for c in bedrock_credentials if c.effective_status(now) == "Active"]
    if len(active) <= 1:
        check.passed(f"{existing_user.name} has {len(active)} Active Bedrock API key(s)")
        return
    ids = ", ".join(f"{c.short_id} (created {c.create_date:%Y-%m-%d})" for c in active)
    base = f"{existing_user.name} has {len(active)} Active Bedrock API keys: {ids}"
    check.require(len(active) == 2, f"{base}; no rotation explains more than two; deactivate the extra ones")
    secret = inventory.secret()  # read only now: one key needs no secret to be judged
    stages = (secret.describe or {}).get("VersionIdsToStages", {}) if secret.exists else {}
    cur_vid = next((v for v, labels in stages.items() if "AWSCURRENT" in labels), None)
    pend_vid = next((v for v, labels in stages.items() if "AWSPENDING" in labels), None)
    pending: tuple[str | None, SecretText | None] = (None, None)
    cur_key: SecretText | None = None
    if pend_vid is not None and pend_vid != cur_vid:
        vid, text = inventory.secret_version("AWSPENDING")  # CouldNotDecide if unreadable
        pending = (vid, _stored_key(text))
        if secret.value_error:
            check.undecided(f"{base}; cannot read the secret's AWSCURRENT version to see which key it holds: "
                            f"{secret.value_error}")
        try:
            cur_key = SecretText(inventory.api_key())
        except CouldNotDecide:
            cur_key = None  # readable but holds no key: it holds neither Active key
    else:
        pending = (pend_vid, None)
    verdict, why = rotation_in_progress(active, (cur_vid, cur_key), pending, now)
    check.evidence("rotation", {"AWSCURRENT": cur_vid, "AWSPENDING": pend_vid, "rotation_in_progress": verdict,
                                "why": why})
    if verdict is None:
        check.undecided(f"{base}; {why}")
    check.require(verdict, f"{base}; {why}; deactivate the one the secret does not hold")
    check.passed(f"{len(active)} Active keys during a rotation in progress: {why}")


@verdict("credential.recently_used")
def recently_used(check: Any, existing_user: Any, bedrock_credentials: Any, usage_history: Any, now: Any,
                  audit_config: Any) -> None:
    """Used within ``max_unused_days`` and, when ``allowed_source_cidrs`` is set, only from there, by the
    user's CloudTrail event history (``bedrock_key_audit.usage``: calls are matched on the user, since no
    record names the key; this audit's own probes are not use)."""
    from bedrock_key_audit.usage import judge, parse

    check.resource = existing_user.arn
    active = [c for c in bedrock_credentials if c.effective_status(now) == "Active"]
    if len(active) == 1:
        check.resource = f"{existing_user.arn}/credential/{active[0].id}"
    parsed = parse(usage_history.reads, existing_user.name, existing_user.arn,
                   token=getattr(usage_history, "run_token", None), earlier=getattr(usage_history, "earlier_probes", ()))
    verdict = judge(parsed, user=existing_user.name, now=now, key_created=[c.create_date for c in active],
                    max_unused_days=audit_config.max_unused_days, allowed_cidrs=audit_config.allowed_source_cidrs,
                    regions=usage_history.regions, window_start=usage_history.window_start,
                    region_unknown=usage_history.region_unknown)
    check.evidence("cloudtrail:LookupEvents", {**verdict.facts, "calls_read": [
        {"time": c.time.isoformat(), "region": c.region, "event": c.event_name, "source_ip": c.source_ip,
         "user_agent": c.user_agent, "audit_probe": c.own, "earlier_run_probe": c.earlier_run, "error": c.error_code}
        for c in parsed.calls[:200]]})
    if verdict.status == "error":
        check.undecided(verdict.message)
    check.require(verdict.status == "pass", verdict.message)
    check.passed(verdict.message)
