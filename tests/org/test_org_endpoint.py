"""Endpoint rows explain a refusal by the SCP that causes it, on hand-built probes and SCPs."""
from __future__ import annotations

from typing import Any

from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.org_policies import SCP, Level, OrgPolicies, OrgPolicy
from bedrock_key_audit.verdicts import endpoint as v
from tests.policy_docs import allow, deny, doc
from tests.unit.helpers import ACCOUNT, FakeInventory, config, probe, raw_key, run

DENIED = ("access denied: User: arn:aws:iam::123456789012:user/key-user is not authorized to perform: "
          "bedrock:CallWithBearerToken with an explicit deny in a service control policy")
LONG_TERM = {"StringEquals": {"bedrock:BearerTokenType": "LONG_TERM"}}


def member(*docs: dict[str, Any]) -> OrgPolicies:
    full = OrgPolicy("p-FullAWSAccess", "FullAWSAccess", SCP, doc(allow("*")))
    mine = tuple(OrgPolicy(f"p-guard{i}", f"Guard{i}", SCP, d) for i, d in enumerate(docs))
    return OrgPolicies(ACCOUNT, True, "999988887777", (Level("r-root", "ROOT", (full, *mine)),
                                                      Level(ACCOUNT, "ACCOUNT", (full,))))


def forbidden(name: str = "list_models") -> object:
    return probe("forbidden", 403, message=DENIED, name=name)


def test_a_403_names_the_scp_that_denies_long_term_keys() -> None:
    org = member(doc(deny("bedrock:CallWithBearerToken", Sid="DenyLongTerm", Condition=LONG_TERM)))
    for fn, field in ((v.list_models, "list_models"), (v.invoke, "invoke")):
        status, text, _ = run(fn, FakeInventory(**{field: forbidden(field)}, key=raw_key(), org=org), config(),
                              "key-user")
        assert status == "fail"
        assert ("(refused: SCP Guard0 (p-guard0) attached to root r-root statement 'DenyLongTerm' "
                "denies bedrock:CallWithBearerToken to this long-term key's calls)") in text, text
        # a grant to the user cannot lift an SCP's refusal: that advice is not given
        assert "grant the missing action" not in text and "the organization must change that SCP" in text, text


def test_a_level_whose_scps_allow_nothing_of_it_is_named_as_the_cause() -> None:
    # an OU whose FullAWSAccess was replaced by a list that lacks the action: implicitly denied there
    full = OrgPolicy("p-FullAWSAccess", "FullAWSAccess", SCP, doc(allow("*")))
    s3_only = OrgPolicy("p-s3only", "S3Only", SCP, doc(allow("s3:*")))
    org = OrgPolicies(ACCOUNT, True, "999988887777", (Level("r-root", "ROOT", (full,)),
                                                      Level("ou-x", "ORGANIZATIONAL_UNIT", (s3_only,)),
                                                      Level(ACCOUNT, "ACCOUNT", (full,))))
    msg = DENIED.replace("with an explicit deny in a service control policy",
                         "because no service control policy allows the bedrock:CallWithBearerToken action")
    status, text, _ = run(v.list_models, FakeInventory(list_models=probe("forbidden", 403, message=msg), key=raw_key(),
                                                       org=org), config(), "key-user")
    assert status == "fail" and "no SCP attached to OU ou-x allows bedrock:CallWithBearerToken" in text, text
    assert "grant the missing action" not in text, text


def test_a_403_naming_an_scp_is_never_answered_by_a_grant_even_unread() -> None:
    import httpx

    from bedrock_key_audit.inventory.probes import classify_http

    for reason, want in (("with an explicit deny in a service control policy", "service control policy refuses"),
                         ("because no service control policy allows the bedrock:InvokeModel action",
                          "service control policy refuses"),
                         ("with an explicit deny in an identity-based policy", "explicit Deny refuses"),
                         ("because no identity-based policy allows the bedrock:InvokeModel action",
                          "grant the missing action")):
        r = httpx.Response(403, json={"message": f"User: u is not authorized to perform: bedrock:InvokeModel {reason}"})
        got = classify_http("invoke", "https://x/model/m/converse", r, 1)
        assert got.classification == "forbidden" and want in got.message, got.message


def test_no_scp_cause_when_none_denies_or_they_were_not_read() -> None:
    for org in (member(), member(doc(deny("bedrock:CallWithBearerToken", Condition={
            "StringEquals": {"bedrock:BearerTokenType": "SHORT_TERM"}}))),
                CouldNotDecide("SCPs/RCPs not read: x")):
        status, text, _ = run(v.list_models, FakeInventory(list_models=forbidden(), key=raw_key(), org=org),
                              config(), "key-user")
        assert status == "fail" and "refused: SCP" not in text


def test_a_closed_mantle_names_the_scp_that_closes_it() -> None:
    # a Mantle request carries bedrock-mantle:BearerTokenType, not bedrock:BearerTokenType (Service Authorization
    # Reference): the SCP names Mantle's own key for the Mantle action
    org = member(doc(deny(["bedrock-mantle:CallWithBearerToken"], Sid="NoKeys",
                          Condition={"StringEquals": {"bedrock-mantle:BearerTokenType": "LONG_TERM"}})))
    msg = DENIED.replace("bedrock:CallWithBearerToken", "bedrock-mantle:CallWithBearerToken")
    p = probe("forbidden", 403, message=msg, name="mantle_models")
    status, text, _ = run(v.unused_surfaces_closed, FakeInventory(mantle_models=p, key=raw_key(), org=org),
                          config(), "key-user")
    assert status == "pass" and "refused: SCP Guard0 (p-guard0) attached to root r-root statement 'NoKeys' denies " \
                                "bedrock-mantle:CallWithBearerToken to this long-term key's calls" in text, text


def test_a_mantle_scp_on_bedrocks_token_type_is_not_named_as_the_cause() -> None:
    org = member(doc(deny(["bedrock:CallWithBearerToken", "bedrock-mantle:CallWithBearerToken"], Sid="NoKeys",
                          Condition=LONG_TERM)))
    msg = DENIED.replace("bedrock:CallWithBearerToken", "bedrock-mantle:CallWithBearerToken")
    p = probe("forbidden", 403, message=msg, name="mantle_models")
    status, text, _ = run(v.unused_surfaces_closed, FakeInventory(mantle_models=p, key=raw_key(), org=org),
                          config(), "key-user")
    assert status == "pass" and "NoKeys" not in text, text


def test_a_region_scp_is_named_on_the_region_the_probe_went_to() -> None:
    class InRegion(FakeInventory):
        def probe_region(self) -> str:
            return "us-east-1"

    region_deny = doc(deny("*", Sid="DenyOutsideEU", Condition={"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}}))
    status, text, _ = run(v.list_models, InRegion(list_models=forbidden(), key=raw_key(), org=member(region_deny)),
                          config(), "key-user")
    assert status == "fail" and "statement 'DenyOutsideEU' denies bedrock:CallWithBearerToken" in text, text
    # without a known region the SCP stays undecided: no cause is named, and no grant is advised either
    status, text, _ = run(v.list_models, FakeInventory(list_models=forbidden(), key=raw_key(), org=member(region_deny)),
                          config(), "key-user")
    assert "DenyOutsideEU" not in text and "grant the missing action" not in text, text
