"""The verdicts of the endpoint.* checks (called by the marked checks in checks/test_endpoint.py).

Each function is named after its check id (``endpoint.<name>`` -> :func:`<name>`) and takes the
``check`` recorder and the plain inventory data the check reads, so it can be tested on
hand-built objects (tests/unit/test_endpoint.py) with no emulator.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bedrock_key_audit.fixtures.checks import CouldNotDecide
from bedrock_key_audit.inventory.keys import decode_key

if TYPE_CHECKING:
    from bedrock_key_audit.fixtures.checks import Check
    from bedrock_key_audit.fixtures.config import AuditConfig
    from bedrock_key_audit.inventory.models import HttpProbe
    from bedrock_key_audit.inventory.reader import Inventory

# The setup is wrong (fail) vs. we could not find out (error).  ``malformed_key``: the secret's
# key is not a bearer token (whitespace, non-ASCII), so it was not sent and no workload can send
# it; ``bad_region``: the secret names a region that is not a commercial Bedrock region.  The
# probes call the region the secret names (bedrock_key_audit.inventory.reader.Inventory.probe_region): that is
# where the workload's calls go; a secret without a region ends ``error`` (region unknown).
FAIL_CLASSES = {"bad_key", "forbidden", "model_unavailable", "client_error", "malformed_key", "bad_region"}
# Inference-profile ids carry a geography prefix in front of the model id.
PROFILE_PREFIX = re.compile(r"^(us|eu|apac|us-gov|global|jp|au|ca)\.")


def _wrong_field(inventory: Inventory) -> str | None:
    """Why a refused key is no key at all: the secret holds something that is not a long-term
    Bedrock API key (``ABSK…``).  Following the setup guide's step 4 to the letter stores
    ``ServicePassword``, which a Bedrock credential does not have (its key is
    ``ServiceCredentialSecret``; botocore's IAM model), so "rotate it" would miss the point."""
    try:
        kind = decode_key(inventory.bearer_key()).kind
    except CouldNotDecide:
        return None
    if kind == "long-term":
        return None
    if kind == "short-term":
        return ("the secret holds a short-term key (valid for at most 12 hours), not a long-term one: store the "
                "ServiceCredentialSecret of a bedrock.amazonaws.com credential (see secret.schema)")
    return ("the secret holds no long-term Bedrock API key, so it holds the wrong field: store the "
            "ServiceCredentialSecret of a bedrock.amazonaws.com credential (not ServicePassword; see secret.schema)")


def _verdict(check: Check, probe: HttpProbe, what: str, inventory: Inventory | None = None) -> None:
    check.resource = probe.url
    check.evidence(f"http:{probe.name}", {"url": probe.url, "status": probe.status, "class": probe.classification,
                                          "message": probe.message, "attempts": probe.attempts})
    if probe.classification == "ok":
        return
    text = f"{what} with the key from the secret: {probe.message}"
    if probe.classification == "bad_key" and inventory is not None and (why := _wrong_field(inventory)):
        text = f"{what} with the key from the secret: the key was refused; {why}"
    if probe.classification in FAIL_CLASSES:
        check.fail(text)
    raise CouldNotDecide(text)


def list_models(check: Check, inventory: Inventory, audit_config: AuditConfig, key_owner: str) -> None:
    probe = inventory.list_models()
    _verdict(check, probe, "GET /foundation-models", inventory)
    model = PROFILE_PREFIX.sub("", audit_config.model_id)
    body = probe.body if isinstance(probe.body, dict) else {}
    summaries = body.get("modelSummaries")
    if not isinstance(summaries, list):
        raise CouldNotDecide("GET /foundation-models answered 200 without a modelSummaries list")
    ids = {m.get("modelId") for m in summaries if isinstance(m, dict)}
    check.require(model in ids, f"GET /foundation-models answered 200 but does not list {model} "
                                f"({len(ids)} models listed); choose an available model")
    check.passed(f"GET /foundation-models answered 200 and lists {model} ({len(ids)} models)")


def invoke(check: Check, inventory: Inventory, audit_config: AuditConfig, key_owner: str) -> None:
    probe = inventory.invoke()
    _verdict(check, probe, f"converse with {audit_config.model_id}", inventory)
    body = probe.body if isinstance(probe.body, dict) else {}
    if "output" not in body:
        raise CouldNotDecide(f"converse with {audit_config.model_id} answered 200 without an output")
    check.passed(f"converse with {audit_config.model_id} answered 200 (stopReason {body.get('stopReason')})")
