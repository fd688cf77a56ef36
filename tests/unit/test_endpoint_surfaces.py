"""endpoint.list_models and endpoint.invoke probe every surface in use (``endpoint.surfaces``), on hand-built probes."""
from __future__ import annotations

from typing import Any

from bedrock_key_audit.verdicts import endpoint as v
from tests.unit.helpers import FakeInventory, config, probe, raw_key, run

CFG = config()
MODEL = CFG.model_id
LISTED = {"modelSummaries": [{"modelId": MODEL}]}
MANTLE_LISTED = {"object": "list", "data": [{"id": MODEL, "object": "model"}, {"id": "openai.gpt-oss-120b-1:0"}]}
CHAT = {"object": "chat.completion", "choices": [{"index": 0, "message": {"content": "H"}, "finish_reason": "length"}]}


def cfg(used: list[str]) -> Any:
    c = config()
    c.data["endpoint"]["surfaces"] = used
    return c


def mantle(body: Any = None, classification: str = "ok", status: int | None = 200, message: str = "answered 200",
           name: str = "mantle_models") -> object:
    p = probe(classification, status, body=body, message=message, name=name)
    return type(p)(p.name, "https://bedrock-mantle.us-east-1.api.aws/v1/models", p.status, p.classification,
                   p.message, p.attempts, p.body)


def test_list_models_probes_mantle_when_the_workload_uses_it() -> None:
    inv = FakeInventory(list_models=probe(body=LISTED), mantle_models=mantle(MANTLE_LISTED), key=raw_key())
    status, text, rec = run(v.list_models, inv, cfg(["runtime", "mantle"]), "key-user")
    assert status == "pass"
    assert text == (f"GET /foundation-models answered 200 and lists {MODEL} (1 models); "
                    f"GET /v1/models on bedrock-mantle answered 200 and lists {MODEL} (2 models)")
    assert "bedrock-mantle" in rec.resource and "foundation-models" in rec.resource


def test_a_mantle_only_workload_is_not_asked_about_bedrock_runtime() -> None:
    # no runtime probe is given: a verdict that asked for one would crash on its None
    inv = FakeInventory(mantle_models=mantle(MANTLE_LISTED), mantle_chat=mantle(CHAT, name="mantle_chat"),
                        key=raw_key())
    status, text, _ = run(v.list_models, inv, cfg(["mantle"]), "key-user")
    assert status == "pass" and text.startswith("GET /v1/models on bedrock-mantle") and "foundation" not in text
    status, text, _ = run(v.invoke, inv, cfg(["mantle"]), "key-user")
    assert status == "pass" and text == (f"chat completion with {MODEL} on bedrock-mantle answered 200 "
                                         "(finish_reason length)")


def test_mantle_not_listing_the_model_fails() -> None:
    inv = FakeInventory(mantle_models=mantle({"object": "list", "data": [{"id": "other"}]}), key=raw_key())
    status, text, _ = run(v.list_models, inv, cfg(["mantle"]), "key-user")
    assert status == "fail" and f"does not list {MODEL}" in text and "choose a model Mantle serves" in text


def test_mantle_refusing_the_key_in_use_fails_and_no_answer_errors() -> None:
    refused = mantle(None, "forbidden", 403, "access denied: not authorized to perform: "
                     "bedrock-mantle:CallWithBearerToken", name="mantle_chat")
    inv = FakeInventory(mantle_chat=refused, key=raw_key())
    status, text, _ = run(v.invoke, inv, cfg(["mantle"]), "key-user")
    assert status == "fail" and text.startswith(f"chat completion with {MODEL} on bedrock-mantle with the key")
    inv = FakeInventory(mantle_chat=mantle(None, "timeout", None, "no answer within 10s", name="mantle_chat"),
                        key=raw_key())
    status, text, _ = run(v.invoke, inv, cfg(["mantle"]), "key-user")
    assert status == "error" and "no answer" in text
    inv = FakeInventory(mantle_chat=mantle({"object": "chat.completion"}, name="mantle_chat"), key=raw_key())
    status, text, _ = run(v.invoke, inv, cfg(["mantle"]), "key-user")
    assert status == "error" and "without choices" in text
