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

import botocore.exceptions
from botocore import xform_name
from botocore.parsers import ResponseParserError

DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
                "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException"}
THROTTLE_CODES = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
                  "SlowDown", "ProvisionedThroughputExceededException"}


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ``ClientError`` (``response["Error"]["Code"]``), else the exception's type name."""
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


# Operations whose IAM action is not named after the operation, from each API page's
# "Permissions" section (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html,
# .../API_GetPublicAccessBlock.html, .../API_control_GetPublicAccessBlock.html, .../API_PutPublicAccessBlock.html).
IAM_ACTION_OVERRIDES = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
}


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
         who: Principal = AUDITOR, **params: Any) -> dict[str, Any] | None:
    """``operation`` (its API name, ``GetUser``) on ``client``; ``None`` when it failed with an ``expected``
    code (e.g. ``NoSuchEntity``), else the response without ``ResponseMetadata``.

    ``via(client)`` replaces the single call (a paginator loop) under the same error mapping.
    ``region`` names where the call went in messages (default: the client's region).  Any other
    failure raises :class:`AwsCallError`.
    """
    where = f"{partition} ({region or client.meta.region_name})"
    try:
        resp = via(client) if via is not None else getattr(client, xform_name(operation))(**params)
    except botocore.exceptions.ClientError as exc:
        code = error_code(exc)
        if code in set(expected):
            return None
        action = iam_action(client, operation)
        if code in DENIED_CODES and action.startswith("secretsmanager:") \
                and "explicit deny" in exc.response.get("Error", {}).get("Message", "").lower():
            # "Policy evaluation logic" (IAM User Guide): an explicit Deny wins over every Allow, so
            # granting the action changes nothing; the Deny itself must spare the principal
            raise AwsCallError(f"{action} was denied to the {who.role} in {where} by an explicit Deny (a grant "
                               f"cannot override it): the Deny must spare the {who.principal}; a Deny that "
                               "--remediate wrote on the secret spares secret.allowed_readers and secret.auditors, "
                               "so list the principal that runs the audit in secret.auditors and rerun --remediate",
                               kind="denied", action=action, code=code) from None
        if code in DENIED_CODES:
            # the hint names the command that prints the policy (an installed wheel has no docs/ folder)
            raise AwsCallError(f"{action} was denied to the {who.role} in {where}; grant {action} to the "
                               f"{who.principal} (`bedrock-key-audit policy {who.role} --partition {partition}` "
                               "prints the policy)", kind="denied", action=action, code=code) from None
        if code in THROTTLE_CODES:
            raise AwsCallError(f"{action} in {where} was still throttled after retries; rerun later or lower concurrency",
                               kind="throttled", action=action, code=code) from None
        msg = exc.response.get("Error", {}).get("Message", "")
        raise AwsCallError(f"{action} in {where} failed with {code}: {msg[:200]}",
                           kind="client_error", action=action, code=code) from None
    except botocore.exceptions.NoCredentialsError:
        raise AwsCallError(f"no AWS credentials for {partition}; configure a profile or the standard chain",
                           kind="no_credentials", action=iam_action(client, operation),
                           code="NoCredentialsError") from None
    except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError,
            botocore.exceptions.ReadTimeoutError, botocore.exceptions.ConnectionClosedError) as exc:
        action = iam_action(client, operation)
        raise AwsCallError(f"{action}: could not reach {client.meta.service_model.service_name} in {partition}: "
                           f"{type(exc).__name__}", kind="unreachable", action=action, code=type(exc).__name__) from None
    except botocore.exceptions.BotoCoreError as exc:
        action = iam_action(client, operation)
        raise AwsCallError(f"{action} in {partition} failed: {type(exc).__name__}",
                           kind="botocore", action=action, code=type(exc).__name__) from None
    except ResponseParserError:
        action = iam_action(client, operation)
        raise AwsCallError(f"{action} in {partition}: AWS answered with a response that cannot be parsed; "
                           "the endpoint may not implement this action",
                           kind="unparseable", action=action, code="ResponseParserError") from None
    resp.pop("ResponseMetadata", None)
    return resp
