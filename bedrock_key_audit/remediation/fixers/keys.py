"""The key in the secret: why it needs rotating (``key_diagnosis``), the rotation steps around it, and
restoring a secret scheduled for deletion.  Shared by the credential.*, secret.* and endpoint.* fixers;
the rotation itself is :mod:`bedrock_key_audit.remediation.rotation`.
"""
from __future__ import annotations

import json
from typing import Any

from bedrock_key_audit.checkcore import CheckRecord, CouldNotDecide
from bedrock_key_audit.inventory.models import Credential
from bedrock_key_audit.inventory.keys import decode_key
from bedrock_key_audit.remediation import rotation
from bedrock_key_audit.redaction import redact_text
from bedrock_key_audit.remediation.core import PLAN_PASSES, Context, Step, manual_step
from bedrock_key_audit.remediation.errors import RemediationError
from bedrock_key_audit.remediation.fixers.iam import (
    _create_user_step,
    _ensure_policy_step,
    _needs_policy,
    _user_exists,
)
from bedrock_key_audit.remediation.fixers.kms import _kms_steps
from bedrock_key_audit.permissions import GOVCLOUD, R_SECRET, Write, writes

ORDER_SECRET_RESTORE = 42  # a secret scheduled for deletion is restored before anything reads or writes it



def _rotation_steps(ctx: Context, reason: str, held: Credential | None = None) -> list[Step]:
    """The steps that issue a new key into the secret, for every fixer that rotates.

    A new key is Active, fresh and bounded: issuing one undoes every reason the key diagnosis names, so
    while a live waiver accepts one of them (a key kept Inactive on purpose, an expiry the owner
    scheduled) no fixer rotates, whichever row asked: the waiver is judged here, once, and not per row
    (an Inactive key is also what makes Bedrock refuse it, so the endpoint rows ask for the same
    rotation).  Nothing is planned; the summary names the waiver."""
    diag = key_diagnosis(ctx)
    if diag.get("waived"):
        return [_waived_state_step(ctx, diag)] if diag["reasons"] else []
    rot = rotation.plan_rotation(ctx, reason, held)
    if any(s.manual for s in rot):
        return rot  # another party holds AWSPENDING or the key slot: a person decides first
    steps: list[Step] = []
    if not _user_exists(ctx):
        steps.append(_create_user_step(ctx))
    if _needs_policy(ctx) and (st := _ensure_policy_step(ctx)) is not None:
        steps.append(st)  # the new key must be allowed bedrock:CallWithBearerToken to prove itself
    secret = ctx.inv.secret()
    if not secret.exists and rotation.new_secret_default_key(ctx) is None:
        # a live waiver on secret.encrypted_with_cmk or secret.readers_restricted keeps the new secret on Secrets
        # Manager's default key (rotation.usable_kms): no key is made for it
        steps += _kms_steps(ctx, "govcloud")
        for s in rot:
            if s.key == "credential.rotate":
                s.requires.append("kms.create:govcloud")  # the new secret is created under our key
    return steps + rot


def _waived_state_step(ctx: Context, diag: dict[str, Any]) -> Step:
    """The key needs a new key for a reason no waiver accepts (Bedrock refuses it, the secret holds another key)
    while a live waiver accepts its state (an expiry, a lifetime, Inactive on purpose): the rotation that would fix
    the first reason replaces the key whose state the person decided about, so a person decides."""
    st = manual_step("manual:key-state-waived", (
        f"the key needs replacing because {'; '.join(diag['reasons'])}, but a new key would also change the key's "
        f"state that a live waiver accepts ({'; '.join(diag['waived'])}): nothing issues, retires or creates a key; "
        "a person decides (lift the waiver, or replace the key by hand)"))
    st.partition, st.target = "commercial", ctx.user_arn()
    return st


def region_accepted(ctx: Context) -> bool:
    """The secret's ``region`` is not one Bedrock is offered in and a live waiver on ``secret.schema`` accepts the
    document as it is: the endpoint rows' "no usable region" is that waived reason, so no step rewrites it (noted
    for the plan's summary)."""
    secret = ctx.inv.secret()
    if not secret.exists or secret.text is None:
        return False
    try:
        data = json.loads(secret.text.reveal())
    except (ValueError, RecursionError):
        return False
    kept = rotation.region_kept(ctx, data)
    region = data.get("region", "(none)") if isinstance(data, dict) else None
    del data
    return kept and accepted(ctx, ("secret.schema",), f"the secret's region {region!r} is not one where Amazon "
                             "Bedrock is offered (the endpoint rows cannot call Bedrock with it)")


def _undecided_step(ctx: Context, diag: dict[str, Any], rec: CheckRecord) -> list[Step]:
    """The key could not be judged (an AWS or Bedrock answer that says nothing about it): nothing is rotated."""
    return [manual_step("manual:key-undecided", f"{diag['undecided']}; nothing is rotated or retired on an answer "
                        "that does not say the key is refused: rerun later", rec)]


# The rows that judge "Bedrock refuses the key": either endpoint row, and the secret's own match row.
REFUSED = ("endpoint.list_models", "endpoint.invoke", "secret.key_matches_credential")


def key_diagnosis(ctx: Context) -> dict[str, Any]:
    """Why the key needs rotating (``reasons`` empty: it does not), from the Inventory, without the reasons a
    live waiver accepts.

    Every fixer that rotates or retires keys shares this diagnosis, so a waiver is applied here, to the
    reason, and not only to its row: a reason judged by a row under a live waiver (``ctx.waived``) is
    moved to ``waived`` (one sentence each, naming the waiver) and no fixer acts on it.  A reason several
    rows judge is accepted when any of them is waived: not acting is the side a person's recorded decision
    is on.  The rest of the contract is :func:`_key_diagnosis`'s."""
    out = _key_diagnosis(ctx)
    waived: list[str] = []
    for reason in list(out["reasons"]):
        by = [c for c in out["judged_by"].get(reason, ()) if c in ctx.waived]
        if by:
            out["reasons"].remove(reason)
            waived.append(f"{reason}: accepted by the live waiver on {by[0]} ({ctx.waived[by[0]]})")
    held = out.get("held")
    if waived and not out["reasons"] and held is not None and held.effective_status(ctx.now) == "Active":
        # an Active key whose expiry or lifetime is waived can still be refused by Bedrock (a wrong value pasted
        # into the secret): that is a reason of its own, which no waiver on the key's state accepts
        probe = ctx.inv.key_probe()
        if probe.classification == "bad_key":
            refused = "Bedrock refuses the key in the secret"
            by = [c for c in REFUSED if c in ctx.waived]
            if by:
                waived.append(f"{refused}: accepted by the live waiver on {by[0]} ({ctx.waived[by[0]]})")
            else:
                out["reasons"].append(refused)
                out["judged_by"][refused] = REFUSED
    out["waived"] = waived
    if waived:
        ctx.memo.setdefault("plan:waived-reasons", [])
        ctx.memo["plan:waived-reasons"] += [w for w in waived if w not in ctx.memo["plan:waived-reasons"]]
    return out


def accepted(ctx: Context, check_ids: tuple[str, ...], reason: str) -> bool:
    """Whether a live waiver on one of ``check_ids`` (``Context.waiver``: a failing row's, or an erroring row's)
    accepts ``reason`` (noted for the plan's summary)."""
    by = [(c, w) for c in check_ids if (w := ctx.waiver(c)) is not None]
    if by:
        note = f"{reason}: accepted by the live waiver on {by[0][0]} ({by[0][1]})"
        if note not in ctx.memo.setdefault("plan:waived-reasons", []):
            ctx.memo["plan:waived-reasons"].append(note)
    return bool(by)


def _key_diagnosis(ctx: Context) -> dict[str, Any]:
    """Why the key needs rotating (``reasons`` empty: it does not), from the Inventory.

    ``undecided`` (a sentence) when an answer said nothing about the key: the secret could not be read
    (an AWS error, a KMS key that cannot decrypt) or Bedrock answered 429, 5xx, a timeout or nothing.  Only
    a 401/403 with AWS's authentication body (``bedrock_key_audit.inventory.probes.classify_http`` -> ``bad_key``) says
    the key is refused; see /work/shared/reference/aws-facts.md, "Bad or expired long-term key"."""
    cfg, now = ctx.cfg, ctx.now
    reasons: list[str] = []
    out: dict[str, Any] = {"reasons": reasons, "held": None, "creds": [], "judged_by": {}}

    def add(reason: str, *check_ids: str) -> None:
        reasons.append(reason)
        out["judged_by"][reason] = check_ids
    if not _user_exists(ctx):
        add(f"IAM user {cfg.user_name} does not exist yet", "iam.user_exists")
        return out
    creds: list[Credential] = ctx.inv.bedrock_credentials(cfg.user_name)
    out["creds"] = creds
    secret = ctx.inv.secret()
    try:
        key = ctx.inv.api_key()
    except CouldNotDecide as exc:
        if secret.exists and secret.value_error:
            out["undecided"] = str(exc)  # a read error is not a bad key: rotating would not help
        else:
            add(str(exc), "secret.exists", "secret.key_matches_credential")
        return out
    decoded = decode_key(key)
    del key
    user = ctx.inv.user(cfg.user_name)
    if decoded.kind != "long-term" or decoded.account_id != user.account_id or not (
            decoded.user_name == cfg.user_name or (decoded.user_name or "").startswith(cfg.user_name + "+")):
        add(f"the secret does not hold a long-term key of {cfg.user_name}", "secret.key_matches_credential")
        return out
    matches = [c for c in creds if c.alias and c.alias == decoded.identity]
    if not matches:
        add("the secret holds a key of no existing credential", "secret.key_matches_credential")
        return out
    live = [c for c in matches if c.effective_status(now) == "Active"]
    if len(matches) > 1 and len(live) == 1:
        # aliases do not tell the keys apart: the endpoint accepts exactly the live one
        probe = ctx.inv.key_probe()  # in the secret's region, else the configured one
        if probe.classification in ("ok", "forbidden", "model_unavailable"):
            held = live[0]
        elif probe.classification == "bad_key":
            held = None
        else:
            out["undecided"] = (f"cannot tell which of the keys with alias {decoded.identity} the secret holds: "
                                f"Bedrock's answer says nothing about the key ({probe.classification}: {probe.message})")
            return out
    elif len(matches) > 1 and len(live) > 1:
        held = _held_by_version(ctx, live) or _held_by_time(ctx, live)
        if held is None:
            out["ambiguous"] = live
            return out
    else:
        held = matches[0]
    if held is None:
        add("Bedrock refuses the key in the secret", *REFUSED)
        return out
    out["held"] = held
    status = held.effective_status(now)
    left = held.days_left(now)
    if status != "Active":
        add(f"the key in the secret ({held.short_id}) is {status}", *(
            ("credential.active", "credential.unexpired") if status == "Expired" else ("credential.active",)),
            "secret.key_matches_credential")
    elif held.expiration_date is None:
        add(f"key {held.short_id} never expires", "credential.bounded_lifetime")
    elif (held.expiration_date - held.create_date).total_seconds() > cfg.max_key_age_days * 86400 + 60:
        add(f"key {held.short_id} lives longer than max_key_age_days ({cfg.max_key_age_days})",
            "credential.bounded_lifetime")
    elif left is not None and left <= cfg.rotate_before_days:
        add(f"key {held.short_id} expires in {int(left)} day(s) (rotate_before_days {cfg.rotate_before_days})",
            "credential.unexpired")
    if not reasons:
        probe = ctx.inv.key_probe()
        if probe.classification == "bad_key":
            add("Bedrock refuses the key in the secret", *REFUSED)
    return out


def _held_by_version(ctx: Context, live: list[Credential]) -> Credential | None:
    """The key a version written by this tool holds: its version id starts with the credential id."""
    stages = (ctx.inv.secret().describe or {}).get("VersionIdsToStages") or {}
    current = next((v for v, st in stages.items() if "AWSCURRENT" in st), None)
    cid = rotation.credential_of_version(current, [c.id for c in live])
    return next((c for c in live if c.id == cid), None)


@writes(Write("secretsmanager:ListSecretVersionIds", R_SECRET, partitions=GOVCLOUD))
def _held_by_time(ctx: Context, live: list[Credential]) -> Credential | None:
    """Of several Active keys sharing the stored key's alias, the one the secret can hold: a key
    created after the secret's AWSCURRENT version was written cannot be in it."""
    got = ctx.call("secretsmanager", "govcloud", "ListSecretVersionIds", SecretId=ctx.cfg.secret_id)
    current = [v for v in (got or {}).get("Versions", []) if "AWSCURRENT" in v.get("VersionStages", [])]
    if not current or not current[0].get("CreatedDate"):
        return None
    written = current[0]["CreatedDate"]
    older = [c for c in live if c.create_date <= written]
    return older[0] if len(older) == 1 else None


def _retire_steps(ctx: Context, diag: dict[str, Any]) -> list[Step]:
    """Expired keys the secret does not hold: delete them (destructive: they existed before the run, even if
    they can authenticate nothing), each named by id and alias."""
    steps = []
    held = diag.get("held")
    for c in diag.get("creds", []):
        if c.effective_status(ctx.now) == "Expired" and (held is None or c.id != held.id):
            steps.append(rotation.delete_credential_step(ctx, c, "it is Expired and not the key in the secret"))
    return steps


def _restore_first(ctx: Context) -> list[Step] | None:
    """A secret scheduled for deletion still holds its value: restore it, judge the key on the next run."""
    secret = ctx.inv.secret()
    return [_restore_secret_step(ctx)] if secret.exists and secret.pending_deletion else None


@writes(Write("secretsmanager:RestoreSecret", R_SECRET, partitions=GOVCLOUD))
def _restore_secret_step(ctx: Context) -> Step:
    sid = ctx.cfg.secret_id

    def run(ctx: Context, st: Step) -> tuple[Any, Any]:
        ctx.call("secretsmanager", "govcloud", "RestoreSecret", SecretId=sid)
        return {"pending_deletion": True}, {"pending_deletion": False}

    return Step(key="secret.restore", order=ORDER_SECRET_RESTORE, action=f"restore secret {sid} (scheduled for deletion)",
                calls=["secretsmanager:RestoreSecret"], target=ctx.inv.secret().arn or sid, partition="govcloud",
                run=run, before={"pending_deletion": True})


_RECOVERY_KEYS = ("credential.rotate", "credential.orphan", "secret.clear-pending", "secret.clear-intent",
                  "manual:single_active")


def unfinished_rotation_steps(ctx: Context, merged: dict[str, Step], stopper_checked: bool) -> list[Step]:
    """This tool's own unfinished rotation (an AWSPENDING version it wrote, a key it minted and never stored, its
    intent marker on the secret) is finished or undone whether or not a row fails: a waiver accepts a row's
    reason, not a half-done rotation, and a marker left by a denied UntagResource must not stay for good.  Only
    when no fixer already planned that recovery."""
    from bedrock_key_audit.remediation.principals import plan_stopper

    if any(k.startswith(_RECOVERY_KEYS) for k in merged):
        return []
    try:
        lo = rotation.leftovers(ctx)
        if not lo and lo.intent is None:
            return []
        if not stopper_checked and plan_stopper(ctx) is not None:
            return []
        held = key_diagnosis(ctx).get("held") if lo.pending is not None else None
        steps = rotation.recovery_steps(ctx, lo, held, "finish this tool's interrupted rotation")
    except (CouldNotDecide, RemediationError) as exc:
        return [manual_step("unplannable:rotation-leftovers",
                            redact_text(f"cannot tell whether this tool left an unfinished rotation: {exc}"))]
    for st in steps:
        if not st.why:
            st.why.append("this tool's own rotation was left unfinished (found on AWS, whatever the rows say)")
    return steps


PLAN_PASSES.append(unfinished_rotation_steps)
