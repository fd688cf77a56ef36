"""The Bedrock routing table names the operation (CloudTrail's eventName) before its handler runs."""
from __future__ import annotations

import io
from typing import Any

import pytest

from bedrock_key_audit.emulator.bedrock import BedrockError, Ctx, route


def _ctx(method: str, path: str, query: str = "", body: bytes = b"") -> Ctx:
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
                               "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    return Ctx(environ)


@pytest.mark.parametrize("method, path, query, operation, status", [
    # each request fails validation inside its handler, before any IAM or catalog lookup
    ("GET", "/foundation-models", "byOutputModality=SMELL", "ListFoundationModels", 400),
    ("GET", "/inference-profiles", "maxResults=0", "ListInferenceProfiles", 400),
    ("POST", "/model/anthropic.claude-3-5-sonnet-20240620-v1:0/invoke", "", "InvokeModel", 400),
    ("POST", "/model/anthropic.claude-3-5-sonnet-20240620-v1:0/converse", "", "Converse", 400),
    ("POST", "/model/m/converse-stream", "", None, 404),
    ("GET", "/model/m/invoke", "", None, 404),
    ("GET", "/foundation-models/", "byOutputModality=SMELL", "ListFoundationModels", 400),  # trailing /
    ("DELETE", "/foundation-models", "", None, 404),
])
def test_route_names_the_operation(method: str, path: str, query: str, operation: str | None, status: int) -> None:
    ctx = _ctx(method, path, query, body=b"not json" if method == "POST" else b"")
    with pytest.raises(BedrockError) as err:
        route(ctx)
    assert (ctx.operation, err.value.status) == (operation, status)
