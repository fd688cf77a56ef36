"""Verdict of ``bedrock.invocation_logging`` (the pure judgement: :mod:`bedrock_key_audit.verdicts.traces`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.checkcore import verdict
from bedrock_key_audit.usage import KeyUseRegions
from bedrock_key_audit.verdicts.traces import invocation_logging_verdict

if TYPE_CHECKING:
    from bedrock_key_audit.checkcore import Check
    from bedrock_key_audit.inventory.reader import Inventory, KeyRegions


def logging_regions(kr: KeyRegions, key_use: KeyUseRegions | None) -> tuple[list[str], str | None]:
    """The Regions whose invocation logging is judged, and why Regions where the key may be used are not.

    Bedrock records model invocations in the Region of the call, per account and Region ("Monitor
    model invocation using CloudWatch Logs and Amazon S3",
    https://docs.aws.amazon.com/bedrock/latest/userguide/model-invocation-logging.html), and a long-term
    key works in every enabled Region where Bedrock is offered ("Generate Amazon Bedrock API keys",
    https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys.html).  So the Regions are the
    configured one, the secret's, and every Region where ``credential.recently_used``'s read found a
    key call of the key's user.  A Region read only in part, or not read at all, may hold use the audit
    did not see: it is named as not judged."""
    regions = kr.regions()
    if key_use is None:
        return regions, None
    regions += sorted(key_use.used - set(regions))
    gaps: list[str] = []
    unsure = sorted(key_use.unsure - set(regions))
    if unsure:
        gaps.append(f"{', '.join(unsure)} (its CloudTrail event history was read only in part)")
    if key_use.unknown:
        gaps.append(f"Regions not read ({key_use.unknown})")
    return regions, "; ".join(gaps) or None


@verdict("bedrock.invocation_logging", reads=("invocation_logging", "key_regions"), key_use=lambda key_use_regions: key_use_regions)
def invocation_logging(check: Check, inventory: Inventory, key_use: KeyUseRegions | None = None) -> None:
    """Pass when every Region the key is used in logs its invocations (:func:`invocation_logging_verdict`).

    The Regions are :func:`logging_regions`: the configured one, the secret's, and those where the
    key-use read found use.  When the secret's Region cannot be read (the secret is missing,
    unreadable or names no region) the Regions the workload calls are unknown, so a configured Region
    that logs proves nothing for the key: the row ends ``error`` (a Region that does not log still
    fails it); likewise when the key-use read left a Region undecided.  A secret naming a Region where
    Bedrock is not offered is not a Region the key can be used in, so it is not judged."""
    kr = inventory.key_regions()
    regions, not_judged = logging_regions(kr, key_use)
    check.evidence("bedrock.invocation_logging:regions", {"regions": regions, "not_judged": not_judged})
    sentences: list[str] = []
    for region in regions:
        log = inventory.invocation_logging(region)
        check.resource = f"arn:aws:bedrock:{region}:{log.account_id}:model-invocation-logging"
        check.evidence(f"bedrock:GetModelInvocationLoggingConfiguration[{region}]", log.config)
        status, sentence = invocation_logging_verdict(log)
        if status != "pass":
            check.fail(sentence + (f"; not judged: {not_judged}" if not_judged else ""))
        sentences.append(sentence)
    if kr.unknown:
        raise CouldNotDecide(f"{sentences[0]}, but whether the key is also used in another Region is unknown "
                             f"because the secret's region cannot be read ({kr.unknown})")
    if not_judged:
        raise CouldNotDecide(f"{'; '.join(sentences)}, but whether the key is also used in {not_judged} is unknown, "
                             "so invocation logging there was not judged; configure logging in every Region where "
                             "Bedrock is enabled, or settle the key's use there from the trail's logs")
    if kr.unusable:
        sentences.append(f"judged in the configured region only: the secret names no usable Bedrock region "
                         f"({kr.unusable})")
    check.passed("; ".join(sentences))
