"""Fixers of the endpoint.* rows: what the Bedrock endpoint's answer to the key calls for."""
from __future__ import annotations

import fnmatch
import json
from typing import Any
from urllib.parse import unquote

from bedrock_key_audit.checkcore import CheckRecord, CouldNotDecide
from bedrock_key_audit.inventory.errors import BadRegion
from bedrock_key_audit.remediation import rotation
from bedrock_key_audit.remediation.core import Context, Step, fixer, manual_step
from bedrock_key_audit.remediation.errors import NeedsPerson
from bedrock_key_audit.remediation.diagnosis import grant_diagnosis
from bedrock_key_audit.remediation.fixers.iam import (
    _ensure_policy_step,
    ORDER_STRIP,
    _grants_all,
    blocker_steps,
    scp_manual_step,
    scp_stop,
)
from bedrock_key_audit.remediation.names import SURFACE_DENY_POLICY
from bedrock_key_audit.remediation.rotation import ORDER_SECRET_REWRITE
from bedrock_key_audit.remediation.fixers.keys import (
    REFUSED,
    _restore_first,
    accepted,
    _rotation_steps,
    _undecided_step,
    key_diagnosis,
    region_accepted,
)
from bedrock_key_audit.permissions import COMMERCIAL, R_KEY_USER_CHANGES, R_KEY_USER_READS, Write, writes


def _endpoint_fixer(ctx: Context, rec: CheckRecord) -> list[Step]:
    if (restore := _restore_first(ctx)) is not None:
        return restore
    diag = key_diagnosis(ctx)
    if diag.get("undecided"):
        return _undecided_step(ctx, diag, rec)
    if region_accepted(ctx):
        # the row fails for the region a live waiver on secret.schema accepts: neither a rewrite nor a new key
        # makes Bedrock answer in that region, and the region is not rewritten
        return []
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
    # a fresh probe of each surface the row probes: only AWS's own refusal (401/403 with its authentication
    # body: bad_key) rotates
    probes = [fn() for fn in _probes(ctx, rec.check_id)]
    probe = next((p for p in probes if p.classification == "bad_key"), None) or \
        next((p for p in probes if p.classification != "ok"), probes[0])
    if probe.classification == "bad_key":
        if accepted(ctx, REFUSED, "Bedrock refuses the key in the secret"):
            return []
        return _rotation_steps(ctx, "Bedrock refuses the key in the secret", diag.get("held"))
    if probe.classification != "ok":
        # an explicit Deny or a boundary refusing a required action: no grant, no other model, no rerun fixes it
        if (stop := scp_stop(ctx)) is not None:
            return [scp_manual_step(ctx, rec, stop)]
        if blockers := grant_diagnosis(ctx).blockers:
            return blocker_steps(ctx, rec, blockers)
    if probe.classification == "forbidden":
        if (stop := scp_stop(ctx)) is not None:
            return [scp_manual_step(ctx, rec, stop)]
        if "control policy" in probe.message.lower():
            # AWS's 403 names an SCP or RCP although the audit could not read which: no grant helps
            return [manual_step(f"manual:scp:{rec.check_id}", "the key is refused by an organization policy ("
                                f"{probe.message}); read the organization's policies ([organization] policies_profile "
                                "or --org-policies) to name it: no change to the key's user lifts it", rec)]
        up = ctx.inv.user_policies(ctx.cfg.user_name)
        if up.boundary is not None and _grants_all(ctx, up.documents):
            # the identity policies already grant every required action: the permissions boundary caps
            # them ("Permissions boundaries for IAM entities": the effective permissions are the
            # intersection), so attaching another grant cannot change the answer
            return [manual_step(f"manual:boundary:{rec.check_id}", (
                f"the key is refused although the user's identity policies grant required_actions: its "
                f"permissions boundary {up.boundary.label} caps them; remediation never edits a boundary: change "
                "it by hand if the key needs these actions"), rec)]
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


def _probes(ctx: Context, check_id: str) -> list[Any]:
    """The probes the row's verdict makes for the surfaces in use (verdicts/endpoint.py list_models, invoke)."""
    from bedrock_key_audit.verdicts.endpoint import _converse_used, _runtime_used

    cfg, inv = ctx.cfg, ctx.inv
    if check_id == "endpoint.list_models":
        fns = ([inv.list_models] if _runtime_used(cfg) else []) + ([inv.mantle_models] if "mantle" in cfg.surfaces else [])
    else:
        fns = (([inv.invoke] if _converse_used(cfg) else [])
               + ([inv.runtime_openai_chat] if "runtime-openai" in cfg.surfaces else [])
               + ([inv.mantle_chat] if "mantle" in cfg.surfaces else []))
    return fns or [inv.list_models if check_id == "endpoint.list_models" else inv.invoke]


for _cid in ("endpoint.list_models", "endpoint.invoke"):
    fixer(_cid)(_endpoint_fixer)


def _open_actions(ctx: Context) -> tuple[list[str], list[str]]:
    """(the CallWithBearerToken actions of unused surfaces that admit the key now, why others are unknown):
    the groups :func:`bedrock_key_audit.verdicts.endpoint.unused_surfaces_closed` probes, from the same probes,
    and a surface refused in the probed Region only (a Region-conditioned closure) counts as open."""
    from bedrock_key_audit.verdicts.endpoint import SURFACES, _closed, _closure_everywhere

    used = set(ctx.cfg.surfaces)
    actions: dict[str, list[str]] = {}
    for s in SURFACES.values():
        actions.setdefault(s.action, []).append(s.name)
    open_, unknown = [], []
    for action, members in actions.items():
        if all(m not in used for m in members):
            probe = ctx.inv.mantle_models() if action.startswith("bedrock-mantle:") else ctx.inv.list_models()
            state, why = _closed(probe, action, "/".join(members))
            if state is True:
                # refused where the probe went, but maybe only there: a Region-conditioned closure leaves it open
                state, why = _closure_everywhere(ctx.inv, ctx.cfg, ctx.cfg.user_name, action, members)
                if state is None:
                    continue  # the row says why; a Deny is not added on a guess
            if state is False:
                open_.append(action)
            elif state is None:
                unknown.append(why)
    return open_, unknown


# after the policy steps (a detach of AmazonBedrockFullAccess may already close Mantle), before the keys
ORDER_SURFACE_DENY = ORDER_STRIP + 1


def _deny_document(actions: list[str]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyBearerCallsOnUnusedBedrockSurfaces", "Effect": "Deny", "Action": sorted(actions), "Resource": "*"}]}


@writes(Write("iam:GetUserPolicy", R_KEY_USER_READS, partitions=COMMERCIAL),
        Write("iam:PutUserPolicy", R_KEY_USER_CHANGES, partitions=COMMERCIAL))
@fixer("endpoint.unused_surfaces_closed")
def fix_unused_surfaces_closed(ctx: Context, rec: CheckRecord) -> list[Step]:
    """An explicit Deny of each open unused surface's ``CallWithBearerToken`` on the key's user.

    "Control permissions for generating and using Amazon Bedrock API keys"
    (https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys-permissions.html): a policy
    denying the action on the key's IAM user prevents the key's use there.  The Deny is an inline
    policy of ours (:data:`~bedrock_key_audit.remediation.names.SURFACE_DENY_POLICY`); it changes
    nothing that existed before unless a policy of that name already exists, whose statements are
    kept and whose rewrite is then destructive.
    """
    user = ctx.cfg.user_name
    try:
        actions, unknown = _open_actions(ctx)
    except (CouldNotDecide, BadRegion):
        return []  # no key to probe with: the secret's own rows and fixers come first
    # never deny what the workload needs: a required action (required_actions, wildcards included) stays
    # allowed even if the surface it admits is not listed as used; the configuration check refuses that
    # contradiction at load, this keeps the fixer safe on configurations built by hand
    required = [r.lower() for r in ctx.cfg.required_actions]
    kept = [a for a in actions if any(fnmatch.fnmatchcase(a.lower(), r) for r in required)]
    actions = [a for a in actions if a not in kept]
    if kept and not actions:
        return [manual_step(f"manual:{rec.check_id}", f"{', '.join(kept)} admits the key on a surface not in "
                            "endpoint.surfaces, but policy.required_actions needs it: fix audit.toml (add the "
                            "surface, or remove the action) rather than deny it", rec)]
    if not actions:
        why = "; ".join(unknown) if unknown else "no unused surface admits the key now"
        return [manual_step(f"manual:{rec.check_id}", f"nothing to deny ({why}): rerun the audit", rec)]
    existing = next((d for d in ctx.inv.user_policies(user).documents
                     if d.kind == "inline" and d.name == SURFACE_DENY_POLICY), None)
    before = {"UserName": user, "PolicyName": SURFACE_DENY_POLICY,
              "PolicyDocument": existing.document if existing is not None else None}

    def run(ctx: Context, st: Step) -> tuple[Any, Any]:
        cur = ctx.call("iam", "commercial", "GetUserPolicy", expected={"NoSuchEntity"},
                       UserName=user, PolicyName=SURFACE_DENY_POLICY)
        doc = _deny_document(actions)
        if cur is not None:
            if not st.destructive:
                raise NeedsPerson(f"inline policy {SURFACE_DENY_POLICY} of {user} appeared since the plan: rerun the plan")
            old = cur["PolicyDocument"]
            old = json.loads(unquote(old)) if isinstance(old, str) else old
            kept = [s for s in (old.get("Statement") or []) if isinstance(s, dict)
                    and s.get("Sid") != "DenyBearerCallsOnUnusedBedrockSurfaces"] if isinstance(old, dict) else []
            doc["Statement"] = kept + doc["Statement"]
        ctx.call("iam", "commercial", "PutUserPolicy", UserName=user, PolicyName=SURFACE_DENY_POLICY,
                 PolicyDocument=json.dumps(doc))
        return before, {"PolicyName": SURFACE_DENY_POLICY, "PolicyDocument": doc}

    return [Step(key="endpoint.deny-unused-surfaces", order=ORDER_SURFACE_DENY,
                 action=f"add inline policy {SURFACE_DENY_POLICY} to {user} denying {', '.join(sorted(actions))} "
                        "(the key then stops working on the surfaces the workload does not use)",
                 calls=["iam:GetUserPolicy", "iam:PutUserPolicy"], target=ctx.user_arn(), targets=[ctx.user_arn()],
                 partition="commercial", destructive=existing is not None, run=run, before=before)]
