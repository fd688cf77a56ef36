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


# CreateTrail refuses a key whose policy does not let CloudTrail GenerateDataKey (as AWS)
CLOUDTRAIL_KEY_POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},'
    '"Action":"kms:*","Resource":"*"},{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},'
    '"Action":"kms:GenerateDataKey*","Resource":"*"}]}')


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
    key = emu.client("kms", region_name=region).create_key(Policy=CLOUDTRAIL_KEY_POLICY)["KeyMetadata"]["Arn"]
    # the bucket is protected as compliant's is (cloudtrail.bucket_protected is not what these tests are about)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.create_bucket(Bucket=f"{bucket}-access", **({} if region == "us-east-1" else
                                                {"CreateBucketConfiguration": {"LocationConstraint": region}}))
    s3.put_bucket_policy(Bucket=f"{bucket}-access", Policy=(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"logging.s3.amazonaws.com"},'
        f'"Action":"s3:PutObject","Resource":"arn:aws:s3:::{bucket}-access/*"}}]}}'))
    s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": f"{bucket}-access",
                                                                                  "TargetPrefix": ""}})
    ct = emu.client("cloudtrail", region_name=region)
    ct.create_trail(Name=name, S3BucketName=bucket, IsMultiRegionTrail=multi_region, IncludeGlobalServiceEvents=True,
                    EnableLogFileValidation=validation, KmsKeyId=key, IsOrganizationTrail=organization)
    if logging:
        ct.start_logging(Name=name)


def test_shadow_trail_homed_in_another_region_counts(pytester):
    expect(audit(pytester, lambda emu: _replace_home_trail(emu, "us-west-2", "west-trail")), {})


def test_stopped_shadow_trail_is_read_in_its_home_region(pytester):
    rows = audit(pytester, lambda emu: _replace_home_trail(emu, "us-west-2", "west-trail", logging=False))
    expect(rows, {"cloudtrail.logging[commercial]": ("fail", "west-trail is not logging (stopped)")})


def test_single_region_trail_in_another_region_covers_nothing_here(pytester):
    rows = audit(pytester, lambda emu: _replace_home_trail(emu, "eu-west-1", "eu-only", multi_region=False))
    expect(rows, {**{f"cloudtrail.{c}[commercial]": ("fail", "no CloudTrail trail in commercial") for c in CT},
                  "cloudtrail.bucket_protected[commercial]": ("fail", "no trail in commercial records management events")})


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
    # A data-only trail is never made the security trail (fixtures/trails.py): with no other
    # trail, nothing in commercial can be one, so every commercial row fails.
    expect(rows, {**{f"cloudtrail.{c}[commercial]": ("fail", "bedrock-audit-trail records no read/write management events")
                     for c in CT},
                  "cloudtrail.bucket_protected[commercial]": ("fail", "no trail in commercial records management events")})


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
    expect(rows, {"cloudtrail.logging[commercial]": ("fail", f"{TRAIL} fails to deliver: AccessDenied"),
                  "cloudtrail.logging[govcloud]": ("fail", f"{TRAIL} fails to deliver: NoSuchBucket"),
                  # a deleted trail bucket's name can be taken by anyone
                  "cloudtrail.bucket_protected[govcloud]": ("fail", "does not exist")})


def test_properties_scattered_across_trails_do_not_add_up(pytester):
    """The scenario trail keeps multi-region, logging and management events but loses validation
    and KMS; a second, single-region trail has both.  No single trail has everything, so the
    rows of what the candidate lacks fail and name the other trail's gap (the old per-row rule
    passed every row, each on a different trail)."""
    def setup(emu):
        ct = emu.client("cloudtrail")
        bucket = ct.describe_trails()["trailList"][0]["S3BucketName"]
        key = emu.client("kms").create_key(Policy=CLOUDTRAIL_KEY_POLICY)["KeyMetadata"]["Arn"]
        ct.update_trail(Name=TRAIL, EnableLogFileValidation=False, KmsKeyId="")
        ct.create_trail(Name="aaa-validated", S3BucketName=bucket, IsMultiRegionTrail=False,
                        IncludeGlobalServiceEvents=True, EnableLogFileValidation=True, KmsKeyId=key)
        ct.start_logging(Name="aaa-validated")
    rows = audit(pytester, setup)
    gap = "aaa-validated is not multi-region"
    expect(rows, {"cloudtrail.log_file_validation[commercial]": ("fail", f"missing on {TRAIL}, the closest candidate"),
                  "cloudtrail.kms[commercial]": ("fail", gap)})
    assert gap in rows["cloudtrail.log_file_validation[commercial]"]["detail"]
    assert rows["cloudtrail.logging[commercial]"]["resource"].endswith(f"trail/{TRAIL}")


def test_trail_kms_key_disabled_or_pending_deletion(pytester):
    """CloudTrail cannot encrypt with a disabled key; a key pending deletion makes the logs
    unreadable from its DeletionDate, which the finding names."""
    dates = {}

    def setup(emu):
        for partition in ("commercial", "govcloud"):
            arn = emu.client("cloudtrail", partition).describe_trails()["trailList"][0]["KmsKeyId"]
            kms = emu.client("kms", partition)
            key = kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyId"]  # moto wants the bare id here
            if partition == "commercial":
                kms.disable_key(KeyId=key)
            else:
                kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
                dates["govcloud"] = kms.describe_key(KeyId=key)["KeyMetadata"]["DeletionDate"]
    rows = audit(pytester, setup)
    # CloudTrail cannot deliver under such a key either (LatestDeliveryError names the KMS error)
    expect(rows, {"cloudtrail.kms[commercial]": ("fail", "whose state is Disabled"),
                  "cloudtrail.kms[govcloud]": ("fail", f"pending deletion (deleted on {dates['govcloud']:%Y-%m-%d}"),
                  "cloudtrail.logging[commercial]": ("fail", "fails to deliver: KMS.DisabledException"),
                  "cloudtrail.logging[govcloud]": ("fail", "fails to deliver: KMS.KMSInvalidStateException")})
