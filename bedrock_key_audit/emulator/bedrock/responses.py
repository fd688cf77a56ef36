"""The handlers of the emulated Bedrock operations, and the JSON answers they produce.

Each handler takes the authenticated request (``models.Ctx``), validates its parameters,
authorizes the operation's action on its resources (``models.authorize_all``) and returns the
response body (shapes from botocore's ``bedrock`` / ``bedrock-runtime`` service models).
"""
from __future__ import annotations

import json
import math
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from bedrock_key_audit.emulator import bedrock_catalog as catalog
from bedrock_key_audit.emulator.bedrock.exceptions import (
    CONVERSE_UNSUPPORTED,
    ON_DEMAND_MESSAGE,
    BedrockError,
    malformed_error,
    validation_error,
)
from bedrock_key_audit.emulator.bedrock.models import (
    Ctx,
    authorize_all,
    model_from_identifier,
    profile_from_identifier,
    resolve_runtime_model,
)

_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
            424: "Failed Dependency", 429: "Too Many Requests", 500: "Internal Server Error",
            503: "Service Unavailable"}


# --------------------------------------------------------------------------- control plane
def _enum_param(ctx: Ctx, name: str, allowed: tuple[str, ...]) -> str | None:
    v = ctx.query.get(name)
    if v is None:
        return None
    if v not in allowed:
        raise validation_error(f"1 validation error detected: Value '{v}' at '{name}' failed to satisfy constraint: "
                          f"Member must satisfy enum value set: [{', '.join(allowed)}]")
    return v


def list_foundation_models(ctx: Ctx) -> dict[str, Any]:
    by_provider = ctx.query.get("byProvider")
    if by_provider is not None and not re.fullmatch(r"[A-Za-z0-9- ]{1,63}", by_provider):
        raise validation_error(f"1 validation error detected: Value '{by_provider[:64]}' at 'byProvider' failed to "
                          "satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9- ]{1,63}")
    by_custom = _enum_param(ctx, "byCustomizationType", catalog.CUSTOMIZATION_TYPES)
    by_output = _enum_param(ctx, "byOutputModality", catalog.MODALITIES)
    by_inference = _enum_param(ctx, "byInferenceType", catalog.INFERENCE_TYPES)
    authorize_all(ctx, "bedrock:ListFoundationModels", ["*"])
    out = []
    for m in catalog.models_in(ctx.region):
        # byProvider is case-insensitive in AWS ("anthropic" and "Anthropic" both work).
        if by_provider is not None and m.provider.lower() != by_provider.lower():
            continue
        if by_custom is not None and by_custom not in m.customizations:
            continue
        if by_output is not None and by_output not in m.output_modalities:
            continue
        if by_inference is not None and by_inference not in m.inference_types:
            continue
        out.append(m.summary(ctx.partition, ctx.region))
    return {"modelSummaries": out}


def get_foundation_model(ctx: Ctx, ident: str) -> dict[str, Any]:
    model = model_from_identifier(ctx, ident)
    if model is None:
        # No resource to authorize against: the lookup failure is the answer.
        raise BedrockError(404, "ResourceNotFoundException", "The specified model identifier is not found.")
    authorize_all(ctx, "bedrock:GetFoundationModel", [model.arn(ctx.partition, ctx.region)])
    return {"modelDetails": model.summary(ctx.partition, ctx.region)}


def _int_param(ctx: Ctx, name: str, lo: int, hi: int) -> int | None:
    v = ctx.query.get(name)
    if v is None:
        return None
    try:
        n = int(v)
    except ValueError:
        raise validation_error(f"1 validation error detected: Value '{v[:32]}' at '{name}' failed to satisfy "
                          "constraint: Member must be a number") from None
    if not lo <= n <= hi:
        rel = f"greater than or equal to {lo}" if n < lo else f"less than or equal to {hi}"
        raise validation_error(f"1 validation error detected: Value '{n}' at '{name}' failed to satisfy constraint: "
                          f"Member must have value {rel}")
    return n


def _encode_token(region: str, offset: int) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps({"r": region, "o": offset}).encode()).decode()


def _decode_token(region: str, token: str) -> int:
    import base64
    import binascii

    try:
        d = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
        if d["r"] == region and isinstance(d["o"], int) and d["o"] >= 0:
            return d["o"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        pass
    raise validation_error("The pagination token is invalid.")


def list_inference_profiles(ctx: Ctx) -> dict[str, Any]:
    max_results = _int_param(ctx, "maxResults", 1, 1000)
    type_eq = _enum_param(ctx, "type", catalog.PROFILE_TYPES)
    token = ctx.query.get("nextToken")
    start = _decode_token(ctx.region, token) if token else 0
    authorize_all(ctx, "bedrock:ListInferenceProfiles", ["*"])
    # The emulator has no application inference profiles (CreateInferenceProfile is not served).
    profiles = [] if type_eq == "APPLICATION" else catalog.profiles_in(ctx.region)
    size = max_results or 1000
    page = profiles[start:start + size]
    out: dict[str, Any] = {"inferenceProfileSummaries": [p.summary(ctx.region, ctx.account_id or "") for p in page]}
    if start + size < len(profiles):
        out["nextToken"] = _encode_token(ctx.region, start + size)
    return out


def get_inference_profile(ctx: Ctx, ident: str) -> dict[str, Any]:
    p = profile_from_identifier(ctx, ident)
    if p is None:
        raise BedrockError(404, "ResourceNotFoundException", "Inference profile not found.")
    authorize_all(ctx, "bedrock:GetInferenceProfile", [p.arn(ctx.region, ctx.account_id or "")])
    return p.summary(ctx.region, ctx.account_id or "")


# --------------------------------------------------------------------------- runtime
def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


def _truncate_to_tokens(text: str, n: int) -> str:
    return text[: max(1, n * 4)]


def _reply(model: catalog.FoundationModel, prompt: str) -> str:
    words = prompt.split()
    about = " ".join(words[:8]) + ("…" if len(words) > 8 else "")
    return (f"Hello! This is {model.provider} {model.name} (emulated) answering your message"
            + (f": \"{about}\"." if about else "."))


def _runtime_common(ctx: Ctx, ident: str) -> tuple[catalog.FoundationModel, float]:
    model, resources, via_profile = resolve_runtime_model(ctx, ident)
    authorize_all(ctx, "bedrock:InvokeModel", resources)
    if not via_profile and not model.on_demand:
        raise validation_error(ON_DEMAND_MESSAGE.format(model_id=model.model_id))
    return model, time.perf_counter()


def _text_of_blocks(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                parts.append(block["text"])
    return " ".join(parts)


def invoke_model(ctx: Ctx, ident: str) -> tuple[dict[str, Any], dict[str, str]]:
    body = ctx.json_body()
    model, t0 = _runtime_common(ctx, ident)
    fam = model.family
    if fam == "anthropic":
        for key in ("anthropic_version", "max_tokens", "messages"):
            if key not in body:
                raise malformed_error(f"#: required key [{key}] not found")
        msgs = body["messages"]
        max_tokens = body["max_tokens"]
        if not isinstance(msgs, list) or not msgs or not all(isinstance(m, dict) for m in msgs):
            raise malformed_error("#/messages: expected a non-empty array of objects")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise malformed_error("#/max_tokens: expected minimum: 1")
        if msgs[0].get("role") != "user":
            raise validation_error("messages: first message must use the \"user\" role")
        prompt = _text_of_blocks(msgs[-1].get("content"))
        text = _reply(model, prompt)
        in_tok = sum(_tokens(_text_of_blocks(m.get("content"))) for m in msgs)
        out_tok = _tokens(text)
        stop = "end_turn"
        if out_tok > max_tokens:
            text, out_tok, stop = _truncate_to_tokens(text, max_tokens), max_tokens, "max_tokens"
        resp: dict[str, Any] = {
            "id": "msg_bdrk_" + uuid.uuid4().hex[:24],
            "type": "message",
            "role": "assistant",
            "model": model.model_id.removeprefix("anthropic.").rsplit("-v", 1)[0],
            "content": [{"type": "text", "text": text}],
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": {"input_tokens": in_tok, "output_tokens": out_tok},
        }
    elif fam == "nova":
        msgs = body.get("messages")
        if not isinstance(msgs, list) or not msgs:
            raise malformed_error("required key [messages] not found")
        prompt = _text_of_blocks(msgs[-1].get("content") if isinstance(msgs[-1], dict) else None)
        text = _reply(model, prompt)
        in_tok, out_tok = _tokens(prompt), _tokens(text)
        resp = {"output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": in_tok, "outputTokens": out_tok, "totalTokens": in_tok + out_tok}}
    elif fam == "titan-text":
        given = body.get("inputText")
        if not isinstance(given, str) or not given:
            raise malformed_error("#: required key [inputText] not found")
        prompt = given
        text = _reply(model, prompt)
        in_tok, out_tok = _tokens(prompt), _tokens(text)
        resp = {"inputTextTokenCount": in_tok,
                "results": [{"tokenCount": out_tok, "outputText": text, "completionReason": "FINISH"}]}
    elif fam == "titan-embed":
        given = body.get("inputText")
        if not isinstance(given, str) or not given:
            raise malformed_error("#: required key [inputText] not found")
        prompt = given
        dims = body.get("dimensions", 1024)
        if dims not in (256, 512, 1024):
            raise malformed_error("#/dimensions: 256, 512 or 1024 expected")
        seed = sum(prompt.encode())
        in_tok, out_tok = _tokens(prompt), 0
        resp = {"embedding": [round(math.sin(seed + i) / 10, 6) for i in range(dims)], "inputTextTokenCount": in_tok}
    elif fam == "llama":
        given = body.get("prompt")
        if not isinstance(given, str) or not given:
            raise malformed_error("#: required key [prompt] not found")
        prompt = given
        text = _reply(model, prompt)
        in_tok, out_tok = _tokens(prompt), _tokens(text)
        resp = {"generation": text, "prompt_token_count": in_tok, "generation_token_count": out_tok,
                "stop_reason": "stop"}
    else:  # titan-image: no image generation in the emulator
        raise validation_error("The emulator does not generate images.")
    latency = max(1, round((time.perf_counter() - t0) * 1000))
    headers = {"X-Amzn-Bedrock-Input-Token-Count": str(in_tok),
               "X-Amzn-Bedrock-Output-Token-Count": str(out_tok),
               "X-Amzn-Bedrock-Invocation-Latency": str(latency)}
    return resp, headers


def converse(ctx: Ctx, ident: str) -> dict[str, Any]:
    body = ctx.json_body()
    model, t0 = _runtime_common(ctx, ident)
    if "TEXT" not in model.output_modalities:
        raise validation_error(CONVERSE_UNSUPPORTED)
    msgs = body.get("messages")
    if msgs is None:
        raise validation_error("1 validation error detected: Value null at 'messages' failed to satisfy constraint: "
                          "Member must not be null")
    if not isinstance(msgs, list) or not msgs or not all(isinstance(m, dict) for m in msgs):
        raise validation_error("The model returned the following errors: messages must be a non-empty list of messages")
    if msgs[0].get("role") != "user":
        raise validation_error("A conversation must start with a user message. Try again with a conversation "
                          "that starts with a user message.")
    for i, m in enumerate(msgs):
        if m.get("role") not in ("user", "assistant") or not isinstance(m.get("content"), list) or not m["content"]:
            raise validation_error(f"The value at messages.{i} is invalid: a message needs a role "
                              "(user|assistant) and a non-empty content list.")
        if i and m.get("role") == msgs[i - 1].get("role"):
            raise validation_error("A conversation must alternate between user and assistant roles. Make sure the "
                              "conversation alternates between user and assistant roles and try again.")
    cfg = body.get("inferenceConfig") or {}
    max_tokens = cfg.get("maxTokens") if isinstance(cfg, dict) else None
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1):
        raise validation_error(f"1 validation error detected: Value '{max_tokens}' at 'inferenceConfig.maxTokens' "
                          "failed to satisfy constraint: Member must have value greater than or equal to 1")
    system = _text_of_blocks(body.get("system")) if isinstance(body.get("system"), list) else ""
    prompt = _text_of_blocks(msgs[-1]["content"])
    text = _reply(model, prompt)
    in_tok = _tokens(system) + sum(_tokens(_text_of_blocks(m["content"])) for m in msgs)
    out_tok = _tokens(text)
    stop = "end_turn"
    if max_tokens is not None and out_tok > max_tokens:
        text, out_tok, stop = _truncate_to_tokens(text, max_tokens), max_tokens, "max_tokens"
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop,
        "usage": {"inputTokens": in_tok, "outputTokens": out_tok, "totalTokens": in_tok + out_tok},
        "metrics": {"latencyMs": max(1, round((time.perf_counter() - t0) * 1000))},
    }


# --------------------------------------------------------------------------- answers
def json_response(start_response: Callable[..., Any], status: int, body: Any, headers: dict[str, str] | None = None,
                   error_type: str | None = None) -> list[bytes]:
    data = json.dumps(body).encode()
    hdrs = [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
            ("x-amzn-RequestId", str(uuid.uuid4()))]
    if error_type:
        hdrs.append(("x-amzn-ErrorType", error_type))
    hdrs += list((headers or {}).items())
    start_response(f"{status} {_REASONS.get(status, '')}".strip(), hdrs)
    return [data]


def error_response(start_response: Callable[..., Any], err: BedrockError, openai: bool = False) -> list[bytes]:
    """The refusal's body: bedrock-runtime's ``{"message": ...}``, or OpenAI's error shape on ``/openai/v1``."""
    from bedrock_key_audit.redaction import redact_text

    # Messages may quote request values (a filter, a model id): never let a key-shaped one out.
    message = redact_text(err.message)
    if openai:
        from bedrock_key_audit.emulator.bedrock.runtime_openai import error_body

        return json_response(start_response, err.status, error_body(err, message), error_type=err.error_type)
    return json_response(start_response, err.status, {err.message_key: message}, error_type=err.error_type)
