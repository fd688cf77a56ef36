"""Fixers of the endpoint.* rows: what the Bedrock endpoint's answer to the key calls for."""
from __future__ import annotations

from bedrock_key_audit.fixtures.checks import CheckRecord, CouldNotDecide
from bedrock_key_audit.fixtures.inventory import BadRegion
from bedrock_key_audit.remediation import rotation
from bedrock_key_audit.remediation.core import (
    ORDER_SECRET_REWRITE,
    Context,
    Step,
    fixer,
    manual_step,
)
from bedrock_key_audit.remediation.fixers.iam import _ensure_policy_step
from bedrock_key_audit.remediation.fixers.keys import (
    REFUSED,
    _restore_first,
    accepted,
    _rotation_steps,
    _undecided_step,
    key_diagnosis,
)


def _endpoint_fixer(ctx: Context, rec: CheckRecord) -> list[Step]:
    if (restore := _restore_first(ctx)) is not None:
        return restore
    probe_fn = ctx.inv.list_models if rec.check_id == "endpoint.list_models" else ctx.inv.invoke
    diag = key_diagnosis(ctx)
    if diag.get("undecided"):
        return _undecided_step(ctx, diag, rec)
    if diag["reasons"]:
        return _rotation_steps(ctx, "; ".join(diag["reasons"]), diag.get("held"))
    try:
        ctx.inv.probe_region()  # the endpoint rows call the region the secret names
    except (CouldNotDecide, BadRegion):
        # no usable region in the secret: rewriting it around the same key (secret.schema's fix,
        # with the configured commercial region) is what lets the rows be judged
        if lo := rotation.leftovers(ctx, diag.get("creds", [])):
            return rotation.recovery_steps(ctx, lo, diag.get("held"), "finish the interrupted rotation first")
        return [rotation.rewrite_secret_step(ctx, ORDER_SECRET_REWRITE, diag.get("held"))]
    # a fresh probe: only AWS's own refusal (401/403 with its authentication body: bad_key) rotates
    probe = probe_fn()
    if probe.classification == "bad_key":
        if accepted(ctx, REFUSED, "Bedrock refuses the key in the secret"):
            return []
        return _rotation_steps(ctx, "Bedrock refuses the key in the secret", diag.get("held"))
    if probe.classification == "forbidden":
        st = _ensure_policy_step(ctx)
        if st is not None:
            return [st]
        return [manual_step(f"manual:{rec.check_id}", "the key is refused although the user's policies allow "
                            "required_actions: look for an SCP, a boundary or a resource policy", rec)]
    if probe.classification == "model_unavailable":
        return [manual_step(f"manual:{rec.check_id}", f"choose an available model or inference profile for "
                            f"endpoint.model_id (now {ctx.cfg.model_id}) in audit.toml", rec)]
    if probe.classification == "ok" and rec.status == "error":
        return [manual_step(f"manual:{rec.check_id}", "Bedrock answers the key now although the audit's own probe "
                            "got no definitive answer: rerun the audit (nothing is rotated)", rec)]
    if rec.check_id == "endpoint.list_models" and probe.classification == "ok":
        return [manual_step(f"manual:{rec.check_id}", f"{ctx.cfg.model_id} is not listed: choose an available "
                            "model in audit.toml", rec)]
    return [manual_step(f"manual:{rec.check_id}", f"no change can fix this ({probe.classification}): "
                        "rerun the audit later (nothing is rotated)", rec)]


for _cid in ("endpoint.list_models", "endpoint.invoke"):
    fixer(_cid)(_endpoint_fixer)
