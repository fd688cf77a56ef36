"""The configured principals (``secret.allowed_readers``, ``credential.allowed_minters``) as IAM knows them.

A Deny keyed on ``aws:PrincipalArn`` compares the full ARN, IAM path included, and for a role
session ``aws:PrincipalArn`` is the role's ARN with its path (IAM User Guide, "AWS global condition
context keys", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn;
"IAM identifiers", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html: a
user's or role's ARN carries its path).  A reader written as ``role/bedrock-workload`` whose real ARN
is ``role/service/bedrock-workload`` would be denied by such a statement.  So before a fixer uses
them, each user or role ARN of this account is looked up by name (``iam:GetUser`` /
``iam:GetRole``) and replaced by the ARN IAM answers.  One that does not exist stops the plan with
one line.  Account roots and principals of other accounts are kept as written (they cannot be
looked up from here).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from bedrock_key_audit.configured_principals import ARN
from bedrock_key_audit.permissions import COMMERCIAL, GOVCLOUD, ROLE, R_GOVCLOUD_READER_ROLES, R_KEY_USER_READS, Write, writes

if TYPE_CHECKING:
    from bedrock_key_audit.remediation.core import Context

# the same matching rule as the checks (``secret.readers_restricted`` resolves against the account's listing)
_ARN = ARN


def _partition_of(ctx: "Context", arn_partition: str) -> str | None:
    for part in ("commercial", "govcloud"):
        if ctx.arn_partition(part) == arn_partition:
            return part
    return None


@writes(Write("iam:GetUser", R_KEY_USER_READS), Write("iam:GetRole", ROLE, partitions=COMMERCIAL),
        Write("iam:GetRole", R_GOVCLOUD_READER_ROLES, partitions=GOVCLOUD))
def resolve(ctx: "Context", arns: list[str], option: str) -> list[str]:
    """``arns`` with each user/role of an audited account replaced by IAM's own ARN (memoised);
    raises :class:`~bedrock_key_audit.remediation.errors.RemediationError` naming the first that does not exist."""
    from bedrock_key_audit.remediation.errors import RemediationError

    memo = ctx.memo.setdefault("principals:resolved", {})
    out: list[str] = []
    for arn in arns:
        if arn in memo:
            out.append(memo[arn])
            continue
        m = _ARN.match(arn)
        part = _partition_of(ctx, m["partition"]) if m else None
        if m is None or part is None or ctx.identity(part).get("Account") != m["account"]:
            memo[arn] = arn  # a root, a session, or another account: kept as written
            out.append(arn)
            continue
        if m["kind"] == "user":
            got = ctx.call("iam", part, "GetUser", expected={"NoSuchEntity"}, UserName=m["name"])
            real = (got or {}).get("User", {}).get("Arn")
        else:
            got = ctx.call("iam", part, "GetRole", expected={"NoSuchEntity"}, RoleName=m["name"])
            real = (got or {}).get("Role", {}).get("Arn")
        if not real:
            raise RemediationError(f"{option} names {arn}, which does not exist in the {part} account: correct "
                                   "audit.toml (IAM's ARN, with its path) and rerun")
        memo[arn] = real
        out.append(real)
    return out


def readers(ctx: "Context") -> list[str]:
    """``secret.allowed_readers`` as IAM knows them."""
    return resolve(ctx, list(ctx.cfg.allowed_readers), "secret.allowed_readers")


def auditors(ctx: "Context") -> list[str]:
    """``secret.auditors`` as IAM knows them: the principals that run the audit (it reads the secret)."""
    return resolve(ctx, list(ctx.cfg.auditors), "secret.auditors")


def caller(ctx: "Context", partition: str) -> str | None:
    """``aws:PrincipalArn`` of the principal running the remediation in ``partition``: a role session's
    role ARN (with its path), else the caller's ARN."""
    from bedrock_key_audit.inventory.access import account_authorization

    p = account_authorization(ctx.inv, partition).caller_principal()
    return p.arn if p is not None else ctx.identity(partition).get("Arn")


def keepers(ctx: "Context") -> list[str]:
    """Who must keep reading the secret through every change remediation makes: the configured readers
    and the principals that run the audit (``secret.auditors``; none configured: the principal running
    the remediation, since the audit reads the secret)."""
    runs = auditors(ctx)
    if not runs:
        me = caller(ctx, "govcloud")
        runs = [me] if me else []
    return sorted(set(readers(ctx)) | set(runs))


def minters(ctx: "Context") -> list[str]:
    """``credential.allowed_minters`` as IAM knows them."""
    return resolve(ctx, list(ctx.cfg.allowed_minters), "credential.allowed_minters")


def plan_stopper(ctx: "Context") -> str | None:
    """One line when a configured principal does not exist (the plan then holds only that line)."""
    from bedrock_key_audit.remediation.errors import RemediationError

    try:
        readers(ctx)
        auditors(ctx)
        minters(ctx)
    except RemediationError as exc:
        return f"plan stopped: {exc}"
    return None
