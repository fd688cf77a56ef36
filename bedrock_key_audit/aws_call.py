"""One AWS call and the mapping of its failures to one sentence a user can act on.

Both the inventory (:meth:`bedrock_key_audit.inventory.reader.Inventory._read`, reads only) and
remediation (:meth:`bedrock_key_audit.remediation.core.Context.call`) call AWS through
:func:`call`.  A failure becomes :class:`AwsCallError` with a ``kind`` and a message that names
the IAM action, the partition and region, and what would settle it; never a traceback, never a
request parameter.  Each caller turns it into its own exception (``ReadError`` ends a row
``error``; ``RemediationError`` fails a step).

Error codes follow botocore's parsed error shape (``response["Error"]["Code"]``, "Error
handling" in the boto3 guide: https://boto3.amazonaws.com/v1/documentation/api/latest/guide/error-handling.html);
the throttling codes are the ones botocore's standard retry mode retries as throttling
("Retries", https://boto3.amazonaws.com/v1/documentation/api/latest/guide/retries.html), so one
of them reaching us means the retries were spent.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from botocore import xform_name

from bedrock_key_audit.inventory.errors import KMS_VIA_SECRETS_MANAGER

DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
                "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException"}
THROTTLE_CODES = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
                  "SlowDown", "ProvisionedThroughputExceededException"}


#: the modules whose exception classes :func:`call` maps (botocore's own and its response parser's)
_BOTOCORE_MODULES = ("botocore.exceptions", "botocore.parsers")
_UNREACHABLE = frozenset({"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError"})


def botocore_classes(exc: BaseException) -> frozenset[str]:
    """The names of botocore's exception classes ``exc`` is an instance of (``{"ClientError"}``).

    By name and module, not identity: one process can hold two copies of botocore's modules (a test runner that
    restores ``sys.modules`` after an in-process run makes the next run import them again, while a module kept
    from the first run, reached as an attribute of a package that stayed, still names the first copy), and a
    client of one copy raises classes the other copy's ``except`` clauses do not catch."""
    return frozenset(c.__name__ for c in type(exc).__mro__ if c.__module__ in _BOTOCORE_MODULES)


def is_client_error(exc: BaseException) -> bool:
    """Is ``exc`` botocore's ``ClientError`` (of any copy of botocore), with its parsed ``response``?"""
    return "ClientError" in botocore_classes(exc) and isinstance(getattr(exc, "response", None), dict)


def client_response(exc: BaseException) -> dict[str, Any]:
    """The parsed error response of a ``ClientError`` (:func:`is_client_error`), else ``{}``."""
    response = getattr(exc, "response", None)
    return response if isinstance(response, dict) else {}


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ``ClientError`` (``response["Error"]["Code"]``), else the exception's type name."""
    if is_client_error(exc):
        return str(client_response(exc).get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


# Operations whose IAM action is not named after the operation, from each API page's
# "Permissions" section (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html,
# .../API_GetPublicAccessBlock.html, .../API_control_GetPublicAccessBlock.html, .../API_PutPublicAccessBlock.html).
# S3's REST operations are the ones most often named apart from their action: HeadBucket needs
# s3:ListBucket ("HeadBucket", https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html:
# "you must have permissions to perform the s3:ListBucket action"), the bucket encryption calls the
# s3:*EncryptionConfiguration actions (API_GetBucketEncryption.html, API_PutBucketEncryption.html),
# DeletePublicAccessBlock the Put action of the same setting (API_DeletePublicAccessBlock.html,
# API_control_DeletePublicAccessBlock.html), ListObjectsV2 s3:ListBucket and HeadObject s3:GetObject
# ("Required permissions for Amazon S3 API operations",
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html).
IAM_ACTION_OVERRIDES = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "PutBucketEncryption"): "s3:PutEncryptionConfiguration",
    ("s3", "DeleteBucketEncryption"): "s3:PutEncryptionConfiguration",
    ("s3", "GetBucketLifecycleConfiguration"): "s3:GetLifecycleConfiguration",
    ("s3", "PutBucketLifecycleConfiguration"): "s3:PutLifecycleConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3", "DeletePublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
    ("s3control", "PutPublicAccessBlock"): "s3:PutAccountPublicAccessBlock",
    ("s3control", "DeletePublicAccessBlock"): "s3:PutAccountPublicAccessBlock",
}
#: the HTTP status botocore gives as the error code when a refusal has no body (HEAD requests:
#: "If the bucket does not exist or you do not have permission to access it, the HEAD request returns
#: a generic 400 Bad Request, 403 Forbidden or 404 Not Found code. A message body is not included",
#: "HeadBucket", Amazon S3 API Reference)
BODYLESS_DENIED = "403"

SECRET_WRITES = frozenset({"PutSecretValue", "CreateSecret", "UpdateSecret", "RotateSecret"})

# The policy type that refused, as AWS words it in an access-denied message ("Troubleshoot access
# denied error messages", IAM User Guide,
# https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html: "... with an
# explicit deny in a service control policy", "... because no service control policy allows the
# <action> action", and the same for resource control policies, permissions boundaries, session
# policies, identity-based and resource-based policies).  Only an implicit deny of an
# identity-based policy is fixed by a grant; each other cause is named with what would fix it.
POLICY_TYPES = ("service control policy", "resource control policy", "permissions boundary", "session policy",
                "identity-based policy", "resource-based policy", "vpc endpoint policy")


def denial_cause(message: str) -> tuple[str, bool] | None:
    """``(policy type, explicit)`` AWS named in an access-denied ``message``, else None (no cause given)."""
    low = " ".join(message.lower().split())
    for kind in POLICY_TYPES:
        if f"explicit deny in a {kind}" in low or f"explicit deny in an {kind}" in low:
            return kind, True
        if f"because no {kind} allows" in low:
            return kind, False
    return None


def policy_command(role: str, partition: str, *, account: str | None = None, organization: bool = False,
                   config_path: str | None = None) -> str:
    """The command that prints ``role``'s policy for ``partition``, naming the configuration file the run
    used (the printed ARNs come from it) and the account when known."""
    import shlex

    return (f"bedrock-key-audit policy {role} --partition {partition}"
            + (f" --account {account}" if account else "")
            + (" --organization" if organization else "")
            + (f" --audit-config {shlex.quote(config_path)}" if config_path else ""))


def command_for(who: "Principal", partition: str, audit_cfg: Any = None) -> str:
    """:func:`policy_command` for a run's configuration (None: the built-in defaults)."""
    if audit_cfg is None:
        return policy_command(who.role, partition)
    path = getattr(audit_cfg, "path", None)
    account = None
    try:
        account = audit_cfg.partition_account(partition)
    except (AttributeError, KeyError):
        account = None
    return policy_command(who.role, partition, account=account, config_path=str(path) if path else None)


# Operation-name prefixes that only read (botocore operation names, e.g. ``GetBucketPolicy``,
# ``ListUsers``, ``DescribeTrails``, ``HeadBucket``, ``LookupEvents``).  Every other operation is
# treated as mutating: the remediation guard is the only caller allowed to make one.
READ_PREFIXES = ("Get", "List", "Describe", "Head", "Lookup", "Search", "Select", "Simulate", "Test",
                 "Validate", "Decode", "Estimate", "Preview", "Query", "Scan", "Check", "Filter", "Verify")
# Operations outside READ_PREFIXES that change no resource: IAM's report jobs only start a report
# the account can read later ("GenerateCredentialReport", IAM API Reference).
NON_MUTATING = frozenset({"GenerateCredentialReport", "GenerateServiceLastAccessedDetails"})


def is_mutating(operation: str) -> bool:
    """Does the botocore operation ``operation`` (``PutBucketPolicy``) change AWS state?"""
    return not operation.startswith(READ_PREFIXES) and operation not in NON_MUTATING


def iam_action(client: Any, operation: str) -> str:
    """The IAM action a call needs (``cloudtrail:DescribeTrails``), from the service model."""
    model = client.meta.service_model
    override = IAM_ACTION_OVERRIDES.get((model.service_name, operation))
    if override:
        return override
    return f"{model.signing_name}:{operation}"


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who makes the calls, as a denied call's message names it."""

    role: str  # "auditor"
    principal: str  # "auditing principal"
    policy: str  # the repository file holding the policy it needs


AUDITOR = Principal("auditor", "auditing principal", "docs/auditor-policy.json")
REMEDIATOR = Principal("remediator", "remediating principal", "docs/remediator-policy.json")


class AwsCallError(Exception):
    """An AWS call failed; ``str()`` is one sentence without secrets.

    ``kind``: ``denied`` | ``throttled`` | ``client_error`` | ``no_credentials`` | ``unreachable``
    | ``botocore`` | ``unparseable``; ``code`` is the AWS error code (or the exception's type name).
    """

    def __init__(self, message: str, *, kind: str, action: str, code: str):
        super().__init__(message)
        self.kind = kind
        self.action = action
        self.code = code


def call(client: Any, operation: str, *, partition: str, region: str | None = None,
         expected: Iterable[str] = (), via: Callable[[Any], dict[str, Any]] | None = None,
         who: Principal = AUDITOR, audit_cfg: Any = None, **params: Any) -> dict[str, Any] | None:
    """``operation`` (its API name, ``GetUser``) on ``client``; ``None`` when it failed with an ``expected``
    code (e.g. ``NoSuchEntity``), else the response without ``ResponseMetadata``.

    ``via(client)`` replaces the single call (a paginator loop) under the same error mapping.
    ``region`` names where the call went in messages (default: the client's region); ``audit_cfg``
    (the run's configuration) makes a denial's policy command name its file and account.  Any other
    failure raises :class:`AwsCallError` (a denial: :func:`denied_error`).
    """
    where = f"{partition} ({region or client.meta.region_name})"
    try:
        resp = via(client) if via is not None else getattr(client, xform_name(operation))(**params)
    except Exception as exc:  # botocore's failures mapped by class name (botocore_classes); others re-raised
        names = botocore_classes(exc)
        if is_client_error(exc):
            response = client_response(exc)
            code = error_code(exc)
            if code in set(expected):
                return None
            action = iam_action(client, operation)
            if code in DENIED_CODES or code == BODYLESS_DENIED:
                raise denied_error(client.meta.service_model.service_name, operation, action, code,
                                   response.get("Error", {}).get("Message", "") or "", where=where,
                                   partition=partition, who=who, audit_cfg=audit_cfg) from None
            if code in THROTTLE_CODES:
                raise AwsCallError(f"{action} in {where} was still throttled after retries; rerun later or lower "
                                   "concurrency", kind="throttled", action=action, code=code) from None
            msg = response.get("Error", {}).get("Message", "")
            raise AwsCallError(f"{action} in {where} failed with {code}: {msg[:200]}",
                               kind="client_error", action=action, code=code) from None
        if "NoCredentialsError" in names:
            raise AwsCallError(f"no AWS credentials for {partition}; configure a profile or the standard chain",
                               kind="no_credentials", action=iam_action(client, operation),
                               code="NoCredentialsError") from None
        if names & _UNREACHABLE:
            action = iam_action(client, operation)
            raise AwsCallError(f"{action}: could not reach {client.meta.service_model.service_name} in {partition}: "
                               f"{type(exc).__name__}", kind="unreachable", action=action,
                               code=type(exc).__name__) from None
        if "BotoCoreError" in names:
            action = iam_action(client, operation)
            raise AwsCallError(f"{action} in {partition} failed: {type(exc).__name__}",
                               kind="botocore", action=action, code=type(exc).__name__) from None
        if "ResponseParserError" in names:
            action = iam_action(client, operation)
            raise AwsCallError(f"{action} in {partition}: AWS answered with a response that cannot be parsed; "
                               "the endpoint may not implement this action",
                               kind="unparseable", action=action, code="ResponseParserError") from None
        raise
    resp.pop("ResponseMetadata", None)
    return resp


def denied_error(service: str, operation: str, action: str, code: str, message: str, *, where: str,
                 partition: str, who: Principal = AUDITOR, audit_cfg: Any = None) -> AwsCallError:
    """The one sentence of a refused call: the action that was refused (the KMS action behind a Secrets
    Manager call), the policy type that refused it (:func:`denial_cause`), and what would settle it;
    a grant and the command printing the policy only when a missing grant is the cause."""
    command = command_for(who, partition, audit_cfg)
    low = message.lower()
    if code in ("InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException"):
        return AwsCallError(f"{action} in {where} was refused with {code}: the {partition} credentials are not valid "
                            f"there (wrong partition, deleted or expired); `bedrock-key-audit doctor` names the "
                            "problem", kind="denied", action=action, code=code)
    if service == "secretsmanager" and KMS_VIA_SECRETS_MANAGER in low:
        kms_action = "kms:GenerateDataKey" if operation in SECRET_WRITES else "kms:Decrypt"
        return AwsCallError(f"{kms_action} on the secret's KMS key was denied to the {who.role} in {where}: Secrets "
                            f"Manager answered {action} with \"Access to KMS is not allowed\" (it calls KMS with the "
                            f"caller's permissions) and names no cause, which may be the key policy (an explicit Deny, "
                            "or no Allow where it does not delegate to IAM), a grant, or the IAM policies of the "
                            f"{who.principal}: `aws kms get-key-policy` on the key shows a Deny or a missing Allow; "
                            f"with neither, allow {kms_action} on that key through Secrets Manager (`{command}` prints "
                            "the policy)", kind="denied", action=kms_action, code=code)
    cause = denial_cause(message)
    if cause is not None and cause[0] in ("service control policy", "resource control policy"):
        kind, explicit = cause
        how = (f"by an explicit Deny in a {kind} of the account's organization (no IAM grant can override it): that "
               f"Deny must exempt the {who.principal}" if explicit else
               f"because no {kind} of the account's organization allows it (an IAM grant alone cannot): a {kind} "
               "on the account, its OUs and the root must allow it")
        return AwsCallError(f"{action} was denied to the {who.role} in {where} {how}; ask the organization's "
                            "management account to change the policy", kind="denied", action=action, code=code)
    if cause is not None and cause[0] in ("permissions boundary", "session policy", "vpc endpoint policy"):
        kind, explicit = cause
        what = {"permissions boundary": f"the permissions boundary of the {who.principal}",
                "session policy": "the session policy passed when the role was assumed",
                "vpc endpoint policy": "the policy of the VPC endpoint the call went through"}[kind]
        return AwsCallError(f"{action} was denied to the {who.role} in {where} by "
                            + (f"an explicit Deny in {what}: that Deny must spare it" if explicit
                               else f"{what}, which does not allow it: it must allow {action}")
                            + f" (a grant in the {who.role} policy alone cannot)", kind="denied", action=action,
                            code=code)
    explicit_deny = (cause is not None and cause[1]) or (cause is None and "explicit deny" in low)
    if explicit_deny and service == "secretsmanager":
        # "Policy evaluation logic" (IAM User Guide): an explicit Deny wins over every Allow, so
        # granting the action changes nothing; the Deny itself must spare the principal
        return AwsCallError(f"{action} was denied to the {who.role} in {where} by an explicit Deny (a grant "
                            f"cannot override it): the Deny must spare the {who.principal}; a Deny that "
                            "--remediate wrote on the secret spares secret.allowed_readers and secret.auditors, "
                            "so list the principal that runs the audit in secret.auditors and rerun --remediate",
                            kind="denied", action=action, code=code)
    if explicit_deny:
        where_deny = {"identity-based policy": f"an identity-based policy of the {who.principal}",
                      "resource-based policy": "the resource's own policy"}.get(cause[0] if cause else "", "a policy")
        return AwsCallError(f"{action} was denied to the {who.role} in {where} by an explicit Deny in {where_deny} (a "
                            "grant cannot override it): that Deny must spare the principal", kind="denied",
                            action=action, code=code)
    if cause is not None and cause[0] == "resource-based policy":
        return AwsCallError(f"{action} was denied to the {who.role} in {where}: the resource's policy does not allow "
                            f"it to the {who.principal}; allow it there (and grant it: `{command}` prints the policy)",
                            kind="denied", action=action, code=code)
    # the hint names the command that prints the policy (an installed wheel has no docs/ folder)
    return AwsCallError(f"{action} was denied to the {who.role} in {where}; grant {action} to the {who.principal} "
                        f"(`{command}` prints the policy)", kind="denied", action=action, code=code)
