"""bedrock-runtime's OpenAI-compatible Chat Completions (``POST /openai/v1/chat/completions``): bearer
authorization by the emulator's own evaluator on ``bedrock:CallWithBearerToken`` and ``bedrock:InvokeModel``
(as Converse), OpenAI-shaped answers and error bodies."""
from __future__ import annotations

import httpx

from .test_bedrock_helpers import (  # noqa: F401  (fixtures)
    CLAUDE_35, bedrock, key, keys, light, module_emu, policy,
)

GPT_OSS = "openai.gpt-oss-20b-1:0"
CHAT = "/openai/v1/chat/completions"
BODY = {"model": GPT_OSS, "messages": [{"role": "user", "content": "ping"}], "max_completion_tokens": 1}


def _openai_error(r: httpx.Response, status: int, contains: str) -> str:
    assert r.status_code == status, r.text
    err = r.json().get("error")
    assert isinstance(err, dict) and contains in err["message"], r.text
    assert set(err) == {"message", "type", "param", "code"}
    return str(err["message"])


def test_a_one_token_chat_completion_answers_in_openais_shape(bedrock, key):
    r = bedrock.post(CHAT, key, BODY)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion" and body["model"] == GPT_OSS
    assert body["choices"][0]["message"]["role"] == "assistant" and body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 1


def test_it_needs_the_bearer_action_and_invoke_model_on_the_model(bedrock, keys):
    model_arn = f"arn:aws:bedrock:us-east-1::foundation-model/{GPT_OSS}"
    no_bearer = keys.key("no-bearer", policy({"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"}))
    _openai_error(bedrock.post(CHAT, no_bearer, BODY), 403, "not authorized to perform: bedrock:CallWithBearerToken")
    no_invoke = keys.key("no-invoke", policy({"Effect": "Allow", "Action": "bedrock:CallWithBearerToken", "Resource": "*"}))
    _openai_error(bedrock.post(CHAT, no_invoke, BODY), 403,
                  f"not authorized to perform: bedrock:InvokeModel on resource: {model_arn}")
    denied = keys.key("deny-gpt", policy({"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"},
                                         {"Effect": "Deny", "Action": "bedrock:InvokeModel", "Resource": model_arn}))
    _openai_error(bedrock.post(CHAT, denied, BODY), 403, "explicit deny")
    # the same user still converses with another model: the Deny is per model, not per API
    assert bedrock.post(f"/model/{CLAUDE_35}/converse", denied,
                        {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}).status_code == 200


def test_a_bad_key_and_a_non_openai_model_are_refused_in_openais_shape(bedrock, key):
    msg = _openai_error(bedrock.post(CHAT, "ABSK" + "QkVEUk9DSy1GQUtFOmZha2U=", BODY), 403, "Authentication failed")
    assert "ABSK" not in msg
    _openai_error(bedrock.post(CHAT, key, {**BODY, "model": CLAUDE_35}), 400, "not supported by the Chat Completions")
    _openai_error(bedrock.post(CHAT, key, {**BODY, "messages": []}), 400, "messages")
    assert bedrock.post("/openai/v1/completions", key, BODY).status_code == 404
