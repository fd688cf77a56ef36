"""State of one bearer request and the decisions on it: region, key lookup, authorization.

The request context (``Ctx``) carries what the handlers need and nothing secret; the key is
looked up in the emulator's IAM (``iam_ssc.lookup_bedrock_key``) and dropped at once.
Authorization evaluates the key user's identity policies and boundary with the emulator's own
evaluator (``bedrock_key_audit.emulator.iam_eval``).  Identifier resolution (model id or ARN,
inference-profile id or ARN) against the emulator's catalog lives here too.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from bedrock_key_audit.emulator import bedrock_catalog as catalog
from bedrock_key_audit.emulator.bedrock.exceptions import (
    INVALID_MODEL_MESSAGE,
    BedrockError,
    auth_failed,
    validation_error,
)

DEFAULT_REGION = "us-east-1"
REGION_HEADER = "x-emulator-region"
SURFACE_HEADER = "x-emulator-surface"
BEARER_ACTIONS = {"bedrock": "bedrock:CallWithBearerToken", "mantle": "bedrock-mantle:CallWithBearerToken"}
BEARER_TOKEN_TYPE = "LONG_TERM"

_AWS_HOST = re.compile(r"^bedrock(?:-runtime)?(?:-fips)?\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(?::\d+)?$", re.I)
_MANTLE_HOST = re.compile(r"^bedrock-mantle\.([a-z]{2}(?:-[a-z]+)+-\d)\.api\.aws(?::\d+)?$", re.I)
_REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d$")


# --------------------------------------------------------------------------- request context
class Ctx:
    """One request: what the handlers need, nothing secret."""

    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ = environ
        self.method = (environ.get("REQUEST_METHOD") or "GET").upper()
        # Proxies and WSGI servers hand PATH_INFO already percent-decoded; RAW_URI / REQUEST_URI
        # keep the original, which matters for model ids containing '/' (ARNs).
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
        raw_path = raw.split("?", 1)[0] if raw.startswith("/") else ""
        self.raw_path = raw_path or (environ.get("PATH_INFO") or "/")
        self.path = environ.get("PATH_INFO") or "/"
        self.query = _parse_qs(environ.get("QUERY_STRING") or "")
        self.region = _region(environ)
        self.surface = surface_of(environ)  # "bedrock" (bedrock + bedrock-runtime) or "mantle"
        self.partition = catalog.partition_of_region(self.region)
        self.user_arn: str | None = None
        self.account_id: str | None = None
        self.user_name: str | None = None
        self.key_partition: str | None = None
        self.operation: str | None = None  # set by urls.route (CloudTrail's eventName)

    def body(self) -> bytes:
        try:
            length = int(self.environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        stream = self.environ.get("wsgi.input")
        if stream is None:
            return b""
        if length > 0:
            data: bytes = stream.read(length)
            return data
        if self.environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" or self.environ.get("wsgi.input_terminated"):
            rest: bytes = stream.read()
            return rest
        return b""

    def json_body(self) -> dict[str, Any]:
        raw = self.body()
        try:
            data = json.loads(raw.decode("utf-8")) if raw.strip() else None
        except (UnicodeDecodeError, ValueError):
            data = None
        if not isinstance(data, dict):
            raise validation_error("Malformed input request, please reformat your input and try again.")
        return data


def _parse_qs(qs: str) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return {k: v for k, v in parse_qsl(qs, keep_blank_values=True)}


def surface_of(environ: dict[str, Any]) -> str:
    """``mantle`` for Mantle's host name (``bedrock-mantle.<region>.api.aws``) or, behind an endpoint
    override (one URL for every host), the ``x-emulator-surface: mantle`` header or a ``/v1/`` path
    on a host that is not bedrock's (bedrock and bedrock-runtime serve nothing under ``/v1/``: their
    OpenAI-compatible paths are ``/openai/v1/...``); else ``bedrock``."""
    host = environ.get("HTTP_HOST") or ""
    if _MANTLE_HOST.match(host):
        return "mantle"
    if (environ.get("HTTP_X_EMULATOR_SURFACE") or "").strip().lower() == "mantle":
        return "mantle"
    if not _AWS_HOST.match(host) and (environ.get("PATH_INFO") or "").startswith("/v1/"):
        return "mantle"
    return "bedrock"


def _region(environ: dict[str, Any]) -> str:
    host = environ.get("HTTP_HOST") or ""
    m = _AWS_HOST.match(host) or _MANTLE_HOST.match(host)
    if m:
        return m.group(1).lower()
    hdr = (environ.get("HTTP_X_EMULATOR_REGION") or "").strip().lower()
    if _REGION.match(hdr):
        return hdr
    return DEFAULT_REGION


# --------------------------------------------------------------------------- authentication
def _bearer(environ: dict[str, Any]) -> str | None:
    auth = (environ.get("HTTP_AUTHORIZATION") or "").strip()
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    return token or None


def authenticate(ctx: Ctx) -> None:
    from bedrock_key_audit.emulator.iam_ssc import lookup_bedrock_key

    token = _bearer(ctx.environ)
    if token is None:
        raise auth_failed()
    try:
        found = lookup_bedrock_key(token)
    except Exception:  # noqa: BLE001 -- a broken lookup must not turn into a 500 that echoes anything
        found = None
    del token
    if found is None or found.status != "Active":
        raise auth_failed()
    # IAM is per partition: a commercial key means nothing to a GovCloud endpoint.
    if found.partition != ctx.partition:
        raise auth_failed()
    ctx.user_arn = found.user_arn
    ctx.account_id = found.account_id
    ctx.user_name = found.user_name
    ctx.key_partition = found.partition


# --------------------------------------------------------------------------- authorization
SECURE_TRANSPORT = "true"


def _document(policy: Any) -> Any:
    """The JSON of a moto policy object as the user holds it (a managed policy's default version)."""
    from moto.iam.access_control import IAMPolicy

    try:
        return IAMPolicy(policy)._policy_json
    except (ValueError, TypeError, KeyError, AttributeError, StopIteration):
        return None  # a document IAM would have refused at creation


def request_context(ctx: Ctx, user_id: str | None = None) -> dict[str, Any]:
    """The condition keys AWS puts in the request context of a bearer call by an IAM user.

    ``aws:SecureTransport`` is ``true`` for every request, also over the emulator's plain-HTTP
    listener: AWS's Bedrock endpoints accept HTTPS only, so every bearer request AWS ever
    authorizes arrived over TLS; the plain-HTTP listener is the loopback stand-in for that
    HTTPS endpoint (botocore itself refuses to send a bearer token to a non-HTTPS URL).
    ``aws:CurrentTime``/``aws:EpochTime`` come from the emulator's movable clock; the key is a
    long-term key (the emulator issues no short-term ones), so ``bedrock:BearerTokenType`` is
    ``LONG_TERM``.  ``aws:ViaAWSService`` and ``aws:PrincipalIsAWSService`` are "always included"
    and false for a request the principal sends itself.  Keys: IAM User Guide, "AWS global condition context keys"
    (reference_policies_condition-keys.html); Bedrock: Service Authorization Reference.
    """
    from bedrock_key_audit.emulator import clock

    now = clock.now().astimezone(dt.timezone.utc).replace(microsecond=0)
    out: dict[str, Any] = {
        "bedrock:BearerTokenType": BEARER_TOKEN_TYPE,
        "aws:SecureTransport": SECURE_TRANSPORT,
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now.timestamp())),
        "aws:RequestedRegion": ctx.region,
        "aws:PrincipalArn": ctx.user_arn or "",
        "aws:PrincipalAccount": ctx.account_id or "",
        "aws:PrincipalType": "User",
        "aws:username": ctx.user_name or "",
        # the caller makes the request itself: no service calls on its behalf (no aws:CalledVia)
        "aws:ViaAWSService": "false",
        "aws:PrincipalIsAWSService": "false",
    }
    if ctx.surface == "mantle":
        # the Service Authorization Reference lists bedrock-mantle:BearerTokenType on bedrock-mantle:CallWithBearerToken
        # and bedrock:BearerTokenType on bedrock:CallWithBearerToken only: a Mantle request carries Mantle's key, not
        # Bedrock's, so an SCP condition on bedrock:BearerTokenType never matches there
        del out["bedrock:BearerTokenType"]
        out["bedrock-mantle:BearerTokenType"] = BEARER_TOKEN_TYPE
    if user_id:
        out["aws:userid"] = user_id
    # one notion of the caller's address: the one the emulator's CloudTrail events record
    # (``x-emulator-source-ip`` stands for the address AWS would see, else the socket's)
    from bedrock_key_audit.emulator.events import _source_ip
    from bedrock_key_audit.emulator.org_guard import org_id_of

    out["aws:SourceIp"] = _source_ip(ctx.environ)
    if (org := org_id_of(ctx.account_id)) is not None:
        out["aws:PrincipalOrgID"] = org
    return out


class _Policies:
    """The user's identity policies and boundary, read once per request from moto."""

    def __init__(self, ctx: Ctx) -> None:
        from moto.iam.access_control import IAMUserAccessKey
        from moto.iam.models import iam_backends

        account, partition, name = ctx.account_id, ctx.key_partition, ctx.user_name
        if account is None or partition is None or name is None:  # not authenticated
            raise auth_failed()
        backend = iam_backends[account][partition]
        user = backend.users.get(name)
        if user is None:  # deleted between lookup and now
            raise auth_failed()
        # moto's own collection (inline, attached, group inline and attached), without the
        # access-key lookup its constructor does.
        collector = IAMUserAccessKey.__new__(IAMUserAccessKey)
        collector.account_id = account
        collector.partition = partition
        collector._owner_user_name = name
        self.identity = [d for d in (_document(p) for p in collector.collect_policies()) if d is not None]
        self.boundary: list[Any] | None = None
        boundary_arn = getattr(user, "permissions_boundary_arn", None) or getattr(user, "permissions_boundary", None)
        if isinstance(boundary_arn, dict):
            boundary_arn = boundary_arn.get("PermissionsBoundaryArn")
        if isinstance(boundary_arn, str) and boundary_arn:
            try:
                doc = _document(backend.get_policy(boundary_arn))
                self.boundary = [doc] if doc is not None else []
            except Exception:  # noqa: BLE001 -- a missing boundary policy, whatever moto raises
                self.boundary = []  # a boundary naming a missing policy allows nothing
        self.context = request_context(ctx, getattr(user, "id", None))


def _authorize(ctx: Ctx, policies: _Policies, action: str, resource: str) -> None:
    """Policy evaluation logic (``bedrock_key_audit.emulator.iam_eval``), with AWS's denial messages."""
    from bedrock_key_audit.emulator import iam_eval

    on = "" if resource == "*" else f" on resource: {resource}"
    head = f"User: {ctx.user_arn} is not authorized to perform: {action}{on}"
    from bedrock_key_audit.emulator import org_guard

    d = iam_eval.decide(policies.identity, policies.boundary, action, resource, policies.context)
    scp = org_guard.refusal(org_guard.SCP, ctx.account_id or "", action, resource, policies.context)
    if scp is not None and d.reason != "identity-deny" and (d.allowed or "explicit deny" in scp):
        # an explicit deny in an SCP is named before a missing identity Allow (AWS names the deny)
        raise BedrockError(403, "AccessDeniedException", f"{head} {scp}")
    if d.allowed:
        return
    why = {
        "identity-deny": "with an explicit deny in an identity-based policy",
        "boundary-deny": "with an explicit deny in a permissions boundary",
        "no-identity-allow": f"because no identity-based policy allows the {action} action",
        "no-boundary-allow": f"because no permissions boundary allows the {action} action",
    }[d.reason]
    raise BedrockError(403, "AccessDeniedException", f"{head} {why}")


def authorize_all(ctx: Ctx, action: str, resources: list[str]) -> None:
    """The surface's ``CallWithBearerToken`` on ``*`` (each endpoint has its own: "Control permissions
    for generating and using Amazon Bedrock API keys"), then ``action`` on every resource."""
    policies = _Policies(ctx)
    _authorize(ctx, policies, BEARER_ACTIONS[ctx.surface], "*")
    for r in resources:
        _authorize(ctx, policies, action, r)


# --------------------------------------------------------------------------- identifiers
def model_from_identifier(ctx: Ctx, ident: str) -> catalog.FoundationModel | None:
    m = re.fullmatch(r"arn:([a-z-]+):bedrock:([a-z0-9-]+)::foundation-model/(.+)", ident)
    if m:
        if m.group(1) != ctx.partition or m.group(2) != ctx.region:
            return None
        ident = m.group(3)
    return catalog.model(ident, ctx.region)


def profile_from_identifier(ctx: Ctx, ident: str) -> catalog.InferenceProfile | None:
    m = re.fullmatch(r"arn:([a-z-]+):bedrock:([a-z0-9-]+):(\d{12}):inference-profile/(.+)", ident)
    if m:
        if m.group(1) != ctx.partition or m.group(2) != ctx.region or m.group(3) != ctx.account_id:
            return None
        ident = m.group(4)
    return catalog.profile(ident, ctx.region)


def resolve_runtime_model(ctx: Ctx, ident: str) -> tuple[catalog.FoundationModel, list[str], bool]:
    """(model, resources to authorize, via_profile) or ValidationException for an unknown identifier."""
    model = model_from_identifier(ctx, ident)
    if model is not None:
        return model, [model.arn(ctx.partition, ctx.region)], False
    prof = profile_from_identifier(ctx, ident)
    if prof is not None:
        return prof.model, [prof.arn(ctx.region, ctx.account_id or ""), *prof.model_arns()], True
    raise validation_error(INVALID_MODEL_MESSAGE)
