"""The GovCloud secret in every wrong shape: the secret rows end ``fail`` (the setup is wrong)
or ``error`` (nothing could be read), the endpoint rows ``error`` when no usable key can be
read from it -- and no record, verdict or terminal line ever carries the secret's value.

Already covered elsewhere (see docs/reliability.md): a missing secret, a value that is not
JSON and a key of a deleted credential (tests/audit/test_scenarios.py: secret_missing,
secret_not_json, secret_foreign_key); KMS decrypt denied (tests/audit/test_read_errors.py).
"""
from __future__ import annotations

import base64
import json

import pytest

from tests.hostile.helpers import BEDROCK, SECRET, USER, audit, expect, records_text

# A recognisable value planted in every hostile secret: it must never come back out.
CANARY = "CANARY-d41d8cd98f00b204e9800998ecf8427e"
SM = ("secretsmanager", "govcloud")
UNUSABLE = {"endpoint.list_models": ("error", None), "endpoint.invoke": ("error", None),
            "endpoint.unused_surfaces_closed": ("error", None)}
# an unreadable secret hides the region the workload calls Bedrock in: logging there is unknown
NO_REGION = {"bedrock.invocation_logging": ("error", "the secret's region cannot be read")}


def _current_key(emu) -> str:
    return json.loads(emu.client(*SM).get_secret_value(SecretId=SECRET)["SecretString"])["bedrock_api_key"]


def _secret_part(key: str) -> str:
    return base64.b64decode(key[4:] + "=" * (-len(key[4:]) % 4)).decode().partition(":")[2]


def _run(pytester, capsys, make_value, *, string=True):
    """Replace the secret's current value with ``make_value(real_key)``; audit; check nothing leaked."""
    planted: dict[str, str] = {}

    def setup(emu):
        key = _current_key(emu)
        planted["key"], planted["secret"] = key, _secret_part(key)
        value = make_value(key)
        kwargs = {"SecretString": value} if string else {"SecretBinary": value}
        emu.client(*SM).put_secret_value(SecretId=SECRET, **kwargs)

    capsys.readouterr()
    rows = audit(pytester, setup)
    out = capsys.readouterr()
    text = records_text(rows) + out.out + out.err
    for name, value in (("canary", CANARY), ("key", planted["key"]), ("key secret", planted["secret"])):
        assert value not in text, f"the secret's {name} leaked into a record or the terminal"
    return rows


def _doc(**fields):
    return json.dumps(fields)


def test_secret_pending_deletion(pytester, capsys):
    def setup(emu):
        emu.client(*SM).put_secret_value(SecretId=SECRET, SecretString=_doc(bedrock_api_key=CANARY, region="us-east-1"))
        emu.client(*SM).delete_secret(SecretId=SECRET, RecoveryWindowInDays=7)
    capsys.readouterr()
    rows = audit(pytester, setup)
    assert CANARY not in records_text(rows) + capsys.readouterr().out
    expect(rows, {"secret.exists": ("fail", "scheduled for deletion"),
                  "secret.schema": ("error", "pending deletion"),
                  "secret.key_matches_credential": ("error", "pending deletion"),
                  "endpoint.list_models": ("error", "scheduled for deletion"),
                  "endpoint.invoke": ("error", "scheduled for deletion"),
                  "endpoint.unused_surfaces_closed": ("error", "scheduled for deletion"),
                  "secret.readers_restricted": ("error", "pending deletion"),
                  "secret.replicas_in_sync": ("error", "scheduled for deletion"), **NO_REGION})


def test_secret_binary_instead_of_string(pytester, capsys):
    rows = _run(pytester, capsys, lambda key: (CANARY + key).encode(), string=False)
    expect(rows, {"secret.schema": ("fail", "holds SecretBinary"),
                  "secret.key_matches_credential": ("fail", "binary data"), **UNUSABLE, **NO_REGION})


@pytest.mark.parametrize("value", [
    pytest.param(lambda key: json.dumps([key, CANARY]), id="list"),
    pytest.param(lambda key: json.dumps(key + CANARY), id="string"),
])
def test_secret_json_of_the_wrong_type(pytester, capsys, value):
    rows = _run(pytester, capsys, value)
    expect(rows, {"secret.schema": ("fail", "(top level) must be a JSON object"),
                  "secret.key_matches_credential": ("fail", "has no bedrock_api_key string"), **UNUSABLE,
                  **NO_REGION})


def test_secret_missing_field(pytester, capsys):
    rows = _run(pytester, capsys, lambda key: _doc(bedrock_api_key=key))
    # no region: where the workload calls Bedrock is unknown, so the endpoint rows cannot decide
    # (the key itself is confirmed live in the audit's configured region)
    expect(rows, {"secret.schema": ("fail", "missing field region"),
                  "endpoint.list_models": ("error", "names no region"),
                  "endpoint.invoke": ("error", "names no region"),
                  "endpoint.unused_surfaces_closed": ("error", "names no region"), **NO_REGION})


def test_secret_extra_field(pytester, capsys):
    rows = _run(pytester, capsys, lambda key: _doc(bedrock_api_key=key, region="us-east-1", note=CANARY))
    expect(rows, {"secret.schema": ("fail", "unexpected field(s) note")})


def test_secret_field_of_the_wrong_type_and_format(pytester, capsys):
    rows = _run(pytester, capsys, lambda key: _doc(bedrock_api_key=[key, CANARY], region=CANARY))
    expect(rows, {"secret.schema": ("fail", "bedrock_api_key must be a JSON string"),
                  "secret.key_matches_credential": ("fail", "has no bedrock_api_key string"), **UNUSABLE})
    assert "region is not a commercial AWS region name" in rows["secret.schema"]["detail"]


def test_secret_empty_key(pytester, capsys):
    rows = _run(pytester, capsys, lambda key: _doc(bedrock_api_key="", region="us-east-1", **{}))
    expect(rows, {"secret.schema": ("fail", "bedrock_api_key is empty"),
                  "secret.key_matches_credential": ("fail", "has no bedrock_api_key string"), **UNUSABLE})


def test_secret_short_term_key(pytester, capsys):
    short = "bedrock-api-key-" + base64.b64encode(
        f"bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Signature={CANARY}".encode()).decode()
    rows = _run(pytester, capsys, lambda key: _doc(bedrock_api_key=short, region="us-east-1"))
    expect(rows, {"secret.schema": ("fail", "short-term key"),
                  "secret.key_matches_credential": ("fail", "short-term format"),
                  # Bedrock refuses it (the emulator knows no such key): the setup is wrong
                  "endpoint.list_models": ("fail", "the key was refused"),
                  "endpoint.invoke": ("fail", "the key was refused")})
    assert short not in records_text(rows)


def test_secret_key_of_another_user(pytester, capsys):
    other: dict[str, str] = {}

    def value(key):
        return _doc(bedrock_api_key=other["key"], region="us-east-1")

    def setup(emu):
        iam = emu.client("iam")
        iam.create_user(UserName="other-bot")
        arn = next(p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"])
        iam.attach_user_policy(UserName="other-bot", PolicyArn=arn)
        made = iam.create_service_specific_credential(UserName="other-bot", ServiceName=BEDROCK, CredentialAgeDays=90)
        other["key"] = made["ServiceSpecificCredential"]["ServiceCredentialSecret"]
        emu.client(*SM).put_secret_value(SecretId=SECRET, SecretString=value(None))

    capsys.readouterr()
    rows = audit(pytester, setup)
    assert other["key"] not in records_text(rows) + capsys.readouterr().out
    # The row that ties the key to the audited user is the one that must fail. The key is a valid key of a user
    # with the same policy, but the compliant organization's SCP confines long-term keys to the audited user, so
    # the endpoint refuses it, and the endpoint rows say which SCP refused it.
    expect(rows, {"secret.key_matches_credential": ("fail", f"belongs to user other-bot, not {USER}"),
                  "endpoint.list_models": ("fail", "service control policy"),
                  "endpoint.invoke": ("fail", "service control policy")})


def test_secret_deeply_nested_json(pytester, capsys):
    # 20 000 levels: 40 kB, inside Secrets Manager's 64 kB limit, beyond json's recursion limit
    rows = _run(pytester, capsys, lambda key: "[" * 20000 + json.dumps(CANARY) + "]" * 20000)
    expect(rows, {"secret.schema": ("fail", None), "secret.key_matches_credential": ("fail", None), **UNUSABLE,
                  **NO_REGION})
