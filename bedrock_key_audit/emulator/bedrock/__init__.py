"""Amazon Bedrock (control plane + runtime) answering long-term API keys, as a WSGI app.

The emulator's dispatcher (``server.py``) sends every ``Authorization: Bearer …`` request
here; ``bedrock_app`` never sees SigV4.  Control plane and runtime share one port (all
``AWS_ENDPOINT_URL_*`` name the same URL), so they are told apart by path:
``/foundation-models*`` and ``/inference-profiles*`` are ``bedrock``, ``/model/…`` is
``bedrock-runtime``.

Served (shapes from botocore's ``bedrock`` / ``bedrock-runtime`` service models):

* ``GET /foundation-models`` (``byProvider``, ``byCustomizationType``, ``byOutputModality``,
  ``byInferenceType``), ``GET /foundation-models/{modelIdentifier}``;
* ``GET /inference-profiles`` (``maxResults``, ``nextToken``, ``type``),
  ``GET /inference-profiles/{inferenceProfileIdentifier}``;
* ``POST /model/{modelId}/invoke`` and ``POST /model/{modelId}/converse`` (modelId: model id,
  model ARN, inference-profile id or ARN, URL-encoded or not).  Streaming variants are not
  served (404 ``UnknownOperationException``).

Region: the ``Host`` when it is an AWS host name (``bedrock[-runtime][-fips].<region>.
amazonaws.com``), else the ``x-emulator-region`` header, else ``us-east-1``.  The region
fixes the partition: a key of the other partition fails authentication, as it would in AWS
(IAM is per partition).

Order of a request: faults (``faults.py``) -> authentication (the key) -> route ->
identifier validation -> authorization -> on-demand check -> answer.

Authentication failures (no/empty bearer, malformed, unknown, reset or deleted key, user
gone, Inactive, Expired, wrong partition) all give one answer, AWS's *(third-party fact)*::

    403 x-amzn-ErrorType: AccessDeniedException
    {"Message": "Authentication failed: Please make sure your API Key is valid."}

Authorization: the key's IAM user must be allowed ``bedrock:CallWithBearerToken`` (resource
``*``: the action has no resource type) and the operation's action on its resource, by the
identity policies moto holds for that user (inline, attached managed -- default version --,
and its groups' inline and attached), and by its permissions boundary when moto stores one.
Evaluation is the emulator's own (``bedrock_key_audit.emulator.iam_eval``: AWS's policy evaluation
logic with every condition operator), over the request context of ``request_context``.
Refusal::

    403 x-amzn-ErrorType: AccessDeniedException
    {"message": "User: arn:aws:iam::123456789012:user/u is not authorized to perform:
     bedrock:InvokeModel on resource: arn:… because no identity-based policy allows the
     bedrock:InvokeModel action"}      (or "with an explicit deny in an identity-based policy")

Through an inference profile, ``InvokeModel`` is checked on the profile ARN and on the
foundation-model ARN of every region the profile routes to (AWS's documented requirement:
a policy missing one region fails whenever the request is routed there; checking all of
them makes that deterministic).

Every error is ``{"message": …}`` (``Message`` for the authentication failure, as AWS) with
``x-amzn-ErrorType``, so botocore raises the right ``ClientError`` code.  The key is never
echoed, logged or stored: the call log (``faults.calls()``) keeps method, path, status,
duration, error type and the user ARN.

Layout (after moto's services): ``models`` (request state, key lookup, authorization,
identifiers), ``responses`` (the operation handlers and their JSON answers), ``urls`` (the
routing table), ``app`` (the WSGI entry point; ``app.finish_call`` is where every bearer call
ends), ``exceptions``, ``tls`` (the HTTPS listener) and ``client`` (the region header).
This module re-exports the names other code imports from ``bedrock_key_audit.emulator.bedrock``.
"""
from __future__ import annotations

from bedrock_key_audit.emulator.bedrock.app import bedrock_app, finish_call
from bedrock_key_audit.emulator.bedrock.client import attach_region_header
from bedrock_key_audit.emulator.bedrock.exceptions import (
    AUTH_FAILED_MESSAGE,
    CONVERSE_UNSUPPORTED,
    INVALID_MODEL_MESSAGE,
    ON_DEMAND_MESSAGE,
    BedrockError,
)
from bedrock_key_audit.emulator.bedrock.models import (
    BEARER_TOKEN_TYPE,
    DEFAULT_REGION,
    REGION_HEADER,
    SECURE_TRANSPORT,
    Ctx,
    request_context,
)
from bedrock_key_audit.emulator.bedrock.responses import (
    converse,
    get_foundation_model,
    get_inference_profile,
    invoke_model,
    list_foundation_models,
    list_inference_profiles,
)
from bedrock_key_audit.emulator.bedrock.tls import TlsListener
from bedrock_key_audit.emulator.bedrock.urls import (
    BEDROCK_PATH_PREFIXES,
    is_bedrock_request,
    route,
)

__all__ = [
    "AUTH_FAILED_MESSAGE", "BEARER_TOKEN_TYPE", "BEDROCK_PATH_PREFIXES", "CONVERSE_UNSUPPORTED", "DEFAULT_REGION",
    "INVALID_MODEL_MESSAGE", "ON_DEMAND_MESSAGE", "REGION_HEADER", "SECURE_TRANSPORT", "BedrockError", "Ctx",
    "TlsListener", "attach_region_header", "bedrock_app", "converse", "finish_call", "get_foundation_model",
    "get_inference_profile", "invoke_model", "is_bedrock_request", "list_foundation_models",
    "list_inference_profiles", "request_context", "route",
]
