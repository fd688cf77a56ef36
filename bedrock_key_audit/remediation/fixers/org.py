"""Fixers of the org.* checks (registered by importing this module): manual steps that print the
SCP to attach.  Attaching a service control policy changes what every principal of every account
under the target may do, so it is an organization decision: the audit never attaches one.
"""
from __future__ import annotations

import json

from bedrock_key_audit.checkcore import CheckRecord
from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.org_policies import confine_scp, lifetime_scp
from bedrock_key_audit.remediation.core import Context, Step, fixer, manual_step
from bedrock_key_audit.verdicts.org import sanctioned

_ATTACH = ("create it with aws organizations create-policy --type SERVICE_CONTROL_POLICY and attach it to the root or "
           "the account's OU (aws organizations attach-policy) from the management account; test it on one account first")


def _users(ctx: Context, partition: str) -> list[str]:
    if ctx.cfg.allowed_key_users is not None:
        return sanctioned(ctx.cfg.allowed_key_users, partition)
    if partition != "commercial":
        return []
    try:
        # IAM's own ARN of the user (its spelling, its path): aws:PrincipalArn is compared case-sensitively
        user = ctx.inv.user(ctx.cfg.user_name)
        if user.exists and user.arn:
            return [user.arn]
    except CouldNotDecide:
        pass
    account = ctx.identity("commercial").get("Account")
    return [f"arn:aws:iam::{account}:user/{ctx.cfg.user_name}"] if account else []


@fixer("org.key_lifetime_capped")
def fix_key_lifetime(ctx: Context, rec: CheckRecord) -> list[Step]:
    scp = json.dumps(lifetime_scp(ctx.cfg.max_key_age_days), separators=(",", ":"))
    return [manual_step(f"manual:org-lifetime:{rec.partition}", f"SCP capping Bedrock API keys at "
                        f"{ctx.cfg.max_key_age_days} days ({rec.partition}): {scp} -- {_ATTACH}", rec)]


@fixer("org.long_term_keys_confined")
def fix_long_term_confined(ctx: Context, rec: CheckRecord) -> list[Step]:
    users = _users(ctx, rec.partition or "commercial")
    scp = json.dumps(confine_scp(users), separators=(",", ":"))
    return [manual_step(f"manual:org-confine:{rec.partition}", f"SCP confining long-term Bedrock API keys to "
                        f"{', '.join(users) or 'no principal'} ({rec.partition}): {scp} -- {_ATTACH}", rec)]
