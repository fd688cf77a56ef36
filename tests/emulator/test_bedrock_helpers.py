"""Shared fixtures and helpers for the ``test_bedrock_*`` modules (no tests here).

Kept in a ``test_bedrock_*`` module because that is the file pattern the Bedrock part of the
emulator owns; the other modules import the fixtures from it.
"""
from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
import pytest

from bedrock_key_audit.emulator import clock, faults

BEDROCK = "bedrock.amazonaws.com"
CLAUDE_35 = "anthropic.claude-3-5-sonnet-20240620-v1:0"
OPUS_41 = "anthropic.claude-opus-4-1-20250805-v1:0"
SONNET_4 = "anthropic.claude-sonnet-4-20250514-v1:0"
SONNET_45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
AUTH_FAILED = {"Message": "Authentication failed: Please make sure your API Key is valid."}
ACCOUNT = {"aws": "123456789012", "aws-us-gov": "210987654321"}

ALLOW_ALL_BEDROCK = {"Version": "2012-10-17",
                     "Statement": [{"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"}]}
CONVERSE_BODY = {"messages": [{"role": "user", "content": [{"text": "Hello there"}]}]}
ANTHROPIC_BODY = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
                  "messages": [{"role": "user", "content": "Hello"}]}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


class Bedrock:
    """httpx against the emulator with a bearer key; ``region`` goes in ``x-emulator-region``."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=10)

    def _headers(self, key: str | None, region: str | None, extra: dict[str, str] | None) -> dict[str, str]:
        h = {"Accept": "application/json"}
        if key is not None:
            h["Authorization"] = f"Bearer {key}"
        if region:
            h["x-emulator-region"] = region
        h.update(extra or {})
        return h

    def get(self, path: str, key: str | None, region: str | None = None, params: Any = None,
            headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers=self._headers(key, region, headers), **kw)

    def post(self, path: str, key: str | None, body: Any = None, region: str | None = None,
             content: bytes | None = None, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        if content is None:
            content = json.dumps(body if body is not None else {}).encode()
        h = self._headers(key, region, {"Content-Type": "application/json", **(headers or {})})
        return self.http.post(path, content=content, headers=h, **kw)

    def converse(self, model: str, key: str, region: str | None = None, body: Any = None) -> httpx.Response:
        return self.post(f"/model/{model}/converse", key, CONVERSE_BODY if body is None else body, region)

    def invoke(self, model: str, key: str, body: Any = None, region: str | None = None) -> httpx.Response:
        return self.post(f"/model/{model}/invoke", key, ANTHROPIC_BODY if body is None else body, region)

    def close(self) -> None:
        self.http.close()


_names = itertools.count(1)


def unique(name: str) -> str:
    """IAM names are unique per test although the emulator is reset only once per module."""
    return f"{name}-{next(_names)}"


class Keys:
    """Creates IAM users with policies and Bedrock API keys in one partition of the emulator.

    ``user(name)`` returns the real (uniquified) user name: use that, not ``name``.
    """

    def __init__(self, emu: Any, partition: str = "commercial") -> None:
        self.iam = emu.client("iam", partition)

    def user(self, name: str = "bedrock-user", inline: dict[str, Any] | None = ALLOW_ALL_BEDROCK,
             exact: bool = False) -> str:
        name = name if exact else unique(name)
        self.iam.create_user(UserName=name)
        if inline is not None:
            self.iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(inline))
        return name

    def create(self, user: str, **kw: Any) -> tuple[str, str]:
        """(key, credential id)."""
        c = self.iam.create_service_specific_credential(UserName=user, ServiceName=BEDROCK, **kw)
        c = c["ServiceSpecificCredential"]
        return c["ServiceCredentialSecret"], c["ServiceSpecificCredentialId"]

    def key(self, name: str = "bedrock-user", inline: dict[str, Any] | None = ALLOW_ALL_BEDROCK, **kw: Any) -> str:
        return self.create(self.user(name, inline), **kw)[0]


@pytest.fixture(scope="module")
def module_emu(emulator):
    """The emulator, reset once per module (a reset costs ~0.3 s: moto rebuilds IAM)."""
    emulator.reset()
    return emulator


@pytest.fixture
def light(module_emu):
    """Per test: clock and faults reset, IAM state kept (tests use unique names instead)."""
    clock.reset()
    faults.reset()
    yield module_emu
    clock.reset()
    faults.reset()


@pytest.fixture
def bedrock(light):
    client = Bedrock(light.url)
    yield client
    client.close()


@pytest.fixture
def keys(light) -> Keys:
    return Keys(light)


@pytest.fixture
def gov_keys(light) -> Keys:
    return Keys(light, "govcloud")


@pytest.fixture
def key(keys) -> str:
    """A key whose user may do ``bedrock:*``."""
    return keys.key()


def assert_auth_failed(r: httpx.Response, key: str | None = None) -> None:
    assert r.status_code == 403
    assert r.headers.get("x-amzn-ErrorType") == "AccessDeniedException"
    assert r.json() == AUTH_FAILED
    if key:
        echoed = key in r.text or any(key in v for v in r.headers.values())
        assert not echoed, "the response echoes the API key"


def assert_error(r: httpx.Response, status: int, error_type: str, contains: str = "") -> str:
    assert r.status_code == status, r.text
    assert r.headers.get("x-amzn-ErrorType") == error_type
    message = r.json().get("message")
    assert isinstance(message, str) and contains in message, message
    return message


class ReadOnly:
    """Module-scoped state for read-only tests: one reset, one key per partition."""

    def __init__(self, emulator: Any) -> None:
        emulator.reset()
        self.emu = emulator
        self.bedrock = Bedrock(emulator.url)
        self.key = Keys(emulator).key()
        self.gov_key = Keys(emulator, "govcloud").key()


@pytest.fixture(scope="module")
def readonly(emulator):
    """For modules whose tests only read: saves the per-test reset (~0.3 s each)."""
    state = ReadOnly(emulator)
    yield state
    state.bedrock.close()
