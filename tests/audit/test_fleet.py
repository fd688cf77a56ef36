"""--all-keys: every IAM user holding a Bedrock key gets its own row per user check."""
from __future__ import annotations

import contextlib
import json

from bedrock_key_audit import registry

from tests.audit.helpers import run_audit, statuses

# the checks about a user get one row per keyed user; the secret's and the endpoints' run for its owner only
# (iam.key_minting_restricted asks who in the account may mint: one row per account, not per user)
USER_CHECKS = tuple(i for i in registry.ids_of("iam", "credential") if i != "iam.key_minting_restricted")
SECRET_CHECKS = registry.ids_of("secret", "endpoint")
OWNER = "bedrock-cross-partition-user"


@contextlib.contextmanager
def _cap_not_yet_attached():
    """The compliant organization's CapBedrockKeyAge SCP allows everything meanwhile (as before it was attached)."""
    from moto.organizations.models import organizations_backends

    from bedrock_key_audit.emulator.scenarios_org import MANAGEMENT

    caps = [p for p in organizations_backends[MANAGEMENT["commercial"]]["aws"].policies if p.name == "CapBedrockKeyAge"]
    saved = [p.content for p in caps]
    for p in caps:
        p.content = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    try:
        yield
    finally:
        for p, content in zip(caps, saved, strict=True):
            p.content = content


def _add_keyed_users(emu):
    # the compliant organization sanctions these keyed users too (its SCP confines long-term keys)
    from bedrock_key_audit.emulator.scenarios_org import sanction_key_users

    sanction_key_users("team-a-bot", "team-b-bot")
    iam = emu.client("iam", "commercial")
    arn = next(p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"])
    for name, age in (("team-a-bot", 90), ("team-b-bot", None)):
        iam.create_user(UserName=name)
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
        kwargs = {"CredentialAgeDays": age} if age else {}
        # team-b-bot's never-expiring key predates the organization's key-age cap (SCPs bind the member
        # account's root too, so no one could mint it under the cap)
        with _cap_not_yet_attached() if age is None else contextlib.nullcontext():
            iam.create_service_specific_credential(UserName=name, ServiceName="bedrock.amazonaws.com", **kwargs)
    iam.create_user(UserName="no-key-user")  # holds no Bedrock key: not part of the fleet


def test_all_keys_rows_per_user(pytester):
    # the auditor sanctions the same key users as the organization's SCP (an SCP exempting a user
    # credential.allowed_key_users does not name fails org.long_term_keys_confined)
    cfg = pytester.path / "fleet.toml"
    arns = ", ".join(f'"arn:aws:iam::123456789012:user/{n}"' for n in (OWNER, "team-a-bot", "team-b-bot"))
    cfg.write_text(f"[credential]\nallowed_key_users = [{arns}]\n")
    rows = run_audit(pytester, "compliant", "--all-keys", f"--audit-config={cfg}", setup=_add_keyed_users)
    got = statuses(rows)
    users = {OWNER, "team-a-bot", "team-b-bot"}
    # one minting row for the account, naming every other user who holds a Bedrock key
    assert got["iam.key_minting_restricted"] == "pass"
    assert "other users holding a Bedrock key: team-a-bot, team-b-bot" in rows["iam.key_minting_restricted"]["detail"]
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
