"""The customer-managed KMS key remediation creates (alias ``alias/bedrock-key-audit``) in a partition that needs one.

No fixer of its own: the secret and CloudTrail fixers add these steps (``kms.create:<partition>``).
"""
from __future__ import annotations

import json
import uuid
from typing import Any

from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.remediation.core import Context, Step, manual_step
from bedrock_key_audit.remediation.errors import NeedsPerson, RemediationError
from bedrock_key_audit.remediation.names import KMS_ALIAS
from bedrock_key_audit.permissions import KMS_KEY, R_CREATE_KMS_KEY, R_KMS_LISTING, R_OUR_KMS_KEY, Write, writes

ORDER_KMS = 40  # our customer-managed key: before the secret is encrypted with it (fixers/secret.py ORDER_SECRET_KMS)



def _kms_state(ctx: Context, partition: str) -> dict[str, Any]:
    meta = ctx.inv.kms_key(partition, KMS_ALIAS)
    return {"alias": KMS_ALIAS, "exists": not meta.get("missing"), "Arn": meta.get("Arn"),
            "KeyState": meta.get("KeyState"), "DeletionDate": meta.get("DeletionDate")}


def _unusable(meta: dict[str, Any], partition: str) -> str | None:
    """One sentence when a key found by alias cannot take new encryption (DescribeKey's KeyState:
    https://docs.aws.amazon.com/kms/latest/APIReference/API_KeyMetadata.html -- only ``Enabled``
    keys encrypt; ``PendingDeletion`` keys are going away), else None."""
    state = meta.get("KeyState")
    if state == "Enabled" or (state is None and meta.get("Enabled") is True):
        return None
    when = f", deletion scheduled for {meta['DeletionDate']}" if meta.get("DeletionDate") else ""
    return (f"KMS key {KMS_ALIAS} in {partition} is {state or 'not enabled'}{when}: enable it (or cancel its "
            "deletion) and rerun; nothing is encrypted with it until then")


def kms_key_policy(ctx: Context, partition: str) -> dict[str, Any]:
    """Key policy: the account administers it through IAM; CloudTrail may encrypt this account's trails;
    Bedrock may encrypt this account's model-invocation logs in our bucket (Bedrock User Guide, "Monitor
    model invocation using CloudWatch Logs and Amazon S3": an SSE-KMS destination needs
    ``kms:GenerateDataKey`` for ``bedrock.amazonaws.com``).

    The principal creating the key is named for ``kms:PutKeyPolicy``: CreateKey's lockout safety check
    refuses a policy that would not let the caller make a later PutKeyPolicy (AWS KMS API Reference,
    "CreateKey", *BypassPolicyLockoutSafetyCheck*,
    https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html), and naming the caller in
    the key policy passes it without an IAM grant of ``kms:PutKeyPolicy`` on every key of the account."""
    p, acct = ctx.arn_partition(partition), ctx.account(partition)
    return {"Version": "2012-10-17", "Statement": [*_reader_statements(ctx, partition),
        *_creator_statements(ctx, partition),
        {"Sid": "EnableIamPolicies", "Effect": "Allow", "Principal": {"AWS": f"arn:{p}:iam::{acct}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "AllowCloudTrailToEncryptLogs", "Effect": "Allow",
         "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": acct},
                       "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:{p}:cloudtrail:*:{acct}:trail/*"}}},
        {"Sid": "AllowCloudTrailToDescribeKey", "Effect": "Allow",
         "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:DescribeKey", "Resource": "*"},
        {"Sid": "AllowBedrockToEncryptInvocationLogs", "Effect": "Allow",
         "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "kms:GenerateDataKey", "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": acct},
                       "ArnLike": {"aws:SourceArn": f"arn:{p}:bedrock:*:{acct}:*"}}},
    ]}


READERS_SID = "AllowSecretReadersToDecryptViaSecretsManager"
CREATOR_SID = "AllowTheCreatingPrincipalToManageThisKeyPolicy"


def _creator_statements(ctx: Context, partition: str) -> list[dict[str, Any]]:
    """``kms:PutKeyPolicy`` for the principal running the remediation (a role session counts as its role,
    whose ARN carries its path: a key policy names IAM's ARN, KMS Developer Guide, "Key policies in AWS
    KMS", https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html).  The account
    root already holds ``kms:*`` through the delegation statement."""
    from bedrock_key_audit.remediation import principals

    me = principals.caller(ctx, partition)
    if not me or me.endswith(":root"):
        return []
    return [{"Sid": CREATOR_SID, "Effect": "Allow", "Principal": {"AWS": me}, "Action": "kms:PutKeyPolicy",
             "Resource": "*"}]


def _reader_statements(ctx: Context, partition: str) -> list[dict[str, Any]]:
    """In the secret's partition: the configured readers (IAM's ARNs) may decrypt through Secrets Manager,
    so moving the secret to this key leaves them reading (AWS Secrets Manager User Guide, "Secret
    encryption and decryption in AWS Secrets Manager": a reader needs kms:Decrypt on the secret's key;
    KMS Developer Guide, "kms:ViaService")."""
    from bedrock_key_audit.remediation import principals

    # the configured readers and the principals configured to run the audit (it reads the secret too)
    readers = [r for r in sorted(set(principals.readers(ctx)) | set(principals.auditors(ctx)))
               if r.startswith(f"arn:{ctx.arn_partition(partition)}:")]
    if partition != "govcloud" or not readers:
        return []
    return [{"Sid": READERS_SID, "Effect": "Allow", "Principal": {"AWS": sorted(readers)}, "Action": "kms:Decrypt",
             "Resource": "*", "Condition": {"StringEquals": {
                 "kms:ViaService": f"secretsmanager.{ctx.cfg.region(partition)}.amazonaws.com"}}}]


@writes(Write("kms:DescribeKey", KMS_KEY))
def kms_key_arn(ctx: Context, partition: str) -> str:
    """The ARN of our customer-managed key (made by the kms step, or found under the alias)."""
    arn: str | None = ctx.memo.get(f"kms:{partition}")
    if arn:
        return arn
    got = ctx.call("kms", partition, "DescribeKey", expected={"NotFoundException"}, KeyId=KMS_ALIAS)
    if got is None:
        raise NeedsPerson(f"no KMS key {KMS_ALIAS} in {partition}: rerun the plan")
    if (why := _unusable(got["KeyMetadata"], partition)
            or _not_ours(ctx, partition, got["KeyMetadata"]["Arn"])) is not None:
        raise NeedsPerson(why)
    ctx.memo[f"kms:{partition}"] = got["KeyMetadata"]["Arn"]
    made: str = ctx.memo[f"kms:{partition}"]
    return made


@writes(Write("kms:DescribeKey", KMS_KEY), Write("kms:CreateKey", R_CREATE_KMS_KEY),
        Write("kms:CreateKey", R_OUR_KMS_KEY, actions=("kms:TagResource",)), Write("kms:CreateAlias", R_OUR_KMS_KEY),
        Write("kms:EnableKeyRotation", R_OUR_KMS_KEY))
def _kms_steps(ctx: Context, partition: str) -> list[Step]:
    state = _kms_state(ctx, partition)
    if state["exists"]:
        why = _unusable(state, partition) or _not_ours(ctx, partition, state["Arn"])
        if why is None:
            return []
        # same key as the create step, so every step that would encrypt with it is blocked
        st = manual_step(f"kms.create:{partition}", why)
        st.partition, st.target = partition, state["Arn"] or KMS_ALIAS
        st.targets = [state["Arn"] or KMS_ALIAS]
        st.order = ORDER_KMS  # before the steps it blocks
        return [st]
    reuse = _unaliased_own_key(ctx, partition)

    def run(ctx: Context, st: Step) -> tuple[Any, Any]:
        got = ctx.call("kms", partition, "DescribeKey", expected={"NotFoundException"}, KeyId=KMS_ALIAS)
        if got is not None:
            if (why := _unusable(got["KeyMetadata"], partition)
                    or _not_ours(ctx, partition, got["KeyMetadata"]["Arn"])) is not None:
                raise NeedsPerson(why)
            arn = got["KeyMetadata"]["Arn"]
        else:
            jid = reuse[1] if reuse else uuid.uuid4().hex
            if reuse is None:
                ctx.journal.record("kms", jid, "create_key", partition=partition, at=ctx.clock())
                key = ctx.call("kms", partition, "CreateKey", Policy=json.dumps(kms_key_policy(ctx, partition)),
                               Description=DESCRIPTION,
                               Tags=[{"TagKey": "purpose", "TagValue": "bedrock-long-term-key"}, OWNER_KMS_TAG])["KeyMetadata"]
                arn = key["Arn"]
                ctx.journal.record("kms", jid, "created", partition=partition, arn=arn)
            else:
                arn = reuse[0]
            # the key exists from here on: a failure names it, and the next run gives it the alias instead of
            # creating one more key
            st.before = {**state, "created_key": arn}
            try:
                ctx.call("kms", partition, "CreateAlias", AliasName=KMS_ALIAS, TargetKeyId=arn)
                ctx.call("kms", partition, "EnableKeyRotation", KeyId=arn)
            except RemediationError as exc:
                raise RemediationError(f"{exc}; KMS key {arn} exists without its alias {KMS_ALIAS} (or without yearly "
                                       "rotation): the next run gives it the alias rather than creating another, or "
                                       f"schedule its deletion (aws kms schedule-key-deletion --key-id {arn})") from None
            ctx.journal.record("kms", jid, "aliased", partition=partition, arn=arn)
        ctx.memo[f"kms:{partition}"] = arn
        return state, {"alias": KMS_ALIAS, "Arn": arn, **({"reused": True} if reuse else {})}

    if reuse is not None:
        action = (f"give KMS key {reuse[0]} (created in {partition} by an earlier run whose step failed before it "
                  f"had an alias) the alias {KMS_ALIAS} and yearly rotation, instead of creating another key")
        calls = ["kms:CreateAlias", "kms:EnableKeyRotation"]
        targets = [reuse[0], _alias_arn(ctx, partition)]
    else:
        action = f"create customer-managed KMS key {KMS_ALIAS} in {partition} (yearly rotation on)"
        calls = ["kms:CreateKey", "kms:CreateAlias", "kms:EnableKeyRotation"]
        targets = [_alias_arn(ctx, partition)]
    return [Step(key=f"kms.create:{partition}", order=ORDER_KMS, action=action, calls=calls, target=KMS_ALIAS,
                 targets=targets, partition=partition, run=run, before=state, for_dependents=True)]


DESCRIPTION = "bedrock-key-audit: Bedrock API-key secret and CloudTrail logs"


def _unaliased_own_key(ctx: Context, partition: str) -> tuple[str, str] | None:
    """(ARN, journal id) of a KMS key an earlier run created for the alias and never aliased (its step failed
    or the run died after CreateKey), when it is still Enabled and carries our description; else None."""
    for jid, entry in reversed(list(ctx.journal.open_entries("kms").items())):
        arn = entry.get("arn")
        if entry.get("partition") != partition or not arn:
            continue
        try:
            meta = ctx.inv.kms_key(partition, arn)
        except CouldNotDecide:
            continue  # cannot see it: a new key is created, and this one stays named in the earlier run's log
        if not meta.get("missing") and _unusable(meta, partition) is None and meta.get("Description") == DESCRIPTION:
            return str(arn), jid
    return _tagged_own_key(ctx, partition)


# on the key itself (CreateKey's Tags): the next run recognises a key of ours that never got its alias from
# AWS alone, even when the run that made it left no journal where this run looks (a fresh --reports-dir)
OWNER_KMS_TAG = {"TagKey": "created-by", "TagValue": "bedrock-key-audit"}
_SCAN_LIMIT = 100  # keys looked at (one ListKeys page): a key of ours is recent, and this bounds the reads


@writes(Write("kms:ListKeys", R_KMS_LISTING), Write("kms:DescribeKey", KMS_KEY),
        Write("kms:ListResourceTags", KMS_KEY), Write("kms:ListAliases", R_KMS_LISTING))
def _tagged_own_key(ctx: Context, partition: str) -> tuple[str, str] | None:
    """(ARN, journal id) of an Enabled customer managed key with our description and tag
    :data:`OWNER_KMS_TAG` and no alias at all (KMS Developer Guide, "Tagging keys": tags are returned by
    ``ListResourceTags``; "ListAliases" with ``KeyId`` lists a key's aliases); None when there is none or
    the reads are refused (then a new key is made, as before)."""
    try:
        listed = ctx.call("kms", partition, "ListKeys", Limit=_SCAN_LIMIT) or {}
        for k in listed.get("Keys", []):
            meta = (ctx.call("kms", partition, "DescribeKey", KeyId=k["KeyId"]) or {}).get("KeyMetadata", {})
            if meta.get("KeyManager") != "CUSTOMER" or meta.get("Description") != DESCRIPTION \
                    or _unusable(meta, partition) is not None:
                continue
            tags = (ctx.call("kms", partition, "ListResourceTags", KeyId=k["KeyId"]) or {}).get("Tags", [])
            if OWNER_KMS_TAG not in tags:
                continue
            if (ctx.call("kms", partition, "ListAliases", KeyId=k["KeyId"]) or {}).get("Aliases"):
                continue
            return str(meta["Arn"]), f"tagged-{k['KeyId']}"
    except RemediationError:
        return None
    return None


@writes(Write("kms:ListResourceTags", KMS_KEY))
def _not_ours(ctx: Context, partition: str, arn: str | None) -> str | None:
    """One sentence when the key under our alias is not one this tool created, else None.

    An alias is only a name: another team may have made ``alias/bedrock-key-audit`` point at its own key,
    with a key policy that suits its readers, not ours.  A key is ours when it carries
    :data:`OWNER_KMS_TAG` (set by our CreateKey; KMS Developer Guide, "Tagging keys",
    https://docs.aws.amazon.com/kms/latest/developerguide/tagging-keys.html) or a journal entry of an
    earlier run names its ARN.  Anything else is never adopted: moving the secret to it, or editing its
    key policy, would act on a key whose policy we do not own."""
    if not arn:
        return None
    if any(ev.get("kind") == "kms" and ev.get("arn") == arn for ev in ctx.journal.events()):
        return None
    try:
        got = ctx.call("kms", partition, "ListResourceTags", KeyId=arn,
                       expected={"AccessDeniedException"})
    except RemediationError as exc:
        return (f"cannot tell whether KMS key {arn} under {KMS_ALIAS} in {partition} is ours (kms:ListResourceTags: "
                f"{exc}): allow the read and rerun; nothing is encrypted with it until then")
    if got is None:
        return (f"cannot tell whether KMS key {arn} under {KMS_ALIAS} in {partition} is ours (kms:ListResourceTags "
                "refused): allow the read and rerun; nothing is encrypted with it until then")
    if OWNER_KMS_TAG in got.get("Tags", []):
        return None
    return (f"the alias {KMS_ALIAS} in {partition} names KMS key {arn}, which this tool did not create (no tag "
            "created-by=bedrock-key-audit, no journal entry): a person decides whether the secret may use it or "
            "the alias is freed; nothing is encrypted with it and its key policy is not changed")


def _alias_arn(ctx: Context, partition: str) -> str:
    return f"arn:{ctx.arn_partition(partition)}:kms:{ctx.cfg.region(partition)}:{ctx.account(partition)}:{KMS_ALIAS}"
