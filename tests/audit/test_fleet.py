"""--all-keys: every IAM user holding a Bedrock key gets its own row per user check."""
from __future__ import annotations

from tests.audit.helpers import run_audit, statuses

USER_CHECKS = ("iam.user_exists", "iam.user_no_other_credentials", "iam.policy_least_privilege",
               "iam.policy_grants_required", "credential.active", "credential.unexpired",
               "credential.bounded_lifetime", "credential.single_active", "credential.recently_used")
SECRET_CHECKS = ("secret.exists", "secret.schema", "secret.key_matches_credential", "secret.encrypted_with_cmk",
                 "endpoint.list_models", "endpoint.invoke")
OWNER = "bedrock-cross-partition-user"


def _add_keyed_users(emu):
    iam = emu.client("iam", "commercial")
    arn = next(p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"])
    for name, age in (("team-a-bot", 90), ("team-b-bot", None)):
        iam.create_user(UserName=name)
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
        kwargs = {"CredentialAgeDays": age} if age else {}
        iam.create_service_specific_credential(UserName=name, ServiceName="bedrock.amazonaws.com", **kwargs)
    iam.create_user(UserName="no-key-user")  # holds no Bedrock key: not part of the fleet


def test_all_keys_rows_per_user(pytester):
    got = statuses(run_audit(pytester, "compliant", "--all-keys", setup=_add_keyed_users))
    users = {OWNER, "team-a-bot", "team-b-bot"}
    for check in USER_CHECKS:
        assert {u for u in users if f"{check}[{u}]" in got} == users, check
    assert not any("no-key-user" in row for row in got)
    # the one finding of the fleet: team-b-bot's key never expires
    failing = {row for row, status in got.items() if status == "fail"}
    assert failing == {"credential.bounded_lifetime[team-b-bot]"}
    # the secret holds the owner's key: its rows run for the owner and are skipped for the others
    for check in SECRET_CHECKS:
        assert got[f"{check}[{OWNER}]"] == "pass", check
        assert got[f"{check}[team-a-bot]"] == "skip", check
    # cloudtrail is per partition, not per user
    assert got["cloudtrail.logging[commercial]"] == "pass"
    assert not any(row.startswith("cloudtrail.") and "bot" in row for row in got)
