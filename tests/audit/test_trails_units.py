"""fixtures/trails.py and the cloudtrail rows on hand-built trails (no emulator)."""
from __future__ import annotations

import datetime as dt

import pytest

from bedrock_key_audit.verdicts.cloudtrail import judge_row
from bedrock_key_audit.checkcore import Check, CheckFailed, CheckRecord, CouldNotDecide
from bedrock_key_audit.inventory.models import Trail
from bedrock_key_audit.trails import ROW_PROPERTIES, assess, security_trail

ALL = [{"ReadWriteType": "All", "IncludeManagementEvents": True}]
KEY = "arn:aws:kms:us-east-1:123456789012:key/k"


def trail(name, *, multi=True, glob=True, valid=True, kms=KEY, logging=True, selectors=ALL, advanced=None,
          org=False, home="us-east-1", key_state="Enabled", delivery=None, **kw):
    t = Trail(partition="commercial", name=name, arn=f"arn:aws:cloudtrail:{home}:123456789012:trail/{name}",
              home_region=home, multi_region=multi, global_events=glob, log_file_validation=valid,
              kms_key_id=kms, organization=org, shadow=home != "us-east-1", is_logging=logging,
              latest_delivery_error=delivery, event_selectors=selectors, advanced_event_selectors=advanced,
              kms_key={"Arn": kms, "KeyState": key_state} if kms else None)
    for k, v in kw.items():
        setattr(t, k, v)
    return t


def run_row(trails, row):
    rec = CheckRecord(check_id=f"cloudtrail.{row}", title="", family="cloudtrail", severity="high", controls={},
                      nodeid="x")
    check = Check(rec)
    try:
        judge_row(check, trails, "commercial", row, "us-east-1")
    except CheckFailed as exc:
        return "fail", str(exc), rec
    except CouldNotDecide as exc:
        return "error", str(exc), rec
    return "pass", rec.detail, rec


def verdicts(trails):
    return {row: run_row(trails, row)[0] for row in ROW_PROPERTIES}


def test_one_complete_trail_passes_every_row():
    assert set(verdicts([trail("only")]).values()) == {"pass"}


def test_properties_on_different_trails_do_not_add_up():
    # a: the CIS 3.1 core, no validation or KMS; b: validation and KMS, single-region
    a = trail("a", valid=False, kms=None)
    b = trail("b", multi=False)
    got = verdicts([b, a])
    assert got == {"logging": "pass", "multi_region": "pass", "management_events": "pass",
                   "log_file_validation": "fail", "kms": "fail"}
    status, text, rec = run_row([b, a], "kms")
    assert rec.resource.endswith("trail/a")
    assert "a is not KMS-encrypted" in text and "b is not multi-region" in text
    assert "encrypt a with an Enabled customer-managed KMS key" in text


def test_a_complete_trail_wins_over_any_number_of_partial_ones():
    trails = [trail("a", multi=False), trail("b", valid=False), trail("z-full")]
    d = security_trail(trails, "commercial", "us-east-1")
    assert d.full and d.trail.name == "z-full"
    assert d.missing(trails[0]) == ["multi_region"] and d.missing(trails[1]) == ["log_file_validation"]
    assert set(verdicts(trails).values()) == {"pass"}


def test_candidate_is_chosen_by_properties_not_by_name():
    weak = trail("aaa", multi=False, logging=False, valid=True)  # 4 of 7, lacks the core
    strong = trail("zzz", valid=False, kms=None)                   # the whole core
    assert security_trail([weak, strong], "commercial").trail is strong
    # swap which has more: still deterministic and independent of input order
    assert security_trail([strong, weak], "commercial").trail is strong


def test_ties_prefer_an_account_trail_homed_here_then_arn():
    org = trail("a-org", org=True, valid=False)
    shadow = trail("b-shadow", home="us-west-2", valid=False)
    home = trail("c-home", valid=False)
    assert security_trail([org, shadow, home], "commercial", "us-east-1").trail is home
    assert security_trail([org, shadow], "commercial", "us-east-1").trail is shadow


def test_a_data_only_trail_is_never_the_candidate():
    data_only = trail("data", advanced=[{"Name": "s3", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]}])
    weak = trail("writes", multi=False, valid=False, kms=None, selectors=[{"ReadWriteType": "WriteOnly"}])
    assert security_trail([data_only, weak], "commercial").trail is weak
    d = security_trail([data_only], "commercial")
    assert d.trail is None and not d.full
    for row in ROW_PROPERTIES:
        status, text, _ = run_row([data_only], row)
        assert status == "fail" and "data records no read/write management events" in text


def test_no_trail_fails_every_row():
    for row in ROW_PROPERTIES:
        status, text, _ = run_row([], row)
        assert status == "fail" and "no CloudTrail trail in commercial" in text


@pytest.mark.parametrize("state, phrase", [
    ("Disabled", "whose state is Disabled"),
    ("PendingImport", "whose state is PendingImport"),
])
def test_kms_key_not_enabled_fails_kms_only(state, phrase):
    got = verdicts([trail("t", key_state=state)])
    assert got["kms"] == "fail" and [r for r, s in got.items() if s != "pass"] == ["kms"]
    assert phrase in run_row([trail("t", key_state=state)], "kms")[1]


def test_kms_key_pending_deletion_names_the_date():
    t = trail("t")
    t.kms_key = {"Arn": KEY, "KeyState": "PendingDeletion", "DeletionDate": dt.datetime(2026, 12, 9, tzinfo=dt.timezone.utc)}
    status, text, _ = run_row([t], "kms")
    assert status == "fail" and "pending deletion (deleted on 2026-12-09" in text


def test_kms_key_that_does_not_exist_fails():
    t = trail("t")
    t.kms_key = {"KeyId": KEY, "missing": True}
    assert "which does not exist" in run_row([t], "kms")[1]


def test_kms_describe_denied_is_an_error_not_a_pass():
    t = trail("t", kms_error="kms:DescribeKey was denied to the auditor in commercial (us-east-1); grant it")
    t.kms_key = None
    status, text, _ = run_row([t], "kms")
    assert status == "error" and "kms:DescribeKey was denied" in text
    assert verdicts([t])["logging"] == "pass"


def test_unreadable_status_errors_logging_and_blocks_no_other_row():
    t = trail("t", logging=None, status_error="cloudtrail:GetTrailStatus was denied; grant it")
    got = verdicts([t])
    assert got == {"logging": "error", "multi_region": "pass", "log_file_validation": "pass",
                   "management_events": "pass", "kms": "pass"}


def test_a_possibly_complete_trail_beats_a_known_partial_one():
    unknown = trail("zz", logging=None, status_error="denied")
    partial = trail("aa", valid=False)
    d = security_trail([partial, unknown], "commercial")
    assert d.trail is unknown and not d.full
    assert verdicts([partial, unknown])["log_file_validation"] == "pass"
    assert verdicts([partial, unknown])["logging"] == "error"


def test_delivery_error_and_global_events():
    t = trail("t", delivery="AccessDenied", glob=False)
    a = assess(t)
    assert a.missing["delivering"] == "fails to deliver: AccessDenied"
    assert "global_events" in a.missing
    got = verdicts([t])
    assert got["logging"] == "fail" and got["multi_region"] == "fail"
    assert "include global service events on t" in run_row([t], "multi_region")[1]


@pytest.mark.parametrize("selectors, advanced, phrase", [
    ([{"ReadWriteType": "ReadOnly"}], None, "records no write management events"),
    ([{"ReadWriteType": "All", "ExcludeManagementEventSources": ["kms.amazonaws.com"]}], None, "excludes kms.amazonaws.com"),
    (None, [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                {"Field": "readOnly", "Equals": ["false"]}]}], "records no read management events"),
])
def test_management_events_must_be_all_reads_and_writes(selectors, advanced, phrase):
    t = trail("t", selectors=selectors, advanced=advanced)
    status, text, _ = run_row([t], "management_events")
    assert status == "fail" and phrase in text
