"""SCP/RCP evaluation and the org.* guardrail verdicts on hand-built organizations (no emulator)."""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from bedrock_key_audit.org_policies import (
    RCP,
    SCP,
    ExportError,
    Level,
    OrgPolicies,
    OrgPolicy,
    confine_scp,
    key_lifetime_capped,
    lifetime_scp,
    long_term_keys_confined,
    parse_export,
    probe_principal,
    rcp_gate,
    scp_gate,
    scp_gates,
)
from bedrock_key_audit.policy import RequestContext, catalogue

ACCOUNT, MGMT = "111122223333", "999988887777"
FULL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
USER = f"arn:aws:iam::{ACCOUNT}:user/bedrock-cross-partition-user"
OUTSIDER = probe_principal(ACCOUNT)


def pol(name: str, doc: dict, kind: str = SCP) -> OrgPolicy:
    return OrgPolicy(f"p-{name.lower()}", name, kind, doc)


def org(root: Sequence[OrgPolicy] = (), ou: Sequence[OrgPolicy] = (), acct: Sequence[OrgPolicy] = (), *,
        rcps: Sequence[OrgPolicy] = (), account: str = ACCOUNT) -> OrgPolicies:
    full = pol("FullAWSAccess", FULL)
    rfull = pol("RCPFullAWSAccess", FULL, RCP)
    return OrgPolicies(account, True, MGMT, (
        Level("r-root", "ROOT", (full, *root), (rfull, *rcps)),
        Level("ou-root-workloads", "ORGANIZATIONAL_UNIT", (full, *ou), (rfull,)),
        Level(account, "ACCOUNT", (full, *acct), (rfull,))))


def deny_long_term() -> OrgPolicy:
    return pol("DenyLongTermKeys", {"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyLongTerm", "Effect": "Deny", "Action": "bedrock:CallWithBearerToken", "Resource": "*",
        "Condition": {"StringEquals": {"bedrock:BearerTokenType": "LONG_TERM"}}}]})


BEARER = RequestContext({"bedrock:BearerTokenType": "LONG_TERM", "aws:PrincipalArn": USER})


# --------------------------------------------------------------------------- SCP evaluation
def test_full_access_everywhere_allows() -> None:
    assert scp_gate(org(), "bedrock:CallWithBearerToken", BEARER).outcome == "allowed"


def test_a_deny_at_any_level_wins_and_is_named_with_its_target() -> None:
    for where in ("root", "ou", "acct"):
        levels: dict[str, Any] = {where: [deny_long_term()]}
        g = scp_gate(org(**levels), "bedrock:CallWithBearerToken", BEARER)
        assert g.outcome == "denied", where
        assert "SCP DenyLongTermKeys (p-denylongtermkeys) attached to" in g.deny[0]


def test_every_level_must_allow() -> None:
    bedrock_only = pol("BedrockOnly", {"Statement": [{"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"}]})
    o = OrgPolicies(ACCOUNT, True, MGMT, (
        Level("r-root", "ROOT", (pol("FullAWSAccess", FULL),)),
        Level("ou-x", "ORGANIZATIONAL_UNIT", (bedrock_only,)),  # FullAWSAccess replaced at the OU
        Level(ACCOUNT, "ACCOUNT", (pol("FullAWSAccess", FULL),))))
    assert scp_gate(o, "bedrock:InvokeModel", RequestContext({})).outcome == "allowed"
    g = scp_gate(o, "iam:CreateServiceSpecificCredential", RequestContext({}))
    assert g.outcome == "not_allowed" and g.blocked_at == "OU ou-x"


def test_scps_do_not_apply_to_the_management_account_nor_outside_an_organization() -> None:
    mgmt = org([deny_long_term()], account=MGMT)
    assert scp_gate(mgmt, "bedrock:CallWithBearerToken", BEARER).outcome == "exempt"
    assert scp_gate(OrgPolicies(ACCOUNT, False), "bedrock:CallWithBearerToken", BEARER).outcome == "exempt"


def test_unknown_condition_key_is_undecided_naming_it() -> None:
    p = pol("VpceOnly", {"Statement": [{"Effect": "Deny", "Action": "bedrock:*", "Resource": "*",
                                         "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}]})
    g = scp_gate(org([p]), "bedrock:CallWithBearerToken", BEARER)
    assert g.outcome == "undecided" and [k.lower() for k in g.unknown] == ["aws:sourcevpce"]


def test_gates_of_many_actions_equal_each_actions_gate() -> None:
    """``scp_gates`` parses the SCPs once; every gate is the one ``scp_gate`` gives, exempt accounts too."""
    bedrock_only = pol("BedrockOnly", {"Statement": [{"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"}]})
    vpce = pol("VpceOnly", {"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                                            "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}]})
    actions = ["bedrock:CallWithBearerToken", "bedrock:InvokeModel", "iam:PassRole", "s3:GetObject", "S3:PutObject",
               *sorted(catalogue())[::97]]
    for o in (org([deny_long_term()], [bedrock_only], [vpce]), org(), org([deny_long_term()], account=MGMT),
              OrgPolicies(ACCOUNT, False)):
        assert scp_gates(o, actions, BEARER) == {a: scp_gate(o, a, BEARER) for a in actions}
    assert scp_gates(org(), [], BEARER) == {}


# --------------------------------------------------------------------------- RCP evaluation
def test_rcp_keeps_outsiders_from_a_member_secret_but_not_the_management_accounts() -> None:
    rcp = pol("OrgOnlySecrets", {"Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
        "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-abc"},
                      "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}}]}, RCP)
    outsider = RequestContext({"aws:PrincipalOrgID": "o-other", "aws:PrincipalIsAWSService": "false"})
    insider = RequestContext({"aws:PrincipalOrgID": "o-abc", "aws:PrincipalIsAWSService": "false"})
    assert rcp_gate(org(rcps=[rcp]), "secretsmanager:GetSecretValue", outsider).outcome == "denied"
    assert rcp_gate(org(rcps=[rcp]), "secretsmanager:GetSecretValue", insider).outcome == "allowed"
    assert rcp_gate(org(rcps=[rcp], account=MGMT), "secretsmanager:GetSecretValue", outsider).outcome == "exempt"
    # RCPs apply to a subset of services only: Bedrock is not one
    assert rcp_gate(org(rcps=[rcp]), "bedrock:InvokeModel", outsider).outcome == "exempt"


# --------------------------------------------------------------------------- org.key_lifetime_capped
def test_lifetime_capped_by_the_suggested_scp_passes_naming_it() -> None:
    j = key_lifetime_capped(org(ou=[pol("CapKeys", lifetime_scp(180))]), 180, [OUTSIDER, USER])
    assert j.status == "pass", j.detail
    assert "SCP CapKeys (p-capkeys) attached to OU ou-root-workloads" in j.detail


def test_a_cap_above_the_configured_maximum_fails() -> None:
    j = key_lifetime_capped(org([pol("Cap365", lifetime_scp(365))]), 180, [OUTSIDER])
    assert j.status == "fail" and "181-day key" in j.detail and "NumericGreaterThan" in j.detail


def test_awss_sample_without_a_no_expiry_statement_fails_on_never_expiring_keys() -> None:
    sample = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": "iam:CreateServiceSpecificCredential", "Resource": "*", "Condition": {
            "StringEquals": {"iam:ServiceSpecificCredentialServiceName": "bedrock.amazonaws.com"},
            "NumericGreaterThanEquals": {"iam:ServiceSpecificCredentialAgeDays": "30"}}}]}
    j = key_lifetime_capped(org([pol("Sample", sample)]), 180, [OUTSIDER])
    assert j.status == "fail" and "without an expiration" in j.detail


def test_a_cap_that_exempts_a_principal_fails_for_that_principal() -> None:
    doc = lifetime_scp(90)
    for st in doc["Statement"]:
        st["Condition"]["ArnNotLike"] = {"aws:PrincipalArn": USER}
    j = key_lifetime_capped(org([pol("CapExceptUser", doc)]), 180, [OUTSIDER, USER])
    assert j.status == "fail" and USER in j.detail


def test_lifetime_not_in_an_organization_fails_and_management_fails() -> None:
    j = key_lifetime_capped(OrgPolicies(ACCOUNT, False), 180, [OUTSIDER])
    assert j.status == "fail" and "in no AWS organization" in j.detail and "DenyBedrockKeysLongerThanMax" in j.detail
    j = key_lifetime_capped(org([pol("Cap", lifetime_scp(90))], account=MGMT), 180, [OUTSIDER])
    assert j.status == "fail" and "management account" in j.detail


def test_lifetime_with_only_full_access_fails_with_the_scp_to_attach() -> None:
    j = key_lifetime_capped(org(), 180, [OUTSIDER])
    assert j.status == "fail" and json.dumps(lifetime_scp(180), separators=(",", ":")) in j.detail


def test_lifetime_undecided_condition_is_error_naming_the_key() -> None:
    doc = lifetime_scp(90)
    for st in doc["Statement"]:
        st["Condition"]["StringEquals"]["aws:PrincipalTag/team"] = "ml"
    j = key_lifetime_capped(org([pol("TaggedCap", doc)]), 180, [OUTSIDER])
    assert j.status == "error" and "aws:principaltag/team" in j.detail.lower()


# --------------------------------------------------------------------------- org.long_term_keys_confined
def test_confined_by_the_suggested_scp_passes() -> None:
    j = long_term_keys_confined(org([pol("Confine", confine_scp([USER]))]), [USER], OUTSIDER)
    assert j.status == "pass", j.detail
    assert "SCP Confine (p-confine) attached to root r-root" in j.detail


def test_denying_long_term_use_alone_is_not_confinement() -> None:
    j = long_term_keys_confined(org([deny_long_term()]), [USER], OUTSIDER)
    assert j.status == "fail" and "creating a Bedrock API key" in j.detail


def test_confined_fails_outside_an_organization() -> None:
    j = long_term_keys_confined(OrgPolicies(ACCOUNT, False), [USER], OUTSIDER)
    assert j.status == "fail" and "in no AWS organization" in j.detail


# --------------------------------------------------------------------------- exemption patterns
def _confine_exempting(pattern: str, *, if_exists: bool = True) -> OrgPolicy:
    op = "ArnNotLikeIfExists" if if_exists else "ArnNotLike"
    doc = {"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyKeyCreation", "Effect": "Deny", "Action": "iam:CreateServiceSpecificCredential", "Resource": "*",
         "Condition": {"StringEquals": {"iam:ServiceSpecificCredentialServiceName": "bedrock.amazonaws.com"},
                       op: {"aws:PrincipalArn": pattern}}},
        {"Sid": "DenyBearerUse", "Effect": "Deny",
         "Action": ["bedrock:CallWithBearerToken", "bedrock-mantle:CallWithBearerToken"], "Resource": "*",
         "Condition": {op: {"aws:PrincipalArn": pattern}}}]}
    return pol("ConfineWildcard", doc)


def _cap_exempting(pattern: str) -> OrgPolicy:
    doc = lifetime_scp(90)
    for st in doc["Statement"]:
        st["Condition"]["ArnNotLikeIfExists"] = {"aws:PrincipalArn": pattern}
    return pol("CapExcept", doc)


def test_a_wildcard_user_exemption_spares_other_users_so_confinement_fails_naming_it() -> None:
    j = long_term_keys_confined(org([_confine_exempting("arn:aws:iam::*:user/bedrock-*")]), [USER], OUTSIDER)
    assert j.status == "fail", j.detail
    assert "arn:aws:iam::*:user/bedrock-*" in j.detail and f"arn:aws:iam::{ACCOUNT}:user/bedrock-zz-unsanctioned" in j.detail


def test_a_role_wildcard_exemption_fails_both_guardrails() -> None:
    j = long_term_keys_confined(org([_confine_exempting("arn:aws:iam::*:role/*")]), [USER], OUTSIDER)
    assert j.status == "fail" and "role/*" in j.detail, j.detail
    j = key_lifetime_capped(org([_cap_exempting("arn:aws:iam::*:role/*")]), 180, [OUTSIDER, USER])
    assert j.status == "fail" and "role/*" in j.detail, j.detail


def test_an_exemption_of_exactly_the_sanctioned_arn_passes() -> None:
    j = long_term_keys_confined(org([_confine_exempting(USER, if_exists=False)]), [USER], OUTSIDER)
    assert j.status == "pass", j.detail


def test_an_exemption_naming_another_account_spares_no_principal_of_this_one() -> None:
    both = [USER, "arn:aws:iam::444455556666:role/Admin"]
    doc = confine_scp(both)
    j = long_term_keys_confined(org([pol("Confine", doc)]), [USER], OUTSIDER)
    assert j.status == "pass", j.detail


def test_an_exact_exemption_of_another_principal_of_the_account_fails() -> None:
    other = f"arn:aws:iam::{ACCOUNT}:role/Admin"
    j = long_term_keys_confined(org([pol("Confine", confine_scp([USER, other]))]), [USER], OUTSIDER)
    assert j.status == "fail" and other in j.detail, j.detail


def test_a_role_is_asked_even_when_no_pattern_names_it() -> None:
    # a Deny that only covers users (StringLike on the ARN) leaves every role free to mint keys
    doc = confine_scp([USER])
    for st in doc["Statement"]:
        st.setdefault("Condition", {})["ArnLike"] = {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}
    j = long_term_keys_confined(org([pol("UsersOnly", doc)]), [USER], OUTSIDER)
    assert j.status == "fail" and "role/any-other-role" in j.detail, j.detail


def test_a_tag_exemption_stays_undecided() -> None:
    doc = confine_scp([USER])
    for st in doc["Statement"]:
        st.setdefault("Condition", {})["StringNotEquals"] = {"aws:PrincipalTag/bedrock-key": "allowed"}
    j = long_term_keys_confined(org([pol("TagExempt", doc)]), [USER], OUTSIDER)
    assert j.status == "error" and "aws:principaltag/bedrock-key" in j.detail.lower(), j.detail


def test_a_mantle_deny_conditioned_on_bedrocks_token_type_is_not_relied_on() -> None:
    doc = confine_scp([USER])
    doc["Statement"][2]["Condition"]["StringEquals"] = {"bedrock:BearerTokenType": "LONG_TERM"}
    j = long_term_keys_confined(org([pol("MantleByType", doc)]), [USER], OUTSIDER)
    # AWS sets bedrock:BearerTokenType on bedrock:CallWithBearerToken only: absent from a Mantle request, the
    # StringEquals is false and the Deny never applies there
    assert j.status == "fail" and "API-key call to bedrock-mantle by" in j.detail, j.detail
    assert "bedrock:BearerTokenType" not in json.dumps(confine_scp([USER])["Statement"][2])


# --------------------------------------------------------------------------- the export
def _export(**over) -> dict:
    entry = {"organization": True, "management_account": MGMT, "levels": [
        {"target": "r-root", "type": "ROOT", "scps": [{"id": "p-FullAWSAccess", "name": "FullAWSAccess",
                                                      "content": json.dumps(FULL)}]},
        {"target": ACCOUNT, "type": "ACCOUNT", "scps": [{"id": "p-cap", "name": "Cap", "content": lifetime_scp(180)}]}]}
    entry.update(over)
    return {"accounts": {ACCOUNT: entry}}


def test_export_round_trips_into_a_verdict() -> None:
    got = parse_export(_export(), "org.json")[ACCOUNT]
    assert got.in_organization and got.levels[1].scps[0].name == "Cap"
    assert key_lifetime_capped(got, 180, [OUTSIDER]).status == "pass"
    assert parse_export({"accounts": {ACCOUNT: {"organization": False}}}, "f")[ACCOUNT].in_organization is False


@pytest.mark.parametrize(("data", "message"), [
    ([], "expected an object with \"accounts\""),
    ({"accounts": {"12": {}}}, "12-digit account ids"),
    ({"accounts": {ACCOUNT: {"organization": True}}}, "management_account"),
    (_export(levels=[{"target": "r-root", "type": "ROOT"}]), "end at the ACCOUNT"),
    (_export(levels=[{"target": ACCOUNT, "type": "ACCOUNT", "scps": [{"id": "p-x", "content": "{nope"}]}]),
     "not JSON"),
    (_export(levels=[{"target": ACCOUNT, "type": "SOMETHING"}]), "needs \"target\" and \"type\""),
    # AWS keeps an SCP at every root, OU and account ("DetachPolicy"): an empty level is no real organization
    (_export(levels=[{"target": "r-root", "type": "ROOT", "scps": [{"id": "p-full", "content": FULL}]},
                     {"target": "ou-ab-1", "type": "ORGANIZATIONAL_UNIT", "scps": []},
                     {"target": ACCOUNT, "type": "ACCOUNT", "scps": [{"id": "p-full", "content": FULL}]}]),
     "level ORGANIZATIONAL_UNIT ou-ab-1 lists no SCP"),
    (_export(levels=[{"target": "r-root", "type": "ROOT", "scps": [{"id": "p-full", "content": FULL}]},
                     {"target": ACCOUNT, "type": "ACCOUNT"}]), f"level ACCOUNT {ACCOUNT} lists no SCP"),
    # RCPFullAWSAccess stays at every level once RCPs are enabled
    (_export(levels=[{"target": "r-root", "type": "ROOT", "scps": [{"id": "p-full", "content": FULL}],
                      "rcps": [{"id": "p-rfull", "content": {"Version": "2012-10-17", "Statement": [
                          {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}}]},
                     {"target": ACCOUNT, "type": "ACCOUNT", "scps": [{"id": "p-full", "content": FULL}]}]),
     f"level ACCOUNT {ACCOUNT} lists no RCP"),
])
def test_bad_export_is_one_line_naming_the_problem(data, message) -> None:
    with pytest.raises(ExportError) as exc:
        parse_export(data, "org.json")
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_the_documented_export_example_parses_and_a_bad_file_names_the_shape() -> None:
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "real-accounts.md").read_text()
    block = re.search(r"### The `--org-policies` file.*?```json\n(.*?)```", text, re.S)
    assert block is not None
    got = parse_export(json.loads(block.group(1)), "example.json")
    assert got["123456789012"].levels[0].scps[0].name == "FullAWSAccess" and not got["210987654321"].in_organization
    # every level holds FullAWSAccess (AWS keeps an SCP at each): the example allows what IAM allows
    assert all(lv.scps for lv in got["123456789012"].levels)
    assert key_lifetime_capped(got["123456789012"], 180, [OUTSIDER]).status == "fail"
    with pytest.raises(ExportError) as exc:
        parse_export({"Policies": [{"Id": "p-1"}]}, "list.json")  # a ListPoliciesForTarget answer
    assert "\"management_account\"" in str(exc.value) and "\"levels\"" in str(exc.value) and "\n" not in str(exc.value)


def test_a_pattern_not_shaped_as_an_arn_still_gets_a_witness() -> None:
    from bedrock_key_audit.org_policies import witness

    assert witness("*-bot", ACCOUNT, "aws", [USER]) == f"arn:aws:iam::{ACCOUNT}:user/-bot"
    assert witness("arn:aws:iam::444455556666:user/*", ACCOUNT, "aws") is None
    assert witness(USER, ACCOUNT, "aws", [USER]) is None
    doc = confine_scp([USER])
    for st in doc["Statement"]:
        st["Condition"] = {k: v for k, v in st.get("Condition", {}).items() if k != "ArnNotLike"}
        st["Condition"]["StringNotLike"] = {"aws:PrincipalArn": [USER, "*-bot"]}
    j = long_term_keys_confined(org([pol("BotsToo", doc)]), [USER], OUTSIDER)
    assert j.status == "fail" and "*-bot" in j.detail, j.detail


MINTER = f"arn:aws:iam::{ACCOUNT}:role/bedrock-key-rotator"


def test_the_suggested_scp_leaves_minting_to_the_minters_and_use_to_the_key_users() -> None:
    doc = confine_scp([USER], [MINTER])
    create, use, mantle = doc["Statement"]
    assert create["Condition"]["ArnNotLike"]["aws:PrincipalArn"] == [USER, MINTER]
    assert use["Condition"]["ArnNotLike"]["aws:PrincipalArn"] == [USER]
    assert mantle["Condition"]["ArnNotLike"]["aws:PrincipalArn"] == [USER]
    # an organization holding the suggested SCP passes the row that knows the minter
    j = long_term_keys_confined(org([pol("Confine", doc)]), [USER], OUTSIDER, [MINTER])
    assert j.status == "pass", j.detail


def test_a_minter_may_mint_but_never_use_a_key() -> None:
    # creation exempted for the minter and bearer use too: the minter is not a key user, so the row fails
    too_wide = confine_scp([USER, MINTER])
    j = long_term_keys_confined(org([pol("Confine", too_wide)]), [USER], OUTSIDER, [MINTER])
    assert j.status == "fail" and MINTER in j.detail and "bedrock" in j.detail, j.detail


def test_a_minter_exemption_the_row_was_not_told_of_is_unsanctioned() -> None:
    # without credential.allowed_minters naming it, an exemption for the rotator spares an unsanctioned creator
    j = long_term_keys_confined(org([pol("Confine", confine_scp([USER], [MINTER]))]), [USER], OUTSIDER)
    assert j.status == "fail" and "creating a Bedrock API key" in j.detail and MINTER in j.detail, j.detail


class _Cfg:
    allowed_key_users = [USER]
    allowed_minters: list[str] = []


class _Ctx:
    cfg = _Cfg()

    def identity(self, partition: str) -> dict[str, Any]:
        return {"Account": ACCOUNT, "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/bedrock-key-rotator/ci-run"}


def test_the_fixers_scp_leaves_minting_to_the_remediating_principal_and_says_to_sanction_it() -> None:
    from bedrock_key_audit.checkcore import CheckRecord
    from bedrock_key_audit.remediation.fixers.org import fix_long_term_confined, principal_arn

    assert principal_arn(f"arn:aws:sts::{ACCOUNT}:assumed-role/r/s") == f"arn:aws:iam::{ACCOUNT}:role/r"
    assert principal_arn(USER) == USER and principal_arn(f"arn:aws:iam::{ACCOUNT}:root") is None
    rec = CheckRecord("org.long_term_keys_confined", "t", "org", "high", {}, "n", partition="commercial")
    (step,) = fix_long_term_confined(_Ctx(), rec)  # type: ignore[arg-type]
    scp = json.loads(step.action.split(" (commercial): ", 1)[1].split(" -- ", 1)[0])
    assert scp == confine_scp([USER], [MINTER])
    assert f"list {MINTER} in credential.allowed_minters" in step.action
    _Cfg.allowed_minters = [MINTER]
    try:
        (step,) = fix_long_term_confined(_Ctx(), rec)  # type: ignore[arg-type]
    finally:
        _Cfg.allowed_minters = []
    assert "credential.allowed_minters" not in step.action and MINTER in step.action
