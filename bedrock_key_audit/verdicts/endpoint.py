"""The verdicts of the endpoint.* checks (called by the marked checks in checks/test_endpoint.py).

Each function is named after its check id (``endpoint.<name>`` -> :func:`<name>`) and takes the
``check`` recorder and the plain inventory data the check reads, so it can be tested on
hand-built objects (tests/unit/test_endpoint.py) with no emulator.
"""
from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.checkcore import verdict
from bedrock_key_audit.inventory.keys import decode_key

if TYPE_CHECKING:
    from bedrock_key_audit.checkcore import Check
    from bedrock_key_audit.config import AuditConfig
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


def scp_cause(inventory: Inventory, action: str, key_owner: str) -> str | None:
    """The SCP of the key user's account that refuses ``action`` to a long-term API-key call, as one
    clause ("refused: SCP <name> (p-…) attached to <target> … denies <action> to this long-term key's calls"),
    or None when the SCPs were not read, let the call through, or leave it undecided.  Sources:
    "SCP evaluation" (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html)
    and "Control permissions for generating and using Amazon Bedrock API keys"
    (https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys-permissions.html: a long-term key's
    calls carry ``bedrock:BearerTokenType`` = ``LONG_TERM``)."""
    from bedrock_key_audit.org_policies import scp_gate
    from bedrock_key_audit.policy import RequestContext

    try:
        org = inventory.org_policies("commercial")
    except CouldNotDecide:
        return None
    arn = f"arn:aws:iam::{org.account_id}:user/{key_owner}"
    values = {"bedrock:BearerTokenType": "LONG_TERM", "bedrock-mantle:BearerTokenType": "LONG_TERM", "aws:PrincipalArn": arn,
              "aws:PrincipalAccount": org.account_id, "aws:PrincipalType": "User",
              "aws:username": key_owner, "aws:PrincipalIsAWSService": "false",
              "aws:ViaAWSService": "false", "aws:SecureTransport": "true"}
    try:
        # the probe went to the region the secret names: a region-restricting SCP is decided on it
        values["aws:RequestedRegion"] = inventory.probe_region()
    except Exception:  # noqa: BLE001 -- no usable region: the key stays unknown (a region SCP stays undecided)
        pass
    ctx = RequestContext(values)
    gate = scp_gate(org, action, ctx)
    if gate.outcome == "denied":
        return f"refused: {', '.join(gate.deny)} denies {action} to this long-term key's calls"
    if gate.outcome == "not_allowed":
        return f"refused: no SCP attached to {gate.blocked_at} allows {action} (each level must allow it)"
    return None


def _verdict(check: Check, probe: HttpProbe, what: str, inventory: Inventory | None = None,
             key_owner: str | None = None, action: str = "bedrock:CallWithBearerToken") -> None:
    check.resource = probe.url
    check.evidence(f"http:{probe.name}", {"url": probe.url, "status": probe.status, "class": probe.classification,
                                          "message": probe.message, "attempts": probe.attempts})
    if probe.classification == "ok":
        return
    text = f"{what} with the key from the secret: {probe.message}"
    if probe.classification == "bad_key" and inventory is not None and (why := _wrong_field(inventory)):
        text = f"{what} with the key from the secret: the key was refused; {why}"
    if probe.classification == "forbidden" and inventory is not None and key_owner is not None and (
            cause := scp_cause(inventory, action, key_owner)):
        # the SCP is the cause: a grant to the user cannot lift it, so that advice is replaced
        head = text.split(" — ", 1)[0]
        text = (f"{head} ({cause}) — no grant to the key's user lifts an SCP's refusal: the organization must "
                "change that SCP or the account's place under it")
    if probe.classification in FAIL_CLASSES:
        check.fail(text)
    raise CouldNotDecide(text)


def _runtime_used(audit_config: AuditConfig) -> bool:
    # runtime and runtime-openai are one host and one set of IAM actions (SURFACES): GET /foundation-models
    # answers for both; a workload that uses only Mantle is not asked about bedrock-runtime here
    return bool({"runtime", "runtime-openai"} & set(audit_config.surfaces)) or "mantle" not in audit_config.surfaces


def _converse_used(audit_config: AuditConfig) -> bool:
    # Converse is the native runtime's call: asked of a workload that uses runtime (or names no other surface)
    return "runtime" in audit_config.surfaces or not {"runtime-openai", "mantle"} & set(audit_config.surfaces)


def _runtime_models(audit_config: AuditConfig) -> list[str]:
    """The models ``GET /foundation-models`` must list: ``endpoint.model_id`` for the native runtime,
    ``endpoint.openai_model_id`` for bedrock-runtime's ``/openai/v1``."""
    models = [PROFILE_PREFIX.sub("", audit_config.model_id)] if _converse_used(audit_config) else []
    if "runtime-openai" in audit_config.surfaces:
        models.append(audit_config.openai_model_id)
    return models


@verdict("endpoint.list_models", reads=("list_models", "mantle_models", "bearer_key", "org_policies",
                                        "probe_region"))
def list_models(check: Check, inventory: Inventory, audit_config: AuditConfig, key_owner: str) -> None:
    """The key lists the configured model on every surface in use (``endpoint.surfaces``):
    ``GET /foundation-models`` for bedrock-runtime (``endpoint.model_id`` for ``runtime``,
    ``endpoint.openai_model_id`` for ``runtime-openai``), ``GET /v1/models`` on bedrock-mantle."""
    said: list[str] = []
    urls: list[str] = []
    if _runtime_used(audit_config):
        probe = inventory.list_models()
        _verdict(check, probe, "GET /foundation-models", inventory, key_owner)
        urls.append(probe.url)
        for wanted in _runtime_models(audit_config):
            said.append(_lists_model(check, probe.body, wanted, "GET /foundation-models", "modelSummaries",
                                     "modelId", "choose an available model"))
    if "mantle" in audit_config.surfaces:
        probe = inventory.mantle_models()
        _verdict(check, probe, "GET /v1/models on bedrock-mantle", inventory, key_owner,
                 action="bedrock-mantle:CallWithBearerToken")
        urls.append(probe.url)
        said.append(_lists_model(check, probe.body, audit_config.mantle_model_id, "GET /v1/models on bedrock-mantle",
                                 "data", "id", "choose a model Mantle serves (endpoint.mantle_model_id)"))
    check.resource = ", ".join(urls)
    check.passed("; ".join(said))


@verdict("endpoint.invoke", reads=("invoke", "runtime_openai_chat", "mantle_chat", "bearer_key", "org_policies",
                                   "probe_region"))
def invoke(check: Check, inventory: Inventory, audit_config: AuditConfig, key_owner: str) -> None:
    """A one-token completion answers on every surface in use: Converse on bedrock-runtime (``runtime``),
    OpenAI Chat Completions on bedrock-runtime's ``/openai/v1`` with ``endpoint.openai_model_id``
    (``runtime-openai``; "Invoke a model with the OpenAI Chat Completions API",
    https://docs.aws.amazon.com/bedrock/latest/userguide/inference-chat-completions.html), and Chat
    Completions on bedrock-mantle (``mantle``)."""
    said: list[str] = []
    urls: list[str] = []
    if _converse_used(audit_config):
        probe = inventory.invoke()
        _verdict(check, probe, f"converse with {audit_config.model_id}", inventory, key_owner)
        urls.append(probe.url)
        body = probe.body if isinstance(probe.body, dict) else {}
        if "output" not in body:
            raise CouldNotDecide(f"converse with {audit_config.model_id} answered 200 without an output")
        said.append(f"converse with {audit_config.model_id} answered 200 (stopReason {body.get('stopReason')})")
    if "runtime-openai" in audit_config.surfaces:
        probe = inventory.runtime_openai_chat()
        what = f"chat completion with {audit_config.openai_model_id} on bedrock-runtime /openai/v1"
        _verdict(check, probe, what, inventory, key_owner)
        urls.append(probe.url)
        said.append(_chat_answered(probe, what))
    if "mantle" in audit_config.surfaces:
        probe = inventory.mantle_chat()
        what = f"chat completion with {audit_config.mantle_model_id} on bedrock-mantle"
        _verdict(check, probe, what, inventory, key_owner, action="bedrock-mantle:CallWithBearerToken")
        urls.append(probe.url)
        said.append(_chat_answered(probe, what))
    check.resource = ", ".join(urls)
    check.passed("; ".join(said))


def _chat_answered(probe: HttpProbe, what: str) -> str:
    """The sentence for a 200 chat completion (OpenAI's shape: ``choices``); undecided without choices."""
    body = probe.body if isinstance(probe.body, dict) else {}
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        raise CouldNotDecide(f"{what} answered 200 without choices")
    first = choices[0] if isinstance(choices[0], dict) else {}
    return f"{what} answered 200 (finish_reason {first.get('finish_reason')})"


@dataclasses.dataclass(frozen=True)
class Surface:
    """A place the key can be used: its host, and the IAM action that admits a bearer call there."""

    name: str
    host: str
    action: str


# Sources (Amazon Bedrock User Guide):
# * "Control permissions for generating and using Amazon Bedrock API keys"
#   (https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys-permissions.html): API keys work on
#   two endpoints, each admitted by its own action, bedrock:CallWithBearerToken and
#   bedrock-mantle:CallWithBearerToken; denying both is what stops all API-key access.
# * "Endpoints supported by Amazon Bedrock" (https://docs.aws.amazon.com/bedrock/latest/userguide/endpoints.html):
#   bedrock-runtime.<region>.amazonaws.com serves InvokeModel/Converse and, on its /openai/v1 paths, the
#   OpenAI-compatible Chat Completions and Responses APIs; bedrock-mantle.<region>.api.aws serves the
#   OpenAI-compatible APIs and Anthropic's Messages API.
# * "Making inference requests" (https://docs.aws.amazon.com/bedrock/latest/userguide/inference.html): the
#   bedrock-runtime permissions (bedrock:InvokeModel ...) cover Converse, Invoke, Chat Completions and
#   Responses alike, so runtime and runtime-openai are one surface for IAM: no action admits one without
#   the other.  "Invoke a model with the OpenAI Chat Completions API"
#   (https://docs.aws.amazon.com/bedrock/latest/userguide/inference-chat-completions.html) names no action
#   of its own for /openai/v1: denying bedrock:InvokeModel on the OpenAI models would close them on
#   Converse too, so a Deny cannot keep the key off one path while leaving it on the other.
SURFACES: dict[str, Surface] = {
    "runtime": Surface("runtime", "bedrock-runtime (Converse/InvokeModel)", "bedrock:CallWithBearerToken"),
    "runtime-openai": Surface("runtime-openai", "bedrock-runtime /openai/v1", "bedrock:CallWithBearerToken"),
    "mantle": Surface("mantle", "bedrock-mantle", "bedrock-mantle:CallWithBearerToken"),
}
_NAMED_ACTION = re.compile(r"perform: ([a-z0-9-]+:[A-Za-z]+)")


def _closed(probe: HttpProbe, action: str, what: str) -> tuple[bool | None, str]:
    """(True: the key is refused there, False: it is admitted, None: unknown) and why, from one probe."""
    cls = probe.classification
    if cls == "ok":
        return False, f"{what} answered 200 to the key"
    if cls == "bad_key":
        return True, f"{what} refused the key ({probe.message})"
    if cls in ("malformed_key", "bad_region"):
        # nothing was sent: the credential behind a mistyped key or region may well be admitted there
        return None, f"{what} was not probed ({probe.message}); fix the secret and rerun the audit"
    if cls == "forbidden":
        named = _NAMED_ACTION.search(probe.message)
        if named is None or named.group(1).lower() == action.lower():
            return True, f"{what} refused the key with HTTP {probe.status}" + (f" ({action} not allowed)" if named else "")
        return None, (f"{what} accepted the key but refused {named.group(1)}, so whether other calls there are "
                      f"admitted is unknown; deny {action} to the key's user to settle it")
    return None, f"{what} gave no answer that shows whether it admits the key ({probe.message}); rerun the audit"


@dataclasses.dataclass
class _RegionState:
    """Whether the key's bearer call is refused in one Region, by what, and what left it open."""

    state: str  # closed | open | undecided
    by: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()


def _region_states(inventory: Inventory, audit_config: AuditConfig, key_owner: str,
                   action: str) -> dict[str, _RegionState] | str:
    """The key's ``action`` (a surface's ``CallWithBearerToken``) in every Region of the commercial partition,
    judged by the audit's evaluator on the key user's identity policies and boundary and, when they were read,
    the SCPs of the account; or why that cannot be judged (one clause).

    A long-term API key is not bound to a Region: the same key is sent to ``bedrock-mantle.<region>.api.aws``
    and ``bedrock-runtime.<region>.amazonaws.com`` of any Region ("Amazon Bedrock API keys",
    https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys.html), and each call carries the Region it
    is sent to as ``aws:RequestedRegion`` ("AWS global condition context keys",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).  So a refusal
    seen in the Region the probe went to proves a closure only where the same policies refuse the call in
    every Region; the Regions are botocore's endpoint data for the partition.  Other keys the audit cannot
    know for the key's calls (source IP, VPC endpoint, tags not read) stay unknown, unless
    ``[policy.context]`` / ``policy.absent_context_keys`` declare them ("Policy evaluation logic",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
    import datetime as dt

    from bedrock_key_audit.config import partition_regions
    from bedrock_key_audit.iam_verdicts import evaluator
    from bedrock_key_audit.org_policies import scp_gate
    from bedrock_key_audit.policy import bearer_context, principal_context

    try:
        user = inventory.user(key_owner)
        policies = inventory.user_policies(user.name)
        ev = evaluator(policies)
    except CouldNotDecide as exc:
        return f"the key user's policies could not be read ({exc})"
    try:
        org: Any = inventory.org_policies("commercial")
    except CouldNotDecide:
        org = None  # unread SCPs add no refusal; the identity policies alone are judged
    principal = principal_context(user.name, str(user.arn), str(user.account_id), (user.raw or {}).get("UserId"))
    now = inventory.run_started or dt.datetime.now(dt.timezone.utc)  # the audit's clock: a replay judges the same instant
    out: dict[str, _RegionState] = {}
    for region in partition_regions("commercial"):
        ctx = bearer_context(principal, now, requested_region=region, user_values=audit_config.policy_context,
                             user_absent=audit_config.absent_context_keys)
        proof = ev.prove(action, ["*"], ctx)
        gate = scp_gate(org, action, ctx) if org is not None else None
        by = list(proof.deny_sources) if proof.outcome == "denied" else []
        if proof.outcome == "not_allowed":
            by.append("the permissions boundary" if proof.boundary_blocks else "no identity policy allowing it")
        if gate is not None and gate.permits is False:
            by += list(gate.deny) or [f"no SCP attached to {gate.blocked_at} allowing it"]
        if by:
            out[region] = _RegionState("closed", tuple(by))
        elif proof.outcome == "undecided" or (gate is not None and gate.permits is None):
            unknown = set(proof.unknown_keys) | set(gate.unknown if gate is not None else ())
            out[region] = _RegionState("undecided", unknown=tuple(sorted(unknown)))
        else:
            out[region] = _RegionState("open")
    return out


def _closure_everywhere(inventory: Inventory, audit_config: AuditConfig, key_owner: str, action: str,
                        surfaces: list[str]) -> tuple[bool | None, str]:
    """(True: the probe's refusal holds in every Region, False: some Region is left open, None: unknown)
    and the clause that says so ('' when the policies refuse the call alike everywhere)."""
    states = _region_states(inventory, audit_config, key_owner, action)
    names = "/".join(surfaces)
    if isinstance(states, str):
        return None, (f"{names} refused the key in the Region probed, but whether every Region refuses it is "
                      f"unknown: {states}; grant the audit iam:ListUserPolicies/GetUserPolicy and rerun")
    try:
        probed = inventory.probe_region()
    except Exception:  # noqa: BLE001 -- the probe got an answer, so the region was known; be safe anyway
        probed = audit_config.region("commercial")
    here = states.get(probed)
    open_ = sorted(r for r, st in states.items() if st.state == "open")
    undecided = sorted(r for r, st in states.items() if st.state == "undecided")
    if here is None or here.state == "open" or (here.state == "closed" and not open_ and not undecided):
        # refused everywhere by the policies read, or refused by something the audit does not read (the
        # policies let the call through in the Region probed too): the probe's answer stands for every Region
        return True, ""
    if here.state == "closed" and open_:
        # nearest first: the Regions of the probed one's geography are the likeliest to be called
        near = sorted(open_, key=lambda r: (r.split("-")[0] != probed.split("-")[0], r))
        shown = ", ".join(near[:6]) + (f" and {len(open_) - 6} more" if len(open_) > 6 else "")
        return False, (f"{names} refused the key in {probed} only: {', '.join(here.by)} refuses {action} there "
                       f"under a condition on aws:RequestedRegion, so the key still opens {names} in "
                       f"{len(open_)} other Region(s) ({shown}), since a long-term key works in every Region; "
                       f"deny {action} to the key's user with no Region condition")
    keys = sorted({k for st in states.values() for k in st.unknown})
    where = probed if here.state == "undecided" else ", ".join(undecided[:6])
    return None, (f"{names} refused the key in {probed}, but whether {action} is refused in "
                  f"{where} depends on {', '.join(keys) or 'values the audit cannot know'}; set them in "
                  "[policy.context] of audit.toml, or deny the action to the key's user unconditionally")


@verdict("endpoint.unused_surfaces_closed", reads=("mantle_models", "list_models", "bearer_key", "org_policies",
                                                   "probe_region", "user", "user_policies"))
def unused_surfaces_closed(check: Check, inventory: Inventory, audit_config: AuditConfig, key_owner: str) -> None:
    """The key is refused on every Bedrock surface the workload does not use (``endpoint.surfaces``).

    The least-privilege question asked of the live key: each unused surface is probed with it
    (``GET /v1/models`` on Mantle; ``GET /foundation-models`` for bedrock/bedrock-runtime).  200
    fails naming the surface and the action to deny; 401/403 passes (a 403 that names another
    action than the surface's ``CallWithBearerToken`` shows the key got in, so it ends ``error``);
    no answer (timeout, 5xx, throttling) ends ``error``.  A refusal passes only when the key user's
    policies (and the SCPs read) refuse the surface's bearer action in every Region of the partition
    (:func:`_region_states`): a Deny conditioned on ``aws:RequestedRegion`` that leaves a Region open fails
    naming the Regions; one resting on a key the audit cannot know ends ``error``.  ``runtime`` and ``runtime-openai`` share
    host and actions (see :data:`SURFACES`): when the workload uses one, the other cannot be closed
    by IAM and is reported as such, not failed.  How Mantle words a refusal is not documented in the
    pages above; the emulator answers as bedrock-runtime does.
    """
    used = set(audit_config.surfaces)
    check.resource = f"Bedrock surfaces outside endpoint.surfaces ({', '.join(sorted(used))})"
    probed: list[str] = []
    groups: dict[str, list[Surface]] = {}
    for s in SURFACES.values():
        groups.setdefault(s.action, []).append(s)
    open_, closed, unknown, shared = [], [], [], []
    for action, members in groups.items():
        unused = [s.name for s in members if s.name not in used]
        if not unused:
            continue
        in_use = [s.name for s in members if s.name in used]
        if in_use:
            shared.append(f"{', '.join(unused)} cannot be closed apart from {', '.join(in_use)} "
                          f"(same host, admitted by {action}; the model actions, bedrock:InvokeModel on the "
                          "model, are the same for both, so no policy keeps the key off one path only)")
            continue
        probe = inventory.mantle_models() if action.startswith("bedrock-mantle:") else inventory.list_models()
        probed.append(probe.url)
        check.resource = ", ".join(probed)
        check.evidence(f"http:{probe.name}", {"url": probe.url, "status": probe.status, "class": probe.classification,
                                              "message": probe.message, "attempts": probe.attempts, "surfaces": unused})
        what = f"{'/'.join(unused)} ({'GET /v1/models' if action.startswith('bedrock-mantle:') else 'GET /foundation-models'})"
        state, why = _closed(probe, action, what)
        if state is False:
            open_.append(f"{why}: the key opens {', '.join(unused)}, which the workload does not use; "
                         f"deny {action} to the key's user")
        elif state is None:
            unknown.append(why)
        else:
            everywhere, clause = _closure_everywhere(inventory, audit_config, key_owner, action, unused)
            if everywhere is False:
                open_.append(clause)
                continue
            if everywhere is None:
                unknown.append(clause)
                continue
            cause = scp_cause(inventory, action, key_owner) if probe.classification == "forbidden" else None
            closed.append(f"{why} ({cause})" if cause else why)
    note = f"; {'; '.join(shared)}" if shared else ""
    check.require(not open_, "; ".join(open_) + note)
    if unknown:
        raise CouldNotDecide("; ".join(unknown))
    if not closed:
        check.passed(f"the workload uses {', '.join(sorted(used))}; no other surface can be closed on its own{note}")
        return
    check.passed("; ".join(closed) + note)


def _lists_model(check: Check, body: Any, model: str, what: str, list_key: str, id_key: str, hint: str) -> str:
    """``model`` is among the ids of the 200 answer's model list (``body[list_key][*][id_key]``): the
    sentence that says so; a fail when it is not; undecided when the answer has no such list."""
    items = (body if isinstance(body, dict) else {}).get(list_key)
    if not isinstance(items, list):
        raise CouldNotDecide(f"{what} answered 200 without a {list_key} list")
    ids = {m.get(id_key) for m in items if isinstance(m, dict)}
    check.require(model in ids, f"{what} answered 200 but does not list {model} ({len(ids)} models listed); {hint}")
    return f"{what} answered 200 and lists {model} ({len(ids)} models)"
