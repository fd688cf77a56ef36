"""Amazon Bedrock powered by AWS Mantle (``bedrock-mantle.<region>.api.aws``) answering long-term API keys.

Sources (Amazon Bedrock User Guide): "Endpoints supported by Amazon Bedrock"
(https://docs.aws.amazon.com/bedrock/latest/userguide/endpoints.html: Mantle serves the
OpenAI-compatible Responses and Chat Completions APIs and Anthropic's Messages API), "Responses API"
(https://docs.aws.amazon.com/bedrock/latest/userguide/inference-responses-api.html: base URL
``https://bedrock-mantle.<region>.api.aws/v1``), "Get list of models"
(https://docs.aws.amazon.com/bedrock/latest/userguide/models-get-info.html: the OpenAI-compatible
``/models`` lists Mantle's models), "Control permissions for generating and using Amazon Bedrock API
keys" (https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys-permissions.html: a key call to
Mantle is admitted by ``bedrock-mantle:CallWithBearerToken``), and the Service Authorization
Reference, "Actions, resources, and condition keys for Amazon Bedrock Powered by AWS Mantle"
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_bedrock-mantle.html:
``ListModels`` and ``CreateInference`` on ``arn:<partition>:bedrock-mantle:<region>:<account>:project/<id>``;
a request without a project uses the ``default`` project, "MantleFoundationModelModelConfiguration").

Served: ``GET /v1/models``, ``POST /v1/chat/completions``, ``POST /v1/responses`` and
``POST /anthropic/v1/messages`` (the shapes are OpenAI's and Anthropic's public API shapes, reduced
to the fields a client reads).  Authorization: ``bedrock-mantle:CallWithBearerToken`` on ``*``, then
``bedrock-mantle:ListModels`` / ``bedrock-mantle:CreateInference`` on the project the request names
(``OpenAI-Project``, else the default project; :func:`project_id`), by the
emulator's own evaluator (``models.authorize_all``).  Not confirmed by the pages above, so chosen
here: the error bodies and denial messages are bedrock-runtime's (``{"message": ...}`` with
``x-amzn-ErrorType``), model ids are the emulator catalog's, and Mantle calls leave no CloudTrail
event (what Mantle writes to CloudTrail is not documented there).
"""
from __future__ import annotations

import re
import time
import uuid
from typing import Any

from bedrock_key_audit.emulator import bedrock_catalog as catalog
from bedrock_key_audit.emulator.bedrock.exceptions import BedrockError, validation_error
from bedrock_key_audit.emulator.bedrock.models import Ctx, authorize_all

DEFAULT_PROJECT = "default"


# OpenAI's API names a request's project by the ``OpenAI-Project`` header (what the OpenAI SDK sends for
# its ``project`` option); the Amazon Bedrock pages on projects ("Projects API",
# https://docs.aws.amazon.com/bedrock/latest/userguide/projects.html; "IAM policies for Amazon Bedrock
# Projects", https://docs.aws.amazon.com/bedrock/latest/userguide/security-iam-projects.html) say every
# request without a project runs in the account's ``default`` project and show project ids such as
# ``proj_abc123``, but do not name the header: taken here from the OpenAI-compatible contract.
PROJECT_HEADER = "HTTP_OPENAI_PROJECT"
_PROJECT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def project_id(ctx: Ctx) -> str:
    """The project a request names (``OpenAI-Project``), else ``default``; an id that is not one is refused."""
    named = (ctx.environ.get(PROJECT_HEADER) or "").strip()
    if not named:
        return DEFAULT_PROJECT
    if not _PROJECT_ID.match(named):
        raise validation_error("OpenAI-Project is not a project id")
    return named


def project_arn(ctx: Ctx) -> str:
    return f"arn:{ctx.partition}:bedrock-mantle:{ctx.region}:{ctx.account_id or ''}:project/{project_id(ctx)}"


def _model(ctx: Ctx, body: dict[str, Any]) -> catalog.FoundationModel:
    ident = body.get("model")
    if not isinstance(ident, str) or not ident:
        raise validation_error("model is required")
    model = catalog.model(ident, ctx.region)
    if model is None or "TEXT" not in model.output_modalities:
        raise BedrockError(404, "ResourceNotFoundException", f"The model {ident[:100]} does not exist.")
    return model


def content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(b.get("text")) for b in content if isinstance(b, dict) and isinstance(b.get("text"), str))
    return ""


def _answer(model: catalog.FoundationModel, max_tokens: Any) -> tuple[str, int]:
    text = f"Hello from {model.provider} {model.name} (emulated, bedrock-mantle)."
    limit = max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else None
    if limit is not None:
        text = text[: limit * 4]
    return text, max(1, len(text) // 4)


def list_models(ctx: Ctx) -> dict[str, Any]:
    authorize_all(ctx, "bedrock-mantle:ListModels", [project_arn(ctx)])
    return {"object": "list", "data": [
        {"id": m.model_id, "object": "model", "created": 0, "owned_by": m.provider.lower()}
        for m in catalog.models_in(ctx.region) if "TEXT" in m.output_modalities]}


def _inference(ctx: Ctx) -> tuple[dict[str, Any], catalog.FoundationModel]:
    body = ctx.json_body()
    authorize_all(ctx, "bedrock-mantle:CreateInference", [project_arn(ctx)])
    return body, _model(ctx, body)


def chat_completions(ctx: Ctx) -> dict[str, Any]:
    body, model = _inference(ctx)
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise validation_error("messages must be a non-empty array")
    prompt = " ".join(content_text(m.get("content")) for m in body["messages"] if isinstance(m, dict))
    text, out = _answer(model, body.get("max_completion_tokens", body.get("max_tokens")))
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": model.model_id,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": max(1, len(prompt) // 4), "completion_tokens": out,
                      "total_tokens": max(1, len(prompt) // 4) + out}}


def responses(ctx: Ctx) -> dict[str, Any]:
    body, model = _inference(ctx)
    if body.get("input") in (None, "", []):
        raise validation_error("input is required")
    text, out = _answer(model, body.get("max_output_tokens"))
    return {"id": f"resp_{uuid.uuid4().hex}", "object": "response", "created_at": int(time.time()),
            "status": "completed", "model": model.model_id,
            "output": [{"type": "message", "id": f"msg_{uuid.uuid4().hex}", "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": text, "annotations": []}]}],
            "usage": {"input_tokens": 1, "output_tokens": out, "total_tokens": 1 + out}}


def anthropic_messages(ctx: Ctx) -> dict[str, Any]:
    body, model = _inference(ctx)
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise validation_error("messages: field required")
    if not isinstance(body.get("max_tokens"), int):
        raise validation_error("max_tokens: field required")
    text, out = _answer(model, body["max_tokens"])
    return {"id": f"msg_{uuid.uuid4().hex}", "type": "message", "role": "assistant", "model": model.model_id,
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": out}}


# method, path -> (operation name, handler)
ROUTES = {
    ("GET", "/v1/models"): ("ListModels", list_models),
    ("POST", "/v1/chat/completions"): ("CreateChatCompletion", chat_completions),
    ("POST", "/v1/responses"): ("CreateResponse", responses),
    ("POST", "/anthropic/v1/messages"): ("CreateMessage", anthropic_messages),
}


def route(ctx: Ctx) -> dict[str, Any]:
    path = ctx.path.rstrip("/") or "/"
    found = ROUTES.get((ctx.method, path))
    if found is None:
        raise BedrockError(404, "UnknownOperationException", "The requested operation is not recognized by the service.")
    ctx.operation, handler = found
    return handler(ctx)
