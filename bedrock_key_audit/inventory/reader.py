"""``Inventory``: the memoised reads of both partitions for one audited account.

Every method is memoised on a :class:`~bedrock_key_audit.inventory.gather.Gatherer`, so the
checks, the fleet collection and the fixers share one read of each thing.  Each method that calls AWS
declares, beside its calls, the IAM actions they need (``@reads``: :mod:`bedrock_key_audit.permissions`); the
auditor policy is generated from those declarations, and tests/unit/test_declared_reads.py holds every call
to one.
"""
from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import datetime as dt
import functools
import json
import os
import ssl
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

import httpx
from botocore import xform_name

from bedrock_key_audit import aws_call
from bedrock_key_audit.aws_call import THROTTLE_CODES
from bedrock_key_audit.envrace import made_despite_env_changes
from bedrock_key_audit.aws import Aws, Call
from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.config import BEDROCK_SERVICE, PARTITIONS, AuditConfig
from bedrock_key_audit.iam_bulk import user_record
from bedrock_key_audit.org_policies import OrgPolicies
from bedrock_key_audit.permissions import (
    COMMERCIAL,
    GOVCLOUD,
    GROUP,
    KEY_USER,
    KMS_KEY,
    MANAGED_POLICY,
    SECRET,
    SECRET_KEY_VIA_SECRETS_MANAGER,
    TRAIL,
    TRAIL_LISTING,
    USER_LISTING,
    Read,
    reads,
)
from bedrock_key_audit.inventory import org as org_reads
from bedrock_key_audit.inventory.bulk import BulkReads
from bedrock_key_audit.inventory.errors import BadRegion, ReadError
from bedrock_key_audit.inventory.gather import Gatherer, quiet
from bedrock_key_audit.inventory.keys import bearer_token_problem, secret_region_problem
from bedrock_key_audit.inventory.models import (
    AccountAuthorization,
    Credential,
    HttpProbe,
    IamUser,
    OtherCredentials,
    PolicyDoc,
    Replica,
    Secret,
    SecretText,
    Trail,
    UserPolicies,
    missing_secret,
)
from bedrock_key_audit.inventory.probes import classify_http, path_of
from bedrock_key_audit.usage import probe_user_agent

if TYPE_CHECKING:  # names of types only: the reads below import their modules when called
    from bedrock_key_audit.escalation import UserFacts
    from bedrock_key_audit.verdicts.traces import BucketProtection, InvocationLogging

__all__ = ["THROTTLE_CODES", "Inventory"]  # THROTTLE_CODES: its home is bedrock_key_audit.aws_call

_MISSING = object()


@functools.lru_cache(maxsize=4)
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """httpx's default TLS context (certifi's CA bundle, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``, which
    the arguments name), made once and shared by the probes: loading the CA bundle costs tens of
    milliseconds of CPU per client otherwise.  An ``ssl.SSLContext`` may serve several connections
    and threads at once."""
    return httpx.create_ssl_context()


def tls_context() -> ssl.SSLContext:
    return _tls_context(os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None)

MANTLE_ENV = "AWS_ENDPOINT_URL_BEDROCK_MANTLE"


def mantle_endpoint(region: str, environ: Any = None) -> str:
    """The base URL of Bedrock's Mantle endpoint in ``region``.

    The SDKs' service-specific endpoint rule ("Service-specific endpoints", AWS SDKs and Tools
    Reference Guide, https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html):
    ``AWS_ENDPOINT_URL_<SERVICE>`` (the service id upper-cased, ``-`` as ``_``:
    ``AWS_ENDPOINT_URL_BEDROCK_MANTLE``) before the global ``AWS_ENDPOINT_URL``, both ignored when
    ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` is true; else AWS's host,
    ``https://bedrock-mantle.<region>.api.aws`` ("Endpoints supported by Amazon Bedrock").  The
    ``services`` sections of the shared config file are not read for it.
    """
    import os

    env = os.environ if environ is None else environ
    if str(env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "")).lower() != "true":
        for var in (MANTLE_ENV, "AWS_ENDPOINT_URL"):
            if env.get(var):
                return str(env[var])
    return f"https://bedrock-mantle.{region}.api.aws"


@dataclasses.dataclass(frozen=True)
class KeyRegions:
    """The commercial Regions the key is used in: the configured one, and the one the secret names
    (:meth:`Inventory.probe_region`).  At most one of ``secret`` (the secret's Region, usable),
    ``unknown`` (why it cannot be read: the secret is missing, unreadable or names no region) and
    ``unusable`` (it names no Region where Bedrock is offered, so the key cannot be used there) is set."""

    configured: str
    secret: str | None = None
    unknown: str | None = None
    unusable: str | None = None

    def regions(self, secret_first: bool = False) -> list[str]:
        """The Regions to read: the configured one and the secret's, each once."""
        extra = [self.secret] if self.secret and self.secret != self.configured else []
        return extra + [self.configured] if secret_first else [self.configured] + extra


# What needs each of the prefetch's shared chains: fixtures (the checks' parameters and their fixtures) and reads
# (``@verdict(reads=...)``).  A chain is started when any selected check needs one of them.
PREFETCH_NEEDS: dict[str, tuple[str, ...]] = {
    "org_policies": ("org_policies", "org_by_partition"),
    "enabled_regions": ("key_regions", "key_use_regions", "usage_history", "invocation_logging"),
    "secret": ("secret", "secret_resource_policy", "secret_replicas", "kms_key", "key_policy", "key_grants"),
    "account_authorization": ("account_authorization", "user_facts"),
}


class Inventory(BulkReads):
    """Reads of both partitions for one audited user; every method is memoised."""

    def __init__(self, aws: Aws, cfg: AuditConfig, gatherer: Gatherer | None = None):
        self.aws = aws
        self.cfg = cfg
        self.g = gatherer or Gatherer()

    # ---- plumbing
    def _read(self, partition: str, service: str, operation: str, *, region: str | None = None,
              expected: Iterable[str] = (), via: Callable[[Any], dict[str, Any]] | None = None,
              **params: Any) -> dict[str, Any] | None:
        """One AWS call; ``None`` when it failed with an ``expected`` code (e.g. NoSuchEntity).
        ``via(client)`` replaces the single call (a paginator loop) under the same error handling."""
        if aws_call.is_mutating(operation):  # the audit only reads; writes go through remediation's guard
            raise ReadError(f"{service}:{operation} changes AWS state: the inventory never calls it")
        client = self.aws.client(service, partition, region)
        try:
            return aws_call.call(client, operation, partition=partition, region=region or self.cfg.region(partition),
                                 expected=expected, via=via, audit_cfg=self.cfg, **params)
        except aws_call.AwsCallError as exc:
            raise ReadError(str(exc)) from None

    def _paginate(self, partition: str, service: str, operation: str, result_key: str, *,
                  expected: Iterable[str] = (), **params: Any) -> list[Any] | None:
        """Every item of a paginated list.  Uses Marker/IsTruncated by hand where botocore has no paginator."""
        items: list[Any] = []
        marker_in, marker_out = "Marker", "Marker"
        if service == "cloudtrail" or service == "secretsmanager":
            marker_in = marker_out = "NextToken"
        while True:
            resp = self._read(partition, service, operation, expected=expected, **params)
            if resp is None:
                return None
            items.extend(resp.get(result_key, []))
            token = resp.get(marker_out)
            if not token or (service == "iam" and not resp.get("IsTruncated")):
                return items
            params = {**params, marker_in: token}

    def _paginated(self, partition: str, service: str, operation: str, result_key: str, *,
                   region: str | None = None, expected: Iterable[str] = (), **params: Any) -> list[Any] | None:
        """Every item through botocore's own paginator for ``operation`` in ``region`` (the partition's
        configured one by default); ``None`` on an ``expected`` error.  ``params`` are the operation's own
        parameters only: botocore refuses any other name before sending."""
        def via(client: Any) -> dict[str, Any]:
            items: list[Any] = []
            for page in client.get_paginator(xform_name(operation)).paginate(**params):
                items.extend(page.get(result_key, []))
            return {"items": items}
        resp = self._read(partition, service, operation, region=region, expected=expected, via=via)
        return None if resp is None else resp["items"]

    # ---- commercial IAM
    @reads(Read("iam:GetUser", KEY_USER, partitions=COMMERCIAL), Read("iam:ListUsers", USER_LISTING, partitions=COMMERCIAL))
    def user(self, name: str) -> IamUser:
        """``iam:GetUser``; when it answers NoSuchEntity, ``iam:ListUsers`` for the same name in another case.

        IAM user names are unique regardless of case ("Names are not distinguished by case. For
        example, you cannot create resources named both "MyResource" and "myresource"":
        https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateUser.html), so
        ``Bedrock-User`` is the user ``bedrock-user`` names.  AWS does not document whether
        GetUser itself matches case-insensitively, so a miss is confirmed by listing; the
        returned ``IamUser.name`` is IAM's own spelling, which every later call uses.
        """
        def fetch() -> IamUser:
            details = self.auth_details()  # fleet mode: GetAccountAuthorizationDetails (inventory/bulk.py)
            found = details.user(name) if details is not None else None
            if found is not None:
                return IamUser(
                    name=found["UserName"], exists=True, arn=found["Arn"], account_id=found["Arn"].split(":")[4],
                    create_date=found.get("CreateDate"),
                    permissions_boundary_arn=(found.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
                    raw=user_record(found),
                )
            resp = self._read("commercial", "iam", "GetUser", expected={"NoSuchEntity"}, UserName=name)
            if resp is None:
                same = [u for u in self._paginate("commercial", "iam", "ListUsers", "Users") or []
                        if u["UserName"].lower() == name.lower()]
                # ListUsers omits PermissionsBoundary: read the user again by IAM's spelling
                resp = self._read("commercial", "iam", "GetUser", expected={"NoSuchEntity"},
                                  UserName=same[0]["UserName"]) if same else None
                if resp is None:
                    return IamUser(name=name, exists=False)
            u = resp["User"]
            return IamUser(
                name=u.get("UserName", name), exists=True, arn=u["Arn"], account_id=u["Arn"].split(":")[4],
                create_date=u.get("CreateDate"),
                permissions_boundary_arn=(u.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
                raw=u,
            )
        return self.g.once(("user", name), fetch)

    @reads(Read("iam:GetPolicy", MANAGED_POLICY, partitions=COMMERCIAL), Read("iam:GetPolicyVersion", MANAGED_POLICY, partitions=COMMERCIAL))
    def managed_policy(self, arn: str) -> PolicyDoc:
        """``iam:GetPolicy`` + ``iam:GetPolicyVersion`` of its default version; once per ARN for the run."""
        def fetch() -> PolicyDoc:
            details = self.auth_details()  # customer-managed policies come with their default version
            if details is not None and arn in details.policies:
                known = details.policies[arn]
                return PolicyDoc("managed", known.name, arn, known.default_version_id, known.document)
            pol = self._read("commercial", "iam", "GetPolicy", PolicyArn=arn)["Policy"]  # type: ignore[index]
            ver = self._read("commercial", "iam", "GetPolicyVersion", PolicyArn=arn,
                             VersionId=pol["DefaultVersionId"])["PolicyVersion"]  # type: ignore[index]
            return PolicyDoc("managed", pol["PolicyName"], arn, pol["DefaultVersionId"], ver["Document"])
        return self.g.once(("policy", arn), fetch)

    @reads(Read("iam:ListAttachedGroupPolicies", GROUP, partitions=COMMERCIAL), Read("iam:ListGroupPolicies", GROUP, partitions=COMMERCIAL),
        Read("iam:GetGroupPolicy", GROUP, partitions=COMMERCIAL))
    def _group_policies(self, group: str) -> list[PolicyDoc]:
        def fetch() -> list[PolicyDoc]:
            attached, names = self.g.fanout([
                lambda: self._paginate("commercial", "iam", "ListAttachedGroupPolicies", "AttachedPolicies", GroupName=group),
                lambda: self._paginate("commercial", "iam", "ListGroupPolicies", "PolicyNames", GroupName=group),
            ])
            docs = self.g.fanout(
                [(lambda a=a: dataclasses.replace(self.managed_policy(a["PolicyArn"]), kind="group-managed", via_group=group)) for a in attached]
                + [(lambda n=n: PolicyDoc("group-inline", n, None, None,
                    self._read("commercial", "iam", "GetGroupPolicy", GroupName=group, PolicyName=n)["PolicyDocument"],  # type: ignore[index]
                    via_group=group)) for n in names]
            )
            return docs
        return self.g.once(("group-policies", group), fetch)

    @reads(Read("iam:ListAttachedUserPolicies", KEY_USER, partitions=COMMERCIAL), Read("iam:ListUserPolicies", KEY_USER, partitions=COMMERCIAL),
        Read("iam:ListGroupsForUser", KEY_USER, partitions=COMMERCIAL), Read("iam:GetUserPolicy", KEY_USER, partitions=COMMERCIAL))
    def user_policies(self, name: str) -> UserPolicies:
        """Attached managed (default versions), inline, and group policies, plus the boundary.

        Calls: ListAttachedUserPolicies, ListUserPolicies, GetUserPolicy, ListGroupsForUser,
        ListAttachedGroupPolicies, ListGroupPolicies, GetGroupPolicy, GetPolicy, GetPolicyVersion.
        In fleet mode (inventory/bulk.py) one ``iam:GetAccountAuthorizationDetails`` per account
        answers for them, and the credential report (``iam:GenerateCredentialReport``,
        ``iam:GetCredentialReport``) for GetLoginProfile.
        """
        def fetch() -> UserPolicies:
            details = self.auth_details()
            found = details.user(name) if details is not None else None
            if details is not None and found is not None:
                return self._user_policies_from(details, found)
            user, attached, inline_names, groups = self.g.fanout([
                lambda: self.user(name),
                lambda: self._paginate("commercial", "iam", "ListAttachedUserPolicies", "AttachedPolicies", UserName=name),
                lambda: self._paginate("commercial", "iam", "ListUserPolicies", "PolicyNames", UserName=name),
                lambda: self._paginate("commercial", "iam", "ListGroupsForUser", "Groups", UserName=name),
            ])
            if not user.exists:
                raise CouldNotDecide(f"IAM user {name} does not exist, so it has no policies to evaluate")
            tasks: list[Callable[..., Any]] = []  # lambdas binding a loop variable as a default
            tasks += [(lambda a=a: self.managed_policy(a["PolicyArn"])) for a in attached]
            tasks += [(lambda n=n: PolicyDoc("inline", n, None, None,
                       self._read("commercial", "iam", "GetUserPolicy", UserName=name, PolicyName=n)["PolicyDocument"]))  # type: ignore[index]
                      for n in inline_names]
            tasks += [(lambda gname=g["GroupName"]: self._group_policies(gname)) for g in groups]
            return self._policies_of(name, [], tasks, user.permissions_boundary_arn, attached)
        return self.g.once(("user-policies", name), fetch)

    def _policies_of(self, name: str, docs: list[PolicyDoc], tasks: list[Callable[..., Any]],
                     boundary_arn: str | None, attached: list[dict[str, Any]]) -> UserPolicies:
        """``docs`` plus what ``tasks`` read (in parallel: a PolicyDoc or a list of them each) and the
        permissions boundary: the one assembly of :meth:`user_policies`, per-user or from bulk reads."""
        if boundary_arn:
            tasks = [*tasks, lambda: dataclasses.replace(self.managed_policy(boundary_arn), kind="boundary")]
        boundary = None
        for r in self.g.fanout(tasks):
            if isinstance(r, list):
                docs.extend(r)
            elif r.kind == "boundary":
                boundary = r
            else:
                docs.append(r)
        return UserPolicies(name, docs, boundary, [a["PolicyArn"] for a in attached])

    def _user_policies_from(self, details: Any, found: dict[str, Any]) -> UserPolicies:
        """:meth:`user_policies` from GetAccountAuthorizationDetails: the same PolicyDoc objects the
        per-user reads make (AWS managed policies and groups missing from it are read as usual)."""
        name = found["UserName"]
        attached = list(found.get("AttachedManagedPolicies") or [])
        tasks: list[Callable[..., Any]] = [(lambda a=a: self.managed_policy(a["PolicyArn"])) for a in attached]
        docs: list[PolicyDoc] = [PolicyDoc("inline", p["PolicyName"], None, None, p["PolicyDocument"])
                                 for p in found.get("UserPolicyList") or []]
        for gname in found.get("GroupList") or []:
            group = details.group(gname)
            if group is None:
                tasks.append(lambda gname=gname: self._group_policies(gname))
                continue
            tasks += [(lambda a=a, gname=gname: dataclasses.replace(self.managed_policy(a["PolicyArn"]),
                                                                      kind="group-managed", via_group=gname))
                      for a in group.get("AttachedManagedPolicies") or []]
            docs += [PolicyDoc("group-inline", p["PolicyName"], None, None, p["PolicyDocument"], via_group=gname)
                     for p in group.get("GroupPolicyList") or []]
        boundary_arn = (found.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        return self._policies_of(name, docs, tasks, boundary_arn, attached)

    @reads(Read("iam:GetLoginProfile", KEY_USER, partitions=COMMERCIAL), Read("iam:ListAccessKeys", KEY_USER, partitions=COMMERCIAL),
        Read("iam:ListSigningCertificates", KEY_USER, partitions=COMMERCIAL), Read("iam:ListSSHPublicKeys", KEY_USER, partitions=COMMERCIAL),
        Read("iam:ListServiceSpecificCredentials", KEY_USER, partitions=COMMERCIAL))
    def other_credentials(self, name: str) -> OtherCredentials:
        """Every credential type IAM gives a user besides its Bedrock keys (IAM User Guide,
        "AWS security credentials" / "Manage passwords, access keys, SSH keys, X.509
        certificates and service-specific credentials"): ``iam:GetLoginProfile``,
        ``iam:ListAccessKeys``, ``iam:ListSigningCertificates``, ``iam:ListSSHPublicKeys``
        (botocore paginators) and ``iam:ListServiceSpecificCredentials`` without ServiceName
        (every service; Marker loop, no paginator), Bedrock's own filtered out.  Its own call,
        not derived from :meth:`bedrock_credentials`' filtered one, so the Bedrock rows do not
        depend on how AWS answers an unfiltered list.  MFA devices are not read: they only
        strengthen a password or access key and authenticate nothing alone."""
        def fetch() -> OtherCredentials:
            if self.bulk:
                return self._other_credentials_bulk(name)
            login, keys, certs, ssh, ssc = self.g.fanout([
                lambda: self._read("commercial", "iam", "GetLoginProfile", expected={"NoSuchEntity"}, UserName=name),
                lambda: self._paginated("commercial", "iam", "ListAccessKeys", "AccessKeyMetadata", expected={"NoSuchEntity"}, UserName=name),
                lambda: self._paginated("commercial", "iam", "ListSigningCertificates", "Certificates", expected={"NoSuchEntity"}, UserName=name),
                lambda: self._paginated("commercial", "iam", "ListSSHPublicKeys", "SSHPublicKeys", expected={"NoSuchEntity"}, UserName=name),
                lambda: self._paginate("commercial", "iam", "ListServiceSpecificCredentials", "ServiceSpecificCredentials",
                                       expected={"NoSuchEntity"}, UserName=name),
            ])
            return OtherCredentials(
                login_profile=login is not None, access_keys=keys or [],
                signing_certificates=[{k: v for k, v in c.items() if k != "CertificateBody"} for c in (certs or [])],
                ssh_public_keys=ssh or [],
                service_credentials=[c for c in (ssc or []) if c.get("ServiceName") != BEDROCK_SERVICE],
            )
        return self.g.once(("other-creds", name), fetch)

    @reads(Read("iam:GetLoginProfile", KEY_USER, partitions=COMMERCIAL), Read("iam:ListAccessKeys", KEY_USER, partitions=COMMERCIAL),
        Read("iam:ListSigningCertificates", KEY_USER, partitions=COMMERCIAL), Read("iam:ListSSHPublicKeys", KEY_USER, partitions=COMMERCIAL),
        Read("iam:ListServiceSpecificCredentials", KEY_USER, partitions=COMMERCIAL))
    def _other_credentials_bulk(self, name: str) -> OtherCredentials:
        """:meth:`other_credentials` in fleet mode: the password from the credential report and other
        services' credentials from ListServiceSpecificCredentials(AllUsers) when those could be read;
        access keys, signing certificates and SSH public keys are always read per user (no bulk read
        lists inactive ones: see bedrock_key_audit/iam_bulk.py)."""
        report, everyone, user = self.g.fanout([self.credential_report, self.all_service_credentials,
                                                lambda: self.user(name)])
        row = report.rows.get(user.arn or "") if report is not None else None
        login_job: Callable[[], Any] = (
            (lambda: row.password_enabled) if row is not None else
            (lambda: self._read("commercial", "iam", "GetLoginProfile", expected={"NoSuchEntity"},
                                UserName=name) is not None))
        ssc_job: Callable[[], Any] = (
            (lambda: everyone.get(name.lower(), [])) if everyone is not None else
            (lambda: [c for c in self._paginate("commercial", "iam", "ListServiceSpecificCredentials",
                                                "ServiceSpecificCredentials", expected={"NoSuchEntity"},
                                                UserName=name) or [] if c.get("ServiceName") != BEDROCK_SERVICE]))
        login, keys, certs, ssh, ssc = self.g.fanout([
            login_job,
            lambda: self._paginated("commercial", "iam", "ListAccessKeys", "AccessKeyMetadata", expected={"NoSuchEntity"}, UserName=name),
            lambda: self._paginated("commercial", "iam", "ListSigningCertificates", "Certificates", expected={"NoSuchEntity"}, UserName=name),
            lambda: self._paginated("commercial", "iam", "ListSSHPublicKeys", "SSHPublicKeys", expected={"NoSuchEntity"}, UserName=name),
            ssc_job,
        ])
        return OtherCredentials(
            login_profile=bool(login), access_keys=keys or [],
            signing_certificates=[{k: v for k, v in c.items() if k != "CertificateBody"} for c in (certs or [])],
            ssh_public_keys=ssh or [], service_credentials=list(ssc),
        )

    @reads(Read("iam:ListServiceSpecificCredentials", KEY_USER, partitions=COMMERCIAL))
    def bedrock_credentials(self, name: str) -> list[Credential]:
        """``iam:ListServiceSpecificCredentials`` for the user and ``bedrock.amazonaws.com`` (Marker loop: no paginator)."""
        def fetch() -> list[Credential]:
            items = self._paginate("commercial", "iam", "ListServiceSpecificCredentials", "ServiceSpecificCredentials",
                                   expected={"NoSuchEntity"}, UserName=name, ServiceName=BEDROCK_SERVICE)
            return [Credential.from_api(c) for c in (items or [])]
        return self.g.once(("ssc", name), fetch)

    @reads(Read("iam:ListServiceSpecificCredentials", KEY_USER, partitions=COMMERCIAL))
    def fleet_users(self) -> list[str]:
        """Every user holding a ``bedrock.amazonaws.com`` credential (``ListServiceSpecificCredentials``
        with ``AllUsers``), seeding each user's credential list so it is not read again."""
        def fetch() -> list[str]:
            items = self._paginate("commercial", "iam", "ListServiceSpecificCredentials", "ServiceSpecificCredentials",
                                   AllUsers=True, ServiceName=BEDROCK_SERVICE) or []
            by_user: dict[str, list[Credential]] = {}
            for c in items:
                by_user.setdefault(c["UserName"], []).append(Credential.from_api(c))
            for user, creds in by_user.items():
                self.g.once(("ssc", user), lambda creds=creds: creds)
            return sorted(by_user)
        return self.g.once(("fleet",), fetch)

    # ---- identity
    @reads(Read("sts:GetCallerIdentity", None, actions=()))  # AWS answers it even under an explicit Deny
    def identity(self, partition: str) -> dict[str, Any]:
        """``sts:GetCallerIdentity`` (needs no permission); the answer of the run's credential preflight
        (``Aws.identities``, bedrock_key_audit/doctor.py) when it made the call already."""
        def fetch() -> dict[str, Any]:
            known = getattr(self.aws, "identities", {}).get(partition)
            if known:
                return {k: known.get(k) for k in ("Account", "Arn", "UserId")}
            resp = self._read(partition, "sts", "GetCallerIdentity") or {}
            return {k: resp.get(k) for k in ("Account", "Arn", "UserId")}
        return self.g.once(("identity", partition), fetch)

    # ---- organization policies
    # set by the fixtures: the parsed --org-policies export, and an Aws of the management account /
    # delegated administrator ([organization] policies_profile or profile) for the commercial side
    org_export: dict[str, OrgPolicies] | None = None
    org_admin: Aws | None = None
    # [partitions.<p>] org_policies_profile: partition -> an Aws of that partition's management account
    org_admins: dict[str, Aws] | None = None

    def org_policies(self, partition: str) -> OrgPolicies:
        """The SCPs and RCPs applying to the audited account of ``partition``
        (:mod:`bedrock_key_audit.inventory.org`): ``organizations:DescribeOrganization``, then from
        the management account or delegated administrator ``organizations:ListParents``,
        ``organizations:ListPoliciesForTarget`` and ``organizations:DescribePolicy``; or the
        ``--org-policies`` export.  :class:`CouldNotDecide` ("SCPs/RCPs not read: ...") when neither."""
        def fetch() -> OrgPolicies:
            account = str(self.identity(partition).get("Account"))
            if self.org_export is not None:
                if account in self.org_export:
                    return self.org_export[account]
                raise CouldNotDecide(f"SCPs/RCPs not read: the --org-policies export has no entry for account "
                                     f"{account} ({partition}); add it to the export")

            def caller(aws: Aws) -> Callable[..., dict[str, Any]]:
                def call(operation: str, **params: Any) -> dict[str, Any]:
                    client = aws.client("organizations", partition)
                    return aws_call.call(client, operation, partition=partition, **params) or {}
                return call
            admin = (self.org_admins or {}).get(partition) or (
                self.org_admin if self.org_admin is not None and partition == "commercial" else self.aws)
            return org_reads.read(caller(self.aws), caller(admin), account, start=self.g.start)
        return self.g.once(("org-policies", partition), fetch)

    # ---- govcloud secret
    @reads(Read("secretsmanager:DescribeSecret", SECRET, partitions=GOVCLOUD),
        Read("secretsmanager:GetSecretValue", SECRET, partitions=GOVCLOUD),
        Read("secretsmanager:GetSecretValue", SECRET_KEY_VIA_SECRETS_MANAGER, actions=("kms:Decrypt",),
             partitions=GOVCLOUD))
    def secret(self) -> Secret:
        """``secretsmanager:DescribeSecret`` and ``secretsmanager:GetSecretValue`` (+ ``kms:Decrypt`` on its key)."""
        sid = self.cfg.secret_id

        def value() -> tuple[str, Any]:
            # read in parallel with DescribeSecret: the value does not depend on it.  The
            # response is reduced at once to ("text", SecretText) | ("binary", None) |
            # ("none", None) | ("error", why): no frame keeps the plain SecretString.
            try:
                resp = self._read("govcloud", "secretsmanager", "GetSecretValue",
                                  expected={"ResourceNotFoundException"}, SecretId=sid) or {}
            except ReadError as exc:
                return ("error", str(exc))
            if isinstance(resp.get("SecretString"), str):
                return ("text", SecretText(resp.pop("SecretString")))
            return ("binary", None) if "SecretBinary" in resp else ("none", None)

        def fetch() -> Secret:
            val_future = self.g.background(value)
            desc = self._read("govcloud", "secretsmanager", "DescribeSecret",
                              expected={"ResourceNotFoundException"}, SecretId=sid)
            kind, val = self.g.wait(val_future) if not val_future.cancel() else value()
            if desc is None:
                return Secret(secret_id=sid, exists=False, region=self.cfg.region("govcloud"))
            s = Secret(
                secret_id=sid, exists=True, arn=desc.get("ARN"), name=desc.get("Name"),
                deleted_date=desc.get("DeletedDate"), kms_key_id=desc.get("KmsKeyId"),
                rotation_enabled=bool(desc.get("RotationEnabled")), last_changed=desc.get("LastChangedDate"),
                describe=desc, region=self.cfg.region("govcloud"),
            )
            if s.pending_deletion:
                s.value_error = "the secret is scheduled for deletion; its value cannot be read"
                return s
            if kind == "error":
                s.value_error = val
            elif kind == "text":
                s.text = val
            else:
                s.binary = kind == "binary"
                if not s.binary:
                    s.value_error = "GetSecretValue returned neither SecretString nor SecretBinary"
            return s
        return self.g.once(("secret", sid), fetch)

    @reads(Read("secretsmanager:GetSecretValue", SECRET, partitions=GOVCLOUD),
        Read("secretsmanager:GetSecretValue", SECRET_KEY_VIA_SECRETS_MANAGER, actions=("kms:Decrypt",),
             partitions=GOVCLOUD))
    def secret_version(self, stage: str) -> tuple[str | None, SecretText | None]:
        """``secretsmanager:GetSecretValue`` with ``VersionStage`` (e.g. ``AWSPENDING``): the
        version id and its string (kept in ``SecretText``); ``(None, None)`` when no version has
        the label.  Read only when a check needs it (credential.single_active, mid-rotation)."""
        sid = self.cfg.secret_id

        def fetch() -> tuple[str | None, SecretText | None]:
            resp = self._read("govcloud", "secretsmanager", "GetSecretValue",
                              expected={"ResourceNotFoundException"}, SecretId=sid, VersionStage=stage)
            if resp is None:
                return None, None
            text = resp.get("SecretString")
            return resp.get("VersionId"), (SecretText(text) if isinstance(text, str) else None)
        return self.g.once(("secret-version", sid, stage), fetch)

    @reads(Read("kms:DescribeKey", KMS_KEY))
    def kms_key(self, partition: str, key_id: str, region: str | None = None) -> dict[str, Any]:
        """``kms:DescribeKey`` (KeyManager tells a customer-managed key from an AWS-managed one;
        KeyState and DeletionDate say whether it can still be used), in ``region`` (default:
        the partition's audited region).  ``{"missing": True}`` when KMS has no such key."""
        def fetch() -> dict[str, Any]:
            resp = self._read(partition, "kms", "DescribeKey", region=region, expected={"NotFoundException"}, KeyId=key_id)
            return cast("dict[str, Any]", (resp or {}).get("KeyMetadata", {"KeyId": key_id, "missing": True}))
        if region is None or region == self.cfg.region(partition):
            return self.g.once(("kms", partition, key_id), fetch)
        return self.g.once(("kms", partition, key_id, region), fetch)

    # ---- cloudtrail
    @reads(Read("cloudtrail:DescribeTrails", TRAIL_LISTING))
    def trail_list(self, partition: str) -> list[dict[str, Any]]:
        """``cloudtrail:DescribeTrails`` (with shadow trails): each trail as CloudTrail describes it."""
        def fetch() -> list[dict[str, Any]]:
            resp = self._read(partition, "cloudtrail", "DescribeTrails", includeShadowTrails=True) or {}
            return list(resp.get("trailList", []))
        got: list[dict[str, Any]] = self.g.once(("trail-list", partition), fetch)
        return got

    @reads(Read("cloudtrail:GetTrailStatus", TRAIL), Read("cloudtrail:GetEventSelectors", TRAIL))
    def trails(self, partition: str) -> list[Trail]:
        """``cloudtrail:DescribeTrails`` (with shadow trails), then per trail, in its home region,
        ``cloudtrail:GetTrailStatus`` and ``cloudtrail:GetEventSelectors``, and ``kms:DescribeKey``
        of its KmsKeyId in the key's region (fixtures/trails.py judges the key's state)."""
        def fetch() -> list[Trail]:
            region = self.cfg.region(partition)
            trails = []
            for t in self.trail_list(partition):
                home = t.get("HomeRegion") or region
                trails.append(Trail(
                    partition=partition, name=t["Name"], arn=t.get("TrailARN", t["Name"]), home_region=home,
                    multi_region=bool(t.get("IsMultiRegionTrail")),
                    global_events=bool(t.get("IncludeGlobalServiceEvents")),
                    log_file_validation=bool(t.get("LogFileValidationEnabled")),
                    kms_key_id=t.get("KmsKeyId"), organization=bool(t.get("IsOrganizationTrail")),
                    shadow=home != region, raw=t,
                ))

            def status(tr: Trail) -> None:
                try:
                    st = self._read(partition, "cloudtrail", "GetTrailStatus", region=tr.home_region, Name=tr.arn) or {}
                    tr.is_logging = bool(st.get("IsLogging"))
                    tr.latest_delivery_error = st.get("LatestDeliveryError") or None
                except ReadError as exc:
                    tr.status_error = str(exc)

            def selectors(tr: Trail) -> None:
                try:
                    sel = self._read(partition, "cloudtrail", "GetEventSelectors", region=tr.home_region, TrailName=tr.arn) or {}
                    tr.advanced_event_selectors = sel.get("AdvancedEventSelectors")
                    # neither list in the answer: the trail selects nothing (not "unknown")
                    tr.event_selectors = sel.get("EventSelectors") or ([] if not tr.advanced_event_selectors else None)
                except ReadError as exc:
                    tr.selectors_error = str(exc)

            def key(tr: Trail) -> None:
                # KmsKeyId is the key's full ARN; the key lives in its own region (normally the
                # trail's home region) and may belong to another account.
                if not tr.kms_key_id:
                    return
                parts = tr.kms_key_id.split(":")
                kregion = parts[3] if tr.kms_key_id.startswith("arn:") and len(parts) > 3 and parts[3] else tr.home_region
                try:
                    tr.kms_key = self.kms_key(partition, tr.kms_key_id, region=kregion)
                except ReadError as exc:
                    tr.kms_error = str(exc)

            self.g.fanout([(lambda tr=tr, f=f: f(tr)) for tr in trails for f in (status, selectors, key)])
            return trails
        return self.g.once(("trails", partition), fetch)

    # ---- bedrock endpoints (httpx, bearer key)
    def _http(self, name: str, method: str, url: str, key: SecretText, region: str, json_body: Any = None,
              surface: str | None = None, extra_headers: dict[str, str] | None = None) -> HttpProbe:
        """One Bedrock call with ``Authorization: Bearer <key>``, retried on throttling/5xx/timeouts.

        The key stays a :class:`SecretText` in this frame and is revealed only inside the header
        expression; a key that is not an RFC 6750 bearer token is never sent.  Any exception of
        the HTTP client becomes a probe (``error``), so no frame holding the key reaches a
        traceback.  Under ``--emulate`` the request also carries ``x-emulator-region``: an
        endpoint override (``AWS_ENDPOINT_URL``) is one URL for every region, and the header is
        the emulator's documented way to learn the region a real host name would carry.
        """
        problem = bearer_token_problem(key)
        if problem:
            return HttpProbe(name, url, None, "malformed_key",
                             f"the key in secret {self.cfg.secret_id} {problem}; it was not sent", 0)
        attempts = 0
        delay = 0.2
        last: HttpProbe | None = None
        service = "bedrock-mantle" if surface == "mantle" else "bedrock-runtime" if "/model/" in url or "/openai/v1/" in url else "bedrock"
        headers = {"Accept": "application/json", "User-Agent": probe_user_agent(),  # credential.recently_used tells its own calls apart
                   **(extra_headers or {})}
        if self.aws.emulated:
            headers["x-emulator-region"] = region
            if surface is not None:
                # one override URL serves every host, so the surface a host name would name travels as a header
                headers["x-emulator-surface"] = surface
        with made_despite_env_changes(lambda: httpx.Client(timeout=self.cfg.timeout_seconds, verify=tls_context(),
                                                           follow_redirects=False)) as client:
            while attempts < self.cfg.max_attempts:
                attempts += 1
                t0 = time.perf_counter()
                wall = time.time()
                status: int | None = None
                try:
                    r = client.request(method, url, json=json_body,
                                       headers={**headers, "Authorization": "Bearer " + key.reveal()})
                    status = r.status_code
                    last = classify_http(name, url, r, attempts)
                except httpx.TimeoutException as exc:
                    last = HttpProbe(name, url, None, "timeout", f"no answer within {self.cfg.timeout_seconds:g}s ({type(exc).__name__})", attempts)
                except httpx.ConnectError as exc:
                    tls = "SSL" in str(exc) or "certificate" in str(exc).lower()
                    last = HttpProbe(name, url, None, "network", ("TLS handshake failed" if tls else "connection failed") + f" ({type(exc).__name__})", attempts)
                except httpx.HTTPError as exc:
                    last = HttpProbe(name, url, None, "network", f"{type(exc).__name__}", attempts)
                except Exception as exc:  # noqa: BLE001 -- its traceback would show the header with the key
                    last = HttpProbe(name, url, None, "client_failure",
                                     f"the HTTP client failed before an answer ({type(exc).__name__})", attempts)
                self.aws.calls.add(Call("http", service, f"{method} {path_of(url)}", region,
                                        "commercial", last.classification if last else "?", round((time.perf_counter() - t0) * 1000, 2), wall, status))
                if last.classification not in ("throttled", "server_error", "timeout"):
                    return last
                if attempts < self.cfg.max_attempts:
                    time.sleep(delay)
                    delay *= 2
        assert last is not None
        last.message += f" (after {attempts} attempts)"
        return last

    def _secret_fields(self) -> tuple[SecretText | None, Any]:
        """(``bedrock_api_key`` as SecretText or None when not a non-empty string, ``region`` or
        ``_MISSING``) of the secret's JSON, or CouldNotDecide saying why it has none."""
        def fetch() -> tuple[SecretText | None, Any]:
            s = self.secret()
            if not s.exists:
                raise CouldNotDecide(f"{missing_secret(s)}, so there is no key to call Bedrock with")
            if s.value_error:
                raise CouldNotDecide(f"cannot read secret {s.secret_id}: {s.value_error}")
            if s.text is None:
                raise CouldNotDecide(f"secret {s.secret_id} holds binary data, not the JSON with bedrock_api_key")
            try:
                data = json.loads(s.text.reveal())
            except (ValueError, RecursionError):
                raise CouldNotDecide(f"secret {s.secret_id} is not the expected JSON object, so no key can be read from it") from None
            if not isinstance(data, dict):
                del data
                raise CouldNotDecide(f"secret {s.secret_id} has no bedrock_api_key string")
            fields = (SecretText(data["bedrock_api_key"]) if isinstance(data.get("bedrock_api_key"), str)
                      and data["bedrock_api_key"] else None, data.get("region", _MISSING))
            del data  # only the SecretText keeps the key from here on
            return fields
        return self.g.once(("secret-fields", self.cfg.secret_id), fetch)

    def bearer_key(self) -> SecretText:
        """The key held by the secret (as :class:`SecretText`), or CouldNotDecide saying why there is none."""
        key = self._secret_fields()[0]
        if key is None:
            raise CouldNotDecide(f"secret {self.cfg.secret_id} has no bedrock_api_key string")
        return key

    def api_key(self) -> str:
        """The key held by the secret, or CouldNotDecide saying why it cannot be used (prefer :meth:`bearer_key`)."""
        return self.bearer_key().reveal()

    def probe_region(self) -> str:
        """The commercial region the workload calls Bedrock in: the ``region`` the secret names.

        The endpoint rows probe that region, because that is where the workload's calls go.
        CouldNotDecide when the secret names no region (the field is missing: the region is
        unknown); :class:`BadRegion` (a verdict, ``fail``) when it names something that is not a
        commercial region where Bedrock is offered (:func:`bedrock_commercial_regions`).
        """
        region = self._secret_fields()[1]
        if region is _MISSING:
            raise CouldNotDecide(f"secret {self.cfg.secret_id} names no region, so the region the workload calls "
                                 "Bedrock in is unknown; add the region field to the secret")
        problem = secret_region_problem(region)
        if problem:
            raise BadRegion(f"secret {self.cfg.secret_id}: {problem}, so the workload cannot call Bedrock with it; "
                            "store the commercial region it uses")
        return cast(str, region)  # secret_region_problem found no problem: it is a str

    def key_regions(self) -> KeyRegions:
        """The Regions the key is used in, and why the secret's is not among them if it is not."""
        configured = self.cfg.region("commercial")
        try:
            secret = self.probe_region()
        except BadRegion as exc:
            return KeyRegions(configured, unusable=str(exc))
        except CouldNotDecide as exc:
            return KeyRegions(configured, unknown=str(exc))
        return KeyRegions(configured, secret=secret)

    def _probe(self, name: str, build: Callable[[SecretText, str], HttpProbe]) -> HttpProbe:
        def fetch() -> HttpProbe:
            key = self.bearer_key()
            problem = bearer_token_problem(key)
            if problem:  # whatever the region: this key cannot be sent anywhere
                return HttpProbe(name, "(not called)", None, "malformed_key",
                                 f"the key in secret {self.cfg.secret_id} {problem}; it was not sent", 0)
            try:
                region = self.probe_region()
            except BadRegion as exc:
                return HttpProbe(name, "(not called)", None, "bad_region", str(exc), 0)
            return build(key, region)
        return self.g.once(("http", name), fetch)

    def list_models(self) -> HttpProbe:
        """``GET /foundation-models`` on the commercial control plane of the secret's region with the key
        (bedrock:ListFoundationModels)."""
        def build(key: SecretText, region: str) -> HttpProbe:
            base = self.aws.endpoint_url("bedrock", "commercial", region).rstrip("/")
            return self._http("list_models", "GET", f"{base}/foundation-models", key, region)
        return self._probe("list_models", build)

    def key_probe(self) -> HttpProbe:
        """The call that tells whether Bedrock accepts the key: :meth:`list_models` in the secret's
        region, or, when the secret names no usable region, ``GET /foundation-models`` in the
        audit's configured commercial region (a key that authenticates anywhere in the partition
        is live; where the workload calls is the endpoint rows' question)."""
        try:
            probe = self.list_models()
        except CouldNotDecide:
            probe = None
        if probe is not None and probe.classification != "bad_region":
            return probe
        region = self.cfg.region("commercial")

        def fetch() -> HttpProbe:
            base = self.aws.endpoint_url("bedrock", "commercial", region).rstrip("/")
            return self._http("list_models", "GET", f"{base}/foundation-models", self.bearer_key(), region)
        return self.g.once(("http", "list_models", region), fetch)

    def invoke(self) -> HttpProbe:
        """``POST /model/{id}/converse`` with a one-token prompt in the secret's region (bedrock:InvokeModel)."""
        def build(key: SecretText, region: str) -> HttpProbe:
            from urllib.parse import quote

            base = self.aws.endpoint_url("bedrock-runtime", "commercial", region).rstrip("/")
            url = f"{base}/model/{quote(self.cfg.model_id, safe='')}/converse"
            body = {"messages": [{"role": "user", "content": [{"text": "ping"}]}], "inferenceConfig": {"maxTokens": 1}}
            return self._http("invoke", "POST", url, key, region, json_body=body)
        return self._probe("invoke", build)

    def runtime_openai_chat(self) -> HttpProbe:
        """``POST /openai/v1/chat/completions`` on bedrock-runtime in the secret's region with a one-token
        prompt to ``endpoint.openai_model_id`` (bedrock:CallWithBearerToken, bedrock:InvokeModel): does the
        key work on bedrock-runtime's OpenAI-compatible API?  The base URL is
        ``https://bedrock-runtime.<region>.amazonaws.com/openai/v1`` with the key as the OpenAI client's
        ``api_key`` ("Invoke a model with the OpenAI Chat Completions API",
        https://docs.aws.amazon.com/bedrock/latest/userguide/inference-chat-completions.html)."""
        def build(key: SecretText, region: str) -> HttpProbe:
            base = self.aws.endpoint_url("bedrock-runtime", "commercial", region).rstrip("/")
            body = {"model": self.cfg.openai_model_id, "messages": [{"role": "user", "content": "ping"}],
                    "max_completion_tokens": 1}
            return self._http("runtime_openai_chat", "POST", f"{base}/openai/v1/chat/completions", key, region,
                              json_body=body)
        return self._probe("runtime_openai_chat", build)

    def mantle_models(self) -> HttpProbe:
        """``GET /v1/models`` on Amazon Bedrock powered by AWS Mantle in the secret's region with the key
        (bedrock-mantle:CallWithBearerToken, bedrock-mantle:ListModels): does the key open Mantle?

        Mantle is ``https://bedrock-mantle.<region>.api.aws`` and lists its models at ``/v1/models``
        (Amazon Bedrock User Guide, "Endpoints supported by Amazon Bedrock" and "Get list of models":
        https://docs.aws.amazon.com/bedrock/latest/userguide/endpoints.html,
        https://docs.aws.amazon.com/bedrock/latest/userguide/models-get-info.html).  botocore has no
        ``bedrock-mantle`` service, so the URL follows the SDKs' endpoint-override convention by hand
        (:func:`mantle_endpoint`)."""
        def build(key: SecretText, region: str) -> HttpProbe:
            base = mantle_endpoint(region).rstrip("/")
            return self._http("mantle_models", "GET", f"{base}/v1/models", key, region, surface="mantle",
                              extra_headers=self._mantle_project_header())
        return self._probe("mantle_models", build)

    def mantle_chat(self) -> HttpProbe:
        """``POST /v1/chat/completions`` on Mantle with a one-token prompt to ``endpoint.mantle_model_id``
        (default: the configured model's id without an inference-profile prefix) in the secret's region (bedrock-mantle:CallWithBearerToken,
        bedrock-mantle:CreateInference): does the key work there?  Mantle serves OpenAI's Chat
        Completions API ("Endpoints supported by Amazon Bedrock",
        https://docs.aws.amazon.com/bedrock/latest/userguide/endpoints.html)."""
        def build(key: SecretText, region: str) -> HttpProbe:
            base = mantle_endpoint(region).rstrip("/")
            body = {"model": self.cfg.mantle_model_id, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}
            return self._http("mantle_chat", "POST", f"{base}/v1/chat/completions", key, region, json_body=body,
                              surface="mantle", extra_headers=self._mantle_project_header())
        return self._probe("mantle_chat", build)

    def _mantle_project_header(self) -> dict[str, str]:
        """``OpenAI-Project: <endpoint.mantle_project>`` when the workload runs in a project other than the
        account's ``default`` one, so the probe is authorized as the workload's calls are (``CreateInference``
        on that project's ARN).  Every request without a project runs in the default project ("Projects API",
        https://docs.aws.amazon.com/bedrock/latest/userguide/projects.html); the header is the one OpenAI's
        API and SDK use to name a project (the ``project`` client option), which Mantle's OpenAI-compatible
        API takes -- AWS's pages do not name it."""
        project = self.cfg.mantle_project
        return {} if project == "default" else {"OpenAI-Project": project}

    # ---- the reads of inventory/access.py and traces.py, for the verdicts (which import no reader)
    def account_authorization(self, partition: str) -> AccountAuthorization:
        """:func:`bedrock_key_audit.inventory.access.account_authorization` of ``partition``."""
        from bedrock_key_audit.inventory import access as access_reads
        return access_reads.account_authorization(self, partition)

    def user_facts(self, partition: str, user_arns: Any) -> dict[str, UserFacts]:
        """:func:`bedrock_key_audit.inventory.access.user_facts`."""
        from bedrock_key_audit.inventory import access as access_reads
        return access_reads.user_facts(self, partition, user_arns)

    def secret_resource_policy(self) -> str | None:
        """:func:`bedrock_key_audit.inventory.access.secret_resource_policy`."""
        from bedrock_key_audit.inventory import access as access_reads
        return access_reads.secret_resource_policy(self)

    def key_policy(self, key_arn: str) -> str:
        """:func:`bedrock_key_audit.inventory.access.key_policy`."""
        from bedrock_key_audit.inventory import access as access_reads
        return access_reads.key_policy(self, key_arn)

    def key_grants(self, key_arn: str) -> list[dict[str, Any]]:
        """:func:`bedrock_key_audit.inventory.access.key_grants`."""
        from bedrock_key_audit.inventory import access as access_reads
        return access_reads.key_grants(self, key_arn)

    def secret_replicas(self, secret_arn: str, describe: dict[str, Any]) -> list[Replica]:
        """:func:`bedrock_key_audit.inventory.access.secret_replicas`."""
        from bedrock_key_audit.inventory import access as access_reads
        return access_reads.secret_replicas(self, secret_arn, describe)

    def invocation_logging(self, region: str) -> InvocationLogging:
        """:func:`bedrock_key_audit.inventory.traces.invocation_logging` in ``region``."""
        from bedrock_key_audit.inventory import traces as trace_reads
        return trace_reads.invocation_logging(self, region)

    def bucket_protection(self, partition: str, bucket: str, region: str) -> BucketProtection:
        """:func:`bedrock_key_audit.inventory.traces.bucket_protection`."""
        from bedrock_key_audit.inventory import traces as trace_reads
        return trace_reads.bucket_protection(self, partition, bucket, region)

    # ---- prefetch
    def prefetch(self, users: Iterable[str], now: dt.datetime | None = None,
                 needs: frozenset[str] | None = None) -> list[cf.Future[Any]]:
        """Start every independent read the selected checks need now, so checks find them done.

        ``needs``: the fixtures the selected checks use and the reads they declare (``@verdict(reads=...)``);
        a chain no selected check needs is not started (None: every chain).  Only the order of reads
        changes: a read a check asks for that was not started here is made when the check asks.

        Each job follows the data a read needs and nothing else: the secret, then its key's policy and
        grants and its replicas; the trails, then the security trail's bucket; the secret's Region, then
        that Region's invocation logging; the enabled Regions, then the key user's history in each
        (``now`` given: the single-key audit).  A verdict asking for one of these finds it read or being
        read, instead of starting its chain when its row runs."""
        from bedrock_key_audit.inventory import access as access_reads
        from bedrock_key_audit.inventory import traces as trace_reads
        from bedrock_key_audit.inventory import usage as usage_reads
        from bedrock_key_audit.trails import security_trail

        users = list(users)

        def want(*names: str) -> bool:
            return needs is None or not needs.isdisjoint(names)

        def secret_key() -> None:
            sec = self.secret()
            if not sec.exists or sec.pending_deletion:
                return  # secret.readers_restricted reads nothing more for a missing secret
            arn = sec.arn
            jobs: list[Callable[..., Any]] = []
            if want("secret_resource_policy"):
                jobs.append(lambda: access_reads.secret_resource_policy(self))
            if arn and want("secret_replicas"):
                jobs.append(lambda: access_reads.secret_replicas(self, arn, sec.describe or {}))
            kms_id = sec.kms_key_id
            if want("kms_key", "key_policy", "key_grants") and kms_id and kms_id != "alias/aws/secretsmanager" \
                    and not kms_id.endswith(":alias/aws/secretsmanager"):
                def key_access() -> None:
                    meta = self.kms_key("govcloud", kms_id)
                    if not meta.get("missing") and meta.get("KeyManager", "CUSTOMER") == "CUSTOMER":
                        arn = str(meta.get("Arn", kms_id))
                        self.g.fanout([lambda: access_reads.key_policy(self, arn),
                                       lambda: access_reads.key_grants(self, arn)])
                jobs.append(key_access)
            self.g.fanout([quiet(j) for j in jobs])

        def trail_bucket(partition: str) -> None:
            # When every trail writes to one bucket from one home Region, the security trail's bucket is that
            # bucket whichever trail the status and selectors make the candidate: its reads start beside them.
            # (Only a partition whose every trail is data-only has no candidate: then they were read for nothing.)
            region = self.cfg.region(partition)
            try:
                places = {(t.get("S3BucketName"), t.get("HomeRegion") or region) for t in self.trail_list(partition)}
            except CouldNotDecide:
                places = set()
            if len(places) == 1:
                (bucket, home), = places
                if bucket and home:
                    self.g.background(quiet(lambda: trace_reads.bucket_protection(self, partition, str(bucket),
                                                                                  str(home))))
            cand = security_trail(self.trails(partition), partition, self.cfg.region(partition)).candidate
            bucket = (cand.trail.raw or {}).get("S3BucketName") if cand is not None else None
            if cand is not None and bucket:
                trace_reads.bucket_protection(self, partition, bucket, cand.trail.home_region)

        def invocation_logging() -> None:
            # the configured Region's at once (it is always one of key_regions'); the secret's, when it names
            # another, once the secret's value is read
            configured = self.cfg.region("commercial")

            def others() -> None:
                self.g.fanout([quiet(lambda r=r: trace_reads.invocation_logging(self, r))
                               for r in self.key_regions().regions() if r != configured])
            self.g.fanout([quiet(lambda: trace_reads.invocation_logging(self, configured)), quiet(others)])

        def usage(name: str) -> None:
            assert now is not None
            user = self.user(name)
            if user.exists:
                usage_reads.usage_history(self, user.name, now)

        # Longest dependent chains first (the organization's policies: parents, then each target's
        # policies, then each policy; the user's policies: list -> GetPolicy -> GetPolicyVersion), run
        # metadata (caller identity) last.
        # (names: what needs the chain, as PREFETCH_NEEDS lists them; the fixtures and reads of the checks)
        jobs: list[Callable[..., Any]] = []
        if want(*PREFETCH_NEEDS["org_policies"]):
            jobs += [(lambda p=p: self.org_policies(p)) for p in PARTITIONS]
        if want(*PREFETCH_NEEDS["enabled_regions"]):
            jobs.append(lambda: usage_reads.enabled_regions(self))
        if want("user_policies"):
            jobs += [(lambda u=user: self.user_policies(u)) for user in users]
        surfaces = set(self.cfg.surfaces)
        chains: tuple[tuple[Callable[..., Any], bool], ...] = (
            (lambda: self.list_models(), want("list_models")),
            (lambda: self.invoke(), want("invoke") and ("runtime" in surfaces or not {"runtime-openai", "mantle"} & surfaces)),
            (lambda: self.runtime_openai_chat(), want("runtime_openai_chat") and "runtime-openai" in surfaces),
            (lambda: self.mantle_models(), want("mantle_models")),
            (lambda: self.mantle_chat(), want("mantle_chat") and "mantle" in surfaces),
            (secret_key, want(*PREFETCH_NEEDS["secret"])),
            *(((lambda p=p: trail_bucket(p)), want("bucket_protection")) for p in PARTITIONS),
            (invocation_logging, want("invocation_logging")),
            *(((lambda p=p: access_reads.account_authorization(self, p)), want(*PREFETCH_NEEDS["account_authorization"]))
              for p in PARTITIONS),
        )
        jobs += [job for job, needed in chains if needed]
        if now is not None and want("usage_history"):
            jobs += [(lambda u=user: usage(u)) for user in users]
        for user in users:
            jobs += [job for job, needed in ((lambda u=user: self.other_credentials(u), want("other_credentials")),
                                             (lambda u=user: self.bedrock_credentials(u), want("bedrock_credentials")))
                     if needed]
        jobs += [(lambda p=p: self.identity(p)) for p in PARTITIONS]  # run metadata: every run reports it
        # Each job makes the clients it needs when it first calls (one client at a time, Aws.client): made
        # up front on this thread instead, every job would wait for all of them before its first call.
        return [self.g.background(quiet(j)) for j in jobs]
