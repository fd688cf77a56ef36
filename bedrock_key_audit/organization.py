"""Which accounts of an AWS organization the audit covers, and which shard of them this run takes.

Discovery (AWS Organizations, from the management account or a delegated administrator):

* ``ListAccounts`` (botocore paginator, every page): every account with ``Id``, ``Name``,
  ``Status``/``State``.  Accounts whose ``Status`` is not ``ACTIVE`` (``SUSPENDED``,
  ``PENDING_CLOSURE``) or whose ``State`` is ``SUSPENDED``/``PENDING_CLOSURE``/``CLOSED`` are
  skipped: they can no longer be signed in to or used.
  https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html
* ``include_ous`` / ``exclude_ous``: ``ListAccountsForParent`` and
  ``ListOrganizationalUnitsForParent`` (paginators) under each named OU, recursively.
  https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccountsForParent.html
* ``govcloud_tag``: ``ListTagsForResource`` of each selected commercial account; AWS pairs each
  GovCloud account with the commercial account that created it (CreateGovCloudAccount,
  https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateGovCloudAccount.html),
  and the pairing is not readable from the commercial side, so it is configured (table or tag).

Sharding: :func:`in_shard` puts an account in shard ``K`` of ``N`` by SHA-256 of its id, so a
shard's accounts do not change when other accounts join or leave the organization.
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable
from typing import Any

INACTIVE_STATES = {"SUSPENDED", "PENDING_CLOSURE", "CLOSED"}
_SHARD = re.compile(r"^([1-9][0-9]*)/([1-9][0-9]*)$")


@dataclasses.dataclass(frozen=True)
class Member:
    id: str
    name: str
    govcloud_id: str | None = None


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` with 1 <= K <= N; ValueError naming the problem otherwise."""
    m = _SHARD.match(text.strip())
    if not m:
        raise ValueError(f"--shard {text!r}: expected K/N, e.g. 1/4")
    k, n = int(m.group(1)), int(m.group(2))
    if k > n:
        raise ValueError(f"--shard {text!r}: K must be between 1 and N ({n})")
    return k, n


def in_shard(account: str, k: int, n: int) -> bool:
    """Whether ``account`` (an account id, or an ``[[accounts]]`` name) belongs to shard ``k`` of ``n``."""
    return int.from_bytes(hashlib.sha256(account.encode()).digest()[:8], "big") % n == k - 1


def active(account: dict[str, Any]) -> bool:
    return account.get("Status") == "ACTIVE" and account.get("State", "ACTIVE") not in INACTIVE_STATES


def _pages(client: Any, operation: str, key: str, **params: Any) -> list[Any]:
    out: list[Any] = []
    for page in client.get_paginator(operation).paginate(**params):
        out.extend(page.get(key, []))
    return out


def accounts_under(client: Any, parent: str) -> set[str]:
    """Ids of every account under ``parent`` (a root or OU id), at any depth."""
    found: set[str] = set()
    todo = [parent]
    while todo:
        p = todo.pop()
        found |= {a["Id"] for a in _pages(client, "list_accounts_for_parent", "Accounts", ParentId=p)}
        todo += [ou["Id"] for ou in _pages(client, "list_organizational_units_for_parent", "OrganizationalUnits",
                                           ParentId=p)]
    return found


def select(accounts: Iterable[dict[str, Any]], *, include: set[str] | None, exclude: set[str]) -> list[dict[str, Any]]:
    """Active accounts, within ``include`` (None: all) and outside ``exclude``, sorted by id."""
    return sorted((a for a in accounts if active(a) and (include is None or a["Id"] in include)
                   and a["Id"] not in exclude), key=lambda a: a["Id"])


def discover(client: Any, org: dict[str, Any]) -> list[Member]:
    """The organization's accounts to audit (``org`` is the ``[organization]`` table)."""
    include: set[str] | None = None
    if org.get("include_accounts") or org.get("include_ous"):
        include = set(org.get("include_accounts") or [])
        for ou in org.get("include_ous") or []:
            include |= accounts_under(client, ou)
    exclude = set(org.get("exclude_accounts") or [])
    for ou in org.get("exclude_ous") or []:
        exclude |= accounts_under(client, ou)
    chosen = select(_pages(client, "list_accounts", "Accounts"), include=include, exclude=exclude)
    table: dict[str, str] = dict(org.get("govcloud_accounts") or {})
    tag = org.get("govcloud_tag")
    members = []
    for a in chosen:
        gov = table.get(a["Id"])
        if gov is None and tag:
            tags = _pages(client, "list_tags_for_resource", "Tags", ResourceId=a["Id"])
            gov = next((t["Value"] for t in tags if t.get("Key") == tag and re.fullmatch(r"\d{12}", t.get("Value", ""))),
                       None)
        members.append(Member(a["Id"], a.get("Name", a["Id"]), gov))
    return members
