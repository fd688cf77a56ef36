"""``bedrock-key-audit policy auditor|remediator``: the IAM policy to attach, for this configuration.

The templates (``bedrock_key_audit/policy_templates/*.json``) are the policies proven by
``tests/remediation/test_policies.py`` (the whole audit and remediation run as a principal holding
only them, one action fewer fails); ``docs/auditor-policy.json`` and ``docs/remediator-policy.json``
are the templates as printed for the built-in defaults (a test holds them equal). What changes
with the configuration:

- the audited user's name (``user.name``) in user and policy ARNs, and the secret's name
  (``secret.id``; a full ARN is used as given) in the secret ARN pattern. Secrets Manager appends
  six random characters to a secret's ARN ("Permissions policy examples for AWS Secrets Manager",
  https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_iam-policies.html:
  "secret:SecretName-??????"), hence the ``-??????``;
- ``--partition commercial|govcloud``: only that partition's ARNs (a statement naming only the
  other partition's resources is left out; IAM in each partition is separate, so each account gets
  its own policy);
- ``--organization``: the principal in the management (or delegated-administrator) account that
  runs an ``[organization]`` audit needs the Organizations reads (``ListAccounts``,
  ``ListAccountsForParent``, ``ListOrganizationalUnitsForParent``, ``ListTagsForResource``:
  bedrock_key_audit/organization.py) and ``sts:AssumeRole`` on ``organization.role_name`` in every
  member account ("Granting a user permissions to switch roles",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_permissions-to-switch.html). The
  member accounts' role gets the plain auditor (or remediator) policy.
"""
from __future__ import annotations

import argparse
import copy
import importlib.resources
import json
import sys
from typing import Any

ROLES = ("auditor", "remediator")
ARN_PARTITION = {"commercial": "aws", "govcloud": "aws-us-gov"}
TEMPLATE_USER = "bedrock-cross-partition-user"
TEMPLATE_SECRET = "cross-partition-commercial-creds"
ORGANIZATION_ACTIONS = ["organizations:ListAccounts", "organizations:ListAccountsForParent",
                        "organizations:ListOrganizationalUnitsForParent", "organizations:ListTagsForResource"]


def template(role: str) -> dict[str, Any]:
    """The policy of ``role`` for the built-in defaults (both partitions)."""
    text = importlib.resources.files("bedrock_key_audit").joinpath("policy_templates").joinpath(f"{role}.json").read_text()
    doc: dict[str, Any] = json.loads(text)
    return doc


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def _substitute(value: Any, user: str, secret: str) -> Any:
    if isinstance(value, str):
        if f":secret:{TEMPLATE_SECRET}-??????" in value and secret.startswith("arn:"):
            return secret if secret.count(":") >= 6 else value
        return value.replace(f":secret:{TEMPLATE_SECRET}-", f":secret:{secret}-") \
                    .replace(f"user/{TEMPLATE_USER}", f"user/{user}") \
                    .replace(f"LeastPrivilege-{TEMPLATE_USER}", f"LeastPrivilege-{user}")
    if isinstance(value, list):
        return [_substitute(v, user, secret) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, user, secret) for k, v in value.items()}
    return value


def _in_partition(resource: str, arn_partition: str) -> bool:
    return not resource.startswith("arn:") or resource.split(":", 2)[1] == arn_partition


def generate(role: str, user: str = TEMPLATE_USER, secret: str = TEMPLATE_SECRET, partition: str | None = None,
             organization: dict[str, Any] | None = None) -> dict[str, Any]:
    """The policy document for ``role`` (see the module docstring); ``organization`` is the
    ``[organization]`` table when the management principal's statements are wanted."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (auditor or remediator)")
    doc: dict[str, Any] = _substitute(copy.deepcopy(template(role)), user, secret)
    out_statements = []
    for st in doc["Statement"]:
        if partition is not None and "Resource" in st:
            kept = [r for r in _as_list(st["Resource"]) if _in_partition(r, ARN_PARTITION[partition])]
            if not kept:
                continue
            st["Resource"] = kept if isinstance(st["Resource"], list) else kept[0]
        out_statements.append(st)
    if organization is not None:
        role_name = str(organization.get("role_name") or "OrganizationAccountAccessRole")
        parts = [partition] if partition else list(ARN_PARTITION)
        if "commercial" in parts:
            out_statements.append({"Sid": "ListTheOrganizationsAccounts", "Effect": "Allow",
                                   "Action": list(ORGANIZATION_ACTIONS), "Resource": "*"})
        out_statements.append({"Sid": "AssumeTheAuditRoleInEachMemberAccount", "Effect": "Allow",
                               "Action": "sts:AssumeRole",
                               "Resource": [f"arn:{ARN_PARTITION[p]}:iam::*:role/{role_name}" for p in parts]})
    doc["Statement"] = out_statements
    return doc


def for_config(role: str, cfg: Any, partition: str | None = None, organization: bool = False) -> dict[str, Any]:
    """:func:`generate` for an :class:`~bedrock_key_audit.config.AuditConfig`."""
    org: dict[str, Any] | None = (cfg.data.get("organization") or {}) if organization else None
    return generate(role, cfg.user_name, cfg.secret_id, partition, org)


def main(argv: list[str] | None = None) -> int:
    """``bedrock-key-audit policy auditor|remediator [--partition P] [--organization] [--audit-config PATH]``."""
    from bedrock_key_audit.config import ConfigError, load_config

    parser = argparse.ArgumentParser(prog="bedrock-key-audit policy",
                                     description="Print the IAM policy the auditing (or remediating) principal needs.")
    parser.add_argument("role", choices=ROLES)
    parser.add_argument("--partition", choices=tuple(ARN_PARTITION), default=None,
                        help="only this partition's resources (each account gets its own policy)")
    parser.add_argument("--organization", action="store_true",
                        help="add what the management principal of an [organization] audit needs "
                             "(Organizations reads, sts:AssumeRole on organization.role_name)")
    parser.add_argument("--audit-config", metavar="PATH", default=None,
                        help="audit configuration file (default: ./audit.toml, else the built-in defaults)")
    ns = parser.parse_args(argv)
    if ns.organization and ns.partition is None:
        # IAM is separate in each partition: the management principal of each partition's organization
        # gets its own document, never one naming both partitions' roles
        print("error: --organization needs --partition commercial|govcloud (each partition's management principal "
              "gets its own policy)", file=sys.stderr)
        return 2
    try:
        cfg = load_config(ns.audit_config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 4
    print(json.dumps(for_config(ns.role, cfg, ns.partition, ns.organization), indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
