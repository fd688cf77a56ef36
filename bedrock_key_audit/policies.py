"""``bedrock-key-audit policy auditor|remediator``: the IAM policy to attach, for this configuration.

The auditor's policy is generated from the actions the audit's reads declare beside their calls
(:mod:`bedrock_key_audit.permissions`, as Cloud Custodian's resources declare their permissions), one
statement per resource kind; the remediator's from the calls the remediation declares beside them (its writes
and the reads that decide them, through the change guard) plus the audit's reads, with its conditional statements
held as data in :data:`bedrock_key_audit.permissions.REMEDIATOR_SCOPES`.  Both are proven by ``tests/remediation/test_policies.py`` (the whole audit and remediation run as a principal
holding only them, one action fewer fails); ``docs/auditor-policy.json`` and ``docs/remediator-policy.json``
are the documents as printed for the built-in defaults (a test holds them equal). What changes
with the configuration:

- the audited user's name (``user.name``) in user and policy ARNs, and the secret's name
  (``secret.id``; a full ARN is used as given) in the secret ARN pattern. Secrets Manager appends
  six random characters to a secret's ARN ("Permissions policy examples for AWS Secrets Manager",
  https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_iam-policies.html:
  "secret:SecretName-??????"), hence the ``-??????``;
- ``--partition commercial|govcloud``: only that partition's ARNs (a statement naming only the
  other partition's resources is left out; IAM in each partition is separate, so each account gets
  its own policy), and for GovCloud only what the code calls there (:data:`COMMERCIAL_ONLY`, from the
  partitions the declarations name: the key user, its key's use, Bedrock invocation logging and the
  remediator's least-privilege policy are read and written in the commercial partition only);
- the key user's ARN is named twice, ``user/NAME`` and ``user/*/NAME``: a user's ARN carries its IAM
  path (``user/svc/NAME``: "IAM identifiers",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html), and ``*`` in an ARN
  pattern also matches ``/`` ("IAM JSON policy elements: Resource": wildcards "can match multiple
  segments"), so the second matches the user under any path while a user name cannot contain ``/``
  (IAM quotas: names are ``[\\w+=,.@-]``), which keeps it to the one user named NAME;
- ``--organization``: the principal in the management (or delegated-administrator) account that
  runs an ``[organization]`` audit needs the Organizations reads (``ListAccounts``,
  ``ListAccountsForParent``, ``ListOrganizationalUnitsForParent``, ``ListTagsForResource``:
  bedrock_key_audit/organization.py) and ``sts:AssumeRole`` on ``organization.role_name`` in every
  member account ("Granting a user permissions to switch roles",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_permissions-to-switch.html). The
  member accounts' role gets the plain auditor (or remediator) policy.

Accounts and Regions (:func:`scope`):

- the account (``--account`` with ``--partition``, else ``partitions.<p>.account``) replaces the
  ``*`` account of the ARNs of that account's own resources: the key user, groups, roles and customer
  managed policies (IAM ARNs have no Region: "IAM identifiers",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html), the secret and the
  secret's KMS key (a secret encrypted with another account's key is read only once that key's
  statements are widened: the denied read ends its rows ``error`` naming the action).  ``iam:GetPolicy`` also reads AWS managed policies, whose ARNs name the account
  ``aws`` (``arn:aws:iam::aws:policy/...``), so a ``policy/*`` pattern is kept for ``aws`` beside the
  account's.  Left ``*`` on purpose: trails (an organization trail shown in a member account belongs
  to the management account: "Creating a trail for an organization",
  https://docs.aws.amazon.com/awscloudtrail/latest/userguide/creating-trail-organization.html), and
  ``kms:DescribeKey`` (it also reads a trail's key, which may be the log archive account's);
- the Region: the secret's ARN names ``partitions.govcloud.region``, the Region the audit calls
  ``DescribeSecret`` in (Secrets Manager is regional, and a secret's KMS key is in the secret's
  Region).  The remediator's KMS key set-up (tag, rotation, alias) and trail writes name the account
  too: it changes only its own key and the account's own trails.  ``kms:CreateKey`` stays ``*`` (it has
  no resource type: "Actions, resources, and condition keys for AWS Key Management Service").  Left ``*``: the replicas' ``DescribeSecret`` (a replica is read in its own Region,
  known only from the primary's ``ReplicationStatus``: "Replicate AWS Secrets Manager secrets across
  Regions", https://docs.aws.amazon.com/secretsmanager/latest/userguide/replicate-secrets.html), the
  secret's key (each replica's key is in the replica's Region), trails (a multi-Region trail's home
  Region may be any Region: its status and selectors are read there);
- no ``aws:RequestedRegion`` condition: IAM, STS and Organizations are global services whose
  requests name ``us-east-1`` (``us-gov-west-1`` in GovCloud) whatever Region is configured
  ("AWS: Denies access to AWS based on the requested Region",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_aws_deny-requested-region.html:
  global services' requests "are made to the us-east-1 Region", so a Region condition must exempt them),
  and the Regional reads follow the data (the Region the secret names for ``cloudtrail:LookupEvents``
  and the invocation-logging reads, trails' home Regions, replica Regions), so no fixed list of
  Regions is safe;
- organization mode (``--organization``): the member accounts' role shares one policy, so the
  account stays ``*`` unless ``--account`` names the one account the document is for.
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn

ROLES = ("auditor", "remediator")
ARN_PARTITION = {"commercial": "aws", "govcloud": "aws-us-gov"}
TEMPLATE_USER = "bedrock-cross-partition-user"
TEMPLATE_SECRET = "cross-partition-commercial-creds"
#: the statements whose secret ARN keeps ``*`` for the Region (a replica is read in its own Region)
REPLICA_SIDS = frozenset({"DescribeTheSecretsReplicasInTheirOwnRegions"})
#: the statements on the secret's KMS key (the account's; any Region: replicas have their own key)
SECRET_KEY_SIDS = frozenset({"DecryptTheSecretThroughSecretsManagerOnly", "ReadWhoMayUseTheSecretsKey",
                             "UseKmsKeysThroughSecretsManagerOnly", "SetUpTheRemediationKmsKeyOfThisAccount"})
#: the remediator's trail writes: only the account's own trails (an organization trail shown in a member
#: account can be changed only from the management account: "Creating a trail for an organization")
OWN_TRAIL_SIDS = frozenset({"FixOnlyThisAccountsTrails"})
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")


class _CommercialOnly(Mapping[str, frozenset[str]]):
    """Role -> the actions a ``--partition govcloud`` document leaves out: those every call declaring them is made
    in the commercial partition only (:func:`bedrock_key_audit.permissions.partition_only` for the auditor's reads,
    :func:`~bedrock_key_audit.permissions.remediator_partition_only` for the remediator's calls and reads)."""

    def __getitem__(self, role: str) -> frozenset[str]:
        from bedrock_key_audit.permissions import partition_only, remediator_partition_only

        if role == "auditor":
            return partition_only("commercial")
        if role == "remediator":
            return remediator_partition_only("commercial")
        raise KeyError(role)

    def __iter__(self) -> Iterator[str]:
        return iter(ROLES)

    def __len__(self) -> int:
        return len(ROLES)


COMMERCIAL_ONLY: Mapping[str, frozenset[str]] = _CommercialOnly()


def organization_actions() -> list[str]:
    """The Organizations reads of the management principal of an ``[organization]`` audit, as
    bedrock_key_audit/organization.py declares them."""
    from bedrock_key_audit.permissions import ORGANIZATION_ACCOUNTS, actions_on

    return actions_on(ORGANIZATION_ACCOUNTS)


def template(role: str) -> dict[str, Any]:
    """The policy of ``role`` for the built-in defaults (both partitions), generated from the declarations
    (:func:`bedrock_key_audit.permissions.auditor_statements`, :func:`~bedrock_key_audit.permissions.remediator_statements`)."""
    from bedrock_key_audit.permissions import auditor_statements, remediator_statements

    if role == "auditor":
        return {"Version": "2012-10-17", "Statement": auditor_statements()}
    if role == "remediator":
        return {"Version": "2012-10-17", "Statement": remediator_statements()}
    raise ValueError(f"unknown role {role!r} (auditor or remediator)")


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def _substitute(value: Any, user: str, secret: str) -> Any:
    if isinstance(value, str):
        if f":secret:{TEMPLATE_SECRET}-??????" in value and secret.startswith("arn:"):
            return secret if secret.count(":") >= 6 else value
        return value.replace(f":secret:{TEMPLATE_SECRET}-", f":secret:{secret}-") \
                    .replace(f"user/{TEMPLATE_USER}", f"user/{user}") \
                    .replace(f"user/*/{TEMPLATE_USER}", f"user/*/{user}") \
                    .replace(f"LeastPrivilege-{TEMPLATE_USER}", f"LeastPrivilege-{user}")
    if isinstance(value, list):
        return [_substitute(v, user, secret) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, user, secret) for k, v in value.items()}
    return value


def _in_partition(resource: str, arn_partition: str) -> bool:
    return not resource.startswith("arn:") or resource.split(":", 2)[1] == arn_partition


_PARTITION_OF = {v: k for k, v in ARN_PARTITION.items()}


def _scope_arn(arn: str, sid: str, accounts: dict[str, str | None], regions: dict[str, str]) -> list[str]:
    """``arn`` with its ``*`` account and Region named where the module docstring says (one ARN, or
    two for a ``policy/*`` pattern: the account's and AWS managed policies')."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[1] not in _PARTITION_OF:
        return [arn]
    _, arn_p, service, region, account, rest = parts
    part = _PARTITION_OF[arn_p]
    acct = accounts.get(part)
    if service == "iam" and account == "*" and acct:
        if rest.startswith("policy/") and "*" in rest:
            return [f"arn:{arn_p}:iam::{acct}:{rest}", f"arn:{arn_p}:iam::aws:{rest}"]
        return [f"arn:{arn_p}:iam::{acct}:{rest}"]
    if service == "secretsmanager":
        if sid in REPLICA_SIDS:
            region = "*"
        elif region == "*" and part in regions:
            region = regions[part]
        if account == "*" and acct:
            account = acct
        return [":".join(["arn", arn_p, service, region, account, rest])]
    if service in ("kms", "cloudtrail") and sid in SECRET_KEY_SIDS | OWN_TRAIL_SIDS and account == "*" and acct:
        return [":".join(["arn", arn_p, service, region, acct, rest])]
    return [arn]


def scope(doc: dict[str, Any], accounts: dict[str, str | None], regions: dict[str, str]) -> dict[str, Any]:
    """``doc`` with accounts and Regions named (see the module docstring); ``accounts`` and ``regions``
    by configured partition name (``commercial``, ``govcloud``); an unknown account keeps ``*``."""
    out = copy.deepcopy(doc)
    for st in out["Statement"]:
        sid = str(st.get("Sid", ""))
        if "Resource" in st:
            scoped = [a for r in _as_list(st["Resource"]) for a in _scope_arn(r, sid, accounts, regions)]
            st["Resource"] = scoped if isinstance(st["Resource"], list) or len(scoped) > 1 else scoped[0]
        arn_like = st.get("Condition", {}).get("ArnLike", {})
        for key in [k for k in arn_like if k == "iam:PolicyARN"]:
            arn_like[key] = [a for r in _as_list(arn_like[key]) for a in _scope_arn(r, sid, accounts, regions)]
    return out


def generate(role: str, user: str = TEMPLATE_USER, secret: str = TEMPLATE_SECRET, partition: str | None = None,
             organization: dict[str, Any] | None = None, accounts: dict[str, str | None] | None = None,
             regions: dict[str, str] | None = None) -> dict[str, Any]:
    """The policy document for ``role`` (see the module docstring); ``organization`` is the
    ``[organization]`` table when the management principal's statements are wanted; ``accounts`` and
    ``regions`` (by partition name) scope the ARNs (:func:`scope`; None: ``*``)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (auditor or remediator)")
    doc: dict[str, Any] = scope(_substitute(copy.deepcopy(template(role)), user, secret), accounts or {}, regions or {})
    out_statements = []
    for st in doc["Statement"]:
        if partition is not None and "Resource" in st:
            kept = [r for r in _as_list(st["Resource"]) if _in_partition(r, ARN_PARTITION[partition])]
            if not kept:
                continue
            st["Resource"] = kept if isinstance(st["Resource"], list) else kept[0]
        if partition == "govcloud" and st.get("Effect") == "Allow":
            actions = [a for a in _as_list(st["Action"]) if a not in COMMERCIAL_ONLY[role]]
            if not actions:
                continue
            st["Action"] = actions if isinstance(st["Action"], list) or len(actions) > 1 else actions[0]
        out_statements.append(st)
    if organization is not None:
        role_name = str(organization.get("role_name") or "OrganizationAccountAccessRole")
        parts = [partition] if partition else list(ARN_PARTITION)
        if "commercial" in parts:
            out_statements.append({"Sid": "ListTheOrganizationsAccounts", "Effect": "Allow",
                                   "Action": organization_actions(), "Resource": "*"})
        out_statements.append({"Sid": "AssumeTheAuditRoleInEachMemberAccount", "Effect": "Allow",
                               "Action": "sts:AssumeRole",
                               "Resource": [f"arn:{ARN_PARTITION[p]}:iam::*:role/{role_name}" for p in parts]})
    doc["Statement"] = out_statements
    return doc


def known_accounts(cfg: Any, organization: bool = False, account: str | None = None,
                   partition: str | None = None) -> dict[str, str | None]:
    """The account of each partition the ARNs name: ``account`` (``--account``) for ``partition``, else
    ``partitions.<p>.account``; none in organization mode (the members share the policy)."""
    if account is not None:
        if partition is None:
            raise ValueError("an account is in one partition: give the partition with the account")
        return {partition: account}
    if organization:
        return {}
    return {p: cfg.partition_account(p) for p in ARN_PARTITION}


def for_config(role: str, cfg: Any, partition: str | None = None, organization: bool = False,
               account: str | None = None) -> dict[str, Any]:
    """:func:`generate` for an :class:`~bedrock_key_audit.config.AuditConfig`: its names,
    its partitions' Regions, and the accounts of :func:`known_accounts`."""
    org: dict[str, Any] | None = (cfg.data.get("organization") or {}) if organization else None
    return generate(role, cfg.user_name, cfg.secret_id, partition, org,
                    accounts=known_accounts(cfg, organization, account, partition),
                    regions={p: cfg.region(p) for p in ARN_PARTITION})


def account_notice(cfg: Any, partition: str | None = None, organization: bool = False,
                   account: str | None = None) -> list[str]:
    """The line (stderr) saying which printed partitions' ARNs keep ``*`` for the account, and why."""
    if account is not None:
        return []
    if organization:
        return ["organization mode: every member account shares this policy, so ARNs use * for the account; "
                "give --account for one account's policy"]
    known = known_accounts(cfg)
    unknown = [p for p in ([partition] if partition else list(ARN_PARTITION)) if not known.get(p)]
    if not unknown:
        return []
    keys = " and ".join(f"partitions.{p}.account" for p in unknown)
    return [f"account not known: ARNs use * for the account; give --account or set {keys}"]


class _OneLineParser(argparse.ArgumentParser):
    """A usage error is one line (``error: ...``) and exit status 2, not argparse's usage block."""

    def error(self, message: str) -> "NoReturn":
        print(f"error: bedrock-key-audit policy: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def same_account_warning(cfg: Any) -> list[str]:
    """One line when both partitions are configured with the same account: a GovCloud account is never
    a commercial one ("Signing up for AWS GovCloud (US)",
    https://docs.aws.amazon.com/govcloud-us/latest/UserGuide/getting-started-sign-up.html), so one of the
    printed policies names an account it cannot be attached in."""
    commercial, govcloud = cfg.partition_account("commercial"), cfg.partition_account("govcloud")
    if commercial and commercial == govcloud:
        return [f"warning: partitions.commercial.account and partitions.govcloud.account are both {commercial}: a "
                "GovCloud account is never the commercial one; correct the account of one partition"]
    return []


def main(argv: list[str] | None = None) -> int:
    """``bedrock-key-audit policy auditor|remediator [--partition P] [--account ID] [--organization]
    [--audit-config PATH]``."""
    from bedrock_key_audit.config import ConfigError, load_config

    parser = _OneLineParser(prog="bedrock-key-audit policy",
                                     description="Print the IAM policy the auditing (or remediating) principal needs.")
    parser.add_argument("role", choices=ROLES)
    parser.add_argument("--partition", choices=tuple(ARN_PARTITION), default=None,
                        help="only this partition's resources (each account gets its own policy)")
    parser.add_argument("--account", metavar="ID", default=None,
                        help="the 12-digit account the policy is attached in (with --partition); default: "
                             "partitions.<p>.account, else * in the ARNs")
    parser.add_argument("--organization", action="store_true",
                        help="add what the management principal of an [organization] audit needs "
                             "(Organizations reads, sts:AssumeRole on organization.role_name)")
    parser.add_argument("--audit-config", metavar="PATH", default=None,
                        help="audit configuration file (default: ./audit.toml, else the built-in defaults)")
    try:
        ns = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) or exc.code is None else 2
    if ns.organization and ns.partition is None:
        # IAM is separate in each partition: the management principal of each partition's organization
        # gets its own document, never one naming both partitions' roles
        print("error: --organization needs --partition commercial|govcloud (each partition's management principal "
              "gets its own policy)", file=sys.stderr)
        return 2
    if ns.account is not None:
        if not ACCOUNT_ID.match(ns.account):
            print(f"error: --account {ns.account!r} is not a 12-digit AWS account ID", file=sys.stderr)
            return 2
        if ns.partition is None:
            # an account lives in one partition: a GovCloud account is never a commercial one
            print("error: --account needs --partition commercial|govcloud (an account is in one partition)",
                  file=sys.stderr)
            return 2
    try:
        cfg = load_config(ns.audit_config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 4
    doc = for_config(ns.role, cfg, ns.partition, ns.organization, ns.account)
    for line in account_notice(cfg, ns.partition, ns.organization, ns.account) + same_account_warning(cfg):
        print(line, file=sys.stderr)
    print(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
