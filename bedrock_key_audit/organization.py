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

import concurrent.futures as cf
import dataclasses
import hashlib
import re
from collections.abc import Iterable
from typing import Any

import botocore.credentials
import botocore.exceptions

from bedrock_key_audit.aws import Aws, CallLog
from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.config import AuditConfig, ConfigError, _merge
from bedrock_key_audit.permissions import COMMERCIAL, ORGANIZATION_ACCOUNTS, Read, reads

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


@reads(Read("organizations:ListAccountsForParent", ORGANIZATION_ACCOUNTS, partitions=COMMERCIAL),
       Read("organizations:ListOrganizationalUnitsForParent", ORGANIZATION_ACCOUNTS, partitions=COMMERCIAL))
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


@reads(Read("organizations:ListAccounts", ORGANIZATION_ACCOUNTS, partitions=COMMERCIAL),
       Read("organizations:ListTagsForResource", ORGANIZATION_ACCOUNTS, partitions=COMMERCIAL))
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


# --------------------------------------------------------------------------- assumed-role sessions
# Each member account is read through ``sts:AssumeRole`` of ``organization.role_name`` (with
# ``ExternalId`` when configured): in the commercial account from the organization profile, in
# its paired GovCloud account from ``partitions.govcloud.profile``.  The credentials are botocore's
# own ``DeferredRefreshableCredentials`` fed by ``AssumeRoleCredentialFetcher``, so a session is
# renewed before it expires (botocore refreshes 15 minutes before expiry, and must 10 minutes
# before), however long the run.  The first AssumeRole of every account is made up front, in
# parallel; an account whose role cannot be assumed, or that has no GovCloud account mapped,
# keeps that one sentence and every read of it raises it (its rows end ``error``), while every
# other account is audited as usual.
# AWS: "AssumeRole", https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html

SESSION_NAME = "bedrock-key-audit"


@dataclasses.dataclass
class AssumedAccount:
    """The assumed-role credentials of one audited account, per partition, or why there are none."""

    account: str
    role_arns: dict[str, str | None]
    credentials: dict[str, Any] = dataclasses.field(default_factory=dict)
    problems: dict[str, str] = dataclasses.field(default_factory=dict)

    def check(self, partition: str) -> None:
        """Raise the account's one sentence when ``partition`` cannot be read."""
        if partition in self.problems:
            raise CouldNotDecide(self.problems[partition])

    def apply(self, partition: str, session: Any) -> None:
        """Give ``session`` (boto3) the role's refreshable credentials."""
        creds = self.credentials.get(partition)
        if creds is not None:
            session._session._credentials = creds


def source_aws(cfg: AuditConfig, profile: str | None, calls: CallLog, emulated: bool,
               partition: str = "commercial") -> Aws:
    """An :class:`Aws` of ``cfg`` whose ``partition`` reads through ``profile`` (the organization's profile)."""
    data = _merge(cfg.data, {"partitions": {partition: {"profile": profile}}}) if profile else cfg.data
    return Aws(dataclasses.replace(cfg, data=data, account_views=None), calls, emulated=emulated)


def _assume(source: Any, partition: str, role_arn: str, org: dict[str, Any], account: str) -> tuple[Any, str | None]:
    """(refreshable credentials, None) or (None, the sentence why the role cannot be assumed)."""
    sts = source.client("sts", partition)
    extra: dict[str, Any] = {"RoleSessionName": SESSION_NAME, "DurationSeconds": int(org.get("session_seconds", 3600))}
    if org.get("external_id"):
        extra["ExternalId"] = org["external_id"]
    fetcher = botocore.credentials.AssumeRoleCredentialFetcher(
        client_creator=lambda *_a, **_k: sts, source_credentials=source.session(partition).get_credentials(),
        role_arn=role_arn, extra_args=extra)
    creds = botocore.credentials.DeferredRefreshableCredentials(refresh_using=fetcher.fetch_credentials,
                                                                 method="assume-role")
    try:
        creds.get_frozen_credentials()
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        return None, (f"cannot assume role {role_arn} in account {account} ({partition}): AWS answered {code}; "
                      f"let the auditing principal assume it (the role's trust policy"
                      f"{' and external id' if org.get('external_id') else ''}) or exclude the account")
    except (botocore.exceptions.BotoCoreError, TypeError) as exc:
        return None, (f"cannot assume role {role_arn} in account {account} ({partition}): {type(exc).__name__}; "
                      "check the organization profile's credentials")
    return creds, None


def assume_all(cfg: AuditConfig, org: dict[str, Any], members: list[Member], calls: CallLog,
               emulated: bool) -> dict[str, AssumedAccount]:
    commercial_source = source_aws(cfg, org.get("profile"), calls, emulated)
    out: dict[str, AssumedAccount] = {}
    jobs: list[tuple[AssumedAccount, str, str]] = []
    for m in members:
        arns: dict[str, str | None] = {
            "commercial": f"arn:aws:iam::{m.id}:role/{org['role_name']}",
            "govcloud": f"arn:aws-us-gov:iam::{m.govcloud_id}:role/{org['role_name']}" if m.govcloud_id else None}
        acct = out[m.id] = AssumedAccount(m.id, arns)
        if m.govcloud_id is None:
            acct.problems["govcloud"] = (
                f"no GovCloud account is mapped to account {m.id}, so its GovCloud resources cannot be read; add it "
                f"to organization.govcloud_accounts{' or tag the account ' + org['govcloud_tag'] if org.get('govcloud_tag') else ''}")
        for partition, arn in arns.items():
            if arn is not None:
                jobs.append((acct, partition, arn))

    def run(job: tuple[AssumedAccount, str, str]) -> None:
        acct, partition, arn = job
        creds, problem = _assume(commercial_source, partition, arn, org, acct.account)
        if problem:
            acct.problems[partition] = problem
        else:
            acct.credentials[partition] = creds

    with cf.ThreadPoolExecutor(16, thread_name_prefix="assume-role") as pool:
        list(pool.map(run, jobs))
    return out




def expand_accounts(cfg: AuditConfig, shard_opt: str | None, calls: CallLog, emulated: bool
                    ) -> tuple[AuditConfig, dict[str, AssumedAccount] | None]:
    """The configuration with the organization's accounts added and ``--shard`` applied, and the assumed-role
    sessions of the organization's accounts (None without ``[organization]``).  Raises :class:`ConfigError`."""
    org = cfg.data.get("organization")
    if not org and not shard_opt:
        return cfg, None
    views: dict[str, AuditConfig] = dict(cfg.account_views or {})
    assumed: dict[str, AssumedAccount] | None = None
    if org:
        source = source_aws(cfg, org.get("profile"), calls, emulated)
        try:
            members = discover(source.client("organizations", "commercial"), org)
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "ClientError")
            raise ConfigError(f"organization: listing the organization's accounts failed with {code}; run from the "
                              "management account or a delegated administrator allowed organizations:ListAccounts") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise ConfigError(f"organization: listing the organization's accounts failed: {type(exc).__name__}") from None
        dupes = sorted(set(views) & {m.id for m in members})
        if dupes:
            raise ConfigError(f"accounts: name {dupes[0]!r} is also an organization account id; rename the [[accounts]] entry")
        shard = parse_shard(shard_opt) if shard_opt else None
        if shard:  # assume roles only in this shard's accounts
            members = [m for m in members if in_shard(m.id, *shard)]
        assumed = assume_all(cfg, org, members, calls, emulated)
        for m in members:
            views[m.id] = AuditConfig(path=cfg.path, data=cfg.data, sha256=cfg.sha256, account=m.id)
    if shard_opt:
        k, n = parse_shard(shard_opt)
        if not views:
            views = {cfg.account: cfg}
        views = {name: v for name, v in views.items() if (assumed is not None and name in assumed) or in_shard(name, k, n)}
        if not views:
            raise ConfigError(f"--shard {shard_opt}: this shard holds no account (fewer accounts than shards?)")
    if not views:
        raise ConfigError("organization: no active account matches the include/exclude lists")
    first = next(iter(views))
    return dataclasses.replace(cfg, account=first, account_views=views), assumed
