"""The verdicts of the cloudtrail.* checks (called by the marked checks in checks/test_cloudtrail.py).

Each function is named after its check id (``cloudtrail.<name>`` -> :func:`<name>`) and takes the
``check`` recorder and the plain inventory data the check reads, so it can be tested on
hand-built objects (tests/unit/test_cloudtrail.py) with no emulator.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.checkcore import verdict
from bedrock_key_audit.trails import ROW_PROPERTIES, security_trail
from bedrock_key_audit.verdicts.traces import bucket_protection_verdict

if TYPE_CHECKING:
    from bedrock_key_audit.checkcore import Check
    from bedrock_key_audit.config import AuditConfig
    from bedrock_key_audit.inventory.models import Trail
    from bedrock_key_audit.inventory.reader import Inventory

# what the cloudtrail rows read: each partition's trails, or why they could not be read
TrailsByPartition = dict[str, list["Trail"] | CouldNotDecide]

# What each row asks of the security trail, for sentences.
LABEL = {
    "logging": "logging and delivering",
    "multi_region": "multi-region with global service events",
    "log_file_validation": "log-file validation",
    "management_events": "all read and write management events",
    "kms": "encryption with a usable KMS key",
}
HAS = {
    "logging": "is logging and delivering",
    "multi_region": "logs all regions and global service events",
    "log_file_validation": "has log-file validation on",
    "management_events": "records read and write management events from every source",
    "kms": "encrypts its logs with an Enabled KMS key",
}

# What to do on the candidate, per missing property.
FIX = {
    "logging": "start logging on {t}",
    "delivering": "let {t} deliver (its S3 bucket policy and KMS key policy must admit CloudTrail)",
    "multi_region": "make {t} multi-region",
    "global_events": "include global service events on {t}",
    "management_events": "record all read and write management events on {t}",
    "log_file_validation": "turn on log-file validation on {t}",
    "kms": "encrypt {t} with an Enabled customer-managed KMS key",
}


def _trails(check: Check, trails_by_partition: TrailsByPartition, partition: str) -> list[Trail]:
    got = trails_by_partition[partition]
    if isinstance(got, Exception):
        raise got
    check.evidence("cloudtrail:DescribeTrails+GetTrailStatus+GetEventSelectors", [
        {"Name": t.name, "TrailARN": t.arn, "HomeRegion": t.home_region, "IsMultiRegionTrail": t.multi_region,
         "IncludeGlobalServiceEvents": t.global_events, "LogFileValidationEnabled": t.log_file_validation,
         "KmsKeyId": t.kms_key_id, "IsOrganizationTrail": t.organization, "IsLogging": t.is_logging,
         "LatestDeliveryError": t.latest_delivery_error, "EventSelectors": t.event_selectors,
         "AdvancedEventSelectors": t.advanced_event_selectors}
        for t in got
    ])
    keys = {t.kms_key_id: {k: (t.kms_key or {}).get(k) for k in ("Arn", "KeyState", "DeletionDate", "KeyManager")}
            for t in got if t.kms_key_id and t.kms_key}
    if keys:
        check.evidence("kms:DescribeKey", keys)
    return got


def judge_row(check: Check, trails: list[Trail], partition: str, row: str, region: str | None = None) -> None:
    """Pass ``row`` when the partition's security trail (or closest candidate) has the row's
    properties; fail naming every trail's gaps; ``error`` when the candidate's are unreadable."""
    decision = security_trail(trails, partition, region)
    check.evidence("security-trail", {
        "security_trail": decision.trail.arn if decision.trail is not None else None,
        "complete": decision.full,
        "trails": [{"TrailARN": a.trail.arn, "missing": sorted(a.missing), "unreadable": sorted(a.unknown)}
                   for a in decision.assessments],
    })
    if not trails:
        check.resource = f"cloudtrail {partition}"
        check.fail(f"no CloudTrail trail in {partition}, so nothing records the key's creation or use")
    if decision.trail is None:
        check.resource = trails[0].arn
        check.fail(f"no trail in {partition} records management events, so none can be its security trail: "
                   + "; ".join(a.gaps() for a in decision.assessments))
    cand = decision.candidate
    assert cand is not None
    t = cand.trail
    check.resource = t.arn
    props = ROW_PROPERTIES[row]
    lacking = [p for p in props if p in cand.missing]
    if lacking:
        order = list(props) + [p for p in cand.missing if p not in props]
        gaps = [cand.gaps(order)] + [a.gaps() for a in decision.assessments if a is not cand and a.gaps()]
        todo = " and ".join(FIX[p].format(t=t.name) for p in lacking)
        check.fail(f"no trail in {partition} is a security trail ({LABEL[row]} missing on {t.name}, the closest "
                   f"candidate): " + "; ".join(gaps) + f" — {todo}")
    unreadable = [p for p in props if p in cand.unknown]
    if unreadable:
        raise CouldNotDecide(f"cannot tell whether trail {t.name} in {partition} has {LABEL[row]}: "
                             f"{cand.unknown[unreadable[0]]}")
    if decision.full:
        check.passed(f"trail {t.name} {HAS[row]} in {partition}; it is a complete security trail")
        return
    if cand.missing:
        check.passed(f"trail {t.name} {HAS[row]} in {partition} (it is not yet a security trail: "
                     f"{', '.join(r.replace('_', ' ') for r in cand.missing)} missing, see the other cloudtrail rows)")
        return
    check.passed(f"trail {t.name} {HAS[row]} in {partition} (whether it is a complete security trail depends on "
                 f"{', '.join(r.replace('_', ' ') for r in cand.unknown)}, which could not be read)")


@verdict("cloudtrail.logging")
def logging(check: Check, trails_by_partition: TrailsByPartition, partition: str, audit_config: AuditConfig) -> None:
    judge_row(check, _trails(check, trails_by_partition, partition), partition, "logging",
              audit_config.region(partition))


@verdict("cloudtrail.multi_region")
def multi_region(check: Check, trails_by_partition: TrailsByPartition, partition: str, audit_config: AuditConfig) -> None:
    judge_row(check, _trails(check, trails_by_partition, partition), partition, "multi_region",
              audit_config.region(partition))


@verdict("cloudtrail.log_file_validation")
def log_file_validation(check: Check, trails_by_partition: TrailsByPartition, partition: str,
                        audit_config: AuditConfig) -> None:
    judge_row(check, _trails(check, trails_by_partition, partition), partition, "log_file_validation",
              audit_config.region(partition))


@verdict("cloudtrail.management_events")
def management_events(check: Check, trails_by_partition: TrailsByPartition, partition: str, audit_config: AuditConfig) -> None:
    judge_row(check, _trails(check, trails_by_partition, partition), partition, "management_events",
              audit_config.region(partition))


@verdict("cloudtrail.kms")
def kms(check: Check, trails_by_partition: TrailsByPartition, partition: str, audit_config: AuditConfig) -> None:
    judge_row(check, _trails(check, trails_by_partition, partition), partition, "kms",
              audit_config.region(partition))


@verdict("cloudtrail.bucket_protected", reads=("bucket_protection",))
def bucket_protected(check: Check, trails_by_partition: TrailsByPartition, partition: str, audit_config: AuditConfig,
                     inventory: Inventory) -> None:
    """The S3 bucket the partition's security trail delivers to blocks public access and logs access to a
    bucket that exists, judged by the settings of the account that owns it (CIS AWS v3.0.0 3.4 and 2.1.4;
    verdict: :func:`bedrock_key_audit.verdicts.traces.bucket_protection_verdict`)."""
    trails = _trails(check, trails_by_partition, partition)
    decision = security_trail(trails, partition, audit_config.region(partition))
    cand = decision.candidate
    if cand is None:
        check.resource = f"cloudtrail {partition}"
        check.fail(f"no trail in {partition} records management events, so no bucket holds its security trail's logs "
                   "(see the other cloudtrail rows)")
    assert cand is not None
    t = cand.trail
    bucket = (t.raw or {}).get("S3BucketName")
    if not bucket:
        raise CouldNotDecide(f"trail {t.name} in {partition} names no S3 bucket in DescribeTrails; "
                             "read the trail with cloudtrail:DescribeTrails to find it")
    region = t.home_region
    prot = inventory.bucket_protection(partition, bucket, region)
    arn_partition = t.arn.split(":")[1] if t.arn.startswith("arn:") else "aws"
    check.resource = f"arn:{arn_partition}:s3:::{bucket}"
    check.evidence("s3:GetBucketPublicAccessBlock+s3:GetAccountPublicAccessBlock+s3:GetBucketLogging", {
        "Bucket": bucket, "Trail": t.arn, "BucketPublicAccessBlock": prot.bucket_pab,
        "AccountPublicAccessBlock": prot.account_pab, "LoggingEnabled": prot.logging,
        "OwnedByAnotherAccount": prot.foreign, "AccessLogTargetExists": prot.target_exists,
    })
    status, sentence = bucket_protection_verdict(prot)
    if status != "pass":
        check.fail(sentence)
    check.passed(sentence)
