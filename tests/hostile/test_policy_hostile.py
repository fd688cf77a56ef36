"""IAM policies that are easy to misread, end to end: the audit reads them from IAM (pages,
default versions, groups, boundary) and the emulator's Bedrock app enforces them on the key.

The evaluator's unit properties live in tests/audit/test_policy.py; these runs prove the
inventory hands it the right documents and the verdicts name the action and its source.
"""
from __future__ import annotations

import json


from tests.hostile.helpers import SECRET, USER, audit, expect

LP, GR = "iam.policy_least_privilege", "iam.policy_grants_required"
CWBT = "bedrock:CallWithBearerToken"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, **extra):
    return {"Effect": "Allow", "Action": action, "Resource": "*", **extra}


def deny(action, **extra):
    return {"Effect": "Deny", "Action": action, "Resource": "*", **extra}


def inline(name, document):
    return lambda emu: emu.client("iam").put_user_policy(UserName=USER, PolicyName=name, PolicyDocument=document)


def _scenario_policy_arn(iam):
    return next(p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"])


def test_explicit_deny_beats_allow_on_call_with_bearer_token(pytester):
    rows = audit(pytester, inline("deny-bearer", doc(deny(CWBT))))
    expect(rows, {GR: ("fail", f"{CWBT} (denied by inline policy deny-bearer)"),
                  "endpoint.list_models": ("fail", "explicit deny"),
                  "endpoint.invoke": ("fail", "explicit deny")})


def test_not_action_grants_everything_else(pytester):
    rows = audit(pytester, inline("not-action", doc({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"],
                                                      "Resource": "*"})))
    # NotAction also allows bedrock-mantle:CallWithBearerToken: the key opens Mantle
    expect(rows, {LP: ("fail", "actions beyond required_actions"),
                  "endpoint.unused_surfaces_closed": ("fail", "deny bedrock-mantle:CallWithBearerToken")})
    assert rows[LP]["severity"] == "high" and "s3" in rows[LP]["detail"]


def test_conditional_allow_still_counts_as_a_grant(pytester):
    rows = audit(pytester, inline("conditional", doc(allow("s3:GetObject", Condition={
        "StringEquals": {"aws:RequestedRegion": "us-east-1"}}))))
    expect(rows, {LP: ("fail", "s3:GetObject")})


def test_deny_conditioned_on_long_term_tokens_fails_grants_required(pytester):
    # AWS's own advice for blocking long-term keys; the emulator evaluates StringEquals
    rows = audit(pytester, inline("no-long-term", doc(deny(CWBT, Condition={
        "StringEquals": {"bedrock:BearerTokenType": "LONG_TERM"}}))))
    expect(rows, {GR: ("fail", CWBT), "endpoint.list_models": ("fail", "explicit deny"),
                  "endpoint.invoke": ("fail", "explicit deny")})


def test_wildcard_in_the_middle_of_an_action(pytester):
    rows = audit(pytester, inline("mid-wildcard", doc(allow("iam:P*Role"))))
    expect(rows, {LP: ("fail", "iam:PassRole")})
    assert rows[LP]["severity"] == "high"


def test_forbidden_policy_through_a_group(pytester):
    def setup(emu):
        iam = emu.client("iam")
        iam.create_group(GroupName="ml-team")
        iam.attach_group_policy(GroupName="ml-team", PolicyArn="arn:aws:iam::aws:policy/AmazonBedrockFullAccess")
        iam.add_user_to_group(GroupName="ml-team", UserName=USER)
    rows = audit(pytester, setup)
    expect(rows, {LP: ("fail", "AmazonBedrockFullAccess (via group ml-team)"),
                  # bedrock-mantle:* through the group: the key opens Mantle
                  "endpoint.unused_surfaces_closed": ("fail", "mantle (GET /v1/models) answered 200")})
    assert "iam:PassRole" in rows[LP]["detail"]


def test_group_inline_deny_blocks_the_key(pytester):
    def setup(emu):
        iam = emu.client("iam")
        iam.create_group(GroupName="no-keys")
        iam.put_group_policy(GroupName="no-keys", PolicyName="no-api-keys", PolicyDocument=doc(deny("bedrock:CallWith*")))
        iam.add_user_to_group(GroupName="no-keys", UserName=USER)
    rows = audit(pytester, setup)
    expect(rows, {GR: ("fail", "denied by inline policy no-api-keys (via group no-keys)"),
                  "endpoint.list_models": ("fail", "explicit deny"), "endpoint.invoke": ("fail", "explicit deny")})


def test_a_grant_on_the_second_page_of_attached_policies(pytester):
    # IAM pages ListAttachedUserPolicies at 100.  AWS caps managed policies per user at 10
    # (quota up to 20), moto does not: 110 harmless policies push the 111th past page one.
    def setup(emu):
        iam = emu.client("iam")
        harmless = doc(allow("bedrock:InvokeModel"))
        for i in range(110):
            arn = iam.create_policy(PolicyName=f"harmless-{i:03d}", PolicyDocument=harmless)["Policy"]["Arn"]
            iam.attach_user_policy(UserName=USER, PolicyArn=arn)
        arn = iam.create_policy(PolicyName="zz-pass-role", PolicyDocument=doc(allow("iam:PassRole")))["Policy"]["Arn"]
        iam.attach_user_policy(UserName=USER, PolicyArn=arn)
        first = iam.list_attached_user_policies(UserName=USER)
        assert first["IsTruncated"] and arn not in [p["PolicyArn"] for p in first["AttachedPolicies"]]
    rows = audit(pytester, setup)
    expect(rows, {LP: ("fail", "iam:PassRole")})


def test_new_default_version_adds_pass_role(pytester):
    def setup(emu):
        iam = emu.client("iam")
        arn = _scenario_policy_arn(iam)
        v1 = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]["Document"]
        v1 = json.loads(v1) if isinstance(v1, str) else v1
        v1["Statement"].append(allow("iam:PassRole"))
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(v1), SetAsDefault=True)
    rows = audit(pytester, setup)
    expect(rows, {LP: ("fail", "iam:PassRole")})


def test_only_the_default_version_counts(pytester):
    # the reverse: v2 (not default) grants iam:PassRole, v1 (default) is least-privilege
    def setup(emu):
        iam = emu.client("iam")
        iam.create_policy_version(PolicyArn=_scenario_policy_arn(iam), PolicyDocument=doc(allow("*")), SetAsDefault=False)
    expect(audit(pytester, setup), {})


def _boundary(actions):
    def setup(emu):
        iam = emu.client("iam")
        arn = iam.create_policy(PolicyName="key-boundary", PolicyDocument=doc(allow(actions)))["Policy"]["Arn"]
        iam.put_user_permissions_boundary(UserName=USER, PermissionsBoundary=arn)  # fixtures/emulator/aws_extras.py
    return setup


def test_permissions_boundary_without_call_with_bearer_token(pytester):
    rows = audit(pytester, _boundary(["bedrock:Invoke*", "bedrock:List*", "bedrock:Get*", "bedrock:*InferenceProfile",
                                      "bedrock:*Tag*"]))
    expect(rows, {GR: ("fail", f"{CWBT} (blocked by the permissions boundary)"),
                  "endpoint.list_models": ("fail", "permissions boundary"),
                  "endpoint.invoke": ("fail", "permissions boundary")})


def test_permissions_boundary_trims_an_overgrant(pytester):
    def setup(emu):
        inline("too-much", doc(allow("s3:*"), allow("iam:PassRole")))(emu)
        _boundary(["bedrock:*"])(emu)
    # effective = (required + s3:* + iam:PassRole) ∩ bedrock:* = required: least-privilege holds
    expect(audit(pytester, setup), {})


def test_a_policy_named_like_bearer_keeps_its_verdict_readable():
    # what a check record's detail goes through (CheckRecord.as_dict); seen on a real run with
    # a group inline policy named deny-bearer
    from bedrock_key_audit.redaction import redact_text

    verdict = "lacks 1 required action(s): bedrock:CallWithBearerToken (denied by inline policy deny-bearer (via group no-keys))"
    assert redact_text(verdict) == verdict
    assert redact_text("Authorization: Bearer ABSKabcdefghijkl") == "Authorization: Bearer ***REDACTED***"


def test_region_deny_is_judged_in_the_secrets_region(pytester):
    # aws:RequestedRegion of the key's consumer is the secret's region field (read lazily by
    # iam.policy_grants_required); the audit's own probes call partitions.commercial.region.
    # The Deny names an action the endpoint probes do not use, so their rows do not depend on
    # how the emulator evaluates the condition.
    def setup(emu):
        inline("not-in-us-west-2", doc(deny("bedrock:DeleteInferenceProfile", Condition={
            "StringEquals": {"aws:RequestedRegion": "us-west-2"}})))(emu)
        sm = emu.client("secretsmanager", "govcloud")
        value = json.loads(sm.get_secret_value(SecretId=SECRET)["SecretString"])
        sm.put_secret_value(SecretId=SECRET, SecretString=json.dumps({**value, "region": "us-west-2"}))
    rows = audit(pytester, setup)
    expect(rows, {GR: ("fail", "bedrock:DeleteInferenceProfile (denied by inline policy not-in-us-west-2)"),
                  # the key is used in us-west-2 too, where the scenario turned on no invocation logging
                  "bedrock.invocation_logging": ("fail", "logging is off in us-west-2")})
