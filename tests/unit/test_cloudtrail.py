"""cloudtrail.* verdicts on hand-built trails (bedrock_key_audit.verdicts.cloudtrail): pass, fail, error per row.

How the security trail is chosen is tested in tests/audit/test_trails_units.py; here every row's
three outcomes through its own verdict function, as the marked check calls it."""
from __future__ import annotations

from typing import Any

import pytest

from bedrock_key_audit.inventory.models import Trail
from bedrock_key_audit.verdicts import cloudtrail as v
from tests.unit.helpers import ReadError, config, run

CFG = config()
KEY = "arn:aws:kms:us-east-1:123456789012:key/k"
ALL = [{"ReadWriteType": "All", "IncludeManagementEvents": True}]
ROWS = ("logging", "multi_region", "log_file_validation", "management_events", "kms")


def trail(**kw: Any) -> Trail:
    t = Trail(partition="commercial", name="main", arn="arn:aws:cloudtrail:us-east-1:123456789012:trail/main",
              home_region="us-east-1", multi_region=True, global_events=True, log_file_validation=True,
              kms_key_id=KEY, organization=False, shadow=False, is_logging=True, event_selectors=ALL,
              kms_key={"Arn": KEY, "KeyState": "Enabled", "KeyManager": "CUSTOMER"})
    for k, val in kw.items():
        setattr(t, k, val)
    return t


def row(name: str, trails: Any) -> tuple[str, str, Any]:
    return run(getattr(v, name), {"commercial": trails}, "commercial", CFG, check_id=f"cloudtrail.{name}")


@pytest.mark.parametrize("name", ROWS)
def test_a_complete_security_trail_passes_every_row(name: str) -> None:
    status, text, rec = row(name, [trail()])
    assert status == "pass" and "it is a complete security trail" in text and rec.resource.endswith("trail/main")
    assert {e["source"] for e in rec.evidence} >= {"cloudtrail:DescribeTrails+GetTrailStatus+GetEventSelectors",
                                                   "security-trail"}


BROKEN: dict[str, tuple[dict[str, Any], str]] = {
    "logging": ({"is_logging": False}, "start logging on main"),
    "multi_region": ({"multi_region": False}, "make main multi-region"),
    "log_file_validation": ({"log_file_validation": False}, "turn on log-file validation on main"),
    "management_events": ({"event_selectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]},
                          "record all read and write management events on main"),
    "kms": ({"kms_key": {"Arn": KEY, "KeyState": "Disabled", "KeyManager": "CUSTOMER"}},
            "encrypt main with an Enabled customer-managed KMS key"),
}


@pytest.mark.parametrize("name", ROWS)
def test_each_row_fails_when_its_property_is_missing_and_only_then(name: str) -> None:
    change, todo = BROKEN[name]
    status, text, _ = row(name, [trail(**change)])
    assert status == "fail" and text.startswith("no trail in commercial is a security trail") and todo in text
    others = {o: row(o, [trail(**change)])[0] for o in ROWS if o != name}
    assert set(others.values()) == {"pass"}, others


@pytest.mark.parametrize("name", ROWS)
def test_no_trail_fails_every_row(name: str) -> None:
    assert row(name, [])[:2] == ("fail", "no CloudTrail trail in commercial, so nothing records the key's creation or use")


@pytest.mark.parametrize("name", ROWS)
def test_an_unreadable_trail_list_is_an_error_for_every_row(name: str) -> None:
    msg = "cloudtrail:DescribeTrails was denied to the auditor in commercial (us-east-1); grant it"
    assert row(name, ReadError(msg))[:2] == ("error", msg)


ERRORS = {
    "logging": {"is_logging": None, "status_error": "cloudtrail:GetTrailStatus was denied"},
    "management_events": {"event_selectors": None, "selectors_error": "cloudtrail:GetEventSelectors was denied"},
    "kms": {"kms_key": None, "kms_error": "kms:DescribeKey was denied"},
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_an_unreadable_property_is_an_error_for_its_row(name: str) -> None:
    status, text, _ = row(name, [trail(**ERRORS[name])])
    assert status == "error" and text.startswith("cannot tell whether trail main in commercial has ")
    assert "was denied" in text
