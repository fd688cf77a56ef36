"""Declared reads: each read of the audit names, beside its call, the IAM actions it needs and what they act on.

As Cloud Custodian's resources declare ``permissions = (...)`` ("Developer Guide: Adding a resource",
https://cloudcustodian.io/docs/developer/resources.html: "the IAM permissions needed"), each function of
``bedrock_key_audit/inventory/`` that calls AWS carries :func:`reads` with one :class:`Read` per service
operation it calls.  ``bedrock-key-audit policy auditor`` is generated from them
(:func:`bedrock_key_audit.policies.generate`), and ``tests/unit/test_declared_reads.py`` walks the read
modules' code: a call that no declaration beside it covers, or a declaration no call uses, fails it.

A :class:`Scope` is a kind of resource the actions act on, with the policy statement that grants them there
(its ``Sid``, ``Resource`` patterns for both partitions, an optional ``Condition``); the statements come out
in :data:`SCOPES` order.  The ARNs name the built-in user and secret; :mod:`bedrock_key_audit.policies`
substitutes the configured ones and scopes accounts and Regions.  Sources of the resource types: "Actions,
resources, and condition keys for AWS services" (Service Authorization Reference,
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
BOTH = ("commercial", "govcloud")
COMMERCIAL = ("commercial",)
GOVCLOUD = ("govcloud",)


@dataclasses.dataclass(frozen=True)
class Scope:
    """A resource kind and the auditor policy's statement on it."""

    sid: str
    resource: str | tuple[str, ...]  # a tuple prints as a JSON list, a str as one string
    condition: str | None = None  # JSON text of the statement's Condition

    def statement(self, actions: list[str]) -> dict[str, Any]:
        st: dict[str, Any] = {"Sid": self.sid, "Effect": "Allow",
                              "Action": actions[0] if len(actions) == 1 else list(actions),
                              "Resource": list(self.resource) if isinstance(self.resource, tuple) else self.resource}
        if self.condition:
            st["Condition"] = json.loads(self.condition)
        return st


def _both(pattern: str) -> tuple[str, ...]:
    """``pattern`` (``arn:{p}:...``) in the commercial and GovCloud ARN partitions."""
    return (pattern.format(p="aws"), pattern.format(p="aws-us-gov"))


_SECRET = "arn:aws-us-gov:secretsmanager:*:*:secret:cross-partition-commercial-creds-??????"

KEY_USER = Scope("ReadTheKeyUserAndItsCredentials", _both("arn:{p}:iam::*:user/*"))
CREDENTIAL_REPORT = Scope("ReadIamAccountWideInFleetMode", "*")
USER_LISTING = Scope("FindTheKeyUserWhateverItsCase", "*")
GROUP = Scope("ReadTheUsersGroupPolicies", _both("arn:{p}:iam::*:group/*"))
MANAGED_POLICY = Scope("ReadManagedPolicyDocuments", _both("arn:{p}:iam::*:policy/*"))
SECRET = Scope("ReadTheGovCloudSecret", _SECRET)
SECRET_REPLICA = Scope("DescribeTheSecretsReplicasInTheirOwnRegions", _SECRET)
SECRET_KEY_VIA_SECRETS_MANAGER = Scope(
    "DecryptTheSecretThroughSecretsManagerOnly", "arn:aws-us-gov:kms:*:*:key/*",
    json.dumps({"StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}}))
SECRET_KEY = Scope("ReadWhoMayUseTheSecretsKey", "arn:aws-us-gov:kms:*:*:key/*")
ACCOUNT_AUTHORIZATION = Scope("ReadEveryPrincipalAndPolicyOfTheAccount", "*")
KMS_KEY = Scope("DescribeKmsKeys", _both("arn:{p}:kms:*:*:key/*"))
TRAIL_LISTING = Scope("ListTrails", "*")
TRAIL = Scope("ReadTrailStatusAndSelectors", _both("arn:{p}:cloudtrail:*:*:trail/*"))
INVOCATION_LOGGING = Scope("ReadBedrockInvocationLoggingAndItsDestinations", "*")
BUCKET = Scope("ReadTheTrailBucketsProtection", _both("arn:{p}:s3:::*"))
INVOCATION_LOG_BUCKET = Scope("ReadTheInvocationLogBucketsEncryptionAndReaders", "arn:aws:s3:::*")
ROLE = Scope("ReadTheInvocationLogDeliveryRole", "arn:aws:iam::*:role/*")
EVENT_HISTORY = Scope("ReadTheKeyUsersEventHistory", "*")
REGION_LISTING = Scope("ListTheRegionsTheKeyWorksIn", "*")
ORGANIZATION_POLICIES = Scope("ReadTheOrganizationsPolicies", "*")
#: the management principal's listing of the organization's accounts (``policy ... --organization`` only)
ORGANIZATION_ACCOUNTS = Scope("ListTheOrganizationsAccounts", "*")

#: the auditor policy's statements, in order
SCOPES: tuple[Scope, ...] = (
    KEY_USER, CREDENTIAL_REPORT, USER_LISTING, GROUP, MANAGED_POLICY, SECRET, SECRET_REPLICA,
    SECRET_KEY_VIA_SECRETS_MANAGER, SECRET_KEY, ACCOUNT_AUTHORIZATION, KMS_KEY, TRAIL_LISTING, TRAIL,
    INVOCATION_LOGGING, BUCKET, INVOCATION_LOG_BUCKET, ROLE, EVENT_HISTORY, REGION_LISTING, ORGANIZATION_POLICIES,
)


@dataclasses.dataclass(frozen=True)
class Read:
    """One service operation a read function calls (``call``: ``service:Operation`` as botocore names them),
    the IAM actions it needs, what they act on, and the partitions the audit calls it in."""

    call: str
    on: Scope | None  # None: the call needs no permission (``actions`` empty)
    actions: tuple[str, ...] | None = None  # None: the call's own name (``iam:GetUser`` needs ``iam:GetUser``)
    partitions: tuple[str, ...] = BOTH

    @property
    def needs(self) -> tuple[str, ...]:
        return (self.call,) if self.actions is None else self.actions

    @property
    def service(self) -> str:
        return self.call.split(":", 1)[0]

    @property
    def operation(self) -> str:
        return self.call.split(":", 1)[1]


#: every declaration, in the order the read modules were imported
DECLARED: list[Read] = []


def reads(*declared: Read) -> Callable[[F], F]:
    """Declare what the decorated read function calls (see the module docstring); it is returned unchanged."""
    def mark(fn: F) -> F:
        fn.__reads__ = declared  # type: ignore[attr-defined]
        DECLARED.extend(declared)
        return fn
    return mark


#: the modules whose functions call AWS for the audit (the ``Inventory``, its read modules, and the discovery of an
#: organization's accounts)
READ_MODULES = ("bedrock_key_audit.inventory.reader", "bedrock_key_audit.inventory.bulk",
                "bedrock_key_audit.inventory.access", "bedrock_key_audit.inventory.traces",
                "bedrock_key_audit.inventory.usage", "bedrock_key_audit.inventory.org",
                "bedrock_key_audit.organization")


def declared() -> list[Read]:
    """Every declared read of the audit (the read modules imported, so their declarations ran)."""
    import importlib

    for name in READ_MODULES:
        importlib.import_module(name)
    return list(DECLARED)


def auditor_statements() -> list[dict[str, Any]]:
    """The auditor policy's statements, one per :data:`SCOPES` entry some read acts on, its actions sorted."""
    by_scope: dict[Scope, set[str]] = {}
    for r in declared():
        if r.on is not None and r.on is not ORGANIZATION_ACCOUNTS:
            by_scope.setdefault(r.on, set()).update(r.needs)
    unknown = [s.sid for s in by_scope if s not in SCOPES]
    if unknown:
        raise ValueError(f"reads declared on scopes missing from SCOPES: {', '.join(unknown)}")
    return [s.statement(sorted(by_scope[s])) for s in SCOPES if s in by_scope]


def actions_on(scope: Scope) -> list[str]:
    """The actions the declared reads need on ``scope``, sorted."""
    return sorted({a for r in declared() if r.on == scope for a in r.needs})


def partition_only(partition: str) -> frozenset[str]:
    """Actions of the auditor policy's statements (:data:`SCOPES`) the audit needs only in ``partition``
    (every read needing them is called there only)."""
    where: dict[str, set[str]] = {}
    for r in declared():
        if r.on not in SCOPES:
            continue
        for a in r.needs:
            where.setdefault(a, set()).update(r.partitions)
    return frozenset(a for a, parts in where.items() if parts == {partition})
