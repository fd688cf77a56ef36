"""Bedrock endpoint under fault: a setup problem ends ``fail``, an endpoint we could not ask ends
``error`` (checks/test_endpoint.py: bad key / forbidden / model unavailable fail; throttled,
timeout, network, 5xx and malformed answers error) -- never ``pass``.

``secret.key_matches_credential`` asks Bedrock whether the stored key is the live one, so an
endpoint that cannot answer leaves that row ``error`` too.
"""
from __future__ import annotations

import os
import socket

from bedrock_key_audit.emulator import faults
from tests.hostile.helpers import FAST_ENDPOINT, audit, expect, write_config

KEY_ROW = "secret.key_matches_credential"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _point_bedrock_at(url: str):
    def setup(emu):
        # after the emulator plugin set them; the plugin restores both at the end of the run
        os.environ["AWS_ENDPOINT_URL_BEDROCK"] = url
        os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = url
    return setup


def _unreachable(rows, text):
    # the faults hit every bearer path, Mantle's GET /v1/models too: whether Mantle admits the key is unknown
    expect(rows, {"endpoint.list_models": ("error", text), "endpoint.invoke": ("error", text),
                  KEY_ROW: ("error", text), "endpoint.unused_surfaces_closed": ("error", text)})


def test_endpoint_stall_longer_than_timeout_errors(pytester):
    rows = audit(pytester, lambda emu: faults.stall(seconds=3, n=None), write_config(pytester, FAST_ENDPOINT))
    _unreachable(rows, "no answer within 0.5s")


# The Bedrock endpoint is also the control plane that answers GetModelInvocationLoggingConfiguration
# (bedrock.<region>.amazonaws.com): unreachable, bedrock.invocation_logging cannot look either.
def test_endpoint_connection_refused_errors(pytester):
    rows = audit(pytester, _point_bedrock_at(f"http://127.0.0.1:{_closed_port()}"))
    expect(rows, {"endpoint.list_models": ("error", "connection failed"), "endpoint.invoke": ("error", "connection failed"),
                  KEY_ROW: ("error", "connection failed"),
                  "bedrock.invocation_logging": ("error", "could not reach bedrock")})


def test_endpoint_tls_failure_errors(pytester, emulator):
    # https:// to the emulator's plain-http port: the TLS handshake gets an HTTP answer
    rows = audit(pytester, _point_bedrock_at(f"https://127.0.0.1:{emulator.port}"))
    expect(rows, {"endpoint.list_models": ("error", "TLS handshake failed"),
                  "endpoint.invoke": ("error", "TLS handshake failed"), KEY_ROW: ("error", "TLS handshake failed"),
                  "bedrock.invocation_logging": ("error", "GetModelInvocationLoggingConfiguration")})


# two attempts show the retry without paying for the default three
RETRY_TWICE = "[endpoint]\ntimeout_seconds = 2\nmax_attempts = 2\n"


def test_endpoint_5xx_past_retries_errors(pytester):
    rows = audit(pytester, lambda emu: faults.fail(status=503, n=None), write_config(pytester, RETRY_TWICE))
    _unreachable(rows, "server error 503 ServiceUnavailableException (after 2 attempts)")


def test_endpoint_malformed_json_body_errors(pytester):
    # not retried, so the default budget costs nothing (and a loaded machine cannot turn it into a timeout)
    rows = audit(pytester, lambda emu: faults.malformed(n=None))
    _unreachable(rows, "answered 200 with a body that is not JSON")


def test_endpoint_throttled_past_retries_errors(pytester):
    rows = audit(pytester, lambda emu: faults.throttle(n=None), write_config(pytester, RETRY_TWICE))
    _unreachable(rows, "throttled (ThrottlingException) (after 2 attempts)")


def test_endpoint_429_burst_is_absorbed_by_retries(pytester):
    rows = audit(pytester, lambda emu: faults.throttle(n=2))
    expect(rows, {})
    assert any(c["status"] == 429 for c in faults.calls()) and any(c["status"] == 200 for c in faults.calls())


def test_endpoint_model_unavailable_fails(pytester):
    cfg = write_config(pytester, '[endpoint]\nmodel_id = "anthropic.claude-nonexistent-v9:0"\n')
    rows = audit(pytester, None, cfg)
    expect(rows, {"endpoint.list_models": ("fail", "does not list anthropic.claude-nonexistent-v9:0"),
                  "endpoint.invoke": ("fail", "model not available")})


def test_runtime_openai_under_fault_errors_and_never_passes(pytester):
    """bedrock-runtime's /openai/v1 in use: a 503 past retries there leaves endpoint.invoke ``error``
    (the other rows, whose paths answer, keep their verdicts)."""
    rows = audit(pytester, lambda emu: faults.fail(status=503, n=None, path_prefix="/openai/v1"),
                 write_config(pytester, RETRY_TWICE + 'surfaces = ["runtime-openai"]\n'))
    # a runtime-openai-only workload needs no inference-profile actions: the guide's grant of them is extra
    expect(rows, {"endpoint.invoke": ("error", "server error 503 ServiceUnavailableException (after 2 attempts)"),
                  "iam.policy_least_privilege": ("fail", "bedrock:CreateInferenceProfile (Write)")})
