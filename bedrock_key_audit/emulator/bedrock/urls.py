"""The routing table of the emulated Bedrock: which handler answers which method and path.

Control plane and runtime share one port (all ``AWS_ENDPOINT_URL_*`` name the same URL), so
they are told apart by path: ``/foundation-models*`` and ``/inference-profiles*`` are
``bedrock``, ``/model/…`` and ``/openai/v1/…`` (its OpenAI-compatible API) are ``bedrock-runtime``.  ``route`` names the operation it chose in
``ctx.operation`` (the API operation name, as CloudTrail's ``eventName``) before the handler runs.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from bedrock_key_audit.emulator.bedrock import responses, runtime_openai
from bedrock_key_audit.emulator.bedrock.exceptions import BedrockError
from bedrock_key_audit.emulator.bedrock.models import Ctx

Answer = tuple[dict[str, Any], dict[str, str]]

_MODEL_ROUTE = re.compile(r"^/model/(?P<model>.+)/(?P<op>invoke|converse|invoke-with-response-stream|converse-stream)$")


def _converse(ctx: Ctx, ident: str) -> Answer:
    return responses.converse(ctx, ident), {}


# POST /model/{modelId}/{op}, matched on the raw (still percent-encoded) path so that the '/'
# of a model ARN stays inside the identifier.  Streaming operations are not served.
MODEL_OPERATIONS: dict[str, tuple[str, Callable[[Ctx, str], Answer]]] = {
    "invoke": ("InvokeModel", responses.invoke_model),
    "converse": ("Converse", _converse),
}
# GET on the exact (decoded) path.
LIST_OPERATIONS: dict[str, tuple[str, Callable[[Ctx], dict[str, Any]]]] = {
    "/foundation-models": ("ListFoundationModels", responses.list_foundation_models),
    "/inference-profiles": ("ListInferenceProfiles", responses.list_inference_profiles),
}
# GET on a prefix of the raw path followed by an identifier.
GET_OPERATIONS: tuple[tuple[str, str, Callable[[Ctx, str], dict[str, Any]]], ...] = (
    ("/foundation-models/", "GetFoundationModel", responses.get_foundation_model),
    ("/inference-profiles/", "GetInferenceProfile", responses.get_inference_profile),
)


def route(ctx: Ctx) -> Answer:
    """The answer (body, extra headers) of the operation the request names, or 404 ``UnknownOperationException``."""
    if ctx.surface == "mantle":
        from bedrock_key_audit.emulator.bedrock import mantle

        return mantle.route(ctx), {}
    path = ctx.path.rstrip("/") or "/"
    if runtime_openai.is_openai_path(path):
        return runtime_openai.route(ctx), {}
    raw = ctx.raw_path.rstrip("/") or "/"
    m = _MODEL_ROUTE.match(raw)
    if m and ctx.method == "POST":
        ident = unquote(m.group("model"))
        op = m.group("op")
        if op in MODEL_OPERATIONS:
            ctx.operation, invoke = MODEL_OPERATIONS[op]
            return invoke(ctx, ident)
        raise BedrockError(404, "UnknownOperationException",
                           f"The emulator does not serve {op} (response streams).")
    if ctx.method == "GET":
        if path in LIST_OPERATIONS:
            ctx.operation, lister = LIST_OPERATIONS[path]
            return lister(ctx), {}
        for prefix, operation, getter in GET_OPERATIONS:
            if raw.startswith(prefix):
                ident = unquote(raw[len(prefix):])
                if ident:
                    ctx.operation = operation
                    return getter(ctx, ident), {}
    raise BedrockError(404, "UnknownOperationException", "The requested operation is not recognized by the service.")


BEDROCK_PATH_PREFIXES = ("/foundation-models", "/inference-profiles", "/model/", "/openai/v1")


def is_bedrock_request(environ: dict[str, Any]) -> bool:
    """Should the one-port dispatcher send this request to ``bedrock_app``?

    Yes for any ``Bearer`` scheme, with or without a token (``Authorization: Bearer`` alone
    must get Bedrock's 403, not a moto 500), and for a request with no credentials at all on a
    Bedrock path (AWS answers those 403 too).  SigV4 (header or presigned query) stays moto's.
    """
    auth = (environ.get("HTTP_AUTHORIZATION") or "").strip()
    scheme = auth.split(None, 1)[0].lower() if auth else ""
    if scheme == "bearer":
        return True
    if scheme or "x-amz-credential=" in (environ.get("QUERY_STRING") or "").lower():
        return False
    from bedrock_key_audit.emulator.bedrock.models import surface_of

    if surface_of(environ) == "mantle":  # Mantle's host name or the surface header: every path is Mantle's
        return True
    return (environ.get("PATH_INFO") or "").startswith(BEDROCK_PATH_PREFIXES)
