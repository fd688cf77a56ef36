"""bedrock-runtime's OpenAI-compatible Chat Completions API (``POST /openai/v1/chat/completions``).

Sources (Amazon Bedrock User Guide): "Invoke a model with the OpenAI Chat Completions API"
(https://docs.aws.amazon.com/bedrock/latest/userguide/inference-chat-completions.html: the base URL is
``https://bedrock-runtime.<region>.amazonaws.com/openai/v1``, the API key is the OpenAI client's
``api_key``, the Create chat completion API serves the OpenAI models Bedrock offers, e.g.
``openai.gpt-oss-20b-1:0``, and no other Chat Completions operation is supported); "Making inference
requests" (https://docs.aws.amazon.com/bedrock/latest/userguide/inference.html) and "Control permissions
for generating and using Amazon Bedrock API keys"
(https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys-permissions.html): the call is
authorized like Converse, ``bedrock:CallWithBearerToken`` then ``bedrock:InvokeModel`` on the model.

Not confirmed by those pages, so chosen here: errors answer in OpenAI's error shape
(``{"error": {"message", "type", "param", "code"}}``) carrying bedrock-runtime's messages and status
codes; a non-OpenAI model is refused with 400 as an unsupported model.
"""
from __future__ import annotations

import time
import uuid
from typing import Any

from bedrock_key_audit.emulator.bedrock.exceptions import BedrockError, validation_error
from bedrock_key_audit.emulator.bedrock.mantle import content_text
from bedrock_key_audit.emulator.bedrock.models import Ctx, authorize_all, resolve_runtime_model

PREFIX = "/openai/v1"
CHAT_PATH = f"{PREFIX}/chat/completions"


def is_openai_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def chat_completions(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json_body()
    ident = body.get("model")
    if not isinstance(ident, str) or not ident:
        raise validation_error("model is required")
    model, resources, via_profile = resolve_runtime_model(ctx, ident)
    authorize_all(ctx, "bedrock:InvokeModel", resources)
    if model.family != "openai":
        raise validation_error(f"The model {model.model_id} is not supported by the Chat Completions API on this "
                               "endpoint; use an OpenAI model or Converse.")
    if not via_profile and not model.on_demand:
        raise validation_error(f"Invocation of model ID {model.model_id} with on-demand throughput isn't supported.")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise validation_error("messages must be a non-empty array of message objects")
    prompt = " ".join(content_text(m.get("content")) for m in messages)
    text = f"Hello from {model.provider} {model.name} (emulated, bedrock-runtime /openai/v1)."
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    finish = "stop"
    if isinstance(limit, int) and not isinstance(limit, bool):
        if limit < 1:
            raise validation_error("max_tokens must be at least 1")
        if len(text) > limit * 4:
            text, finish = text[: limit * 4], "length"
    p_tok, c_tok = max(1, len(prompt) // 4), max(1, len(text) // 4)
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": model.model_id,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
            "usage": {"prompt_tokens": p_tok, "completion_tokens": c_tok, "total_tokens": p_tok + c_tok}}


def route(ctx: Ctx) -> dict[str, Any]:
    path = ctx.path.rstrip("/")
    if ctx.method == "POST" and path == CHAT_PATH:
        ctx.operation = "CreateChatCompletion"
        return chat_completions(ctx)
    raise BedrockError(404, "UnknownOperationException", "The requested operation is not recognized by the service.")


_OPENAI_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_denied",
                 404: "not_found_error", 429: "rate_limit_error"}


def error_body(err: BedrockError, message: str) -> dict[str, Any]:
    """OpenAI's error shape for a refusal on ``/openai/v1`` (the message is bedrock-runtime's)."""
    return {"error": {"message": message, "type": _OPENAI_TYPES.get(err.status, "api_error"), "param": None,
                      "code": err.error_type}}
