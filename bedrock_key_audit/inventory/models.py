"""The data the inventory's reads return (plain data classes; the key only inside ``SecretText``)."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from bedrock_key_audit.access import Principal, principal_of_caller
from bedrock_key_audit.redaction import known


@dataclasses.dataclass
class IamUser:
    name: str
    exists: bool
    arn: str | None = None
    account_id: str | None = None
    create_date: dt.datetime | None = None
    permissions_boundary_arn: str | None = None
    raw: dict[str, Any] | None = None


@dataclasses.dataclass
class PolicyDoc:
    kind: str  # "managed" | "inline" | "group-managed" | "group-inline" | "boundary"
    name: str
    arn: str | None
    version_id: str | None
    document: Any
    via_group: str | None = None

    @property
    def label(self) -> str:
        where = f" (via group {self.via_group})" if self.via_group else ""
        if self.kind.endswith("inline"):
            return f"inline policy {self.name}{where}"
        if self.kind == "boundary":
            return f"permissions boundary {self.name}"
        return f"managed policy {self.name}{where}"


@dataclasses.dataclass
class UserPolicies:
    user: str
    documents: list[PolicyDoc]
    boundary: PolicyDoc | None
    attached_arns: list[str]


@dataclasses.dataclass
class OtherCredentials:
    """Every credential of a user other than its Bedrock API keys (metadata only, never secrets)."""

    login_profile: bool
    access_keys: list[dict[str, Any]]
    signing_certificates: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    ssh_public_keys: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    # service-specific credentials for services other than bedrock.amazonaws.com (CodeCommit, Keyspaces)
    service_credentials: list[dict[str, Any]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Credential:
    id: str
    user_name: str
    status: str
    create_date: dt.datetime
    expiration_date: dt.datetime | None
    alias: str | None
    service_user_name: str | None

    @classmethod
    def from_api(cls, d: dict[str, Any]) -> Credential:
        return cls(
            id=d["ServiceSpecificCredentialId"],
            user_name=d["UserName"],
            status=d["Status"],
            create_date=d["CreateDate"],
            expiration_date=d.get("ExpirationDate"),
            alias=d.get("ServiceCredentialAlias"),
            service_user_name=d.get("ServiceUserName"),
        )

    def effective_status(self, now: dt.datetime) -> str:
        """``Expired`` once past ExpirationDate even if IAM has not flipped the status yet."""
        if self.status == "Active" and self.expiration_date is not None and self.expiration_date <= now:
            return "Expired"
        return self.status

    def days_left(self, now: dt.datetime) -> float | None:
        if self.expiration_date is None:
            return None
        return (self.expiration_date - now).total_seconds() / 86400

    @property
    def short_id(self) -> str:
        return self.id[:8] + "…"


class SecretText:
    """The secret's string, kept out of every repr, log line and traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value
        known.remember((value,))  # any piece of a key held here is masked wherever it turns up

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<SecretText ***REDACTED***>"

    __str__ = __repr__


@dataclasses.dataclass
class Secret:
    secret_id: str
    exists: bool
    arn: str | None = None
    name: str | None = None
    deleted_date: dt.datetime | None = None
    kms_key_id: str | None = None
    rotation_enabled: bool = False
    last_changed: dt.datetime | None = None
    describe: dict[str, Any] | None = None
    #: the Region DescribeSecret looked in (Secrets Manager is regional: a secret exists in one Region)
    region: str | None = None
    # value: exactly one of these is set once read
    text: SecretText | None = dataclasses.field(default=None, repr=False)
    binary: bool = False
    value_error: str | None = None

    @property
    def pending_deletion(self) -> bool:
        return self.deleted_date is not None


@dataclasses.dataclass
class Trail:
    partition: str
    name: str
    arn: str
    home_region: str
    multi_region: bool
    global_events: bool
    log_file_validation: bool
    kms_key_id: str | None
    organization: bool
    shadow: bool
    is_logging: bool | None = None
    latest_delivery_error: str | None = None
    event_selectors: list[dict[str, Any]] | None = None
    advanced_event_selectors: list[dict[str, Any]] | None = None
    status_error: str | None = None
    selectors_error: str | None = None
    raw: dict[str, Any] | None = None
    # kms:DescribeKey of KmsKeyId (read in the key's own region): KeyMetadata, or the read error
    kms_key: dict[str, Any] | None = None
    kms_error: str | None = None


@dataclasses.dataclass
class DecodedKey:
    kind: str  # "long-term" | "short-term" | "unknown"
    identity: str | None = None  # the part before ':' — the credential's public alias
    user_name: str | None = None
    account_id: str | None = None


# RFC 6750 section 2.1: the credentials of "Authorization: Bearer <token>" are a b64token,


@dataclasses.dataclass
class HttpProbe:
    """One Bedrock endpoint call made with the key."""

    name: str
    url: str  # without query secrets; the key is only ever in the Authorization header
    status: int | None
    classification: str  # ok | bad_key | forbidden | model_unavailable | throttled | timeout | network | server_error | malformed | client_error | malformed_key | bad_region | client_failure
    message: str
    attempts: int
    body: Any = None


def missing_secret(secret: Secret) -> str:
    """The sentence for a secret DescribeSecret did not find: Secrets Manager is regional (a secret
    lives in the one Region it was created in, "What is AWS Secrets Manager?",
    https://docs.aws.amazon.com/secretsmanager/latest/userguide/intro.html), so it names the Region
    looked in and says the secret may be in another Region of the partition."""
    where = f"GovCloud Region {secret.region}" if secret.region else "GovCloud"
    return (f"secret {secret.secret_id} does not exist in {where} (Secrets Manager is regional: if it is in another "
            "GovCloud Region, set partitions.govcloud.region to that Region; `bedrock-key-audit doctor` looks for it)")


@dataclasses.dataclass
class AccountAuthorization:
    """One partition's users, groups, roles and policies, as principals with their statements."""

    partition: str
    principals: list[Principal]
    users: list[tuple[str, dict[str, str]]]  # every user's ARN and tags
    counts: dict[str, int]
    caller: dict[str, Any]
    gaad: dict[str, Any] = dataclasses.field(default_factory=dict)  # the merged answer (escalation paths)
    managed: dict[str, Any] = dataclasses.field(default_factory=dict)  # AWS managed policy ARN -> document

    def caller_principal(self) -> Principal | None:
        return principal_of_caller(self.caller.get("Arn"), self.principals)

    def user_arn(self, name: str) -> str | None:
        """The ARN of IAM user ``name`` (IAM user names ignore case), or None when there is none."""
        return next((arn for arn, _ in self.users if arn.rsplit("/", 1)[-1].lower() == name.lower()), None)


@dataclasses.dataclass(frozen=True)
class Replica:
    """One replica of the secret: its Region, ARN and KMS key (None: that Region's aws/secretsmanager)."""

    region: str
    arn: str
    kms_key_id: str | None
    status: str
