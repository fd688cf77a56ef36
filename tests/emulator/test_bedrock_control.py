"""Bedrock control plane with an API key: foundation models and inference profiles."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from bedrock_key_audit.emulator import bedrock_catalog as catalog

from .test_bedrock_helpers import (  # noqa: F401  (fixtures)
    ACCOUNT, CLAUDE_35, OPUS_41, SONNET_4, SONNET_45, assert_error, readonly,
)


# Read-only tests: one emulator reset and one key per partition for the whole module.
@pytest.fixture
def bedrock(readonly):
    return readonly.bedrock


@pytest.fixture
def key(readonly):
    return readonly.key


@pytest.fixture
def gkey(readonly):
    return readonly.gov_key

SUMMARY_FIELDS = {"modelArn", "modelId", "modelName", "providerName", "inputModalities", "outputModalities",
                  "customizationsSupported", "inferenceTypesSupported", "modelLifecycle"}
PROFILE_FIELDS = {"inferenceProfileName", "inferenceProfileArn", "inferenceProfileId", "models", "status", "type",
                  "description", "createdAt", "updatedAt"}


def _ids(r):
    assert r.status_code == 200, r.text
    return [m["modelId"] for m in r.json()["modelSummaries"]]


def test_list_foundation_models_commercial(bedrock, key):
    r = bedrock.get("/foundation-models", key)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    models = r.json()["modelSummaries"]
    by_id = {m["modelId"]: m for m in models}
    for model_id in (CLAUDE_35, OPUS_41, SONNET_4, "amazon.titan-embed-text-v2:0", "meta.llama3-8b-instruct-v1:0",
                     "amazon.nova-pro-v1:0"):
        assert model_id in by_id
    for m in models:
        assert SUMMARY_FIELDS <= set(m)
        assert m["modelArn"] == f"arn:aws:bedrock:us-east-1::foundation-model/{m['modelId']}"
        assert m["modelLifecycle"]["status"] in ("ACTIVE", "LEGACY")
    assert by_id[CLAUDE_35]["providerName"] == "Anthropic"
    assert "ON_DEMAND" in by_id[CLAUDE_35]["inferenceTypesSupported"]
    assert by_id[OPUS_41]["inferenceTypesSupported"] == ["INFERENCE_PROFILE"]
    assert by_id[CLAUDE_35]["responseStreamingSupported"] is True
    assert "responseStreamingSupported" not in by_id["amazon.titan-embed-text-v2:0"]


def test_list_foundation_models_govcloud(bedrock, gkey):
    ids = _ids(bedrock.get("/foundation-models", gkey, region="us-gov-west-1"))
    assert CLAUDE_35 in ids and SONNET_45 in ids
    assert OPUS_41 not in ids  # not offered in GovCloud
    r = bedrock.get("/foundation-models", gkey, region="us-gov-west-1")
    for m in r.json()["modelSummaries"]:
        assert m["modelArn"].startswith("arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/")


def test_region_comes_from_an_aws_host_name(bedrock, key):
    r = bedrock.get("/foundation-models", key, headers={"Host": "bedrock.us-west-2.amazonaws.com"})
    arns = [m["modelArn"] for m in r.json()["modelSummaries"]]
    assert arns and all(a.startswith("arn:aws:bedrock:us-west-2::") for a in arns)
    # The Host wins over the header; us-east-2 has no Llama 3 8B.
    r = bedrock.get("/foundation-models", key, region="us-west-2",
                    headers={"Host": "bedrock-runtime-fips.us-east-2.amazonaws.com"})
    assert "meta.llama3-8b-instruct-v1:0" not in _ids(r)
    assert r.json()["modelSummaries"][0]["modelArn"].startswith("arn:aws:bedrock:us-east-2::")


@pytest.mark.parametrize("params, expect_in, expect_out", [
    ({"byProvider": "Anthropic"}, [CLAUDE_35, OPUS_41], ["amazon.nova-pro-v1:0"]),
    ({"byProvider": "meta"}, ["meta.llama3-8b-instruct-v1:0"], [CLAUDE_35]),
    ({"byCustomizationType": "FINE_TUNING"}, ["amazon.titan-text-express-v1"], [CLAUDE_35]),
    ({"byCustomizationType": "DISTILLATION"}, ["amazon.nova-pro-v1:0"], ["amazon.titan-text-express-v1"]),
    ({"byOutputModality": "EMBEDDING"}, ["amazon.titan-embed-text-v2:0"], [CLAUDE_35]),
    ({"byOutputModality": "IMAGE"}, ["amazon.titan-image-generator-v2:0"], [CLAUDE_35]),
    ({"byInferenceType": "ON_DEMAND"}, [CLAUDE_35, "amazon.nova-pro-v1:0"], [OPUS_41, SONNET_4]),
    ({"byInferenceType": "PROVISIONED"}, ["amazon.titan-image-generator-v2:0"], [CLAUDE_35]),
    ({"byProvider": "Anthropic", "byInferenceType": "ON_DEMAND"}, [CLAUDE_35], [OPUS_41, "amazon.nova-pro-v1:0"]),
])
def test_list_filters(bedrock, key, params, expect_in, expect_out):
    ids = _ids(bedrock.get("/foundation-models", key, params=params))
    for i in expect_in:
        assert i in ids
    for o in expect_out:
        assert o not in ids


def test_filters_match_the_catalog(bedrock, key):
    everything = bedrock.get("/foundation-models", key).json()["modelSummaries"]
    for modality in catalog.MODALITIES:
        ids = _ids(bedrock.get("/foundation-models", key, params={"byOutputModality": modality}))
        assert ids == [m["modelId"] for m in everything if modality in m["outputModalities"]]


@pytest.mark.parametrize("params", [{"byOutputModality": "AUDIO"}, {"byInferenceType": "on_demand"},
                                    {"byCustomizationType": "X"}, {"byProvider": "bad/provider"}])
def test_list_bad_filter_is_a_validation_error(bedrock, key, params):
    assert_error(bedrock.get("/foundation-models", key, params=params), 400, "ValidationException",
                 "failed to satisfy constraint")


@pytest.mark.parametrize("ident", [CLAUDE_35, quote(CLAUDE_35, safe=""), OPUS_41,
                                   quote(f"arn:aws:bedrock:us-east-1::foundation-model/{CLAUDE_35}", safe="")])
def test_get_foundation_model(bedrock, key, ident):
    r = bedrock.get(f"/foundation-models/{ident}", key)
    assert r.status_code == 200, r.text
    d = r.json()["modelDetails"]
    assert SUMMARY_FIELDS <= set(d)
    assert d["modelArn"] == f"arn:aws:bedrock:us-east-1::foundation-model/{d['modelId']}"


@pytest.mark.parametrize("ident", ["anthropic.claude-9", quote(f"arn:aws:bedrock:us-west-2::foundation-model/{CLAUDE_35}", safe=""),
                                   "us.anthropic.claude-opus-4-1-20250805-v1:0"])
def test_get_unknown_foundation_model(bedrock, key, ident):
    assert_error(bedrock.get(f"/foundation-models/{ident}", key), 404, "ResourceNotFoundException")


def test_list_inference_profiles(bedrock, key):
    r = bedrock.get("/inference-profiles", key)
    assert r.status_code == 200
    body = r.json()
    assert "nextToken" not in body
    profiles = body["inferenceProfileSummaries"]
    by_id = {p["inferenceProfileId"]: p for p in profiles}
    assert f"us.{OPUS_41}" in by_id and f"us.{SONNET_4}" in by_id
    for p in profiles:
        assert PROFILE_FIELDS <= set(p)
        assert p["type"] == "SYSTEM_DEFINED" and p["status"] == "ACTIVE"
        assert p["inferenceProfileId"].startswith("us.")
        assert p["inferenceProfileArn"] == (
            f"arn:aws:bedrock:us-east-1:{ACCOUNT['aws']}:inference-profile/{p['inferenceProfileId']}")
        model_id = p["inferenceProfileId"][3:]
        assert [m["modelArn"] for m in p["models"]] == [
            f"arn:aws:bedrock:{r}::foundation-model/{model_id}" for r in ("us-east-1", "us-east-2", "us-west-2")
            if f"{r}" in catalog.model(model_id, "us-east-1").regions]


def test_inference_profiles_govcloud(bedrock, gkey):
    r = bedrock.get("/inference-profiles", gkey, region="us-gov-west-1")
    profiles = r.json()["inferenceProfileSummaries"]
    ids = {p["inferenceProfileId"] for p in profiles}
    assert f"us-gov.{SONNET_45}" in ids and f"us.{SONNET_45}" not in ids
    for p in profiles:
        assert p["inferenceProfileArn"].startswith(f"arn:aws-us-gov:bedrock:us-gov-west-1:{ACCOUNT['aws-us-gov']}:")
        assert all(m["modelArn"].startswith("arn:aws-us-gov:bedrock:us-gov-") for m in p["models"])


def test_inference_profiles_pagination(bedrock, key):
    everything = bedrock.get("/inference-profiles", key).json()["inferenceProfileSummaries"]
    assert len(everything) > 3
    seen, token, pages = [], None, 0
    while True:
        params = {"maxResults": 3, **({"nextToken": token} if token else {})}
        body = bedrock.get("/inference-profiles", key, params=params).json()
        assert len(body["inferenceProfileSummaries"]) <= 3
        seen += body["inferenceProfileSummaries"]
        pages += 1
        token = body.get("nextToken")
        if not token:
            break
    assert seen == everything
    assert pages == -(-len(everything) // 3)


@pytest.mark.parametrize("params", [{"maxResults": 0}, {"maxResults": 1001}, {"maxResults": "x"},
                                    {"nextToken": "not-a-token"}, {"type": "BOTH"}])
def test_inference_profiles_bad_params(bedrock, key, params):
    assert_error(bedrock.get("/inference-profiles", key, params=params), 400, "ValidationException")


def test_inference_profiles_by_type(bedrock, key):
    system = bedrock.get("/inference-profiles", key, params={"type": "SYSTEM_DEFINED"}).json()
    assert system["inferenceProfileSummaries"]
    app = bedrock.get("/inference-profiles", key, params={"type": "APPLICATION"}).json()
    assert app["inferenceProfileSummaries"] == []


def test_next_token_is_bound_to_its_region(bedrock, key, gkey):
    token = bedrock.get("/inference-profiles", key, params={"maxResults": 1}).json()["nextToken"]
    r = bedrock.get("/inference-profiles", gkey, region="us-gov-west-1", params={"nextToken": token})
    assert_error(r, 400, "ValidationException")


@pytest.mark.parametrize("ident", [f"us.{OPUS_41}",
                                   quote(f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{OPUS_41}", safe="")])
def test_get_inference_profile(bedrock, key, ident):
    r = bedrock.get(f"/inference-profiles/{ident}", key)
    assert r.status_code == 200, r.text
    assert r.json()["inferenceProfileId"] == f"us.{OPUS_41}"


def test_get_unknown_inference_profile(bedrock, key):
    assert_error(bedrock.get(f"/inference-profiles/eu.{OPUS_41}", key), 404, "ResourceNotFoundException")
    other_account = quote(f"arn:aws:bedrock:us-east-1:999999999999:inference-profile/us.{OPUS_41}", safe="")
    assert_error(bedrock.get(f"/inference-profiles/{other_account}", key), 404, "ResourceNotFoundException")


@pytest.mark.parametrize("method, path", [("GET", "/custom-models"), ("POST", "/foundation-models"),
                                          ("GET", "/model/x/invoke"), ("POST", f"/model/{CLAUDE_35}/converse-stream")])
def test_unknown_operation(bedrock, key, method, path):
    r = bedrock.get(path, key) if method == "GET" else bedrock.post(path, key, {})
    assert_error(r, 404, "UnknownOperationException")
