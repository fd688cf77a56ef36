"""The verdicts of the secret.* checks (called by the marked checks in checks/test_secret.py).

Each function is named after its check id (``secret.<name>`` -> :func:`<name>`) and takes the
``check`` recorder and the plain inventory data the check reads, so it can be tested on
hand-built objects (tests/unit/test_secret.py) with no emulator.
"""
from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

import jsonschema

from bedrock_key_audit import resources
from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.checkcore import verdict
from bedrock_key_audit.inventory.keys import (
    bearer_token_problem,
    bedrock_commercial_regions,
    decode_key,
)
from bedrock_key_audit.inventory.models import missing_secret
from bedrock_key_audit.trails import kms_key_problem

if TYPE_CHECKING:
    import datetime as dt

    from bedrock_key_audit.checkcore import Check
    from bedrock_key_audit.inventory.models import Credential, IamUser, Secret
    from bedrock_key_audit.inventory.reader import Inventory

SCHEMA_PATH = resources.schema("secret.schema.json")


REGION_FORMAT = "bedrock-commercial-region"


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    """The schema with its one custom format: ``region`` must be a commercial region where
    Bedrock is offered, by botocore's endpoint data (``bedrock_key_audit.inventory.keys.bedrock_commercial_regions``,
    https://docs.aws.amazon.com/general/latest/gr/bedrock.html), not by a hand-kept list."""
    formats = jsonschema.FormatChecker(formats=())
    formats.checks(REGION_FORMAT)(lambda value: not isinstance(value, str) or value in bedrock_commercial_regions())
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()), format_checker=formats)


def describe_problem(error: jsonschema.ValidationError) -> str:
    """What is wrong with one field, never its value (jsonschema's own messages quote it)."""
    field = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    v = error.validator
    if v == "required":
        required = cast("list[str]", error.validator_value)
        missing = [r for r in required if isinstance(error.instance, dict) and r not in error.instance]
        return f"missing field {', '.join(missing)}"
    if v == "additionalProperties":
        extra = sorted(set(cast("dict[str, Any]", error.instance)) - set(cast("dict[str, Any]", error.schema).get("properties", {})))
        return f"unexpected field(s) {', '.join(extra)}"
    if v == "type":
        return f"{field} must be a JSON {error.validator_value}"
    if v == "pattern":
        if field == "bedrock_api_key":
            why = bearer_token_problem(error.instance) if isinstance(error.instance, str) else None
            if why and not why.startswith("contains characters"):
                return f"bedrock_api_key {why}"
            return "bedrock_api_key is not in the long-term key format (ABSK + base64)"
        if field == "region":
            return "region is not a commercial AWS region name"
        return f"{field} has the wrong format"
    if v == "format" and field == "region":
        return ("region is not a commercial AWS region where Amazon Bedrock is offered "
                "(botocore's endpoint data)")
    if v in ("minLength", "maxLength"):
        return f"{field} is too {'short' if v == 'minLength' else 'long'}"
    return f"{field} fails {v}"


def secret_shape_problems(text: str) -> list[str]:
    """Every problem of a SecretString against schemas/secret.schema.json, without values."""
    try:
        data = json.loads(text)
    except ValueError:
        return ["the secret is not JSON"]
    except RecursionError:
        return ["the secret is JSON nested too deeply to be the expected object"]
    problems: list[str] = []
    for e in sorted(_validator().iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        text = describe_problem(e)
        # one sentence per field: a region that fails its pattern fails its format too
        if not (text.startswith("region ") and any(p.startswith("region ") for p in problems)):
            problems.append(text)
    if isinstance(data, dict) and isinstance(data.get("bedrock_api_key"), str):
        kind = decode_key(data["bedrock_api_key"]).kind
        if kind == "short-term":
            problems = [p for p in problems if not p.startswith("bedrock_api_key")]
            problems.append("bedrock_api_key is a short-term key (bedrock-api-key-…, valid at most 12 hours), not the long-term key")
        elif kind == "unknown" and not any(p.startswith("bedrock_api_key") for p in problems):
            problems.append("bedrock_api_key does not decode to <user>-at-<account>:<secret>")
        if data["bedrock_api_key"] == "":
            problems = [p for p in problems if not p.startswith("bedrock_api_key")] + ["bedrock_api_key is empty"]
    return problems


def kms_refusal_cause(secret: Secret, inventory: Any, now: Any) -> str | None:
    """When Secrets Manager refused the read with "Access to KMS is not allowed" (AWS names no cause), what the
    key policy the audit read says of it: the explicit Deny that applies to the caller (or may), else None
    (a missing Allow, a grant or IAM stays possible).  Sources: AWS KMS Developer Guide, "Key policies in AWS
    KMS" (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html); AWS Secrets Manager User
    Guide, "Secret encryption and decryption in AWS Secrets Manager"."""
    from bedrock_key_audit.access import key_policy_denies_decrypt
    from bedrock_key_audit.inventory.errors import KMS_VIA_SECRETS_MANAGER, ReadError
    from bedrock_key_audit.policy import PolicyError

    if inventory is None or not secret.value_error or not secret.arn or not secret.kms_key_id \
            or KMS_VIA_SECRETS_MANAGER not in secret.value_error.lower():
        return None
    try:
        meta = inventory.kms_key("govcloud", secret.kms_key_id)
        caller = inventory.account_authorization("govcloud").caller_principal()
        if meta.get("missing") or caller is None or meta.get("KeyManager", "CUSTOMER") != "CUSTOMER":
            return None
        arn = str(meta.get("Arn") or secret.kms_key_id)
        _, _, _, region, account, _ = secret.arn.split(":", 5)
        when = now if now is not None else (inventory.run_started or dt.datetime.now(dt.timezone.utc))
        denied, labels, unknown = key_policy_denies_decrypt(caller, arn, inventory.key_policy(arn),
                                                            secret_arn=secret.arn, region=region, account=account,
                                                            now=when)
    except (ReadError, PolicyError, ValueError):
        return None
    if denied is True:
        return (f"the key policy of {arn} denies kms:Decrypt to {caller.arn} explicitly ({', '.join(labels)}): that "
                "Deny must spare it (no grant or IAM Allow can override it)")
    if denied is None:
        return (f"the key policy of {arn} may deny kms:Decrypt to {caller.arn} ({', '.join(labels)}, depending on "
                f"{', '.join(unknown) or 'an unknown'})")
    return None


def _readable(check: Check, secret: Secret, inventory: Any = None, now: Any = None) -> None:
    check.resource = secret.arn or f"secret {secret.secret_id}"
    if not secret.exists or secret.pending_deletion:
        raise CouldNotDecide(f"secret {secret.secret_id} is missing or pending deletion (see secret.exists)")
    if secret.value_error:
        if (cause := kms_refusal_cause(secret, inventory, now)) is not None:
            raise CouldNotDecide(f"cannot read secret {secret.secret_id}: kms:Decrypt on its KMS key was refused "
                                 f"through Secrets Manager (\"Access to KMS is not allowed\"), and {cause}")
        raise CouldNotDecide(f"cannot read secret {secret.secret_id}: {secret.value_error}")


@verdict("secret.exists")
def exists(check: Check, secret: Secret) -> None:
    check.resource = secret.arn or f"secret {secret.secret_id}"
    check.evidence("secretsmanager:DescribeSecret", secret.describe or {"SecretId": secret.secret_id, "exists": False})
    check.require(secret.exists, missing_secret(secret))
    if secret.pending_deletion:
        check.fail(f"secret {secret.secret_id} is scheduled for deletion (since {secret.deleted_date:%Y-%m-%d}); "
                   "restore it with secretsmanager restore-secret")
    check.passed(f"secret {secret.secret_id} exists ({secret.arn})")


@verdict("secret.schema", reads=("kms_key", "account_authorization", "key_policy"))
def schema(check: Check, secret: Secret, inventory: Any = None, now: Any = None) -> None:
    _readable(check, secret, inventory, now)
    check.require(not secret.binary, f"secret {secret.secret_id} holds SecretBinary; the workload expects a JSON SecretString")
    if secret.text is None:
        raise CouldNotDecide(f"secret {secret.secret_id} holds neither a SecretString nor a SecretBinary")
    problems = secret_shape_problems(secret.text.reveal())
    check.evidence("secret-shape", {"problems": problems, "schema": "schemas/secret.schema.json"})
    check.require(not problems, f"secret {secret.secret_id} does not match schemas/secret.schema.json: " + "; ".join(problems))
    check.passed(f"secret {secret.secret_id} is JSON with a long-term bedrock_api_key and a commercial region "
                 "where Bedrock is offered")


@verdict("secret.key_matches_credential",
         reads=("bearer_key", "key_probe", "account_authorization", "key_policy", "kms_key"))
def key_matches_credential(check: Check, secret: Secret, existing_user: IamUser,
                           bedrock_credentials: list[Credential], now: dt.datetime, inventory: Inventory) -> None:
    """Decode the stored key, tie it to a credential by its public alias, and let Bedrock confirm the secret."""
    _readable(check, secret)
    try:
        # a SecretText, never a plain str: with -l a local is printed if anything below raises
        key = inventory.bearer_key()
    except CouldNotDecide as exc:
        check.fail(f"{exc}")
    problem = bearer_token_problem(key)
    check.require(problem is None, f"the key in secret {secret.secret_id} {problem}")
    decoded = decode_key(key)
    check.require(decoded.kind == "long-term",
                  f"secret {secret.secret_id} does not hold a long-term Bedrock API key ({decoded.kind} format)")
    check.evidence("key-identity", {"identity": decoded.identity, "user": decoded.user_name, "account": decoded.account_id})
    check.require(decoded.account_id == existing_user.account_id,
                  f"the key in secret {secret.secret_id} belongs to account {decoded.account_id}, not {existing_user.account_id}")
    check.require(decoded.user_name is not None and (decoded.user_name == existing_user.name
                  or decoded.user_name.startswith(existing_user.name + "+")),
                  f"the key in secret {secret.secret_id} belongs to user {decoded.user_name}, not {existing_user.name}")
    matches = [c for c in bedrock_credentials if c.alias and c.alias == decoded.identity]
    if not any(c.alias for c in bedrock_credentials) and bedrock_credentials:
        raise CouldNotDecide("IAM did not return ServiceCredentialAlias for the credentials, so the stored key "
                             "cannot be tied to one of them")
    check.require(matches, f"the key in secret {secret.secret_id} belongs to no existing credential of "
                           f"{existing_user.name} (deleted); rotate it")
    states = {c.id: c.effective_status(now) for c in matches}
    ids = ", ".join(f"{c.short_id} {states[c.id]}" for c in matches)
    active = [c for c in matches if states[c.id] == "Active"]
    check.require(active, f"secret {secret.secret_id} holds a key of credential {ids}; rotate it")
    # IAM never returns a key's secret part, and the alias names the credential, not its
    # current secret (a reset keeps the alias; aliases may not even differ between two keys
    # of one user).  Only Bedrock can say whether the stored secret is the live one: it
    # authenticates the key before it authorises the call.
    probe = inventory.key_probe()
    check.evidence("endpoint-authentication", {"class": probe.classification, "status": probe.status, "url": probe.url})
    if probe.classification == "bad_key":
        check.fail(f"secret {secret.secret_id} holds a key that Bedrock refuses although credential {ids} "
                   "carries its alias (reset or forged secret); rotate it")
    if probe.classification not in ("ok", "forbidden", "model_unavailable"):
        raise CouldNotDecide(f"the key in secret {secret.secret_id} names credential {ids}, but Bedrock could not "
                             f"confirm it is the live secret: {probe.message}")
    which = active[0].short_id if len(active) == 1 else "one of " + ", ".join(c.short_id for c in active)
    check.resource = f"{secret.arn} -> {existing_user.arn}/credential/{active[0].id}"
    check.passed(f"secret {secret.secret_id} holds the live key {which} of {existing_user.name} (Bedrock accepts it)")


@verdict("secret.encrypted_with_cmk", reads=("kms_key",))
def encrypted_with_cmk(check: Check, secret: Secret, inventory: Inventory) -> None:
    """A customer-managed KMS key (DescribeSecret's KmsKeyId present and ``KeyManager: CUSTOMER``)
    that Secrets Manager can still use: ``KeyState: Enabled``.  A disabled key makes
    GetSecretValue fail now; a key pending deletion makes the secret unreadable for good from
    its ``DeletionDate`` (KMS Developer Guide, "Key states of AWS KMS keys" and "Deleting AWS
    KMS keys").  A denied ``kms:DescribeKey`` ends ``error``: the key's state is unknown."""
    check.resource = secret.arn or f"secret {secret.secret_id}"
    if not secret.exists:
        raise CouldNotDecide(f"secret {secret.secret_id} does not exist (see secret.exists)")
    kms = secret.kms_key_id or ""
    # DescribeSecret omits KmsKeyId when the default aws/secretsmanager key is used.
    check.require(kms and kms not in ("alias/aws/secretsmanager",),
                  f"secret {secret.secret_id} is encrypted with the default aws/secretsmanager key; "
                  "re-encrypt it with a customer-managed KMS key")
    meta = inventory.kms_key("govcloud", kms)
    check.evidence("kms:DescribeKey", meta)
    check.require(not meta.get("missing"), f"secret {secret.secret_id} names KMS key {kms}, which does not exist")
    check.require(meta.get("KeyManager", "CUSTOMER") == "CUSTOMER",
                  f"secret {secret.secret_id} is encrypted with AWS-managed key {kms}; use a customer-managed key")
    problem = kms_key_problem(meta, kms)
    if problem and meta.get("KeyState") == "PendingDeletion":
        problem += "; cancel the deletion (kms cancel-key-deletion) or re-encrypt the secret with another key"
    elif problem:
        problem += "; enable it (kms enable-key) or re-encrypt the secret with another key"
    check.require(not problem, f"secret {secret.secret_id} is encrypted with {problem}")
    replicas = _replica_keys(check, secret, inventory)
    also = f"; its replicas in {', '.join(replicas)} with customer-managed keys (Enabled)" if replicas else ""
    check.passed(f"secret {secret.secret_id} is encrypted with customer-managed key {meta.get('Arn', kms)} (Enabled){also}")


def _replica_keys(check: Check, secret: Secret, inventory: Inventory) -> list[str]:
    """Each replica's key, judged as the primary's: a replica is a readable copy of the secret value,
    encrypted in its own Region with the key ``ReplicationStatus`` names (``KmsKeyId``; absent or
    ``alias/aws/secretsmanager``: that Region's AWS managed key).  Secrets Manager documents that a
    replica is encrypted with the KMS key chosen for it, by default ``aws/secretsmanager``
    ("Replicate AWS Secrets Manager secrets across Regions",
    https://docs.aws.amazon.com/secretsmanager/latest/userguide/replicate-secrets.html; "DescribeSecret",
    *ReplicationStatus*, https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html).
    A replica whose replication ``Failed`` holds no copy and is skipped.  Returns the replica Regions."""
    regions: list[str] = []
    for entry in (secret.describe or {}).get("ReplicationStatus") or []:
        region = str(entry.get("Region") or "")
        if not region or entry.get("Status") == "Failed":
            continue
        kms = str(entry.get("KmsKeyId") or "")
        check.require(kms and kms != "alias/aws/secretsmanager",
                      f"secret {secret.secret_id}'s replica in {region} is encrypted with the default "
                      "aws/secretsmanager key; re-encrypt the replica with a customer-managed KMS key")
        meta = inventory.kms_key("govcloud", kms, region=region)
        check.evidence(f"kms:DescribeKey {region}", meta)
        check.require(not meta.get("missing"),
                      f"secret {secret.secret_id}'s replica in {region} names KMS key {kms}, which does not exist")
        check.require(meta.get("KeyManager", "CUSTOMER") == "CUSTOMER",
                      f"secret {secret.secret_id}'s replica in {region} is encrypted with AWS-managed key {kms}; "
                      "use a customer-managed key")
        problem = kms_key_problem(meta, kms)
        check.require(not problem, f"secret {secret.secret_id}'s replica in {region} is encrypted with {problem}")
        regions.append(region)
    return regions


@verdict("secret.replicas_in_sync")
def replicas_in_sync(check: Check, secret: Secret) -> None:
    """Every replica of the secret holds the key: the primary's ``DescribeSecret`` lists each replica
    Region in ``ReplicationStatus`` with ``Status`` ``InSync``.  A replica whose replication
    ``Failed`` does not hold the current key: at most versions replicated before it failed ("Replicate
    AWS Secrets Manager secrets across Regions": they stay until the Region is removed from replication),
    another secret of the same name, or nothing.  Secrets Manager says why in ``StatusMessage`` (a
    secret of the same name already in that Region, or KMS: the primary's key cannot be decrypted or
    the replica's key cannot encrypt, or it is disabled); a workload that fails over to that Region
    then reads something no row of this audit judged.  The fix depends on that cause, so the row
    names both; deleting a blocking secret keeps its name taken through its recovery window.
    ``InProgress`` (or a status AWS does not document) ends ``error``: whether the copy is there is
    not known yet.  A secret that is itself a replica (``PrimaryRegion`` another Region) ends
    ``error``: only the primary lists its replicas' status.  An entry naming no Region, or a Region
    outside the secret's partition (replicas stay in the partition: GovCloud secrets replicate to
    GovCloud Regions only), is not an answer AWS gives: ``error``.  A secret pending deletion defers
    to ``secret.exists``, as the other secret rows do.  Not replicated: nothing to be out of sync.

    Sources: AWS Secrets Manager User Guide, "Replicate AWS Secrets Manager secrets across Regions"
    (https://docs.aws.amazon.com/secretsmanager/latest/userguide/replicate-secrets.html) and
    "Troubleshoot AWS Secrets Manager" ("Replication failed: Secret with the same name already exists",
    https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot.html); API reference,
    "DescribeSecret" (*ReplicationStatus*: ``InSync | Failed | InProgress``; *PrimaryRegion*,
    https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html) and
    "ReplicateSecretToRegions" (*ForceOverwriteReplicaSecret*)."""
    check.resource = secret.arn or f"secret {secret.secret_id}"
    if not secret.exists:
        raise CouldNotDecide(f"secret {secret.secret_id} does not exist (see secret.exists)")
    if secret.pending_deletion:
        raise CouldNotDecide(f"secret {secret.secret_id} is scheduled for deletion (see secret.exists)")
    desc = secret.describe
    if desc is None:
        raise CouldNotDecide(f"DescribeSecret of {secret.secret_id} was not read: its replicas are unknown; "
                             "grant secretsmanager:DescribeSecret and rerun")
    primary = desc.get("PrimaryRegion")
    if primary and secret.region and primary != secret.region:
        raise CouldNotDecide(f"secret {secret.secret_id} in {secret.region} is a replica of the secret in {primary}, "
                             f"and only the primary lists its replicas' status: audit the primary (set "
                             f"partitions.govcloud.region to {primary}, and secret.id to the secret's name or its ARN "
                             f"there)")
    entries = [e for e in desc.get("ReplicationStatus") or [] if isinstance(e, dict)]
    check.evidence("secretsmanager:DescribeSecret (ReplicationStatus)",
                   [{k: e.get(k) for k in ("Region", "Status", "StatusMessage", "KmsKeyId")} for e in entries])
    if not entries:
        check.passed(f"secret {secret.secret_id} is not replicated to another Region")
        return
    prefix = "us-gov-" if (secret.region or "").startswith("us-gov-") else None
    odd = [e for e in entries if not isinstance(e.get("Region"), str) or not e.get("Region")
           or (prefix is not None and not str(e.get("Region")).startswith(prefix))]
    if odd:
        check.undecided("; ".join(
            f"secret {secret.secret_id}'s ReplicationStatus names Region {e.get('Region')!r}, which is no Region of the "
            "secret's partition (replicas stay in the partition): that answer is not one AWS gives; describe the "
            "secret again and rerun" for e in odd))
    failed = [e for e in entries if e.get("Status") == "Failed"]
    check.require(not failed, "; ".join(
        f"secret {secret.secret_id}'s replica in {e.get('Region')} failed ({e.get('StatusMessage') or 'no message'}): "
        "that Region does not hold the current key (at most an older copy, another secret of that name, or nothing), "
        "so a workload reading it there does not get this key; fix the cause AWS names -- a secret of the same name "
        "there: move workloads off it and delete it (its name stays taken through its recovery window); KMS: let the "
        "primary's key decrypt and the replica's key encrypt, or enable it -- then remove the Region from replication "
        "and replicate again" for e in failed))
    unsure = [e for e in entries if e.get("Status") != "InSync"]
    if unsure:
        check.undecided("; ".join(
            f"secret {secret.secret_id}'s replica in {e.get('Region')} is {e.get('Status') or 'of no status'} "
            + ("(not InSync): whether it holds the key is not known yet; rerun once replication ends"
               if e.get("Status") == "InProgress" else
               "(not InSync, and not a status DescribeSecret documents for a replica): whether it holds the key is not "
               "known; look at the replica in that Region and rerun") for e in unsure))
    regions = ", ".join(str(e.get("Region")) for e in entries)
    check.passed(f"secret {secret.secret_id}'s replicas in {regions} are InSync")


from bedrock_key_audit.verdicts.access import readers_restricted  # noqa: E402,F401 -- judged with the access checks
