"""[[accounts]]: each account is audited as its own parametrized set; pytest-xdist can spread them."""
from __future__ import annotations

import json

from tests.audit.helpers import ALL_ROWS, CHECKS, ROOT, run_audit, statuses

# both key users are sanctioned, by the organization's SCP and by the auditor (an SCP exempting a
# user credential.allowed_key_users does not name fails org.long_term_keys_confined)
SANCTIONED = """
[credential]
allowed_key_users = ["arn:aws:iam::123456789012:user/bedrock-cross-partition-user",
                     "arn:aws:iam::123456789012:user/dev-bot"]
"""
TWO_ACCOUNTS = """
[[accounts]]
name = "prod"

[[accounts]]
name = "dev"
user = { name = "dev-bot" }
secret = { id = "dev-creds" }
"""


def _dev_account(emu):
    """dev: a second keyed user whose secret holds its key; its policy is the guide's full access."""
    # (the compliant organization sanctions dev-bot too: its SCP confines long-term keys)
    from bedrock_key_audit.emulator.scenarios_org import sanction_key_users

    sanction_key_users("dev-bot")
    iam = emu.client("iam", "commercial")
    iam.create_user(UserName="dev-bot")
    iam.attach_user_policy(UserName="dev-bot", PolicyArn="arn:aws:iam::aws:policy/AmazonBedrockFullAccess")
    key = iam.create_service_specific_credential(UserName="dev-bot", ServiceName="bedrock.amazonaws.com",
                                                 CredentialAgeDays=90)["ServiceSpecificCredential"]["ServiceCredentialSecret"]
    sm = emu.client("secretsmanager", "govcloud")
    kms = sm.describe_secret(SecretId="cross-partition-commercial-creds")["KmsKeyId"]
    sm.create_secret(Name="dev-creds", KmsKeyId=kms,
                     SecretString=json.dumps({"bedrock_api_key": key, "region": "us-east-1"}))


def test_each_account_is_its_own_set_of_rows(pytester, tmp_path):
    cfg = tmp_path / "accounts.toml"
    cfg.write_text(SANCTIONED + TWO_ACCOUNTS)
    got = statuses(run_audit(pytester, "compliant", f"--audit-config={cfg}", setup=_dev_account))

    def rows(account):
        out = {}
        for row, status in got.items():
            check, _, params = row.partition("[")
            parts = params.rstrip("]").split(",")
            if account in parts:
                rest = [p for p in parts if p != account]
                out[check + (f"[{rest[0]}]" if rest else "")] = status
        return out

    prod, dev = rows("prod"), rows("dev")
    assert sorted(prod) == sorted(ALL_ROWS) and sorted(dev) == sorted(ALL_ROWS)
    assert set(prod.values()) == {"pass"}
    # dev differs only where its own user differs: full access is not least-privilege, and opens Mantle
    assert {r for r, s in dev.items() if s != "pass"} == {"iam.policy_least_privilege", "endpoint.unused_surfaces_closed"}


def test_accounts_run_in_parallel_with_xdist(pytester, tmp_path):
    cfg = tmp_path / "accounts.toml"
    cfg.write_text(TWO_ACCOUNTS.replace('user = { name = "dev-bot" }\nsecret = { id = "dev-creds" }\n', ""))
    result = pytester.runpytest_subprocess(
        str(CHECKS), f"--rootdir={ROOT}", "-c", str(ROOT / "pyproject.toml"), "-p", "no:cacheprovider",
        "--no-reports", "--emulate=compliant", f"--audit-config={cfg}", "-n", "2", "--dist", "loadgroup",
    )
    result.assert_outcomes(passed=2 * len(ALL_ROWS))
    assert "2 workers" in result.stdout.str()
