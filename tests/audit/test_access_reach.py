"""Who can reach the secret from outside its account, through role trust, and in replica Regions
(bedrock_key_audit.access outsiders, bedrock_key_audit.trust), on hand-built policy sets."""
from __future__ import annotations

import json
from typing import Any

from bedrock_key_audit.access import Access, principals_from_gaad
from bedrock_key_audit.trust import assumer_accesses, role_assumers
from tests.audit.test_access import (
    ACCT,
    DECRYPT,
    NOW,
    P,
    READ,
    ROOT_DELEGATION,
    gaad,
    readers,
    role,
    user,
)
from tests.policy_docs import doc

OTHER = "111122223333"
THIRD = "444455556666"
OTHER_ROOT = f"arn:{P}:iam::{OTHER}:root"
OTHER_ROLE = f"arn:{P}:iam::{OTHER}:role/partner-app"


def rp_allow(principal: Any, **cond: Any) -> dict[str, Any]:
    st: dict[str, Any] = {"Sid": "ReadFromOutside", "Effect": "Allow", "Principal": principal,
                          "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
    if cond:
        st["Condition"] = cond
    return doc(st)


def kp_with(principal: Any, **cond: Any) -> dict[str, Any]:
    st: dict[str, Any] = {"Sid": "DecryptFromOutside", "Effect": "Allow", "Principal": principal,
                          "Action": "kms:Decrypt", "Resource": "*"}
    if cond:
        st["Condition"] = cond
    return doc(*ROOT_DELEGATION["Statement"], st)


def external(got: dict[str, Any]) -> dict[str, Any]:
    return {k: a for k, a in got.items() if a.kind == "external"}


# --------------------------------------------------------------------------- class 1: other accounts
def test_other_account_admitted_by_both_policies_reads():
    got = external(readers(gaad(), resource_policy=rp_allow({"AWS": OTHER}), key_policy=kp_with({"AWS": OTHER_ROOT})))
    assert set(got) == {OTHER_ROOT}
    a = got[OTHER_ROOT]
    assert a.certain and f"account {OTHER}" in a.note
    assert any("ReadFromOutside" in g for g in a.grants) and any("DecryptFromOutside" in g for g in a.grants)


def test_other_account_without_the_key_policy_cannot_decrypt():
    assert external(readers(gaad(), resource_policy=rp_allow({"AWS": OTHER}))) == {}


def test_managed_key_cannot_be_used_from_another_account():
    assert external(readers(gaad(), resource_policy=rp_allow({"AWS": OTHER}), managed_key=True)) == {}


def test_key_policy_principal_is_matched_by_its_full_arn():
    # the secret admits the whole account, the key only one role of it: only that role reads
    got = external(readers(gaad(), resource_policy=rp_allow({"AWS": OTHER_ROOT}), key_policy=kp_with({"AWS": OTHER_ROLE})))
    assert set(got) == {OTHER_ROLE} and got[OTHER_ROLE].certain
    # a key policy naming another account's role does not admit a different role of it
    rp = rp_allow({"AWS": f"arn:{P}:iam::{OTHER}:role/other-app"})
    assert external(readers(gaad(), resource_policy=rp, key_policy=kp_with({"AWS": OTHER_ROLE}))) == {}


def test_caller_account_keys_take_the_callers_account_not_the_key_owners():
    rp = rp_allow("*", StringEquals={"aws:PrincipalAccount": OTHER})
    kp = kp_with({"AWS": "*"}, StringEquals={"kms:CallerAccount": OTHER,
                                            "kms:ViaService": "secretsmanager.us-gov-west-1.amazonaws.com"})
    got = external(readers(gaad(), resource_policy=rp, key_policy=kp))
    assert set(got) == {OTHER_ROOT} and got[OTHER_ROOT].certain


def test_star_limited_to_the_account_itself_keeps_outsiders_out():
    rp = rp_allow("*", StringEquals={"aws:PrincipalAccount": ACCT})
    kp = kp_with({"AWS": "*"}, StringEquals={"kms:CallerAccount": ACCT})
    got = readers(gaad(roles=[role("app", doc())]), resource_policy=rp, key_policy=kp)
    assert external(got) == {} and f"arn:{P}:iam::{ACCT}:role/app" in got


def test_star_only_over_tls_is_a_grant_to_everyone():
    """Secrets Manager and KMS accept only HTTPS, so ``aws:SecureTransport`` is true on every read
    and Decrypt: ``*`` limited to TLS admits every account -- a certain outside reader, not undecided."""
    tls = {"Bool": {"aws:SecureTransport": "true"}}
    got = external(readers(gaad(), resource_policy=rp_allow("*", **tls), key_policy=kp_with({"AWS": "*"}, **tls)))
    assert set(got) == {"*"} and got["*"].certain and not got["*"].unknown
    plain = {"Bool": {"aws:SecureTransport": "false"}}
    assert external(readers(gaad(), resource_policy=rp_allow("*", **plain), key_policy=kp_with({"AWS": "*"}, **tls))) == {}


def test_outsiders_are_named_as_read_never_by_a_stand_in_account():
    """A wildcard account (``arn:...:iam::*:role/X``, ``aws:PrincipalAccount`` ``1111*``) is evaluated
    with one account it admits, but the evidence names the pattern as the policy writes it."""
    pattern = f"arn:{P}:iam::*:role/OrganizationAccountAccessRole"
    cond = {"ArnLike": {"aws:PrincipalArn": pattern}}
    got = external(readers(gaad(), resource_policy=rp_allow("*", **cond), key_policy=kp_with({"AWS": "*"}, **cond)))
    text = " ".join(f"{k} {a.note}" for k, a in got.items())
    assert pattern in got and "role OrganizationAccountAccessRole of any account matching *" in got[pattern].note
    assert "000000000000" not in text
    rp = rp_allow("*", StringLike={"aws:PrincipalAccount": "1111*"})
    kp = kp_with({"AWS": "*"}, StringLike={"kms:CallerAccount": "1111*"})
    got = external(readers(gaad(), resource_policy=rp, key_policy=kp))
    label = "any account matching 1111*"
    assert label in got and "any principal of any account matching 1111*" in got[label].note
    assert "111100000000" not in " ".join(a.note for a in got.values())


def test_organization_id_of_an_outsider_is_unknown():
    rp = rp_allow("*", StringEquals={"aws:PrincipalOrgID": "o-abc123"})
    kp = kp_with({"AWS": "*"}, StringEquals={"aws:PrincipalOrgID": "o-abc123"})
    got = external(readers(gaad(), resource_policy=rp, key_policy=kp))
    assert set(got) == {"*"}
    assert not got["*"].certain and "aws:PrincipalOrgID" in got["*"].unknown


def test_principal_arn_condition_admits_the_named_outsider_only():
    rp = rp_allow("*", ArnLike={"aws:PrincipalArn": f"arn:{P}:iam::{OTHER}:role/deploy-*"})
    got = external(readers(gaad(), resource_policy=rp, key_policy=kp_with({"AWS": OTHER_ROOT})))
    assert set(got) == {f"arn:{P}:iam::{OTHER}:role/deploy-x"} and got[f"arn:{P}:iam::{OTHER}:role/deploy-x"].certain


def test_principal_account_excluding_a_third_account():
    rp = rp_allow("*", StringNotEquals={"aws:PrincipalAccount": [ACCT, THIRD]})
    kp = kp_with({"AWS": [OTHER_ROOT, f"arn:{P}:iam::{THIRD}:root"]})
    got = external(readers(gaad(), resource_policy=rp, key_policy=kp))
    assert set(got) == {OTHER_ROOT}


# --------------------------------------------------------------------------- class 2: role trust
def trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return doc(*statements)


def trusts(principal: Any, action: str = "sts:AssumeRole", **cond: Any) -> dict[str, Any]:
    st: dict[str, Any] = {"Sid": "Trust", "Effect": "Allow", "Principal": principal, "Action": action}
    if cond:
        st["Condition"] = cond
    return st


def reader_role(name: str, trust_doc: dict[str, Any]) -> dict[str, Any]:
    r = role(name, doc(READ, DECRYPT))
    r["AssumeRolePolicyDocument"] = json.dumps(trust_doc)
    return r


def reach(g: dict[str, Any]) -> dict[str, Access]:
    ps = principals_from_gaad(g)
    direct = [a for a in readers(g).values()]
    return {a.principal: a for a in [*direct, *assumer_accesses(direct, ps, now=NOW)]}


def test_trust_naming_a_user_arn_suffices_within_the_account():
    u = f"arn:{P}:iam::{ACCT}:user/alice"
    got = reach(gaad(users=[user("alice"), user("bob")], roles=[reader_role("app", trust(trusts({"AWS": u})))]))
    assert got[u].certain and got[u].kind == "user" and "can assume role app" in got[u].note
    assert f"arn:{P}:iam::{ACCT}:user/bob" not in got


def test_trust_naming_the_account_needs_the_callers_identity_policy():
    assume = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:{P}:iam::{ACCT}:role/app"}
    g = gaad(users=[user("alice", doc(assume)), user("bob")],
             roles=[reader_role("app", trust(trusts({"AWS": f"arn:{P}:iam::{ACCT}:root"})))])
    got = reach(g)
    assert f"arn:{P}:iam::{ACCT}:user/alice" in got and f"arn:{P}:iam::{ACCT}:user/bob" not in got


def test_trust_of_another_account_and_star():
    got = reach(gaad(roles=[reader_role("app", trust(trusts({"AWS": OTHER})))]))
    assert got[OTHER_ROOT].kind == "external" and got[OTHER_ROOT].certain
    got = reach(gaad(roles=[reader_role("app", trust(trusts("*")))]))
    assert got["*"].certain


def test_github_oidc_without_sub_admits_every_repository():
    provider = f"arn:{P}:iam::{ACCT}:oidc-provider/token.actions.githubusercontent.com"
    open_trust = trust(trusts({"Federated": provider}, "sts:AssumeRoleWithWebIdentity",
                              StringEquals={"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}))
    got = reach(gaad(roles=[reader_role("ci", open_trust)]))
    assert got[provider].kind == "federated" and got[provider].certain
    assert "every repository on GitHub" in got[provider].note
    pinned = trust(trusts({"Federated": provider}, "sts:AssumeRoleWithWebIdentity",
                          StringLike={"token.actions.githubusercontent.com:sub": "repo:acme/app:*"}))
    got = reach(gaad(roles=[reader_role("ci", pinned)]))
    assert "repo:acme/app:*" in got[provider].note and "every repository" not in got[provider].note


def test_saml_federation_is_an_assumer():
    provider = f"arn:{P}:iam::{ACCT}:saml-provider/corp-idp"
    got = reach(gaad(roles=[reader_role("sso", trust(trusts({"Federated": provider}, "sts:AssumeRoleWithSAML",
                                                              StringEquals={"SAML:aud": "https://signin.aws.amazon.com/saml"})))]))
    assert got[provider].kind == "federated" and "AssumeRoleWithSAML" in got[provider].note


def test_role_chain_followed_and_cut_at_the_stated_depth():
    def hop(name: str, trusted: str) -> dict[str, Any]:
        r = role(name)
        r["AssumeRolePolicyDocument"] = trust(trusts({"AWS": f"arn:{P}:iam::{ACCT}:role/{trusted}"}))
        return r
    # app (reader) <- r1 <- r2 <- r3 <- r4: r1..r3 are followed, r4 is beyond depth 3
    roles = [hop("app", "r1"), hop("r1", "r2"), hop("r2", "r3"), hop("r3", "r4"), hop("r4", "nobody")]
    roles[0]["RolePolicyList"] = [{"PolicyName": "p0", "PolicyDocument": doc(READ, DECRYPT)}]
    got = reach(gaad(roles=roles))
    for n in ("r1", "r2", "r3"):
        assert got[f"arn:{P}:iam::{ACCT}:role/{n}"].certain
    assert f"arn:{P}:iam::{ACCT}:role/r4" not in got
    # the note reads along the chain, from the principal to the reader
    assert got[f"arn:{P}:iam::{ACCT}:role/r2"].note == \
        "can assume role r1, which can assume role app, which can read"
    cut = got[f"assumers of role arn:{P}:iam::{ACCT}:role/r3"]
    assert not cut.certain and cut.unknown == ("role chain not followed beyond depth 3",)


def test_caller_chosen_external_id_is_met_and_service_trust_is_not_an_assumer():
    t = trust(trusts({"AWS": OTHER}, StringEquals={"sts:ExternalId": "x-123"}),
              trusts({"Service": "ec2.amazonaws.com"}))
    ps = principals_from_gaad(gaad(roles=[reader_role("app", t)]))
    got = {a.who: a for a in role_assumers(ps[0], ps, now=NOW)}
    assert set(got) == {OTHER_ROOT} and got[OTHER_ROOT].certain


def test_trust_conditions_on_the_callers_tags_and_an_avoidable_deny():
    root = {"AWS": f"arn:{P}:iam::{ACCT}:root"}
    assume = doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
    tagged, untagged = user("alice", assume), user("bob", assume)
    tagged["Tags"] = [{"Key": "team", "Value": "payments"}]
    t = trust(trusts(root, StringEquals={"aws:PrincipalTag/team": "payments"}),
              {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole",
               "Condition": {"StringNotEquals": {"sts:ExternalId": "x-1"}}})
    got = reach(gaad(users=[tagged, untagged], roles=[reader_role("app", t)]))
    assert got[f"arn:{P}:iam::{ACCT}:user/alice"].certain  # the Deny is avoided by passing the external id
    assert f"arn:{P}:iam::{ACCT}:user/bob" not in got


def test_wildcard_account_patterns_admit_some_outsider():
    rp = rp_allow("*", ArnLike={"aws:PrincipalArn": f"arn:{P}:iam::*:role/deploy"})
    got = external(readers(gaad(), resource_policy=rp, key_policy=kp_with({"AWS": "*"})))
    assert set(got) == {f"arn:{P}:iam::*:role/deploy"} and got[f"arn:{P}:iam::*:role/deploy"].certain
    rp = rp_allow("*", StringLike={"aws:PrincipalAccount": "1111*"})
    got = external(readers(gaad(), resource_policy=rp, key_policy=kp_with({"AWS": "*"})))
    assert set(got) == {"any account matching 1111*"}


def test_source_account_is_absent_on_a_principals_own_call():
    # aws:SourceAccount is set only when a service calls for a resource: a principal's own read lacks it
    rp = rp_allow("*", StringEquals={"aws:SourceAccount": OTHER})
    assert external(readers(gaad(), resource_policy=rp, key_policy=kp_with({"AWS": "*"}))) == {}


# --------------------------------------------------------------------------- absent keys, partitions
def test_forallvalues_on_the_organization_paths_admits_accounts_outside_every_organization():
    """"Condition operators": ForAllValues is true when the key is absent; a principal of an account
    in no organization carries no aws:PrincipalOrgPaths, so any such account reads."""
    cond = {"ForAllValues:StringLike": {"aws:PrincipalOrgPaths": ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"]}}
    got = external(readers(gaad(), resource_policy=rp_allow("*", **cond), key_policy=kp_with("*", **cond)))
    assert got["*"].certain and "outside every organization" in got["*"].note
    # ForAnyValue needs the key present: an outsider's organization stays unknown
    anyv = {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": ["o-a1b2c3d4e5/*"]}}
    got = external(readers(gaad(), resource_policy=rp_allow("*", **anyv), key_policy=kp_with("*", **anyv)))
    assert not got["*"].certain and any("aws:PrincipalOrgPaths" in k for k in got["*"].unknown)


def test_source_keys_are_absent_on_the_forwarded_decrypt():
    """aws:SourceAccount / aws:SourceArn / aws:SourceOrgID are included only when a service calls for a
    resource owner: never on the Decrypt Secrets Manager forwards for a principal."""
    for key, value in (("aws:SourceAccount", OTHER), ("aws:SourceArn", f"arn:{P}:s3:::b"), ("aws:SourceOrgID", "o-1")):
        got = external(readers(gaad(), resource_policy=rp_allow({"AWS": OTHER_ROOT}),
                               key_policy=kp_with("*", StringEquals={key: value})))
        assert got == {}, key
    # the same grant on an IfExists form holds: the key is absent
    got = external(readers(gaad(), resource_policy=rp_allow({"AWS": OTHER_ROOT}),
                           key_policy=kp_with("*", StringEqualsIfExists={"aws:SourceAccount": OTHER})))
    assert got[OTHER_ROOT].certain


def test_a_principal_of_another_partition_is_not_an_outsider():
    """Roles and credentials do not cross partitions ("Federating AWS identities across AWS
    partitions"): a commercial principal in a GovCloud trust, secret or key policy reads nothing, and
    its ARN is never rewritten into this partition."""
    commercial_root = f"arn:aws:iam::{OTHER}:root"
    got = reach(gaad(roles=[reader_role("ops", trust(trusts({"AWS": commercial_root})))]))
    assert set(got) == {f"arn:{P}:iam::{ACCT}:role/ops"}
    got = external(readers(gaad(), resource_policy=rp_allow({"AWS": commercial_root}),
                           key_policy=kp_with({"AWS": commercial_root})))
    assert got == {}


def test_an_assume_role_allowed_in_another_region_only_still_assumes():
    """STS has Regional endpoints and the caller picks one: ``aws:RequestedRegion`` of an AssumeRole is that
    endpoint's Region (IAM User Guide, "Manage AWS STS in an AWS Region"), so an identity policy allowing
    it in eu-west-1 only, or a trust policy admitting only there, still lets the principal in."""
    app = f"arn:{P}:iam::{ACCT}:role/app"
    region = "us-gov-east-1" if P == "aws-us-gov" else "eu-west-1"
    in_one = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": app,
              "Condition": {"StringEquals": {"aws:RequestedRegion": region}}}
    alice, bob = f"arn:{P}:iam::{ACCT}:user/alice", f"arn:{P}:iam::{ACCT}:user/bob"
    nowhere = {**in_one, "Condition": {"StringEquals": {"aws:RequestedRegion": "xx-nowhere-1"}}}
    got = reach(gaad(users=[user("alice", doc(in_one)), user("bob", doc(nowhere))],
                     roles=[reader_role("app", trust(trusts({"AWS": f"arn:{P}:iam::{ACCT}:root"})))]))
    assert got[alice].certain and bob not in got
    # the trust policy admits the other account in that Region only: an outsider still assumes
    got = reach(gaad(roles=[reader_role("app", trust(trusts({"AWS": OTHER}, StringEquals={"aws:RequestedRegion": region})))]))
    assert got[OTHER_ROOT].certain
    got = reach(gaad(roles=[reader_role("app", trust(trusts({"AWS": OTHER},
                                                            StringEquals={"aws:RequestedRegion": "xx-nowhere-1"})))]))
    assert OTHER_ROOT not in got
    # a federated principal too
    provider = f"arn:{P}:iam::{ACCT}:saml-provider/corp-idp"
    got = reach(gaad(roles=[reader_role("sso", trust(trusts({"Federated": provider}, "sts:AssumeRoleWithSAML",
                                                              StringEquals={"aws:RequestedRegion": region})))]))
    assert got[provider].certain
