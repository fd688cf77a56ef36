"""Who may call Bedrock with an API key: authentication (the key) and authorization (IAM policies)."""
from __future__ import annotations

import base64
import json

import pytest
import werkzeug.test

from bedrock_key_audit.emulator import bedrock as bedrock_mod
from bedrock_key_audit.emulator import clock, faults

from .test_bedrock_helpers import (  # noqa: F401  (fixtures)
    ACCOUNT, AUTH_FAILED, CLAUDE_35, OPUS_41, assert_auth_failed, assert_error, bedrock, gov_keys, key, keys, light,
    module_emu, policy, unique,
)

LIST = "/foundation-models"
ALLOW_BEARER = {"Effect": "Allow", "Action": "bedrock:CallWithBearerToken", "Resource": "*"}


def _ok(r):
    assert r.status_code == 200, r.text
    return r


def _denied(r, action, resource=None, why="because no identity-based policy allows the"):
    message = assert_error(r, 403, "AccessDeniedException")
    user = f"arn:aws:iam::{ACCOUNT['aws']}:user/"
    assert message.startswith(f"User: {user}"), message
    on = f" on resource: {resource}" if resource else ""
    assert f"is not authorized to perform: {action}{on}" in message, message
    if why.startswith("because"):
        assert message.endswith(f"{why} {action} action"), message
    else:
        assert message.endswith(why), message
    return message


# --------------------------------------------------------------------------- authentication
def test_valid_key_works_on_control_plane_and_runtime(bedrock, key):
    _ok(bedrock.get(LIST, key))
    _ok(bedrock.invoke(CLAUDE_35, key))


def _wsgi(headers):
    return werkzeug.test.Client(bedrock_mod.bedrock_app).get(LIST, headers=headers)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer"}, {"Authorization": "Bearer   "},
                                     {"Authorization": "Basic dXNlcjpwYXNz"}])
def test_missing_or_empty_bearer(light, headers):
    r = _wsgi(headers)
    assert r.status_code == 403
    assert r.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert r.get_json() == AUTH_FAILED


def test_dispatch_predicate():
    assert bedrock_mod.is_bedrock_request({"HTTP_AUTHORIZATION": "Bearer", "PATH_INFO": "/"})
    assert bedrock_mod.is_bedrock_request({"HTTP_AUTHORIZATION": "bearer x", "PATH_INFO": "/"})
    assert bedrock_mod.is_bedrock_request({"PATH_INFO": "/foundation-models"})
    assert bedrock_mod.is_bedrock_request({"PATH_INFO": "/model/x/converse"})
    assert not bedrock_mod.is_bedrock_request({"PATH_INFO": "/"})
    sigv4 = "AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=0"
    assert not bedrock_mod.is_bedrock_request({"HTTP_AUTHORIZATION": sigv4, "PATH_INFO": "/foundation-models"})
    assert not bedrock_mod.is_bedrock_request({"QUERY_STRING": "X-Amz-Credential=x", "PATH_INFO": "/model/x/invoke"})


def _b64(text: str) -> str:
    return "ABSK" + base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("bad", [
    "not-a-key",
    "ABSK",
    "ABSK!!!!",
    _b64("no-colon-here"),
    _b64("bedrock-user-at-123456789012:"),
    _b64("bedrock-user-at-12345:secret"),
    "bedrock-api-key-" + base64.b64encode(b"bedrock.amazonaws.com/?Action=CallWithBearerToken").decode(),
])
def test_malformed_keys(bedrock, key, bad):
    assert_auth_failed(bedrock.get(LIST, bad), key)


def test_unknown_key_of_a_known_user(bedrock, keys):
    alice = keys.user("alice")
    real, _ = keys.create(alice)
    forged = _b64(f"{alice}-at-123456789012:" + "A" * 40)
    assert_auth_failed(bedrock.get(LIST, forged), real)
    assert_auth_failed(bedrock.invoke(CLAUDE_35, forged), real)
    assert_auth_failed(bedrock.get(LIST, _b64("mallory-at-123456789012:" + "A" * 40)), real)


def test_inactive_key(bedrock, keys):
    user = keys.user("bob")
    k, cred_id = keys.create(user)
    _ok(bedrock.get(LIST, k))
    keys.iam.update_service_specific_credential(UserName=user, ServiceSpecificCredentialId=cred_id, Status="Inactive")
    assert_auth_failed(bedrock.get(LIST, k), k)
    assert_auth_failed(bedrock.converse(CLAUDE_35, k), k)
    keys.iam.update_service_specific_credential(UserName=user, ServiceSpecificCredentialId=cred_id, Status="Active")
    _ok(bedrock.get(LIST, k))


def test_expired_key(bedrock, keys):
    k, _ = keys.create(keys.user("carol"), CredentialAgeDays=1)
    _ok(bedrock.get(LIST, k))
    clock.advance(hours=23)
    _ok(bedrock.get(LIST, k))
    clock.advance(hours=2)
    assert_auth_failed(bedrock.get(LIST, k), k)
    assert_auth_failed(bedrock.invoke(CLAUDE_35, k), k)


def test_reset_key(bedrock, keys):
    user = keys.user("dave")
    old, cred_id = keys.create(user)
    new = keys.iam.reset_service_specific_credential(UserName=user, ServiceSpecificCredentialId=cred_id)
    new = new["ServiceSpecificCredential"]["ServiceCredentialSecret"]
    assert_auth_failed(bedrock.get(LIST, old), old)
    _ok(bedrock.get(LIST, new))
    _ok(bedrock.converse(CLAUDE_35, new))


def test_deleted_key(bedrock, keys):
    user = keys.user("erin")
    k, cred_id = keys.create(user)
    keys.iam.delete_service_specific_credential(UserName=user, ServiceSpecificCredentialId=cred_id)
    assert_auth_failed(bedrock.get(LIST, k), k)


def test_emulator_reset_kills_keys(emu, bedrock, keys):
    k = keys.key("frank")
    _ok(bedrock.get(LIST, k))
    emu.reset()
    assert_auth_failed(bedrock.get(LIST, k), k)


def test_key_is_bound_to_its_partition(bedrock, keys, gov_keys):
    commercial, gov = keys.key(), gov_keys.key()
    _ok(bedrock.get(LIST, commercial))
    _ok(bedrock.get(LIST, gov, region="us-gov-west-1"))
    assert_auth_failed(bedrock.get(LIST, commercial, region="us-gov-west-1"), commercial)
    assert_auth_failed(bedrock.get(LIST, gov), gov)
    assert_auth_failed(bedrock.get(LIST, gov, headers={"Host": "bedrock.us-east-1.amazonaws.com"}), gov)


def test_call_log_never_holds_the_key(bedrock, keys):
    user = keys.user("logged")
    key, _ = keys.create(user)
    bedrock.get(LIST, key)
    bedrock.get(LIST, key + "x")
    log = faults.calls()
    assert [c["status"] for c in log] == [200, 403]
    text = json.dumps(log)
    leaked = key in text or "ABSK" in text
    assert not leaked, "the call log holds the key"
    assert log[0]["user_arn"] == f"arn:aws:iam::{ACCOUNT['aws']}:user/{user}"


# --------------------------------------------------------------------------- rotation
def test_rotation_two_keys_then_retire_the_first(bedrock, keys):
    user = keys.user("rot")
    k1, id1 = keys.create(user)
    k2, id2 = keys.create(user)
    _ok(bedrock.get(LIST, k1))
    _ok(bedrock.get(LIST, k2))
    keys.iam.update_service_specific_credential(UserName=user, ServiceSpecificCredentialId=id1, Status="Inactive")
    assert_auth_failed(bedrock.get(LIST, k1), k1)
    _ok(bedrock.converse(CLAUDE_35, k2))
    keys.iam.delete_service_specific_credential(UserName=user, ServiceSpecificCredentialId=id1)
    assert_auth_failed(bedrock.get(LIST, k1), k1)
    _ok(bedrock.get(LIST, k2))
    # The freed slot takes a third key; resetting it kills only its old secret.
    k3, id3 = keys.create(user)
    k3b = keys.iam.reset_service_specific_credential(UserName=user, ServiceSpecificCredentialId=id3)
    k3b = k3b["ServiceSpecificCredential"]["ServiceCredentialSecret"]
    assert_auth_failed(bedrock.get(LIST, k3), k3)
    _ok(bedrock.get(LIST, k3b))
    _ok(bedrock.get(LIST, k2))


# --------------------------------------------------------------------------- authorization
def test_no_policy(bedrock, keys):
    k = keys.key("nopol", inline=None)
    _denied(bedrock.get(LIST, k), "bedrock:CallWithBearerToken")
    _denied(bedrock.invoke(CLAUDE_35, k), "bedrock:CallWithBearerToken")


def test_the_guides_policy_lacks_call_with_bearer_token(bedrock, keys):
    guide = policy({"Effect": "Allow", "Resource": "*", "Action": [
        "bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream", "bedrock:ListFoundationModels",
        "bedrock:GetFoundationModel", "bedrock:CreateInferenceProfile", "bedrock:GetInferenceProfile",
        "bedrock:ListInferenceProfiles", "bedrock:DeleteInferenceProfile", "bedrock:TagResource",
        "bedrock:UntagResource", "bedrock:ListTagsForResource"]})
    k = keys.key("guide", inline=guide)
    _denied(bedrock.get(LIST, k), "bedrock:CallWithBearerToken")
    _denied(bedrock.converse(CLAUDE_35, k), "bedrock:CallWithBearerToken")


def test_bearer_only_is_not_enough(bedrock, keys):
    k = keys.key("bearer-only", inline=policy(ALLOW_BEARER))
    _denied(bedrock.get(LIST, k), "bedrock:ListFoundationModels")
    arn = f"arn:aws:bedrock:us-east-1::foundation-model/{CLAUDE_35}"
    _denied(bedrock.invoke(CLAUDE_35, k), "bedrock:InvokeModel", arn)
    _denied(bedrock.get(f"/foundation-models/{CLAUDE_35}", k), "bedrock:GetFoundationModel", arn)
    _denied(bedrock.get("/inference-profiles", k), "bedrock:ListInferenceProfiles")


def test_explicit_deny_wins(bedrock, keys):
    k = keys.key("deny", inline=policy(
        {"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "bedrock:InvokeModel", "Resource": "*"}))
    _ok(bedrock.get(LIST, k))
    _denied(bedrock.converse(CLAUDE_35, k), "bedrock:InvokeModel",
            f"arn:aws:bedrock:us-east-1::foundation-model/{CLAUDE_35}",
            why="with an explicit deny in an identity-based policy")


def test_deny_in_another_policy_wins(bedrock, keys):
    user = keys.user("deny2")
    k, _ = keys.create(user)
    keys.iam.put_user_policy(UserName=user, PolicyName="no-bearer", PolicyDocument=json.dumps(policy(
        {"Effect": "Deny", "Action": "bedrock:CallWithBearerToken", "Resource": "*"})))
    _denied(bedrock.get(LIST, k), "bedrock:CallWithBearerToken", why="with an explicit deny in an identity-based policy")


def test_not_action(bedrock, keys):
    k = keys.key("notaction", inline=policy(
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "NotAction": ["bedrock:CallWithBearerToken", "bedrock:List*"], "Resource": "*"}))
    _ok(bedrock.get(LIST, k))
    _ok(bedrock.get("/inference-profiles", k))
    _denied(bedrock.invoke(CLAUDE_35, k), "bedrock:InvokeModel",
            f"arn:aws:bedrock:us-east-1::foundation-model/{CLAUDE_35}",
            why="with an explicit deny in an identity-based policy")


def test_wildcards_and_case(bedrock, keys):
    k = keys.key("wild", inline=policy(
        {"Effect": "Allow", "Action": ["Bedrock:callwithbearertoken", "bedrock:List*"], "Resource": "*"}))
    _ok(bedrock.get(LIST, k))
    _denied(bedrock.converse(CLAUDE_35, k), "bedrock:InvokeModel",
            f"arn:aws:bedrock:us-east-1::foundation-model/{CLAUDE_35}")


def test_resource_scoped_invoke(bedrock, keys):
    k = keys.key("scoped", inline=policy(ALLOW_BEARER, {
        "Effect": "Allow", "Action": "bedrock:InvokeModel",
        "Resource": "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-5-sonnet-*"}))
    _ok(bedrock.converse(CLAUDE_35, k))
    other = "anthropic.claude-3-haiku-20240307-v1:0"
    _denied(bedrock.converse(other, k), "bedrock:InvokeModel", f"arn:aws:bedrock:us-east-1::foundation-model/{other}")


def test_wildcard_dot_is_literal(bedrock, keys):
    # In IAM only * and ? are wildcards: "claude-3.5" does not match "claude-3-5".
    k = keys.key("dot", inline=policy(ALLOW_BEARER, {
        "Effect": "Allow", "Action": "bedrock:InvokeModel",
        "Resource": "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3.5-sonnet-20240620-v1:0"}))
    _denied(bedrock.converse(CLAUDE_35, k), "bedrock:InvokeModel",
            f"arn:aws:bedrock:us-east-1::foundation-model/{CLAUDE_35}")


def test_inference_profile_needs_profile_and_every_routed_model(bedrock, keys):
    profile_arn = f"arn:aws:bedrock:us-east-1:{ACCOUNT['aws']}:inference-profile/us.{OPUS_41}"
    only_profile = keys.key("p1", inline=policy(ALLOW_BEARER, {
        "Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": profile_arn}))
    _denied(bedrock.converse(f"us.{OPUS_41}", only_profile), "bedrock:InvokeModel",
            f"arn:aws:bedrock:us-east-1::foundation-model/{OPUS_41}")
    one_region = keys.key("p2", inline=policy(ALLOW_BEARER, {
        "Effect": "Allow", "Action": "bedrock:InvokeModel",
        "Resource": [profile_arn, f"arn:aws:bedrock:us-east-1::foundation-model/{OPUS_41}"]}))
    _denied(bedrock.converse(f"us.{OPUS_41}", one_region), "bedrock:InvokeModel",
            f"arn:aws:bedrock:us-east-2::foundation-model/{OPUS_41}")
    all_regions = keys.key("p3", inline=policy(ALLOW_BEARER, {
        "Effect": "Allow", "Action": "bedrock:InvokeModel",
        "Resource": [profile_arn, f"arn:aws:bedrock:*::foundation-model/{OPUS_41}"]}))
    _ok(bedrock.converse(f"us.{OPUS_41}", all_regions))
    # Authorization comes before the on-demand check: allowed users learn about profiles.
    _denied(bedrock.converse(OPUS_41, only_profile), "bedrock:InvokeModel",
            f"arn:aws:bedrock:us-east-1::foundation-model/{OPUS_41}")
    assert_error(bedrock.converse(OPUS_41, all_regions), 400, "ValidationException", "on-demand")


def test_not_resource(bedrock, keys):
    k = keys.key("notres", inline=policy(
        {"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "bedrock:InvokeModel",
         "NotResource": "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-5-sonnet-*"}))
    _ok(bedrock.converse(CLAUDE_35, k))
    _denied(bedrock.converse("meta.llama3-8b-instruct-v1:0", k), "bedrock:InvokeModel",
            "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-8b-instruct-v1:0",
            why="with an explicit deny in an identity-based policy")


@pytest.mark.parametrize("token_type, allowed", [("LONG_TERM", True), ("SHORT_TERM", False)])
def test_bearer_token_type_condition(bedrock, keys, token_type, allowed):
    k = keys.key("cond", inline=policy(
        {"Effect": "Allow", "Action": "bedrock:CallWithBearerToken", "Resource": "*",
         "Condition": {"StringEquals": {"bedrock:BearerTokenType": token_type}}},
        {"Effect": "Allow", "Action": "bedrock:ListFoundationModels", "Resource": "*"}))
    r = bedrock.get(LIST, k)
    if allowed:
        _ok(r)
    else:
        # A failed Allow condition is neutral (moto alone would make it an explicit deny).
        _denied(r, "bedrock:CallWithBearerToken")


def test_deny_long_term_keys(bedrock, keys):
    k = keys.key("scp-like", inline=policy(
        {"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "bedrock:CallWithBearerToken", "Resource": "*",
         "Condition": {"StringEquals": {"bedrock:BearerTokenType": "LONG_TERM"}}}))
    _denied(bedrock.get(LIST, k), "bedrock:CallWithBearerToken", why="with an explicit deny in an identity-based policy")


def test_group_policies(bedrock, keys):
    user = keys.user("member", inline=None)
    k, _ = keys.create(user)
    group = unique("bedrock-users")
    keys.iam.create_group(GroupName=group)
    keys.iam.put_group_policy(GroupName=group, PolicyName="bearer",
                              PolicyDocument=json.dumps(policy(ALLOW_BEARER)))
    arn = keys.iam.create_policy(PolicyName=unique("list"), PolicyDocument=json.dumps(policy(
        {"Effect": "Allow", "Action": "bedrock:ListFoundationModels", "Resource": "*"})))["Policy"]["Arn"]
    keys.iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    _denied(bedrock.get(LIST, k), "bedrock:CallWithBearerToken")
    keys.iam.add_user_to_group(GroupName=group, UserName=user)
    _ok(bedrock.get(LIST, k))
    keys.iam.remove_user_from_group(GroupName=group, UserName=user)
    _denied(bedrock.get(LIST, k), "bedrock:CallWithBearerToken")


def test_managed_policy_default_version(bedrock, keys):
    user = keys.user("managed", inline=None)
    k, _ = keys.create(user)
    arn = keys.iam.create_policy(PolicyName=unique("bedrock"),
                                 PolicyDocument=json.dumps(policy(ALLOW_BEARER)))["Policy"]["Arn"]
    keys.iam.attach_user_policy(UserName=user, PolicyArn=arn)
    _denied(bedrock.get(LIST, k), "bedrock:ListFoundationModels")
    keys.iam.create_policy_version(PolicyArn=arn, SetAsDefault=False, PolicyDocument=json.dumps(policy(
        ALLOW_BEARER, {"Effect": "Allow", "Action": "bedrock:ListFoundationModels", "Resource": "*"})))
    _denied(bedrock.get(LIST, k), "bedrock:ListFoundationModels")  # v2 exists but v1 is still the default
    keys.iam.set_default_policy_version(PolicyArn=arn, VersionId="v2")
    _ok(bedrock.get(LIST, k))
    keys.iam.detach_user_policy(UserName=user, PolicyArn=arn)
    _denied(bedrock.get(LIST, k), "bedrock:CallWithBearerToken")


def test_aws_managed_full_access(bedrock, keys):
    user = keys.user("full", inline=None)
    k, _ = keys.create(user)
    keys.iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/AmazonBedrockFullAccess")
    _ok(bedrock.get(LIST, k))
    _ok(bedrock.converse(f"us.{OPUS_41}", k))


def test_govcloud_authorization_uses_govcloud_iam(bedrock, keys, gov_keys):
    name = gov_keys.user("gov-user", inline=policy(ALLOW_BEARER))
    gk, _ = gov_keys.create(name)
    keys.create(keys.user(name, exact=True))  # same name in commercial, allowed everything: must not leak across
    r = bedrock.get(LIST, gk, region="us-gov-west-1")
    message = assert_error(r, 403, "AccessDeniedException")
    assert message.startswith(f"User: arn:aws-us-gov:iam::{ACCOUNT['aws-us-gov']}:user/{name} ")


def test_permissions_boundary(bedrock, keys):
    """moto 5.2 has no PutUserPermissionsBoundary; the app reads ``permissions_boundary_arn`` when a user has one."""
    from moto.iam.models import iam_backends

    user = keys.user("bounded")
    k, _ = keys.create(user)
    boundary = keys.iam.create_policy(PolicyName=unique("boundary"), PolicyDocument=json.dumps(policy(
        {"Effect": "Allow", "Action": ["bedrock:CallWithBearerToken", "bedrock:List*"], "Resource": "*"})))
    moto_user = iam_backends[ACCOUNT["aws"]]["aws"].users[user]
    moto_user.permissions_boundary_arn = boundary["Policy"]["Arn"]  # type: ignore[attr-defined]  # aws_extras adds it
    _ok(bedrock.get(LIST, k))
    _denied(bedrock.converse(CLAUDE_35, k), "bedrock:InvokeModel",
            f"arn:aws:bedrock:us-east-1::foundation-model/{CLAUDE_35}",
            why="because no permissions boundary allows the")
    moto_user.permissions_boundary_arn = None  # type: ignore[attr-defined]  # as above
    _ok(bedrock.converse(CLAUDE_35, k))


@pytest.mark.parametrize("token_type", ["SHORT_TERM", "long_term"])
def test_conditional_deny_whose_condition_is_false_guards_nothing(bedrock, keys, token_type):
    """A Deny that does not match the request's context is not a deny of everything."""
    k = keys.key("guardrail", inline=policy(
        {"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"},
        {"Effect": "Deny", "Action": ["bedrock:CallWithBearerToken", "bedrock:InvokeModel"], "Resource": "*",
         "Condition": {"StringEquals": {"bedrock:BearerTokenType": token_type}}}))
    _ok(bedrock.get(LIST, k))
    _ok(bedrock.converse(CLAUDE_35, k))


# --------------------------------------------------------------------------- request context guardrails
ALLOW_ALL = {"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"}
EXPLICIT = "with an explicit deny in an identity-based policy"


def _deny_bearer(condition):
    return {"Effect": "Deny", "Action": "bedrock:CallWithBearerToken", "Resource": "*", "Condition": condition}


@pytest.mark.parametrize("condition, denied", [
    ({"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}}, True),   # the client is 127.0.0.1
    ({"NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"}}, False),
    ({"Bool": {"aws:SecureTransport": "false"}}, False),                              # see request_context
    ({"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]}}, False),
    ({"StringNotEquals": {"aws:RequestedRegion": "us-west-2"}}, True),
    ({"StringEquals": {"aws:PrincipalType": "User", "bedrock:bearertokentype": "LONG_TERM"}}, True),
    ({"Null": {"aws:SourceVpc": "false"}}, False),                                     # no VPC endpoint here
    ({"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/ctx-*"}}, False),
    ({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/other-*"}}, True),
    ({"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}}, True),                    # absent: IfExists holds
    ({"NumericGreaterThan": {"aws:EpochTime": "1"}}, True),
])
def test_conditional_deny_guardrails(bedrock, keys, condition, denied):
    k = keys.key("ctx", inline=policy(ALLOW_ALL, _deny_bearer(condition)))
    r = bedrock.get(LIST, k)
    if denied:
        _denied(r, "bedrock:CallWithBearerToken", why=EXPLICIT)
    else:
        _ok(r)


def test_conditional_allow_on_user_identity_and_region(bedrock, keys):
    user = keys.user("ident", inline=None)
    k, _ = keys.create(user)
    user_id = keys.iam.get_user(UserName=user)["User"]["UserId"]
    keys.iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(policy(
        {**ALLOW_ALL, "Condition": {"StringEquals": {"aws:userid": user_id, "aws:username": user,
                                                       "aws:PrincipalAccount": ACCOUNT["aws"]},
                                    "ForAnyValue:StringEquals": {"aws:RequestedRegion": ["us-east-1"]}}})))
    _ok(bedrock.get(LIST, k))
    _denied(bedrock.get(LIST, k, region="us-west-2"), "bedrock:CallWithBearerToken")


def test_time_window_follows_the_emulator_clock(bedrock, keys):
    end = (clock.now() + __import__("datetime").timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    k = keys.key("window", inline=policy({**ALLOW_ALL, "Condition": {"DateLessThan": {"aws:CurrentTime": end}}}))
    _ok(bedrock.get(LIST, k))
    clock.advance(days=2)
    _denied(bedrock.get(LIST, k), "bedrock:CallWithBearerToken")


def test_boundary_with_conditions_and_not_action(bedrock, keys):
    user = keys.user("cbound", inline=policy(ALLOW_ALL))
    k, _ = keys.create(user)
    arn = keys.iam.create_policy(PolicyName=unique("cboundary"), PolicyDocument=json.dumps(policy(
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "NotAction": ["bedrock:CallWithBearerToken", "bedrock:List*"], "Resource": "*",
         "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}})))["Policy"]["Arn"]
    keys.iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=arn)
    _ok(bedrock.get(LIST, k))
    _denied(bedrock.converse(CLAUDE_35, k), "bedrock:InvokeModel",
            f"arn:aws:bedrock:us-east-1::foundation-model/{CLAUDE_35}",
            why="with an explicit deny in a permissions boundary")
    keys.iam.delete_user_permissions_boundary(UserName=user)
    _ok(bedrock.converse(CLAUDE_35, k))


def test_request_context_of_a_bearer_call():
    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_EMULATOR_REGION": "us-gov-west-1"}
    ctx = bedrock_mod.Ctx(environ)
    ctx.user_arn, ctx.account_id, ctx.user_name = "arn:aws-us-gov:iam::210987654321:user/u", "210987654321", "u"
    got = bedrock_mod.request_context(ctx, "AIDAEXAMPLE")
    assert got["aws:RequestedRegion"] == "us-gov-west-1" and got["aws:SourceIp"] == "127.0.0.1"
    assert got["bedrock:BearerTokenType"] == "LONG_TERM" and got["aws:SecureTransport"] == "true"
    assert got["aws:PrincipalType"] == "User" and got["aws:userid"] == "AIDAEXAMPLE"
    assert got["aws:PrincipalArn"].endswith(":user/u") and got["aws:PrincipalAccount"] == "210987654321"
    assert abs(int(got["aws:EpochTime"]) - clock.now().timestamp()) < 5
    assert got["aws:CurrentTime"].endswith("Z")


def test_a_bearer_calls_source_ip_is_the_address_the_trail_records():
    """aws:SourceIp honours x-emulator-source-ip as the emulator's CloudTrail events do (one notion of the
    caller's address); without the header (or with a malformed one) it is the socket's address."""
    from bedrock_key_audit.emulator import events

    for environ, want in [({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_EMULATOR_SOURCE_IP": "203.0.113.10"}, "203.0.113.10"),
                          ({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_EMULATOR_SOURCE_IP": "not-an-ip"}, "127.0.0.1"),
                          ({"REMOTE_ADDR": "10.0.0.7"}, "10.0.0.7")]:
        ctx = bedrock_mod.Ctx({**environ, "HTTP_X_EMULATOR_REGION": "us-east-1"})
        ctx.user_arn, ctx.account_id, ctx.user_name = "arn:aws:iam::123456789012:user/u", "123456789012", "u"
        got = bedrock_mod.request_context(ctx, None)
        assert got["aws:SourceIp"] == want == events._source_ip(environ)


def test_a_bearer_call_carries_principal_org_id_when_the_account_is_in_an_organization(monkeypatch):
    from bedrock_key_audit.emulator import org_guard

    ctx = bedrock_mod.Ctx({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_EMULATOR_REGION": "us-east-1"})
    ctx.user_arn, ctx.account_id, ctx.user_name = "arn:aws:iam::123456789012:user/u", "123456789012", "u"
    monkeypatch.setattr(org_guard, "org_id_of", lambda account: None)
    assert "aws:PrincipalOrgID" not in bedrock_mod.request_context(ctx, None)
    monkeypatch.setattr(org_guard, "org_id_of", lambda account: "o-exampleorg1" if account == "123456789012" else None)
    assert bedrock_mod.request_context(ctx, None)["aws:PrincipalOrgID"] == "o-exampleorg1"


def test_org_id_of_reads_the_organization_of_a_member_account(emu):
    from bedrock_key_audit.emulator import org_guard

    org = emu.client("organizations").describe_organization()["Organization"]["Id"] if _in_org(emu) else None
    assert org_guard.org_id_of("123456789012") == org
    assert org_guard.org_id_of("000000000000") is None


def _in_org(emu) -> bool:
    try:
        emu.client("organizations").describe_organization()
        return True
    except Exception:  # noqa: BLE001 -- AWSOrganizationsNotInUseException
        return False
