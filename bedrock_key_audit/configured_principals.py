"""How a configured principal (``secret.allowed_readers``, ``secret.auditors``, ``credential.allowed_minters``)
is matched to the IAM user or role it names: one rule for the checks and the fixers.

IAM's ARN of a user or role carries its path (IAM User Guide, "IAM identifiers",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html), and a name is unique in an
account whatever the path, so ``role/bedrock-workload`` written in audit.toml names the role IAM answers
as ``role/apps/bedrock-workload``.  Account roots, sessions and other accounts' principals are kept as
written (they cannot be looked up from the account's own listing).
"""
from __future__ import annotations

import re
from collections.abc import Iterable

ARN = re.compile(r"^arn:(?P<partition>[a-z-]+):iam::(?P<account>\d{12}):(?P<kind>user|role)/(?:.*/)?(?P<name>[^/]+)$")


def real_arn(configured: str, known: Iterable[str]) -> str | None:
    """IAM's ARN, among ``known`` (the account's users and roles as IAM lists them), of the user or role
    ``configured`` names (same partition, account, kind and name; IAM names ignore case), else None."""
    m = ARN.match(configured)
    if m is None:
        return None
    for arn in known:
        k = ARN.match(arn)
        if k is not None and (k["partition"], k["account"], k["kind"]) == (m["partition"], m["account"], m["kind"]) \
                and k["name"].lower() == m["name"].lower():
            return arn
    return None


def resolve_against(configured: Iterable[str], known: Iterable[str], account: str) -> tuple[list[str], list[str]]:
    """``configured`` with each user/role of ``account`` replaced by its ARN in ``known``; and the entries of
    ``account`` that name no user or role there (kept as written)."""
    known = list(known)
    out: list[str] = []
    missing: list[str] = []
    for arn in configured:
        m = ARN.match(arn)
        if m is None or m["account"] != account:
            out.append(arn)
            continue
        real = real_arn(arn, known)
        if real is None:
            missing.append(arn)
        out.append(real or arn)
    return out, missing
