"""Fixers of the credential.* rows and secret.key_matches_credential: rotate, retire, keep a single Active key."""
from __future__ import annotations

from bedrock_key_audit.checkcore import CheckRecord
from bedrock_key_audit.remediation import rotation
from bedrock_key_audit.remediation.core import Context, Step, fixer, manual_step
from bedrock_key_audit.remediation.fixers.keys import (
    _restore_first,
    _retire_steps,
    _rotation_steps,
    _undecided_step,
    key_diagnosis,
)


def _credential_fixer(ctx: Context, rec: CheckRecord) -> list[Step]:
    if (restore := _restore_first(ctx)) is not None:
        return restore
    diag = key_diagnosis(ctx)
    if diag.get("undecided"):
        return _undecided_step(ctx, diag, rec)
    if diag["reasons"]:
        return _rotation_steps(ctx, "; ".join(diag["reasons"]), diag.get("held"))
    return _retire_steps(ctx, diag)


for _cid in ("credential.active", "credential.unexpired", "credential.bounded_lifetime", "secret.key_matches_credential"):
    fixer(_cid)(_credential_fixer)


@fixer("credential.single_active")
def fix_single_active(ctx: Context, rec: CheckRecord) -> list[Step]:
    if (restore := _restore_first(ctx)) is not None:
        return restore
    diag = key_diagnosis(ctx)
    active = [c for c in diag.get("creds", []) if c.effective_status(ctx.now) == "Active"]
    held = diag.get("held")
    if len(active) <= 1:
        return []
    if diag.get("undecided"):
        return _undecided_step(ctx, diag, rec)
    if diag.get("ambiguous"):
        ids = " and ".join(rotation._named(c) for c in diag["ambiguous"])
        return [manual_step("manual:single_active", f"cannot tell which of the Active keys {ids} the secret holds "
                            "(IAM gives them the same alias and both were created before the secret's current "
                            "version): a person must decide which one to deactivate", rec)]
    lo = rotation.leftovers(ctx, diag.get("creds", []))
    if lo:
        # keys and labels this tool's interrupted rotation left: finished or undone by name, never called
        # "another workload's"
        if diag["reasons"]:
            return _rotation_steps(ctx, "; ".join(diag["reasons"]), held)  # starts with the same recovery
        steps = rotation.recovery_steps(ctx, lo, held, "finish the interrupted rotation")
        active = [c for c in active if c.id not in lo.ids()]
        if len(active) <= 1:
            return steps
    else:
        steps = []
    if held is None or held not in active:
        # The secret holds none of them, so nothing tells which key the workload uses (it may hold one from before
        # the secret lost it); the newest may be one an interrupted run minted and nobody ever held.  Deactivating
        # either could cut the workload off: a person decides.
        ids = " and ".join(rotation._named(c) for c in active)
        steps.append(manual_step("manual:single_active",
                                 f"the secret holds none of the Active keys {ids}, so this tool cannot tell which one "
                                 "the workload uses and deactivates neither: a person who knows keeps that one, "
                                 "deactivates the other (iam:UpdateServiceSpecificCredential Status=Inactive), and a "
                                 "key nobody holds (e.g. one an interrupted rotation minted but never stored) is the "
                                 "one to remove", rec))
        return steps  # no rotation either: both slots are taken until a person frees one
    keep = held
    prev = rotation.previously_held(ctx, diag.get("creds", []))
    for c in active:
        if c.id == keep.id:
            continue
        if prev is not None and c.id == prev.id:
            why = f"the secret held it before (AWSPREVIOUS) and now holds {keep.id}"
        else:
            why = (f"the secret holds {keep.id}; its current and previous versions do not hold this key, so another "
                   "workload may use it: apply only if nothing does")
        steps.append(rotation.deactivate_step(ctx, c, why))
    if diag["reasons"]:
        steps += _rotation_steps(ctx, "; ".join(diag["reasons"]), held)
    return steps
