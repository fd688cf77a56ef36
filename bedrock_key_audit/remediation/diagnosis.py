"""Why the key's user is refused a required action, as the fixers decide from it: an explicit Deny, a
permissions boundary, or nothing but a missing Allow.  Only the last is fixed by a grant.

AWS, "Policy evaluation logic"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html) and "The
difference between explicit and implicit denies"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay.html):
a Deny statement that applies trumps every Allow, so adding an Allow never lifts it.  "Permissions
boundaries for IAM entities"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html): the effective
permissions are the intersection of the identity policies and the boundary, so an Allow outside the
boundary grants nothing.  SCPs are judged by :func:`bedrock_key_audit.remediation.fixers.iam.scp_stop`.

The request is judged as the audit's verdicts judge it: the bearer-token context of the key's user, on
the resources each required action is used on (:func:`bedrock_key_audit.iam_verdicts.required_resources`).
A Deny whose condition cannot be decided is no blocker here (the row ends ``error`` and no grant is made
on an undecided row)."""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from bedrock_key_audit.policy import Evaluator, PolicyError, Statement, expand

if TYPE_CHECKING:
    from bedrock_key_audit.remediation.core import Context


@dataclasses.dataclass(frozen=True)
class Blocker:
    """One reason a grant cannot help: ``kind`` is ``deny`` (``statement`` names the Deny statement of
    ``policy``) or ``boundary`` (``policy`` names the boundary)."""

    kind: str
    policy: str
    statement: str
    actions: tuple[str, ...]

    def sentence(self) -> str:
        acts = ", ".join(self.actions[:4]) + (" …" if len(self.actions) > 4 else "")
        if self.kind == "deny":
            return (f"{self.policy} statement {self.statement} explicitly denies {acts} to the key's user; a Deny "
                    "wins over every Allow, so no grant can lift it: removing or narrowing that Deny is its owner's "
                    "decision (remediation never edits a Deny)")
        return (f"the permissions boundary {self.policy} does not allow {acts}; the user's permissions are the "
                "intersection of its policies and the boundary, so no grant can add it: changing the boundary is its "
                "owner's decision (remediation never edits a boundary)")


@dataclasses.dataclass(frozen=True)
class GrantDiagnosis:
    blockers: tuple[Blocker, ...]
    missing: tuple[str, ...]  # required actions no Allow grants and nothing else blocks: a grant fixes these


def diagnose(documents: list[tuple[str, Any]], boundary: tuple[str, Any] | None, required: list[str],
             resources_of: Any, context: Any) -> GrantDiagnosis:
    """Judge each required action on its resources in ``context`` (pure; see the module docstring)."""
    grant = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": sorted(expand(required)), "Resource": "*"}]}
    try:
        ev = Evaluator(documents, boundary=boundary)
        # the same principal with a grant of every required action: what a grant would leave refused
        granted = Evaluator([*documents, ("the grant", grant)], boundary=boundary)
    except PolicyError:
        return GrantDiagnosis((), ())
    denies: dict[tuple[str, str], list[str]] = {}
    bounded: list[str] = []
    missing: list[str] = []
    for action in sorted(expand(required)):
        resources = resources_of(action)
        proof = ev.prove(action, resources, context)
        if proof.outcome == "denied":
            for st in _applying_denies(ev, action, resources, context):
                name = repr(st.sid) if st.sid else f"#{st.index + 1}"
                denies.setdefault((st.source, name), []).append(action)
        elif proof.outcome == "not_allowed":
            after = granted.prove(action, resources, context)
            if after.outcome == "not_allowed" and after.boundary_blocks:
                bounded.append(action)
            else:
                missing.append(action)
    blockers = [Blocker("deny", src, name, tuple(acts)) for (src, name), acts in denies.items()]
    if bounded and boundary is not None:
        blockers.append(Blocker("boundary", boundary[0], "", tuple(bounded)))
    return GrantDiagnosis(tuple(blockers), tuple(missing))


def _applying_denies(ev: Evaluator, action: str, resources: Any, context: Any) -> list[Statement]:
    out: list[Statement] = []
    for s in [*ev.statements, *(ev.boundary or [])]:
        if s.effect == "Deny" and s.matches(action) and any(
                s.applies(action, r, context).value is True for r in resources):
            out.append(s)
    return out


def grant_diagnosis(ctx: "Context") -> GrantDiagnosis:
    """:func:`diagnose` for the configured key's user, read from the inventory (memoised for the plan)."""
    memo: GrantDiagnosis | None = ctx.memo.get("plan:grant-diagnosis")
    if memo is not None:
        return memo
    from bedrock_key_audit import iam_verdicts
    from bedrock_key_audit.policy import bearer_context, principal_context

    user = ctx.cfg.user_name
    if not ctx.inv.user(user).exists:
        return GrantDiagnosis((), tuple(sorted(expand(ctx.cfg.required_actions))))
    up = ctx.inv.user_policies(user)
    partition, acct = ctx.arn_partition("commercial"), ctx.account("commercial")
    principal = principal_context(user, ctx.user_arn(), acct, None)
    bctx = bearer_context(principal, ctx.now, requested_region=ctx.cfg.region("commercial"),
                          user_values=ctx.cfg.policy_context, user_absent=ctx.cfg.absent_context_keys)
    got = diagnose([(d.label, d.document) for d in up.documents],
                   (up.boundary.label, up.boundary.document) if up.boundary is not None else None,
                   list(ctx.cfg.required_actions),
                   lambda a: iam_verdicts.required_resources(a, ctx.cfg.model_id, partition, acct,
                                                              ctx.cfg.mantle_project, iam_verdicts.openai_model(ctx.cfg)),
                   bctx)
    ctx.memo["plan:grant-diagnosis"] = got
    return got
