"""botocore's own bedrock / bedrock-runtime clients with ``AWS_BEARER_TOKEN_BEDROCK`` against the emulator.

botocore >= 1.39 signs ``bedrock`` (the signing name of both services) with
``Authorization: Bearer`` when that variable is set and no auth setting is made in code;
these tests check the emulator's answers parse as botocore expects (shapes and errors).
"""
from __future__ import annotations

import botocore.config
import botocore.exceptions
import pytest

from bedrock_key_audit.emulator import bedrock as bedrock_mod
from bedrock_key_audit.emulator import faults

from .test_bedrock_helpers import (  # noqa: F401  (fixtures)
    AUTH_FAILED, CLAUDE_35, OPUS_41, SONNET_45, gov_keys, key, keys, light, module_emu,
)

MESSAGES = [{"role": "user", "content": [{"text": "Hello"}]}]


@pytest.fixture(scope="module")
def tls(emulator):
    """HTTPS in front of the emulator: botocore refuses to send a bearer token over http."""
    app = getattr(getattr(emulator, "_server", None), "app", None) or bedrock_mod.bedrock_app
    listener = bedrock_mod.TlsListener(app)
    yield listener
    listener.stop()


@pytest.fixture
def clients(light, tls, monkeypatch):
    def make(token: str, partition: str = "commercial"):
        monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", token)
        # total_max_attempts: in a Config's retries dict, "max_attempts" counts retries, not attempts.
        kw = {"endpoint_url": tls.url, "verify": tls.ca_bundle,
              "config": botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"})}
        control = bedrock_mod.attach_region_header(light.client("bedrock", partition, **kw))
        runtime = bedrock_mod.attach_region_header(light.client("bedrock-runtime", partition, **kw))
        return control, runtime
    return make


def test_botocore_refuses_bearer_over_http(light, key, monkeypatch):
    """Why the TLS listener exists (the day botocore allows http, drop it)."""
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", key)
    with pytest.raises(botocore.exceptions.InvalidEndpointConfigurationError):
        light.client("bedrock", endpoint_url=light.url).list_foundation_models()


def _code(exc_info) -> tuple[str, int, str]:
    resp = exc_info.value.response
    return resp["Error"]["Code"], resp["ResponseMetadata"]["HTTPStatusCode"], resp["Error"]["Message"]


def test_botocore_supports_bearer_for_bedrock():
    import botocore.session
    from botocore.handlers import get_bearer_auth_supported_services

    assert "bedrock" in get_bearer_auth_supported_services()
    session = botocore.session.get_session()
    for service in ("bedrock", "bedrock-runtime"):
        model = session.get_service_model(service)
        assert model.signing_name == "bedrock"
        assert "smithy.api#httpBearerAuth" in model.metadata["auth"]


def test_list_and_converse(clients, key):
    control, runtime = clients(key)
    models = control.list_foundation_models()["modelSummaries"]
    assert CLAUDE_35 in {m["modelId"] for m in models}
    # It really went out as a bearer call (SigV4 would have gone to moto).
    assert faults.calls()[-1]["path"] == "/foundation-models" and faults.calls()[-1]["status"] == 200
    filtered = control.list_foundation_models(byProvider="Anthropic", byInferenceType="ON_DEMAND")["modelSummaries"]
    assert filtered and all(m["providerName"] == "Anthropic" for m in filtered)
    details = control.get_foundation_model(modelIdentifier=OPUS_41)["modelDetails"]
    assert details["inferenceTypesSupported"] == ["INFERENCE_PROFILE"]
    out = runtime.converse(modelId=f"us.{OPUS_41}", messages=MESSAGES, inferenceConfig={"maxTokens": 50})
    assert out["output"]["message"]["content"][0]["text"]
    assert out["stopReason"] in ("end_turn", "max_tokens")
    assert out["usage"]["totalTokens"] == out["usage"]["inputTokens"] + out["usage"]["outputTokens"]
    assert out["metrics"]["latencyMs"] >= 1


def test_invoke_and_profiles(clients, key):
    import json

    control, runtime = clients(key)
    r = runtime.invoke_model(modelId=CLAUDE_35, body=json.dumps(
        {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}))
    assert json.loads(r["body"].read())["type"] == "message"
    pages = control.get_paginator("list_inference_profiles").paginate(PaginationConfig={"PageSize": 4})
    ids = [p["inferenceProfileId"] for page in pages for p in page["inferenceProfileSummaries"]]
    assert f"us.{OPUS_41}" in ids and len(ids) == len(set(ids))
    first = control.list_inference_profiles()["inferenceProfileSummaries"][0]
    assert first["createdAt"].year == 2024  # botocore parsed the timestamp


def test_errors_parse(clients, key):
    control, runtime = clients(key)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        runtime.converse(modelId=OPUS_41, messages=MESSAGES)
    code, status, message = _code(e)
    assert (code, status) == ("ValidationException", 400) and "on-demand throughput isn't supported" in message
    with pytest.raises(runtime.exceptions.ValidationException):
        runtime.converse(modelId="anthropic.nope-v1:0", messages=MESSAGES)
    with pytest.raises(control.exceptions.ResourceNotFoundException):
        control.get_foundation_model(modelIdentifier="anthropic.nope-v1:0")
    faults.throttle(n=1)
    with pytest.raises(runtime.exceptions.ThrottlingException) as e:
        runtime.converse(modelId=CLAUDE_35, messages=MESSAGES)
    assert _code(e)[2] == "Too many requests, please wait before trying again."
    faults.fail(status=503, n=1)
    with pytest.raises(runtime.exceptions.ServiceUnavailableException):
        runtime.converse(modelId=CLAUDE_35, messages=MESSAGES)


def test_bad_key_is_access_denied(clients, keys):
    good = keys.key()
    control, runtime = clients(good + "A")
    with pytest.raises(control.exceptions.AccessDeniedException) as e:
        control.list_foundation_models()
    code, status, message = _code(e)
    assert (code, status, message) == ("AccessDeniedException", 403, AUTH_FAILED["Message"])
    leaked = good in str(e.value)
    assert not leaked, "the exception text holds the key"


def test_authorization_denial_parses(clients, keys):
    k = keys.key("nopol", inline=None)
    _, runtime = clients(k)
    with pytest.raises(runtime.exceptions.AccessDeniedException) as e:
        runtime.converse(modelId=CLAUDE_35, messages=MESSAGES)
    assert "is not authorized to perform: bedrock:CallWithBearerToken" in _code(e)[2]


def test_govcloud_client(clients, gov_keys):
    control, runtime = clients(gov_keys.key(), "govcloud")
    assert control.meta.region_name == "us-gov-west-1"
    models = control.list_foundation_models()["modelSummaries"]
    assert all(m["modelArn"].startswith("arn:aws-us-gov:bedrock:us-gov-west-1::") for m in models)
    out = runtime.converse(modelId=f"us-gov.{SONNET_45}", messages=MESSAGES)
    assert out["output"]["message"]["role"] == "assistant"
