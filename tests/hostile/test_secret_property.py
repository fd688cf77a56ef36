"""Property: ``secret_shape_problems`` (checks/test_secret.py) never crashes on any JSON, never
passes a shape the schema refuses, never refuses one the schema and the key rules accept,
and never quotes a value.

The oracle is jsonschema itself on schemas/secret.schema.json, plus the rules the schema
cannot say: a short-term key (``bedrock-api-key-...``) is refused, a long-term key must
decode to ``<identity>:<secret>`` (bedrock_key_audit.inventory.keys.decode_key), and the region must be a
commercial region where botocore's endpoint data lists Bedrock (read here straight from
``endpoints.json``, not through the audit's helper).
"""
from __future__ import annotations

import base64
import json

import botocore.loaders
import jsonschema
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bedrock_key_audit.verdicts.secret import SCHEMA_PATH, secret_shape_problems
from bedrock_key_audit.inventory.keys import decode_key

SCHEMA = json.loads(SCHEMA_PATH.read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def _bedrock_regions_from_endpoints_json() -> set[str]:
    aws = next(p for p in botocore.loaders.create_loader().load_data("endpoints")["partitions"] if p["partition"] == "aws")
    return set(aws["services"]["bedrock"]["endpoints"]) & set(aws["regions"])


BEDROCK_REGIONS = _bedrock_regions_from_endpoints_json()

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
any_json = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


long_term = st.builds(lambda user, acct, secret: "ABSK" + _b64(f"{user}-at-{acct}:{secret}"),
                      st.from_regex(r"[a-z][a-z0-9+=,.@_-]{0,20}", fullmatch=True),
                      st.from_regex(r"[0-9]{12}", fullmatch=True), st.text(min_size=1, max_size=40))
short_term = st.builds(lambda s: "bedrock-api-key-" + _b64(s), st.text(min_size=1, max_size=60))
key_like = long_term | short_term | long_term.map(lambda k: k + "\n") | long_term.map(lambda k: " " + k) \
    | long_term.map(lambda k: k[:9] + "é" + k[9:]) | st.builds(lambda s: "ABSK" + s, st.text(max_size=40)) | st.text(max_size=60) \
    | st.builds(lambda s: "ABSK" + _b64(s), st.text(max_size=40)) | json_scalars
region_like = st.sampled_from(["us-east-1", "eu-west-3", "us-gov-west-1", "mars-1", "", "US-EAST-1", "us-east-1\n",
                                " us-east-1", "us-west-9", "ap-east-1", "cn-north-1", "eu-west-1"]) | st.text(max_size=16) | json_scalars
field_name = st.sampled_from(["bedrock_api_key", "region", "ServicePassword", "note"]) | st.text(max_size=10)
near_valid = st.dictionaries(field_name, key_like | region_like | any_json, max_size=4) | st.fixed_dictionaries(
    {"bedrock_api_key": key_like, "region": region_like})
documents = near_valid | any_json


def oracle_ok(data) -> bool:
    if not VALIDATOR.is_valid(data):
        return False
    return decode_key(data["bedrock_api_key"]).kind == "long-term" and data["region"] in BEDROCK_REGIONS


def _values(data):
    if isinstance(data, dict):
        for v in data.values():
            yield from _values(v)
    elif isinstance(data, list):
        for v in data:
            yield from _values(v)
    elif isinstance(data, str):
        yield data


def _replaced(data, value, by):
    if isinstance(data, dict):
        return {k: _replaced(v, value, by) for k, v in data.items()}
    if isinstance(data, list):
        return [_replaced(v, value, by) for v in data]
    return by if data == value else data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
@example({"bedrock_api_key": "ABSK" + _b64("bob-at-123456789012:s3cr3t-value"), "region": "us-east-1"})
@example({"bedrock_api_key": "bedrock-api-key-" + _b64("https://bedrock.amazonaws.com/?X-Amz-Signature=x"), "region": "us-east-1"})
@example({"bedrock_api_key": "", "region": "us-east-1"})
@example({"bedrock_api_key": "ABSK" + _b64("bob-at-123456789012:s3cr3t-value") + "\n", "region": "us-east-1"})
@example({"bedrock_api_key": "ABSK" + _b64("bob-at-123456789012:s3cr3t-value"), "region": "us-east-1\n"})
@example({"bedrock_api_key": "ABSK" + _b64("bob-at-123456789012:s3cr3t-value"), "region": "us-west-9"})
@example({"bedrock_api_key": "ABSKé" + _b64("bob-at-123456789012:s3cr3t-value"), "region": "us-east-1"})
@example({"bedrock_api_key": 0, "region": "commer"})  # a value that is a word of the message's own wording
def test_shape_verdict_agrees_with_the_schema(data):
    text = json.dumps(data)
    problems = secret_shape_problems(text)
    assert isinstance(problems, list) and all(isinstance(p, str) and p for p in problems)
    assert (problems == []) == oracle_ok(data), (problems, VALIDATOR.is_valid(data))
    # never a value: every string of 6+ characters that is not a field name stays out.  A value may
    # still be part of the messages' own wording ("commer" in "commercial"): it leaks when it appears
    # more often than with that value replaced by another string of its length
    names = set(SCHEMA["properties"]) | (set(data) if isinstance(data, dict) else set())
    said = " | ".join(problems)
    for v in _values(data):
        if len(v) >= 6 and v not in names and not any(v in n for n in names) and v in said:
            wording = " | ".join(secret_shape_problems(json.dumps(_replaced(data, v, "\u2593" * len(v)))))
            assert said.count(v) <= wording.count(v), (v, problems)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=100).map(lambda b: b.decode("latin-1")))
def test_any_text_never_crashes_and_non_json_is_refused(text):
    problems = secret_shape_problems(text)
    try:
        json.loads(text)
    except ValueError:
        assert problems == ["the secret is not JSON"]
