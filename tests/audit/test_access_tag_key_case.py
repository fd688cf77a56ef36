"""Tag keys and condition key names compared as AWS compares them, on hand-built account states.

IAM User Guide, "IAM JSON policy elements: Condition": condition key names are not case-sensitive
(``aws:PrincipalTag/Team`` is ``aws:principaltag/team``); "AWS global condition context keys", aws:ResourceTag:
"Tag keys are not case-sensitive", a condition on ``TagKey1`` "matches a resource tag key named either TagKey1
or tagkey1, but not both"; "Tags for AWS Identity and Access Management resources" (Case sensitivity): an IAM
user's or role's tag keys are not case sensitive.  Condition VALUES keep their operator's rule (StringEquals is
case-sensitive).  A resource whose tag keys are case sensitive (a Secrets Manager secret) may carry both
``project`` and ``Project``: which one a condition reads is not documented, so the key is unknown, never absent.

Each case has a control that flips the answer, so none passes whatever the code does."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bedrock_key_audit.access import KeyAccess, key_minters, principals_from_gaad, secret_readers, tag_lookup
from tests.policy_docs import allow, deny, doc

ACCT = "210987654321"
P = "aws-us-gov"
SECRET = f"arn:{P}:secretsmanager:us-gov-west-1:{ACCT}:secret:bedrock/api-key-AbCdEf"
KEY = f"arn:{P}:kms:us-gov-west-1:{ACCT}:key/1111-2222"
NOW = dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc)
ROOT_DELEGATION: dict[str, Any] = doc({"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                                       "Principal": {"AWS": f"arn:{P}:iam::{ACCT}:root"}, "Action": "kms:*",
                                       "Resource": "*"})
READ = allow("secretsmanager:GetSecretValue", SECRET)
DECRYPT = allow("kms:Decrypt", KEY)


def arn(name: str) -> str:
    return f"arn:{P}:iam::{ACCT}:user/{name}"


def user(name: str, *statements: dict[str, Any], tags: dict[str, str] | None = None) -> dict[str, Any]:
    return {"UserName": name, "UserId": f"AIDA{name.upper()}", "Arn": arn(name), "GroupList": [],
            "AttachedManagedPolicies": [], "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": doc(*statements)}],
            "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()]}


def readers(*users: dict[str, Any], secret_tags: dict[str, str] | None = None) -> dict[str, Any]:
    g = {"UserDetailList": list(users), "RoleDetailList": [], "GroupDetailList": [], "Policies": []}
    got = secret_readers(principals_from_gaad(g), secret_arn=SECRET, region="us-gov-west-1", account=ACCT,
                         resource_policy=None, key=KeyAccess(KEY, ROOT_DELEGATION, ()), now=NOW,
                         secret_tags=secret_tags)
    return {a.principal: a for a in got}


# --------------------------------------------------------------------------- tag_lookup
def test_tag_lookup_compares_the_key_without_case_and_keeps_the_value() -> None:
    assert tag_lookup({"team": "Bedrock"}, "Team") == ("present", "Bedrock")
    assert tag_lookup({"TEAM": "web"}, "team") == ("present", "web")
    assert tag_lookup({"costcenter": "1"}, "team") == ("absent", None)
    assert tag_lookup({}, "team") == ("absent", None)
    # two keys differing only in case (possible on a secret, not on an IAM user): unknown, never absent
    assert tag_lookup({"project": "a", "Project": "b"}, "PROJECT") == ("unknown", None)


# --------------------------------------------------------------------------- aws:PrincipalTag of IAM users
ABAC = allow("secretsmanager:GetSecretValue", SECRET, Condition={"StringEquals": {"aws:PrincipalTag/Team": "bedrock"}})


@pytest.mark.parametrize("tags, counted", [
    ({"team": "bedrock"}, True),   # the false PASS: team is Team
    ({"TEAM": "bedrock"}, True),
    ({"Team": "bedrock"}, True),
    ({"team": "Bedrock"}, False),  # control: StringEquals keeps the value's case
    ({"team": "web"}, False),      # control: another value
    ({}, False),                   # control: untagged
])
def test_an_allow_on_principal_tag_team_reads_a_user_tagged_team(tags: dict[str, str], counted: bool) -> None:
    got = readers(user("alice", ABAC, DECRYPT, tags=tags))
    assert (arn("alice") in got) is counted, got
    if counted:
        assert got[arn("alice")].certain, got


@pytest.mark.parametrize("value, counted", [("quarantined", False), ("ok", True)])
def test_a_deny_on_principal_tag_TEAM_applies_to_a_user_tagged_team(value: str, counted: bool) -> None:
    quarantine = deny("secretsmanager:GetSecretValue", SECRET,
                      Condition={"StringEquals": {"aws:PrincipalTag/TEAM": "quarantined"}})
    got = readers(user("alice", READ, DECRYPT, quarantine, tags={"team": value}))
    assert (arn("alice") in got) is counted, got
    # the same with the Deny's condition key spelt in mixed case throughout
    mixed = deny("secretsmanager:GetSecretValue", SECRET,
                 Condition={"StringEquals": {"AWS:principalTAG/tEaM": "quarantined"}})
    assert (arn("alice") in readers(user("alice", READ, DECRYPT, mixed, tags={"Team": value}))) is counted


def test_a_principal_tag_condition_spelt_two_ways_reads_one_tag() -> None:
    """aws:PrincipalTag/Team in one statement and aws:principaltag/team in another are one key: a user tagged
    team=bedrock is allowed by the first and not denied by the second (NOT bedrock); tagged web, the reverse."""
    stmts = (ABAC, DECRYPT, deny("secretsmanager:GetSecretValue", SECRET,
                                 Condition={"StringNotEquals": {"aws:principaltag/team": "bedrock"}}))
    assert readers(user("alice", *stmts, tags={"team": "bedrock"}))[arn("alice")].certain
    assert readers(user("alice", *stmts, tags={"team": "web"})) == {}


# --------------------------------------------------------------------------- condition key names in general
@pytest.mark.parametrize("key", ["aws:PrincipalArn", "AWS:PRINCIPALARN", "aws:principalarn"])
def test_condition_key_names_match_without_case(key: str) -> None:
    """A Deny of everyone but alice, on aws:PrincipalArn in any spelling: bob is no reader, alice is; control: the
    Deny naming bob instead keeps alice out."""
    def only(who: str) -> dict[str, Any]:
        return deny("secretsmanager:GetSecretValue", SECRET, Condition={"StringNotEquals": {key: arn(who)}})
    got = readers(user("alice", READ, DECRYPT, only("alice")), user("bob", READ, DECRYPT, only("alice")))
    assert set(got) == {arn("alice")} and got[arn("alice")].certain, got
    got = readers(user("alice", READ, DECRYPT, only("bob")))
    assert got == {}, got


@pytest.mark.parametrize("key", ["aws:SourceIp", "AWS:SourceIP", "aws:sourceip"])
def test_an_unknowable_key_stays_unknown_in_any_spelling(key: str) -> None:
    """aws:SourceIp is no fact of the snapshot: a Deny outside a range leaves the reader possible, not certain,
    whatever the key's case -- never judged absent (which would make NotIpAddress hold and deny for certain)."""
    fence = deny("secretsmanager:GetSecretValue", SECRET, Condition={"NotIpAddress": {key: "203.0.113.0/24"}})
    got = readers(user("alice", READ, DECRYPT, fence))
    a = got[arn("alice")]
    assert not a.certain and any(u.lower() == "aws:sourceip" for u in a.unknown), a
    # control: without the fence alice reads for certain
    assert readers(user("alice", READ, DECRYPT))[arn("alice")].certain


# --------------------------------------------------------------------------- the secret's own tags
@pytest.mark.parametrize("prefix", ["aws:ResourceTag", "secretsmanager:ResourceTag"])
def test_a_secret_tag_condition_reads_the_tag_without_case(prefix: str) -> None:
    grant = allow("secretsmanager:GetSecretValue", SECRET,
                  Condition={"StringEquals": {f"{prefix}/Project": "bedrock"}})
    got = readers(user("alice", grant, DECRYPT), secret_tags={"project": "bedrock"})
    assert got[arn("alice")].certain, got
    # control: another value, or no such tag
    assert readers(user("alice", grant, DECRYPT), secret_tags={"project": "web"}) == {}
    assert readers(user("alice", grant, DECRYPT), secret_tags={}) == {}


def test_a_secret_carrying_the_key_twice_leaves_the_condition_unknown() -> None:
    """Secrets Manager tag keys are case sensitive, so a secret may carry project and Project; a condition on
    aws:ResourceTag/Project then matches "either ... but not both" -- undocumented which: the reader is possible
    (neither certain nor dropped), and a Deny on it is no certain stop either."""
    both = {"project": "bedrock", "Project": "web"}
    grant = allow("secretsmanager:GetSecretValue", SECRET, Condition={"StringEquals": {"aws:ResourceTag/Project": "bedrock"}})
    a = readers(user("alice", grant, DECRYPT), secret_tags=both)[arn("alice")]
    assert not a.certain and "aws:ResourceTag/Project" in a.unknown, a
    lock = deny("secretsmanager:GetSecretValue", SECRET, Condition={"StringEquals": {"aws:ResourceTag/Project": "web"}})
    a = readers(user("alice", READ, DECRYPT, lock), secret_tags=both)[arn("alice")]
    assert not a.certain, a
    # controls: one spelling decides
    assert readers(user("alice", READ, DECRYPT, lock), secret_tags={"PROJECT": "web"}) == {}
    assert readers(user("alice", READ, DECRYPT, lock), secret_tags={"project": "bedrock"})[arn("alice")].certain


# --------------------------------------------------------------------------- iam:ResourceTag of the minted-on user
C = "arn:aws"
CACCT = "123456789012"
AUDITED = f"{C}:iam::{CACCT}:user/bedrock-cross-partition-user"


@pytest.mark.parametrize("prefix", ["iam:ResourceTag", "aws:ResourceTag"])
@pytest.mark.parametrize("tags, certain", [({"team": "bedrock"}, True), ({"team": "web"}, None), ({}, None)])
def test_a_mint_grant_on_the_users_tag_reads_it_without_case(prefix: str, tags: dict[str, str],
                                                             certain: bool | None) -> None:
    """CreateServiceSpecificCredential allowed on users whose Team tag is bedrock: the audited user tagged
    team=bedrock is one; tagged web or untagged, no user is (control)."""
    grant = allow("iam:CreateServiceSpecificCredential", "*", Condition={"StringEquals": {f"{prefix}/Team": "bedrock"}})
    g = {"UserDetailList": [
        {"UserName": "admin", "UserId": "AIDAADMIN", "Arn": f"{C}:iam::{CACCT}:user/admin",
         "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": doc(grant)}]},
        {"UserName": "bedrock-cross-partition-user", "UserId": "AIDAB", "Arn": AUDITED}]}
    users: list[tuple[str, dict[str, str] | None]] = [(f"{C}:iam::{CACCT}:user/admin", {}), (AUDITED, tags)]
    got = {a.principal: a for a in key_minters(principals_from_gaad(g), users=users, audited_user_arn=AUDITED,
                                               arn_partition="aws", now=NOW)}
    admin = f"{C}:iam::{CACCT}:user/admin"
    if certain:
        assert got[admin].certain and "audited user" in got[admin].note, got
    else:
        assert admin not in got, got
