"""The fixer of ``credential.recently_used``: manual steps only.

Neither finding has a change the audit can make safely on its own:

* an unused key can only be *deactivated*, which is destructive and breaks a workload that is
  merely dormant; whether any workload still needs the key is a person's decision, and CloudTrail
  cannot even say which of the user's keys is the unused one (no record names the key);
* a call from outside ``allowed_source_cidrs`` needs someone to find out who made it; if it was
  not the workload, the key has leaked and must be rotated (``pytest --remediate`` rotates it when
  ``credential.*`` asks for it; a rotation is not started on a suspicion here).

So the plan names the key(s) and the calls, and changes nothing.
"""
from __future__ import annotations

from bedrock_key_audit.checkcore import CheckRecord
from bedrock_key_audit.remediation.core import Context, Step, fixer, manual_step


@fixer("credential.recently_used")
def fix_recently_used(ctx: Context, rec: CheckRecord) -> list[Step]:
    if rec.status == "error":
        return []  # nothing is known to be wrong: the plan summary says why there is no step
    steps: list[Step] = []
    detail = rec.detail or ""
    user = ctx.cfg.user_name
    if "was not used for more than" in detail:
        keys = [c for c in ctx.inv.bedrock_credentials(user) if c.status == "Active"]
        ids = ", ".join(f"{c.id} (alias {c.alias or '?'})" for c in keys) or "(none Active now)"
        steps.append(manual_step("manual:recently_used:unused", (
            f"the Bedrock API key(s) of {user} show no use within max_unused_days: if no workload needs them, "
            f"deactivate them (aws iam update-service-specific-credential --user-name {user} "
            f"--service-specific-credential-id <id> --status Inactive; Active now: {ids}); if one is needed, "
            "make the workload's calls visible in the regions the audit reads, or record an accepted risk"), rec))
    if "came from outside allowed_source_cidrs" in detail:
        steps.append(manual_step("manual:recently_used:outside", (
            f"find who called Bedrock with the key of {user} from the addresses named in the finding "
            "(CloudTrail event history, sourceIPAddress and userAgent); if it was not the workload, rotate the key "
            "now and deny bedrock:CallWithBearerToken outside the workload's ranges with an aws:SourceIp "
            "condition; if it was, add the range to credential.allowed_source_cidrs"), rec))
    return steps
