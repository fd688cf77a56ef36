"""The WSGI entry point of the emulated Bedrock: one bearer request from arrival to answer.

Order of a request: faults (``faults.py``) -> authentication (``models.authenticate``) ->
route (``urls.route``: identifier validation -> authorization -> on-demand check -> answer)
-> ``finish_call``, which every request passes exactly once, whatever its outcome.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from bedrock_key_audit.emulator import events, faults
from bedrock_key_audit.emulator.bedrock.exceptions import BedrockError
from bedrock_key_audit.emulator.bedrock.models import Ctx, authenticate
from bedrock_key_audit.emulator.bedrock.responses import error_response, json_response
from bedrock_key_audit.emulator.bedrock.urls import route


def finish_call(ctx: Ctx, status: int, error_type: str | None, started: float) -> None:
    """The one place where a bearer request ends, answered or refused (called from ``bedrock_app``'s ``finally``).

    ``ctx`` holds what is known by then, never the key: method, path, region, the key user
    (``user_arn``/``account_id``/``user_name``, None when authentication failed) and the
    operation (``operation``, None when no route matched).  Records the call in the call log
    (``faults.calls()``); a recorder of further traces of the call belongs here too.
    """
    faults.record(ctx.method, ctx.path, status, (time.perf_counter() - started) * 1000,
                  error_type=error_type, region=ctx.region, user_arn=ctx.user_arn)
    if ctx.surface != "mantle":  # what Mantle writes to CloudTrail is not documented (bedrock/mantle.py)
        events.record_bearer_call(ctx, status, error_type)  # CloudTrail event history (emulator/events.py); never raises


def _openai(ctx: Ctx) -> bool:
    """bedrock-runtime's OpenAI-compatible paths answer errors in OpenAI's shape (``runtime_openai``)."""
    from bedrock_key_audit.emulator.bedrock.runtime_openai import is_openai_path

    return ctx.surface != "mantle" and is_openai_path(ctx.path.rstrip("/"))


def bedrock_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """WSGI entry point for Bearer-authenticated Bedrock requests."""
    t0 = time.perf_counter()
    ctx = Ctx(environ)
    status = 500
    error_type: str | None = None
    try:
        stall, fault = faults.take(ctx.path)
        if stall is not None:
            faults.sleep(stall)
        if fault is not None and fault.kind == "malformed":
            data = b"<html><body>502 Bad Gateway: upstream sent an invalid response</body></html>"
            # Content-Type still claims JSON: what a broken proxy in front of an API looks like.
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
            status = 200
            return [data]
        if fault is not None:
            raise BedrockError(fault.status, fault.error_type or "InternalServerException", fault.message or "")
        authenticate(ctx)
        body, headers = route(ctx)
        status = 200
        return json_response(start_response, 200, body, headers)
    except BedrockError as err:
        status, error_type = err.status, err.error_type
        return error_response(start_response, err, openai=_openai(ctx))
    except Exception as exc:  # noqa: BLE001 -- never a traceback (it could carry request data) to the client
        status, error_type = 500, "InternalServerException"
        return error_response(start_response, BedrockError(
            500, "InternalServerException", f"The emulator failed: {type(exc).__name__}"), openai=_openai(ctx))
    finally:
        finish_call(ctx, status, error_type, t0)
