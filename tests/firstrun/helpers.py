"""AWS configuration the way real users hold it, pointed at the in-process emulator."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from bedrock_key_audit.emulator.partitions import PARTITION_KEYS

COMMERCIAL, GOV = "123456789012", "210987654321"


def aws_files(monkeypatch, tmp_path: Path, emu, config: str = "", credentials: str = "") -> None:
    """``AWS_CONFIG_FILE`` / ``AWS_SHARED_CREDENTIALS_FILE`` in ``tmp_path``, HOME there too (no SSO
    token cache of this machine), the endpoint at the emulator and no credentials in the environment."""
    for k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
              "AWS_BEARER_TOKEN_BEDROCK", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(k, raising=False)
    (tmp_path / "aws-config").write_text(config)
    (tmp_path / "aws-credentials").write_text(credentials)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for k in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"):
        monkeypatch.setenv(k, emu.url)


def key_profile(name: str, partition: str) -> str:
    """A credentials-file profile holding the emulator's fixed key of ``partition``."""
    key, secret = PARTITION_KEYS[partition]
    return f"[{name}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"


def two_profiles() -> str:
    return key_profile("commercial", "commercial") + key_profile("govcloud", "govcloud")


def credential_process_profile(tmp_path: Path, name: str, partition: str) -> str:
    """A config-file profile whose credentials come from ``credential_process`` (a script printing JSON)."""
    key, secret = PARTITION_KEYS[partition]
    script = tmp_path / f"creds-{name}.py"
    script.write_text("import json\nprint(json.dumps(" + repr({"Version": 1, "AccessKeyId": key,
                                                               "SecretAccessKey": secret}) + "))\n")
    return f"[profile {name}]\ncredential_process = {sys.executable} {script}\n"


def assume_role_setup(emu, partition: str, role: str = "auditor-role") -> str:
    """A role in the partition's account trusting that account; returns its ARN."""
    arn_p = "aws" if partition == "commercial" else "aws-us-gov"
    account = emu.accounts[partition]
    emu.client("iam", partition).create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:{arn_p}:iam::{account}:root"},
                                                "Action": "sts:AssumeRole"}]}))
    return f"arn:{arn_p}:iam::{account}:role/{role}"


def sso_profile(name: str) -> str:
    return (f"[profile {name}]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n"
            f"sso_account_id = {COMMERCIAL}\nsso_role_name = Auditor\nregion = us-east-1\n")


def audit_toml(tmp_path: Path, commercial: str | None = "commercial", govcloud: str | None = "govcloud",
               extra: str = "") -> Path:
    lines = []
    for part, prof, region in (("commercial", commercial, "us-east-1"), ("govcloud", govcloud, "us-gov-west-1")):
        lines.append(f"[partitions.{part}]\nregion = \"{region}\"\n" + (f"profile = \"{prof}\"\n" if prof else ""))
    path = tmp_path / "audit.toml"
    path.write_text("\n".join(lines) + extra)
    return path
