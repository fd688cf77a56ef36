"""Fixers of the access checks (registered by importing this module; fixtures/remediation/plugin.py does).

* ``secret.readers_restricted``: one **destructive** step (it narrows who can read the secret)
  that adds to the secret's resource policy the statement ``BedrockKeyAuditDenyOtherReaders``:
  Deny ``secretsmanager:GetSecretValue`` to ``*`` unless ``aws:PrincipalArn`` is one of the
  allowed readers (``secret.allowed_readers`` and the principal running the remediation).  This
  is the pattern AWS recommends over ``NotPrincipal`` (IAM User Guide, "AWS JSON policy
  elements: NotPrincipal"; Secrets Manager User Guide, "Resource-based policies").  Every other
  statement of the existing policy is kept as it is; a statement with our Sid is replaced.
  Without configured readers the step is manual: a Deny that spares only the auditor would cut
  the workload off.
* ``iam.key_minting_restricted``: a manual step naming each principal and the statements that
  let it mint; other principals' permissions are not ours to remove.
"""
from __future__ import annotations

import json
from typing import Any

from bedrock_key_audit.access import Access, key_minters, outside
from bedrock_key_audit.inventory.access import (
    account_authorization,
    secret_resource_policy,
)
from bedrock_key_audit.checkcore import CheckRecord
from bedrock_key_audit.policy import decode_document
from bedrock_key_audit.remediation import principals
from bedrock_key_audit.remediation.core import Context, Step, fixer, manual_step
from bedrock_key_audit.remediation.errors import NeedsPerson, RemediationError
from bedrock_key_audit.permissions import GOVCLOUD, R_SECRET, Write, writes

DENY_SID = "BedrockKeyAuditDenyOtherReaders"
ORDER_SECRET_POLICY = 58  # after the secret exists and is encrypted and rewritten (core.ORDER_SECRET_REWRITE 55)


def _caller_principal_arn(ctx: Context, partition: str) -> str | None:
    """``aws:PrincipalArn`` of the caller: a role session's role ARN (with its path), else the caller ARN."""
    auth = account_authorization(ctx.inv, partition)
    p = auth.caller_principal()
    return p.arn if p is not None else ctx.identity(partition).get("Arn")


def deny_statement(allowed: list[str]) -> dict[str, Any]:
    return {"Sid": DENY_SID, "Effect": "Deny", "Principal": "*", "Action": "secretsmanager:GetSecretValue",
            "Resource": "*", "Condition": {"StringNotEquals": {"aws:PrincipalArn": sorted(set(allowed))}}}


def merged_policy(existing: str | None, allowed: list[str]) -> dict[str, Any]:
    """The existing resource policy with our Deny added (or replaced); every other statement kept."""
    doc: dict[str, Any] = {"Version": "2012-10-17", "Statement": []}
    if existing:
        try:
            got = decode_document(existing)
        except ValueError:
            raise NeedsPerson("the secret's resource policy is not JSON; fix it by hand first") from None
        if not isinstance(got, dict):
            raise NeedsPerson("the secret's resource policy is not a JSON object; fix it by hand first")
        doc = dict(got)
    statements = doc.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    kept = [s for s in statements if not (isinstance(s, dict) and s.get("Sid") == DENY_SID)]
    doc["Statement"] = [*kept, deny_statement(allowed)]
    doc.setdefault("Version", "2012-10-17")
    return doc


@writes(Write("secretsmanager:GetResourcePolicy", R_SECRET, partitions=GOVCLOUD),
        Write("secretsmanager:PutResourcePolicy", R_SECRET, partitions=GOVCLOUD))
@fixer("secret.readers_restricted")
def fix_secret_readers(ctx: Context, rec: CheckRecord) -> list[Step]:
    secret = ctx.inv.secret()
    sid = ctx.cfg.secret_id
    if not secret.exists or secret.pending_deletion:
        return []  # secret.exists' steps come first; judged again on the next run
    configured = principals.readers(ctx)  # IAM's ARNs, paths included: aws:PrincipalArn compares them whole
    if not configured:
        return [manual_step("manual:secret-readers", (
            f"list the workload's principal(s) in secret.allowed_readers, then rerun: a resource policy on secret "
            f"{sid} that denies everyone else would otherwise cut the workload off; or remove the extra readers' "
            "grants named in the verdict"), rec)]
    caller = _caller_principal_arn(ctx, "govcloud")
    runs = principals.auditors(ctx)
    allowed = sorted(set(configured + runs + ([caller] if caller else [])))
    # the audit reads the secret: a principal that runs it and is not spared is locked out by this Deny
    auditor_note = ("" if runs else
                    f" (the audit must then run as {caller or 'the principal running this remediation'}: "
                    "any other principal that runs it is locked out unless listed in secret.auditors)")
    current = secret_resource_policy(ctx.inv)
    before = {"ResourcePolicy": current,
              "restore": (f"aws secretsmanager put-resource-policy --secret-id {sid} --resource-policy <before>"
                          if current else f"aws secretsmanager delete-resource-policy --secret-id {sid}")}
    rotation_note = (" (rotation is on: its Lambda function's role must be among them)"
                     if secret.rotation_enabled else "")

    def run(ctx: Context, st: Step) -> tuple[Any, Any]:
        # read again at apply time: statements added since the plan are kept too
        resp = ctx.call("secretsmanager", "govcloud", "GetResourcePolicy", SecretId=sid) or {}
        now_policy = resp.get("ResourcePolicy") if isinstance(resp.get("ResourcePolicy"), str) else None
        doc = merged_policy(now_policy, allowed)
        ctx.call("secretsmanager", "govcloud", "PutResourcePolicy", SecretId=sid, ResourcePolicy=json.dumps(doc))
        got = ctx.call("secretsmanager", "govcloud", "GetResourcePolicy", SecretId=sid) or {}
        if DENY_SID not in str(got.get("ResourcePolicy") or ""):
            raise RemediationError(f"secret {sid}'s resource policy does not hold {DENY_SID} after PutResourcePolicy")
        return {"ResourcePolicy": now_policy, "restore": before["restore"]}, {"ResourcePolicy": doc}

    return [Step(key="secret.deny-other-readers", order=ORDER_SECRET_POLICY, destructive=True,
                 action=(f"add statement {DENY_SID} to the resource policy of secret {sid}: deny "
                         f"secretsmanager:GetSecretValue to every principal but {', '.join(allowed)}{rotation_note}{auditor_note}; "
                         "other statements are kept"),
                 calls=["secretsmanager:GetResourcePolicy", "secretsmanager:PutResourcePolicy"],
                 target=secret.arn or sid, targets=[secret.arn or sid], partition="govcloud", run=run,
                 before=before)]


def _describe(a: Access) -> str:
    return f"{a.kind} {a.principal} ({'; '.join(a.grants)})"


@fixer("iam.key_minting_restricted")
def fix_key_minting(ctx: Context, rec: CheckRecord) -> list[Step]:
    auth = account_authorization(ctx.inv, "commercial")
    caller = auth.caller_principal()
    allowed = set(principals.minters(ctx)) | ({caller.arn} if caller else set())
    arn_partition = (auth.caller.get("Arn") or "arn:aws").split(":")[1]
    extra = outside(key_minters(auth.principals, users=auth.users, audited_user_arn=auth.user_arn(ctx.cfg.user_name),
                                arn_partition=arn_partition, now=ctx.now), allowed)
    if not extra:
        return []
    return [manual_step("manual:key-minting", (
        "remove iam:CreateServiceSpecificCredential and iam:ResetServiceSpecificCredential for bedrock.amazonaws.com "
        "(or deny them with a condition on iam:ServiceSpecificCredentialServiceName) from: "
        + "; ".join(_describe(a) for a in extra)
        + " -- or list the principals in credential.allowed_minters if they are meant to; these are other "
          "principals' permissions, so a person decides"), rec)]
