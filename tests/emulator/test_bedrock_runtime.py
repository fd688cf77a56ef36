"""Bedrock runtime with an API key: invoke and converse, model ids, inference profiles, validation."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from .test_bedrock_helpers import (  # noqa: F401  (fixtures)
    ACCOUNT, ANTHROPIC_BODY, CLAUDE_35, OPUS_41, SONNET_4, SONNET_45, assert_error, readonly,
)

ON_DEMAND = ("Invocation of model ID {} with on-demand throughput isn't supported. Retry your request with the "
             "ID or ARN of an inference profile that contains this model.")


@pytest.fixture
def bedrock(readonly):
    return readonly.bedrock


@pytest.fixture
def key(readonly):
    return readonly.key


@pytest.fixture
def gkey(readonly):
    return readonly.gov_key


def test_invoke_as_in_the_guide(bedrock, key):
    r = bedrock.invoke(CLAUDE_35, key)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "message" and body["role"] == "assistant"
    assert body["id"].startswith("msg_")
    assert body["model"] == "claude-3-5-sonnet-20240620"
    assert body["stop_reason"] == "end_turn"
    assert body["content"][0]["type"] == "text" and body["content"][0]["text"]
    assert body["usage"]["input_tokens"] >= 1 and body["usage"]["output_tokens"] >= 1
    assert r.headers["X-Amzn-Bedrock-Output-Token-Count"] == str(body["usage"]["output_tokens"])
    assert int(r.headers["X-Amzn-Bedrock-Invocation-Latency"]) >= 1


def test_converse(bedrock, key):
    r = bedrock.converse(quote(CLAUDE_35, safe=""), key)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["output"]["message"]["role"] == "assistant"
    assert body["output"]["message"]["content"][0]["text"]
    assert body["stopReason"] == "end_turn"
    u = body["usage"]
    assert u["totalTokens"] == u["inputTokens"] + u["outputTokens"]
    assert isinstance(body["metrics"]["latencyMs"], int)


def test_converse_max_tokens(bedrock, key):
    r = bedrock.converse(CLAUDE_35, key, body={"messages": [{"role": "user", "content": [{"text": "ping"}]}],
                                               "inferenceConfig": {"maxTokens": 1}})
    body = r.json()
    assert body["stopReason"] == "max_tokens" and body["usage"]["outputTokens"] == 1


@pytest.mark.parametrize("op", ["invoke", "converse"])
@pytest.mark.parametrize("model", [OPUS_41, SONNET_4, SONNET_45, "anthropic.claude-3-7-sonnet-20250219-v1:0"])
def test_claude_4_bare_id_needs_an_inference_profile(bedrock, key, op, model):
    fn = bedrock.invoke if op == "invoke" else bedrock.converse
    for ident in (model, quote(model, safe="")):
        assert_error(fn(ident, key), 400, "ValidationException", ON_DEMAND.format(model))


@pytest.mark.parametrize("op", ["invoke", "converse"])
@pytest.mark.parametrize("ident", [
    f"us.{OPUS_41}", quote(f"us.{OPUS_41}", safe=""), f"us.{SONNET_4}",
    quote(f"arn:aws:bedrock:us-east-1:{ACCOUNT['aws']}:inference-profile/us.{OPUS_41}", safe=""),
])
def test_claude_4_through_the_inference_profile(bedrock, key, op, ident):
    fn = bedrock.invoke if op == "invoke" else bedrock.converse
    r = fn(ident, key)
    assert r.status_code == 200, r.text


def test_govcloud_profiles(bedrock, gkey):
    assert bedrock.converse(f"us-gov.{SONNET_45}", gkey, region="us-gov-west-1").status_code == 200
    assert_error(bedrock.converse(f"us.{SONNET_45}", gkey, region="us-gov-west-1"), 400, "ValidationException",
                 "The provided model identifier is invalid.")
    assert_error(bedrock.converse(SONNET_45, gkey, region="us-gov-west-1"), 400, "ValidationException",
                 "on-demand throughput isn't supported")
    assert bedrock.invoke(CLAUDE_35, gkey, region="us-gov-west-1").status_code == 200


def test_model_arn_as_model_id(bedrock, key):
    arn = f"arn:aws:bedrock:us-east-1::foundation-model/{CLAUDE_35}"
    assert bedrock.converse(quote(arn, safe=""), key).status_code == 200
    other_region = f"arn:aws:bedrock:us-west-2::foundation-model/{CLAUDE_35}"
    assert_error(bedrock.converse(quote(other_region, safe=""), key), 400, "ValidationException")


@pytest.mark.parametrize("op", ["invoke", "converse"])
@pytest.mark.parametrize("ident", ["anthropic.claude-99", f"eu.{OPUS_41}", "meta.llama3-8b-instruct-v1:0x"])
def test_unknown_model(bedrock, key, op, ident):
    fn = bedrock.invoke if op == "invoke" else bedrock.converse
    assert_error(fn(ident, key), 400, "ValidationException", "The provided model identifier is invalid.")


def test_model_not_in_this_region(bedrock, key):
    # Llama 3 8B is offered in us-east-1 and us-west-2, not us-east-2.
    r = bedrock.post("/model/meta.llama3-8b-instruct-v1:0/invoke", key, {"prompt": "hi"}, region="us-east-2")
    assert_error(r, 400, "ValidationException", "The provided model identifier is invalid.")


@pytest.mark.parametrize("op", ["invoke", "converse"])
@pytest.mark.parametrize("content", [b"{not json", b"", b"[1, 2]", b"\xff\xfe"])
def test_malformed_body(bedrock, key, op, content):
    r = bedrock.post(f"/model/{CLAUDE_35}/{op}", key, content=content)
    assert_error(r, 400, "ValidationException", "Malformed input request")


@pytest.mark.parametrize("missing", ["anthropic_version", "max_tokens", "messages"])
def test_anthropic_body_validation(bedrock, key, missing):
    body = {k: v for k, v in ANTHROPIC_BODY.items() if k != missing}
    assert_error(bedrock.invoke(CLAUDE_35, key, body), 400, "ValidationException", f"required key [{missing}]")


@pytest.mark.parametrize("body, contains", [
    ({"messages": []}, "non-empty"),
    ({}, "Member must not be null"),
    ({"messages": [{"role": "assistant", "content": [{"text": "x"}]}]}, "must start with a user message"),
    ({"messages": [{"role": "user", "content": [{"text": "a"}]}, {"role": "user", "content": [{"text": "b"}]}]},
     "alternate"),
    ({"messages": [{"role": "user", "content": [{"text": "a"}]}], "inferenceConfig": {"maxTokens": 0}},
     "maxTokens"),
])
def test_converse_validation(bedrock, key, body, contains):
    assert_error(bedrock.converse(CLAUDE_35, key, body=body), 400, "ValidationException", contains)


@pytest.mark.parametrize("model, body, check", [
    ("amazon.titan-text-express-v1", {"inputText": "hi"}, lambda b: b["results"][0]["completionReason"] == "FINISH"),
    ("amazon.titan-embed-text-v2:0", {"inputText": "hi", "dimensions": 256}, lambda b: len(b["embedding"]) == 256),
    ("meta.llama3-8b-instruct-v1:0", {"prompt": "hi", "max_gen_len": 10}, lambda b: b["generation"]),
    ("amazon.nova-pro-v1:0", {"messages": [{"role": "user", "content": [{"text": "hi"}]}]},
     lambda b: b["output"]["message"]["content"][0]["text"] and b["usage"]["totalTokens"] > 0),
    (f"us.{'meta.llama3-3-70b-instruct-v1:0'}", {"prompt": "hi"}, lambda b: b["stop_reason"] == "stop"),
])
def test_invoke_other_providers(bedrock, key, model, body, check):
    r = bedrock.invoke(model, key, body)
    assert r.status_code == 200, r.text
    assert check(r.json())


def test_converse_refuses_an_embedding_model(bedrock, key):
    assert_error(bedrock.converse("amazon.titan-embed-text-v2:0", key), 400, "ValidationException",
                 "doesn't support the model")


def test_responses_never_carry_the_key(bedrock, key):
    responses = [bedrock.invoke(CLAUDE_35, key), bedrock.converse(OPUS_41, key),
                 bedrock.converse("nope", key), bedrock.get("/foundation-models", key),
                 bedrock.get("/foundation-models", key, params={"byInferenceType": key}),
                 bedrock.get("/inference-profiles", key, params={"maxResults": key})]
    for r in responses:
        echoed = key in r.text or any(key in v for v in r.headers.values())
        assert not echoed, f"{r.request.method} {r.request.url.path} echoed the key"
