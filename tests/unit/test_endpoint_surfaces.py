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


# --------------------------------------------------------------------------- runtime-openai
GPT = CFG.openai_model_id


def openai_chat(body: Any = None, classification: str = "ok", status: int | None = 200,
                message: str = "answered 200") -> object:
    p = probe(classification, status, body=body, message=message, name="runtime_openai_chat")
    return type(p)(p.name, "https://bedrock-runtime.us-east-1.amazonaws.com/openai/v1/chat/completions", p.status,
                   p.classification, p.message, p.attempts, p.body)


def test_runtime_openai_is_probed_by_a_one_token_chat_completion() -> None:
    assert GPT == "openai.gpt-oss-20b-1:0"
    inv = FakeInventory(runtime_openai_chat=openai_chat(CHAT), key=raw_key(),
                        list_models=probe(body={"modelSummaries": [{"modelId": GPT}]}))
    status, text, rec = run(v.invoke, inv, cfg(["runtime-openai"]), "key-user")
    assert status == "pass", text
    assert text == f"chat completion with {GPT} on bedrock-runtime /openai/v1 answered 200 (finish_reason length)"
    assert rec.resource.endswith("/openai/v1/chat/completions")
    # GET /foundation-models must list the OpenAI model, not the Converse one the workload does not call
    status, text, _ = run(v.list_models, inv, cfg(["runtime-openai"]), "key-user")
    assert status == "pass" and f"lists {GPT}" in text and MODEL not in text, text


def test_runtime_and_runtime_openai_are_both_probed_when_both_are_used() -> None:
    inv = FakeInventory(runtime_openai_chat=openai_chat(CHAT), key=raw_key(),
                        invoke=probe(body={"output": {}, "stopReason": "max_tokens"}),
                        list_models=probe(body={"modelSummaries": [{"modelId": MODEL}]}))
    status, text, _ = run(v.invoke, inv, cfg(["runtime", "runtime-openai"]), "key-user")
    assert status == "pass" and text.startswith(f"converse with {MODEL} answered 200") and "/openai/v1" in text
    status, text, _ = run(v.list_models, inv, cfg(["runtime", "runtime-openai"]), "key-user")
    assert status == "fail" and f"does not list {GPT}" in text, text


def test_runtime_openai_refusing_the_key_fails_and_an_answer_without_choices_errors() -> None:
    refused = openai_chat(None, "forbidden", 403, "access denied: User: x is not authorized to perform: "
                          "bedrock:InvokeModel — grant the missing action to the key's user")
    status, text, _ = run(v.invoke, FakeInventory(runtime_openai_chat=refused, key=raw_key()),
                          cfg(["runtime-openai"]), "key-user")
    assert status == "fail" and "bedrock:InvokeModel" in text and "/openai/v1 with the key" in text, text
    status, text, _ = run(v.invoke, FakeInventory(runtime_openai_chat=openai_chat({"object": "x"}), key=raw_key()),
                          cfg(["runtime-openai"]), "key-user")
    assert status == "error" and "without choices" in text
    timeout = openai_chat(None, "timeout", None, "no answer within 10s")
    status, text, _ = run(v.invoke, FakeInventory(runtime_openai_chat=timeout, key=raw_key()),
                          cfg(["runtime-openai"]), "key-user")
    assert status == "error" and "no answer" in text


def test_mantle_is_asked_for_its_own_model_id_when_one_is_configured() -> None:
    c = cfg(["mantle"])
    c.data["endpoint"]["mantle_model_id"] = "anthropic.claude-sonnet-4-5"
    listed = {"object": "list", "data": [{"id": "anthropic.claude-sonnet-4-5"}]}
    inv = FakeInventory(mantle_models=mantle(listed), mantle_chat=mantle(CHAT, name="mantle_chat"), key=raw_key())
    status, text, _ = run(v.list_models, inv, c, "key-user")
    assert status == "pass" and "lists anthropic.claude-sonnet-4-5" in text, text
    status, text, _ = run(v.invoke, inv, c, "key-user")
    assert status == "pass" and text.startswith("chat completion with anthropic.claude-sonnet-4-5 on bedrock-mantle")
    # unset: endpoint.model_id without its inference-profile prefix
    d = cfg(["mantle"])
    d.data["endpoint"]["model_id"] = "us.anthropic.claude-3-5-sonnet-20240620-v1:0"
    assert d.mantle_model_id == "anthropic.claude-3-5-sonnet-20240620-v1:0"


# --------------------------------------------------------------------------- a closure must hold in every Region
def user_policies(*statements: dict[str, Any]) -> Any:
    from bedrock_key_audit.inventory.models import PolicyDoc, UserPolicies

    doc = {"Version": "2012-10-17", "Statement": list(statements)}
    return UserPolicies("key-user", [PolicyDoc("inline", "p", None, None, doc)], None, [])


MANTLE_OPEN = {"Effect": "Allow", "Action": "bedrock-mantle:*", "Resource": "*"}
MANTLE_REFUSED = mantle(None, "forbidden", 403, "User: u is not authorized to perform: "
                        "bedrock-mantle:CallWithBearerToken with an explicit deny in an identity-based policy")


def closed_row(*statements: dict[str, Any], context: str = "") -> tuple[str, str]:
    c = cfg(["runtime"])
    if context:
        c.data["policy"]["context"] = {"aws:SourceIp": context}
    inv = FakeInventory(mantle_models=MANTLE_REFUSED, key=raw_key(), user_policies=user_policies(*statements))
    status, text, _ = run(v.unused_surfaces_closed, inv, c, "key-user")
    return status, text


def test_a_deny_in_the_probed_region_only_leaves_mantle_open_elsewhere() -> None:
    deny = {"Effect": "Deny", "Action": "bedrock-mantle:*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}
    status, text = closed_row(MANTLE_OPEN, deny)
    assert status == "fail", text
    assert "refused the key in us-east-1 only" in text and "us-west-2" in text and "aws:RequestedRegion" in text
    assert "deny bedrock-mantle:CallWithBearerToken to the key's user with no Region condition" in text


def test_a_deny_in_every_region_or_no_grant_at_all_closes_mantle() -> None:
    unconditional = {"Effect": "Deny", "Action": "bedrock-mantle:CallWithBearerToken", "Resource": "*"}
    assert closed_row(MANTLE_OPEN, unconditional)[0] == "pass"
    # a Region condition that holds in every Region of the partition still closes it everywhere
    everywhere = {**unconditional, "Condition": {"StringLike": {"aws:RequestedRegion": "*-*-*"}}}
    assert closed_row(MANTLE_OPEN, everywhere)[0] == "pass"
    # no Allow of Mantle at all: refused in every Region
    assert closed_row({"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"})[0] == "pass"


def test_an_allow_in_some_regions_only_leaves_the_others_open() -> None:
    # the Region probed is outside the Allow; the key still works where the Allow holds
    allow_west = {**MANTLE_OPEN, "Condition": {"StringEquals": {"aws:RequestedRegion": ["us-west-2"]}}}
    status, text = closed_row(allow_west)
    assert status == "fail" and "(us-west-2)" in text and "no identity policy allowing it" in text, text


def test_a_closure_resting_on_an_unknown_key_is_undecided() -> None:
    deny_office = {"Effect": "Deny", "Action": "bedrock-mantle:*", "Resource": "*",
                   "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}
    status, text = closed_row(MANTLE_OPEN, deny_office)
    assert status == "error" and "aws:SourceIp" in text and "[policy.context]" in text, text
    # declared in [policy.context], the key's calls come from that network: decided (closed)
    assert closed_row(MANTLE_OPEN, deny_office, context="203.0.113.7")[0] == "pass"


def test_a_refusal_the_policies_do_not_explain_stands_for_every_region() -> None:
    # the identity policies let the call through everywhere: the refusal comes from what the audit does not read
    assert closed_row(MANTLE_OPEN)[0] == "pass"


def test_unreadable_policies_leave_the_closure_undecided() -> None:
    from tests.unit.helpers import ReadError

    inv = FakeInventory(mantle_models=MANTLE_REFUSED, key=raw_key(),
                        user_policies=ReadError("iam:ListUserPolicies was denied"))
    status, text, _ = run(v.unused_surfaces_closed, inv, cfg(["runtime"]), "key-user")
    assert status == "error" and "whether every Region refuses it is unknown" in text, text
