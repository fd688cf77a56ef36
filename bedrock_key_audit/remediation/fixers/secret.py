"""Fixers of the secret.* rows: restore, (re)create through a rotation, rewrite its shape, encrypt it with our CMK."""
from __future__ import annotations

import json
from typing import Any

from bedrock_key_audit.checkcore import CheckRecord
from bedrock_key_audit.remediation import rotation
from bedrock_key_audit.remediation.core import Context, Step, fixer, manual_step
from bedrock_key_audit.remediation.errors import RemediationError
from bedrock_key_audit.remediation.fixers.keys import (
    _restore_first,
    accepted,
    _rotation_steps,
    _undecided_step,
    key_diagnosis,
)
from bedrock_key_audit.remediation.fixers.kms import _kms_steps, kms_key_arn
from bedrock_key_audit.remediation.names import KMS_ALIAS
from bedrock_key_audit.remediation.rotation import ORDER_SECRET_REWRITE
from bedrock_key_audit.trails import kms_key_problem
from bedrock_key_audit.permissions import GOVCLOUD, KMS_KEY, R_SECRET, R_SECRET_KEY_VIA_SECRETS_MANAGER, SECRET_KEY, Write, writes

ORDER_SECRET_KMS = 48  # after our key exists (fixers/kms.py ORDER_KMS), before the key is rotated into the secret



@fixer("secret.exists")
def fix_secret_exists(ctx: Context, rec: CheckRecord) -> list[Step]:
    secret = ctx.inv.secret()
    if (restore := _restore_first(ctx)) is not None:
        return restore
    if secret.exists:
        return []
    # The key a credential holds cannot be read back from IAM: a new secret means a new key.
    return _rotation_steps(ctx, f"secret {ctx.cfg.secret_id} is missing")


@fixer("secret.schema")
def fix_secret_schema(ctx: Context, rec: CheckRecord) -> list[Step]:
    if (restore := _restore_first(ctx)) is not None:
        return restore
    diag = key_diagnosis(ctx)
    if diag.get("undecided"):
        return _undecided_step(ctx, diag, rec)
    secret = ctx.inv.secret()
    try:
        data = json.loads(secret.text.reveal()) if secret.text is not None else {}
    except (ValueError, RecursionError):
        data = {}
    data = data if isinstance(data, dict) else {}
    extra = sorted(k for k in data if k not in rotation.OWNED_FIELDS)
    steps: list[Step] = []
    if extra:
        steps.append(manual_step("manual:secret-extra-fields", (
            f"secret {ctx.cfg.secret_id} has field(s) {', '.join(extra)} that schemas/secret.schema.json does not "
            "allow; remediation keeps them because a workload may read them: remove them by hand once nothing does"),
            rec))
    if diag["reasons"]:
        return _rotation_steps(ctx, "; ".join(diag["reasons"]), diag.get("held")) + steps
    # the key is fine, only the document's shape is wrong: the rewrite keeps every field it does not own
    if not rotation.valid_region(data.get("region")) and (lo := rotation.leftovers(ctx, diag.get("creds", []))):
        # a rewrite's AWSPENDING would take the label off this tool's unfinished rotation: finish that first
        steps += rotation.recovery_steps(ctx, lo, diag.get("held"), "finish the interrupted rotation first")
    elif not rotation.valid_region(data.get("region")):
        ids = [c.id for c in diag.get("creds", [])]
        if (v := rotation.foreign_pending(secret.describe, ids)) is not None:
            steps.append(manual_step("manual:secret-pending", rotation.pending_sentence(ctx, v), rec))
        elif not rotation.valid_region(ctx.cfg.region("commercial")):
            # the rewrite would write the configured region, which secret.schema refuses too: predicted here,
            # so the plan never says "planned" for a step that cannot fix the row
            steps.append(manual_step("manual:secret-region", (
                f"secret {ctx.cfg.secret_id} holds region {data.get('region')!r}, and the configured commercial "
                f"region {ctx.cfg.region('commercial')!r} is not one where Amazon Bedrock is offered either: store "
                "the commercial region the workload uses by hand"), rec))
        else:
            steps.append(rotation.rewrite_secret_step(ctx, ORDER_SECRET_REWRITE, diag.get("held")))
    del data
    return steps


@writes(Write("kms:GetKeyPolicy", SECRET_KEY, partitions=GOVCLOUD))
def _readers_cut_off(ctx: Context, meta: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Who reads the secret now (under the AWS managed key) but could not under our key -- its policy
    as it is, or as the plan creates it -- evaluated with :func:`bedrock_key_audit.access.secret_readers`
    (GetSecretValue and kms:Decrypt): ``(configured readers and principals that run the audit
    (:func:`bedrock_key_audit.remediation.principals.keepers`) that would lose it, every principal that would
    lose it)``.  A principal that may read before (a condition the audit cannot decide) counts as
    a reader; after, only a certain reader keeps reading.

    Sources: AWS Secrets Manager User Guide, "Secret encryption and decryption in AWS Secrets Manager"
    (https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html: under the
    AWS managed key any principal of the account authorized for the secret may use it through Secrets
    Manager; under a customer managed key the reader also needs ``kms:Decrypt`` on it); AWS KMS
    Developer Guide, "Key policies in AWS KMS"
    (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html)."""
    from bedrock_key_audit.access import KeyAccess, secret_readers
    from bedrock_key_audit.inventory.access import account_authorization, secret_resource_policy
    from bedrock_key_audit.remediation import principals
    from bedrock_key_audit.remediation.fixers.kms import kms_key_policy

    readers = principals.keepers(ctx)
    secret = ctx.inv.secret()
    if not secret.arn:
        return [], []
    policy: Any
    if meta.get("missing"):
        arn = f"arn:{ctx.arn_partition('govcloud')}:kms:{ctx.cfg.region('govcloud')}:{ctx.account('govcloud')}:key/new"
        policy = kms_key_policy(ctx, "govcloud")
    else:
        arn = meta.get("Arn") or meta.get("KeyId") or KMS_ALIAS  # GetKeyPolicy takes a key id or ARN, no alias
        policy = (ctx.call("kms", "govcloud", "GetKeyPolicy", KeyId=arn, PolicyName="default") or {}).get("Policy")
    auth = account_authorization(ctx.inv, "govcloud")
    region, account, resource_policy = ctx.cfg.region("govcloud"), ctx.account("govcloud"), secret_resource_policy(ctx.inv)

    def readers_with(key: KeyAccess | None, certain: bool) -> set[str]:
        got = secret_readers(auth.principals, secret_arn=secret.arn or "", region=region, account=account,
                             resource_policy=resource_policy, key=key, now=ctx.now)
        return {a.principal for a in got if not certain or a.certain}

    before, after = readers_with(None, False), readers_with(KeyAccess(arn, policy), True)
    everyone = sorted(before - after)
    return [r for r in readers if r in before and r not in after], everyone


@writes(Write("kms:DescribeKey", KMS_KEY, partitions=GOVCLOUD),
        Write("secretsmanager:UpdateSecret", R_SECRET, partitions=GOVCLOUD),
        Write("secretsmanager:UpdateSecret", R_SECRET_KEY_VIA_SECRETS_MANAGER, actions=("kms:GenerateDataKey",), partitions=GOVCLOUD))
@fixer("secret.encrypted_with_cmk")
def fix_secret_cmk(ctx: Context, rec: CheckRecord) -> list[Step]:
    secret = ctx.inv.secret()
    if (restore := _restore_first(ctx)) is not None:
        return restore
    if accepted(ctx, ("secret.encrypted_with_cmk",), f"secret {ctx.cfg.secret_id} stays on the key it has (or, "
                "created, on Secrets Manager's default key)"):
        # only an erroring row gets here (a failing waived row is not planned): its waiver still says which key
        # the person chose, so neither a re-encryption nor a key of ours is planned for it
        return []
    if not secret.exists and (why := rotation.new_secret_default_key(ctx)) is not None:
        # the secret the rotation creates stays on Secrets Manager's default key: no key of ours is made for it
        if accepted(ctx, ("secret.exists",), f"secret {ctx.cfg.secret_id} is missing"):
            return []
        return _rotation_steps(ctx, f"secret {ctx.cfg.secret_id} is missing")
    meta = ctx.inv.kms_key("govcloud", KMS_ALIAS)
    if not meta.get("missing") and (why := rotation.kms_unusable(meta)):
        return [manual_step("manual:kms-unusable:govcloud", (
            f"KMS key {KMS_ALIAS} in govcloud {why}: enable it (or cancel its deletion, or point the alias at an "
            "Enabled symmetric key) and rerun; nothing is encrypted with it until then"), rec)]
    steps = _kms_steps(ctx, "govcloud")
    if any(s.manual for s in steps):
        # the key under our alias is not usable or not ours: nothing is moved to it, and no advice to
        # edit the key policy of a key we do not own
        return steps
    if not secret.exists:
        if accepted(ctx, ("secret.exists",), f"secret {ctx.cfg.secret_id} is missing"):
            return []
        return steps + _rotation_steps(ctx, f"secret {ctx.cfg.secret_id} is missing")
    sid = ctx.cfg.secret_id
    current = secret.kms_key_id
    replicas = _replica_steps(ctx, secret, rec)
    if current and current != "alias/aws/secretsmanager":
        cur = ctx.inv.kms_key("govcloud", current)
        if not cur.get("missing") and cur.get("KeyManager", "CUSTOMER") == "CUSTOMER" and \
                not kms_key_problem(cur, current):
            # the primary is on a usable customer key: only replicas failed the row; the primary stays as it is
            return replicas
        # The secret already names a customer key that is Disabled, pending deletion or gone.
        # Re-encrypting needs Secrets Manager to decrypt the current versions with that key, so
        # nothing can be done around it: a person enables it or cancels its deletion (the key is
        # not ours to change; KMS Developer Guide, "Key states of AWS KMS keys").
        problem = kms_key_problem(ctx.inv.kms_key("govcloud", current), current)
        if problem:
            return replicas + [manual_step("manual:secret-cmk-unusable", (
                f"secret {sid} is encrypted with {problem}: enable it (kms enable-key) or cancel its deletion "
                "(kms cancel-key-deletion); until then Secrets Manager cannot decrypt the secret, so it cannot "
                "be re-encrypted with another key either"), rec)]
    lost, losers = _readers_cut_off(ctx, meta)
    if lost:
        return [manual_step("manual:secret-cmk-readers", (
            f"moving secret {sid} to {KMS_ALIAS} would leave {', '.join(lost)} unable to read it (no kms:Decrypt on "
            f"that key, evaluated; they are configured readers or run the audit): allow them kms:Decrypt via "
            f"secretsmanager in the key policy of {KMS_ALIAS}, then rerun"), rec)]
    old = secret.kms_key_id or "alias/aws/secretsmanager"
    before = {"KmsKeyId": secret.kms_key_id or "aws/secretsmanager (default)",
              "restore": f"aws secretsmanager update-secret --secret-id {sid} --kms-key-id {old}"}

    def run(ctx: Context, st: Step) -> tuple[Any, Any]:
        arn = kms_key_arn(ctx, "govcloud")
        got = ctx.call("kms", "govcloud", "DescribeKey", KeyId=arn)
        if (why := rotation.kms_unusable((got or {}).get("KeyMetadata"))) is not None:
            raise RemediationError(f"KMS key {KMS_ALIAS} in govcloud {why}, so the secret is not re-encrypted with it")
        ctx.call("secretsmanager", "govcloud", "UpdateSecret", SecretId=sid, KmsKeyId=arn)
        return before, {"KmsKeyId": arn}

    # Destructive: it narrows who can read the secret.  Under the default key aws/secretsmanager
    # any principal of the account that Secrets Manager lets read it can decrypt it (the key
    # policy allows use via secretsmanager); under our key a reader also needs kms:Decrypt on it,
    # so a reader that worked before the run may be refused after it.
    steps.append(Step(key="secret.kms", order=ORDER_SECRET_KMS, destructive=True,
                      action=f"encrypt secret {sid} with customer-managed key {KMS_ALIAS} (once it is Enabled); "
                             "readers then also need kms:Decrypt on that key; " + (
                                 f"{len(losers)} principal(s) that read it now would lose read access (evaluated; "
                                 f"none of them a configured reader or auditor): {', '.join(losers)}" if losers else
                                 "no principal that reads it now loses read access (evaluated)"),
                      calls=["kms:DescribeKey (Enabled, not pending deletion)", "secretsmanager:UpdateSecret",
                             "kms:GenerateDataKey", "kms:Decrypt"],
                      target=secret.arn or sid, partition="govcloud", run=run, before=before,
                      requires=["kms.create:govcloud"],
                      # who can read the secret is what secret.readers_restricted judges: a reader it accepts
                      # (under a live waiver) must not be cut off by this step
                      affects=["secret.readers_restricted"] if losers else []))
    return steps + replicas


def _replica_steps(ctx: Context, secret: Any, rec: CheckRecord) -> list[Step]:
    """A manual step for each replica whose key is not a usable customer-managed key.  A replica's key
    cannot be changed in place: Secrets Manager refuses UpdateSecret on a replica ("Replicate AWS Secrets
    Manager secrets across Regions", https://docs.aws.amazon.com/secretsmanager/latest/userguide/replicate-secrets.html:
    a replica is updated through its primary), so the replica is removed and added again with a
    customer-managed key of its Region; removing it drops a copy that workloads in that Region may read,
    which is a person's decision."""
    out: list[Step] = []
    for entry in (secret.describe or {}).get("ReplicationStatus") or []:
        region = str(entry.get("Region") or "")
        if not region or entry.get("Status") == "Failed":
            continue
        kms = str(entry.get("KmsKeyId") or "")
        why = None
        if not kms or kms == "alias/aws/secretsmanager":
            why = "is encrypted with the default aws/secretsmanager key"
        else:
            meta = ctx.inv.kms_key("govcloud", kms, region=region)
            if meta.get("missing") or meta.get("KeyManager", "CUSTOMER") != "CUSTOMER":
                why = f"is encrypted with {kms}, not a customer-managed key of that Region"
        if why is None:
            continue
        out.append(manual_step(f"manual:secret-replica-cmk:{region}", (
            f"the replica of secret {ctx.cfg.secret_id} in {region} {why}: create a customer-managed KMS key in "
            f"{region}, then aws secretsmanager remove-regions-from-replication --secret-id {ctx.cfg.secret_id} "
            f"--remove-replica-regions {region} and aws secretsmanager replicate-secret-to-regions --secret-id "
            f"{ctx.cfg.secret_id} --add-replica-regions Region={region},KmsKeyId=<that key> (workloads reading the "
            "replica in that Region cannot read it in between)"), rec))
    return out


@fixer("secret.replicas_in_sync")
def fix_replicas_in_sync(ctx: Context, rec: CheckRecord) -> list[Step]:
    """By hand: what blocks a replica is most often a secret of the same name in the replica Region that
    this tool did not make, and ``--force-overwrite-replica-secret`` would destroy it, so the plan names
    the Regions and the commands ("Replicate AWS Secrets Manager secrets across Regions")."""
    secret = ctx.inv.secret()
    failed = [e for e in ((secret.describe or {}).get("ReplicationStatus") or [])
              if isinstance(e, dict) and e.get("Status") == "Failed"]
    sid = ctx.cfg.secret_id
    return [manual_step(f"manual:secret-replica:{e.get('Region')}", (
        f"secret {sid}'s replica in {e.get('Region')} failed ({e.get('StatusMessage') or 'no message'}): fix the cause "
        f"that message names. A secret of the same name there (aws secretsmanager describe-secret --secret-id "
        f"{secret.name or sid} --region {e.get('Region')}): move any workload off it and delete it (a deleted secret "
        "keeps its name through its recovery window: replicating succeeds only after it, or after a deletion without "
        "recovery). KMS: let the primary's key decrypt and the replica's key encrypt, or enable the key. "
        f"Then aws secretsmanager remove-regions-from-replication "
        f"--secret-id {sid} --remove-replica-regions {e.get('Region')} and replicate-secret-to-regions again "
        "(--force-overwrite-replica-secret replaces that secret instead: only when nothing needs it)"), rec)
        for e in failed]
