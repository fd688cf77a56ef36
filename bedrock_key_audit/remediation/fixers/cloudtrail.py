"""Fixers of the cloudtrail.* rows: update the trail that watches (or create ``bedrock-key-audit-trail``)."""
from __future__ import annotations

import json
from typing import Any

from bedrock_key_audit.checkcore import CheckRecord
from bedrock_key_audit.inventory.models import Trail
from bedrock_key_audit.remediation.core import Context, Step, fixer, manual_step
from bedrock_key_audit.remediation.errors import NeedsPerson
from bedrock_key_audit.remediation.fixers.kms import _kms_steps, kms_key_arn
from bedrock_key_audit.remediation.guard import merged_policy, taken_bucket
from bedrock_key_audit.remediation.names import KMS_ALIAS, TRAIL_NAME
from bedrock_key_audit.trails import kms_key_problem, management_coverage, security_trail
from bedrock_key_audit.permissions import R_OUR_BUCKETS, R_OWN_TRAILS, R_TRAILS, R_TRAIL_BUCKETS, Write, writes

# the trails come after the key's steps: a trail is created, then an existing one is corrected
ORDER_TRAIL_CREATE = 70
ORDER_TRAIL_UPDATE = 75



def _target_trail(ctx: Context, trails: list[Trail]) -> Trail | None:
    """The one trail fixes may change in a partition: the trail the audit judges as its security
    trail (``bedrock_key_audit.trails.security_trail``: the full security trail, else the closest candidate
    among trails that record management events).  None: no trail can be one (none, or only
    data-only trails), so remediation creates its own and changes no other team's trail."""
    if not trails:
        return None
    partition = trails[0].partition
    return security_trail(trails, partition, ctx.cfg.region(partition)).trail


def _trail_update_step(ctx: Context, trail: Trail, what: str, key: str, action: str, calls: list[str],
                       before: dict[str, Any], apply: Any, requires: list[str] | None = None,
                       destructive: bool = False) -> Step:
    def run(ctx: Context, st: Step) -> tuple[Any, Any]:
        after = apply(ctx, trail)
        return {"TrailARN": trail.arn, **before}, after

    return Step(key=f"trail.{key}:{trail.partition}", order=ORDER_TRAIL_UPDATE,
                action=f"{action} on trail {trail.name} ({trail.partition}, home {trail.home_region}; the "
                       "partition's security trail)",
                calls=calls, target=trail.arn, targets=[trail.arn], partition=trail.partition, run=run,
                before={"TrailARN": trail.arn, **before}, requires=requires or [], destructive=destructive)


def _ct(ctx: Context, trail: Trail, operation: str, **params: Any) -> Any:
    return ctx.call("cloudtrail", trail.partition, operation, region=trail.home_region, **params)


@writes(Write("cloudtrail:StartLogging", R_OWN_TRAILS), Write("cloudtrail:UpdateTrail", R_OWN_TRAILS))
def _trail_fixer(ctx: Context, rec: CheckRecord) -> list[Step]:
    partition = rec.partition or "commercial"
    trails = ctx.inv.trails(partition)
    trail = _target_trail(ctx, trails)
    if trail is None:
        # no trail records management events: ours, never a change to another team's data trail; no KMS key is
        # made for it while a live waiver on cloudtrail.kms accepts unencrypted (SSE-S3) log files, nor while one on
        # cloudtrail.management_events accepts that no trail records them (the trail is then not created)
        ours = [our_trail_arn(ctx, partition)]
        kms = [] if (ctx.waiver("cloudtrail.kms", partition, ours) or ctx.waiver("cloudtrail.management_events",
                                                                                  partition, ours)) is not None \
            else _kms_steps(ctx, partition)
        return kms + [_create_trail_step(ctx, partition)]
    if trail.organization:
        return [manual_step(f"manual:trail:{partition}", f"the security trail of {partition} ({trail.name}) is an "
                            "organization trail: change it from the organization's management account", rec)]
    cid = rec.check_id
    if cid == "cloudtrail.logging":
        if trail.is_logging:
            if not trail.latest_delivery_error:
                return []
            return [manual_step(f"manual:trail-delivery:{partition}", f"trail {trail.name} logs but cannot deliver "
                                f"({trail.latest_delivery_error}): fix its S3 bucket policy or KMS key policy", rec)]
        live = [t for t in trails if t.arn != trail.arn and t.is_logging and any(management_coverage(t)[:2])]
        if live:
            # CloudTrail bills every copy of management events after the first (CloudTrail pricing;
            # User Guide, "Creating a trail"): a stopped legacy trail is not restarted beside a live one
            return [manual_step(f"manual:trail-logging:{partition}", (
                f"trail {trail.name} is stopped while {live[0].name} logs management events: starting it would "
                f"deliver a second, billed copy; make {live[0].name} the security trail (or delete {trail.name}) "
                "by hand"), rec)]
        return [_trail_update_step(ctx, trail, "logging", "start-logging", "start logging", ["cloudtrail:StartLogging"],
                                   {"IsLogging": False},
                                   lambda c, t: (_ct(c, t, "StartLogging", Name=t.arn), {"IsLogging": True})[1])]
    if cid == "cloudtrail.multi_region":
        if trail.multi_region and trail.global_events:
            return []
        return [_trail_update_step(
            ctx, trail, "multi-region", "multi-region", "make multi-region with global service events",
            ["cloudtrail:UpdateTrail"], {"IsMultiRegionTrail": trail.multi_region, "IncludeGlobalServiceEvents": trail.global_events},
            lambda c, t: (_ct(c, t, "UpdateTrail", Name=t.arn, IsMultiRegionTrail=True, IncludeGlobalServiceEvents=True),
                          {"IsMultiRegionTrail": True, "IncludeGlobalServiceEvents": True})[1])]
    if cid == "cloudtrail.log_file_validation":
        if trail.log_file_validation:
            return []
        return [_trail_update_step(
            ctx, trail, "validation", "log-file-validation", "turn on log-file validation", ["cloudtrail:UpdateTrail"],
            {"LogFileValidationEnabled": False},
            lambda c, t: (_ct(c, t, "UpdateTrail", Name=t.arn, EnableLogFileValidation=True),
                          {"LogFileValidationEnabled": True})[1])]
    if cid == "cloudtrail.kms":
        if trail.kms_key_id:
            # never re-encrypt: its log readers hold kms:Decrypt on the key it has
            problem = kms_key_problem(trail.kms_key, trail.kms_key_id) if trail.kms_key else None
            if problem is None:
                return []
            return [manual_step(f"manual:trail-kms:{partition}", f"trail {trail.name} is encrypted with {problem}: "
                                "enable that key or cancel its deletion (remediation never re-encrypts a trail)", rec)]
        def set_kms(c: Context, t: Trail) -> dict[str, Any]:
            arn = kms_key_arn(c, t.partition)
            _ct(c, t, "UpdateTrail", Name=t.arn, KmsKeyId=arn)
            return {"KmsKeyId": arn}
        return _kms_steps(ctx, partition) + [_trail_update_step(
            ctx, trail, "kms", "kms", f"encrypt new log files with {KMS_ALIAS} (whoever reads the logs then "
            "needs kms:Decrypt on it)", ["cloudtrail:UpdateTrail"], {"KmsKeyId": None}, set_kms,
            requires=[f"kms.create:{partition}"],
            # narrows who can read the trail's new log files to holders of kms:Decrypt on our key
            destructive=True)]
    if cid == "cloudtrail.management_events":
        before = {"EventSelectors": trail.event_selectors, "AdvancedEventSelectors": trail.advanced_event_selectors}
        if trail.selectors_error:
            return [manual_step(f"manual:trail-selectors:{partition}", f"the event selectors of {trail.name} cannot "
                                "be read, so they cannot be kept: grant cloudtrail:GetEventSelectors and rerun", rec)]
        new = management_selectors(trail)
        if new is None:
            return [manual_step(f"manual:trail-selectors:{partition}", f"trail {trail.name} has "
                                f"{MAX_SELECTORS} selectors already: add all management events to it by hand", rec)]
        return [_trail_update_step(ctx, trail, "events", "management-events",
                                   "record all read and write management events (data-event selectors kept exactly)",
                                   ["cloudtrail:PutEventSelectors"], before,
                                   lambda c, t: _put_selectors(c, t, new))]
    return []


MAX_SELECTORS = 5  # basic event selectors per trail (advanced: 500 conditions; kept well below)


def _is_management_advanced(sel: dict[str, Any]) -> bool:
    return any(f.get("Field") == "eventCategory" and "Management" in (f.get("Equals") or [])
               for f in sel.get("FieldSelectors", []))


def management_selectors(trail: Trail) -> dict[str, Any] | None:
    """The trail's selectors with management events recorded in full (read and write, no excluded
    source) and every data-event selector kept exactly: advanced data selectors verbatim; a basic
    selector's DataResources with the same ReadWriteType (a selector that also carried management
    events keeps its data part, with IncludeManagementEvents false).  None: no room for it."""
    if trail.advanced_event_selectors:
        kept = [s for s in trail.advanced_event_selectors if not _is_management_advanced(s)]
        return {"AdvancedEventSelectors": kept + [{
            "Name": "All management events (bedrock-key-audit)",
            "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]}
    kept = []
    for s in trail.event_selectors or []:
        if not s.get("DataResources"):
            continue  # management only: replaced by the selector below
        if not s.get("IncludeManagementEvents", True):
            kept.append(s)
        else:
            kept.append({k: v for k, v in s.items() if k != "ExcludeManagementEventSources"}
                        | {"IncludeManagementEvents": False})
    if len(kept) >= MAX_SELECTORS:
        return None
    return {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
                                "ExcludeManagementEventSources": []}] + kept}


@writes(Write("cloudtrail:GetEventSelectors", R_TRAILS), Write("cloudtrail:PutEventSelectors", R_OWN_TRAILS))
def _put_selectors(ctx: Context, trail: Trail, new: dict[str, Any]) -> dict[str, Any]:
    now = _ct(ctx, trail, "GetEventSelectors", TrailName=trail.arn) or {}
    if (now.get("EventSelectors") or None) != (trail.event_selectors or None) or \
            (now.get("AdvancedEventSelectors") or None) != (trail.advanced_event_selectors or None):
        raise NeedsPerson(f"the event selectors of {trail.name} changed since the plan: rerun the plan")
    _ct(ctx, trail, "PutEventSelectors", TrailName=trail.arn, **new)
    return new


def _put_management_selectors(ctx: Context, trail: Trail) -> dict[str, Any]:
    new = management_selectors(trail)
    if new is None:
        raise NeedsPerson(f"trail {trail.name} has no room for another event selector")
    return _put_selectors(ctx, trail, new)


def trail_bucket_policy(arn_partition: str, account: str, bucket: str, trail_arn: str) -> dict[str, Any]:
    """AWS's documented CloudTrail bucket policy, scoped to this trail with aws:SourceArn."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:GetBucketAcl", "Resource": f"arn:{arn_partition}:s3:::{bucket}",
         "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}}},
        {"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"arn:{arn_partition}:s3:::{bucket}/AWSLogs/{account}/*",
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trail_arn}}},
    ]}


# what each trail row judges on a trail this tool creates, and the sentence for the property left at CloudTrail's
# default when a live waiver accepts that row
TRAIL_PROPERTIES = {
    "cloudtrail.kms": "no SSE-KMS (CloudTrail's default SSE-S3)",
    "cloudtrail.log_file_validation": "no log-file validation",
    "cloudtrail.multi_region": "single-Region",
    "cloudtrail.logging": "not started",
}
# the trail is created because no trail records management events, which is what this row judges: a new trail
# records them whatever its selectors (CreateTrail's default is all management events), so a live waiver on it
# cannot be adapted to: the create is then manual naming the waiver (core._waived_writes)
MANAGEMENT_EVENTS = "cloudtrail.management_events"


def our_trail_arn(ctx: Context, partition: str) -> str:
    """The ARN of the trail this tool creates in ``partition``."""
    return (f"arn:{ctx.arn_partition(partition)}:cloudtrail:{ctx.cfg.region(partition)}:{ctx.account(partition)}:"
            f"trail/{TRAIL_NAME}")


@writes(Write("cloudtrail:GetTrail", R_TRAILS), Write("s3:CreateBucket", R_OUR_BUCKETS),
        Write("s3:PutPublicAccessBlock", R_OUR_BUCKETS, actions=("s3:PutBucketPublicAccessBlock",)),
        Write("s3:GetBucketPolicy", R_TRAIL_BUCKETS), Write("s3:PutBucketPolicy", R_OUR_BUCKETS),
        Write("cloudtrail:CreateTrail", R_OWN_TRAILS), Write("cloudtrail:PutEventSelectors", R_OWN_TRAILS),
        Write("cloudtrail:StartLogging", R_OWN_TRAILS))
def _create_trail_step(ctx: Context, partition: str) -> Step:
    """Create this tool's trail.  Each property a trail row judges is set as that row passes, except where a live
    waiver on the row (``Context.waiver``) accepts it as it is: that property is left at CloudTrail's default for
    a new trail (CloudTrail API Reference, "CreateTrail": no KmsKeyId means SSE-S3, log-file validation off,
    single-Region; a trail is created stopped until StartLogging; a trail without PutEventSelectors logs all
    management events), so no waived choice is overwritten by the trail another row asked for.  A waiver scoped to
    another trail (``@<trail arn>``) accepts that trail's property, not this new one's: the new trail gets it.
    ``cloudtrail.management_events`` is always in ``affects`` (:data:`MANAGEMENT_EVENTS`)."""
    region = ctx.cfg.region(partition)
    acct = ctx.account(partition)
    p = ctx.arn_partition(partition)
    bucket = f"{TRAIL_NAME}-{acct}-{region}"
    trail_arn = our_trail_arn(ctx, partition)
    waived = {cid: w for cid in TRAIL_PROPERTIES if (w := ctx.waiver(cid, partition, [trail_arn])) is not None}
    if (why := taken_bucket(ctx, partition, bucket, region)) is not None:
        st = manual_step(f"trail.create:{partition}", f"trail {TRAIL_NAME} is not created: {why}")
        st.partition, st.targets, st.order = partition, [trail_arn, f"arn:{p}:s3:::{bucket}"], ORDER_TRAIL_CREATE
        return st

    def run(ctx: Context, st: Step) -> tuple[Any, Any]:
        kms = kms_key_arn(ctx, partition) if "cloudtrail.kms" not in waived else None
        got = ctx.call("cloudtrail", partition, "GetTrail", expected={"TrailNotFoundException"}, Name=TRAIL_NAME)
        if got is not None and got["Trail"].get("S3BucketName") != bucket:
            raise NeedsPerson(f"a trail named {TRAIL_NAME} already exists in {partition} with bucket "
                              f"{got['Trail'].get('S3BucketName')}: it is not ours to change")
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if region != "us-east-1":  # us-east-1 refuses a LocationConstraint naming itself
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        # a bucket left by an earlier, interrupted run is ours already: carry on with it
        if (why := taken_bucket(ctx, partition, bucket, region)) is not None:
            raise NeedsPerson(why)
        ctx.call("s3", partition, "CreateBucket", expected={"BucketAlreadyOwnedByYou"}, **kwargs)
        ctx.call("s3", partition, "PutPublicAccessBlock", Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
        # a bucket of ours from an earlier run keeps every statement it has: ours are added beside them
        now = ctx.call("s3", partition, "GetBucketPolicy", expected={"NoSuchBucketPolicy"}, Bucket=bucket)
        ctx.call("s3", partition, "PutBucketPolicy", Bucket=bucket, Policy=json.dumps(merged_policy(
            (now or {}).get("Policy"), trail_bucket_policy(p, acct, bucket, trail_arn)["Statement"])))
        multi, validation = "cloudtrail.multi_region" not in waived, "cloudtrail.log_file_validation" not in waived
        if got is None:
            ctx.call("cloudtrail", partition, "CreateTrail", Name=TRAIL_NAME, S3BucketName=bucket,
                     IsMultiRegionTrail=multi, IncludeGlobalServiceEvents=True, EnableLogFileValidation=validation,
                     **({"KmsKeyId": kms} if kms else {}))
        selectors = [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
                      "ExcludeManagementEventSources": []}]
        ctx.call("cloudtrail", partition, "PutEventSelectors", TrailName=TRAIL_NAME, EventSelectors=selectors)
        logging_on = "cloudtrail.logging" not in waived
        if logging_on:
            ctx.call("cloudtrail", partition, "StartLogging", Name=TRAIL_NAME)
        return {"trail": None}, {"Name": TRAIL_NAME, "TrailARN": trail_arn, "S3BucketName": bucket,
                                 "IsMultiRegionTrail": multi, "IncludeGlobalServiceEvents": True,
                                 "LogFileValidationEnabled": validation, "KmsKeyId": kms, "EventSelectors": selectors,
                                 "IsLogging": logging_on}

    if not waived:
        what = f"create multi-region trail {TRAIL_NAME} in {partition} (validated, KMS-encrypted, all management events, logging)"
    else:
        done = [w for w, cid in (("multi-region", "cloudtrail.multi_region"), ("validated", "cloudtrail.log_file_validation"),
                                 ("KMS-encrypted", "cloudtrail.kms"), ("all management events", ""),
                                 ("logging", "cloudtrail.logging")) if cid not in waived]
        what = (f"create trail {TRAIL_NAME} in {partition} ({', '.join(done) or 'nothing else set'}; left at CloudTrail's "
                "default as a live waiver accepts: " + "; ".join(f"{TRAIL_PROPERTIES[c]} ({w})" for c, w in waived.items())
                + ")")
    calls = ["s3:CreateBucket", "s3:PutBucketPublicAccessBlock", "s3:PutBucketPolicy", "cloudtrail:CreateTrail"]
    calls += ["cloudtrail:PutEventSelectors"] + (["cloudtrail:StartLogging"] if "cloudtrail.logging" not in waived else [])
    return Step(key=f"trail.create:{partition}", order=ORDER_TRAIL_CREATE,
                action=f"{what} with S3 bucket {bucket} and its CloudTrail bucket policy "
                       "(no trail there records management events; other trails are left as they are)",
                calls=calls,
                target=trail_arn, targets=[trail_arn, f"arn:{p}:s3:::{bucket}"], partition=partition, run=run,
                before={"trail": None}, requires=[f"kms.create:{partition}"] if "cloudtrail.kms" not in waived else [],
                grants=["Sid:AWSCloudTrailAclCheck", "Sid:AWSCloudTrailWrite"],
                affects=[f"{cid}[{partition}]" for cid in [*TRAIL_PROPERTIES, MANAGEMENT_EVENTS] if cid not in waived],
                creates=[trail_arn, f"arn:{p}:s3:::{bucket}"])


for _cid in ("cloudtrail.logging", "cloudtrail.multi_region", "cloudtrail.log_file_validation",
             "cloudtrail.management_events", "cloudtrail.kms"):
    fixer(_cid)(_trail_fixer)
