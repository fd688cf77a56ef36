"""fixtures/reporting/controls.py: control statuses from hand-built rows."""
from __future__ import annotations

import doctest

import pytest

from bedrock_key_audit import registry
from bedrock_key_audit.reporting import controls as ctl


def _row(cid, status, nist=(), cis=(), fedramp=(), **params):
    return {"id": cid, "params": params, "status": status, "severity": "high",
            "controls": {"nist_800_53_rev5": list(nist), "cis_aws_v3": list(cis), "fedramp": list(fedramp)}}


def _by(view):
    return {(c.framework, c.control): c for c in view}


def test_fail_beats_error_and_pass():
    view = _by(ctl.control_view([_row("a", "pass", nist=["SC-28"]), _row("b", "error", nist=["SC-28"]),
                                 _row("c", "fail", nist=["SC-28"], partition="govcloud")]))
    c = view[("nist_800_53_rev5", "SC-28")]
    assert c.status == ctl.NOT_SATISFIED
    assert c.check_keys == ("a", "b", "c[partition=govcloud]")
    assert "c[partition=govcloud]" in c.reason and c.reason.count(".") == 1


def test_error_makes_a_control_not_assessed_even_next_to_a_pass():
    c = _by(ctl.control_view([_row("a", "pass", nist=["AU-2"]), _row("b", "error", nist=["AU-2"])]))[
        ("nist_800_53_rev5", "AU-2")]
    assert c.status == ctl.NOT_ASSESSED and "b ended in error" in c.reason


@pytest.mark.parametrize("other", ["skip", "frobbed"])
def test_skipped_or_unknown_status_is_not_assessed(other):
    c = ctl.control_view([_row("a", "pass", cis=["3.1"]), _row("b", other, cis=["3.1"])])[0]
    assert (c.framework, c.control, c.status) == ("cis_aws_v3", "3.1", ctl.NOT_ASSESSED)


def test_a_waived_row_makes_the_control_waived_neither_pass_nor_fail():
    c = ctl.control_view([_row("a", "pass", cis=["3.1"]), _row("b", "waived", cis=["3.1"])])[0]
    assert (c.framework, c.control, c.status) == ("cis_aws_v3", "3.1", ctl.WAIVED)


def test_all_pass_is_satisfied():
    c = ctl.control_view([_row("a", "pass", fedramp=["FedRAMP High AC-2"], partition="commercial"),
                          _row("a", "pass", fedramp=["FedRAMP High AC-2"], partition="govcloud")])[0]
    assert c.status == ctl.SATISFIED and c.label == "AC-2" and len(c.checks) == 2


def test_metadata_adds_controls_of_checks_that_did_not_run():
    meta = {"a": {"nist_800_53_rev5": ["AC-2"]}, "b": {"nist_800_53_rev5": ["AC-2", "IA-4"]}}
    view = _by(ctl.control_view([_row("a", "pass", nist=["AC-2"])], meta))
    assert view[("nist_800_53_rev5", "AC-2")].status == ctl.NOT_ASSESSED
    assert view[("nist_800_53_rev5", "AC-2")].missing == ("b",)
    assert view[("nist_800_53_rev5", "IA-4")].status == ctl.NOT_ASSESSED
    assert view[("nist_800_53_rev5", "IA-4")].checks == ()
    # once b ran and passed, AC-2 is satisfied
    view = _by(ctl.control_view([_row("a", "pass", nist=["AC-2"]), _row("b", "pass", nist=["AC-2", "IA-4"])], meta))
    assert view[("nist_800_53_rev5", "AC-2")].status == ctl.SATISFIED


def test_order_frameworks_then_natural_control_order():
    rows = [_row("a", "pass", nist=["AC-6(10)", "AC-12", "AC-2(3)", "AC-2"], cis=["3.1", "1.12"],
                 fedramp=["FedRAMP High SC-28"])]
    assert [(c.framework, c.label) for c in ctl.control_view(rows)] == [
        ("nist_800_53_rev5", "AC-2"), ("nist_800_53_rev5", "AC-2(3)"), ("nist_800_53_rev5", "AC-6(10)"),
        ("nist_800_53_rev5", "AC-12"), ("fedramp", "SC-28"), ("cis_aws_v3", "1.12"), ("cis_aws_v3", "3.1")]


def test_anchor_is_a_safe_html_id_and_unique_per_row():
    a = ctl.row_anchor({"id": "cloudtrail.kms", "params": {"partition": "govcloud"}})
    b = ctl.row_anchor({"id": "cloudtrail.kms", "params": {"partition": "commercial"}})
    assert a == "check-cloudtrail.kms--partition_govcloud" and a != b
    assert ctl.row_anchor({"id": "x", "params": {"p": "<a b>"}}) == "check-x--p_a_b_"


def test_real_metadata_names_every_framework():
    meta = ctl.load_controls()
    assert sorted(meta) == sorted(registry.check_ids())
    view = ctl.control_view([], meta)
    assert {c.framework for c in view} == set(ctl.FRAMEWORKS)
    assert all(c.status == ctl.NOT_ASSESSED and c.missing for c in view)
    assert ctl.tally(view)["nist_800_53_rev5"][ctl.NOT_ASSESSED] == sum(
        1 for c in view if c.framework == "nist_800_53_rev5")


def test_doctest():
    assert doctest.testmod(ctl).failed == 0
