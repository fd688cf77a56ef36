"""endpoint.* verdicts on hand-built probes (bedrock_key_audit.verdicts.endpoint): pass, fail, error."""
from __future__ import annotations

import pytest

from bedrock_key_audit.checkcore import CheckRecord
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


# --------------------------------------------------------------------------- endpoint.unused_surfaces_closed
MANTLE_DENIED = ("access denied: User: arn:aws:iam::123456789012:user/u is not authorized to perform: "
                 "bedrock-mantle:CallWithBearerToken because no identity-based policy allows the "
                 "bedrock-mantle:CallWithBearerToken action — grant the missing action to the key's user")


def mp(classification: str = "ok", status: int | None = 200, message: str = "answered 200") -> object:
    return probe(classification, status, body={"object": "list", "data": []} if status == 200 else None,
                 message=message, name="mantle_models")


def surfaces(p: object, used: list[str] | None = None, list_models: object = None) -> tuple[str, str, CheckRecord]:
    cfg = config()
    if used is not None:
        cfg.data["endpoint"]["surfaces"] = used
    inv = FakeInventory(mantle_models=p, list_models=list_models, key=raw_key())
    return run(v.unused_surfaces_closed, inv, cfg, "key-user")


def test_unused_surfaces_default_is_runtime_only() -> None:
    assert CFG.surfaces == ["runtime"]


def test_mantle_answering_200_fails_naming_the_surface_and_the_action() -> None:
    status, text, rec = surfaces(mp())
    assert status == "fail"
    assert "mantle (GET /v1/models) answered 200 to the key" in text
    assert "deny bedrock-mantle:CallWithBearerToken to the key's user" in text
    # runtime-openai shares runtime's host and action: reported, never failed on its own
    assert "runtime-openai cannot be closed apart from runtime" in text
    assert rec.evidence[0]["data"]["surfaces"] == ["mantle"] and rec.evidence[0]["data"]["status"] == 200
    assert rec.resource == probe().url


@pytest.mark.parametrize("p", [
    mp("forbidden", 403, MANTLE_DENIED),
    mp("bad_key", 403, "the key was refused (invalid, expired, inactive or reset): rotate it"),
    mp("forbidden", 401, "access denied: Unauthorized — grant the missing action to the key's user"),
])
def test_mantle_refusing_the_key_passes(p: object) -> None:
    status, text, _ = surfaces(p)
    assert status == "pass" and text.startswith("mantle (GET /v1/models) refused the key"), text


def test_a_403_naming_another_mantle_action_is_not_proof_of_closure() -> None:
    """The key got past bedrock-mantle:CallWithBearerToken; only ListModels was refused."""
    msg = MANTLE_DENIED.replace("perform: bedrock-mantle:CallWithBearerToken", "perform: bedrock-mantle:ListModels on resource: x")
    status, text, _ = surfaces(mp("forbidden", 403, msg))
    assert status == "error"
    assert "accepted the key but refused bedrock-mantle:ListModels" in text
    assert "deny bedrock-mantle:CallWithBearerToken" in text and "\n" not in text


@pytest.mark.parametrize("p, phrase", [
    (mp("timeout", None, "no answer within 10s (after 3 attempts)"), "no answer within 10s"),
    (mp("server_error", 503, "server error 503 (after 3 attempts)"), "server error 503"),
    (mp("throttled", 429, "throttled (ThrottlingException) (after 3 attempts)"), "throttled"),
    (mp("model_unavailable", 404, "model not available: x"), "model not available"),
])
def test_no_answer_from_mantle_errors(p: object, phrase: str) -> None:
    status, text, _ = surfaces(p)
    assert status == "error" and phrase in text and "gave no answer that shows whether it admits the key" in text


@pytest.mark.parametrize("p", [
    mp("malformed_key", None, "the key in secret s has leading or trailing whitespace; it was not sent"),
    mp("bad_region", None, "secret s: region is not a commercial AWS region"),
])
def test_a_probe_that_was_never_sent_decides_nothing(p: object) -> None:
    status, text, _ = surfaces(p)
    assert status == "error" and "was not probed" in text and "fix the secret" in text


def test_a_workload_that_uses_mantle_probes_nothing_there() -> None:
    status, text, _ = surfaces(AssertionError("Mantle must not be probed"), used=["runtime", "mantle"])
    assert status == "pass"
    assert "no other surface can be closed on its own" in text and "runtime-openai cannot be closed apart from runtime" in text


def test_a_mantle_only_workload_wants_bedrock_runtime_closed() -> None:
    """Neither runtime nor runtime-openai in use: GET /foundation-models with the key must be refused."""
    open_ = probe(body={"modelSummaries": []})
    status, text, _ = surfaces(AssertionError("Mantle must not be probed"), used=["mantle"], list_models=open_)
    assert status == "fail" and "runtime/runtime-openai (GET /foundation-models) answered 200" in text
    assert "deny bedrock:CallWithBearerToken" in text
    closed = probe("forbidden", 403, message="access denied: User: u is not authorized to perform: "
                   "bedrock:CallWithBearerToken with an explicit deny in an identity-based policy")
    assert surfaces(AssertionError("no"), used=["mantle"], list_models=closed)[0] == "pass"


def test_unused_surfaces_needs_the_key() -> None:
    """No key in the secret: the probe cannot be made (Inventory.mantle_models raises), the row errors."""
    from bedrock_key_audit.checkcore import CouldNotDecide

    inv = FakeInventory(mantle_models=CouldNotDecide("secret s has no bedrock_api_key string"))
    status, text, _ = run(v.unused_surfaces_closed, inv, CFG, "key-user")
    assert status == "error" and "no bedrock_api_key string" in text


@pytest.mark.parametrize("env, url", [
    ({}, "https://bedrock-mantle.eu-west-1.api.aws"),
    ({"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}, "http://127.0.0.1:1"),
    ({"AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_ENDPOINT_URL_BEDROCK_MANTLE": "http://127.0.0.1:2"}, "http://127.0.0.1:2"),
    ({"AWS_ENDPOINT_URL_BEDROCK_MANTLE": "http://127.0.0.1:2", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
     "https://bedrock-mantle.eu-west-1.api.aws"),
])
def test_mantle_endpoint_follows_the_sdk_override_convention(env: dict[str, str], url: str) -> None:
    from bedrock_key_audit.inventory.reader import mantle_endpoint

    assert mantle_endpoint("eu-west-1", env) == url


def test_an_openai_shaped_refusal_is_read() -> None:
    import httpx

    from bedrock_key_audit.inventory.probes import classify_http

    r = httpx.Response(403, json={"error": {"message": "User: u is not authorized to perform: "
                                                       "bedrock-mantle:CallWithBearerToken", "type": "permission_error"}})
    p = classify_http("mantle_models", "https://bedrock-mantle.us-east-1.api.aws/v1/models", r, 1)
    assert p.classification == "forbidden" and "bedrock-mantle:CallWithBearerToken" in p.message


def test_an_unused_runtime_openai_beside_runtime_is_said_to_be_unclosable_not_passed_silently() -> None:
    """Both bedrock-runtime paths are admitted by bedrock:CallWithBearerToken and bedrock:InvokeModel: the row
    passes only on what it proved (nothing to probe) and says why runtime-openai was not probed."""
    status, text, _ = surfaces(AssertionError("bedrock-runtime must not be probed"), used=["runtime", "mantle"])
    assert status == "pass"
    assert ("runtime-openai cannot be closed apart from runtime (same host, admitted by bedrock:CallWithBearerToken; "
            "the model actions, bedrock:InvokeModel on the model, are the same for both") in text


def test_a_403_from_the_permissions_boundary_says_change_the_boundary() -> None:
    import httpx

    from bedrock_key_audit.inventory.probes import classify_http

    for reason in ("because no permissions boundary allows the bedrock:InvokeModel action",
                   "with an explicit deny in a permissions boundary"):
        r = httpx.Response(403, json={"message": f"User: u is not authorized to perform: bedrock:InvokeModel {reason}"})
        got = classify_http("invoke", "https://x/model/m/converse", r, 1)
        assert "grant the missing action" not in got.message, got.message
        assert "permissions boundary caps it" in got.message and "change the boundary" in got.message, got.message
