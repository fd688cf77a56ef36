"""The key and the region in the secret, as the workload will use them.

* A key with a trailing newline, surrounding spaces or a non-ASCII character is not an RFC 6750
  bearer token: ``secret.schema`` and ``secret.key_matches_credential`` fail with one sentence,
  the endpoint rows fail "it was not sent" -- and nothing crashes (httpx raised
  ``UnicodeEncodeError`` on a non-ASCII header before) and, also with ``pytest -l``, no fragment
  of the key reaches a record or the terminal.
* The endpoint rows call the region the secret names (that is where the workload goes): a
  commercial region with the model passes, one without it fails, a name that is not a
  commercial Bedrock region (botocore's endpoint data) fails, a missing region is ``error``.
"""
from __future__ import annotations

import base64
import json

import pytest

from bedrock_key_audit.emulator import faults
from tests.hostile.helpers import SECRET, audit, expect, records_text

SM = ("secretsmanager", "govcloud")
ENDPOINTS = ("endpoint.list_models", "endpoint.invoke")


def _current_key(emu) -> str:
    return json.loads(emu.client(*SM).get_secret_value(SecretId=SECRET)["SecretString"])["bedrock_api_key"]


def _fragments(key: str) -> list[str]:
    """Every 10-character window of the key's base64 body and of its decoded secret part."""
    body = key[4:]
    secret = base64.b64decode(body + "=" * (-len(body) % 4)).decode().partition(":")[2]
    return sorted({s[i:i + 10] for s in (body, secret) for i in range(len(s) - 9)})


def _run(pytester, capsys, value, *args):
    """Store ``value(real_key)`` as the secret's JSON; audit; return rows, planted key, and all output."""
    planted: dict[str, str] = {}

    def setup(emu):
        key = _current_key(emu)
        planted["key"] = key
        emu.client(*SM).put_secret_value(SecretId=SECRET, SecretString=json.dumps(value(key)))

    capsys.readouterr()
    rows = audit(pytester, setup, *args)
    out = capsys.readouterr()
    return rows, planted["key"], records_text(rows) + out.out + out.err


def _bedrock_calls():
    return [c for c in faults.calls() if "region" in c]


@pytest.mark.parametrize("mangle, sentence", [
    pytest.param(lambda k: k + "\n", "has leading or trailing whitespace", id="trailing-newline"),
    pytest.param(lambda k: "  " + k + " ", "has leading or trailing whitespace", id="surrounding-spaces"),
    pytest.param(lambda k: k[:30] + "é" + k[30:], "contains non-ASCII characters", id="non-ascii"),
])
def test_malformed_key_is_a_clear_fail_and_never_sent(pytester, capsys, mangle, sentence):
    faults.reset()
    rows, key, text = _run(pytester, capsys, lambda k: {"bedrock_api_key": mangle(k), "region": "us-east-1"}, "-l")
    expect(rows, {"secret.schema": ("fail", f"bedrock_api_key {sentence}"),
                  "secret.key_matches_credential": ("fail", sentence),
                  "endpoint.list_models": ("fail", "it was not sent"),
                  "endpoint.invoke": ("fail", "it was not sent"),
                  # nothing sent: whether Mantle would admit the credential behind it is unknown
                  "endpoint.unused_surfaces_closed": ("error", "it was not sent")})
    assert not _bedrock_calls(), "the malformed key was sent to Bedrock"
    leaks = [f for f in _fragments(key) if f in text]
    assert not leaks, f"{len(leaks)} fragments of the key leaked (with -l)"


def test_endpoints_call_the_region_the_secret_names(pytester, capsys):
    faults.reset()
    rows, _, _ = _run(pytester, capsys, lambda k: {"bedrock_api_key": k, "region": "us-west-2"})
    # invocation logging is judged where the key is used as well: compliant turned it on in us-east-1 only
    expect(rows, {"bedrock.invocation_logging": ("fail", "logging is off in us-west-2")})
    assert {c["region"] for c in _bedrock_calls()} == {"us-west-2"}


def test_region_without_the_model_fails_the_endpoints(pytester, capsys):
    # eu-west-1 offers Bedrock (botocore), but the emulator's catalogue has no Claude 3.5 there:
    # probing the configured us-east-1 instead would have passed
    rows, _, _ = _run(pytester, capsys, lambda k: {"bedrock_api_key": k, "region": "eu-west-1"})
    expect(rows, {"endpoint.list_models": ("fail", "does not list"),
                  "endpoint.invoke": ("fail", "model not available"),
                  "bedrock.invocation_logging": ("fail", "logging is off in eu-west-1")})


@pytest.mark.parametrize("region", ["us-west-9", "us-east-1\n"], ids=["not-a-bedrock-region", "trailing-newline"])
def test_region_that_is_no_commercial_bedrock_region_fails(pytester, capsys, region):
    faults.reset()
    rows, _, _ = _run(pytester, capsys, lambda k: {"bedrock_api_key": k, "region": region})
    expect(rows, {"secret.schema": ("fail", "region is not a commercial AWS region"),
                  "endpoint.list_models": ("fail", "is not a commercial AWS region where Amazon Bedrock is offered"),
                  "endpoint.invoke": ("fail", "is not a commercial AWS region where Amazon Bedrock is offered"),
                  "endpoint.unused_surfaces_closed": ("error", "was not probed")})
    # the key itself was still confirmed live, in the audit's configured region
    assert {c["region"] for c in _bedrock_calls()} == {"us-east-1"}
