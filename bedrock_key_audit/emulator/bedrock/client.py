"""What an SDK client needs to address the emulated Bedrock: the region header."""
from __future__ import annotations

from typing import Any

from bedrock_key_audit.emulator.bedrock.models import REGION_HEADER


def attach_region_header(client: Any) -> Any:
    """Make a botocore ``bedrock``/``bedrock-runtime`` client send ``x-emulator-region``.

    With ``endpoint_url`` pointing at the emulator, a bearer-token request carries no region
    (no SigV4 scope, Host is 127.0.0.1), so the emulator would assume us-east-1.
    """
    region = client.meta.region_name

    def add(request: Any, **_: Any) -> None:
        request.headers[REGION_HEADER] = region

    client.meta.events.register("before-sign.*.*", add)
    return client
