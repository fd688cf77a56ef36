"""Declared reads: each read of the audit names, beside its call, the IAM actions it needs and what they act on.

As Cloud Custodian's resources declare ``permissions = (...)`` ("Developer Guide: Adding a resource",
https://cloudcustodian.io/docs/developer/resources.html: "the IAM permissions needed"), each function of
``bedrock_key_audit/inventory/`` that calls AWS carries :func:`reads` with one :class:`Read` per service
operation it calls.  ``bedrock-key-audit policy auditor`` is generated from them
(:func:`bedrock_key_audit.policies.generate`), and ``tests/unit/test_declared_reads.py`` walks the read
modules' code: a call that no declaration beside it covers, or a declaration no call uses, fails it.
``bedrock-key-audit policy remediator`` is generated the same way from :func:`writes` declarations (:class:`Write`)
beside the remediation's calls through the change guard, plus these reads (see the remediator section below;
``tests/unit/test_declared_writes.py``).

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
    """A resource kind and the policy statement on it (a guardrail: a ``Deny`` of ``denies``)."""

    sid: str
    resource: str | tuple[str, ...]  # a tuple prints as a JSON list, a str as one string
    condition: str | None = None  # JSON text of the statement's Condition
    effect: str = "Allow"
    #: a Deny's actions: the statement is printed when the policy grants one of them
    denies: tuple[str, ...] = ()

    def statement(self, actions: list[str]) -> dict[str, Any]:
        st: dict[str, Any] = {"Sid": self.sid, "Effect": self.effect,
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


# --------------------------------------------------------------------------- the remediator
# ``bedrock-key-audit policy remediator`` is generated as the auditor's is: from the declarations of the calls the
# remediation makes through the change guard (:func:`writes` beside each call: bedrock_key_audit/remediation/guard.py
# ``Guard.call``/``Guard.write`` is the only way a fixer reaches AWS), plus the audit's reads (a remediation run
# audits first and its fixers read the same Inventory), one statement per :data:`REMEDIATOR_SCOPES` entry, in that
# order.  ``tests/unit/test_declared_writes.py`` walks the remediation modules' calls as test_declared_reads walks
# the reads'.

#: partitions of a change guard's own read (a before-image): those of the writes to its service it is read for
AS_ITS_WRITES: tuple[str, ...] = ()

_KEY_USER_ARNS = ("arn:aws:iam::*:user/bedrock-cross-partition-user", "arn:aws:iam::*:user/*/bedrock-cross-partition-user")
_OUR_POLICY_ARNS = ("arn:aws:iam::*:policy/BedrockApiKeyLeastPrivilege",
                    "arn:aws:iam::*:policy/BedrockApiKeyLeastPrivilege-bedrock-cross-partition-user")

R_KEY_USER_READS = Scope("AuditReadsOfTheKeyUser", _both("arn:{p}:iam::*:user/*"))
R_GROUPS_AND_POLICIES = Scope("AuditReadsOfGroupsAndPolicies",
                              _both("arn:{p}:iam::*:group/*") + _both("arn:{p}:iam::*:policy/*"))
R_NAME_LISTING = Scope("FindTheKeyUserAndPolicyNamesWhateverTheirCase", "*")
R_POLICY_ENTITIES = Scope("NeverEditAPolicyAttachedElsewhere", _both("arn:{p}:iam::*:policy/*"))
#: the key user's own changes (and leaving a group, whose ARN the action takes too)
R_KEY_USER_CHANGES = Scope("ChangeOnlyTheKeyUser", _KEY_USER_ARNS + ("arn:aws:iam::*:group/*",))
# Guardrails on the keys the remediation mints ("Control permissions for generating and using Amazon Bedrock API keys",
# Amazon Bedrock User Guide, https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys-permissions.html, and the
# Service Authorization Reference's condition keys of iam:CreateServiceSpecificCredential,
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html):
# a new service-specific credential is a Bedrock key (iam:ServiceSpecificCredentialServiceName), it expires
# (iam:ServiceSpecificCredentialAgeDays is present: "Null" ... "true" matches a request without it) and lives at most
# 180 days (the default credential.max_key_age_days).  An explicit Deny wins over any Allow ("Policy evaluation
# logic", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
R_NEW_KEYS_ARE_BEDROCK_KEYS = Scope(
    "NewKeysAreBedrockKeys", "*", json.dumps({"StringNotEquals": {
        "iam:ServiceSpecificCredentialServiceName": "bedrock.amazonaws.com"}}),
    effect="Deny", denies=("iam:CreateServiceSpecificCredential",))
R_NEW_KEYS_MUST_EXPIRE = Scope(
    "NewKeysMustExpire", "*", json.dumps({"Null": {"iam:ServiceSpecificCredentialAgeDays": "true"}}),
    effect="Deny", denies=("iam:CreateServiceSpecificCredential",))
R_NEW_KEYS_LIVE_AT_MOST_180_DAYS = Scope(
    "NewKeysLiveAtMost180Days", "*", json.dumps({"NumericGreaterThan": {"iam:ServiceSpecificCredentialAgeDays": "180"}}),
    effect="Deny", denies=("iam:CreateServiceSpecificCredential",))
#: attaching a managed policy to the key user, only ours ("iam:PolicyARN": Service Authorization Reference, IAM's
#: condition keys; "IAM JSON policy elements: Condition operators", ArnLike)
R_ATTACH_OUR_POLICY = Scope("AttachOnlyTheLeastPrivilegePolicyToTheKeyUser", _KEY_USER_ARNS,
                            json.dumps({"ArnLike": {"iam:PolicyARN": list(_OUR_POLICY_ARNS)}}))
R_OUR_POLICY = Scope("MaintainOnlyTheLeastPrivilegePolicy", _OUR_POLICY_ARNS)
R_SECRET = Scope("TheGovCloudSecret", _SECRET)
#: tagging the secret, only with the rotation-intent tag key ("aws:TagKeys": "Controlling access to AWS resources
#: using tags", https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html; ForAllValues: every key of the
#: request is one listed)
R_SECRET_INTENT_TAG = Scope("OnlyTheRotationIntentTagOnTheSecret", _SECRET, json.dumps({
    "ForAllValues:StringEquals": {"aws:TagKeys": ["bedrock-key-audit:rotation-intent"]}}))
#: the secret's key, only as Secrets Manager uses it for the caller ("kms:ViaService", AWS KMS Developer Guide;
#: "Secret encryption and decryption in AWS Secrets Manager",
#: https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html: reading a value needs
#: kms:Decrypt, writing one kms:GenerateDataKey)
R_SECRET_KEY_VIA_SECRETS_MANAGER = Scope("UseKmsKeysThroughSecretsManagerOnly", "arn:aws-us-gov:kms:*:*:key/*",
                                         SECRET_KEY_VIA_SECRETS_MANAGER.condition)
R_KMS_LISTING = Scope("FindOurKmsKeyThatHasNoAlias", "*")
#: kms:CreateKey has no resource type ("Actions, resources, and condition keys for AWS Key Management Service")
R_CREATE_KMS_KEY = Scope("CreateTheRemediationKmsKey", "*")
R_OUR_KMS_KEY = Scope("SetUpTheRemediationKmsKeyOfThisAccount",
                      _both("arn:{p}:kms:*:*:key/*") + _both("arn:{p}:kms:*:*:alias/bedrock-key-audit"))
R_TRAILS = Scope("TrailsReadAndFix", "*")
R_REGION_LISTING = Scope("ReadTheRegionsTheKeyWorksIn", "*")
R_OWN_TRAILS = Scope("FixOnlyThisAccountsTrails", _both("arn:{p}:cloudtrail:*:*:trail/*"))
R_OUR_BUCKETS = Scope("TheRemediationTrailBucket",
                      _both("arn:{p}:s3:::bedrock-key-audit-trail-*") + _both("arn:{p}:s3:::bedrock-key-audit-access-logs-*")
                      + ("arn:aws:s3:::bedrock-key-audit-invocation-logs-*",))
R_INVOCATION_LOGGING = Scope("BedrockInvocationLoggingAndItsDestinations", "*")
R_OUR_INVOCATION_LOG_BUCKET = Scope("EncryptTheRemediationInvocationLogBucket",
                                    "arn:aws:s3:::bedrock-key-audit-invocation-logs-*")
R_GOVCLOUD_READER_ROLES = Scope("ResolveTheSecretsReaderRolesInGovCloud", "arn:aws-us-gov:iam::*:role/*")
R_TRAIL_BUCKETS = Scope("ProtectTheSecurityTrailsBucket", _both("arn:{p}:s3:::*"))

#: the remediator policy's statements, in order (the auditor's statements it shares are the same objects)
REMEDIATOR_SCOPES: tuple[Scope, ...] = (
    R_KEY_USER_READS, R_GROUPS_AND_POLICIES, R_NAME_LISTING, R_POLICY_ENTITIES, R_KEY_USER_CHANGES,
    R_NEW_KEYS_ARE_BEDROCK_KEYS, R_NEW_KEYS_MUST_EXPIRE, R_NEW_KEYS_LIVE_AT_MOST_180_DAYS, R_ATTACH_OUR_POLICY,
    R_OUR_POLICY, R_SECRET, SECRET_REPLICA, R_SECRET_INTENT_TAG, R_SECRET_KEY_VIA_SECRETS_MANAGER, SECRET_KEY,
    ACCOUNT_AUTHORIZATION, KMS_KEY, R_KMS_LISTING, R_CREATE_KMS_KEY, R_OUR_KMS_KEY, R_TRAILS, R_OWN_TRAILS,
    R_OUR_BUCKETS, R_INVOCATION_LOGGING, R_REGION_LISTING, INVOCATION_LOG_BUCKET, R_OUR_INVOCATION_LOG_BUCKET, ROLE,
    R_GOVCLOUD_READER_ROLES, R_TRAIL_BUCKETS, ORGANIZATION_POLICIES,
)

#: the remediator's statement of each auditor statement's reads (the remediation runs the audit); None: not in it --
#: the credential report is read in fleet mode only, which ``--remediate`` refuses ("--remediate fixes the user named
#: in audit.toml": fixtures/remediation/plugin.py), and the organization's account listing comes with
#: ``--organization`` (bedrock_key_audit/policies.py)
AUDIT_READS_IN_REMEDIATOR: dict[Scope, Scope | None] = {
    KEY_USER: R_KEY_USER_READS, CREDENTIAL_REPORT: None, USER_LISTING: R_NAME_LISTING,
    GROUP: R_GROUPS_AND_POLICIES, MANAGED_POLICY: R_GROUPS_AND_POLICIES, SECRET: R_SECRET,
    SECRET_REPLICA: SECRET_REPLICA, SECRET_KEY_VIA_SECRETS_MANAGER: R_SECRET_KEY_VIA_SECRETS_MANAGER,
    SECRET_KEY: SECRET_KEY, ACCOUNT_AUTHORIZATION: ACCOUNT_AUTHORIZATION, KMS_KEY: KMS_KEY,
    TRAIL_LISTING: R_TRAILS, TRAIL: R_TRAILS, INVOCATION_LOGGING: R_INVOCATION_LOGGING, BUCKET: R_TRAIL_BUCKETS,
    INVOCATION_LOG_BUCKET: INVOCATION_LOG_BUCKET, ROLE: ROLE, EVENT_HISTORY: R_TRAILS, REGION_LISTING: R_REGION_LISTING,
    ORGANIZATION_POLICIES: ORGANIZATION_POLICIES, ORGANIZATION_ACCOUNTS: None,
}


@dataclasses.dataclass(frozen=True)
class Write(Read):
    """One service operation a remediation function calls through the change guard -- a write, or a read that
    decides one -- the IAM actions it needs, the remediator statement (``on``) they go in, and the partitions it is
    called in (:data:`AS_ITS_WRITES` for the guard's before-image reads)."""


#: every remediation declaration, in the order the remediation modules were imported
DECLARED_WRITES: list[Write] = []


def writes(*declared: Write) -> Callable[[F], F]:
    """Declare what the decorated remediation function calls through the change guard; it is returned unchanged."""
    def mark(fn: F) -> F:
        fn.__writes__ = declared  # type: ignore[attr-defined]
        DECLARED_WRITES.extend(declared)
        return fn
    return mark


#: the modules whose functions call AWS through the change guard
REMEDIATION_MODULES = (
    "bedrock_key_audit.remediation.guard", "bedrock_key_audit.remediation.principals",
    "bedrock_key_audit.remediation.rotation", "bedrock_key_audit.remediation.fixers.access",
    "bedrock_key_audit.remediation.fixers.cloudtrail", "bedrock_key_audit.remediation.fixers.iam",
    "bedrock_key_audit.remediation.fixers.endpoint", "bedrock_key_audit.remediation.fixers.keys",
    "bedrock_key_audit.remediation.fixers.kms", "bedrock_key_audit.remediation.fixers.secret",
    "bedrock_key_audit.remediation.fixers.traces",
)


def declared_writes() -> list[Write]:
    """Every declaration of the remediation (its modules imported, so their declarations ran)."""
    import importlib

    for name in REMEDIATION_MODULES:
        importlib.import_module(name)
    return list(DECLARED_WRITES)


def write_partitions(w: Write, every: list[Write] | None = None) -> tuple[str, ...]:
    """The partitions ``w`` is called in: for a before-image read (:data:`AS_ITS_WRITES`), those of the writes to
    its service (which the guard images)."""
    if w.partitions != AS_ITS_WRITES:
        return w.partitions
    from bedrock_key_audit.aws_call import is_mutating

    parts = {p for d in (every if every is not None else declared_writes())
             if d.service == w.service and d.partitions != AS_ITS_WRITES and is_mutating(d.operation)
             for p in d.partitions}
    return tuple(p for p in BOTH if p in parts)


def remediator_needs() -> list[tuple[Scope, str, tuple[str, ...]]]:
    """(statement, action, partitions) of every action the remediator needs: the audit's reads in the statements
    :data:`AUDIT_READS_IN_REMEDIATOR` names, and the remediation's declarations."""
    out: list[tuple[Scope, str, tuple[str, ...]]] = []
    for r in declared():
        if r.on is None:
            continue
        if r.on not in AUDIT_READS_IN_REMEDIATOR:
            raise ValueError(f"auditor statement {r.on.sid} has no place in the remediator's (AUDIT_READS_IN_REMEDIATOR)")
        if (target := AUDIT_READS_IN_REMEDIATOR[r.on]) is not None:
            out += [(target, a, r.partitions) for a in r.needs]
    every = declared_writes()
    for w in every:
        out += [(w.on, a, write_partitions(w, every)) for a in w.needs if w.on is not None]
    return out


def remediator_statements() -> list[dict[str, Any]]:
    """The remediator policy's statements: one per :data:`REMEDIATOR_SCOPES` entry some call needs (its actions
    sorted), and each guardrail whose action the policy grants."""
    by_scope: dict[Scope, set[str]] = {}
    for scope, action, _ in remediator_needs():
        by_scope.setdefault(scope, set()).add(action)
    unknown = [s.sid for s in by_scope if s not in REMEDIATOR_SCOPES or s.effect != "Allow"]
    if unknown:
        raise ValueError(f"calls declared on statements missing from REMEDIATOR_SCOPES: {', '.join(unknown)}")
    granted = {a for acts in by_scope.values() for a in acts}
    out = []
    for s in REMEDIATOR_SCOPES:
        actions = sorted(a for a in s.denies if a in granted) if s.effect == "Deny" else sorted(by_scope.get(s, ()))
        if actions:
            out.append(s.statement(actions))
    return out


def remediator_partition_only(partition: str) -> frozenset[str]:
    """Actions the remediator needs only in ``partition`` (every call needing them is made there only)."""
    where: dict[str, set[str]] = {}
    for _, action, parts in remediator_needs():
        where.setdefault(action, set()).update(parts)
    return frozenset(a for a, parts in where.items() if parts == {partition})
