"""Verdict of ``bedrock.invocation_logging`` (the pure judgement: :mod:`bedrock_key_audit.verdicts.traces`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from bedrock_key_audit.fixtures.checks import CouldNotDecide
from bedrock_key_audit.inventory.errors import BadRegion
from bedrock_key_audit.inventory.traces import invocation_logging as read_invocation_logging
from bedrock_key_audit.verdicts.traces import invocation_logging_verdict

if TYPE_CHECKING:
    from bedrock_key_audit.fixtures.checks import Check
    from bedrock_key_audit.fixtures.config import AuditConfig
    from bedrock_key_audit.inventory.reader import Inventory


def key_regions(inventory: Inventory, audit_config: AuditConfig) -> tuple[list[str], str | None]:
    """The commercial Regions the key is used in: the configured one, and the one the secret names
    (where the workload calls Bedrock: ``Inventory.probe_region``) when it can be read and differs.
    The second value says why the secret's Region was not added, if it was not."""
    regions = [audit_config.region("commercial")]
    try:
        secret_region = inventory.probe_region()
    except (CouldNotDecide, BadRegion) as exc:  # the secret's Region is unknown or unusable
        return regions, f"the secret's region could not be used ({type(exc).__name__})"
    if secret_region not in regions:
        regions.append(secret_region)
    return regions, None


def invocation_logging(check: Check, inventory: Inventory, audit_config: AuditConfig) -> None:
    """Pass when every Region the key is used in logs its invocations (:func:`invocation_logging_verdict`).

    The Regions are the configured one and the one the secret names.  When the secret's Region cannot
    be read (the secret is missing, unreadable or names no region) the Regions the workload calls are
    unknown, so a configured Region that logs proves nothing for the key: the row ends ``error``
    (a Region that does not log still fails it).  A secret naming a Region where Bedrock is not
    offered is not a Region the key can be used in, so only the configured one is judged then."""
    regions = [audit_config.region("commercial")]
    unknown: str | None = None
    try:
        secret_region = inventory.probe_region()
    except BadRegion as exc:  # not a Region the workload can call Bedrock in
        note: str | None = f"the secret names no usable Bedrock region ({exc})"
    except CouldNotDecide as exc:
        note, unknown = None, str(exc)
    else:
        note = None
        if secret_region not in regions:
            regions.append(secret_region)
    sentences: list[str] = []
    for region in regions:
        log = read_invocation_logging(inventory, region)
        check.resource = f"arn:aws:bedrock:{region}:{log.account_id}:model-invocation-logging"
        check.evidence(f"bedrock:GetModelInvocationLoggingConfiguration[{region}]", log.config)
        status, sentence = invocation_logging_verdict(log)
        if status != "pass":
            check.fail(sentence)
        sentences.append(sentence)
    if unknown:
        raise CouldNotDecide(f"{sentences[0]}, but whether the key is also used in another Region is unknown "
                             f"because the secret's region cannot be read ({unknown})")
    if note:
        sentences.append(f"judged in the configured region only: {note}")
    check.passed("; ".join(sentences))
