"""Verdict of ``bedrock.invocation_logging`` (the pure judgement: :mod:`bedrock_key_audit.verdicts.traces`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from bedrock_key_audit.fixtures.checks import CouldNotDecide
from bedrock_key_audit.inventory.traces import invocation_logging as read_invocation_logging
from bedrock_key_audit.verdicts.traces import invocation_logging_verdict

if TYPE_CHECKING:
    from bedrock_key_audit.fixtures.checks import Check
    from bedrock_key_audit.inventory.reader import Inventory


def invocation_logging(check: Check, inventory: Inventory) -> None:
    """Pass when every Region the key is used in logs its invocations (:func:`invocation_logging_verdict`).

    The Regions are the configured one and the one the secret names.  When the secret's Region cannot
    be read (the secret is missing, unreadable or names no region) the Regions the workload calls are
    unknown, so a configured Region that logs proves nothing for the key: the row ends ``error``
    (a Region that does not log still fails it).  A secret naming a Region where Bedrock is not
    offered is not a Region the key can be used in, so only the configured one is judged then."""
    kr = inventory.key_regions()
    sentences: list[str] = []
    for region in kr.regions():
        log = read_invocation_logging(inventory, region)
        check.resource = f"arn:aws:bedrock:{region}:{log.account_id}:model-invocation-logging"
        check.evidence(f"bedrock:GetModelInvocationLoggingConfiguration[{region}]", log.config)
        status, sentence = invocation_logging_verdict(log)
        if status != "pass":
            check.fail(sentence)
        sentences.append(sentence)
    if kr.unknown:
        raise CouldNotDecide(f"{sentences[0]}, but whether the key is also used in another Region is unknown "
                             f"because the secret's region cannot be read ({kr.unknown})")
    if kr.unusable:
        sentences.append(f"judged in the configured region only: the secret names no usable Bedrock region "
                         f"({kr.unusable})")
    check.passed("; ".join(sentences))
