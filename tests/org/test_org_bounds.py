"""The organization's SCPs and RCPs in who can read the secret and who can mint a key, on hand-built
data: a reader or minter they certainly stop is not counted; one they leave undecided stays counted."""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from bedrock_key_audit.access import ANY_OTHER_ACCOUNT, Access
from bedrock_key_audit.escalation import ESCALATION, UserFacts
from bedrock_key_audit.org_policies import RCP, SCP, Level, OrgPolicies, OrgPolicy, bound_any, rcp_gate
from bedrock_key_audit.policy import RequestContext
from bedrock_key_audit.trust import sts_regions
from bedrock_key_audit.verdicts.access import _org_bound_minters, _org_bound_readers, key_minting_restricted
from bedrock_key_audit.access import principals_from_gaad
from bedrock_key_audit.inventory.models import AccountAuthorization
from tests.unit.helpers import config, run
from tests.policy_docs import allow, deny, doc

GOV, MGMT, PARTNER_ACCT, FRIEND_ACCT = "222233334444", "999988887777", "111122223333", "444455556666"
REGION = "us-gov-west-1"
SECRET = f"arn:aws-us-gov:secretsmanager:{REGION}:{GOV}:secret:key-AbCdEf"
KEY = f"arn:aws-us-gov:kms:{REGION}:{GOV}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
FULL = doc(allow("*"))
PARTNER = f"arn:aws-us-gov:iam::{PARTNER_ACCT}:user/partner"
WORKLOAD = f"arn:aws-us-gov:iam::{GOV}:role/workload"


def pol(name: str, document: dict[str, Any], kind: str) -> OrgPolicy:
    return OrgPolicy(f"p-{name.lower()}", name, kind, document)


def org(*, scps: tuple[OrgPolicy, ...] = (), rcps: tuple[OrgPolicy, ...] = (), account: str = GOV,
        org_id: str | None = "o-abc", rcp_enabled: bool = True) -> OrgPolicies:
    full = (pol("FullAWSAccess", FULL, SCP),)
    rfull = (pol("RCPFullAWSAccess", FULL, RCP),) if rcp_enabled else ()
    return OrgPolicies(account, True, MGMT, (
        Level("r-root", "ROOT", full, rfull),
        Level("ou-root-workloads", "ORGANIZATIONAL_UNIT", full, rfull),
        Level(account, "ACCOUNT", (*full, *scps), (*rfull, *rcps))), organization_id=org_id)


def perimeter(key: str, values: Any) -> OrgPolicy:
    return pol("Perimeter", doc(deny(["secretsmanager:*", "kms:*"], Sid="EnforceIdentityPerimeter", Principal="*",
                                     Condition={"StringNotEqualsIfExists": {key: values},
                                                "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}})), RCP)


def reader(principal: str, account: str, arn: str, kind: str = "external") -> Access:
    return Access(principal=principal, kind=kind, certain=True, grants=("secret resource policy",),
                  account=account, caller_arn=arn)


PARTNER_READS = reader(PARTNER, PARTNER_ACCT, PARTNER)
WORKLOAD_READS = reader(WORKLOAD, GOV, WORKLOAD, kind="role")
ANYONE_READS = reader("*", ANY_OTHER_ACCOUNT, f"arn:aws-us-gov:iam::{ANY_OTHER_ACCOUNT}:role/any-principal-of-the-account")


def bound(readers: list[Access], o: OrgPolicies | None) -> tuple[list[Access], list[dict[str, Any]]]:
    return _org_bound_readers(readers, o, secret_arn=SECRET, region=REGION, owner_account=GOV,
                              key_arn_of={REGION: KEY}, now=NOW)


def test_an_rcp_perimeter_keeps_the_outsider_out_and_names_itself() -> None:
    kept, said = bound([PARTNER_READS, WORKLOAD_READS], org(rcps=(perimeter("aws:PrincipalAccount", [GOV]),)))
    assert kept == [WORKLOAD_READS]
    [entry] = said
    assert entry["principal"] == PARTNER and "RCP Perimeter (p-perimeter) attached to account" in entry["stopped"]
    assert "EnforceIdentityPerimeter" in entry["stopped"]


def test_the_outsider_counts_when_the_rcp_leaves_its_organization_unknown() -> None:
    # an outsider's aws:PrincipalOrgID is not known to the audit: the RCP may keep it out, so it stays counted
    kept, said = bound([PARTNER_READS, WORKLOAD_READS], org(rcps=(perimeter("aws:PrincipalOrgID", "o-abc"),)))
    assert kept == [PARTNER_READS, WORKLOAD_READS]
    assert said == [{"principal": PARTNER, "undecided (counted)": [
        "secretsmanager:GetSecretValue: RCPs undecided: RCP Perimeter (p-perimeter) attached to account "
        f"{GOV} statement 'EnforceIdentityPerimeter' read aws:PrincipalOrgID",
        "kms:Decrypt: RCPs undecided: RCP Perimeter (p-perimeter) attached to account "
        f"{GOV} statement 'EnforceIdentityPerimeter' read aws:PrincipalOrgID"]}]


def test_any_other_account_is_stopped_only_if_every_account_the_rcp_names_is() -> None:
    kept, _ = bound([ANYONE_READS], org(rcps=(perimeter("aws:PrincipalAccount", [GOV, FRIEND_ACCT]),)))
    assert kept == [ANYONE_READS]  # the RCP lets the friend account through, and "*" includes it
    kept, said = bound([ANYONE_READS], org(rcps=(perimeter("aws:PrincipalAccount", [GOV]),)))
    assert kept == [] and said[0]["principal"] == "*"


def test_the_accounts_scp_bounds_its_own_principals_not_outsiders() -> None:
    scp = pol("NoSecrets", doc(deny("secretsmanager:GetSecretValue", Sid="NoSecretReads")), SCP)
    kept, said = bound([PARTNER_READS, WORKLOAD_READS], org(scps=(scp,)))
    assert kept == [PARTNER_READS]
    assert said == [{"principal": WORKLOAD, "stopped": "secretsmanager:GetSecretValue denied by SCP NoSecrets "
                                                       f"(p-nosecrets) attached to account {GOV} statement 'NoSecretReads'"}]


def test_unread_policies_and_chains_change_nothing() -> None:
    chain = Access(principal="assumers of role x", kind="chain", certain=False, grants=("trust",))
    assert bound([PARTNER_READS, chain], None) == ([PARTNER_READS, chain], [])
    kept, _ = bound([chain], org(rcps=(perimeter("aws:PrincipalAccount", [GOV]),)))
    assert kept == [chain]


def test_the_management_accounts_secret_is_beyond_rcps() -> None:
    o = org(rcps=(perimeter("aws:PrincipalAccount", [MGMT]),), account=MGMT)
    kept, _ = _org_bound_readers([PARTNER_READS], o, secret_arn=SECRET.replace(GOV, MGMT), region=REGION,
                                 owner_account=MGMT, key_arn_of={REGION: KEY.replace(GOV, MGMT)}, now=NOW)
    assert kept == [PARTNER_READS]


def test_no_rcp_at_any_level_means_rcps_are_off() -> None:
    g = rcp_gate(org(rcp_enabled=False), "secretsmanager:GetSecretValue", RequestContext({}))
    assert g.outcome == "exempt" and "not enabled" in str(g.why)


# --------------------------------------------------------------------------- minters
COMMERCIAL = "333344445555"
MINTER = f"arn:aws:iam::{COMMERCIAL}:role/minting-automation"
KEY_USER = f"arn:aws:iam::{COMMERCIAL}:user/bedrock-cross-partition-user"


def minter(note: str = "") -> Access:
    return Access(principal=MINTER, kind="role", certain=True, grants=("inline policy",), note=note)


def mint_scp(*actions: str) -> OrgPolicy:
    return pol("ConfineKeys", doc(deny(list(actions), Sid="OnlyTheKeyUser", Condition={
        "StringEquals": {"iam:ServiceSpecificCredentialServiceName": "bedrock.amazonaws.com"},
        "ArnNotLike": {"aws:PrincipalArn": [KEY_USER]}})), SCP)


def mint_bound(minters: list[Access], o: OrgPolicies) -> tuple[list[Access], list[dict[str, Any]]]:
    return _org_bound_minters(minters, o, user_arn=KEY_USER, arn_partition="aws", account_id=COMMERCIAL)


def test_an_scp_denying_create_and_reset_stops_a_minter() -> None:
    o = org(scps=(mint_scp("iam:CreateServiceSpecificCredential", "iam:ResetServiceSpecificCredential"),),
            account=COMMERCIAL)
    kept, said = mint_bound([minter()], o)
    assert kept == [] and "SCP ConfineKeys" in said[0]["stopped"]


def test_a_minter_that_can_still_reset_counts_for_reset_only_naming_the_scp_for_create() -> None:
    o = org(scps=(mint_scp("iam:CreateServiceSpecificCredential"),), account=COMMERCIAL)
    note = "the audited user included: Create on user bedrock-cross-partition-user, Reset on user bedrock-cross-partition-user"
    kept, said = mint_bound([minter(note)], o)
    assert len(kept) == 1 and kept[0].principal == MINTER
    assert kept[0].note.startswith("the audited user included: Reset on user bedrock-cross-partition-user (Create not "
                                   "counted: iam:CreateServiceSpecificCredential denied by SCP ConfineKeys"), kept[0].note
    assert "Create on user" not in kept[0].note
    assert said == [{"principal": MINTER, "stopped for": ["iam:CreateServiceSpecificCredential"],
                     "by": [said[0]["by"][0]]}] and "OnlyTheKeyUser" in said[0]["by"][0]


CREATE, RESET = "iam:CreateServiceSpecificCredential", "iam:ResetServiceSpecificCredential"
ON_KEY_USER = "the audited user included: {} on user bedrock-cross-partition-user"


def granted(note: str, *actions: tuple[str, tuple[str, ...]], certain: bool = True,
            unknown: tuple[str, ...] = ()) -> Access:
    return Access(principal=MINTER, kind="role", certain=certain, grants=("inline policy",), note=note,
                  actions=actions, unknown=unknown)


def test_a_create_only_minter_an_scp_denies_create_is_not_counted() -> None:
    o = org(scps=(mint_scp(CREATE),), account=COMMERCIAL)
    kept, said = mint_bound([granted(ON_KEY_USER.format("Create"), (CREATE, ()))], o)
    assert kept == [] and said[0]["principal"] == MINTER and "OnlyTheKeyUser" in said[0]["stopped"]


def test_a_create_only_minter_denied_by_two_scps_names_the_statement_denying_every_age_once() -> None:
    cap = pol("CapAge", doc(deny(CREATE, Sid="DenyLongLived", Condition={
        "NumericGreaterThan": {"iam:ServiceSpecificCredentialAgeDays": "90"}})), SCP)
    o = org(scps=(mint_scp(CREATE), cap), account=COMMERCIAL)
    kept, said = mint_bound([granted(ON_KEY_USER.format("Create"), (CREATE, ()))], o)
    assert kept == [] and said[0]["stopped"].count("OnlyTheKeyUser") == 1 and "DenyLongLived" not in said[0]["stopped"]


def test_a_reset_only_minter_carries_no_note_on_create() -> None:
    o = org(scps=(mint_scp(CREATE),), account=COMMERCIAL)
    m = granted(ON_KEY_USER.format("Reset"), (RESET, ()))
    assert mint_bound([m], o) == ([m], [])


def test_a_certain_create_the_scp_denies_leaves_a_possible_reset_undecided() -> None:
    o = org(scps=(mint_scp(CREATE),), account=COMMERCIAL)
    m = granted(ON_KEY_USER.format("Create"), (CREATE, ()), (RESET, ("aws:SourceVpce",)))
    kept, _ = mint_bound([m], o)
    assert len(kept) == 1 and not kept[0].certain and kept[0].unknown == ("aws:SourceVpce",)
    assert kept[0].note.startswith("Reset on a user (Create not counted: ") and kept[0].note.count("OnlyTheKeyUser") == 1
    assert kept[0].actions == ((RESET, ("aws:SourceVpce",)),)


def test_a_minter_denied_create_counts_for_reset_naming_the_denial_once() -> None:
    o = org(scps=(mint_scp(CREATE),), account=COMMERCIAL)
    note = ON_KEY_USER.format("Create") + ", Reset on user bedrock-cross-partition-user"
    kept, _ = mint_bound([granted(note, (CREATE, ()), (RESET, ()))], o)
    assert kept[0].certain and kept[0].note.startswith(ON_KEY_USER.format("Reset") + " (Create not counted: ")
    assert kept[0].note.count("denied by") == 1, kept[0].note


def test_who_assumes_a_minting_role_is_stopped_with_it_and_otherwise_counted_as_is() -> None:
    o = org(scps=(mint_scp(CREATE),), account=COMMERCIAL)
    assumer = Access(principal=f"arn:aws:iam::{COMMERCIAL}:user/ops", kind="user", certain=True,
                     grants=("trust policy",), note="can assume role minting-automation", via=MINTER)
    kept, said = mint_bound([granted(ON_KEY_USER.format("Create"), (CREATE, ())), assumer], o)
    assert kept == [] and said[1] == {"principal": assumer.principal,
                                      "stopped": f"it mints only as role {MINTER}, which the SCPs stop"}
    resetter = granted(ON_KEY_USER.format("Reset"), (RESET, ()))
    assert mint_bound([resetter, assumer], o) == ([resetter, assumer], [])


def test_a_minter_no_scp_narrows_keeps_its_note() -> None:
    o = org(scps=(mint_scp("s3:PutObject"),), account=COMMERCIAL)
    assert mint_bound([minter("Create on user x")], o) == ([minter("Create on user x")], [])


def test_an_escalating_minter_counts_whatever_the_scps() -> None:
    o = org(scps=(mint_scp("iam:*"),), account=COMMERCIAL)
    m = minter(f"{ESCALATION}: passes a role to a service, after which it mints (directly)")
    assert mint_bound([m], o) == ([m], [])


def test_bound_any_needs_every_alternative_stopped() -> None:
    o = org(scps=(mint_scp("iam:CreateServiceSpecificCredential"),), account=COMMERCIAL)
    ctx = RequestContext({"aws:PrincipalArn": MINTER, "iam:ServiceSpecificCredentialServiceName": "bedrock.amazonaws.com"})
    create = [("iam:CreateServiceSpecificCredential", KEY_USER, ctx)]
    reset = [("iam:ResetServiceSpecificCredential", KEY_USER, ctx)]
    assert bound_any([create], scp_org=o, rcp_org=None).stopped
    assert bound_any([create, reset], scp_org=o, rcp_org=None).stopped is None


def test_an_outsider_of_an_exported_account_is_bounded_by_its_scps() -> None:
    scp = pol("NoSecrets", doc(deny("secretsmanager:*", Sid="NoSecretReads")), SCP)
    partner_org = org(scps=(scp,), account=PARTNER_ACCT)
    kept, said = _org_bound_readers([PARTNER_READS], org(), secret_arn=SECRET, region=REGION, owner_account=GOV,
                                    key_arn_of={REGION: KEY}, now=NOW, scp_of={PARTNER_ACCT: partner_org})
    assert kept == [] and "SCP NoSecrets" in said[0]["stopped"]
    # without its account's SCPs the partner counts
    assert bound([PARTNER_READS], org())[0] == [PARTNER_READS]


FULL_SCP = {"id": "p-FullAWSAccess", "name": "FullAWSAccess",
            "content": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}


def test_the_export_carries_the_organization_id() -> None:
    import pytest

    from bedrock_key_audit.org_policies import ExportError, parse_export

    entry = {"management_account": MGMT, "organization_id": "o-abc123",
             "levels": [{"target": "r-root", "type": "ROOT", "scps": [FULL_SCP]},
                        {"target": GOV, "type": "ACCOUNT", "scps": [FULL_SCP]}]}
    got = parse_export({"accounts": {GOV: entry}}, "f.json")[GOV]
    assert got.organization_id == "o-abc123" and got.evidence()["organization_id"] == "o-abc123"
    with pytest.raises(ExportError, match="organization_id"):
        parse_export({"accounts": {GOV: {**entry, "organization_id": "abc"}}}, "f.json")


def test_an_account_principal_carries_the_organization_id_so_an_org_perimeter_lets_it_in() -> None:
    kept, said = bound([WORKLOAD_READS], org(rcps=(perimeter("aws:PrincipalOrgID", "o-abc"),)))
    assert kept == [WORKLOAD_READS] and said == []


def test_an_rcp_org_perimeter_stops_an_outsider_whose_export_names_another_organization() -> None:
    rcp = perimeter("aws:PrincipalOrgID", "o-abc")
    theirs = dataclasses.replace(org(account=PARTNER_ACCT), organization_id="o-other")
    kept, said = _org_bound_readers([PARTNER_READS], org(rcps=(rcp,)), secret_arn=SECRET, region=REGION,
                                    owner_account=GOV, key_arn_of={REGION: KEY}, now=NOW,
                                    scp_of={PARTNER_ACCT: theirs})
    assert kept == [] and "RCP Perimeter" in said[0]["stopped"]
    # an exported account in no organization carries no aws:PrincipalOrgID: the IfExists Deny applies
    alone = OrgPolicies(PARTNER_ACCT, False)
    kept, _ = _org_bound_readers([PARTNER_READS], org(rcps=(rcp,)), secret_arn=SECRET, region=REGION,
                                 owner_account=GOV, key_arn_of={REGION: KEY}, now=NOW, scp_of={PARTNER_ACCT: alone})
    assert kept == []
    # the same organization: not stopped
    same = dataclasses.replace(org(account=PARTNER_ACCT), organization_id="o-abc")
    kept, _ = _org_bound_readers([PARTNER_READS], org(rcps=(rcp,)), secret_arn=SECRET, region=REGION,
                                 owner_account=GOV, key_arn_of={REGION: KEY}, now=NOW, scp_of={PARTNER_ACCT: same})
    assert kept == [PARTNER_READS]


# --------------------------------------------------------------------------- SCP conditions on the request and the caller
BOB = f"arn:aws:iam::{COMMERCIAL}:user/bob"
BOTH = ON_KEY_USER.format("Create") + ", Create on user bob, Reset on user bedrock-cross-partition-user, Reset on user bob"


def both() -> Access:
    return granted(BOTH, (CREATE, ()), (RESET, ()))


def scp(name: str, statement: dict[str, Any]) -> OrgPolicies:
    return org(scps=(pol(name, doc(statement), SCP),), account=COMMERCIAL)


def test_iam_requests_are_in_us_east_1_for_an_scp_region_lock() -> None:
    lock = scp("RegionLock", deny("*", Sid="OnlyEu", Condition={"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}}))
    kept, said = mint_bound([both()], lock)
    assert kept == [] and "OnlyEu" in said[0]["stopped"]
    elsewhere = scp("NoIamInEu", deny("iam:*", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}))
    assert mint_bound([both()], elsewhere) == ([both()], [])


def _tagged(tags: dict[str, str] | None) -> tuple[list[Access], list[dict[str, Any]]]:
    gate = scp("TagGate", deny([CREATE, RESET], Sid="OnlyKeyops",
                               Condition={"StringNotEquals": {"aws:PrincipalTag/keyops": "true"}}))
    return _org_bound_minters([both()], gate, user_arn=KEY_USER, arn_partition="aws", account_id=COMMERCIAL,
                              principal_tags={MINTER: tags})


def test_an_scp_on_a_principal_tag_is_decided_by_the_principals_tags() -> None:
    assert _tagged({})[0] == []  # untagged: StringNotEquals on an absent key matches, so the Deny applies
    assert _tagged({"keyops": "false"})[0] == []
    kept, _ = _tagged({"keyops": "true"})
    assert kept == [both()]
    # tags not known (a session may carry others): the minter may mint, naming the key
    kept, said = _tagged(None)
    assert len(kept) == 1 and not kept[0].certain and kept[0].unknown
    assert all(k.startswith("aws:PrincipalTag/keyops (a condition of SCP TagGate") for k in kept[0].unknown)
    assert "undecided (may mint)" in said[0]


def test_an_undecidable_scp_condition_makes_the_minter_possible_not_certain() -> None:
    ip = scp("OfficeOnly", deny([CREATE, RESET], Sid="FromTheOffice",
                                Condition={"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))
    kept, _ = mint_bound([both()], ip)
    assert len(kept) == 1 and not kept[0].certain
    assert kept[0].unknown == ("aws:SourceIp (a condition of SCP OfficeOnly (p-officeonly) attached to account "
                               f"{COMMERCIAL} statement 'FromTheOffice')",), kept[0].unknown
    # an action the SCP leaves certain keeps the minter certain
    create_only = scp("OfficeOnly", deny(CREATE, Condition={"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))
    assert mint_bound([both()], create_only)[0][0].certain


def test_a_user_the_scp_protects_is_not_named_as_mintable() -> None:
    protect = scp("ProtectKeyUser", deny([CREATE, RESET], KEY_USER, Sid="KeyUser"))
    kept, said = _org_bound_minters([both()], protect, user_arn=KEY_USER, arn_partition="aws", account_id=COMMERCIAL,
                                    user_arns=[KEY_USER, BOB])
    assert len(kept) == 1 and kept[0].certain
    assert kept[0].note.startswith("Create on user bob, Reset on user bob (not on user bedrock-cross-partition-user"), \
        kept[0].note
    assert "the audited user included" not in kept[0].note


# --------------------------------------------------------------------------- SCPs on the escalation paths
def _escalators(scps: tuple[OrgPolicy, ...], *, users: Sequence[dict[str, Any]] = (), roles: Sequence[dict[str, Any]] = (),
                management: bool = False) -> dict[str, Access]:
    from bedrock_key_audit.access import principals_from_gaad
    from bedrock_key_audit.escalation import minters
    from bedrock_key_audit.verdicts.access import _scp_gate_of
    from tests.audit.test_escalation import AUDITED, user as gaad_user

    g = {"UserDetailList": [gaad_user("bedrock-cross-partition-user"), *users], "RoleDetailList": list(roles),
         "GroupDetailList": [], "Policies": []}
    ps = principals_from_gaad(g)
    account = g["UserDetailList"][0]["Arn"].split(":")[4]
    o = org(scps=scps, account=account)
    if management:
        o = OrgPolicies(account, True, account, o.levels, organization_id="o-abc")
    gate = _scp_gate_of(o, account_id=account, arn_partition="aws")
    got = minters(ps, users=[(u["Arn"], {}) for u in g["UserDetailList"]], audited_user_arn=AUDITED,
                  arn_partition="aws", account_id=account, now=NOW, gaad=g, scp=gate)
    return {a.principal.rsplit("/", 1)[-1]: a for a in got}


def _esc_user(name: str, *actions: str, resource: str = "*") -> dict[str, Any]:
    from tests.audit.test_escalation import user as gaad_user
    return gaad_user(name, doc(allow(list(actions), resource)))


def test_an_scp_denying_the_escalators_mint_stops_its_self_escalation() -> None:
    esc = _esc_user("esc", "iam:PutUserPolicy")
    assert "esc" in _escalators((), users=[esc])
    deny_mint = pol("NoMint", doc(deny([CREATE, RESET], Sid="NoMint")), SCP)
    assert _escalators((deny_mint,), users=[esc]) == {}
    # SCPs do not affect the management account
    assert "esc" in _escalators((deny_mint,), users=[esc], management=True)


def test_an_scp_denying_a_step_of_the_path_stops_it() -> None:
    esc = _esc_user("esc", "iam:PutUserPolicy")
    no_write = pol("NoWrite", doc(deny("iam:PutUserPolicy", Sid="NoPolicyWrites")), SCP)
    assert _escalators((no_write,), users=[esc]) == {}
    creator = _esc_user("creator", "iam:CreateUser", CREATE, resource="arn:aws:iam::123456789012:user/tmp-*")
    assert "creator" in _escalators((), users=[creator])
    no_users = pol("NoUsers", doc(deny("iam:CreateUser")), SCP)
    assert _escalators((no_users,), users=[creator]) == {}


def test_an_scp_undecided_on_the_step_makes_the_escalator_possible() -> None:
    esc = _esc_user("esc", "iam:PutUserPolicy")
    office = pol("Office", doc(deny("iam:Put*", Condition={"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}})), SCP)
    a = _escalators((office,), users=[esc])["esc"]
    assert not a.certain and any(k.startswith("aws:SourceIp") for k in a.unknown)


def test_an_assumer_the_scps_deny_sts_assume_role_is_stopped() -> None:
    ops = f"arn:aws:iam::{COMMERCIAL}:user/ops"
    no_assume = pol("NoAssume", doc(deny("sts:AssumeRole", Sid="NoAssumeForOps",
                                         Condition={"ArnLike": {"aws:PrincipalArn": ops}})), SCP)
    assumer = Access(principal=ops, kind="user", certain=True, grants=("trust policy",),
                     note="can assume role minting-automation", via=MINTER)
    resetter = granted(ON_KEY_USER.format("Reset"), (RESET, ()))
    kept, said = mint_bound([resetter, assumer], org(scps=(no_assume,), account=COMMERCIAL))
    assert kept == [resetter] and "NoAssumeForOps" in said[0]["stopped"]


def test_the_call_an_escalation_makes_is_bounded_by_scps_and_rcps() -> None:
    grants_itself = dataclasses.replace(WORKLOAD_READS, calls=(("kms:CreateGrant", KEY),))
    scp = pol("NoGrants", doc(deny("kms:CreateGrant", Sid="NoGrants")), SCP)
    assert bound([grants_itself], org(scps=(scp,)))[0] == []
    rcp = pol("NoGrantsRcp", doc(deny("kms:CreateGrant", Sid="NoGrants", Principal="*")), RCP)
    assert bound([grants_itself], org(rcps=(rcp,)))[0] == []
    assert bound([grants_itself], org())[0] == [grants_itself]


def test_a_stopped_certain_path_leaves_the_principals_possible_read_standing() -> None:
    """The workload may read directly under a condition the audit cannot know, and certainly by granting itself
    Decrypt; an SCP denies CreateGrant: the possible direct read stays, so the row errors instead of passing."""
    from bedrock_key_audit.verdicts.access import certain_first

    possible = dataclasses.replace(WORKLOAD_READS, certain=False, unknown=("aws:SourceIp",))
    grants_itself = dataclasses.replace(WORKLOAD_READS, calls=(("kms:CreateGrant", KEY),))
    scp = pol("NoGrants", doc(deny("kms:CreateGrant", Sid="NoGrants")), SCP)
    assert certain_first(bound([possible, grants_itself], org(scps=(scp,)))[0]) == [possible]
    assert certain_first(bound([possible, grants_itself], org())[0]) == [grants_itself]


# --------------------------------------------------------------------------- STS: any Region's endpoint
OPS = f"arn:aws:iam::{COMMERCIAL}:user/ops"


def _sts_scp(condition: dict[str, Any] | None, *, account: str = COMMERCIAL, principal: str = OPS) -> OrgPolicies:
    """An SCP denying ``principal`` sts:AssumeRole, further conditioned by ``condition``."""
    cond: dict[str, Any] = {"ArnLike": {"aws:PrincipalArn": principal}, **(condition or {})}
    return org(scps=(pol("NoAssume", doc(deny("sts:AssumeRole", Sid="NoAssumeForOps", Condition=cond)), SCP),),
               account=account)


def _assumer_bound(o: OrgPolicies) -> tuple[list[Access], list[dict[str, Any]]]:
    assumer = Access(principal=OPS, kind="user", certain=True, grants=("trust policy",),
                     note="can assume role minting-automation", via=MINTER)
    return mint_bound([granted(ON_KEY_USER.format("Reset"), (RESET, ())), assumer], o)


def test_an_assume_role_the_scps_deny_in_us_east_1_only_still_counts() -> None:
    """STS has Regional endpoints and the caller picks one; aws:RequestedRegion is that Region (IAM User Guide,
    "Manage AWS STS in an AWS Region"), so a Deny in us-east-1 (the global endpoint's Region) leaves the others."""
    kept, said = _assumer_bound(_sts_scp({"StringEquals": {"aws:RequestedRegion": "us-east-1"}}))
    assert [a.principal for a in kept] == [MINTER, OPS] and said == []
    # denied in every Region the condition can name: stopped, the statement named once
    kept, said = _assumer_bound(_sts_scp({"StringLike": {"aws:RequestedRegion": "*"}}))
    assert [a.principal for a in kept] == [MINTER] and said[0]["stopped"].count("NoAssumeForOps") == 1, said
    # a Region list: stopped only when it names every Region where STS is offered (botocore's endpoint data)
    every = list(sts_regions("aws"))
    assert len(every) > 10 and "us-east-1" in every and "eu-west-1" in every
    kept, _ = _assumer_bound(_sts_scp({"StringEquals": {"aws:RequestedRegion": every}}))
    assert [a.principal for a in kept] == [MINTER]
    kept, _ = _assumer_bound(_sts_scp({"StringEquals": {"aws:RequestedRegion": [r for r in every if r != "eu-west-1"]}}))
    assert [a.principal for a in kept] == [MINTER, OPS]


def test_an_iam_call_stays_in_us_east_1_whatever_sts_does() -> None:
    # the mint itself is an IAM call: a Deny in us-east-1 stops it (no other Region to try)
    o = scp("NoMintInUsEast1", deny([CREATE, RESET], Sid="East", Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}}))
    kept, said = mint_bound([both()], o)
    assert kept == [] and "East" in said[0]["stopped"]


def _gate_says(o: OrgPolicies, partition: str = "aws", principal: str = OPS) -> tuple[bool | None, tuple[str, ...]]:
    from bedrock_key_audit.verdicts.access import _scp_gate_of
    gate = _scp_gate_of(o, account_id=o.account_id, arn_partition=partition)
    assert gate is not None
    role = principal.replace(":user/ops", ":role/target")
    return gate(principal, "sts:AssumeRole", role, {})


def test_the_escalation_gate_permits_sts_when_one_region_permits_it() -> None:
    assert _gate_says(_sts_scp({"StringEquals": {"aws:RequestedRegion": "us-east-1"}})) == (True, ())
    assert _gate_says(_sts_scp({"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}})) == (True, ())
    assert _gate_says(_sts_scp(None)) == (False, ())
    assert _gate_says(_sts_scp({"StringLike": {"aws:RequestedRegion": "*"}})) == (False, ())
    # undecided in some Region, denied in the rest: undecided, naming the key
    east = pol("East", doc(deny("sts:AssumeRole", Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}})), SCP)
    rest = pol("Rest", doc(deny("sts:AssumeRole", Sid="FromTheOffice", Condition={
        "StringNotEquals": {"aws:RequestedRegion": "us-east-1"}, "NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}})), SCP)
    permits, keys = _gate_says(org(scps=(east, rest), account=COMMERCIAL))
    assert permits is None and keys and all(k.startswith("aws:SourceIp (a condition of SCP Rest") for k in keys), keys
    # a non-STS call is still made in the home Region only
    from bedrock_key_audit.verdicts.access import _scp_gate_of
    o = scp("East", deny("iam:PutUserPolicy", Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}}))
    gate = _scp_gate_of(o, account_id=COMMERCIAL, arn_partition="aws")
    assert gate is not None and gate(OPS, "iam:PutUserPolicy", OPS, {})[0] is False


def test_in_govcloud_sts_may_go_to_either_region() -> None:
    gov_ops = f"arn:aws-us-gov:iam::{GOV}:user/ops"
    assert set(sts_regions("aws-us-gov")) == {"us-gov-west-1", "us-gov-east-1"}

    def gov(condition: dict[str, Any]) -> OrgPolicies:
        return _sts_scp(condition, account=GOV, principal=gov_ops)
    # a Region lock allowing only us-gov-west-1: permitted there
    assert _gate_says(gov({"StringNotEquals": {"aws:RequestedRegion": ["us-gov-west-1"]}}), "aws-us-gov", gov_ops) == (True, ())
    # a Deny in us-gov-west-1 only leaves us-gov-east-1's endpoint
    assert _gate_says(gov({"StringEquals": {"aws:RequestedRegion": "us-gov-west-1"}}), "aws-us-gov", gov_ops) == (True, ())
    # a lock allowing only a commercial Region denies every GovCloud Region
    assert _gate_says(gov({"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}}), "aws-us-gov", gov_ops) == (False, ())


def test_an_escalation_through_a_role_it_assumes_survives_an_sts_deny_in_one_region() -> None:
    from tests.audit.test_escalation import role as gaad_role

    ops_role = gaad_role("ops", assume=doc({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/dev"},
                                           "Action": "sts:AssumeRole"}))
    dev = _esc_user("dev", "iam:PutRolePolicy", "sts:AssumeRole", resource="arn:aws:iam::123456789012:role/ops")
    dev_arn = "arn:aws:iam::123456789012:user/dev"
    assert "dev" in _escalators((), users=[dev], roles=[ops_role])

    def no_assume(condition: dict[str, Any] | None) -> OrgPolicy:
        cond: dict[str, Any] = {"ArnLike": {"aws:PrincipalArn": dev_arn}, **(condition or {})}
        return pol("NoAssume", doc(deny("sts:AssumeRole", Condition=cond)), SCP)
    assert "dev" not in _escalators((no_assume(None),), users=[dev], roles=[ops_role])
    got = _escalators((no_assume({"StringEquals": {"aws:RequestedRegion": "us-east-1"}}),), users=[dev], roles=[ops_role])
    assert "dev" in got and got["dev"].certain, got


def test_the_call_of_a_replica_read_is_made_in_the_region_of_what_it_acts_on() -> None:
    """A replica's read after a resource policy written on the primary: the PutResourcePolicy is a call to the
    primary's Region (us-gov-west-1), not the replica's, whatever Region the read is in."""
    writes = dataclasses.replace(WORKLOAD_READS, region="us-gov-east-1",
                                 calls=(("secretsmanager:PutResourcePolicy", SECRET),))

    def only_in(region: str) -> OrgPolicies:
        return org(scps=(pol("NoWrites", doc(deny("secretsmanager:PutResourcePolicy", Sid="NoWrites", Condition={
            "StringEquals": {"aws:RequestedRegion": region}})), SCP),))
    assert bound([writes], only_in("us-gov-east-1"))[0] == [writes]
    kept, said = bound([writes], only_in("us-gov-west-1"))
    assert kept == [] and "NoWrites" in said[0]["stopped"], said


# --------------------------------------------------------------------------- tags the minter can change (RR5 B6 on minters)
class _MintInv:
    """The reads iam.key_minting_restricted makes: the commercial account's GAAD and its SCPs."""

    def __init__(self, gaad: dict[str, Any], o: OrgPolicies) -> None:
        self.gaad, self.o = gaad, o

    def account_authorization(self, partition: str) -> AccountAuthorization:
        ps = principals_from_gaad(self.gaad)
        users: list[tuple[str, dict[str, str]]] = [(u["Arn"], {}) for u in self.gaad["UserDetailList"]]
        caller = {"Arn": f"arn:aws:iam::{COMMERCIAL}:role/auditor"}
        return AccountAuthorization("commercial", ps, users, {"users": len(users)}, caller, self.gaad, {})

    def org_policies(self, partition: str) -> OrgPolicies:
        return self.o

    def user_facts(self, partition: str, wanted: Any) -> dict[str, Any]:
        return {}


def _mint_user(name: str, *statements: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    return {"UserName": name, "UserId": f"AIDA{name.upper()}", "Arn": f"arn:aws:iam::{COMMERCIAL}:user/{name}",
            "GroupList": [], "AttachedManagedPolicies": [], "UserPolicyList": [{"PolicyName": "p", "PolicyDocument":
                                                                               doc(*statements)}],
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


def _mint_row(*extra: dict[str, Any]) -> tuple[str, str]:
    dev = f"arn:aws:iam::{COMMERCIAL}:user/dev"
    key_user = {**_mint_user("bedrock-cross-partition-user", tags={}), "UserPolicyList": []}
    gaad = {"UserDetailList": [key_user, _mint_user("dev", allow([CREATE, RESET], KEY_USER), *[
        {**e, "Resource": dev} for e in extra], tags={"keyops": "false"})], "RoleDetailList": [], "GroupDetailList": [],
        "Policies": []}
    gate = scp("TagGate", deny([CREATE, RESET], Sid="OnlyKeyops",
                               Condition={"StringNotEquals": {"aws:PrincipalTag/keyops": "true"}}))
    status, text, _ = run(key_minting_restricted, _MintInv(gaad, gate), config(), NOW, False)
    return status, text


def test_a_minter_that_may_tag_itself_is_not_kept_out_by_a_tag_condition() -> None:
    """dev is tagged keyops=false and the SCP lets only keyops=true mint; dev may iam:TagUser itself, so its tag is
    its own choice: it may mint (the row cannot pass), and the detail says why.  Without TagUser it is kept out."""
    status, text = _mint_row()
    assert status == "pass" and "kept out by the account's SCPs: arn:aws:iam::333344445555:user/dev" in text, text
    status, text = _mint_row(allow("iam:TagUser"))
    assert status == "error" and "user dev can change its own tags (iam:TagUser on itself)" in text, text
    status, text = _mint_row(allow("iam:TagUser"), deny("iam:TagUser"))  # an explicit Deny wins
    assert status == "pass", text


def _abac_mint_row(*statements: dict[str, Any], tags: dict[str, str]) -> tuple[str, str]:
    """The minting row for dev, whose own policy holds ``statements``; no SCP reads a tag."""
    key_user = {**_mint_user("bedrock-cross-partition-user", tags={}), "UserPolicyList": []}
    gaad = {"UserDetailList": [key_user, _mint_user("dev", *statements, tags=tags)], "RoleDetailList": [],
            "GroupDetailList": [], "Policies": []}
    status, text, _ = run(key_minting_restricted, _MintInv(gaad, scp("Other", deny("s3:DeleteBucket"))), config(),
                          NOW, False)
    return status, text


def test_an_abac_mint_grant_on_a_tag_the_minter_may_set_itself_is_no_fact() -> None:
    """dev's own policy lets it mint only while tagged keyops=true; it is tagged keyops=false but may iam:TagUser
    itself: it may mint (error, naming why).  Without TagUser, or with it explicitly denied, it mints nothing.
    The mirror: its own Deny while tagged frozen=true, which it may iam:UntagUser."""
    dev = f"arn:aws:iam::{COMMERCIAL}:user/dev"
    abac = allow([CREATE, RESET], KEY_USER, Condition={"StringEquals": {"aws:PrincipalTag/keyops": "true"}})
    status, text = _abac_mint_row(abac, allow("iam:TagUser", dev), tags={"keyops": "false"})
    assert status == "error" and dev in text and "user dev can change its own tags (iam:TagUser on itself)" in text, text
    for extra in ((), (allow("iam:TagUser", dev), deny("iam:TagUser"))):
        status, text = _abac_mint_row(abac, *extra, tags={"keyops": "false"})
        assert status == "pass" and dev not in text, text
    frozen = deny([CREATE, RESET], Condition={"StringEquals": {"aws:PrincipalTag/frozen": "true"}})
    status, text = _abac_mint_row(allow([CREATE, RESET], KEY_USER), frozen, allow("iam:UntagUser", dev),
                                  tags={"frozen": "true"})
    assert status == "error" and "user dev can change its own tags (iam:UntagUser on itself)" in text, text
    status, text = _abac_mint_row(allow([CREATE, RESET], KEY_USER), frozen, tags={"frozen": "true"})
    assert status == "pass" and dev not in text, text


def test_an_abac_mint_grant_on_a_tag_the_minter_may_set_is_no_fact_when_the_scps_are_unread() -> None:
    """The organization's policies could not be read (never assumed absent): dev may still tag itself and mint."""
    from bedrock_key_audit.checkcore import CouldNotDecide

    class Unread(_MintInv):
        def org_policies(self, partition: str) -> OrgPolicies:
            raise CouldNotDecide("organizations:ListPolicies denied")

    dev = f"arn:aws:iam::{COMMERCIAL}:user/dev"
    abac = allow([CREATE, RESET], KEY_USER, Condition={"StringEquals": {"aws:PrincipalTag/keyops": "true"}})
    key_user = {**_mint_user("bedrock-cross-partition-user", tags={}), "UserPolicyList": []}
    for extra, want in (((allow("iam:TagUser", dev),), "error"), ((), "pass")):
        gaad = {"UserDetailList": [key_user, _mint_user("dev", abac, *extra, tags={"keyops": "false"})],
                "RoleDetailList": [], "GroupDetailList": [], "Policies": []}
        status, text, _ = run(key_minting_restricted, Unread(gaad, org()), config(), NOW, False)
        assert status == want, text
        assert want == "pass" or "user dev can change its own tags (iam:TagUser on itself)" in text, text


# --------------------------------------------------------------------------- the AssumeRole step: undecided, outsiders
def test_an_assume_role_the_scps_leave_undecided_makes_the_assumer_possible() -> None:
    """A Deny on sts:AssumeRole conditioned on a key the audit cannot know (MFA, source IP or VPC) may or may not
    apply to the request: the assumer *may* mint, naming the key and the SCP (the row ends error), as the same
    condition on the mint itself does (IAM User Guide, "Policy evaluation logic": an SCP bounds the request)."""
    for cond, key in (({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}, "aws:MultiFactorAuthPresent"),
                      ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, "aws:SourceIp"),
                      ({"StringNotEquals": {"aws:SourceVpc": "vpc-1"}}, "aws:SourceVpc")):
        kept, said = _assumer_bound(_sts_scp(cond))
        assert [a.principal for a in kept] == [MINTER, OPS] and kept[0].certain, kept
        assert not kept[1].certain and kept[1].unknown == (
            f"sts:AssumeRole: {key} (a condition of SCP NoAssume (p-noassume) attached to account {COMMERCIAL} "
            "statement 'NoAssumeForOps')",), kept[1].unknown
        assert said == [{"principal": OPS, "undecided (may mint)": [kept[1].unknown[0].split(": ", 1)[1]]}], said
    # the same condition only in us-east-1: every other Region's endpoint permits it, so the assumer stays certain
    kept, said = _assumer_bound(_sts_scp({"StringNotEquals": {"aws:SourceVpc": "vpc-1"},
                                          "StringEquals": {"aws:RequestedRegion": "us-east-1"}}))
    assert [a.certain for a in kept] == [True, True] and said == []


def test_a_reader_by_an_assume_role_the_scps_leave_undecided_may_read() -> None:
    ops = f"arn:aws-us-gov:iam::{GOV}:user/ops"
    assumer = Access(principal=ops, kind="user", certain=True, grants=("trust policy",),
                     note="can assume role workload, which can read the secret", via=WORKLOAD)
    mfa = org(scps=(pol("NoAssume", doc(deny("sts:AssumeRole", Sid="Mfa", Condition={
        "BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}, "ArnLike": {"aws:PrincipalArn": ops}})), SCP),))
    kept, said = bound([WORKLOAD_READS, assumer], mfa)
    assert kept[0] == WORKLOAD_READS and kept[1].principal == ops and not kept[1].certain, kept
    assert kept[1].unknown and all(k.startswith("sts:AssumeRole: aws:MultiFactorAuthPresent (a condition of SCP "
                                                "NoAssume") for k in kept[1].unknown), kept[1].unknown
    assert said[-1]["principal"] == ops and "undecided (may read)" in said[-1]
    assert bound([WORKLOAD_READS, assumer], org()) == ([WORKLOAD_READS, assumer], [])


def test_an_outsider_assumer_is_bounded_by_its_own_accounts_exported_scps() -> None:
    """An account the trust policy admits: its own SCPs (an --org-policies export listing it) bound its
    principals' sts:AssumeRole into the account ("SCP evaluation"; "Cross-account policy evaluation logic");
    the audited account's SCPs do not."""
    from bedrock_key_audit.verdicts.access import _org_part

    outsider = Access(principal=f"arn:aws:iam::{PARTNER_ACCT}:root", kind="external", certain=True,
                      grants=("trust policy",), note="can assume role minting-automation; outside the account",
                      via=MINTER)
    resetter = granted(ON_KEY_USER.format("Reset"), (RESET, ()))

    def theirs(condition: dict[str, Any] | None) -> dict[str, OrgPolicies]:
        st = deny("sts:AssumeRole", Sid="NoAssumeOut", **({"Condition": condition} if condition else {}))
        return {PARTNER_ACCT: org(scps=(pol("NoAssumeOut", doc(st), SCP),), account=PARTNER_ACCT)}
    ours = org(account=COMMERCIAL)
    kept, said = _org_bound_minters([resetter, outsider], ours, user_arn=KEY_USER, arn_partition="aws",
                                    account_id=COMMERCIAL, scp_of=theirs(None))
    assert kept == [resetter] and "NoAssumeOut" in said[0]["stopped"] and PARTNER_ACCT in said[0]["stopped"], said
    assert f"{outsider.principal} (by the SCPs of its account {PARTNER_ACCT}" in _org_part(
        ours, "", said, "the account's SCPs")
    # denied in us-east-1 only (another Region's STS endpoint is open), or its SCPs not exported: counted
    for scp_of in (theirs({"StringEquals": {"aws:RequestedRegion": "us-east-1"}}), {}):
        assert _org_bound_minters([resetter, outsider], ours, user_arn=KEY_USER, arn_partition="aws",
                                  account_id=COMMERCIAL, scp_of=scp_of) == ([resetter, outsider], [])
    # the audited account's own SCP denying every AssumeRole does not bound the outsider
    no_assume = org(scps=(pol("NoAssume", doc(deny("sts:AssumeRole")), SCP),), account=COMMERCIAL)
    assert _org_bound_minters([resetter, outsider], no_assume, user_arn=KEY_USER, arn_partition="aws",
                              account_id=COMMERCIAL)[0] == [resetter, outsider]
    # readers: the same outsider of GovCloud reading as the workload role
    gov_out = dataclasses.replace(outsider, principal=f"arn:aws-us-gov:iam::{PARTNER_ACCT}:root", via=WORKLOAD)
    deny_all = {PARTNER_ACCT: org(scps=(pol("NoAssumeOut", doc(deny("sts:AssumeRole", Sid="NoAssumeOut")), SCP),),
                                  account=PARTNER_ACCT)}
    kept, said = _org_bound_readers([WORKLOAD_READS, gov_out], org(), secret_arn=SECRET, region=REGION,
                                    owner_account=GOV, key_arn_of={REGION: KEY}, now=NOW, scp_of=deny_all)
    assert kept == [WORKLOAD_READS] and "NoAssumeOut" in said[-1]["stopped"], said
    assert bound([WORKLOAD_READS, gov_out], org())[0] == [WORKLOAD_READS, gov_out]


# --------------------------------------------------------------------------- the AssumeRole step: one Region for all
def _gaad_principals(ops_statements: list[dict[str, Any]], trust_principal: str, trust_condition: dict[str, Any] | None,
                     extra_roles: Sequence[str] = ()) -> list[Any]:
    from bedrock_key_audit.access import principals_from_gaad

    def role(arn: str, cond: dict[str, Any] | None) -> dict[str, Any]:
        st: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": trust_principal}, "Action": "sts:AssumeRole"}
        if cond:
            st["Condition"] = cond
        name = arn.rsplit("/", 1)[1]
        return {"RoleName": name, "RoleId": f"AROA{name.upper()}", "Arn": arn, "RolePolicyList": [],
                "AttachedManagedPolicies": [], "AssumeRolePolicyDocument": doc(st), "InstanceProfileList": [], "Tags": []}
    gaad = {"UserDetailList": [{"UserName": "ops", "UserId": "AIDAOPS", "Arn": OPS, "GroupList": [],
                                "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": doc(*ops_statements)}],
                                "AttachedManagedPolicies": [], "Tags": []}],
            "RoleDetailList": [role(MINTER, trust_condition), *(role(r, None) for r in extra_roles)],
            "GroupDetailList": [], "Policies": []}
    return principals_from_gaad(gaad)


def test_the_scps_and_the_callers_own_policies_are_asked_in_the_same_region() -> None:
    """ops may assume the minting role only in us-west-2 (its identity policy); the SCPs permit its AssumeRole only
    in eu-west-1.  AWS evaluates every policy in the one Region the caller picks (IAM User Guide, "Policy evaluation
    logic"; "Manage AWS STS in an AWS Region"): no Region lets it through, so ops is kept out."""
    def in_region(region: str) -> dict[str, Any]:
        return allow("sts:AssumeRole", MINTER, Condition={"StringEquals": {"aws:RequestedRegion": region}})
    lock = _sts_scp({"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}})
    resetter = granted(ON_KEY_USER.format("Reset"), (RESET, ()))
    assumer = Access(principal=OPS, kind="user", certain=True, grants=("trust policy",),
                     note="can assume role minting-automation", via=MINTER)

    def bounded(principals: list[Any]) -> tuple[list[Access], list[dict[str, Any]]]:
        return _org_bound_minters([resetter, assumer], lock, user_arn=KEY_USER, arn_partition="aws",
                                  account_id=COMMERCIAL, principals=principals, now=NOW)
    root = f"arn:aws:iam::{COMMERCIAL}:root"  # the trust names the account: ops' identity policy is needed
    kept, said = bounded(_gaad_principals([in_region("us-west-2")], root, None))
    assert kept == [resetter] and "NoAssumeForOps" in said[0]["stopped"] and "us-west-2" in said[0]["stopped"], said
    # the same with the Region in the trust policy
    kept, _ = bounded(_gaad_principals([allow("sts:AssumeRole", MINTER)], OPS,
                                       {"StringEquals": {"aws:RequestedRegion": "us-west-2"}}))
    assert kept == [resetter]
    # controls: its policies allow eu-west-1 too, or it may assume another role first (a chain): counted
    assert bounded(_gaad_principals([in_region("eu-west-1")], root, None))[0] == [resetter, assumer]
    other = f"arn:aws:iam::{COMMERCIAL}:role/mid"
    assert bounded(_gaad_principals([in_region("us-west-2"), allow("sts:AssumeRole", other)], root, None,
                                    [other]))[0] == [resetter, assumer]
    # an outsider the trust admits in us-west-2 only, whose own SCPs permit eu-west-1 only
    outsider = Access(principal=f"arn:aws:iam::{PARTNER_ACCT}:root", kind="external", certain=True,
                      grants=("trust policy",), note="can assume role minting-automation", via=MINTER)
    theirs = org(scps=(pol("Lock", doc(deny("sts:AssumeRole", Sid="OnlyEu", Condition={
        "StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}})), SCP),), account=PARTNER_ACCT)
    for region, kept_out in (("us-west-2", True), ("eu-west-1", False)):
        got, _ = _org_bound_minters(
            [resetter, outsider], org(account=COMMERCIAL), user_arn=KEY_USER, arn_partition="aws",
            account_id=COMMERCIAL, scp_of={PARTNER_ACCT: theirs}, now=NOW, principals=_gaad_principals(
                [], f"arn:aws:iam::{PARTNER_ACCT}:root", {"StringEquals": {"aws:RequestedRegion": region}}))
        assert got == ([resetter] if kept_out else [resetter, outsider]), (region, got)


def test_a_helper_that_may_tag_the_minter_and_take_it_over_may_mint() -> None:
    """RT M05: dev mints only while tagged keyops=true (it is false); helper may iam:TagUser dev and
    iam:CreateAccessKey for it: it tags dev keyops=true and mints as dev (proven with --enforce-iam:
    tests/emulator/test_enforce_iam.py).  Not a pass, naming helper.  Controls (M05c and alone): the takeover
    alone, or the tagging alone."""
    dev = f"arn:aws:iam::{COMMERCIAL}:user/dev"
    abac = allow([CREATE, RESET], KEY_USER, Condition={"StringEquals": {"aws:PrincipalTag/keyops": "true"}})

    def row(*helper: dict[str, Any]) -> tuple[str, str]:
        key_user = {**_mint_user("bedrock-cross-partition-user", tags={}), "UserPolicyList": []}
        gaad = {"UserDetailList": [key_user, _mint_user("dev", abac, tags={"keyops": "false"}),
                                   _mint_user("helper", *helper, tags={})],
                "RoleDetailList": [], "GroupDetailList": [], "Policies": []}
        status, text, _ = run(key_minting_restricted, _MintInv(gaad, scp("Other", deny("s3:DeleteBucket"))), config(),
                              NOW, False)
        return status, text
    status, text = row(allow(["iam:TagUser", "iam:CreateAccessKey", "iam:DeleteAccessKey"], dev))
    assert status in ("fail", "error") and "user helper can act as user dev" in text, text
    for only in (["iam:CreateAccessKey", "iam:DeleteAccessKey"], "iam:TagUser"):
        status, text = row(allow(only, dev))
        assert status == "pass" and dev not in text, text


def test_a_minter_that_may_tag_itself_only_with_another_value_is_kept_to_its_tag() -> None:
    """RT M06: dev may iam:TagUser itself only with aws:RequestTag/keyops = false (its value): no request makes it
    keyops=true, so the ABAC grant mints nothing (pass).  Control: = true may."""
    dev = f"arn:aws:iam::{COMMERCIAL}:user/dev"
    abac = allow([CREATE, RESET], KEY_USER, Condition={"StringEquals": {"aws:PrincipalTag/keyops": "true"}})
    for value, want in (("false", "pass"), ("true", "error")):
        tag = allow("iam:TagUser", dev, Condition={"StringEquals": {"aws:RequestTag/keyops": value}})
        status, text = _abac_mint_row(abac, tag, tags={"keyops": "false"})
        assert status == want, (value, text)


class _FactsMintInv(_MintInv):
    """_MintInv answering iam:ListAccessKeys/GetLoginProfile with ``facts``."""

    def __init__(self, gaad: dict[str, Any], o: OrgPolicies, facts: dict[str, UserFacts]) -> None:
        super().__init__(gaad, o)
        self.facts = facts

    def user_facts(self, partition: str, wanted: Any) -> dict[str, Any]:
        return {a: f for a, f in self.facts.items() if a in set(wanted)}


def _mint_row_with(users: list[dict[str, Any]], roles: list[dict[str, Any]] = (),  # type: ignore[assignment]
                   facts: dict[str, UserFacts] | None = None) -> tuple[str, str]:
    key_user = {**_mint_user("bedrock-cross-partition-user", tags={}), "UserPolicyList": []}
    gaad = {"UserDetailList": [key_user, *users], "RoleDetailList": list(roles), "GroupDetailList": [], "Policies": []}
    status, text, _ = run(key_minting_restricted, _FactsMintInv(gaad, scp("Other", deny("s3:DeleteBucket")), facts or {}),
                          config(), NOW, False)
    return status, text


def test_a_minter_that_tags_itself_through_a_role_it_assumes_may_mint() -> None:
    """RT2 M11: dev mints only while tagged keyops=true (it is false) and may assume opsrole, which may iam:TagUser
    dev: dev tags itself keyops=true through opsrole and mints.  Not a pass, naming opsrole.  Control: opsrole
    trusts someone else."""
    dev = f"arn:aws:iam::{COMMERCIAL}:user/dev"
    ops = f"arn:aws:iam::{COMMERCIAL}:role/opsrole"
    abac = allow([CREATE, RESET], KEY_USER, Condition={"StringEquals": {"aws:PrincipalTag/keyops": "true"}})

    def opsrole(trusted: str) -> dict[str, Any]:
        return {"RoleName": "opsrole", "RoleId": "AROAOPS", "Arn": ops, "AttachedManagedPolicies": [],
                "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": doc(allow("iam:TagUser", dev))}],
                "InstanceProfileList": [], "Tags": [], "AssumeRolePolicyDocument": doc(
                    {"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole"})}
    users = [_mint_user("dev", abac, allow("sts:AssumeRole", ops), tags={"keyops": "false"})]
    status, text = _mint_row_with(users, [opsrole(dev)])
    assert status == "error" and "user dev can act as role opsrole" in text, text
    status, text = _mint_row_with(users, [opsrole(f"arn:aws:iam::{COMMERCIAL}:user/other")])
    assert status == "pass" and dev not in text, text


def test_a_helper_whose_takeover_fails_on_the_minters_two_keys_leaves_its_tags_facts() -> None:
    """RT2 M01b: helper may tag dev and CreateAccessKey for it, but dev holds two access keys (IAM User Guide, "IAM
    and AWS STS quotas": CreateAccessKey fails with LimitExceeded): no takeover, dev's tag stays keyops=false (pass).
    Control: one key."""
    dev = f"arn:aws:iam::{COMMERCIAL}:user/dev"
    abac = allow([CREATE, RESET], KEY_USER, Condition={"StringEquals": {"aws:PrincipalTag/keyops": "true"}})
    users = [_mint_user("dev", abac, tags={"keyops": "false"}),
             _mint_user("helper", allow(["iam:TagUser", "iam:CreateAccessKey"], dev), tags={})]
    status, text = _mint_row_with(users, facts={dev: UserFacts(2, False)})
    assert status == "pass", text
    status, text = _mint_row_with(users, facts={dev: UserFacts(1, False)})
    assert status in ("fail", "error") and "user helper can act as user dev" in text, text


def test_a_minting_roles_abac_grant_reads_its_iam_tags_when_no_one_may_change_them() -> None:
    """RT2 M07b: mintrole (keyops=false) mints only as keyops=true by its own policy; helper may assume it.  No
    session tag (its trust has no sts:TagSession) and nobody may TagRole it: its tags are facts, it mints nothing
    (pass).  Controls: the trust allows sts:TagSession, or helper may also TagRole it (error)."""
    mintrole = f"arn:aws:iam::{COMMERCIAL}:role/mintrole"
    helper_arn = f"arn:aws:iam::{COMMERCIAL}:user/helper"
    abac = allow([CREATE, RESET], "*", Condition={"StringEquals": {"aws:PrincipalTag/keyops": "true"}})

    def row(trust_actions: list[str], helper_actions: list[str]) -> tuple[str, str]:
        r = {"RoleName": "mintrole", "RoleId": "AROAMINT", "Arn": mintrole, "AttachedManagedPolicies": [],
             "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": doc(abac)}], "InstanceProfileList": [],
             "Tags": [{"Key": "keyops", "Value": "false"}], "AssumeRolePolicyDocument": doc(
                 {"Effect": "Allow", "Principal": {"AWS": helper_arn}, "Action": trust_actions})}
        return _mint_row_with([_mint_user("helper", allow(helper_actions, mintrole), tags={})], [r])
    status, text = row(["sts:AssumeRole"], ["sts:AssumeRole", "sts:TagSession"])
    assert status == "pass" and mintrole not in text.split(" (root user")[0], text
    for trust_actions, helper_actions in ((["sts:AssumeRole", "sts:TagSession"], ["sts:AssumeRole", "sts:TagSession"]),
                                          (["sts:AssumeRole"], ["sts:AssumeRole", "iam:TagRole"])):
        status, text = row(trust_actions, helper_actions)
        assert status == "error" and mintrole in text, (trust_actions, helper_actions, text)


def test_a_minter_that_may_tag_itself_only_with_harmless_values_is_kept_to_its_tag() -> None:
    """RT2 M12: dev may iam:TagUser itself keyops = false or no: neither makes its ABAC grant (keyops=true) true
    (pass).  Control: [false, true]."""
    dev = f"arn:aws:iam::{COMMERCIAL}:user/dev"
    abac = allow([CREATE, RESET], KEY_USER, Condition={"StringEquals": {"aws:PrincipalTag/keyops": "true"}})
    for values, want in ((["false", "no"], "pass"), (["false", "true"], "error")):
        tag = allow("iam:TagUser", dev, Condition={"StringEquals": {"aws:RequestTag/keyops": values}})
        status, text = _abac_mint_row(abac, tag, tags={"keyops": "false"})
        assert status == want, (values, text)


def test_an_rcp_of_the_roles_account_bounds_every_callers_assume_role() -> None:
    """"Resource control policies (RCPs)": STS is a service RCPs cover, so the RCPs of the account whose role is
    assumed bound every caller's sts:AssumeRole -- an outsider's too, with or without its own SCPs exported.  An
    identity perimeter (aws:PrincipalOrgID) keeps out an outsider whose export names another organization; one
    whose organization is unknown may get in (error, naming the key); the account's own principals carry its
    organization id and stay counted.  Both rows; the management account's roles are beyond RCPs."""
    def assume_perimeter(extra: dict[str, Any] | None = None) -> OrgPolicy:
        cond = {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-abc"},
                "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}, **(extra or {})}
        return pol("AssumePerimeter", doc(deny("sts:AssumeRole", Sid="AssumePerimeter", Principal="*",
                                               Condition=cond)), RCP)
    outsider = Access(principal=f"arn:aws:iam::{PARTNER_ACCT}:root", kind="external", certain=True,
                      grants=("trust policy",), note="can assume role minting-automation; outside the account",
                      via=MINTER)
    insider = Access(principal=f"arn:aws:iam::{COMMERCIAL}:user/ops", kind="user", certain=True,
                     grants=("identity policy",), note="can assume role minting-automation", via=MINTER)
    resetter = granted(ON_KEY_USER.format("Reset"), (RESET, ()))
    other_org = {PARTNER_ACCT: org(account=PARTNER_ACCT, org_id="o-other")}
    ours = org(rcps=(assume_perimeter(),), account=COMMERCIAL)

    def minters(o: OrgPolicies, scp_of: dict[str, OrgPolicies]) -> tuple[list[Access], list[dict[str, Any]]]:
        return _org_bound_minters([resetter, insider, outsider], o, user_arn=KEY_USER, arn_partition="aws",
                                  account_id=COMMERCIAL, scp_of=scp_of)

    kept, said = minters(ours, other_org)
    assert kept == [resetter, insider], said
    assert said[0]["principal"] == outsider.principal and "RCP AssumePerimeter" in said[0]["stopped"], said
    assert "by its own SCPs" not in said[0]  # the RCP of the role's account, not the outsider's SCPs
    # its organization unknown (no export): it may assume the role -- counted as possible, naming the key
    kept, said = minters(ours, {})
    assert [a.principal for a in kept] == [resetter.principal, insider.principal, outsider.principal]
    assert not kept[2].certain and any("aws:PrincipalOrgID" in u for u in kept[2].unknown), kept[2]
    # controls: an export naming our organization, no such RCP, RCPs off, the management account's roles
    same_org = {PARTNER_ACCT: org(account=PARTNER_ACCT, org_id="o-abc")}
    assert minters(ours, same_org) == ([resetter, insider, outsider], [])
    assert minters(org(account=COMMERCIAL), other_org) == ([resetter, insider, outsider], [])
    assert minters(org(account=COMMERCIAL, rcp_enabled=False), other_org) == ([resetter, insider, outsider], [])
    mgmt = dataclasses.replace(ours, account_id=MGMT)
    assert minters(mgmt, other_org)[0] == [resetter, insider, outsider]
    # an RCP denying AssumeRole in us-east-1 only: another Region's STS endpoint is open (needs the Region read)
    east = org(rcps=(assume_perimeter({"StringEquals": {"aws:RequestedRegion": "us-east-1"}}),), account=COMMERCIAL)
    assert minters(east, other_org)[0] == [resetter, insider, outsider]
    # readers: the GovCloud account's RCP keeps the outsider from the workload role
    gov_out = dataclasses.replace(outsider, principal=f"arn:aws-us-gov:iam::{PARTNER_ACCT}:root", via=WORKLOAD)
    kept, said = _org_bound_readers([WORKLOAD_READS, gov_out], org(rcps=(assume_perimeter(),)), secret_arn=SECRET,
                                    region=REGION, owner_account=GOV, key_arn_of={REGION: KEY}, now=NOW,
                                    scp_of=other_org)
    assert kept == [WORKLOAD_READS] and "RCP AssumePerimeter" in said[-1]["stopped"], said
    assert bound([WORKLOAD_READS, gov_out], org())[0] == [WORKLOAD_READS, gov_out]
