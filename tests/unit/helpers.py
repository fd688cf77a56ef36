"""Hand-built inventory objects and a runner for verdict functions (no emulator, no AWS, no pytest run).

``run(fn, *args)`` calls a verdict of :mod:`bedrock_key_audit.verdicts` with a fresh ``check``
recorder and returns ``(status, sentence, record)`` as the audit would report the row:
``fail`` when the verdict fails (``CheckFailed``), ``error`` when it cannot decide
(``CouldNotDecide``), else ``pass``.
"""
from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bedrock_key_audit.checkcore import Check, CheckFailed, CheckRecord, CouldNotDecide
from bedrock_key_audit.config import AuditConfig, load_config
from bedrock_key_audit.inventory.errors import ReadError
from bedrock_key_audit.inventory.models import Credential, HttpProbe, IamUser, Secret, SecretText

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.timezone.utc)
ACCOUNT = "123456789012"
USER = IamUser(name="key-user", exists=True, arn=f"arn:aws:iam::{ACCOUNT}:user/key-user", account_id=ACCOUNT,
               raw={"UserId": "AIDAEXAMPLEEXAMPLE01", "UserName": "key-user"})
ALIAS = f"key-user-at-{ACCOUNT}"
CMK = "arn:aws-us-gov:kms:us-gov-west-1:210987654321:key/k"


def config(tmp_path: Path | None = None, extra: str = "") -> AuditConfig:
    """The audit's defaults (no file), or defaults plus ``extra`` TOML."""
    if tmp_path is None or not extra:
        return load_config(None, root=Path("/nonexistent-audit-root"))
    path = tmp_path / "audit.toml"
    path.write_text(extra)
    return load_config(path)


def run(fn: Callable[..., Any], *args: Any, check_id: str = "x") -> tuple[str, str, CheckRecord]:
    rec = CheckRecord(check_id=check_id, title="", family=check_id.split(".")[0], severity="high", controls={},
                      nodeid="x")
    try:
        fn(Check(rec), *args)
    except CheckFailed as exc:
        return "fail", str(exc), rec
    except CouldNotDecide as exc:
        return "error", str(exc), rec
    return "pass", rec.detail, rec


def raw_key(alias: str = ALIAS, secret: str = "s3cr3t-part") -> str:
    return "ABSK" + base64.b64encode(f"{alias}:{secret}".encode()).decode()


def cred(cid: str = "ACCAEXAMPLEKEY000001", *, status: str = "Active", age_days: float = 1,
         lifetime_days: float | None = 180, alias: str | None = ALIAS) -> Credential:
    created = NOW - dt.timedelta(days=age_days)
    return Credential(id=cid, user_name=USER.name, status=status, create_date=created,
                      expiration_date=None if lifetime_days is None else created + dt.timedelta(days=lifetime_days),
                      alias=alias, service_user_name=None)


def secret(text: str | None = None, **kw: Any) -> Secret:
    base: dict[str, Any] = {"secret_id": "bedrock/api-key", "exists": True,
                            "arn": "arn:aws-us-gov:secretsmanager:us-gov-west-1:210987654321:secret:bedrock/api-key",
                            "kms_key_id": CMK}
    base.update(kw)
    s = Secret(**base)
    if text is not None:
        s.text = SecretText(text)
    return s


def probe(classification: str = "ok", status: int | None = 200, body: Any = None, message: str = "answered 200",
          name: str = "list_models") -> HttpProbe:
    return HttpProbe(name, "https://bedrock.us-east-1.amazonaws.com/foundation-models", status, classification,
                     message, 1, body)


class FakeInventory:
    """The few Inventory methods the verdicts call, answering from hand-set values.

    An attribute set to an exception is raised by its method (a read that failed)."""

    def __init__(self, **answers: Any):
        self.answers = answers
        # the audit's clock (Inventory.run_started); None: the verdicts fall back to real time
        self.run_started = answers.get("run_started")

    def _get(self, name: str, default: Any = None) -> Any:
        value = self.answers.get(name, default)
        if isinstance(value, BaseException):
            raise value
        return value

    def secret(self) -> Any:
        return self._get("secret")

    def user(self, name: str) -> Any:
        return self._get("user", USER)

    def user_policies(self, name: str) -> Any:
        """The key user's policies (``user_policies=``); unset: none (the key can call nothing)."""
        from bedrock_key_audit.inventory.models import UserPolicies

        return self._get("user_policies", UserPolicies(name, [], None, []))

    def org_policies(self, partition: str) -> Any:
        """The partition's SCPs/RCPs (``org=``); unset: an account in no organization (none apply)."""
        from bedrock_key_audit.org_policies import OrgPolicies

        return self._get("org", OrgPolicies(ACCOUNT, False))

    def secret_version(self, stage: str) -> Any:
        return self._get("versions", {}).get(stage, (None, None))

    def bearer_key(self) -> SecretText:
        key = self._get("key")
        if key is None:
            raise CouldNotDecide("secret bedrock/api-key has no bedrock_api_key string")
        return SecretText(key)

    def api_key(self) -> str:
        return self.bearer_key().reveal()

    def key_probe(self) -> HttpProbe:
        return self._get("key_probe", probe())

    def list_models(self) -> HttpProbe:
        return self._get("list_models")

    def invoke(self) -> HttpProbe:
        return self._get("invoke")

    def runtime_openai_chat(self) -> HttpProbe:
        return self._get("runtime_openai_chat")

    def mantle_models(self) -> HttpProbe:
        return self._get("mantle_models")

    def mantle_chat(self) -> HttpProbe:
        return self._get("mantle_chat")

    def kms_key(self, partition: str, key_id: str, region: str | None = None) -> Any:
        return self._get("kms_key")

    def trails(self, partition: str) -> Any:
        return self._get("trails")


__all__ = ["ACCOUNT", "ALIAS", "CMK", "NOW", "USER", "FakeInventory", "ReadError", "config", "cred", "probe",
           "raw_key", "run", "secret"]
