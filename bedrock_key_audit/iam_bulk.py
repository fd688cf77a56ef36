"""IAM's account-wide reads, parsed into what the per-user reads would have answered.

Fleet mode (``--all-keys``) reads IAM once per account instead of once per user:

* ``iam:GetAccountAuthorizationDetails`` (Filter ``User``, ``Role``, ``Group``, ``LocalManagedPolicy``;
  roles are for the access checks, read from the same answer):
  every user with its inline policies, groups, attached managed policies and permissions
  boundary; every group with its inline and attached policies; every customer-managed policy
  with its versions.  Fields read, as botocore's ``iam`` model names them: ``UserDetailList[]``
  (``UserName``, ``UserId``, ``Arn``, ``Path``, ``CreateDate``, ``UserPolicyList[].PolicyName/
  PolicyDocument``, ``GroupList[]``, ``AttachedManagedPolicies[].PolicyArn/PolicyName``,
  ``PermissionsBoundary.PermissionsBoundaryArn``, ``Tags``), ``GroupDetailList[]`` (``GroupName``,
  ``GroupPolicyList``, ``AttachedManagedPolicies``), ``Policies[]`` (``Arn``, ``PolicyName``,
  ``DefaultVersionId``, ``PolicyVersionList[].VersionId/IsDefaultVersion/Document``),
  ``IsTruncated``/``Marker``.
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
  AWS managed policies are not requested (over a thousand documents); the few a user or group
  attaches are read by ARN, once each.
* The IAM credential report (``GenerateCredentialReport`` / ``GetCredentialReport``, CSV):
  ``password_enabled`` ("When the user has a password, this value is TRUE. Otherwise it is
  FALSE") stands for ``GetLoginProfile``.  Its access-key and certificate columns are NOT used
  to prove absence: AWS documents ``access_key_N_last_rotated`` / ``cert_N_last_rotated`` as
  ``N/A`` when the user "does not have an active" key or certificate, so an inactive one is
  indistinguishable from none, and the audit's rule covers inactive credentials too.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html
  A report is a snapshot (AWS reuses one for up to four hours), so it is used only when it was
  generated at or after the run began: :func:`report_fresh`.
* ``iam:ListServiceSpecificCredentials`` with ``AllUsers=true`` (and no ``ServiceName``): every
  user's service-specific credentials of every service, replacing the per-user unfiltered list.
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListServiceSpecificCredentials.html

Nothing here calls AWS: the inventory pages the answers and hands them over.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Iterable
from typing import Any

# Role too: the access checks (inventory/access.py) judge every role from the same one read
GAAD_FILTER = ["User", "Role", "Group", "LocalManagedPolicy"]
REPORT_COLUMNS = ("user", "arn", "password_enabled")


class BulkParseError(ValueError):
    """A bulk answer does not have the shape botocore's model (or AWS's report format) describes."""


@dataclasses.dataclass(frozen=True)
class ManagedPolicy:
    arn: str
    name: str
    default_version_id: str
    document: Any


@dataclasses.dataclass
class AuthorizationDetails:
    """The parsed ``GetAccountAuthorizationDetails`` pages of one account."""

    users: dict[str, dict[str, Any]]  # lower-cased user name -> UserDetail
    groups: dict[str, dict[str, Any]]  # group name -> GroupDetail
    policies: dict[str, ManagedPolicy]  # ARN -> default version of a customer-managed policy

    def user(self, name: str) -> dict[str, Any] | None:
        """The UserDetail of ``name``; IAM user names are unique regardless of case
        (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateUser.html)."""
        return self.users.get(name.lower())

    def group(self, name: str) -> dict[str, Any] | None:
        return self.groups.get(name)


# the fields of UserDetail that GetUser's User also has (the rest are the attachments)
USER_FIELDS = ("Path", "UserName", "UserId", "Arn", "CreateDate", "PermissionsBoundary", "Tags")


def user_record(detail: dict[str, Any]) -> dict[str, Any]:
    """The UserDetail reduced to GetUser's ``User`` fields (what the evidence shows)."""
    return {k: detail[k] for k in USER_FIELDS if k in detail}


def _need(obj: Any, key: str, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise BulkParseError(f"GetAccountAuthorizationDetails: {where} has no {key}")
    return obj[key]


def parse_authorization_details(pages: Iterable[dict[str, Any]]) -> AuthorizationDetails:
    """Merge the pages; raises :class:`BulkParseError` when a field the audit relies on is missing.

    A managed policy whose default version is not in its ``PolicyVersionList`` is left out, so
    it is read by ARN like an AWS managed policy (never guessed).
    """
    users: dict[str, dict[str, Any]] = {}
    groups: dict[str, dict[str, Any]] = {}
    policies: dict[str, ManagedPolicy] = {}
    for page in pages:
        for u in page.get("UserDetailList") or []:
            name = _need(u, "UserName", "a UserDetailList entry")
            _need(u, "Arn", f"user {name}")
            users[name.lower()] = u
        for g in page.get("GroupDetailList") or []:
            groups[_need(g, "GroupName", "a GroupDetailList entry")] = g
        for p in page.get("Policies") or []:
            arn = _need(p, "Arn", "a Policies entry")
            default = _need(p, "DefaultVersionId", f"policy {arn}")
            versions = [v for v in p.get("PolicyVersionList") or []
                        if v.get("VersionId") == default and "Document" in v]
            if versions:
                policies[arn] = ManagedPolicy(arn, p.get("PolicyName") or arn.rsplit("/", 1)[-1], default,
                                              versions[0]["Document"])
    return AuthorizationDetails(users, groups, policies)


@dataclasses.dataclass(frozen=True)
class ReportRow:
    user: str
    arn: str
    password_enabled: bool


@dataclasses.dataclass(frozen=True)
class CredentialReport:
    generated: dt.datetime
    rows: dict[str, ReportRow]  # by ARN (a user deleted and re-created keeps its name, not its ARN)


def parse_credential_report(content: bytes | str, generated: dt.datetime) -> CredentialReport:
    """The CSV of ``GetCredentialReport`` (botocore already base64-decodes ``Content``).

    ``<root_account>`` is skipped.  A missing column, or a ``password_enabled`` other than
    ``true``/``false`` for a user, raises :class:`BulkParseError`.
    """
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REPORT_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise BulkParseError(f"the credential report has no {missing[0]} column")
    rows: dict[str, ReportRow] = {}
    for rec in reader:
        if rec["user"] == "<root_account>":
            continue
        value = (rec["password_enabled"] or "").strip().lower()
        if value not in ("true", "false"):
            raise BulkParseError(f"the credential report's password_enabled for {rec['user']} is {value!r}, "
                                 "not true or false")
        rows[rec["arn"]] = ReportRow(rec["user"], rec["arn"], value == "true")
    return CredentialReport(generated, rows)


def report_fresh(generated: dt.datetime, run_started: dt.datetime) -> bool:
    """Whether a report generated at ``generated`` shows the account as of this run.

    ``GeneratedTime`` has whole seconds, so the run's start is truncated to its second: a
    report generated in the second the run began counts; any older one may miss a password
    created since, and is not used.
    """
    return generated >= run_started.replace(microsecond=0)


def credentials_by_user(items: Iterable[dict[str, Any]], exclude_service: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """``ListServiceSpecificCredentials(AllUsers)`` items grouped by ``UserName`` (lower-cased
    keys, as IAM names are), optionally without one service's credentials."""
    out: dict[str, list[dict[str, Any]]] = {}
    for c in items:
        if exclude_service is not None and c.get("ServiceName") == exclude_service:
            continue
        out.setdefault(str(c["UserName"]).lower(), []).append(c)
    return out
