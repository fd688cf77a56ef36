"""The emulated Mantle endpoint (``bedrock-mantle.<region>.api.aws``): routes, bearer authorization on
``bedrock-mantle:*`` by the emulator's own evaluator, the AWS managed Mantle policy, and the two Mantle scenarios."""
from __future__ import annotations

import json

import httpx
import pytest
import werkzeug.test

from bedrock_key_audit.emulator import bedrock as bedrock_mod
from bedrock_key_audit.emulator import scenarios

from .test_bedrock_helpers import (  # noqa: F401  (fixtures)
    ACCOUNT, AUTH_FAILED, CLAUDE_35, assert_error, bedrock, key, keys, light, module_emu, policy,
)

MANTLE = {"x-emulator-surface": "mantle"}
ALLOW_MANTLE = policy({"Effect": "Allow", "Action": "bedrock-mantle:*", "Resource": "*"})
CHAT = {"model": CLAUDE_35, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}


def _denied(r: httpx.Response, action: str, resource: str | None = None) -> str:
    message = assert_error(r, 403, "AccessDeniedException")
    on = f" on resource: {resource}" if resource else ""
    assert f"is not authorized to perform: {action}{on} " in message, message
    return message


def test_models_chat_responses_and_messages_answer_a_mantle_key(bedrock, keys):
    k = keys.key("mantle", ALLOW_MANTLE)
    models = bedrock.get("/v1/models", k, headers=MANTLE)
    assert models.status_code == 200, models.text
    assert models.json()["object"] == "list" and CLAUDE_35 in {m["id"] for m in models.json()["data"]}
    chat = bedrock.post("/v1/chat/completions", k, CHAT, headers=MANTLE)
    assert chat.status_code == 200 and chat.json()["choices"][0]["message"]["role"] == "assistant"
    resp = bedrock.post("/v1/responses", k, {"model": CLAUDE_35, "input": "ping"}, headers=MANTLE)
    assert resp.status_code == 200 and resp.json()["output"][0]["content"][0]["type"] == "output_text"
    msg = bedrock.post("/anthropic/v1/messages", k, {"model": CLAUDE_35, "max_tokens": 5,
                                                     "messages": [{"role": "user", "content": "hi"}]}, headers=MANTLE)
    assert msg.status_code == 200 and msg.json()["type"] == "message"
    assert bedrock.get("/v1/nothing", k, headers=MANTLE).status_code == 404


def test_mantle_needs_its_own_bearer_action(bedrock, keys):
    """bedrock:CallWithBearerToken admits the key to bedrock/bedrock-runtime only."""
    k = keys.key("runtime-only")  # bedrock:*
    assert bedrock.get("/foundation-models", k).status_code == 200
    _denied(bedrock.get("/v1/models", k, headers=MANTLE), "bedrock-mantle:CallWithBearerToken")
    k2 = keys.key("mantle-only", ALLOW_MANTLE)
    _denied(bedrock.get("/foundation-models", k2), "bedrock:CallWithBearerToken")


def test_mantle_operations_are_authorized_on_the_default_project(bedrock, keys):
    k = keys.key("bearer-only", policy({"Effect": "Allow", "Action": "bedrock-mantle:CallWithBearerToken", "Resource": "*"}))
    project = f"arn:aws:bedrock-mantle:us-east-1:{ACCOUNT['aws']}:project/default"
    _denied(bedrock.get("/v1/models", k, headers=MANTLE), "bedrock-mantle:ListModels", project)
    _denied(bedrock.post("/v1/chat/completions", k, CHAT, headers=MANTLE), "bedrock-mantle:CreateInference", project)


def test_a_request_naming_its_project_is_authorized_on_that_project(bedrock, keys):
    """``OpenAI-Project`` names the project (OpenAI's header; AWS: a request naming none runs in ``default``)."""
    other = f"arn:aws:bedrock-mantle:us-east-1:{ACCOUNT['aws']}:project/proj_other"
    k = keys.key("project-only", policy(
        {"Effect": "Allow", "Action": "bedrock-mantle:CallWithBearerToken", "Resource": "*"},
        {"Effect": "Allow", "Action": ["bedrock-mantle:ListModels", "bedrock-mantle:CreateInference"], "Resource": other}))
    named = {**MANTLE, "OpenAI-Project": "proj_other"}
    assert bedrock.get("/v1/models", k, headers=named).status_code == 200
    assert bedrock.post("/v1/chat/completions", k, CHAT, headers=named).status_code == 200
    default = f"arn:aws:bedrock-mantle:us-east-1:{ACCOUNT['aws']}:project/default"
    _denied(bedrock.post("/v1/chat/completions", k, CHAT, headers=MANTLE), "bedrock-mantle:CreateInference", default)
    _denied(bedrock.get("/v1/models", k, headers={**MANTLE, "OpenAI-Project": "proj_third"}),
            "bedrock-mantle:ListModels", other.replace("proj_other", "proj_third"))
    bad = bedrock.get("/v1/models", k, headers={**MANTLE, "OpenAI-Project": "x:*/y"})
    assert bad.status_code == 400, bad.text


def test_an_explicit_deny_closes_mantle(bedrock, keys):
    user = keys.user("denied", ALLOW_MANTLE)
    keys.iam.put_user_policy(UserName=user, PolicyName="deny", PolicyDocument=json.dumps(policy(
        {"Effect": "Deny", "Action": "bedrock-mantle:CallWithBearerToken", "Resource": "*"})))
    k = keys.create(user)[0]
    message = _denied(bedrock.get("/v1/models", k, headers=MANTLE), "bedrock-mantle:CallWithBearerToken")
    assert message.endswith("with an explicit deny in an identity-based policy")


def test_bearer_token_type_condition_key_is_in_the_mantle_context(bedrock, keys):
    k = keys.key("lt", policy({"Effect": "Allow", "Action": "bedrock-mantle:*", "Resource": "*",
                              "Condition": {"StringEquals": {"bedrock-mantle:BearerTokenType": "LONG_TERM"}}}))
    assert bedrock.get("/v1/models", k, headers=MANTLE).status_code == 200
    k2 = keys.key("st", policy({"Effect": "Allow", "Action": "bedrock-mantle:*", "Resource": "*",
                               "Condition": {"StringEquals": {"bedrock-mantle:BearerTokenType": "SHORT_TERM"}}}))
    _denied(bedrock.get("/v1/models", k2, headers=MANTLE), "bedrock-mantle:CallWithBearerToken")


def test_a_bad_key_fails_authentication_on_mantle(bedrock):
    r = bedrock.get("/v1/models", "ABSKnotakey", headers=MANTLE)
    assert r.status_code == 403 and r.json() == AUTH_FAILED


def test_mantle_host_name_selects_the_surface_and_region(light, keys):
    k = keys.key("host", ALLOW_MANTLE)
    client = werkzeug.test.Client(bedrock_mod.bedrock_app)
    r = client.get("/v1/models", headers={"Authorization": f"Bearer {k}", "Host": "bedrock-mantle.us-west-2.api.aws"})
    assert r.status_code == 200, r.get_data(as_text=True)
    # behind a plain endpoint override (no surface header, as a client that is not the audit sends it) /v1/ is Mantle's
    assert client.get("/v1/models", headers={"Authorization": f"Bearer {k}"}).status_code == 200
    # the same path on a bedrock-runtime host is not Mantle
    r = client.get("/v1/models", headers={"Authorization": f"Bearer {k}",
                                          "Host": "bedrock-runtime.us-west-2.amazonaws.com"})
    assert r.status_code == 404


def test_aws_managed_mantle_policy_is_attachable_with_its_published_statements(light, bedrock, keys):
    """"AmazonBedrockMantleInferenceAccess", AWS Managed Policy Reference: Get*/List*/CreateInference on
    Mantle projects and CallWithBearerToken on "*" (AWS's later versions add web search and Marketplace)."""
    iam = keys.iam
    arn = f"arn:aws:iam::aws:policy/{scenarios.MANTLE_INFERENCE}"
    pol = iam.get_policy(PolicyArn=arn)["Policy"]
    doc = iam.get_policy_version(PolicyArn=arn, VersionId=pol["DefaultVersionId"])["PolicyVersion"]["Document"]
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert by_sid["BedrockMantleInference"]["Action"] == ["bedrock-mantle:Get*", "bedrock-mantle:List*",
                                                          "bedrock-mantle:CreateInference"]
    assert by_sid["BedrockMantleInference"]["Resource"] == "arn:aws:bedrock-mantle:*:*:project/*"
    assert by_sid["BedrockMantleCallWithBearerToken"]["Action"] == ["bedrock-mantle:CallWithBearerToken"]
    user = keys.user("managed", None)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    k = keys.create(user)[0]
    assert bedrock.get("/v1/models", k, headers=MANTLE).status_code == 200
    _denied(bedrock.get("/foundation-models", k), "bedrock:CallWithBearerToken")


@pytest.mark.parametrize("scenario, status", [("mantle_open", 200), ("mantle_closed_by_deny", 403), ("compliant", 403),
                                              ("guide", 200)])
def test_mantle_scenarios_by_an_actual_call(emulator, scenario, status):
    emulator.reset()
    emulator.apply(scenario)
    sm = emulator.client("secretsmanager", scenarios.SECRET_PARTITION)
    api_key = json.loads(sm.get_secret_value(SecretId=scenarios.SECRET_NAME)["SecretString"])["bedrock_api_key"]
    r = httpx.get(f"{emulator.url}/v1/models", headers={"Authorization": "Bearer " + api_key, **MANTLE}, timeout=10)
    assert r.status_code == status
    if status == 403:
        assert "bedrock-mantle:CallWithBearerToken" in r.json()["message"]
