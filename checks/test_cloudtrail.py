"""CloudTrail in each partition: logging, multi-region, validated, management events, KMS.

Pass criteria follow AWS Config's CLOUDTRAIL_SECURITY_TRAIL_ENABLED, split into one check per
property so the report says which one is missing.  Each check looks at the trails that are
logging (shadow and organization trails included: they record this account too).
"""
from __future__ import annotations

import pytest

from fixtures.checks import CouldNotDecide

PARTITIONS = ["commercial", "govcloud"]


@pytest.fixture(scope="session")
def trails_by_partition(inventory):
    """``{partition: list[Trail] | CouldNotDecide}`` — read once per partition."""
    out = {}
    for p in PARTITIONS:
        try:
            out[p] = inventory.trails(p)
        except CouldNotDecide as exc:
            out[p] = exc
    return out


def _trails(check, trails_by_partition, partition):
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
    return got


def _candidates(check, trails_by_partition, partition, what):
    """The trails to judge a configuration property on: the logging ones, or, when none
    logs, every trail (a stopped trail is cloudtrail.logging's finding, not this one's)."""
    trails = _trails(check, trails_by_partition, partition)
    if not trails:
        check.resource = f"cloudtrail {partition}"
        check.fail(f"no CloudTrail trail in {partition}, so nothing records {what}")
    logging = [t for t in trails if t.is_logging]
    return logging or trails


@pytest.mark.check("cloudtrail.logging")
@pytest.mark.parametrize("partition", PARTITIONS)
def test_cloudtrail_logging(check, trails_by_partition, partition):
    trails = _candidates(check, trails_by_partition, partition, "the key's use")
    if not any(t.is_logging for t in trails):
        unknown = [t for t in trails if t.is_logging is None]
        if unknown:
            raise CouldNotDecide(f"no trail in {partition} is known to log: {unknown[0].status_error}")
        check.resource = trails[0].arn
        check.fail(f"no trail is logging in {partition}: " + ", ".join(f"{t.name} (stopped)" for t in trails)
                   + "; start logging")
    t = trails[0]
    check.resource = t.arn
    errors = [f"{x.name}: {x.latest_delivery_error}" for x in trails if x.latest_delivery_error]
    check.require(len(errors) < len(trails), f"every logging trail in {partition} fails to deliver: {'; '.join(errors)}")
    check.passed(f"trail {t.name} is logging in {partition}" + (f" ({len(trails)} logging trails)" if len(trails) > 1 else ""))


@pytest.mark.check("cloudtrail.multi_region")
@pytest.mark.parametrize("partition", PARTITIONS)
def test_cloudtrail_multi_region(check, trails_by_partition, partition):
    trails = _candidates(check, trails_by_partition, partition, "all regions")
    good = [t for t in trails if t.multi_region and t.global_events]
    check.resource = (good or trails)[0].arn
    gaps = ", ".join(f"{t.name} ({'single-region' if not t.multi_region else 'no global service events'})" for t in trails)
    check.require(good, f"no trail in {partition} covers all regions with global service events: {gaps}")
    check.passed(f"trail {good[0].name} logs all regions of {partition} and global service events")


@pytest.mark.check("cloudtrail.log_file_validation")
@pytest.mark.parametrize("partition", PARTITIONS)
def test_cloudtrail_log_file_validation(check, trails_by_partition, partition):
    trails = _candidates(check, trails_by_partition, partition, "log integrity")
    good = [t for t in trails if t.log_file_validation]
    check.resource = (good or trails)[0].arn
    check.require(good, f"log-file validation is off on every trail in {partition} "
                        f"({', '.join(t.name for t in trails)})")
    check.passed(f"trail {good[0].name} has log-file validation on")


def management_coverage(trail) -> tuple[bool, bool, list[str]]:
    """(reads recorded, writes recorded, excluded event sources) from basic or advanced selectors."""
    read = write = False
    excluded: list[str] = []
    if trail.advanced_event_selectors:
        for sel in trail.advanced_event_selectors:
            fields = {f["Field"]: f for f in sel.get("FieldSelectors", [])}
            cat = fields.get("eventCategory")
            if not cat or "Management" not in cat.get("Equals", []):
                continue
            ro = fields.get("readOnly")
            ro_values = set(ro.get("Equals", [])) if ro else {"true", "false"}
            if ro and ro.get("NotEquals"):
                ro_values = {"true", "false"} - set(ro["NotEquals"])
            src = fields.get("eventSource")
            if src and src.get("NotEquals"):
                excluded += src["NotEquals"]
            if src and src.get("Equals"):
                excluded.append("all but " + ",".join(src["Equals"]))
            read |= "true" in ro_values
            write |= "false" in ro_values
        return read, write, excluded
    for sel in trail.event_selectors or []:
        if not sel.get("IncludeManagementEvents", True):
            continue
        rw = sel.get("ReadWriteType", "All")
        read |= rw in ("All", "ReadOnly")
        write |= rw in ("All", "WriteOnly")
        excluded += sel.get("ExcludeManagementEventSources", []) or []
    return read, write, excluded


@pytest.mark.check("cloudtrail.management_events")
@pytest.mark.parametrize("partition", PARTITIONS)
def test_cloudtrail_management_events(check, trails_by_partition, partition):
    trails = _candidates(check, trails_by_partition, partition, "management events")
    findings, good = [], None
    for t in trails:
        if t.selectors_error:
            findings.append(f"{t.name}: selectors unreadable")
            continue
        read, write, excluded = management_coverage(t)
        if read and write and not excluded:
            good = t
            break
        missing = [x for x, ok in (("read", read), ("write", write)) if not ok]
        findings.append(f"{t.name}: " + ", ".join(
            ([f"no {'/'.join(missing)} management events"] if missing else [])
            + ([f"excludes {', '.join(excluded)}"] if excluded else [])))
    if good is None and all(t.selectors_error for t in trails):
        raise CouldNotDecide(trails[0].selectors_error)
    check.resource = (good or trails[0]).arn
    check.require(good, f"no trail in {partition} records all read and write management events: "
                        + "; ".join(findings))
    check.passed(f"trail {good.name} records read and write management events from every source")


@pytest.mark.check("cloudtrail.kms")
@pytest.mark.parametrize("partition", PARTITIONS)
def test_cloudtrail_kms(check, trails_by_partition, partition):
    trails = _candidates(check, trails_by_partition, partition, "log encryption")
    good = [t for t in trails if t.kms_key_id]
    check.resource = (good or trails)[0].arn
    check.require(good, f"no trail in {partition} encrypts its logs with KMS ({', '.join(t.name for t in trails)})")
    check.passed(f"trail {good[0].name} encrypts logs with {good[0].kms_key_id}")
