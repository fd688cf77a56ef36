"""iam.* verdicts on hand-built users and policies (bedrock_key_audit.verdicts.iam): pass, fail, error.

The policy evaluator itself is tested against AWS's documentation in tests/audit/test_policy_eval.py;
here each row's outcome and sentence."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bedrock_key_audit.config import GUIDE_ACTIONS
from bedrock_key_audit.inventory.models import IamUser, OtherCredentials, PolicyDoc, UserPolicies
from bedrock_key_audit.verdicts import iam as v
from tests.unit.helpers import ACCOUNT, NOW, USER, FakeInventory, ReadError, config, run, secret

REQUIRED = ["bedrock:CallWithBearerToken", "bedrock:InvokeModel", "bedrock:ListFoundationModels"]
CFG_TOML = '[policy]\nrequired_actions = ["bedrock:CallWithBearerToken", "bedrock:InvokeModel", "bedrock:ListFoundationModels"]\n'


def policies(*statements: dict[str, Any], attached: list[str] | None = None) -> UserPolicies:
    docs = [PolicyDoc("inline", "p", None, None, {"Version": "2012-10-17", "Statement": list(statements)})]
    docs += [PolicyDoc("managed", a.rsplit("/", 1)[1], a, "v1",
                       {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
             for a in attached or []]
    return UserPolicies(USER.name, docs, None, list(attached or []))


def allow(action: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": "*", **extra}


# --------------------------------------------------------------------------- iam.user_exists
def test_user_exists_passes() -> None:
    status, text, rec = run(v.user_exists, USER)
    assert (status, text) == ("pass", f"IAM user key-user exists ({USER.arn})") and rec.resource == USER.arn


def test_user_exists_fails_for_a_missing_user() -> None:
    status, text, rec = run(v.user_exists, IamUser(name="ghost", exists=False))
    assert (status, text) == ("fail", "IAM user ghost does not exist in the commercial account")
    assert rec.resource == "iam user ghost"


# --------------------------------------------------------------------------- iam.user_no_other_credentials
def test_no_other_credentials_passes() -> None:
    assert run(v.user_no_other_credentials, USER, OtherCredentials(False, []))[0] == "pass"


def test_no_other_credentials_fails_naming_each() -> None:
    oc = OtherCredentials(True, [{"AccessKeyId": "AKIAEXAMPLE1", "Status": "Inactive"}])
    status, text, _ = run(v.user_no_other_credentials, USER, oc)
    assert status == "fail" and "a console password (login profile), inactive access key AKIAEXAM…" in text
    assert "(an inactive one can be switched back on, so it counts)" in text


# --------------------------------------------------------------------------- iam.policy_least_privilege
def test_least_privilege_passes_with_only_required_actions(tmp_path: Path) -> None:
    status, text, _ = run(v.policy_least_privilege, USER, policies(allow(REQUIRED)), config(tmp_path, CFG_TOML))
    assert status == "pass" and "may perform only required actions" in text


def test_least_privilege_fails_with_extra_actions_and_a_forbidden_policy(tmp_path: Path) -> None:
    up = policies(allow(REQUIRED), attached=["arn:aws:iam::aws:policy/AmazonBedrockFullAccess"])
    status, text, rec = run(v.policy_least_privilege, USER, up, config(tmp_path, CFG_TOML))
    assert status == "fail" and "forbidden managed policy AmazonBedrockFullAccess attached" in text
    assert rec.severity == "high"


def test_least_privilege_bedrock_only_extras_are_medium(tmp_path: Path) -> None:
    up = policies(allow([*REQUIRED, "bedrock:GetFoundationModel"]))
    status, text, rec = run(v.policy_least_privilege, USER, up, config(tmp_path, CFG_TOML))
    assert status == "fail" and "bedrock:GetFoundationModel (Read)" in text and rec.severity == "medium"


# "AmazonBedrockMantleInferenceAccess", AWS Managed Policy Reference (policy version v1):
# https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonBedrockMantleInferenceAccess.html
MANTLE_INFERENCE_V1 = {"Version": "2012-10-17", "Statement": [
    {"Sid": "BedrockMantleInference", "Effect": "Allow",
     "Action": ["bedrock-mantle:Get*", "bedrock-mantle:List*", "bedrock-mantle:CreateInference"],
     "Resource": "arn:aws:bedrock-mantle:*:*:project/*"},
    {"Sid": "BedrockMantleCallWithBearerToken", "Effect": "Allow", "Action": ["bedrock-mantle:CallWithBearerToken"],
     "Resource": "*"}]}
# the Service Authorization Reference's bedrock-mantle actions those patterns name (Get*, List*, two literals)
MANTLE_REACHED = ["bedrock-mantle:CallWithBearerToken", "bedrock-mantle:CreateInference", "bedrock-mantle:GetFile",
                  "bedrock-mantle:GetFineTuningJob", "bedrock-mantle:GetInference", "bedrock-mantle:GetModel",
                  "bedrock-mantle:GetProject", "bedrock-mantle:ListFiles", "bedrock-mantle:ListFineTuningJobs",
                  "bedrock-mantle:ListModels", "bedrock-mantle:ListProjects", "bedrock-mantle:ListTagsForResource"]


def test_least_privilege_names_every_mantle_action_of_the_managed_mantle_policy(tmp_path: Path) -> None:
    arn = "arn:aws:iam::aws:policy/AmazonBedrockMantleInferenceAccess"
    up = policies(allow(REQUIRED))
    up.documents.append(PolicyDoc("managed", "AmazonBedrockMantleInferenceAccess", arn, "v1", MANTLE_INFERENCE_V1))
    up.attached_arns.append(arn)
    status, text, rec = run(v.policy_least_privilege, USER, up, config(tmp_path, CFG_TOML))
    assert status == "fail"
    assert f"12 bedrock-mantle actions (a second endpoint the key can open): {', '.join(MANTLE_REACHED)}" in text
    ev = rec.evidence[0]["data"]
    assert ev["bedrock_mantle_actions"] == MANTLE_REACHED
    assert {a["action"]: a["granted_by"] for a in ev["extra_actions"]}["bedrock-mantle:ListModels"] == [
        "managed policy AmazonBedrockMantleInferenceAccess"]


def test_least_privilege_says_the_key_cannot_use_mantle_once_a_deny_closes_it(tmp_path: Path) -> None:
    arn = "arn:aws:iam::aws:policy/AmazonBedrockMantleInferenceAccess"
    up = policies(allow(REQUIRED))
    up.documents.append(PolicyDoc("managed", "AmazonBedrockMantleInferenceAccess", arn, "v1", MANTLE_INFERENCE_V1))
    up.documents.append(PolicyDoc("inline", "BedrockApiKeyDenyUnusedSurfaces", None, None, {
        "Version": "2012-10-17", "Statement": [{"Sid": "DenyBearerCallsOnUnusedBedrockSurfaces", "Effect": "Deny",
                                                "Action": ["bedrock-mantle:CallWithBearerToken"], "Resource": "*"}]}))
    up.attached_arns.append(arn)
    status, text, _ = run(v.policy_least_privilege, USER, up, config(tmp_path, CFG_TOML))
    assert status == "fail" and "a second endpoint the key can open" not in text, text
    assert "11 bedrock-mantle actions, which the key cannot use: bedrock-mantle:CallWithBearerToken is denied by " \
           "inline policy BedrockApiKeyDenyUnusedSurfaces" in text, text


# --------------------------------------------------------------------------- iam.policy_grants_required
def grants(up: UserPolicies, tmp_path: Path, inv: FakeInventory | None = None) -> tuple[str, str, Any]:
    inv = inv or FakeInventory(secret=secret('{"bedrock_api_key": "x", "region": "us-east-1"}'))
    return run(v.policy_grants_required, USER, up, config(tmp_path, CFG_TOML), inv, False, NOW)


def test_grants_required_passes(tmp_path: Path) -> None:
    assert grants(policies(allow(REQUIRED)), tmp_path)[0] == "pass"


def test_grants_required_fails_naming_the_missing_action(tmp_path: Path) -> None:
    status, text, _ = grants(policies(allow(["bedrock:InvokeModel", "bedrock:ListFoundationModels"])), tmp_path)
    assert status == "fail" and "bedrock:CallWithBearerToken" in text


def test_grants_required_errors_on_a_condition_it_cannot_decide(tmp_path: Path) -> None:
    up = policies(allow(REQUIRED), {"Sid": "OnlyFromOffice", "Effect": "Deny", "Action": "*", "Resource": "*",
                                    "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}})
    status, text, _ = grants(up, tmp_path)
    assert status == "error" and "aws:SourceIp" in text and "'OnlyFromOffice'" in text


@pytest.mark.parametrize("inv", [FakeInventory(secret=ReadError("secretsmanager:DescribeSecret was denied")),
                                 FakeInventory(secret=secret(value_error="denied"))])
def test_grants_required_region_condition_with_an_unreadable_secret_is_an_error(tmp_path: Path, inv: FakeInventory) -> None:
    up = policies(allow(REQUIRED, Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}}))
    status, text, _ = grants(up, tmp_path, inv)
    assert status == "error" and "aws:RequestedRegion" in text and "make secret" in text
    # the same policy is decided once the secret names its region
    assert grants(up, tmp_path)[0] == "pass"


# a Mantle-only workload: CreateInference/ListModels are judged on the configured project's ARN
MANTLE_ONLY = '[endpoint]\nsurfaces = ["mantle"]\n'
MANTLE_ACTIONS = ["bedrock-mantle:CallWithBearerToken", "bedrock-mantle:CreateInference", "bedrock-mantle:ListModels"]


def mantle_grant(resource: str) -> list[dict[str, Any]]:
    return [{"Effect": "Allow", "Action": ["bedrock-mantle:CreateInference", "bedrock-mantle:ListModels"],
             "Resource": resource},
            {"Effect": "Allow", "Action": "bedrock-mantle:CallWithBearerToken", "Resource": "*"},
            allow(GUIDE_ACTIONS)]


def mantle_grants(up: UserPolicies, tmp_path: Path, extra: str = "") -> tuple[str, str]:
    inv = FakeInventory(secret=secret('{"bedrock_api_key": "x", "region": "us-east-1"}'))
    status, text, _ = run(v.policy_grants_required, USER, up, config(tmp_path, MANTLE_ONLY + extra), inv, False, NOW)
    return status, text


@pytest.mark.parametrize("resource", [f"arn:aws:bedrock-mantle:us-east-1:{ACCOUNT}:project/default",
                                      f"arn:aws:bedrock-mantle:*:{ACCOUNT}:project/*"])
def test_mantle_only_grants_are_decided_on_the_default_project(tmp_path: Path, resource: str) -> None:
    status, text = mantle_grants(policies(*mantle_grant(resource)), tmp_path)
    assert status == "pass", text


def test_mantle_grant_on_another_project_fails_for_the_default_one(tmp_path: Path) -> None:
    up = policies(*mantle_grant(f"arn:aws:bedrock-mantle:us-east-1:{ACCOUNT}:project/proj_abc123"))
    status, text = mantle_grants(up, tmp_path)
    assert status == "fail" and "bedrock-mantle:CreateInference" in text, text


def test_mantle_project_setting_names_the_project_the_row_is_decided_on(tmp_path: Path) -> None:
    up = policies(*mantle_grant(f"arn:aws:bedrock-mantle:us-east-1:{ACCOUNT}:project/proj_abc123"))
    status, text = mantle_grants(up, tmp_path, 'mantle_project = "proj_abc123"\n')
    assert status == "pass", text
    status, text = mantle_grants(policies(*mantle_grant(f"arn:aws:bedrock-mantle:us-east-1:{ACCOUNT}:project/default")),
                                 tmp_path, 'mantle_project = "proj_abc123"\n')
    assert status == "fail" and "bedrock-mantle:CreateInference" in text, text


# a runtime-openai workload: bedrock:InvokeModel must also reach endpoint.openai_model_id
OPENAI_TOML = '[endpoint]\nsurfaces = ["runtime", "runtime-openai"]\n'
CLAUDE_ARN = "arn:aws:bedrock:*::foundation-model/anthropic.*"
GPT_ARN = "arn:aws:bedrock:*::foundation-model/openai.gpt-oss-20b-1:0"


def openai_grants(resources: list[str], tmp_path: Path) -> tuple[str, str]:
    up = policies({"Effect": "Allow", "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                   "Resource": resources},
                  allow([a for a in GUIDE_ACTIONS if not a.startswith("bedrock:InvokeModel")]),
                  allow("bedrock:CallWithBearerToken"))
    inv = FakeInventory(secret=secret('{"bedrock_api_key": "x", "region": "us-east-1"}'))
    status, text, _ = run(v.policy_grants_required, USER, up, config(tmp_path, OPENAI_TOML), inv, False, NOW)
    return status, text


def test_a_runtime_openai_workload_needs_invoke_model_on_the_openai_model(tmp_path: Path) -> None:
    status, text = openai_grants([CLAUDE_ARN], tmp_path)
    assert status == "fail" and "bedrock:InvokeModel" in text, text
    status, text = openai_grants([CLAUDE_ARN, GPT_ARN], tmp_path)
    assert status == "pass", text


# the default requirements follow the surfaces in use: each surface's documented permission set, nothing more
def test_a_mantle_only_workload_with_the_documented_mantle_policy_needs_no_runtime_action(tmp_path: Path) -> None:
    # "Making inference requests", bedrock-mantle endpoint, plus ListModels (the workload lists models) and the
    # Mantle bearer action: no bedrock: action at all
    up = policies({"Effect": "Allow", "Action": ["bedrock-mantle:CreateInference", "bedrock-mantle:ListModels",
                                                 "bedrock-mantle:GetProject", "bedrock-mantle:ListProjects"],
                   "Resource": "*"}, allow("bedrock-mantle:CallWithBearerToken"))
    status, text = mantle_grants(up, tmp_path)
    assert status == "pass", text
    # the Mantle requirements still hold: without the bearer action the key cannot work there
    up = policies(allow(["bedrock-mantle:CreateInference", "bedrock-mantle:ListModels"]))
    status, text = mantle_grants(up, tmp_path)
    assert status == "fail" and "bedrock-mantle:CallWithBearerToken" in text and "bedrock:" not in text, text


def test_a_runtime_openai_only_workload_needs_invoke_model_on_the_openai_model_only(tmp_path: Path) -> None:
    up = policies({"Effect": "Allow", "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                   "Resource": GPT_ARN}, allow(["bedrock:CallWithBearerToken", "bedrock:ListFoundationModels"]))
    inv = FakeInventory(secret=secret('{"bedrock_api_key": "x", "region": "us-east-1"}'))
    cfg = config(tmp_path, '[endpoint]\nsurfaces = ["runtime-openai"]\n')
    status, text, _ = run(v.policy_grants_required, USER, up, cfg, inv, False, NOW)
    assert status == "pass", text
    # a grant on the Claude model alone does not serve Chat Completions on the OpenAI model
    up = policies(allow("bedrock:CallWithBearerToken"),
                  {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": CLAUDE_ARN})
    status, text, _ = run(v.policy_grants_required, USER, up, cfg, inv, False, NOW)
    assert status == "fail" and "openai.gpt-oss-20b-1:0" in text and "anthropic" not in text.split("lacks")[1], text


def test_explicit_required_actions_still_win_over_the_surface_defaults(tmp_path: Path) -> None:
    cfg = config(tmp_path, '[endpoint]\nsurfaces = ["mantle"]\n[policy]\nrequired_actions = '
                 '["bedrock-mantle:CallWithBearerToken", "bedrock:ListFoundationModels"]\n')
    up = policies(allow("bedrock-mantle:CallWithBearerToken"))
    inv = FakeInventory(secret=secret('{"bedrock_api_key": "x", "region": "us-east-1"}'))
    status, text, _ = run(v.policy_grants_required, USER, up, cfg, inv, False, NOW)
    assert status == "fail" and "bedrock:ListFoundationModels" in text, text


def test_a_mantle_deny_on_bedrocks_token_type_does_not_stop_the_key_on_mantle(tmp_path: Path) -> None:
    # bedrock:BearerTokenType is absent from a bedrock-mantle request, so StringEquals on it is false:
    # the grants row passes, as the live key (and the emulator) answer 200 there
    deny = {"Effect": "Deny", "Action": "bedrock-mantle:CallWithBearerToken", "Resource": "*",
            "Condition": {"StringEquals": {"bedrock:BearerTokenType": "LONG_TERM"}}}
    up = policies(allow(MANTLE_ACTIONS), deny)
    status, text = mantle_grants(up, tmp_path)
    assert status == "pass", text
    # Mantle's own token-type key is on the request: that Deny stops the key there
    deny["Condition"] = {"StringEquals": {"bedrock-mantle:BearerTokenType": "LONG_TERM"}}
    status, text = mantle_grants(policies(allow(MANTLE_ACTIONS), deny), tmp_path)
    assert status == "fail" and "bedrock-mantle:CallWithBearerToken (denied by" in text, text


# prose: what the Mantle actions are, and where the grant was judged
def _mantle_managed() -> UserPolicies:
    arn = "arn:aws:iam::aws:policy/AmazonBedrockMantleInferenceAccess"
    up = policies(allow(REQUIRED))
    up.documents.append(PolicyDoc("managed", "AmazonBedrockMantleInferenceAccess", arn, "v1", MANTLE_INFERENCE_V1))
    up.attached_arns.append(arn)
    return up


def test_least_privilege_does_not_call_mantle_a_second_endpoint_for_a_mantle_workload(tmp_path: Path) -> None:
    status, text, _ = run(v.policy_least_privilege, USER, _mantle_managed(),
                          config(tmp_path, '[endpoint]\nsurfaces = ["runtime", "mantle"]\n' + CFG_TOML.replace(
                              '["bedrock:CallWithBearerToken"', '["bedrock:CallWithBearerToken", '
                              '"bedrock-mantle:CallWithBearerToken", "bedrock-mantle:CreateInference", '
                              '"bedrock-mantle:ListModels"')))
    assert status == "fail" and "second endpoint" not in text, text
    assert "9 bedrock-mantle actions beyond what the workload's Mantle calls need" in text, text


def test_least_privilege_does_not_call_mantle_open_when_an_scp_closes_it_to_the_key(tmp_path: Path) -> None:
    from bedrock_key_audit.org_policies import Level, OrgPolicies, OrgPolicy

    scp = "SERVICE_CONTROL_POLICY"
    full = OrgPolicy("p-full", "FullAWSAccess", scp, {"Version": "2012-10-17", "Statement": [allow("*")]})
    no_mantle_keys = OrgPolicy("p-nomantle", "NoMantleKeys", scp, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "bedrock-mantle:CallWithBearerToken", "Resource": "*",
         "Condition": {"StringEquals": {"bedrock-mantle:BearerTokenType": "LONG_TERM"}}}]})
    org = OrgPolicies(ACCOUNT, True, "999988887777", (Level("r-root", "ROOT", (full, no_mantle_keys)),
                                                      Level(ACCOUNT, "ACCOUNT", (full,))))
    status, text, _ = run(v.policy_least_privilege, USER, _mantle_managed(), config(tmp_path, CFG_TOML),
                          FakeInventory(org=org))
    assert status == "fail" and "second endpoint" not in text, text
    assert "which the key cannot use: bedrock-mantle:CallWithBearerToken is denied by SCP NoMantleKeys" in text, text


def test_a_missing_grant_names_the_arn_in_the_region_it_was_judged_for(tmp_path: Path) -> None:
    up = policies(allow(["bedrock:CallWithBearerToken", "bedrock:ListFoundationModels"]),
                  {"Effect": "Allow", "Action": "bedrock:InvokeModel",
                   "Resource": "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-lite-v1"})
    status, text, _ = grants(up, tmp_path)
    assert status == "fail" and "${" not in text, text
    assert "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0" in text, text
