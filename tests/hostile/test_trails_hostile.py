"""CloudTrail shapes the audit must read right: organization trails, shadow trails homed in
another region, advanced event selectors, and trails that log but cannot deliver.

Shadow trails: a multi-region trail created in us-west-2 is listed in us-east-1 by
DescribeTrails(includeShadowTrails=True) with HomeRegion us-west-2 (the emulator does this,
fixtures/emulator/partitions.py); the inventory reads its status and selectors in its home
region.  A single-region trail elsewhere is not listed at all.  LatestDeliveryError comes
from fixtures/emulator/aws_extras.py (moto never reports one).
"""
from __future__ import annotations

from tests.hostile.helpers import TRAIL, audit, expect

CT = ("logging", "multi_region", "log_file_validation", "management_events", "kms")


def _replace_home_trail(emu, region, name, *, multi_region=True, validation=True, organization=False,
                        logging=True):
    """Delete the scenario's commercial trail; create ``name`` homed in ``region`` instead."""
    emu.client("cloudtrail").delete_trail(Name=TRAIL)
    s3 = emu.client("s3", region_name=region)
    bucket = f"{name}-logs-{region}"
    s3.create_bucket(Bucket=bucket, **({} if region == "us-east-1" else
                                      {"CreateBucketConfiguration": {"LocationConstraint": region}}))
    s3.put_bucket_policy(Bucket=bucket, Policy=(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},'
        f'"Action":"s3:PutObject","Resource":"arn:aws:s3:::{bucket}/*"}}]}}'))
    # CreateTrail refuses a key whose policy does not let CloudTrail GenerateDataKey (as AWS)
    key = emu.client("kms", region_name=region).create_key(Policy=(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},'
        '"Action":"kms:*","Resource":"*"},{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},'
        '"Action":"kms:GenerateDataKey*","Resource":"*"}]}'))["KeyMetadata"]["Arn"]
    ct = emu.client("cloudtrail", region_name=region)
    ct.create_trail(Name=name, S3BucketName=bucket, IsMultiRegionTrail=multi_region, IncludeGlobalServiceEvents=True,
                    EnableLogFileValidation=validation, KmsKeyId=key, IsOrganizationTrail=organization)
    if logging:
        ct.start_logging(Name=name)


def test_shadow_trail_homed_in_another_region_counts(pytester):
    expect(audit(pytester, lambda emu: _replace_home_trail(emu, "us-west-2", "west-trail")), {})


def test_stopped_shadow_trail_is_read_in_its_home_region(pytester):
    rows = audit(pytester, lambda emu: _replace_home_trail(emu, "us-west-2", "west-trail", logging=False))
    expect(rows, {"cloudtrail.logging[commercial]": ("fail", "west-trail (stopped)")})


def test_single_region_trail_in_another_region_covers_nothing_here(pytester):
    rows = audit(pytester, lambda emu: _replace_home_trail(emu, "eu-west-1", "eu-only", multi_region=False))
    expect(rows, {f"cloudtrail.{c}[commercial]": ("fail", "no CloudTrail trail in commercial") for c in CT})


def test_organization_trail_is_judged_like_the_account_trail(pytester):
    rows = audit(pytester, lambda emu: _replace_home_trail(emu, "us-east-1", "org-trail", organization=True,
                                                           validation=False))
    expect(rows, {"cloudtrail.log_file_validation[commercial]": ("fail", "org-trail")})
    seen = rows["cloudtrail.logging[commercial]"]["evidence"][0]["data"]
    assert [(t["Name"], t["IsOrganizationTrail"]) for t in seen] == [("org-trail", True)]


def _advanced(selectors):
    return lambda emu: emu.client("cloudtrail").put_event_selectors(TrailName=TRAIL, AdvancedEventSelectors=selectors)


def test_advanced_selectors_with_data_events_only(pytester):
    rows = audit(pytester, _advanced([{"Name": "s3 data only", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]}]))
    expect(rows, {"cloudtrail.management_events[commercial]": ("fail", "no read/write management events")})


def test_advanced_selectors_with_read_only_management_events(pytester):
    rows = audit(pytester, _advanced([{"Name": "reads", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["true"]}]}]))
    expect(rows, {"cloudtrail.management_events[commercial]": ("fail", "no write management events")})


def test_advanced_selectors_excluding_bedrock_events(pytester):
    rows = audit(pytester, _advanced([{"Name": "no bedrock", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]},
        {"Field": "eventSource", "NotEquals": ["bedrock.amazonaws.com"]}]}]))
    expect(rows, {"cloudtrail.management_events[commercial]": ("fail", "excludes bedrock.amazonaws.com")})


def test_logging_trails_that_cannot_deliver(pytester):
    def setup(emu):
        # commercial: bucket policy removed -> AccessDenied; govcloud: bucket deleted -> NoSuchBucket
        for partition in ("commercial", "govcloud"):
            bucket = emu.client("cloudtrail", partition).describe_trails()["trailList"][0]["S3BucketName"]
            s3 = emu.client("s3", partition)
            s3.delete_bucket_policy(Bucket=bucket)
            if partition == "govcloud":
                s3.delete_bucket(Bucket=bucket)
    rows = audit(pytester, setup)
    expect(rows, {"cloudtrail.logging[commercial]": ("fail", f"fails to deliver: {TRAIL}: AccessDenied"),
                  "cloudtrail.logging[govcloud]": ("fail", f"fails to deliver: {TRAIL}: NoSuchBucket")})
