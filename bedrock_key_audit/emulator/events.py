"""CloudTrail event history for the emulator: events recorded per account and region, served by ``LookupEvents``.

moto 5.2 does not implement ``LookupEvents``.  This module records a CloudTrail event for

* every Bedrock call made with ``Authorization: Bearer <key>`` that authenticated (``bedrock.py``
  calls :func:`record_bearer_call` once per request, refused calls included: AWS logs a denied call
  with its ``errorCode``);
* every IAM and Secrets Manager *write* made with SigV4 (:func:`observe`, wrapped around moto by the
  server): reads are not recorded (the audit reads nothing but Bedrock events of the key's user).

and serves ``LookupEvents`` (``install()`` adds it to moto's ``CloudTrailResponse``, so moto's own
request authorization, when switched on, checks ``cloudtrail:LookupEvents`` as AWS does).

The event shape follows the CloudTrail record (AWS CloudTrail User Guide, "CloudTrail record
contents" and "CloudTrail userIdentity element",
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html)
and the ``LookupEvents`` response of botocore's ``cloudtrail`` service model (``EventId``,
``EventName``, ``ReadOnly``, ``AccessKeyId``, ``EventTime``, ``EventSource``, ``Username``,
``Resources``, ``CloudTrailEvent``).  A bearer call is attributed to the key's IAM user
(``userIdentity.type`` ``IAMUser``, no ``accessKeyId``: the key is not an access key and is never
logged, as the Bedrock User Guide says: "Amazon Bedrock API keys are passed as authorization headers
to API requests and aren't logged") and carries ``additionalEventData.callWithBearerToken: true``
(the marker reported by BeyondTrust's "AWS Bedrock API Keys Security Guide Part 2", a third-party
fact).  No field names which of the user's keys was used.

``sourceIPAddress`` is the client's address (``REMOTE_ADDR``), or the ``x-emulator-source-ip``
header when it holds an IP address: the emulator's documented way for a test or scenario to stand
for a workload calling from elsewhere (everything reaches the emulator from 127.0.0.1).
``eventTime`` is the emulator clock's, so moving the clock ages the history.

``LookupEvents`` as documented in the CloudTrail API Reference and the model: at most one lookup
attribute (``InvalidLookupAttributesException`` otherwise), ``StartTime``/``EndTime`` inclusive
(``InvalidTimeRangeException`` when start is after end), ``MaxResults`` 1..50 (default 50,
``InvalidMaxResultsException``), ``NextToken`` valid only with the same parameters
(``InvalidNextTokenException``), events of the last 90 days of the region only, newest first;
``EventCategory=insight`` returns no events (the emulator has no Insights).
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import ipaddress
import json
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, unquote

from bedrock_key_audit.emulator import clock, partitions

HISTORY_DAYS = 90
SOURCE_IP_HEADER = "x-emulator-source-ip"
ATTRIBUTE_KEYS = ("EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName", "EventSource",
                  "AccessKeyId")

_lock = threading.Lock()
_installed = False

# Request parameters worth keeping in a write's record: identifiers only, never a value that may be
# secret (SecretString, SecretBinary, passwords, policy documents are left out, as AWS omits them).
_SAFE_PARAMETERS = ("UserName", "ServiceName", "ServiceSpecificCredentialId", "CredentialAgeDays", "Status",
                    "PolicyArn", "PolicyName", "GroupName", "RoleName", "SecretId", "Name", "KmsKeyId",
                    "VersionStage", "VersionStages", "MoveToVersionId", "RemoveFromVersionId", "AccessKeyId",
                    "RecoveryWindowInDays", "ForceDeleteWithoutRecovery")


# --------------------------------------------------------------------------- store
def _events(account_id: str, region: str) -> list[dict[str, Any]]:
    """The list kept on moto's CloudTrail backend of (account, region): emptied by every moto reset."""
    from moto.cloudtrail.models import cloudtrail_backends

    backend = cloudtrail_backends[account_id][region]
    store: list[dict[str, Any]] = backend.__dict__.setdefault("_emulator_event_history", [])
    return store


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def record(account_id: str, region: str, *, event_name: str, event_source: str, user_identity: dict[str, Any],
           username: str | None, source_ip: str, user_agent: str, read_only: bool,
           request_parameters: dict[str, Any] | None = None, additional: dict[str, Any] | None = None,
           resources: Iterable[tuple[str, str]] = (), error_code: str | None = None,
           error_message: str | None = None) -> dict[str, Any]:
    """Add one event (now, by the emulator clock) to the history of ``account_id`` in ``region``."""
    now = clock.now().astimezone(dt.timezone.utc).replace(microsecond=0)
    event_id = str(uuid.uuid4())
    body: dict[str, Any] = {
        "eventVersion": "1.11",
        "userIdentity": user_identity,
        "eventTime": _iso(now),
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
        "requestParameters": request_parameters,
        "responseElements": None,
        "requestID": str(uuid.uuid4()),
        "eventID": event_id,
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account_id,
        "eventCategory": "Management",
    }
    if additional:
        body["additionalEventData"] = additional
    if error_code:
        body["errorCode"] = error_code
        body["errorMessage"] = error_message or ""
    res = [{"ResourceType": t, "ResourceName": n} for t, n in resources]
    if res:
        body["resources"] = [{"type": t, "ARN" if n.startswith("arn:") else "name": n} for t, n in resources]
    event = {
        "EventId": event_id, "EventName": event_name, "ReadOnly": "true" if read_only else "false",
        "EventTime": now, "EventSource": event_source, "Resources": res,
        "CloudTrailEvent": json.dumps(body),
    }
    if username is not None:
        event["Username"] = username
    if user_identity.get("accessKeyId"):
        event["AccessKeyId"] = user_identity["accessKeyId"]
    with _lock:
        _events(account_id, region).append(event)
    return event


def _source_ip(environ: dict[str, Any]) -> str:
    hdr = (environ.get("HTTP_X_EMULATOR_SOURCE_IP") or "").strip()
    try:
        return str(ipaddress.ip_address(hdr))
    except ValueError:
        return (environ.get("REMOTE_ADDR") or "").strip() or "127.0.0.1"


# --------------------------------------------------------------------------- Bedrock bearer calls
_BEDROCK_OPERATIONS: tuple[tuple[str, str, str], ...] = (
    # (method, path test, event name); runtime paths end with the operation
    ("GET", "/foundation-models", "ListFoundationModels"),
    ("GET", "/foundation-models/", "GetFoundationModel"),
    ("GET", "/inference-profiles", "ListInferenceProfiles"),
    ("GET", "/inference-profiles/", "GetInferenceProfile"),
)


def _bedrock_operation(method: str, path: str) -> tuple[str, str | None]:
    """(event name, model or profile identifier) of a Bedrock request path."""
    path = path.rstrip("/") or "/"
    if method == "POST" and path.startswith("/model/"):
        ident, _, op = path[len("/model/"):].rpartition("/")
        name = {"invoke": "InvokeModel", "converse": "Converse",
                "invoke-with-response-stream": "InvokeModelWithResponseStream",
                "converse-stream": "ConverseStream"}.get(op, op)
        return name, unquote(ident) or None
    for m, test, name in _BEDROCK_OPERATIONS:
        if method == m and (path == test if not test.endswith("/") else path.startswith(test)):
            return name, (unquote(path[len(test):]) or None) if test.endswith("/") else None
    return f"{method} {path}", None


def record_bearer_call(ctx: Any, status: int, error_type: str | None, message: str | None = None) -> None:
    """Record the Bedrock call ``ctx`` (``bedrock.Ctx``) when its key authenticated; never raises."""
    try:
        if not ctx.user_arn or not ctx.account_id:
            return  # authentication failed: no user to attribute the call to
        raw = (ctx.environ.get("RAW_URI") or ctx.environ.get("REQUEST_URI") or "").split("?", 1)[0]
        name, ident = _bedrock_operation(ctx.method, raw if raw.startswith("/") else ctx.path)
        identity = {"type": "IAMUser", "principalId": _user_id(ctx.account_id, ctx.key_partition, ctx.user_name),
                    "arn": ctx.user_arn, "accountId": ctx.account_id, "userName": ctx.user_name}
        resources = []
        if ident:
            arn = ident if ident.startswith("arn:") else (
                f"arn:{partitions.arn_partition_of_region(ctx.region)}:bedrock:{ctx.region}::foundation-model/{ident}")
            resources.append(("AWS::Bedrock::Model", arn))
        record(ctx.account_id, ctx.region, event_name=name, event_source="bedrock.amazonaws.com",
               user_identity=identity, username=ctx.user_name, source_ip=_source_ip(ctx.environ),
               user_agent=ctx.environ.get("HTTP_USER_AGENT") or "", read_only=True,
               request_parameters={"modelId": ident} if ident else None,
               additional={"callWithBearerToken": True}, resources=resources,
               error_code=error_type if status >= 400 else None, error_message=message if status >= 400 else None)
    except Exception:  # noqa: BLE001 -- the history must never break the call it records
        return


def _user_id(account_id: str, partition: str | None, user_name: str | None) -> str:
    try:
        from moto.iam.models import iam_backends

        users = iam_backends[account_id][partitions.get(partition or "commercial").arn_partition].users
        return str(getattr(users.get(user_name or ""), "id", "") or "")
    except Exception:  # noqa: BLE001 -- a principal id is decoration: never fail the record for it
        return ""


# --------------------------------------------------------------------------- SigV4 writes (IAM, Secrets Manager)
_READ_PREFIXES = ("Get", "List", "Describe", "BatchGet", "Simulate", "Generate", "Validate")
_SERVICES = {"iam": "iam.amazonaws.com", "secretsmanager": "secretsmanager.amazonaws.com"}


def _caller_identity(account_id: str, arn_partition: str, access_key_id: str) -> tuple[dict[str, Any], str]:
    """userIdentity and LookupEvents ``Username`` of a SigV4 caller: an IAM user moto knows, else the
    account's root (the emulator's fake credentials stand for the account, see partitions.py)."""
    try:
        from moto.iam.models import iam_backends

        backend = iam_backends[account_id][arn_partition]
        key = backend.access_keys.get(access_key_id)
        if key is not None and key.user_name:
            user = backend.users[key.user_name]
            return ({"type": "IAMUser", "principalId": user.id, "arn": user.arn, "accountId": account_id,
                     "accessKeyId": access_key_id, "userName": user.name}, user.name)
    except Exception:  # noqa: BLE001 -- an unknown key is the account's own (root) credential
        pass
    return ({"type": "Root", "principalId": account_id, "arn": f"arn:{arn_partition}:iam::{account_id}:root",
             "accountId": account_id, "accessKeyId": access_key_id}, "root")


def _operation(environ: dict[str, Any], body: bytes) -> tuple[str | None, dict[str, Any]]:
    target = environ.get("HTTP_X_AMZ_TARGET") or ""
    if target:  # JSON protocol (Secrets Manager)
        try:
            params = json.loads(body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            params = {}
        return target.rsplit(".", 1)[-1], params if isinstance(params, dict) else {}
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING") or "").items()}
    try:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}
    except UnicodeDecodeError:
        form = {}
    params = {**query, **form}
    return params.pop("Action", None), params


def observe(environ: dict[str, Any], start_response: Callable[..., Any],
            app: Callable[..., Iterable[bytes]]) -> Iterable[bytes]:
    """Run moto's ``app`` for a SigV4 request; record the call when it is an IAM or Secrets Manager write."""
    scope = partitions._SCOPE.search(environ.get("HTTP_AUTHORIZATION", "") or "")
    service = scope.group(0).split("/")[3] if scope else None
    if service not in _SERVICES:
        return app(environ, start_response)
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    operation, params = _operation(environ, body)
    status: list[int] = []

    def capture(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        status.append(int(status_line.split(" ", 1)[0]))
        return start_response(status_line, headers, exc_info) if exc_info else start_response(status_line, headers)

    out = app(environ, capture)
    try:
        if operation and not operation.startswith(_READ_PREFIXES) and status and status[0] < 300:
            _record_write(environ, service, operation, params)
    except Exception:  # noqa: BLE001 -- the history must never break the call it records
        pass
    return out


def _record_write(environ: dict[str, Any], service: str, operation: str, params: dict[str, Any]) -> None:
    region = partitions.region_of_request(environ) or "us-east-1"
    part = partitions.partition_for_region(region)
    if part is None:
        return
    if service == "iam":  # IAM is global: its events are recorded in the partition's home region
        region = part.region
    key_id = (environ.get("HTTP_AUTHORIZATION") or "").split("Credential=", 1)[-1].split("/", 1)[0]
    identity, username = _caller_identity(part.account_id, part.arn_partition, key_id)
    kept = {k[:1].lower() + k[1:]: v for k, v in params.items() if k in _SAFE_PARAMETERS}
    resources: list[tuple[str, str]] = []
    if service == "iam" and params.get("UserName"):
        resources.append(("AWS::IAM::User", str(params["UserName"])))
    if service == "secretsmanager" and (params.get("SecretId") or params.get("Name")):
        resources.append(("AWS::SecretsManager::Secret", str(params.get("SecretId") or params.get("Name"))))
    record(part.account_id, region, event_name=operation, event_source=_SERVICES[service], user_identity=identity,
           username=username, source_ip=_source_ip(environ), user_agent=environ.get("HTTP_USER_AGENT") or "",
           read_only=False, request_parameters=kept or None, resources=resources)


# --------------------------------------------------------------------------- LookupEvents
class _Error(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _epoch(value: Any, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromtimestamp(float(value), dt.timezone.utc)
    except (TypeError, ValueError, OverflowError):
        try:
            return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(dt.timezone.utc)
        except ValueError:
            raise _Error("InvalidTimeRangeException", f"{name} is not a valid timestamp") from None


def _matches(event: dict[str, Any], key: str, value: str) -> bool:
    if key in ("ResourceType", "ResourceName"):
        return any(r.get(key) == value for r in event.get("Resources", []))
    return str(event.get(key, "")) == value


def lookup(account_id: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
    """The ``LookupEvents`` answer for ``params`` (the request's JSON), or raises :class:`_Error`."""
    attrs = params.get("LookupAttributes") or []
    if not isinstance(attrs, list) or len(attrs) > 1:
        raise _Error("InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.")
    for a in attrs:
        if not isinstance(a, dict) or a.get("AttributeKey") not in ATTRIBUTE_KEYS or not a.get("AttributeValue"):
            raise _Error("InvalidLookupAttributesException", "The lookup attribute is not valid.")
    start, end = _epoch(params.get("StartTime"), "StartTime"), _epoch(params.get("EndTime"), "EndTime")
    if start and end and start > end:
        raise _Error("InvalidTimeRangeException", "The start time must not be after the end time.")
    limit = params.get("MaxResults", 50)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 50:
        raise _Error("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
    category = params.get("EventCategory")
    if category not in (None, "insight"):
        raise _Error("InvalidEventCategoryException", "The event category is not valid.")
    fingerprint = hashlib.sha256(json.dumps(
        [attrs, params.get("StartTime"), params.get("EndTime"), category], sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    offset = 0
    token = params.get("NextToken")
    if token is not None:
        try:
            fp, _, off = base64.urlsafe_b64decode(str(token).encode()).decode().partition(":")
            offset = int(off)
        except (ValueError, UnicodeDecodeError):
            raise _Error("InvalidNextTokenException", "The NextToken is not valid.") from None
        if fp != fingerprint or offset < 0:
            raise _Error("InvalidNextTokenException",
                         "The NextToken was used with parameters different from the original call.")
    if category == "insight":
        return {"Events": []}
    oldest = clock.now() - dt.timedelta(days=HISTORY_DAYS)
    with _lock:
        found = [e for e in reversed(_events(account_id, region))  # newest first, recording order within a second
                 if e["EventTime"] >= oldest and (start is None or e["EventTime"] >= start)
                 and (end is None or e["EventTime"] <= end)
                 and all(_matches(e, a["AttributeKey"], a["AttributeValue"]) for a in attrs)]
    found.sort(key=lambda e: e["EventTime"], reverse=True)  # stable: ties keep newest-recorded first
    page = found[offset:offset + limit]
    out: dict[str, Any] = {"Events": [{**e, "EventTime": e["EventTime"].timestamp(),
                                        "Resources": [dict(r) for r in e["Resources"]]} for e in page]}
    if offset + limit < len(found):
        out["NextToken"] = base64.urlsafe_b64encode(f"{fingerprint}:{offset + limit}".encode()).decode()
    return out


def install() -> None:
    """Serve ``LookupEvents`` from moto's CloudTrail dispatcher (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.cloudtrail.responses import CloudTrailResponse
        from moto.core.exceptions import JsonRESTError

        def lookup_events(self: Any) -> str:
            backend = self.cloudtrail_backend
            try:
                params = json.loads(self.body or "{}")
                return json.dumps(lookup(backend.account_id, backend.region_name,
                                         params if isinstance(params, dict) else {}))
            except _Error as err:
                raise JsonRESTError(err.code, err.message) from None

        CloudTrailResponse.lookup_events = lookup_events  # type: ignore[attr-defined]
        _installed = True


def history(partition: str, region: str | None = None) -> list[dict[str, Any]]:
    """Every event recorded in ``partition`` (its home region by default), oldest first (for tests)."""
    part = partitions.get(partition)
    with _lock:
        return list(_events(part.account_id, region or part.region))
