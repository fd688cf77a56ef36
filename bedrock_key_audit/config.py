"""Audit configuration: ``audit.toml`` (or ``--audit-config PATH``), schema-checked.

A bad file stops the run before any AWS call, with one line naming the key and the
problem (:class:`ConfigError`), and pytest's usage-error exit status (4).
"""
from __future__ import annotations

import copy
import dataclasses
import fnmatch
import functools
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import jsonschema

from bedrock_key_audit import resources

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: the configuration file read without --audit-config: audit.toml in the rootdir (the run passes
#: ``config.rootpath``: the project root in the checkout, the current directory for the console
#: script); callers that pass no directory get the current directory's
DEFAULT_PATH = Path("audit.toml")
SCHEMA_PATH = resources.schema("config.schema.json")

GUIDE_ACTIONS = [
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
    "bedrock:ListFoundationModels",
    "bedrock:GetFoundationModel",
    "bedrock:CreateInferenceProfile",
    "bedrock:GetInferenceProfile",
    "bedrock:ListInferenceProfiles",
    "bedrock:DeleteInferenceProfile",
    "bedrock:TagResource",
    "bedrock:UntagResource",
    "bedrock:ListTagsForResource",
]

#: the IAM action that admits a bearer (API-key) call on each Bedrock surface.  "Control permissions for
#: generating and using Amazon Bedrock API keys"
#: (https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys-permissions.html): bedrock-runtime admits
#: the key through bedrock:CallWithBearerToken, bedrock-mantle through bedrock-mantle:CallWithBearerToken.
#: runtime and runtime-openai are one host, so one action.
SURFACE_BEARER_ACTIONS: dict[str, str] = {
    "runtime": "bedrock:CallWithBearerToken",
    "runtime-openai": "bedrock:CallWithBearerToken",
    "mantle": "bedrock-mantle:CallWithBearerToken",
}

#: what a Mantle call needs beyond its bearer action: the Service Authorization Reference's "Actions, resources,
#: and condition keys for Amazon Bedrock Powered by AWS Mantle"
#: (https://docs.aws.amazon.com/service-authorization/latest/reference/list_bedrock-mantle.html) lists
#: ListModels and CreateInference on the project resource, the two calls the workload makes there.
SURFACE_CALL_ACTIONS: dict[str, list[str]] = {
    "mantle": ["bedrock-mantle:CreateInference", "bedrock-mantle:ListModels"],
}

#: what each surface's calls need besides its bearer action, when ``policy.required_actions`` is not given.
#: "Making inference requests" (https://docs.aws.amazon.com/bedrock/latest/userguide/inference.html) gives one
#: permission set per endpoint: bedrock-runtime's (the setup guide's actions, judged on ``endpoint.model_id``),
#: and bedrock-mantle's (bedrock-mantle actions only, nothing of ``bedrock:``).  "Invoke a model with the OpenAI
#: Chat Completions API" (https://docs.aws.amazon.com/bedrock/latest/userguide/inference-chat-completions.html):
#: bedrock-runtime's ``/openai/v1`` is authorized as ``bedrock:InvokeModel`` on the model the request names
#: (``endpoint.openai_model_id``), so a ``runtime-openai``-only workload needs no guide action on model_id;
#: it lists models with ``bedrock:ListFoundationModels`` (what endpoint.list_models probes for it, as Mantle's
#: workload lists them with ``bedrock-mantle:ListModels``).
SURFACE_DEFAULT_ACTIONS: dict[str, list[str]] = {
    "runtime": list(GUIDE_ACTIONS),
    "runtime-openai": ["bedrock:InvokeModel", "bedrock:ListFoundationModels"],
    "mantle": list(SURFACE_CALL_ACTIONS["mantle"]),
}

DEFAULTS: dict[str, Any] = {
    "user": {"name": "bedrock-cross-partition-user"},
    "partitions": {
        "commercial": {"region": "us-east-1"},
        "govcloud": {"region": "us-gov-west-1"},
    },
    "policy": {
        "required_actions": ["bedrock:CallWithBearerToken", *GUIDE_ACTIONS],
        "forbidden_policies": ["AmazonBedrockFullAccess", "AdministratorAccess", "PowerUserAccess", "IAMFullAccess"],
    },
    "credential": {"max_key_age_days": 180, "rotate_before_days": 30, "max_unused_days": 90},
    "secret": {"id": "cross-partition-commercial-creds"},
    "endpoint": {
        "model_id": "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "timeout_seconds": 10,
        "max_attempts": 3,
        "surfaces": ["runtime"],
        "openai_model_id": "openai.gpt-oss-20b-1:0",
        "mantle_project": "default",
    },
}

BEDROCK_SERVICE = "bedrock.amazonaws.com"
PARTITIONS = ("commercial", "govcloud")
# which AWS partition each configured partition must live in
_REGION_PARTITION = {"commercial": re.compile(r"^(?!us-gov-)(?!cn-)(?!us-iso)[a-z]{2}-[a-z]+-\d$"),
                     "govcloud": re.compile(r"^us-gov-(west|east)-1$")}


class ConfigError(Exception):
    """The configuration cannot be used; the message is one line naming the key and the problem.

    The pytest wiring (``bedrock_key_audit.fixtures.config``) turns it into ``pytest.UsageError``,
    which pytest reports as that one line with its usage-error exit status (4)."""


@dataclasses.dataclass(frozen=True)
class AuditConfig:
    """The validated configuration; ``data`` is the defaults merged with the file."""

    path: Path | None
    data: dict[str, Any]
    sha256: str
    account: str = "default"
    account_views: dict[str, "AuditConfig"] | None = None
    #: the file that was looked for when none was read (``audit.toml`` in the rootdir)
    looked_for: Path | None = None

    @property
    def source(self) -> str:
        """Where the configuration came from, said loudly when no file was read: the built-in
        defaults are the setup guide's names, which audit nothing of a real account by accident."""
        if self.path is not None:
            return str(self.path)
        where = self.looked_for or DEFAULT_PATH
        try:
            shown = "./" + str(where.resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            shown = str(where)
        return f"built-in defaults (no {shown})"

    def accounts(self) -> dict[str, "AuditConfig"]:
        """Every audited account's view of the configuration (one, ``default``, unless ``[[accounts]]``)."""
        return dict(self.account_views) if self.account_views else {self.account: self}

    @property
    def multi_account(self) -> bool:
        return bool(self.account_views)

    @property
    def user_name(self) -> str:
        name: str = self.data["user"]["name"]
        return name

    def region(self, partition: str) -> str:
        region: str = self.data["partitions"][partition]["region"]
        return region

    def partition_account(self, partition: str) -> str | None:
        """``partitions.<p>.account``: the 12-digit account the partition's policy is attached in (None: not set)."""
        account: str | None = self.data["partitions"][partition].get("account")
        return account

    def profile(self, partition: str) -> str | None:
        profile: str | None = self.data["partitions"][partition].get("profile")
        return profile

    @property
    def required_actions(self) -> list[str]:
        return list(self.data["policy"]["required_actions"])

    @property
    def forbidden_policies(self) -> list[str]:
        return list(self.data["policy"]["forbidden_policies"])

    @property
    def policy_context(self) -> dict[str, Any]:
        """``[policy.context]``: request-context keys only the user knows (e.g. ``aws:SourceIp``)."""
        return dict(self.data["policy"].get("context") or {})

    @property
    def absent_context_keys(self) -> list[str]:
        """``policy.absent_context_keys``: keys the key's calls never carry (e.g. ``aws:SourceVpce``)."""
        return list(self.data["policy"].get("absent_context_keys") or [])

    @property
    def max_key_age_days(self) -> int:
        return int(self.data["credential"]["max_key_age_days"])

    @property
    def rotate_before_days(self) -> int:
        return int(self.data["credential"]["rotate_before_days"])

    @property
    def waivers(self) -> list[Any]:
        """``[[waivers]]`` as :class:`bedrock_key_audit.reporting.waivers.Waiver` (validated at load)."""
        from bedrock_key_audit.reporting.waivers import parse_waivers

        return parse_waivers(self.data.get("waivers") or [], None)

    @property
    def max_unused_days(self) -> int:
        """``credential.max_unused_days``: credential.recently_used fails past this many days without use."""
        return int(self.data["credential"]["max_unused_days"])

    @property
    def allowed_source_cidrs(self) -> list[str] | None:
        """``credential.allowed_source_cidrs``: where calls with the key may come from (None: not judged)."""
        cidrs = self.data["credential"].get("allowed_source_cidrs")
        return None if cidrs is None else list(cidrs)

    @property
    def secret_id(self) -> str:
        secret_id: str = self.data["secret"]["id"]
        return secret_id

    @property
    def allowed_readers(self) -> list[str]:
        """``secret.allowed_readers``: principal ARNs that may read the secret (secret.readers_restricted)."""
        return list(self.data["secret"].get("allowed_readers") or [])

    @property
    def auditors(self) -> list[str]:
        """``secret.auditors``: principal ARNs that run the audit and must keep reading the secret."""
        return list(self.data["secret"].get("auditors") or [])

    @property
    def allowed_minters(self) -> list[str]:
        """``credential.allowed_minters``: principal ARNs that may mint a Bedrock key (iam.key_minting_restricted)."""
        return list(self.data["credential"].get("allowed_minters") or [])

    @property
    def allowed_key_users(self) -> list[str] | None:
        """``credential.allowed_key_users``: the principals long-term Bedrock keys are confined to
        (org.long_term_keys_confined); None when unset (the checks use the key's user)."""
        got = self.data["credential"].get("allowed_key_users")
        return None if got is None else list(got)

    @property
    def model_id(self) -> str:
        model_id: str = self.data["endpoint"]["model_id"]
        return model_id

    @property
    def timeout_seconds(self) -> float:
        return float(self.data["endpoint"]["timeout_seconds"])

    @property
    def max_attempts(self) -> int:
        return int(self.data["endpoint"]["max_attempts"])

    @property
    def surfaces(self) -> list[str]:
        """``endpoint.surfaces``: the Bedrock surfaces the workload calls with the key (``runtime``,
        ``runtime-openai``, ``mantle``); endpoint.unused_surfaces_closed wants every other one closed."""
        return list(self.data["endpoint"].get("surfaces") or [])

    @property
    def openai_model_id(self) -> str:
        """``endpoint.openai_model_id``: the model the ``runtime-openai`` probe asks for a one-token chat
        completion on bedrock-runtime's ``/openai/v1``.  "Invoke a model with the OpenAI Chat Completions
        API" (https://docs.aws.amazon.com/bedrock/latest/userguide/inference-chat-completions.html) serves
        the OpenAI models Bedrock offers there; its example model, ``openai.gpt-oss-20b-1:0``, is the default."""
        got: str = self.data["endpoint"].get("openai_model_id") or DEFAULTS["endpoint"]["openai_model_id"]
        return got

    @property
    def mantle_model_id(self) -> str:
        """``endpoint.mantle_model_id``: the model id the Mantle probes list and ask for a one-token chat
        completion.  Mantle's OpenAI-compatible API names models by the ids its ``GET /v1/models`` lists
        ("Get list of models", https://docs.aws.amazon.com/bedrock/latest/userguide/models-get-info.html),
        which need not be bedrock-runtime's Converse ids; unset, it is ``endpoint.model_id`` without an
        inference-profile prefix (``us.``, ``global.``, ...)."""
        got = self.data["endpoint"].get("mantle_model_id")
        if got:
            return str(got)
        return re.sub(r"^(us|eu|apac|us-gov|global|jp|au|ca)\.", "", self.model_id)

    @property
    def mantle_project(self) -> str:
        """``endpoint.mantle_project``: the id of the bedrock-mantle project the workload's Mantle calls run
        in, so ``bedrock-mantle:CreateInference``/``ListModels`` are judged on
        ``arn:<partition>:bedrock-mantle:<region>:<account>:project/<id>`` (Service Authorization Reference,
        "Actions, resources, and condition keys for Amazon Bedrock Powered by AWS Mantle",
        https://docs.aws.amazon.com/service-authorization/latest/reference/list_bedrock-mantle.html).
        "Projects (OpenAI-compatible)" (https://docs.aws.amazon.com/bedrock/latest/userguide/projects.html):
        every account has a default project that requests name no project run in, ``project/default``."""
        got: str = self.data["endpoint"].get("mantle_project") or DEFAULTS["endpoint"]["mantle_project"]
        return got


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in override.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _where(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    return path or "(top level)"


def _explain(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        instance: Any = error.instance  # the object that has the extra keys
        schema: Any = error.schema  # its object schema
        extra = sorted(set(instance) - set(schema.get("properties", {})))
        where = _where(error)
        key = ".".join(x for x in (where if where != "(top level)" else "", extra[0] if extra else "") if x)
        return f"{key}: unknown key (allowed: {', '.join(sorted(schema.get('properties', {})))})"
    if error.validator == "pattern":
        return f"{_where(error)}: {error.instance!r} is not a valid value (expected to match {error.validator_value})"
    return f"{_where(error)}: {error.message}"


def load_config(path: str | Path | None, root: Path | None = None) -> AuditConfig:
    """Read, merge with defaults, validate.  Raises :class:`ConfigError` (one line).

    ``path`` is the file given with ``--audit-config`` (it must exist); without it, ``audit.toml``
    in ``root`` (default: the current directory) is read if it exists, else the defaults apply.
    """
    explicit = path is not None
    p = Path(path) if path is not None else (root / DEFAULT_PATH if root is not None else DEFAULT_PATH)
    if not p.exists():
        if explicit:
            raise ConfigError(f"audit config {p}: file not found")
        raw: dict[str, Any] = {}
        text = b""
        p_used: Path | None = None
    else:
        try:
            text = p.read_bytes()
            raw = tomllib.loads(text.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"audit config {p}: not valid TOML: {str(exc).splitlines()[0]}") from None
        except OSError as exc:
            raise ConfigError(f"audit config {p}: cannot read: {exc.strerror}") from None
        p_used = p
    raw = _dates_as_text(raw)
    schema = json.loads(SCHEMA_PATH.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(raw), key=lambda e: (len(e.absolute_path), str(e.absolute_path)))
    if errors:
        raise ConfigError(f"audit config {p}: {_explain(errors[0])}")
    data = _merge(DEFAULTS, raw)
    _surface_actions(data, "required_actions" in (raw.get("policy") or {}), p, "")
    _check_regions(data, p)
    _check_policy_context(data, p)
    _check_waivers(data, p)
    _check_source_cidrs(data, p)
    accounts = data.pop("accounts", None)
    names = [a["name"] for a in accounts or []]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"audit config {p}: accounts: name {dupes[0]!r} is used twice")
    cred = data["credential"]
    if cred["rotate_before_days"] >= cred["max_key_age_days"]:
        raise ConfigError(
            f"audit config {p}: credential.rotate_before_days ({cred['rotate_before_days']}) must be "
            f"less than credential.max_key_age_days ({cred['max_key_age_days']})"
        )
    digest = hashlib.sha256(json.dumps({**data, "accounts": accounts}, sort_keys=True).encode()).hexdigest()
    cfg = AuditConfig(path=p_used, data=data, sha256=digest, looked_for=None if p_used else p)
    if accounts:
        views = {}
        for entry in accounts:
            overlay = {k: v for k, v in entry.items() if k != "name"}
            view_data = _merge(data, overlay)
            given = "required_actions" in (raw.get("policy") or {}) or "required_actions" in (overlay.get("policy") or {})
            if not given:
                view_data["policy"]["required_actions"] = list(DEFAULTS["policy"]["required_actions"])
            _surface_actions(view_data, given, p, f"accounts[{entry['name']}]: ")
            view = AuditConfig(path=p_used, data=view_data, sha256=digest, account=entry["name"],
                               looked_for=cfg.looked_for)
            _check_regions(view.data, p)
            views[entry["name"]] = view
        cfg = dataclasses.replace(cfg, account=accounts[0]["name"], account_views=views)
    return cfg


def _surface_actions(data: dict[str, Any], given: bool, p: Path, where: str) -> None:
    """Keep ``policy.required_actions`` and ``endpoint.surfaces`` consistent, since the fixers never deny or
    remove a required action and deny the bearer action of every unused surface.

    Without ``required_actions`` in the file, it is derived from the surfaces in use only: the bearer action
    of each (:data:`SURFACE_BEARER_ACTIONS`) and what its calls need (:data:`SURFACE_DEFAULT_ACTIONS`), so a
    Mantle-only workload is not asked for bedrock-runtime's actions.  Given explicitly,
    a used surface whose bearer action is not required, or an unused surface whose bearer action is named
    in it, is a :class:`ConfigError` naming both settings.
    """
    used = set(data["endpoint"].get("surfaces") or [])
    needed = sorted({a for s, a in SURFACE_BEARER_ACTIONS.items() if s in used})
    unused = sorted({a for s, a in SURFACE_BEARER_ACTIONS.items() if s not in used} - set(needed))
    required = list(data["policy"]["required_actions"])
    if not given:
        bearer = set(SURFACE_BEARER_ACTIONS.values())
        if not used:
            data["policy"]["required_actions"] = [a for a in required if a not in bearer]
            return
        calls = sorted({a for s in used for a in SURFACE_CALL_ACTIONS.get(s, [])})
        derived = list(needed) + calls
        for surface in ("runtime", "runtime-openai", "mantle"):
            if surface in used:
                derived += [a for a in SURFACE_DEFAULT_ACTIONS[surface] if a not in derived]
        data["policy"]["required_actions"] = derived
        return
    low = [r.lower() for r in required]
    for action in needed:
        if not any(fnmatch.fnmatchcase(action.lower(), r) for r in low):
            raise ConfigError(
                f"audit config {p}: {where}endpoint.surfaces uses {', '.join(sorted(s for s in used if SURFACE_BEARER_ACTIONS.get(s) == action))} "
                f"but policy.required_actions lacks {action}, which admits the key there: add it, or drop the surface")
    for action in unused:
        if action.lower() in low:
            raise ConfigError(
                f"audit config {p}: {where}policy.required_actions names {action}, but endpoint.surfaces uses no surface "
                f"it admits ({', '.join(s for s, a in SURFACE_BEARER_ACTIONS.items() if a == action)}): remove it, "
                "or add the surface")


def _check_policy_context(data: dict[str, Any], p: Path) -> None:
    """``[policy.context]`` / ``policy.absent_context_keys``: no key the audit derives itself, no key
    both set and absent, and an ``aws:SourceIp`` that is an IP address or CIDR range."""
    import ipaddress

    from bedrock_key_audit.policy import DERIVED_KEYS

    derived = {k.lower(): k for k in DERIVED_KEYS}
    context = data["policy"].get("context") or {}
    absent = data["policy"].get("absent_context_keys") or []
    seen: dict[str, str] = {}
    for where, keys in (("policy.context", list(context)), ("policy.absent_context_keys", absent)):
        for key in keys:
            if key.lower() in derived:
                raise ConfigError(f"audit config {p}: {where}: {key} is derived by the audit (the key's user, "
                                  "the secret's region, the clock, bearer-token facts); remove it")
            if key.lower() in seen:
                raise ConfigError(f"audit config {p}: {where}: {key} is given twice (as {seen[key.lower()]} "
                                  "or both set and absent); keep one")
            seen[key.lower()] = key
    for key, value in context.items():
        if key.lower() == "aws:sourceip":
            for v in value if isinstance(value, list) else [value]:
                try:
                    ipaddress.ip_network(str(v), strict=False)
                except ValueError:
                    raise ConfigError(f"audit config {p}: policy.context.{key}: {v!r} is not an IP address "
                                      "or CIDR range") from None


def _dates_as_text(raw: dict[str, Any]) -> dict[str, Any]:
    """``[[waivers]]``: a TOML date (``expires = 2027-03-31``) as its ISO text, so the schema
    checks it and the configuration hashes as JSON (a date-time stays visibly a date-time)."""
    import datetime as dt

    if not isinstance(raw.get("waivers"), list):
        return raw
    entries = [{k: v.isoformat() if isinstance(v, (dt.date, dt.time)) else v for k, v in e.items()}
               if isinstance(e, dict) else e for e in raw["waivers"]]
    return {**raw, "waivers": entries}


def _check_waivers(data: dict[str, Any], p: Path) -> None:
    """``[[waivers]]``: a check selector that parses, ``expires`` at most 365 days after the
    run's date (bedrock_key_audit/reporting/waivers.py)."""
    import datetime as dt

    from bedrock_key_audit.reporting.waivers import parse_waivers

    try:
        parse_waivers(data.get("waivers") or [], dt.datetime.now(dt.timezone.utc).date())
    except ValueError as exc:
        raise ConfigError(f"audit config {p}: {exc}") from None


def _check_source_cidrs(data: dict[str, Any], p: Path) -> None:
    """``credential.allowed_source_cidrs``: each an IP address or CIDR range."""
    import ipaddress

    for v in data["credential"].get("allowed_source_cidrs") or []:
        try:
            ipaddress.ip_network(v, strict=False)
        except ValueError:
            raise ConfigError(f"audit config {p}: credential.allowed_source_cidrs: {v!r} is not an IP address "
                              "or CIDR range") from None


#: our partition -> its ARN partition in botocore's endpoint data
ARN_PARTITION = {"commercial": "aws", "govcloud": "aws-us-gov"}
_PARTITION_TITLE = {"commercial": "AWS commercial", "govcloud": "AWS GovCloud (US)"}


@functools.lru_cache(maxsize=None)
def _partition_regions(part: str) -> tuple[str, ...]:
    from botocore.loaders import Loader

    data = Loader().load_data("endpoints")
    for entry in data.get("partitions", []):
        if entry.get("partition") == ARN_PARTITION[part]:
            return tuple(sorted(entry.get("regions") or {}))
    return ()  # pragma: no cover - botocore always ships both partitions


def partition_regions(part: str) -> list[str]:
    """The Regions botocore's endpoint data (``endpoints.json``, the partition's ``regions``) lists
    for our partition ``part``: what the SDK knows to exist, so a typo (``us-esat-1``, which the
    partition's ``regionRegex`` accepts) is caught before any call goes to a host that does not exist."""
    return list(_partition_regions(part))


def _check_regions(data: dict[str, Any], p: Path) -> None:
    """Each partition's Region is one botocore's endpoint data lists for that partition
    ("Regions and Zones", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-regions-availability-zones.html;
    "AWS GovCloud (US) Regions", https://docs.aws.amazon.com/govcloud-us/latest/UserGuide/using-govcloud-endpoints.html).
    A Region newer than the installed botocore is refused too: the message says so."""
    for part in PARTITIONS:
        region = data["partitions"][part]["region"]
        valid = partition_regions(part)
        if region in valid or (not valid and _REGION_PARTITION[part].match(region)):
            continue
        import botocore

        raise ConfigError(
            f"audit config {p}: partitions.{part}.region: {region!r} is not a region of the "
            f"{_PARTITION_TITLE[part]} partition; valid Regions: {', '.join(valid)} "
            f"(botocore {botocore.__version__}'s endpoint data; a newer Region needs a newer botocore)"
        )
    _check_secret_arn_region(data, p)


def _check_secret_arn_region(data: dict[str, Any], p: Path) -> None:
    """A ``secret.id`` given as an ARN names the Region the secret lives in, and Secrets Manager is regional:
    the audit asks ``partitions.govcloud.region``'s endpoint, which does not find a secret of another Region
    ("What is AWS Secrets Manager?", https://docs.aws.amazon.com/secretsmanager/latest/userguide/intro.html).
    An ARN of another Region or partition is refused here rather than reported later as a missing secret."""
    sid = str((data.get("secret") or {}).get("id") or "")
    if not sid.startswith("arn:"):
        return
    parts = sid.split(":")
    if len(parts) < 7 or parts[2] != "secretsmanager":
        raise ConfigError(f"audit config {p}: secret.id: {sid!r} is not a Secrets Manager secret ARN "
                          "(arn:aws-us-gov:secretsmanager:<region>:<account>:secret:<name>) or a secret name")
    region = data["partitions"]["govcloud"]["region"]
    if parts[1] != "aws-us-gov" or parts[3] != region:
        raise ConfigError(f"audit config {p}: secret.id names partition {parts[1]} and Region {parts[3]}, but the secret "
                          f"is looked for in partitions.govcloud.region {region} (aws-us-gov): set the Region to the "
                          "secret's (its primary's, for a replicated secret), or give the secret's name")
