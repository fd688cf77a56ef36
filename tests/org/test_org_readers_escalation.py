"""secret.readers_restricted under the GovCloud account's SCPs, on hand-built snapshots: a principal that could
give itself the read by one escalation step is no reader when an SCP denies a call of that step (PutUserPolicy,
AttachUserPolicy, PassRole, sts:AssumeRole, ...) or the final read (GetSecretValue, by itself or by the principal it
takes over); ``aws:PrincipalTag/*`` in an SCP is decided from the user's or role's IAM tags, as for the minters.

Each case also runs with an SCP that does not stop the path, which must leave the principal a reader (the row
fails), so no test here passes whatever the verdict does."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from bedrock_key_audit.escalation import UserFacts
from bedrock_key_audit.inventory.models import AccountAuthorization, Replica
from bedrock_key_audit.org_policies import SCP, Level, OrgPolicies, OrgPolicy
from bedrock_key_audit.access import principals_from_gaad
from bedrock_key_audit.verdicts.access import readers_restricted
from tests.policy_docs import allow, deny, doc
from tests.unit.helpers import NOW, config, run, secret

GOV = "210987654321"
G = "arn:aws-us-gov"
MGMT = "999988887777"
SECRET = f"{G}:secretsmanager:us-gov-west-1:{GOV}:secret:bedrock/api-key"
AUDITOR = f"{G}:iam::{GOV}:role/auditor"


def arn(kind: str, name: str) -> str:
    return f"{G}:iam::{GOV}:{kind}/{name}"


def user(name: str, *policies: dict[str, Any], tags: dict[str, str] | None = None) -> dict[str, Any]:
    return {"UserName": name, "UserId": f"AIDA{name.upper()}", "Arn": arn("user", name), "GroupList": [],
            "UserPolicyList": [{"PolicyName": f"p{i}", "PolicyDocument": d} for i, d in enumerate(policies)],
            "AttachedManagedPolicies": [], "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()]}


def role(name: str, *policies: dict[str, Any], trust: dict[str, Any], tags: dict[str, str] | None = None) -> dict[str, Any]:
    return {"RoleName": name, "RoleId": f"AROA{name.upper()}", "Arn": arn("role", name),
            "RolePolicyList": [{"PolicyName": f"p{i}", "PolicyDocument": d} for i, d in enumerate(policies)],
            "AttachedManagedPolicies": [], "AssumeRolePolicyDocument": trust, "InstanceProfileList": [],
            "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()]}


def trusts(who: str | None = None, *, service: str | None = None, actions: Iterable[str] = ("sts:AssumeRole",)) -> dict[str, Any]:
    return doc({"Effect": "Allow", "Principal": {"Service": service} if service else {"AWS": who},
                "Action": list(actions)})


def pol(name: str, *statements: dict[str, Any]) -> OrgPolicy:
    return OrgPolicy(f"p-{name.lower()}", name, SCP, doc(*statements))


def org(*scps: OrgPolicy, management: bool = False) -> OrgPolicies:
    full = (OrgPolicy("p-full", "FullAWSAccess", SCP, doc(allow("*"))),)
    return OrgPolicies(GOV, True, GOV if management else MGMT, (
        Level("r-root", "ROOT", full, ()), Level(GOV, "ACCOUNT", (*full, *scps), ())), organization_id="o-abc")


class Gather:
    def fanout(self, fns: Iterable[Callable[[], Any]]) -> list[Any]:
        return [f() for f in fns]


@dataclasses.dataclass
class Inv:
    """The reads secret.readers_restricted makes: the GovCloud account's GAAD, no resource policy, the
    secret under the AWS managed key, no replica, the organization's SCPs."""

    gaad: dict[str, Any]
    org: OrgPolicies
    facts: dict[str, UserFacts] = dataclasses.field(default_factory=dict)
    replicas: list[Replica] = dataclasses.field(default_factory=list)
    g: Gather = dataclasses.field(default_factory=Gather)

    def account_authorization(self, partition: str) -> AccountAuthorization:
        ps = principals_from_gaad(self.gaad)
        users: list[tuple[str, dict[str, str]]] = [(u["Arn"], {}) for u in self.gaad["UserDetailList"]]
        return AccountAuthorization("govcloud", ps, users, {"users": len(users)}, {"Arn": AUDITOR}, self.gaad, {})

    def secret_resource_policy(self) -> None:
        return None

    def secret_replicas(self, arn: str, describe: Any) -> list[Replica]:
        return self.replicas

    def org_policies(self, partition: str) -> OrgPolicies:
        return self.org

    def user_facts(self, partition: str, wanted: Iterable[str]) -> dict[str, UserFacts]:
        return {a: f for a, f in self.facts.items() if a in set(wanted)}


def readers(users: Iterable[dict[str, Any]] = (), roles: Iterable[dict[str, Any]] = (), *scps: OrgPolicy,
            allowed: Iterable[str] = (), tmp_path: Path | None = None, management: bool = False,
            facts: dict[str, UserFacts] | None = None, replicas: Iterable[str] = ()) -> tuple[str, str, Any]:
    gaad = {"UserDetailList": list(users), "RoleDetailList": [
        role("auditor", doc(allow("secretsmanager:GetSecretValue")), trust=trusts(f"{G}:iam::{GOV}:root")), *roles],
        "GroupDetailList": [], "Policies": []}
    allowed = list(allowed)
    cfg = config(tmp_path, "[secret]\nallowed_readers = [" + ", ".join(f'"{a}"' for a in allowed) + "]\n") \
        if allowed else config()
    s = secret(kms_key_id=None, arn=SECRET)
    copies = [Replica(r, SECRET.replace(":us-gov-west-1:", f":{r}:"), None, "InSync") for r in replicas]
    return run(readers_restricted, s, Inv(gaad, org(*scps, management=management), facts or {}, copies), cfg, NOW)


def kept_out(text: str) -> list[str]:
    """The principals the pass sentence names as kept out by the organization's policies."""
    clause = text.split("kept out by the organization's SCPs/RCPs: ", 1)[1] if "kept out by" in text else ""
    return clause.split(" (root user")[0].split(", ")


def said(rec: Any) -> list[dict[str, Any]]:
    return next(e["data"] for e in rec.evidence if e["source"] == "organization-policies")["per principal"]


INTERN = arn("user", "intern")
READ = allow("secretsmanager:GetSecretValue")


# --------------------------------------------------------------------------- a denied step (s02, s05, s03b)
@pytest.mark.parametrize("action", ["iam:PutUserPolicy", "iam:AttachUserPolicy"])
def test_an_scp_denying_the_policy_write_keeps_the_self_escalator_out(action: str) -> None:
    intern = user("intern", doc(allow(action, INTERN)))
    status, text, _ = readers([intern])
    assert status == "fail" and INTERN in text and f"{action} " in text, text
    # an SCP denying that write to someone else leaves the path standing
    elsewhere = pol("NoWrites", deny(action, Sid="NoWrites",
                                     Condition={"ArnLike": {"aws:PrincipalArn": arn("user", "other-*")}}))
    status, text, _ = readers([intern], (), elsewhere)
    assert status == "fail" and INTERN in text, text
    no_write = pol("NoWrites", deny(action, Sid="NoWrites"))
    status, text, rec = readers([intern], (), no_write)
    assert status == "pass", text
    assert INTERN in kept_out(text)
    [entry] = [d for d in said(rec) if d["principal"] == INTERN]
    assert action in entry["stopped"] and "without them" in entry["stopped"]
    # SCPs do not affect the management account's principals
    status, text, _ = readers([intern], (), no_write, management=True)
    assert status == "fail" and INTERN in text, text


def test_an_scp_denying_pass_role_keeps_the_passer_out(tmp_path: Path) -> None:
    fn = role("reader-fn", doc(READ), trust=trusts(service="lambda.amazonaws.com"))
    dev = user("dev", doc(allow("iam:PassRole", arn("role", "reader-fn")),
                          allow(["lambda:CreateFunction", "lambda:InvokeFunction"])))
    allowed = [arn("role", "reader-fn")]
    status, text, _ = readers([dev], [fn], allowed=allowed, tmp_path=tmp_path)
    assert status == "fail" and arn("user", "dev") in text and "iam:PassRole of role reader-fn" in text, text
    other = pol("NoPassToEc2", deny("iam:PassRole", Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}))
    status, text, _ = readers([dev], [fn], other, allowed=allowed, tmp_path=tmp_path)
    assert status == "fail" and arn("user", "dev") in text, text
    status, text, _ = readers([dev], [fn], pol("NoPass", deny("iam:PassRole")), allowed=allowed, tmp_path=tmp_path)
    assert status == "pass" and arn('user', 'dev') in kept_out(text), text


def test_an_scp_denying_the_lambda_calls_of_the_pass_role_path_keeps_the_passer_out(tmp_path: Path) -> None:
    """dev may pass role reader-fn to a new Lambda function and invoke it (PassExistingRoleToNewLambdaThenInvoke):
    the SCPs bound lambda:CreateFunction and lambda:InvokeFunction as they bound the IAM calls.  Lambda has
    Regional endpoints: a Deny in us-gov-west-1 only leaves the function to be made in us-gov-east-1."""
    fn = role("reader-fn", doc(READ), trust=trusts(service="lambda.amazonaws.com"))
    dev = user("dev", doc(allow("iam:PassRole", arn("role", "reader-fn")),
                          allow(["lambda:CreateFunction", "lambda:InvokeFunction"])))
    allowed, dev_arn = [arn("role", "reader-fn")], arn("user", "dev")
    west = pol("NoLambdaWest", deny("lambda:CreateFunction",
                                    Condition={"StringEquals": {"aws:RequestedRegion": "us-gov-west-1"}}))
    status, text, _ = readers([dev], [fn], west, allowed=allowed, tmp_path=tmp_path)
    assert status == "fail" and dev_arn in text and "PassExistingRoleToNewLambdaThenInvoke" in text, text
    for action in ("lambda:CreateFunction", "lambda:InvokeFunction"):
        status, text, _ = readers([dev], [fn], pol("NoLambda", deny(action)), allowed=allowed, tmp_path=tmp_path)
        assert status == "pass" and dev_arn in kept_out(text), (action, text)


def test_an_scp_denying_sts_assume_role_keeps_out_who_writes_a_role_it_would_assume() -> None:
    """dev may write a policy on role ops, whose trust admits it: a read granted to ops is dev's after
    sts:AssumeRole -- unless an SCP denies dev that AssumeRole."""
    ops = role("ops", trust=trusts(arn("user", "dev")))
    dev = user("dev", doc(allow("iam:PutRolePolicy", arn("role", "ops")), allow("sts:AssumeRole", arn("role", "ops"))))
    status, text, _ = readers([dev], [ops])
    assert status == "fail" and arn("user", "dev") in text and "sts:AssumeRole of role ops" in text, text
    others = pol("NoAssume", deny("sts:AssumeRole", Condition={"ArnLike": {"aws:PrincipalArn": arn("user", "ci-*")}}))
    assert readers([dev], [ops], others)[0] == "fail"
    no_assume = pol("NoAssume", deny("sts:AssumeRole", Condition={"ArnLike": {"aws:PrincipalArn": arn("user", "dev")}}))
    status, text, _ = readers([dev], [ops], no_assume)
    assert status == "pass" and arn('user', 'dev') in kept_out(text), text


# --------------------------------------------------------------------------- the final read (s04)
def test_an_scp_denying_the_read_itself_keeps_the_escalator_out() -> None:
    intern = user("intern", doc(allow("iam:PutUserPolicy", INTERN)))
    no_read = pol("NoRead", deny("secretsmanager:GetSecretValue", Sid="OnlyTheWorkload",
                                 Condition={"ArnLike": {"aws:PrincipalArn": INTERN}}))
    status, text, rec = readers([intern], (), no_read)
    assert status == "pass" and INTERN in kept_out(text), text
    # the same Deny in another Region (the read is in us-gov-west-1) does not stop it
    east = pol("NoRead", deny("secretsmanager:GetSecretValue", Condition={
        "ArnLike": {"aws:PrincipalArn": INTERN}, "StringEquals": {"aws:RequestedRegion": "us-gov-east-1"}}))
    status, text, _ = readers([intern], (), east)
    assert status == "fail" and INTERN in text, text


def test_a_read_the_scps_deny_in_one_region_counts_when_a_replica_is_open() -> None:
    intern = user("intern", doc(allow("iam:PutUserPolicy", INTERN)))
    west = pol("NoWestRead", deny("secretsmanager:GetSecretValue", Condition={
        "ArnLike": {"aws:PrincipalArn": INTERN}, "StringEquals": {"aws:RequestedRegion": "us-gov-west-1"}}))
    assert readers([intern], (), west)[0] == "pass"
    status, text, _ = readers([intern], (), west, replicas=["us-gov-east-1"])
    assert status == "fail" and INTERN in text, text


def test_taking_over_a_reader_the_scps_stop_reads_nothing(tmp_path: Path) -> None:
    bot = arn("user", "reader-bot")
    helpdesk = user("helpdesk", doc(allow(["iam:CreateAccessKey", "iam:DeleteAccessKey"], bot)))
    users = [user("reader-bot", doc(READ)), helpdesk]
    status, text, _ = readers(users, allowed=[bot], tmp_path=tmp_path)
    assert status == "fail" and arn("user", "helpdesk") in text and "iam:CreateAccessKey for user reader-bot" in text
    # the SCPs deny reader-bot the read: taking it over reads nothing (and reader-bot itself is kept out)
    bot_out = pol("NoBot", deny("secretsmanager:GetSecretValue", Condition={"ArnLike": {"aws:PrincipalArn": bot}}))
    status, text, rec = readers(users, (), bot_out, allowed=[bot], tmp_path=tmp_path)
    assert status == "pass", text
    stopped = {d["principal"] for d in said(rec) if "stopped" in d}
    assert stopped == {bot, arn("user", "helpdesk")}, said(rec)


def test_an_scp_on_the_target_users_resource_tag_is_decided_from_its_iam_tags(tmp_path: Path) -> None:
    """RR5 A4: the SCP denies iam:CreateAccessKey on users tagged protected=true; reader-bot's IAM tags decide it --
    unless helpdesk may change them itself (untag, then create the key)."""
    bot, helpdesk = arn("user", "reader-bot"), arn("user", "helpdesk")
    protect = pol("ProtectTagged", deny("iam:CreateAccessKey", Condition={"StringEquals": {"aws:ResourceTag/protected": "true"}}))
    takeover = allow(["iam:CreateAccessKey", "iam:DeleteAccessKey"], bot)
    status, text, _ = readers([user("reader-bot", doc(READ), tags={"protected": "true"}), user("helpdesk", doc(takeover))],
                              (), protect, allowed=[bot], tmp_path=tmp_path)
    assert status == "pass" and helpdesk in kept_out(text), text
    status, text, _ = readers([user("reader-bot", doc(READ)), user("helpdesk", doc(takeover))], (), protect, allowed=[bot],
                              tmp_path=tmp_path)
    assert status == "fail" and helpdesk in text, text
    may_untag = doc(takeover, allow("iam:UntagUser", bot))
    status, text, _ = readers([user("reader-bot", doc(READ), tags={"protected": "true"}), user("helpdesk", may_untag)],
                              (), protect, allowed=[bot], tmp_path=tmp_path)
    assert status != "pass" and helpdesk in text and "the caller can change its tags (iam:UntagUser on user reader-bot)" \
        in text, text


# --------------------------------------------------------------------------- aws:PrincipalTag from IAM tags (s07)
TEAM_ONLY = pol("TeamOnly", deny("secretsmanager:GetSecretValue", Sid="TeamOnly",
                                 Condition={"StringNotEquals": {"aws:PrincipalTag/team": "bedrock"}}))
# an escalator that may write itself any policy may also write itself iam:TagUser (TagRole) and tag itself (RT3 B2):
# where a test means the SCP to decide from its IAM tags, the organization also refuses tagging
NO_TAGGING = pol("NoTagging", deny(["iam:TagUser", "iam:UntagUser", "iam:TagRole", "iam:UntagRole"], Sid="NoTagging"))


def test_principal_tag_in_the_scp_is_decided_from_the_escalators_iam_tags() -> None:
    write = doc(allow("iam:PutUserPolicy", INTERN))
    status, text, _ = readers([user("intern", write, tags={"team": "bedrock"})], (), TEAM_ONLY, NO_TAGGING)
    assert status == "fail" and INTERN in text, text
    status, text, _ = readers([user("intern", write, tags={"team": "web"})], (), TEAM_ONLY, NO_TAGGING)
    assert status == "pass" and INTERN in kept_out(text), text
    status, text, _ = readers([user("intern", write)], (), TEAM_ONLY, NO_TAGGING)
    assert status == "pass" and INTERN in text, text
    # without NO_TAGGING intern writes itself TagUser, tags itself team=bedrock and reads: its tags are no fact
    status, text, _ = readers([user("intern", write, tags={"team": "web"})], (), TEAM_ONLY)
    assert status == "error" and "iam:PutUserPolicy on itself), then can change its own tags" in text, text


def test_principal_tag_in_the_scp_is_decided_for_a_direct_reader() -> None:
    status, text, _ = readers([user("intern", doc(READ), tags={"team": "bedrock"})], (), TEAM_ONLY)
    assert status == "fail" and INTERN in text, text
    status, text, _ = readers([user("intern", doc(READ))], (), TEAM_ONLY)
    assert status == "pass" and INTERN in kept_out(text), text


def test_principal_tag_of_a_role_whose_trust_allows_tag_session_stays_undecided() -> None:
    """A session of the role may carry its own team tag (sts:TagSession in its trust): the read may or may
    not pass the SCP, so the row errors naming the key -- while without TagSession the role's tag decides."""
    ops = arn("role", "ops")
    writes = doc(allow("iam:PutRolePolicy", ops))
    ci = user("ci", doc(allow("sts:AssumeRole", ops)))
    tagged = role("ops", writes, trust=trusts(arn("user", "ci"), actions=("sts:AssumeRole", "sts:TagSession")),
                  tags={"team": "web"})
    status, text, _ = readers([ci], [tagged], TEAM_ONLY, NO_TAGGING)
    assert status == "error" and ops in text and "aws:PrincipalTag/team" in text, text
    plain = role("ops", writes, trust=trusts(arn("user", "ci")), tags={"team": "web"})
    status, text, _ = readers([ci], [plain], TEAM_ONLY, NO_TAGGING)
    assert status == "pass" and ops in text, text
    status, text, _ = readers([ci], [role("ops", writes, trust=trusts(arn("user", "ci")), tags={"team": "bedrock"})],
                              TEAM_ONLY, NO_TAGGING)
    assert status == "fail" and ops in text, text


def test_a_user_that_may_tag_itself_is_counted_whatever_its_iam_tags() -> None:
    """Tags the principal can change itself (iam:TagUser / iam:UntagUser on its own ARN) are chosen by it: the
    SCP's condition on them stops nothing (RR5 B6, B8), and the detail says why."""
    may_tag = user("intern", doc(READ, allow("iam:TagUser", INTERN)), tags={"team": "web"})
    status, text, _ = readers([may_tag], (), TEAM_ONLY)
    assert status == "fail" and INTERN in text and "user intern can change its own tags (iam:TagUser on itself)" in text, text
    quarantine = pol("Quarantine", deny("secretsmanager:GetSecretValue",
                                        Condition={"StringEquals": {"aws:PrincipalTag/quarantine": "true"}}))
    untag = user("intern", doc(READ, allow("iam:UntagUser", INTERN)), tags={"quarantine": "true"})
    status, text, _ = readers([untag], (), quarantine)
    assert status == "fail" and "iam:UntagUser on itself" in text, text
    # controls: no tag permission, tag permission on another user only, or an explicit Deny of it
    for intern in (user("intern", doc(READ), tags={"team": "web"}),
                   user("intern", doc(READ, allow("iam:TagUser", arn("user", "other"))), tags={"team": "web"}),
                   user("intern", doc(READ, allow("iam:TagUser", INTERN), deny("iam:TagUser")), tags={"team": "web"})):
        status, text, _ = readers([intern], (), TEAM_ONLY)
        assert status == "pass" and INTERN in kept_out(text), text
    # the SCPs deny it the TagUser: its tags are facts again
    no_tagging = pol("NoTagging", deny(["iam:TagUser", "iam:UntagUser"]))
    status, text, _ = readers([may_tag], (), TEAM_ONLY, no_tagging)
    assert status == "pass" and INTERN in kept_out(text), text


TEAM_BEDROCK = {"StringEquals": {"aws:PrincipalTag/team": "bedrock"}}


def test_an_abac_grant_on_a_tag_the_user_may_set_itself_is_no_fact() -> None:
    """intern's own policy lets it read only while tagged team=bedrock (ABAC); it is tagged team=web but may
    iam:TagUser itself, so it may tag itself and read ("Define permissions based on attributes with ABAC
    authorization": principals must not be allowed to change their own tags).  The row cannot pass, and the
    detail says who may change the tag.  No tag condition in any SCP: the principal's own policy reads it."""
    abac = allow("secretsmanager:GetSecretValue", Condition=TEAM_BEDROCK)
    status, text, _ = readers([user("intern", doc(abac, allow("iam:TagUser", INTERN)), tags={"team": "web"})])
    assert status == "error" and INTERN in text and "aws:PrincipalTag/team" in text, text
    assert "user intern can change its own tags (iam:TagUser on itself)" in text, text
    # controls: no TagUser, TagUser on another user, an explicit Deny of it, or the SCPs denying it: team=web holds
    for intern, scps in ((user("intern", doc(abac), tags={"team": "web"}), ()),
                         (user("intern", doc(abac, allow("iam:TagUser", arn("user", "other"))), tags={"team": "web"}), ()),
                         (user("intern", doc(abac, allow("iam:TagUser", INTERN), deny("iam:TagUser")),
                               tags={"team": "web"}), ()),
                         (user("intern", doc(abac, allow("iam:TagUser", INTERN)), tags={"team": "web"}),
                          (pol("NoTagging", deny(["iam:TagUser", "iam:UntagUser"])),))):
        status, text, _ = readers([intern], (), *scps)
        assert status == "pass" and INTERN not in text.split(" (root user")[0], text
    # tagged team=bedrock, it reads whatever it may change
    status, text, _ = readers([user("intern", doc(abac), tags={"team": "bedrock"})])
    assert status == "fail" and INTERN in text, text


def test_an_abac_resource_policy_on_a_tag_the_user_may_set_itself_is_no_fact() -> None:
    """The secret's resource policy (not the user's identity policy) grants intern the read while tagged
    team=bedrock: the same, since the resource policy is evaluated with intern's tags too."""
    import json

    class WithPolicy(Inv):
        def secret_resource_policy(self) -> Any:
            return json.dumps(doc({"Effect": "Allow", "Principal": {"AWS": INTERN},
                                   "Action": "secretsmanager:GetSecretValue", "Resource": "*",
                                   "Condition": TEAM_BEDROCK}))

    def run_with(*policies: dict[str, Any]) -> tuple[str, str, Any]:
        gaad = {"UserDetailList": [user("intern", *policies, tags={"team": "web"})], "RoleDetailList": [
            role("auditor", doc(allow("secretsmanager:GetSecretValue")), trust=trusts(f"{G}:iam::{GOV}:root"))],
            "GroupDetailList": [], "Policies": []}
        return run(readers_restricted, secret(kms_key_id=None, arn=SECRET), WithPolicy(gaad, org()), config(), NOW)
    status, text, _ = run_with(doc(allow("iam:TagUser", INTERN)))
    assert status == "error" and "user intern can change its own tags (iam:TagUser on itself)" in text, text
    status, text, _ = run_with(doc(allow("iam:ListUsers")))
    assert status == "pass" and INTERN not in text.split(" (root user")[0], text


def test_a_deny_on_a_tag_the_user_may_remove_itself_is_no_fact() -> None:
    """The mirror: intern's own Deny stops it while tagged quarantine=true, but it may iam:UntagUser itself."""
    quarantined = deny("secretsmanager:GetSecretValue", Condition={"StringEquals": {"aws:PrincipalTag/quarantine": "true"}})
    status, text, _ = readers([user("intern", doc(READ, quarantined, allow("iam:UntagUser", INTERN)),
                                    tags={"quarantine": "true"})])
    assert status == "error" and "user intern can change its own tags (iam:UntagUser on itself)" in text, text
    status, text, _ = readers([user("intern", doc(READ, quarantined), tags={"quarantine": "true"})])
    assert status == "pass" and INTERN not in text.split(" (root user")[0], text


def test_a_role_its_assumer_may_tag_is_counted_whatever_its_iam_tags() -> None:
    """ci can assume ops and iam:TagRole it: ops's team tag is ci's choice (RR5 B7)."""
    ops, ci = arn("role", "ops"), arn("user", "ci")
    reads = role("ops", doc(READ), trust=trusts(ci), tags={"team": "web"})
    status, text, _ = readers([user("ci", doc(allow("sts:AssumeRole", ops), allow("iam:TagRole", ops)))], [reads],
                              TEAM_ONLY)
    assert status == "fail" and ops in text and ci in text, text
    assert "user ci, which can assume role ops, can change its tags (iam:TagRole on role ops)" in text, text
    # the role tagging itself
    self_tag = role("ops", doc(READ, allow("iam:TagRole", ops)), trust=trusts(ci), tags={"team": "web"})
    status, text, _ = readers([user("ci", doc(allow("sts:AssumeRole", ops)))], [self_tag], TEAM_ONLY)
    assert status == "fail" and "role ops can change its own tags (iam:TagRole on itself)" in text, text
    # controls: ci cannot tag ops; a user that may tag ops but cannot assume it
    status, text, _ = readers([user("ci", doc(allow("sts:AssumeRole", ops)))], [reads], TEAM_ONLY)
    assert status == "pass" and ops in kept_out(text), text
    status, text, _ = readers([user("ci", doc(allow("sts:AssumeRole", ops))),
                               user("tagger", doc(allow("iam:TagRole", ops)))], [reads], TEAM_ONLY)
    assert status == "pass" and ops in kept_out(text), text


def test_an_escalator_that_may_tag_itself_is_not_kept_out_by_a_tag_condition() -> None:
    """The SCP bounds the escalation's final read by the escalator's tags: one it may change decides nothing."""
    write = doc(allow("iam:PutUserPolicy", INTERN), allow("iam:TagUser", INTERN))
    status, text, _ = readers([user("intern", write, tags={"team": "web"})], (), TEAM_ONLY)
    assert status != "pass" and INTERN in text and "can change its own tags" in text, text


def test_a_role_whose_sessions_cannot_override_the_tag_keeps_it() -> None:
    """sts:TagSession in the trust is no unknown when no session can carry another value of the key the SCP reads:
    the trust allows it only with aws:RequestTag/team = web (RR5 B1d), or the one caller (trusted through the
    account) lacks sts:TagSession in its own policies (RR5 B1e); an outside account in the trust may tag."""
    ops, ci = arn("role", "ops"), arn("user", "ci")
    writes = doc(allow("iam:PutRolePolicy", ops))
    only_web = doc({"Effect": "Allow", "Principal": {"AWS": ci}, "Action": ["sts:AssumeRole"]},
                   {"Effect": "Allow", "Principal": {"AWS": ci}, "Action": ["sts:TagSession"],
                    "Condition": {"StringEquals": {"aws:RequestTag/team": "web"}}})
    ci_user = user("ci", doc(allow(["sts:AssumeRole", "sts:TagSession"], ops)))
    status, text, _ = readers([ci_user], [role("ops", writes, trust=only_web, tags={"team": "web"})], TEAM_ONLY, NO_TAGGING)
    assert status == "pass" and ops in kept_out(text), text
    any_tag = doc({"Effect": "Allow", "Principal": {"AWS": ci}, "Action": ["sts:AssumeRole", "sts:TagSession"]})
    status, text, _ = readers([ci_user], [role("ops", writes, trust=any_tag, tags={"team": "web"})], TEAM_ONLY, NO_TAGGING)
    assert status == "error" and "user ci can assume role ops with the session tag team=bedrock" in text, text
    # trusted through the account: ci's own policies must allow sts:TagSession too
    root = trusts(f"{G}:iam::{GOV}:root", actions=("sts:AssumeRole", "sts:TagSession"))
    no_tag = user("ci", doc(allow("sts:AssumeRole", ops)))
    status, text, _ = readers([no_tag], [role("ops", writes, trust=root, tags={"team": "web"})], TEAM_ONLY, NO_TAGGING)
    assert status == "pass" and ops in kept_out(text), text
    status, text, _ = readers([ci_user], [role("ops", writes, trust=root, tags={"team": "web"})], TEAM_ONLY, NO_TAGGING)
    assert status == "error" and "aws:PrincipalTag/team" in text, text
    outside = trusts("arn:aws-us-gov:iam::111122223333:root", actions=("sts:AssumeRole", "sts:TagSession"))
    status, text, _ = readers([no_tag], [role("ops", writes, trust=outside, tags={"team": "web"})], TEAM_ONLY, NO_TAGGING)
    assert status != "pass" and "outside account" in text, text


# --------------------------------------------------------------------------- role chains
def test_who_reads_only_as_a_role_is_stopped_with_it_or_by_its_sts_assume_role(tmp_path: Path) -> None:
    reader, ci = arn("role", "reader"), arn("user", "ci")
    roles = [role("reader", doc(READ), trust=trusts(ci))]
    users = [user("ci", doc(allow("sts:AssumeRole", reader)))]
    status, text, _ = readers(users, roles, allowed=[reader], tmp_path=tmp_path)
    assert status == "fail" and ci in text and "can assume role reader" in text, text
    # the SCPs stop the role's read: whoever assumes it reads nothing through it
    no_role = pol("NoRole", deny("secretsmanager:GetSecretValue", Condition={"ArnLike": {"aws:PrincipalArn": reader}}))
    status, text, rec = readers(users, roles, no_role, allowed=[reader], tmp_path=tmp_path)
    assert status == "pass" and {reader, ci} <= set(kept_out(text)), text
    assert any(d["principal"] == ci and "only as role" in d["stopped"] for d in said(rec))
    # the SCPs deny ci the AssumeRole (of that role and of any other): ci is out, the role still reads
    no_assume = pol("NoAssume", deny("sts:AssumeRole", Sid="NoAssumeForCi", Condition={"ArnLike": {"aws:PrincipalArn": ci}}))
    status, text, rec = readers(users, roles, no_assume, allowed=[reader], tmp_path=tmp_path)
    assert status == "pass" and kept_out(text) == [ci], text
    # denied the AssumeRole of another role only: ci may still assume this one
    elsewhere = pol("NoAssume", deny("sts:AssumeRole", arn("role", "admin"), Condition={"ArnLike": {"aws:PrincipalArn": ci}}))
    status, text, _ = readers(users, roles, elsewhere, allowed=[reader], tmp_path=tmp_path)
    assert status == "fail" and ci in text, text


def test_the_fail_detail_names_who_the_scps_keep_out_too() -> None:
    bystander, intern = arn("user", "bystander"), INTERN
    no_write = pol("NoWrites", deny("iam:PutUserPolicy", Condition={"ArnLike": {"aws:PrincipalArn": intern}}))
    users = [user("intern", doc(allow("iam:PutUserPolicy", intern))), user("bystander", doc(READ))]
    status, text, _ = readers(users, (), no_write)
    assert status == "fail" and bystander in text.split("; kept out by")[0], text
    assert kept_out(text) == [intern], text


# --------------------------------------------------------------------------- STS: any Region's endpoint
def test_an_sts_deny_in_one_govcloud_region_leaves_the_other_endpoint() -> None:
    """sts:AssumeRole may be sent to us-gov-east-1's endpoint as well as us-gov-west-1's (IAM User Guide, "Manage
    AWS STS in an AWS Region": aws:RequestedRegion is the endpoint's Region): a Deny in one keeps no one out."""
    ops = role("ops", trust=trusts(arn("user", "dev")))
    dev = user("dev", doc(allow("iam:PutRolePolicy", arn("role", "ops")), allow("sts:AssumeRole", arn("role", "ops"))))

    def no_assume(condition: dict[str, Any]) -> OrgPolicy:
        return pol("NoAssume", deny("sts:AssumeRole", Condition={"ArnLike": {"aws:PrincipalArn": arn("user", "dev")},
                                                                 **condition}))
    status, text, _ = readers([dev], [ops], no_assume({"StringEquals": {"aws:RequestedRegion": "us-gov-west-1"}}))
    assert status == "fail" and arn("user", "dev") in text, text
    # a Region lock allowing only us-gov-west-1: the AssumeRole is permitted there
    status, text, _ = readers([dev], [ops], no_assume({"StringNotEquals": {"aws:RequestedRegion": ["us-gov-west-1"]}}))
    assert status == "fail" and arn("user", "dev") in text, text
    # denied in both GovCloud Regions: kept out
    status, text, _ = readers([dev], [ops], no_assume({"StringEquals": {"aws:RequestedRegion": ["us-gov-west-1",
                                                                                                "us-gov-east-1"]}}))
    assert status == "pass" and arn("user", "dev") in kept_out(text), text


def test_a_role_chain_survives_an_sts_deny_in_us_gov_west_1_only(tmp_path: Path) -> None:
    reader, ci = arn("role", "reader"), arn("user", "ci")
    roles = [role("reader", doc(READ), trust=trusts(ci))]
    users = [user("ci", doc(allow("sts:AssumeRole", reader)))]
    west = pol("NoAssume", deny("sts:AssumeRole", Condition={"ArnLike": {"aws:PrincipalArn": ci},
                                                             "StringEquals": {"aws:RequestedRegion": "us-gov-west-1"}}))
    status, text, _ = readers(users, roles, west, allowed=[reader], tmp_path=tmp_path)
    assert status == "fail" and ci in text, text
    everywhere = pol("NoAssume", deny("sts:AssumeRole", Condition={"ArnLike": {"aws:PrincipalArn": ci},
                                                                   "StringLike": {"aws:RequestedRegion": "us-gov-*"}}))
    status, text, _ = readers(users, roles, everywhere, allowed=[reader], tmp_path=tmp_path)
    assert status == "pass" and kept_out(text) == [ci], text


@pytest.mark.parametrize("condition, key", [({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
                                              "aws:MultiFactorAuthPresent"),
                                             ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, "aws:SourceIp"),
                                             ({"StringNotEquals": {"aws:SourceVpc": "vpc-1"}}, "aws:SourceVpc")])
def test_an_sts_deny_on_a_key_the_audit_cannot_know_leaves_the_assumer_a_possible_reader(
        tmp_path: Path, condition: dict[str, Any], key: str) -> None:
    """The SCP denies ci the AssumeRole unless MFA / the office network / the VPC: whether its request carries that
    is unknown, so ci *may* read (error naming the key and the SCP), neither certainly (fail) nor kept out (pass)."""
    reader, ci = arn("role", "reader"), arn("user", "ci")
    roles = [role("reader", doc(READ), trust=trusts(ci))]
    users = [user("ci", doc(allow("sts:AssumeRole", reader)))]
    gate = pol("Gate", deny("sts:AssumeRole", Sid="OnlyWith", Condition={"ArnLike": {"aws:PrincipalArn": ci},
                                                                       **condition}))
    status, text, rec = readers(users, roles, gate, allowed=[reader], tmp_path=tmp_path)
    assert status == "error" and f"user {ci} may read it" in text and key in text and "SCP Gate" in text, text
    assert any(d["principal"] == ci and "undecided (may read)" in d for d in said(rec)), said(rec)
    # a certain reader outside the allowed list still fails the row
    status, text, _ = readers([*users, user("bystander", doc(READ))], roles, gate, allowed=[reader], tmp_path=tmp_path)
    assert status == "fail" and arn("user", "bystander") in text, text


def test_the_scps_and_the_assumers_policies_are_asked_in_the_same_govcloud_region(tmp_path: Path) -> None:
    """ci may assume the reader role only at us-gov-west-1's endpoint (its identity policy; the trust names the
    account); the SCPs permit its AssumeRole only at us-gov-east-1's.  AWS evaluates both in the one Region the
    caller picks: no Region lets it through (IAM User Guide, "Policy evaluation logic")."""
    reader, ci = arn("role", "reader"), arn("user", "ci")
    roles = [role("reader", doc(READ), trust=trusts(f"{G}:iam::{GOV}:root"))]

    def ci_in(regions: list[str]) -> list[dict[str, Any]]:
        return [user("ci", doc(allow("sts:AssumeRole", reader, Condition={"StringEquals": {"aws:RequestedRegion": regions}})))]
    east_only = pol("EastOnly", deny("sts:AssumeRole", Sid="EastOnly", Condition={
        "ArnLike": {"aws:PrincipalArn": ci}, "StringNotEquals": {"aws:RequestedRegion": ["us-gov-east-1"]}}))
    status, text, _ = readers(ci_in(["us-gov-west-1"]), roles, east_only, allowed=[reader], tmp_path=tmp_path)
    assert status == "pass" and ci in kept_out(text), text
    status, text, _ = readers(ci_in(["us-gov-west-1", "us-gov-east-1"]), roles, east_only, allowed=[reader],
                              tmp_path=tmp_path)
    assert status == "fail" and ci in text, text


# --------------------------------------------------------------------------- RT: tags a third party changes as it acts
ABAC_READ = allow("secretsmanager:GetSecretValue", Condition=TEAM_BEDROCK)


@pytest.mark.parametrize("takeover", ["iam:CreateAccessKey", "iam:UpdateLoginProfile"])
def test_a_third_party_that_may_tag_the_reader_and_take_it_over(takeover: str) -> None:
    """RT R09c: tagger may iam:TagUser intern (team=web) and take it over: it tags intern team=bedrock, then reads as
    intern (proven with --enforce-iam: tests/emulator/test_enforce_iam.py).  Not a pass; the detail names tagger.
    Controls: tagging alone, or the takeover alone (intern's tag stays web, which reads nothing)."""
    facts = {INTERN: UserFacts(0, True)}
    status, text, _ = readers([user("intern", doc(ABAC_READ), tags={"team": "web"}),
                               user("tagger", doc(allow(["iam:TagUser", takeover], INTERN)))], facts=facts)
    assert status in ("fail", "error") and "user tagger can act as user intern" in text, text
    for only in ("iam:TagUser", takeover):
        status, text, _ = readers([user("intern", doc(ABAC_READ), tags={"team": "web"}),
                                   user("tagger", doc(allow(only, INTERN)))], facts=facts)
        assert status == "pass" and INTERN not in text.split(" (root user")[0], text


@pytest.mark.parametrize("tag_stmt, want", [
    (allow("iam:TagUser", INTERN, Condition={"StringEquals": {"aws:RequestTag/team": "web"}}), "pass"),  # RT R03
    (allow("iam:TagUser", INTERN, Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["costcenter"]}}), "pass"),  # R04
    (allow("iam:TagUser", INTERN, Condition={"StringEquals": {"aws:RequestTag/team": "bedrock"}}), "error"),  # R05
    (allow("iam:TagUser", INTERN, Condition={"StringLike": {"aws:RequestTag/team": "bed*"}}), "error"),  # R05b
])
def test_a_self_tag_limited_by_request_keys_is_judged_by_them(tag_stmt: dict[str, Any], want: str) -> None:
    """The IAM User Guide's pattern: intern may tag itself, but only with a value or key the ABAC grant does not
    need -- no request gives it team=bedrock, so it reads nothing; one that can, may read."""
    status, text, _ = readers([user("intern", doc(ABAC_READ, tag_stmt), tags={"team": "web"})])
    assert status == want, text
    if want == "error":
        assert "user intern " in text and "change its own tags (iam:TagUser on itself)" in text, text


def test_a_deny_of_the_tag_key_must_ignore_case() -> None:
    """RT R05d/R12b: a Deny of TagUser when aws:TagKeys has team, by StringEquals, lets the key TEAM through, and IAM
    user tag keys are not case sensitive (IAM User Guide, "Tagging IAM resources": Department and department are
    one key): TEAM=bedrock overwrites team.  Not a pass.  By StringEqualsIgnoreCase every spelling is denied: pass.
    Both in the user's own policy and in an SCP."""
    open_tag = allow("iam:TagUser", INTERN)
    for op, want in (("ForAnyValue:StringEquals", "error"), ("ForAnyValue:StringEqualsIgnoreCase", "pass")):
        no_team = deny("iam:TagUser", Condition={op: {"aws:TagKeys": ["team"]}})
        status, text, _ = readers([user("intern", doc(ABAC_READ, open_tag, no_team), tags={"team": "web"})])
        assert status == want, (op, text)
        if want == "error":
            assert "aws:TagKeys ['TEAM']" in text, text
        status, text, _ = readers([user("intern", doc(ABAC_READ, open_tag), tags={"team": "web"})],
                                  (), pol("NoTeamTag", no_team))
        assert status == want, (op, text)


# --------------------------------------------------------------------------- tag keys without case (TC)
def test_an_scp_on_principal_tag_TEAM_reads_the_users_team_tag() -> None:
    """The SCP spells the key aws:PrincipalTag/TEAM, the user carries team: one key ("IAM JSON policy elements:
    Condition": key names are not case-sensitive; "Tags for AWS Identity and Access Management resources": a
    user's tag keys are not case sensitive).  Read as absent, StringNotEquals would deny everyone and the row
    would PASS with intern a reader -- the false pass.  Control: team=web is kept out."""
    team_only = pol("TeamOnly", deny("secretsmanager:GetSecretValue", Sid="TeamOnly",
                                     Condition={"StringNotEquals": {"aws:PrincipalTag/TEAM": "bedrock"}}))
    status, text, _ = readers([user("intern", doc(READ), tags={"team": "bedrock"})], (), team_only, NO_TAGGING)
    assert status == "fail" and INTERN in text, text
    status, text, _ = readers([user("intern", doc(READ), tags={"team": "web"})], (), team_only, NO_TAGGING)
    assert status == "pass" and INTERN in kept_out(text), text
    # an escalator's step (PutUserPolicy on itself) is bounded with the same tags
    write = doc(allow("iam:PutUserPolicy", INTERN))
    status, text, _ = readers([user("intern", write, tags={"Team": "bedrock"})], (), team_only, NO_TAGGING)
    assert status == "fail" and INTERN in text, text
    status, text, _ = readers([user("intern", write, tags={"Team": "web"})], (), team_only, NO_TAGGING)
    assert status == "pass" and INTERN in kept_out(text), text


def test_an_scp_on_the_target_users_resource_tag_reads_it_without_case(tmp_path: Path) -> None:
    """The SCP denies iam:CreateAccessKey on users whose Protected tag is true; reader-bot carries protected=true,
    so helpdesk's takeover is stopped.  Control: reader-bot untagged, helpdesk is a reader (fail)."""
    bot, helpdesk = arn("user", "reader-bot"), arn("user", "helpdesk")
    protect = pol("ProtectTagged", deny("iam:CreateAccessKey",
                                        Condition={"StringEquals": {"aws:ResourceTag/Protected": "true"}}))
    takeover = allow(["iam:CreateAccessKey", "iam:DeleteAccessKey"], bot)
    status, text, _ = readers([user("reader-bot", doc(READ), tags={"protected": "true"}), user("helpdesk", doc(takeover))],
                              (), protect, allowed=[bot], tmp_path=tmp_path)
    assert status == "pass" and helpdesk in kept_out(text), text
    status, text, _ = readers([user("reader-bot", doc(READ), tags={"protected": "false"}),
                               user("helpdesk", doc(takeover))], (), protect, allowed=[bot], tmp_path=tmp_path)
    assert status == "fail" and helpdesk in text, text


def test_a_trust_refusing_one_spelling_of_the_session_tag_leaves_another_open() -> None:
    """ops's trust lets ci tag its session but denies the session tag key team by a case-sensitive StringEquals:
    TEAM=bedrock still passes and becomes aws:PrincipalTag/team, so the SCP on it is undecided and the row errors.
    Control: StringEqualsIgnoreCase denies every spelling -- ops's own team=web then holds and it is kept out."""
    ops = arn("role", "ops")
    writes = doc(allow("iam:PutRolePolicy", ops))
    ci = user("ci", doc(allow(["sts:AssumeRole", "sts:TagSession"], ops)))

    def trust(op: str) -> dict[str, Any]:
        return doc({"Effect": "Allow", "Principal": {"AWS": arn("user", "ci")}, "Action": ["sts:AssumeRole", "sts:TagSession"]},
                   {"Effect": "Deny", "Principal": {"AWS": arn("user", "ci")}, "Action": "sts:TagSession",
                    "Condition": {f"ForAnyValue:{op}": {"aws:TagKeys": ["team"]}}})
    status, text, _ = readers([ci], [role("ops", writes, trust=trust("StringEquals"), tags={"team": "web"})], TEAM_ONLY, NO_TAGGING)
    assert status == "error" and ops in text and "aws:PrincipalTag/team" in text, text
    status, text, _ = readers([ci], [role("ops", writes, trust=trust("StringEqualsIgnoreCase"), tags={"team": "web"})],
                              TEAM_ONLY, NO_TAGGING)
    assert status == "pass" and ops in text, text


# --------------------------------------------------------------------------- RT2: tags changed through another, facts
OPSROLE = arn("role", "opsrole")


@pytest.mark.parametrize("where", ["own policy", "scp"])
def test_a_reader_that_tags_itself_through_a_role_it_assumes(where: str) -> None:
    """RT2 A17/K05d: intern (team=web) reads only as team=bedrock -- by its own ABAC grant, or by an SCP denying
    the read to it unless team=bedrock --, and may assume opsrole, which may iam:TagUser intern: it tags itself
    team=bedrock through opsrole and reads (proven with --enforce-iam: tests/emulator/test_enforce_iam.py).  Not a
    pass, and not "kept out by the organization's SCPs/RCPs"; the detail names opsrole.  Control: opsrole trusts
    nobody here."""
    gate = pol("OnlyBedrockTeam", deny("secretsmanager:GetSecretValue", Condition={
        "StringNotEquals": {"aws:PrincipalTag/team": "bedrock"}, "ArnLike": {"aws:PrincipalArn": INTERN}}))
    read = ABAC_READ if where == "own policy" else READ
    for trusted, want in ((INTERN, ("fail", "error")), (arn("user", "nobody"), ("pass",))):
        status, text, _ = readers([user("intern", doc(read, allow("sts:AssumeRole", OPSROLE)), tags={"team": "web"})],
                                  [role("opsrole", doc(allow("iam:TagUser", INTERN)), trust=trusts(trusted))],
                                  *((gate,) if where == "scp" else ()))
        assert status in want, (trusted, text)
        if status != "pass":
            assert "user intern can act as role opsrole" in text and "kept out by" not in text, text
        elif where == "scp":
            assert kept_out(text) == [INTERN], text


@pytest.mark.parametrize(("takeover", "blocks", "opens"), [
    ("iam:CreateAccessKey", UserFacts(2, False), UserFacts(1, False)),
    ("iam:CreateLoginProfile", UserFacts(0, True), UserFacts(0, False)),
    ("iam:UpdateLoginProfile", UserFacts(0, False), UserFacts(0, True)),
])
def test_a_takeover_that_fails_on_what_the_reader_holds_leaves_its_tags_facts(
        takeover: str, blocks: UserFacts, opens: UserFacts) -> None:
    """RT2 A01b/A02b/A03b: tagger may tag intern and take it over only by a call that fails on what intern holds
    (two access keys: LimitExceeded; a password: CreateLoginProfile EntityAlreadyExists; none: UpdateLoginProfile
    NoSuchEntity -- IAM User Guide, "IAM and AWS STS quotas"; IAM API Reference): intern's tags stay facts (pass).
    Control: what intern holds lets the takeover through."""
    users = [user("intern", doc(ABAC_READ), tags={"team": "web"}),
             user("tagger", doc(allow(["iam:TagUser", takeover], INTERN)))]
    status, text, rec = readers(users, facts={INTERN: blocks})
    assert status == "pass", text
    assert any(e["source"].startswith("iam:ListAccessKeys+GetLoginProfile (who may change tags)") for e in rec.evidence)
    status, text, _ = readers(users, facts={INTERN: opens})
    assert status in ("fail", "error") and "user tagger can act as user intern" in text, text


@pytest.mark.parametrize(("trust_actions", "assumer_extra", "want"), [
    (("sts:AssumeRole",), (), "pass"),  # RT2 S00/A04b: no session tag, nobody may tag the role
    (("sts:AssumeRole", "sts:TagSession"), (), "error"),  # S03b: a session may carry team=bedrock
    (("sts:AssumeRole",), ("iam:TagRole",), "error"),  # A04: the assumer may tag the role, then act as it
])
def test_a_roles_own_abac_grant_reads_its_iam_tags_when_no_one_may_change_them(
        trust_actions: tuple[str, ...], assumer_extra: tuple[str, ...], want: str) -> None:
    """RT2 BUG-5: abacrole (team=web) reads only as team=bedrock by its own policy.  Its tags are facts unless its
    trust allows sts:TagSession (IAM User Guide, "Passing session tags in AWS STS") or someone who can act as it
    may TagRole it -- the rule the SCP/RCP path uses, now on the identity-policy path too."""
    abacrole = arn("role", "abacrole")
    status, text, _ = readers(
        [user("assumer", doc(allow(["sts:AssumeRole", "sts:TagSession", *assumer_extra], abacrole)))],
        [role("abacrole", doc(ABAC_READ), trust=trusts(arn("user", "assumer"), actions=trust_actions),
              tags={"team": "web"})])
    assert status == want, text
    if want == "pass":
        assert abacrole not in text.split(" (root user")[0], text
    else:
        assert "role abacrole" in text and "aws:PrincipalTag/team" in text, text
    # control: tagged team=bedrock, the role reads, whoever may change its tags
    status, text, _ = readers(
        [user("assumer", doc(allow(["sts:AssumeRole", "sts:TagSession", *assumer_extra], abacrole)))],
        [role("abacrole", doc(ABAC_READ), trust=trusts(arn("user", "assumer"), actions=trust_actions),
              tags={"team": "bedrock"})])
    assert status in ("fail", "error") and abacrole in text, text


@pytest.mark.parametrize(("tag_stmt", "want"), [
    (allow("iam:TagUser", INTERN, Condition={"StringEquals": {"aws:RequestTag/team": ["web", "dev"]}}), "pass"),  # C04
    (allow("iam:TagUser", INTERN, Condition={"StringEquals": {"aws:RequestTag/team": ["web", "bedrock"]}}), "error"),
    (allow("iam:TagUser", INTERN, Condition={"StringNotEquals": {"aws:RequestTag/team": "bedrock"}}), "pass"),  # C13
    (allow("iam:TagUser", INTERN, Condition={"StringEquals": {"aws:RequestTag/team": "BEDROCK"}}), "pass"),  # C10b
    (allow("iam:TagUser", INTERN, Condition={"StringEqualsIgnoreCase": {"aws:RequestTag/team": "BEDROCK"}}), "error"),
    (allow("iam:TagUser", INTERN, Condition={"StringLike": {"aws:RequestTag/team": "web*"}}), "pass"),  # C14
    (allow("iam:TagUser", INTERN, Condition={"ForAllValues:StringLike": {"aws:TagKeys": ["cost*"]}}), "pass"),  # C03
    (allow("iam:TagUser", INTERN, Condition={"ForAllValues:StringLike": {"aws:TagKeys": ["t*"]}}), "error"),
])
def test_a_self_tag_counts_only_with_a_value_the_grant_needs(tag_stmt: dict[str, Any], want: str) -> None:
    """RT2 BUG-4 on the row: intern (team=web) may tag itself only with values or keys that leave its ABAC read
    (team=bedrock) false: pass; the controls let it set team=bedrock (in some spelling or case the grant accepts)."""
    status, text, _ = readers([user("intern", doc(ABAC_READ, tag_stmt), tags={"team": "web"})])
    assert status == want, text
    if want == "error":
        assert "change its own tags (iam:TagUser on itself)" in text, text


def test_two_tags_needed_and_only_one_may_be_set() -> None:
    """RT2 C16: the read needs team=bedrock and env=prod; intern may tag only team and has no env: pass.  Control
    (C16b): env=prod is there -- error, the env key said to be unknown with the rest, not set by the team request."""
    both = allow("secretsmanager:GetSecretValue", Condition={"StringEquals": {"aws:PrincipalTag/team": "bedrock",
                                                                              "aws:PrincipalTag/env": "prod"}})
    only_team = allow("iam:TagUser", INTERN, Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}})
    status, text, _ = readers([user("intern", doc(both, only_team), tags={"team": "web"})])
    assert status == "pass", text
    status, text, _ = readers([user("intern", doc(both, only_team), tags={"team": "web", "env": "prod"})])
    assert status == "error", text
    assert "aws:RequestTag/team bedrock" in text and "aws:PrincipalTag/env (its tags are taken as unknown" in text, text


def test_a_tag_a_trust_policy_reads_counts_with_the_values_it_names(tmp_path: Path) -> None:
    """A role's trust policy that admits intern only while intern is tagged team=ops decides who assumes a reading
    role: intern may tag itself only team=ops (harmless to its own read, which needs team=bedrock) -- yet that value
    lets it assume the role and read.  The trust's condition is read with the others: not a pass.  Control: the
    trust wants team=bedrock, which intern may not set (pass)."""
    tag_ops = allow("iam:TagUser", INTERN, Condition={"StringEquals": {"aws:RequestTag/team": "ops"}})
    for wanted, want in (("ops", ("fail", "error")), ("bedrock", ("pass",))):
        trust = doc({"Effect": "Allow", "Principal": {"AWS": INTERN}, "Action": "sts:AssumeRole",
                     "Condition": {"StringEquals": {"aws:PrincipalTag/team": wanted}}})
        status, text, _ = readers([user("intern", doc(ABAC_READ, tag_ops, allow("sts:AssumeRole", arn("role", "r"))),
                                        tags={"team": "web"})],
                                  [role("r", doc(READ), trust=trust)], allowed=[arn("role", "r")], tmp_path=tmp_path)
        assert status in want, (wanted, text)


@pytest.mark.parametrize(("asker_policy", "want"), [
    ("tag-self", ("fail", "error")), ("untag-self", ("fail", "error")), ("none", ("pass",))])
def test_a_trust_reading_the_callers_tag_counts_a_caller_that_may_change_it(asker_policy: str, want: tuple[str, ...],
                                                                             tmp_path: Path) -> None:
    """A reading role's trust admits the account only while the caller is tagged team=bedrock (or denies one tagged
    blocked=true): asker, tagged team=web and blocked=true, has no ABAC grant of its own -- only the trust reads its
    tags.  With TagUser (UntagUser) on itself it tags itself team=bedrock (removes blocked) and assumes the role:
    its tags are no fact (RT3 T04b, T04h; "Define permissions based on attributes with ABAC authorization").
    Control: asker may not change its tags (pass)."""
    asker = arn("user", "asker")
    tagging = {"tag-self": [allow("iam:TagUser", asker)], "untag-self": [allow("iam:UntagUser", asker)],
               "none": []}[asker_policy]
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"{G}:iam::{GOV}:root"}, "Action": "sts:AssumeRole",
                 "Condition": {"StringEquals": {"aws:PrincipalTag/team": "bedrock"}}} if asker_policy != "untag-self"
                else {"Effect": "Allow", "Principal": {"AWS": f"{G}:iam::{GOV}:root"}, "Action": "sts:AssumeRole"},
                {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
                 "Condition": {"StringEquals": {"aws:PrincipalTag/blocked": "true"}}})
    tags = {"team": "web", "blocked": "true"} if asker_policy != "tag-self" else {"team": "web"}
    status, text, _ = readers([user("asker", doc(allow("sts:AssumeRole", arn("role", "r")), *tagging), tags=tags)],
                              [role("r", doc(READ), trust=trust)], allowed=[arn("role", "r")], tmp_path=tmp_path)
    assert status in want, text
    if status != "pass":
        assert "asker" in text, text


@pytest.mark.parametrize(("lift", "want"), [(True, ("fail", "error")), (False, ("pass",))])
def test_a_reader_that_may_first_lift_its_tagging_deny_may_change_its_tags(lift: bool, want: tuple[str, ...],
                                                                          tmp_path: Path) -> None:
    """intern reads only tagged team=bedrock; an Allow of TagUser on itself is cancelled by a Deny in its inline
    policy p1, which intern may delete (iam:DeleteUserPolicy on itself): one step gives it TagUser, then it tags
    itself and reads (RT3 B2: the escalation search's one step counts for who may change tags).  Control: no
    DeleteUserPolicy -- the Deny holds (pass)."""
    own = doc(ABAC_READ, allow("iam:TagUser", INTERN), *([allow("iam:DeleteUserPolicy", INTERN)] if lift else []))
    status, text, _ = readers([user("intern", own, doc(deny("iam:TagUser", INTERN)), tags={"team": "web"})],
                              tmp_path=tmp_path)
    assert status in want, text
    if lift:
        assert "iam:DeleteUserPolicy of inline policy p1 of itself" in text, text


@pytest.mark.parametrize(("gate", "want"), [("bedrock", ("fail", "error")), ("ops", ("pass",))])
def test_a_takeover_the_tagger_opens_by_tagging_makes_the_tags_no_fact(gate: str, want: tuple[str, ...],
                                                                      tmp_path: Path) -> None:
    """tagger may tag intern only team=bedrock, and CreateAccessKey on intern only while intern's
    iam:ResourceTag/team is ``gate``: with bedrock it tags, the gate opens, it takes intern over and reads as it
    (RT3 B4: T18).  Control: the gate wants ops, a value tagger may not set -- intern (team=web) stays out."""
    tagger = doc(allow("iam:TagUser", INTERN, Condition={"StringEquals": {"aws:RequestTag/team": "bedrock"},
                                                         "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}),
                 allow("iam:CreateAccessKey", INTERN, Condition={"StringEquals": {"iam:ResourceTag/team": gate}}))
    status, text, _ = readers([user("intern", doc(ABAC_READ), tags={"team": "web"}), user("tagger", tagger)],
                              tmp_path=tmp_path, facts={INTERN: UserFacts(0, False)})
    assert status in want, text
    if status != "pass":
        assert "iam:TagUser of team=bedrock on user intern, then iam:CreateAccessKey" in text, text
