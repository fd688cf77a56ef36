"""secret.readers_restricted under the GovCloud account's SCPs, for the one-call paths on the secret's KMS key
(bedrock_key_audit/escalation_resource.py), on hand-built snapshots with a customer managed key (and a replica
under its own key in us-gov-east-1):

* a call the SCPs deny in the primary's Region only is made on the replica's key in its own Region;
* the grant to a role the principal assumes is bounded at each step (sts:AssumeRole, the role's read);
* an EncryptionContextEquals grant needs the version id: ListSecrets returns it, and the SCPs bound the calls
  that learn it.

Each case also runs with an SCP (or none) that leaves the path open, which must leave the principal a reader."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from bedrock_key_audit.inventory.models import Replica
from bedrock_key_audit.org_policies import OrgPolicy
from bedrock_key_audit.verdicts.access import readers_restricted
from tests.org.test_org_readers_escalation import (
    AUDITOR, G, GOV, INTERN, SECRET, Inv, arn, kept_out, org, pol, role, said, trusts, user)
from tests.policy_docs import allow, deny, doc
from tests.unit.helpers import NOW, config, run, secret

WEST, EAST = "us-gov-west-1", "us-gov-east-1"
KEY = f"{G}:kms:{WEST}:{GOV}:key/1111aaaa-0000-0000-0000-000000000000"
EAST_KEY = f"{G}:kms:{EAST}:{GOV}:key/2222bbbb-0000-0000-0000-000000000000"
ROOT_DELEGATION = doc({"Effect": "Allow", "Principal": {"AWS": f"{G}:iam::{GOV}:root"}, "Action": "kms:*",
                       "Resource": "*"})
ANY_COPY = f"{G}:secretsmanager:*:{GOV}:secret:bedrock/api-key*"


@dataclasses.dataclass
class KeyInv(Inv):
    """:class:`Inv` with the secret under a customer managed key (each Region's own), delegating to IAM."""

    def kms_key(self, partition: str, kms_id: str, region: str) -> dict[str, Any]:
        return {"Arn": kms_id, "KeyManager": "CUSTOMER"}

    def key_policy(self, arn: str) -> Any:
        return ROOT_DELEGATION

    def key_grants(self, arn: str) -> list[Any]:
        return []


def readers(users: Iterable[dict[str, Any]], roles: Iterable[dict[str, Any]] = (), *scps: OrgPolicy,
            replica: bool = False) -> tuple[str, str, Any]:
    gaad = {"UserDetailList": list(users), "RoleDetailList": [
        role("auditor", doc(allow("secretsmanager:GetSecretValue")), trust=trusts(f"{G}:iam::{GOV}:root")), *roles],
        "GroupDetailList": [], "Policies": []}
    s = secret(kms_key_id=KEY, arn=SECRET, describe={"VersionIdsToStages": {"v1": ["AWSCURRENT"]}})
    copies = [Replica(EAST, SECRET.replace(f":{WEST}:", f":{EAST}:"), EAST_KEY, "InSync")] if replica else []
    return run(readers_restricted, s, KeyInv(gaad, org(*scps), {}, copies), config(), NOW)


def in_west(action: str, **cond: Any) -> OrgPolicy:
    return pol("NoWest", deny(action, Sid="NoWest", Condition={"StringEquals": {"aws:RequestedRegion": WEST}, **cond}))


# --------------------------------------------------------------------------- the replica's key, in its Region
def test_a_create_grant_denied_in_the_primarys_region_is_made_on_the_replicas_key() -> None:
    intern = user("intern", doc(allow("secretsmanager:GetSecretValue", ANY_COPY), allow("kms:CreateGrant")))
    # no replica: the only key is in us-gov-west-1, where the SCPs deny the grant
    status, text, _ = readers([intern], (), in_west("kms:CreateGrant"))
    assert status == "pass" and INTERN in kept_out(text), text
    status, text, _ = readers([intern], (), in_west("kms:CreateGrant"), replica=True)
    assert status == "fail" and INTERN in text and EAST_KEY in text and f"replica Region {EAST}" in text, text
    status, text, _ = readers([intern], (), pol("NoGrants", deny("kms:CreateGrant")), replica=True)
    assert status == "pass" and INTERN in kept_out(text), text


def test_a_put_key_policy_denied_in_the_primarys_region_is_made_on_the_replicas_key() -> None:
    intern = user("intern", doc(allow("secretsmanager:GetSecretValue", ANY_COPY), allow("kms:PutKeyPolicy")))
    status, text, _ = readers([intern], (), in_west("kms:PutKeyPolicy"), replica=True)
    assert status == "fail" and INTERN in text and f"kms:PutKeyPolicy on key {EAST_KEY}" in text, text
    status, text, _ = readers([intern], (), pol("NoKeyPolicy", deny("kms:PutKeyPolicy")), replica=True)
    assert status == "pass" and INTERN in kept_out(text), text


# --------------------------------------------------------------------------- a grant to a role it assumes
OPS, APP = arn("user", "ops"), arn("role", "app")


def _grant_to_app() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    ops = user("ops", doc(allow("kms:CreateGrant", KEY), allow("sts:AssumeRole", APP)))
    app = role("app", doc(allow("secretsmanager:GetSecretValue", SECRET)), trust=trusts(OPS))
    return [ops], [app]


def test_a_grant_to_an_assumable_role_is_stopped_by_a_denied_assume_role() -> None:
    users, roles = _grant_to_app()
    status, text, _ = readers(users, roles)
    # app reads only after the grant; ops is the one counted
    assert status == "fail" and OPS in text and "naming role app grantee" in text, text
    # STS in us-gov-east-1 is still open (aws:RequestedRegion is the endpoint's Region)
    status, text, _ = readers(users, roles, in_west("sts:AssumeRole"))
    assert status == "fail" and OPS in text, text
    status, text, rec = readers(users, roles, pol("NoAssume", deny("sts:AssumeRole")))
    assert status == "pass" and OPS in kept_out(text), text
    assert any(d["principal"] == OPS and "stopped" in d for d in said(rec)), said(rec)


def test_a_grant_to_an_assumable_role_is_stopped_by_the_roles_denied_read() -> None:
    users, roles = _grant_to_app()
    others = pol("NoOthers", deny("secretsmanager:GetSecretValue", Condition={"ArnLike": {
        "aws:PrincipalArn": arn("role", "other")}}))
    status, text, _ = readers(users, roles, others)
    assert status == "fail" and OPS in text, text
    # ops itself may not read: only the role's read matters
    no_app = pol("NoApp", deny("secretsmanager:GetSecretValue", Condition={"ArnLike": {"aws:PrincipalArn": APP}}))
    status, text, _ = readers(users, roles, no_app)
    assert status == "pass" and OPS in kept_out(text), text
    no_ops = pol("NoOps", deny("secretsmanager:GetSecretValue", Condition={"ArnLike": {"aws:PrincipalArn": OPS}}))
    status, text, _ = readers(users, roles, no_ops)
    assert status == "fail" and OPS in text, text


# --------------------------------------------------------------------------- an EncryptionContextEquals grant
EQUALS_ONLY = allow("kms:CreateGrant", KEY, Condition={
    "StringEquals": {"kms:GrantConstraintType": "EncryptionContextEquals"}})
LEARN = ["secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds", "secretsmanager:ListSecrets"]


def test_the_version_id_learnt_by_list_secrets_makes_the_equals_grant_certain() -> None:
    status, text, _ = readers([user("intern", doc(allow("secretsmanager:GetSecretValue", SECRET), EQUALS_ONLY))])
    assert status == "error" and "SecretVersionId" in text, text
    status, text, _ = readers([user("intern", doc(allow("secretsmanager:GetSecretValue", SECRET), EQUALS_ONLY,
                                                  allow("secretsmanager:ListSecrets")))])
    assert status == "fail" and INTERN in text and "EncryptionContextEquals" in text, text


def test_the_scps_bound_the_calls_that_learn_the_version_id() -> None:
    intern = user("intern", doc(allow("secretsmanager:GetSecretValue", SECRET), EQUALS_ONLY,
                                allow("secretsmanager:DescribeSecret", SECRET), allow("secretsmanager:ListSecrets")))
    # one learning call left open: certain
    status, text, _ = readers([intern], (), pol("NoDescribe", deny("secretsmanager:DescribeSecret")))
    assert status == "fail" and INTERN in text, text
    # each denied: the id may still be known from elsewhere -- possible, never certain
    status, text, _ = readers([intern], (), pol("NoLearn", deny(LEARN)))
    assert status == "error" and INTERN in text and "SecretVersionId" in text, text
    assert AUDITOR not in text


# --------------------------------------------------------------------------- the grant request's own keys
def test_an_scp_on_the_self_grants_own_request_keys_keeps_the_grantor_out() -> None:
    """A principal's own CreateGrant carries kms:GranteePrincipal (itself, here) and kms:GrantIsForAWSResource
    false ("AWS KMS condition keys"): an SCP denying those requests stops the self-grant."""
    intern = user("intern", doc(allow("secretsmanager:GetSecretValue", SECRET), allow("kms:CreateGrant", KEY)))
    status, text, _ = readers([intern])
    assert status == "fail" and INTERN in text and "naming itself grantee" in text, text
    for_aws = pol("OnlyForAws", deny("kms:CreateGrant", Condition={"Bool": {"kms:GrantIsForAWSResource": "false"}}))
    status, text, rec = readers([intern], (), for_aws)
    assert status == "pass" and INTERN in kept_out(text), text
    no_self = pol("NoSelf", deny("kms:CreateGrant", Condition={
        "StringEquals": {"kms:GranteePrincipal": "${aws:PrincipalArn}"}}))
    status, text, _ = readers([intern], (), no_self)
    assert status == "pass" and INTERN in kept_out(text), text
    # a Deny of grants to someone else leaves the self-grant
    others = pol("NoOthers", deny("kms:CreateGrant", Condition={
        "StringNotEquals": {"kms:GranteePrincipal": "${aws:PrincipalArn}"}}))
    status, text, _ = readers([intern], (), others)
    assert status == "fail" and INTERN in text, text
