"""Who may change whose IAM tags (escalation.tag_writers) and whose tags are then no fact (tag_changers), on
hand-built account states.

tag_writers judges a TagUser/UntagUser by the requests that would change a tag key the policies read: the
``aws:TagKeys`` and ``aws:RequestTag/<key>`` the Service Authorization Reference lists for them, the key in
every spelling up to case (IAM User Guide, "Tagging IAM resources": a user's tag keys are not case sensitive).
tag_changers counts a principal whose tags one that can act as it (takeover, assumption, a chain) may change.
Each case has a control that flips the answer, so none passes whatever the code does."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bedrock_key_audit.access import principals_from_gaad
from bedrock_key_audit.escalation import UserFacts, self_tag_grants, tag_changers, tag_reads, tag_writers
from tests.policy_docs import allow, deny, doc

A = "123456789012"
NOW = dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc)


def arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{A}:{kind}/{name}"


ABAC = arn("user", "abac")


def user(name: str, *statements: dict[str, Any], tags: dict[str, str] | None = None) -> dict[str, Any]:
    return {"UserName": name, "UserId": f"AIDA{name.upper()}", "Arn": arn("user", name), "GroupList": [],
            "AttachedManagedPolicies": [], "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": doc(*statements)}]
            if statements else [], "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()]}


def role(name: str, *statements: dict[str, Any], trusted: str) -> dict[str, Any]:
    return {"RoleName": name, "RoleId": f"AROA{name.upper()}", "Arn": arn("role", name),
            "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": doc(*statements)}],
            "AttachedManagedPolicies": [], "InstanceProfileList": [], "Tags": [],
            "AssumeRolePolicyDocument": doc({"Effect": "Allow", "Principal": {"AWS": trusted},
                                             "Action": "sts:AssumeRole"})}


def gaad(users: list[dict[str, Any]], roles: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {"UserDetailList": users, "RoleDetailList": list(roles), "GroupDetailList": [], "Policies": []}


def writers(*statements: dict[str, Any], keys: list[str] | None = ("team",),  # type: ignore[assignment]
            tags: dict[str, str] | None = None, also: list[Any] = (), scp: Any = None) -> dict[str, str]:  # type: ignore[assignment]
    """Who may change abac's tags, abac holding ``statements`` and tags ``tags`` (team=web by default)."""
    g = gaad([user("abac", *statements, tags={"team": "web"} if tags is None else tags)])
    ps = principals_from_gaad(g)
    got = tag_writers(ps, partition="aws", account_id=A, now=NOW, gaad=g, scp=scp,
                      keys=None if keys is None else list(keys), also=list(also))
    return got.get(ABAC, {})


def on_self(**condition: Any) -> dict[str, Any]:
    return allow("iam:TagUser", ABAC, Condition=condition) if condition else allow("iam:TagUser", ABAC)


# --------------------------------------------------------------------------- tag_writers: the request keys
def test_tag_user_limited_to_another_value_of_the_key_is_no_change() -> None:
    """TagUser only with aws:RequestTag/team = web (abac's value already): no request changes team."""
    assert writers(on_self(StringEquals={"aws:RequestTag/team": "web"})) == {}
    # control: the value the ABAC condition needs
    got = writers(on_self(StringEquals={"aws:RequestTag/team": "bedrock"}))
    assert got[ABAC].startswith("can change its tags (iam:TagUser on user abac)"), got
    # control: not yet tagged team -- setting web adds the tag
    assert ABAC in writers(on_self(StringEquals={"aws:RequestTag/team": "web"}), tags={})


def test_tag_user_limited_to_other_keys_is_no_change() -> None:
    """TagUser only for aws:TagKeys within [costcenter]: team cannot be in the request."""
    assert writers(on_self(**{"ForAllValues:StringEquals": {"aws:TagKeys": ["costcenter"]}})) == {}
    # control: team among the keys allowed
    assert ABAC in writers(on_self(**{"ForAllValues:StringEquals": {"aws:TagKeys": ["costcenter", "team"]}}))


def test_tag_user_that_must_carry_another_key_may_carry_team_with_it() -> None:
    """An Allow needing costcenter among the keys: a request tagging costcenter and team is allowed."""
    got = writers(on_self(**{"ForAnyValue:StringEquals": {"aws:TagKeys": ["costcenter"]}}))
    assert "costcenter" in got[ABAC], got
    # control: no request with team in it passes the Allow
    assert writers(on_self(**{"ForAllValues:StringEquals": {"aws:TagKeys": ["costcenter"]}})) == {}


def test_a_case_sensitive_deny_of_the_key_leaves_another_spelling_open() -> None:
    """IAM user tag keys are not case sensitive: a Deny of aws:TagKeys team by StringEquals lets TEAM through,
    which overwrites team.  StringEqualsIgnoreCase denies every spelling."""
    got = writers(on_self(), deny("iam:TagUser", Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}))
    assert "TEAM" in got[ABAC], got
    assert writers(on_self(), deny("iam:TagUser", Condition={
        "ForAnyValue:StringEqualsIgnoreCase": {"aws:TagKeys": ["team"]}})) == {}


def test_a_wildcard_value_leaves_the_request_undecided_never_refused() -> None:
    """StringLike bed* on aws:RequestTag/team: which values it admits is not a list of literals -> may."""
    got = writers(on_self(StringLike={"aws:RequestTag/team": "bed*"}))
    assert got[ABAC].startswith("may (depending on aws:RequestTag/team)"), got


def test_untag_counts_only_for_a_tag_the_principal_carries() -> None:
    """UntagUser of team: a change while abac carries team, a no-op when it does not."""
    untag = allow("iam:UntagUser", ABAC, Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}})
    assert "iam:UntagUser" in writers(untag)[ABAC]
    assert writers(untag, tags={"costcenter": "1"}) == {}
    assert writers(allow("iam:UntagUser", ABAC, Condition={
        "ForAllValues:StringEquals": {"aws:TagKeys": ["costcenter"]}})) == {}


def test_without_the_keys_read_any_tag_call_counts() -> None:
    """keys=None (the keys read are not known): the old judgement, any TagUser counts (undecided here)."""
    assert ABAC in writers(on_self(StringEquals={"aws:RequestTag/team": "web"}), keys=None)


def test_the_organizations_named_values_are_tried() -> None:
    """An SCP lets TagUser through only for team = ops: the organization's literal is among the values tried
    (``also``), so the change is seen; without it the fresh value and bedrock are all refused."""
    def scp(caller: str, action: str, resource: Any, overlay: Any) -> tuple[bool | None, tuple[str, ...]]:
        if action != "iam:TagUser":
            return True, ()
        sent = {k.lower(): v for k, v in overlay.items()}
        if "aws:requesttag/team" not in sent:
            return None, ("aws:RequestTag/team",)  # as the SCPs answer a request whose key is unknown
        return sent["aws:requesttag/team"] == "ops", ()
    cond = [{"StringNotEquals": {"aws:RequestTag/team": "ops"}}]
    assert ABAC in writers(on_self(), scp=scp, also=cond)
    assert writers(on_self(), scp=scp, also=[]) == {}


def test_a_tag_user_grant_on_the_targets_resource_tag_reads_it_without_case() -> None:
    """TagUser allowed only on users whose Team tag is web (iam:ResourceTag/Team): abac carries team=web, so it may
    retag itself (IAM User Guide, "Tags for AWS Identity and Access Management resources": a user's tag keys are not
    case sensitive; "IAM JSON policy elements: Condition": nor are condition key names).  Read as absent the
    grant would never hold and abac's tags would pass for facts.  Control: a grant on team=ops gives nothing."""
    for key in ("iam:ResourceTag/Team", "aws:ResourceTag/TEAM"):
        got = writers(on_self(StringEquals={key: "web"}))
        assert got[ABAC].startswith("can change its tags (iam:TagUser on user abac)"), got
        assert writers(on_self(StringEquals={key: "ops"})) == {}
    # the key read spelt Team while abac carries team: one key, so a grant only for other Team values is none
    assert writers(on_self(StringEquals={"aws:RequestTag/Team": "web"}), keys=["Team"]) == {}
    assert ABAC in writers(on_self(StringEquals={"aws:RequestTag/Team": "bedrock"}), keys=["Team"])


# --------------------------------------------------------------------------- tag_changers: takeovers
def changers(users: list[dict[str, Any]], roles: list[dict[str, Any]] = (),  # type: ignore[assignment]
             facts: dict[str, UserFacts] | None = None, wanted: set[str] | None = None) -> dict[str, str]:
    g = gaad(users, roles)
    ps = principals_from_gaad(g)
    w = tag_writers(ps, partition="aws", account_id=A, now=NOW, gaad=g, keys=["team"])
    return tag_changers(ps, w, partition="aws", account_id=A, now=NOW, gaad=g, user_facts=facts, wanted=wanted)


ABAC_USER = user("abac", allow("secretsmanager:GetSecretValue"), tags={"team": "web"})


@pytest.mark.parametrize("takeover", ["iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile"])
def test_a_third_party_that_may_tag_and_take_over_the_user(takeover: str) -> None:
    """tagger may TagUser abac and take it over: it tags abac, then acts as it."""
    got = changers([ABAC_USER, user("tagger", allow(["iam:TagUser", takeover], ABAC))])
    assert "user tagger can act as user abac" in got[ABAC] and "iam:TagUser on user abac" in got[ABAC], got
    # controls: tagging alone (tagger does not act as abac), or the takeover alone
    assert ABAC not in changers([ABAC_USER, user("tagger", allow("iam:TagUser", ABAC))])
    assert ABAC not in changers([ABAC_USER, user("tagger", allow(takeover, ABAC))])


def test_a_takeover_through_a_role_it_assumes() -> None:
    """tagger may tag abac itself and assume ops, which may CreateAccessKey for abac: a chain."""
    ops = arn("role", "ops")
    got = changers([ABAC_USER, user("tagger", allow("iam:TagUser", ABAC), allow("sts:AssumeRole", ops))],
                   [role("ops", allow("iam:CreateAccessKey", ABAC), trusted=arn("user", "tagger"))])
    assert "user tagger can act as user abac" in got[ABAC] and "role ops" in got[ABAC], got
    # control: ops does not trust tagger
    got = changers([ABAC_USER, user("tagger", allow("iam:TagUser", ABAC), allow("sts:AssumeRole", ops))],
                   [role("ops", allow("iam:CreateAccessKey", ABAC), trusted=arn("user", "someone"))])
    assert ABAC not in got, got


def test_a_takeover_whose_tagging_is_limited_to_other_values_is_no_change() -> None:
    """tagger may take abac over but tag it only team = web: abac's tags stay facts."""
    limited = allow("iam:TagUser", ABAC, Condition={"StringEquals": {"aws:RequestTag/team": "web"}})
    assert ABAC not in changers([ABAC_USER, user("tagger", limited, allow("iam:CreateAccessKey", ABAC))])


# --------------------------------------------------------------------------- tag_changers: itself, through another
def test_a_principal_that_assumes_a_role_which_may_tag_it_chooses_its_own_tags() -> None:
    """RT2 A17/M11/K05d: abac may assume opsrole, and opsrole may TagUser abac: abac tags itself through opsrole
    (IAM User Guide, "Define permissions based on attributes with ABAC authorization": principals must not be
    able to change their own tags)."""
    ops = arn("role", "opsrole")
    abac = user("abac", allow("secretsmanager:GetSecretValue"), allow("sts:AssumeRole", ops), tags={"team": "web"})
    got = changers([abac], [role("opsrole", allow("iam:TagUser", ABAC), trusted=ABAC)])
    assert got[ABAC].startswith("user abac can act as role opsrole (sts:AssumeRole of role opsrole"), got
    assert "which can change the tags of user abac (iam:TagUser on user abac)" in got[ABAC], got
    # controls: opsrole trusts someone else, or opsrole may not tag abac
    assert ABAC not in changers([abac], [role("opsrole", allow("iam:TagUser", ABAC), trusted=arn("user", "x"))])
    assert ABAC not in changers([abac], [role("opsrole", allow("iam:TagUser", arn("user", "x")), trusted=ABAC)])


def test_a_principal_that_chains_to_a_role_which_may_tag_it() -> None:
    """abac -> hop1 -> hop2, and hop2 may TagUser abac: a chain reaches the tagger."""
    hop1, hop2 = arn("role", "hop1"), arn("role", "hop2")
    abac = user("abac", allow("sts:AssumeRole", hop1), tags={"team": "web"})
    got = changers([abac], [role("hop1", allow("sts:AssumeRole", hop2), trusted=ABAC),
                            role("hop2", allow("iam:TagUser", ABAC), trusted=hop1)])
    assert "role hop2" in got[ABAC] and "(as role hop1)" in got[ABAC], got
    # control: hop2 trusts nobody on the chain
    assert ABAC not in changers([abac], [role("hop1", allow("sts:AssumeRole", hop2), trusted=ABAC),
                                         role("hop2", allow("iam:TagUser", ABAC), trusted=arn("user", "x"))])


# --------------------------------------------------------------------------- tag_changers: what the user holds
@pytest.mark.parametrize(("takeover", "blocks", "opens"), [
    # IAM User Guide, "IAM and AWS STS quotas": two access keys per user (CreateAccessKey: LimitExceeded)
    ("iam:CreateAccessKey", UserFacts(2, None), UserFacts(1, None)),
    # IAM API Reference, "CreateLoginProfile": EntityAlreadyExists on a user with a password
    ("iam:CreateLoginProfile", UserFacts(None, True), UserFacts(None, False)),
    # IAM API Reference, "UpdateLoginProfile": NoSuchEntity on a user without one
    ("iam:UpdateLoginProfile", UserFacts(None, False), UserFacts(None, True)),
])
def test_a_takeover_the_user_s_keys_or_password_rule_out_is_no_way_to_act_as_it(
        takeover: str, blocks: UserFacts, opens: UserFacts) -> None:
    """RT2 A01b/A02b/A03b/M01b: tagger may tag abac and take it over only by a call that fails on what abac holds."""
    users = [ABAC_USER, user("tagger", allow(["iam:TagUser", takeover], ABAC))]
    wanted: set[str] = set()
    assert ABAC in changers(users, wanted=wanted)  # not read: the step stays possible
    assert wanted == {ABAC}
    assert ABAC not in changers(users, facts={ABAC: blocks})
    assert "user tagger can act as user abac" in changers(users, facts={ABAC: opens})[ABAC]
    # control: with DeleteAccessKey too, two keys are no stop
    if takeover == "iam:CreateAccessKey":
        users = [ABAC_USER, user("tagger", allow(["iam:TagUser", takeover, "iam:DeleteAccessKey"], ABAC))]
        assert ABAC in changers(users, facts={ABAC: blocks})


# --------------------------------------------------------------------------- tag_writers: only changes that matter
def harmful(grant: dict[str, Any], tagging: dict[str, Any], tags: dict[str, str] | None = None) -> dict[str, str]:
    """Who may change abac's tags in a way that changes what ``grant`` (abac's ABAC read) decides, abac also holding
    ``tagging`` (its own iam:TagUser), tagged ``tags`` (team=web by default)."""
    g = gaad([user("abac", grant, tagging, tags={"team": "web"} if tags is None else tags)])
    ps = principals_from_gaad(g)
    keys = ["team", "env"]
    got = tag_writers(ps, partition="aws", account_id=A, now=NOW, gaad=g, keys=keys, reads=tag_reads(ps, [], keys))
    return got.get(ABAC, {})


def read_if(**condition: Any) -> dict[str, Any]:
    return allow("secretsmanager:GetSecretValue", Condition=condition)


BEDROCK = read_if(StringEquals={"aws:PrincipalTag/team": "bedrock"})


@pytest.mark.parametrize(("grant", "tagging", "tags", "changes"), [
    # RT2 C04 / M12: only harmless values, or one that reads
    (BEDROCK, on_self(StringEquals={"aws:RequestTag/team": ["web", "dev"]}), None, False),
    (BEDROCK, on_self(StringEquals={"aws:RequestTag/team": ["web", "bedrock"]}), None, True),
    # C13: any value but the one the grant needs; control: any value but web
    (BEDROCK, on_self(StringNotEquals={"aws:RequestTag/team": "bedrock"}), None, False),
    (BEDROCK, on_self(StringNotEquals={"aws:RequestTag/team": "web"}), None, True),
    # C10b: values are case sensitive under StringEquals; control: the grant ignores case
    (BEDROCK, on_self(StringEquals={"aws:RequestTag/team": "BEDROCK"}), None, False),
    (read_if(StringEqualsIgnoreCase={"aws:PrincipalTag/team": "bedrock"}),
     on_self(StringEquals={"aws:RequestTag/team": "BEDROCK"}), None, True),
    # C14: a StringLike pattern on the value; control: one that admits bedrock
    (BEDROCK, on_self(StringLike={"aws:RequestTag/team": "web*"}), None, False),
    (BEDROCK, on_self(StringLike={"aws:RequestTag/team": "bed*"}), None, True),
    # C03: a StringLike pattern on the keys no spelling of team matches; control: one that some may
    (BEDROCK, on_self(**{"ForAllValues:StringLike": {"aws:TagKeys": ["cost*"]}}), None, False),
    (BEDROCK, on_self(**{"ForAllValues:StringLike": {"aws:TagKeys": ["t*"]}}), None, True),
    # C16: the grant needs team=bedrock and env=prod, only team may be tagged; control: env=prod is there
    (read_if(StringEquals={"aws:PrincipalTag/team": "bedrock", "aws:PrincipalTag/env": "prod"}),
     on_self(**{"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}), None, False),
    (read_if(StringEquals={"aws:PrincipalTag/team": "bedrock", "aws:PrincipalTag/env": "prod"}),
     on_self(**{"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}), {"team": "web", "env": "prod"}, True),
    # a Deny while team=web: any other value lifts it
    (deny("secretsmanager:GetSecretValue", Condition={"StringEquals": {"aws:PrincipalTag/team": "web"}}),
     on_self(StringNotEquals={"aws:RequestTag/team": "bedrock"}), None, True),
])
def test_a_tag_change_counts_only_when_it_changes_what_the_grant_decides(
        grant: dict[str, Any], tagging: dict[str, Any], tags: dict[str, str] | None, changes: bool) -> None:
    """RT2 BUG-4: a TagUser abac may make on itself counts only if a value (or key spelling) it may set makes the
    ABAC grant true (or its Deny false): the grant is evaluated with each assignment the tagging permission allows
    (the values the conditions name, their case variants, one no policy names).  Each harmless case has a control
    that changes only the one thing that makes it harmful."""
    got = harmful(grant, tagging, tags)
    assert (ABAC in got) is changes, got


def test_the_clause_names_the_request_that_reaches_the_grant() -> None:
    """The witness is the request that changes the outcome (team=bedrock, the key as read), not the first
    request the tagging permission allows."""
    got = harmful(BEDROCK, on_self())
    assert "aws:TagKeys ['team'], aws:RequestTag/team bedrock" in got[ABAC], got


def test_a_tag_read_through_a_policy_variable_counts_whatever_value_is_set() -> None:
    """abac reads secrets named after its team (Resource ...:secret:${aws:PrincipalTag/team}-*): any value it may
    set may name another secret, so a change counts though no Condition block reads the tag.  Control: the
    Resource names the secret outright and no condition reads team -- no change matters."""
    by_team = allow("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:*:*:secret:${aws:PrincipalTag/team}-*")
    assert ABAC in harmful(by_team, on_self(StringEquals={"aws:RequestTag/team": "ops"}))
    fixed = allow("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:*:*:secret:web-*")
    assert ABAC not in harmful({**fixed, "Condition": {"StringEquals": {"aws:PrincipalTag/team": "bedrock"}}},
                               on_self(StringEquals={"aws:RequestTag/team": "ops"}))


def test_a_pattern_in_the_grant_leaves_every_value_in_doubt() -> None:
    """The grant reads team by StringLike bed*: a value the tagging permission does not name (bedlam, under
    StringNotEquals web) may match it, so the change counts.  Control: the same tagging against a grant naming
    bedrock outright, which StringNotEquals web lets abac set too -- and a tagging limited to web, dev does not."""
    like = read_if(StringLike={"aws:PrincipalTag/team": "bed*"})
    assert ABAC in harmful(like, on_self(StringNotEquals={"aws:RequestTag/team": "web"}))
    assert ABAC in harmful(BEDROCK, on_self(StringNotEquals={"aws:RequestTag/team": "web"}))
    assert ABAC not in harmful(BEDROCK, on_self(StringEquals={"aws:RequestTag/team": ["web", "dev"]}))


@pytest.mark.parametrize(("attachable", "changes"), [("tagself", True), ("other", False)])
def test_a_principal_that_may_attach_itself_a_tagging_policy_may_change_its_tags(attachable: str, changes: bool) -> None:
    """abac may AttachUserPolicy on itself only with iam:PolicyARN = the customer policy ``tagself`` (TagUser on
    abac): attach, then tag (RT3 T09e, MT05).  Control: the one policy it may attach grants no tagging."""
    pol = {name: f"arn:aws:iam::{A}:policy/{name}" for name in ("tagself", "other")}
    docs = {"tagself": doc(allow("iam:TagUser", ABAC)), "other": doc(allow("s3:GetObject"))}
    g = gaad([user("abac", allow("iam:AttachUserPolicy", ABAC, Condition={
        "ArnEquals": {"iam:PolicyARN": pol[attachable]}}), tags={"team": "web"})])
    g["Policies"] = [{"PolicyName": n, "Arn": a, "DefaultVersionId": "v1", "AttachmentCount": 0,
                      "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True, "Document": docs[n]}]}
                     for n, a in pol.items()]
    ps = principals_from_gaad(g)
    assert tag_writers(ps, partition="aws", account_id=A, now=NOW, gaad=g, keys=["team"]).get(ABAC) is None
    granted = self_tag_grants(ps, partition="aws", account_id=A, now=NOW, gaad=g)
    assert bool(granted) is changes, granted
    if changes:
        after, how = granted[0]
        assert "iam:AttachUserPolicy of tagself to itself" in how, how
        got = tag_writers(ps, partition="aws", account_id=A, now=NOW, gaad=g, keys=["team"], taggers=[after])
        assert got[ABAC][ABAC].startswith("can change its tags (iam:TagUser on user abac)"), got


@pytest.mark.parametrize(("grant", "tagging", "tags", "changes"), [
    # RT3 T03h: a Deny on clearance like revoked*; abac may set only revoked-x, which still matches; control: ok
    (deny("secretsmanager:GetSecretValue", Condition={"StringLike": {"aws:PrincipalTag/clearance": "revoked*"}}),
     on_self(StringEquals={"aws:RequestTag/clearance": "revoked-x"}), {"clearance": "revoked-2024"}, False),
    (deny("secretsmanager:GetSecretValue", Condition={"StringLike": {"aws:PrincipalTag/clearance": "revoked*"}}),
     on_self(StringEquals={"aws:RequestTag/clearance": "ok"}), {"clearance": "revoked-2024"}, True),
    # RT3 T03k: a Deny on team not like bed*; removing team leaves it (StringNotLike on a missing key is true);
    # control: a Deny on team like web*, which the removal lifts
    (deny("secretsmanager:GetSecretValue", Condition={"StringNotLike": {"aws:PrincipalTag/team": "bed*"}}),
     allow("iam:UntagUser", ABAC), {"team": "web"}, False),
    (deny("secretsmanager:GetSecretValue", Condition={"StringLike": {"aws:PrincipalTag/team": "web*"}}),
     allow("iam:UntagUser", ABAC), {"team": "web"}, True),
])
def test_a_pattern_read_tag_set_to_a_named_value_or_removed_is_evaluated(
        grant: dict[str, Any], tagging: dict[str, Any], tags: dict[str, str], changes: bool) -> None:
    """A tag read through a pattern (StringLike/StringNotLike) counts whatever unnamed value may be set -- but a value
    the tagging permission names, or the tag's removal, is evaluated as it is: no change of outcome, no count."""
    g = gaad([user("abac", grant, tagging, tags=tags)])
    ps = principals_from_gaad(g)
    keys = [next(iter(tags))]
    got = tag_writers(ps, partition="aws", account_id=A, now=NOW, gaad=g, keys=keys, reads=tag_reads(ps, [], keys))
    assert (ABAC in got.get(ABAC, {})) is changes, got
