"""Fixers of the org.* checks (registered by importing this module): manual steps that print the
SCP to attach.  Attaching a service control policy changes what every principal of every account
under the target may do, so it is an organization decision: the audit never attaches one.
"""
from __future__ import annotations

import json
import re

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


def principal_arn(caller_arn: str) -> str | None:
    """The ``aws:PrincipalArn`` of a caller: a user's ARN, or the role of an assumed-role session (the
    key's value for a role session is the role's ARN: "AWS global condition context keys", IAM User
    Guide); the role's path is not in the session ARN, so a role with a path is not matched here."""
    m = re.fullmatch(r"arn:([\w-]+):sts::(\d{12}):assumed-role/([\w+=,.@-]+)/.+", caller_arn)
    if m:
        return f"arn:{m.group(1)}:iam::{m.group(2)}:role/{m.group(3)}"
    return caller_arn if re.fullmatch(r"arn:[\w-]+:iam::\d{12}:user/.+", caller_arn) else None


@fixer("org.long_term_keys_confined")
def fix_long_term_confined(ctx: Context, rec: CheckRecord) -> list[Step]:
    partition = rec.partition or "commercial"
    users = _users(ctx, partition)
    # creation stays open to the principals that rotate the key: credential.allowed_minters, and the
    # principal running this remediation (it rotates with CreateServiceSpecificCredential)
    minters = sanctioned(ctx.cfg.allowed_minters, partition)
    me = principal_arn(str(ctx.identity(partition).get("Arn") or ""))
    unlisted = me is not None and me not in minters and me not in users
    if unlisted and me is not None:
        minters.append(me)
    scp = json.dumps(confine_scp(users, minters), separators=(",", ":"))
    creators = [m for m in minters if m not in users]
    return [manual_step(f"manual:org-confine:{rec.partition}", f"SCP confining long-term Bedrock API keys to "
                        f"{', '.join(users) or 'no principal'}"
                        + (f", their creation also to {', '.join(creators)} (they rotate the key)" if creators else "")
                        + f" ({rec.partition}): {scp} -- {_ATTACH}"
                        + (f"; list {me} in credential.allowed_minters too, else this row reads its exemption as "
                           "unsanctioned" if unlisted else ""), rec)]
