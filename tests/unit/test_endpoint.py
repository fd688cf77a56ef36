"""endpoint.* verdicts on hand-built probes (bedrock_key_audit.verdicts.endpoint): pass, fail, error."""
from __future__ import annotations

import pytest

from bedrock_key_audit.fixtures.checks import CheckRecord
from bedrock_key_audit.verdicts import endpoint as v
from tests.unit.helpers import FakeInventory, config, probe, raw_key, run

CFG = config()
MODEL = CFG.model_id
LISTED = {"modelSummaries": [{"modelId": MODEL}, {"modelId": "amazon.titan-text-express-v1"}]}


def lm(p: object, key: str | None = None) -> tuple[str, str, CheckRecord]:
    return run(v.list_models, FakeInventory(list_models=p, key=key or raw_key()), CFG, "key-user")


def inv_(p: object, key: str | None = None) -> tuple[str, str, object]:
    return run(v.invoke, FakeInventory(invoke=p, key=key or raw_key()), CFG, "key-user")


# --------------------------------------------------------------------------- endpoint.list_models
def test_list_models_passes_when_the_model_is_listed() -> None:
    status, text, rec = lm(probe(body=LISTED))
    assert (status, text) == ("pass", f"GET /foundation-models answered 200 and lists {MODEL} (2 models)")
    assert rec.resource == probe().url and rec.evidence[0]["data"]["class"] == "ok"


def test_list_models_strips_an_inference_profile_prefix() -> None:
    cfg = config()
    cfg.data["endpoint"]["model_id"] = "us." + MODEL
    assert run(v.list_models, FakeInventory(list_models=probe(body=LISTED), key=raw_key()), cfg, "u")[0] == "pass"


@pytest.mark.parametrize("p, key, phrase", [
    (probe(body={"modelSummaries": []}), None, f"does not list {MODEL} (0 models listed); choose an available model"),
    (probe("bad_key", 403, message="the key was refused (invalid, expired, inactive or reset): rotate it"), None,
     "the key was refused (invalid"),
    # a refused key that is no long-term key at all: the secret holds the wrong field
    (probe("bad_key", 403, message="refused"), "ServicePasswordValue", "holds the wrong field"),
    (probe("forbidden", 403, message="access denied: x — grant the missing action"), None, "access denied"),
    (probe("malformed_key", None, message="the key in secret s has leading or trailing whitespace"), None,
     "leading or trailing whitespace"),
    (probe("bad_region", None, message="secret s: region is not a commercial AWS region"), None, "not a commercial"),
])
def test_list_models_fails(p: object, key: str | None, phrase: str) -> None:
    status, text, _ = lm(p, key)
    assert status == "fail" and phrase in text, text


@pytest.mark.parametrize("p, phrase", [
    (probe("throttled", 429, message="throttled (ThrottlingException) (after 3 attempts)"), "throttled"),
    (probe("timeout", None, message="no answer within 10s"), "no answer within"),
    (probe("server_error", 500, message="server error 500"), "server error 500"),
    (probe(body={"other": 1}), "answered 200 without a modelSummaries list"),
])
def test_list_models_errors_when_bedrock_says_nothing_about_the_setup(p: object, phrase: str) -> None:
    status, text, _ = lm(p)
    assert status == "error" and phrase in text


# --------------------------------------------------------------------------- endpoint.invoke
def test_invoke_passes_with_an_output() -> None:
    status, text, _ = inv_(probe(body={"output": {"message": {}}, "stopReason": "max_tokens"}, name="invoke"))
    assert (status, text) == ("pass", f"converse with {MODEL} answered 200 (stopReason max_tokens)")


@pytest.mark.parametrize("p, phrase", [
    (probe("model_unavailable", 404, message="model not available: x", name="invoke"), "model not available"),
    (probe("client_error", 400, message="HTTP 400 ValidationException: bad", name="invoke"), "HTTP 400"),
])
def test_invoke_fails(p: object, phrase: str) -> None:
    status, text, _ = inv_(p)
    assert status == "fail" and text.startswith(f"converse with {MODEL} with the key from the secret: ") and phrase in text


@pytest.mark.parametrize("p, phrase", [
    (probe("network", None, message="TLS handshake failed (ConnectError)", name="invoke"), "TLS handshake failed"),
    (probe(body={"no": "output"}, name="invoke"), "answered 200 without an output"),
])
def test_invoke_errors(p: object, phrase: str) -> None:
    status, text, _ = inv_(p)
    assert status == "error" and phrase in text
