"""Are the key's traces protected?  Bedrock model-invocation logging, and the trail's own S3 bucket.

Pure verdicts on inventory objects (no AWS calls here; the reads are
:mod:`bedrock_key_audit.inventory.traces`).  Each verdict is ``("pass" | "fail", sentence)`` or raises
:class:`CouldNotDecide` with one sentence naming what is unknown and what would settle it.

**Model-invocation logging** (``bedrock.invocation_logging``).  Bedrock logs the model
invocations of an account and Region when ``PutModelInvocationLoggingConfiguration`` set a
``loggingConfig`` there, with an ``s3Config`` (a bucket) and/or a ``cloudWatchConfig`` (a log
group of the account, written through ``roleArn``); ``textDataDeliveryEnabled`` etc. choose which
data is delivered
(https://docs.aws.amazon.com/bedrock/latest/userguide/model-invocation-logging.html,
https://docs.aws.amazon.com/bedrock/latest/APIReference/API_GetModelInvocationLoggingConfiguration.html).
The audit asks: in each Region the key is used in, is there a destination *the account owns*, with
text delivery on (the key calls text models)?

* S3: a bucket name is global and may belong to anyone; a bucket is the account's when
  ``s3:ListBuckets`` of the account lists it ("Returns a list of all buckets owned by the
  authenticated sender of the request":
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html).
* CloudWatch Logs: ``logGroupName`` names a group in the account and Region of the configuration
  (it is a name, not an ARN), so it is the account's when ``logs:DescribeLogGroups`` finds it
  there.  Bedrock writes it by assuming ``roleArn``, so the role must be the account's own (its
  ARN's account), exist (``iam:GetRole``) and trust ``bedrock.amazonaws.com`` to ``sts:AssumeRole``
  ("Monitor model invocation using CloudWatch Logs and Amazon S3", section "Set up a CloudWatch
  Logs destination": the role's trust policy names the service principal, optionally narrowed by
  ``aws:SourceAccount`` / ``aws:SourceArn`` to the account).  A trust condition on any other key,
  or naming another account, cannot be decided: ``error``.
* A CloudWatch Logs destination's ``largeDataDeliveryS3Config`` names a bucket where Bedrock puts
  payloads over 100 KB and binary data (Amazon Bedrock API Reference, CloudWatchConfig,
  https://docs.aws.amazon.com/bedrock/latest/APIReference/API_CloudWatchConfig.html), so that bucket
  holds prompts and answers too and is judged like the S3 destination below.

Logs hold every prompt and answer, so every destination that is configured must also be:

* **encrypted at rest with KMS**.  S3: the bucket's default encryption (``GetBucketEncryption``)
  must be ``aws:kms`` or ``aws:kms:dsse`` (SSE-KMS / DSSE-KMS), not SSE-S3 (``AES256``), which every
  bucket has by default since January 2023 ("Setting default server-side encryption behavior for
  Amazon S3 buckets", https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-encryption.html;
  Prowler's ``bedrock_model_invocation_logs_encryption_enabled`` asks the same).  CloudWatch Logs:
  the group must have a ``kmsKeyId`` (otherwise CloudWatch Logs' own server-side encryption is used:
  "Encrypt log data in CloudWatch Logs using AWS Key Management Service",
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html).
* **readable only by the account**.  A bucket of another account fails (its owner reads every
  prompt).  The account's bucket fails when its policy allows ``s3:GetObject`` (or a wildcard or
  ``NotAction`` covering it) to a principal of another account or to everyone; a public policy is
  harmless when ``RestrictPublicBuckets`` is on at either level, which "restricts access to buckets
  with public policies to only AWS service principals and authorized users within this account ...
  public and cross-account access within any public bucket policy, including non-public delegation
  to specific accounts, is blocked" (Amazon S3 API Reference, PublicAccessBlockConfiguration).  A
  ``*`` narrowed by ``aws:PrincipalAccount`` / ``aws:PrincipalArn`` / ``aws:SourceAccount`` to the
  account is the account; narrowed by fixed ``aws:PrincipalAccount`` / ``aws:PrincipalArn`` values
  naming other accounts, those accounts read (named); narrowed by anything else
  (``aws:PrincipalOrgID``, ``aws:SourceIp``) the audit cannot tell who is admitted: ``error``.  Only
  statements whose resources include the bucket's objects read (a grant on the bucket ARN alone
  reads nothing), and the failure says it grants ``s3:GetObject`` -- adding, when the default key
  is the AWS managed ``aws/s3``, that objects encrypted with it cannot be decrypted from another
  account.  AWS service principals are not readers.  Not
  evaluated: object ACLs (disabled on buckets with ``BucketOwnerEnforced``, the default since April
  2023), access points, and who in another account may read a CloudWatch Logs group through
  subscription filters or cross-account observability (a log group has no resource policy that
  grants reads).

**The trail's bucket** (``cloudtrail.bucket_protected``).  CIS AWS Foundations v3.0.0 3.4 (S3
bucket access logging on the CloudTrail bucket) and 2.1.4 (Block Public Access).  S3 applies
"the most restrictive combination of the bucket-level and account-level settings"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html):
a setting is on when either level has it on; a level with no configuration
(``NoSuchPublicAccessBlockConfiguration``) has every setting off.  Public access is blocked when
all four settings are on.  Access logging is on when ``GetBucketLogging`` returns
``LoggingEnabled`` (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLogging.html)
and its ``TargetBucket`` exists: "You can have your logs delivered to any bucket that you own" and
"All logs are saved to buckets in the same AWS Region as the source bucket" (Amazon S3 API
Reference, PutBucketLogging / LoggingEnabled), so a target that was deleted, or that the source
bucket's owner does not own, receives nothing.  Whether the target exists is read with
``GetBucketLocation`` (``NoSuchBucket``; an existing bucket of someone else answers ``AccessDenied``).

A trail's bucket often lives in another account (an organization's log-archive account).  The
audited account owns a bucket only when its ``ListBuckets`` lists it (see above); a bucket it does
not own is judged by *its owner's* settings: its bucket-level Block Public Access and logging, when
the owner's bucket policy lets the auditor read them.  The owner's account-level Block Public
Access can be read only from the owner's account (S3 Control ``GetPublicAccessBlock`` takes the
caller's own ``AccountId``), and the audited account's account-level settings do not cover another
account's bucket, so a setting that is off at bucket level leaves the row ``error`` saying what to
grant or where to audit, never ``pass`` and never ``fail`` on the audited account's settings.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from bedrock_key_audit.checkcore import CouldNotDecide

PAB_SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


@dataclasses.dataclass
class InvocationLogging:
    """``bedrock:GetModelInvocationLoggingConfiguration`` of one Region, and what proves ownership.

    ``owned_buckets`` is None when ``s3:ListBuckets`` could not be read (``owned_buckets_error``);
    ``log_group_found`` is None when DescribeLogGroups could not be read (``log_group_error``).
    The account's own bucket: ``bucket_encryption`` (GetBucketEncryption's ``Rules``, ``[]`` when it has
    none), ``bucket_policy`` (``{}`` when none), ``bucket_pab``/``account_pab`` (``{}`` when none); each
    None when unreadable (its ``*_error`` says why).  The delivery role: ``role`` (``Arn`` and the trust
    ``AssumeRolePolicyDocument``), ``role_missing`` when GetRole answered NoSuchEntity, ``role_error``
    when it could not be read (None of them: the role is another account's and was not read)."""

    account_id: str
    region: str
    config: dict[str, Any]
    owned_buckets: frozenset[str] | None = None
    owned_buckets_error: str | None = None
    log_group_found: bool | None = None
    log_group_error: str | None = None
    log_group_kms_key: str | None = None
    bucket_encryption: list[dict[str, Any]] | None = None
    bucket_encryption_error: str | None = None
    bucket_policy: dict[str, Any] | None = None
    bucket_policy_error: str | None = None
    bucket_pab: dict[str, Any] | None = None
    bucket_pab_error: str | None = None
    account_pab: dict[str, Any] | None = None
    account_pab_error: str | None = None
    role: dict[str, Any] | None = None
    role_missing: bool = False
    role_error: str | None = None
    # the bucket named by cloudWatchConfig.largeDataDeliveryS3Config, when it is the account's and not s3Config's
    large_data: BucketFacts | None = None
    # kms:DescribeKey of each KMS key a destination names (the log group's kmsKeyId, a bucket's
    # KMSMasterKeyID): KeyMetadata by the key as named, or the read's error sentence
    kms_keys: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    kms_key_errors: dict[str, str] = dataclasses.field(default_factory=dict)
    # GetBucketLocation of each of the account's destination buckets: its Region, or the read's error
    bucket_regions: dict[str, str] = dataclasses.field(default_factory=dict)
    bucket_region_errors: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class BucketFacts:
    """The reads of one more invocation-log bucket (the CloudWatch Logs destination's
    ``largeDataDeliveryS3Config`` bucket), in the same fields and meaning as :class:`InvocationLogging`'s."""

    bucket_encryption: list[dict[str, Any]] | None = None
    bucket_encryption_error: str | None = None
    bucket_policy: dict[str, Any] | None = None
    bucket_policy_error: str | None = None
    bucket_pab: dict[str, Any] | None = None
    bucket_pab_error: str | None = None
    account_pab: dict[str, Any] | None = None
    account_pab_error: str | None = None


@dataclasses.dataclass
class BucketProtection:
    """What the trail's bucket shows about public access and access logging.

    ``bucket_pab``/``account_pab``: the PublicAccessBlockConfiguration, ``{}`` when none is set, None
    when it could not be read (``*_error`` says why).  ``logging``: GetBucketLogging's
    ``LoggingEnabled`` (``{}`` when off), None when unreadable."""

    partition: str
    bucket: str
    account_id: str
    bucket_pab: dict[str, Any] | None = None
    bucket_pab_error: str | None = None
    account_pab: dict[str, Any] | None = None
    account_pab_error: str | None = None
    logging: dict[str, Any] | None = None
    logging_error: str | None = None
    missing: bool = False  # GetBucketLocation answered NoSuchBucket
    foreign: bool | None = False  # not listed by the account's ListBuckets; None: ListBuckets unreadable
    owner_error: str | None = None
    target_exists: bool | None = None  # the access-log TargetBucket exists; None: unknown or no logging
    target_owned: bool | None = None  # the target is the account's (only judged for the account's own bucket)
    target_error: str | None = None
    bucket_region: str | None = None  # GetBucketLocation of the trail's bucket (None: unread)
    target_region: str | None = None  # GetBucketLocation of the access-log target (None: unread)


KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")  # SSE-KMS and DSSE-KMS
READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")
# condition keys that, set to the account's own values, keep a "*" principal inside the account
_OWN_ACCOUNT_KEYS = {"aws:principalaccount": "account", "aws:sourceaccount": "account", "aws:principalarn": "arn",
                     "aws:sourcearn": "arn"}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _covers_read(st: dict[str, Any], bucket: str | None = None) -> bool:
    """The statement's actions include reading objects (``Action`` patterns, or ``NotAction`` sparing
    it) and, when ``bucket`` is given, its resources include the bucket's objects: a grant on the
    bucket ARN alone (no ``/…``) matches no object, so ``s3:GetObject`` there reads nothing
    ("IAM JSON policy elements: Resource"; Amazon S3 User Guide, "Policy resources": objects are
    ``arn:aws:s3:::bucket/key``)."""
    import fnmatch

    def hit(patterns: Any) -> bool:
        return any(fnmatch.fnmatchcase(a.lower(), str(p).lower()) for p in _listed(patterns) for a in READ_ACTIONS)
    if "NotAction" in st:
        acts = not all(any(fnmatch.fnmatchcase(a.lower(), str(p).lower()) for p in _listed(st["NotAction"]))
                       for a in READ_ACTIONS)
    else:
        acts = hit(st.get("Action", []))
    if not acts or bucket is None:
        return acts
    objects = [f"arn:{part}:s3:::{bucket}/AWSLogs/x" for part in ("aws", "aws-us-gov", "aws-cn")]

    def names(patterns: Any) -> bool:
        return any(fnmatch.fnmatchcase(o, str(p)) for p in _listed(patterns) for o in objects)
    if "NotResource" in st:
        return not names(st["NotResource"]) or not all(
            any(fnmatch.fnmatchcase(o, str(p)) for p in _listed(st["NotResource"])) for o in objects)
    return names(st.get("Resource", []))


def _principal_account(p: str) -> str | None:
    """The account of an AWS principal (an account id, or an IAM ARN); None for ``*``."""
    if p == "*":
        return None
    if p.isdigit() and len(p) == 12:
        return p
    parts = p.split(":")
    return parts[4] if p.startswith("arn:") and len(parts) > 5 else "?"


def _admitted_accounts(cond: dict[str, Any], account: str) -> tuple[str, set[str]]:
    """Which callers' accounts the condition admits: ("any", ∅) when nothing narrows them,
    ("accounts", ids) when keys describing the caller (``aws:PrincipalAccount``,
    ``aws:PrincipalArn``) or the source (``aws:SourceAccount``/``aws:SourceArn`` set to the account
    itself) fix them, ("unknown", ∅) when a condition narrows them by something the audit cannot
    evaluate.  Several keys all hold: their sets intersect."""
    if not cond:
        return "any", set()
    admitted: set[str] | None = None
    for op, keys in cond.items():
        if not isinstance(keys, dict):
            return "unknown", set()
        for key, values in keys.items():
            kind = _OWN_ACCOUNT_KEYS.get(key.lower())
            if kind is None or op not in ("StringEquals", "StringLike", "ArnEquals", "ArnLike"):
                return "unknown", set()
            vals = [str(v) for v in _listed(values)]
            if kind == "account":
                accts = {v for v in vals if v.isdigit() and len(v) == 12}
                if len(accts) != len(vals):
                    return "unknown", set()  # a pattern or a value that is no account id
            else:
                accts = {a for v in vals if (a := _principal_account(v)) and a != "?" and "*" not in a and "?" not in a}
                if len(accts) != len(vals) and not all(_principal_account(v) == account for v in vals):
                    return "unknown", set()
            if key.lower().startswith("aws:source") and accts != {account}:
                return "unknown", set()  # a service acting for another account's resource: not evaluated
            admitted = accts if admitted is None else admitted & accts
    return ("accounts", admitted) if admitted is not None else ("any", set())


def _org_only(cond: dict[str, Any]) -> list[str]:
    """The fixed organization ids when the condition is only ``StringEquals aws:PrincipalOrgID``."""
    if list(cond) != ["StringEquals"] or not isinstance(cond["StringEquals"], dict):
        return []
    keys = cond["StringEquals"]
    if [k.lower() for k in keys] != ["aws:principalorgid"]:
        return []
    vals = [str(v) for v in _listed(next(iter(keys.values())))]
    return vals if vals and all("*" not in v and "?" not in v for v in vals) else []


def outside_readers(policy: dict[str, Any], account: str, restrict_public: bool,
                    bucket: str | None = None) -> tuple[list[str], list[str]]:
    """Who outside ``account`` a bucket policy lets read objects: (certain readers, undecided statements).

    ``restrict_public``: ``RestrictPublicBuckets`` is on at either level; then a *public* policy grants
    nothing outside the account at all (cross-account delegation in it is blocked too).  ``*``
    narrowed by fixed ``aws:PrincipalAccount``/``aws:PrincipalArn`` values admits exactly those
    accounts, a non-public grant ("Blocking public access to your Amazon S3 storage", "The meaning of
    'public'": fixed values of these keys make a policy non-public), so RestrictPublicBuckets does
    not block it.  ``bucket``: only statements whose resources include its objects read."""
    readers: list[str] = []
    undecided: list[str] = []
    public = False
    for i, st in enumerate(_listed(policy.get("Statement", []))):
        if not isinstance(st, dict) or st.get("Effect") != "Allow" or not _covers_read(st, bucket):
            continue
        sid = st.get("Sid") or f"#{i}"
        if "NotPrincipal" in st:
            public = True
            readers.append(f"everyone but the NotPrincipal of statement {sid}")
            continue
        principal = st.get("Principal")
        aws = ["*"] if principal == "*" else _listed((principal or {}).get("AWS", [])) if isinstance(principal, dict) else []
        for p in (str(x) for x in aws):
            acct = _principal_account(p)
            if acct == account:
                continue
            how, accts = _admitted_accounts(st.get("Condition") or {}, account)
            if how == "accounts":
                others = sorted(a for a in accts if a != account and (acct is None or acct == "?" or a == acct))
                if acct is not None and acct != "?":
                    others = [a for a in others if a == acct]
                if others:
                    via = "a principal of" if acct is None else p + " of"
                    readers += [f"{via} account {a} (statement {sid}, narrowed to it by its condition)" for a in others]
                continue
            narrowed = None if how == "unknown" else False
            orgs = _org_only(st.get("Condition") or {})
            if narrowed is None and orgs:
                # a fixed aws:PrincipalOrgID admits every account of that organization: other accounts
                # read (unless the organization has this account alone); not a public policy, so
                # RestrictPublicBuckets does not block it ("Blocking public access to your Amazon S3
                # storage", "The meaning of 'public'": fixed aws:PrincipalOrgID values are non-public)
                readers.append(f"every account of organization {', '.join(orgs)} (statement {sid})")
                continue
            if narrowed is None:
                undecided.append(f"statement {sid} admits {p} under a condition the audit cannot evaluate, which no "
                                 "read settles (narrow it by aws:PrincipalAccount or name the principals)")
                continue
            if acct is None:
                public = True
                readers.append(f"everyone (statement {sid})")
            else:
                readers.append(f"{p} (statement {sid})")
    if public and restrict_public:
        return [], []
    return readers, undecided


def kms_key_problem(log: InvocationLogging, key: str, what: str) -> tuple[str | None, str | None]:
    """(problem, unknown) of the KMS key ``key`` that encrypts ``what``: a key whose ``KeyState`` is not
    ``Enabled`` (``Disabled``, ``PendingDeletion``, ``PendingImport``, ``Unavailable``) or that does not
    exist cannot be used for cryptographic operations ("Key states of AWS KMS keys",
    https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html), so S3 refuses the writes it
    would encrypt ("Specifying server-side encryption with AWS KMS (SSE-KMS)": the writer needs
    ``kms:GenerateDataKey`` on a usable key) and CloudWatch Logs refuses log events for a group whose
    key is disabled or deleted ("Encrypt log data in CloudWatch Logs using AWS KMS": "If you disable or
    delete the KMS key ... CloudWatch Logs can no longer ... ingest").  Nothing is delivered then."""
    meta = log.kms_keys.get(key)
    if meta is None:
        why = log.kms_key_errors.get(key) or "kms:DescribeKey was not read"
        acct = key.split(":")[4] if key.startswith("arn:") and key.count(":") >= 5 else log.account_id
        grant = (f"; the key is account {acct}'s, whose key policy must let the auditor kms:DescribeKey it"
                 if acct and acct != log.account_id else "")
        return None, f"whether KMS key {key} of {what} is enabled ({why}{grant})"
    if meta.get("missing"):
        return f"KMS key {key} of {what} does not exist, so nothing can be encrypted and delivered", None
    state = str(meta.get("KeyState") or "")
    if state != "Enabled":
        return (f"KMS key {key} of {what} is {state or 'not Enabled'}, so it cannot encrypt and nothing is "
                "delivered"), None
    return None, None


def _s3_destination(log: InvocationLogging, bucket: str,
                    facts: BucketFacts | InvocationLogging | None = None) -> tuple[list[str], list[str]]:
    """(problems, unknowns) of an S3 destination (``facts``: its reads; ``log``'s own fields by default)."""
    f: BucketFacts | InvocationLogging = log if facts is None else facts
    if log.owned_buckets is None:
        return [], [f"whether bucket {bucket} is the account's ({log.owned_buckets_error or 's3:ListBuckets unreadable'})"]
    if bucket not in log.owned_buckets:
        return [f"S3 bucket {bucket} is not owned by account {log.account_id}, so its owner reads every prompt and "
                "answer"], []
    problems: list[str] = []
    unknown: list[str] = []
    # "The S3 bucket must be in the same Region as the model invocation logging configuration"
    # (Bedrock User Guide, "Monitor model invocation using CloudWatch Logs and Amazon S3")
    where = log.bucket_regions.get(bucket)
    if where is None and bucket in log.bucket_region_errors:
        unknown.append(f"which Region bucket {bucket} is in ({log.bucket_region_errors[bucket]})")
    elif where is not None and where != log.region:
        problems.append(f"S3 bucket {bucket} is in {where}, not in {log.region}, so Bedrock cannot deliver to it")
    if f.bucket_encryption is None:
        unknown.append(f"how bucket {bucket} is encrypted ({f.bucket_encryption_error})")
    else:
        algos = [str(((r.get("ApplyServerSideEncryptionByDefault") or {}).get("SSEAlgorithm")) or "")
                 for r in f.bucket_encryption]
        if not any(a in KMS_ALGORITHMS for a in algos):
            now = ", ".join(a for a in algos if a) or "no default encryption"
            problems.append(f"S3 bucket {bucket} is not encrypted with a KMS key by default ({now}; set SSE-KMS)")
        for r in f.bucket_encryption:
            key = str((r.get("ApplyServerSideEncryptionByDefault") or {}).get("KMSMasterKeyID") or "")
            if key:  # no key named: the AWS managed key aws/s3, which S3 keeps enabled
                p, u = kms_key_problem(log, key, f"S3 bucket {bucket}")
                problems += [p] if p else []
                unknown += [u] if u else []
    pab = BucketProtection(partition="commercial", bucket=bucket, account_id=log.account_id,
                           bucket_pab=f.bucket_pab, account_pab=f.account_pab)
    eff, pab_unknown = effective_pab(pab)
    restrict = eff.get("RestrictPublicBuckets", False)
    if f.bucket_policy is None:
        unknown.append(f"who may read bucket {bucket} ({f.bucket_policy_error})")
    else:
        readers, undecided = outside_readers(f.bucket_policy, log.account_id, restrict, bucket)
        if readers:
            problems.append(f"the policy of S3 bucket {bucket} lets principals outside the account call s3:GetObject "
                            f"on the log objects: " + ", ".join(readers) + _managed_key_caveat(f))
        elif undecided:
            unknown.append(f"who may read bucket {bucket}: " + "; ".join(undecided))
        elif "RestrictPublicBuckets" in pab_unknown and outside_readers(f.bucket_policy, log.account_id, False, bucket)[0]:
            why = f.account_pab_error if f.account_pab is None else f.bucket_pab_error
            unknown.append(f"whether bucket {bucket}'s public policy is restricted (Block Public Access unreadable: {why})")
    return problems, unknown


def _managed_key_caveat(f: BucketFacts | InvocationLogging) -> str:
    """What the grant means for objects under the bucket's default key.  An AWS managed key
    (``aws/s3``: SSE-KMS with no key named, or its alias) cannot be used from another account ("AWS
    managed keys": their key policies cannot be changed and allow only the owning account's
    principals, through the service), so objects S3 encrypted with it by default are not decrypted
    there; objects written with another key, or without SSE-KMS, are."""
    rules = f.bucket_encryption or []
    managed = any(str((r.get("ApplyServerSideEncryptionByDefault") or {}).get("SSEAlgorithm") or "") in KMS_ALGORITHMS
                  and str((r.get("ApplyServerSideEncryptionByDefault") or {}).get("KMSMasterKeyID") or "alias/aws/s3")
                  .endswith("alias/aws/s3") for r in rules)
    if not managed:
        return ""
    return ("; the bucket's default key is the AWS managed key aws/s3, which no other account can use, so objects "
            "encrypted with it by default cannot be decrypted there, but any object written with another key or "
            "without SSE-KMS can: remove the grant")


def _names_service(principal: Any, service: str) -> bool:
    """The ``Principal`` (or ``NotPrincipal``) value names ``service``: ``"*"``, ``{"AWS": "*"}`` (every
    principal, services included: "AWS JSON policy elements: Principal") or its ``Service`` entry."""
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    if any(str(a) == "*" for a in _listed(principal.get("AWS", []))):
        return True
    return any(str(x).lower() == service for x in _listed(principal.get("Service", [])))


def service_may(doc: dict[str, Any] | None, service: str, action: str, resource: str,
                context: dict[str, Any]) -> tuple[bool | None, frozenset[str]]:
    """May the AWS service principal ``service`` do ``action`` on ``resource`` under the resource-based
    policy ``doc``, for a request that carries ``context``?  (True/False, or None with the condition keys
    that leave it undecided.)

    IAM's "Policy evaluation logic" (https://docs.aws.amazon.com/IAM/latest/UserGuide/
    reference_policies_evaluation-logic.html): an explicit Deny that applies wins; otherwise an Allow
    that applies grants; otherwise the request is implicitly denied.  A statement applies when its
    ``Principal`` names the service (or ``NotPrincipal`` does not: "AWS JSON policy elements:
    NotPrincipal"), its Action/NotAction covers ``action``, its Resource covers ``resource`` and its
    Condition holds; Action, Resource and Condition are evaluated by the project's evaluator
    (:mod:`bedrock_key_audit.policy`), whose conditions stay undecided on keys ``context`` does not know."""
    from bedrock_key_audit.policy import PolicyError, RequestContext, parse_document

    if not isinstance(doc, dict):
        return False, frozenset()
    try:
        parsed = parse_document(doc, "policy")
    except PolicyError:
        return None, frozenset({"(the policy is not valid IAM JSON)"})
    raw = [st for st in _listed(doc.get("Statement", [])) if isinstance(st, dict)]
    ctx = RequestContext(context)
    allow: bool | None = False
    deny: bool | None = False
    unknown: set[str] = set()
    for st, ps in zip(raw, parsed, strict=True):
        if "NotPrincipal" in st:
            if _names_service(st["NotPrincipal"], service):
                continue
        elif not _names_service(st.get("Principal"), service):
            continue
        got = ps.applies(action, resource, ctx)
        if got.value is None:
            unknown |= set(got.unknown)
        if ps.effect == "Deny":
            deny = True if got.value is True else (None if got.value is None and deny is not True else deny)
        elif got.value is True:
            allow = True
        elif got.value is None and allow is not True:
            allow = None
    if deny is True:
        return False, frozenset()
    if allow is True and deny is False:
        return True, frozenset()
    if allow is False:
        return False, frozenset()
    return None, frozenset(unknown)


def bedrock_context(account: str, region: str) -> dict[str, Any]:
    """What Bedrock's own requests carry as it acts for the account's logging configuration: it is an
    AWS service principal (``aws:PrincipalIsAWSService`` true, ``aws:PrincipalServiceName``) acting for
    ``aws:SourceAccount`` = the account, with ``aws:SourceArn`` an ARN of Bedrock in the account and
    Region ("AWS global condition context keys"; the Bedrock User Guide's delivery-role trust policy
    narrows by ``aws:SourceAccount`` and by ``ArnLike aws:SourceArn arn:aws:bedrock:<region>:<account>:*``,
    "Monitor model invocation using CloudWatch Logs and Amazon S3")."""
    return {"aws:SourceAccount": account, "aws:SourceArn": f"arn:aws:bedrock:{region}:{account}:model-invocation-logging",
            "aws:PrincipalIsAWSService": "true", "aws:PrincipalServiceName": "bedrock.amazonaws.com",
            "aws:SourceOrgID": None, "aws:PrincipalAccount": None, "aws:PrincipalOrgID": None}


def _trusts_bedrock(doc: dict[str, Any] | None, account: str, region: str = "us-east-1",
                    role_arn: str = "*") -> tuple[bool | None, frozenset[str]]:
    """The trust policy lets ``bedrock.amazonaws.com`` ``sts:AssumeRole`` the role, as IAM evaluates it
    (:func:`service_may`: an explicit Deny for Bedrock wins, ``NotPrincipal`` counts): True, False, or
    None with the condition keys that leave it undecided.  A condition on ``aws:SourceAccount`` naming
    another account can never be met by Bedrock acting for this account: False, not undecided."""
    return service_may(doc, "bedrock.amazonaws.com", "sts:AssumeRole", role_arn, bedrock_context(account, region))


def _cloudwatch_destination(log: InvocationLogging, group: str, role: str) -> tuple[list[str], list[str]]:
    role_account = role.split(":")[4] if role.count(":") >= 5 else ""
    if not log.account_id:
        return [], [f"whether role {role} of log group {group} is the account's (sts:GetCallerIdentity failed)"]
    if role_account != log.account_id:
        return [f"log group {group} is written through role {role or '(none)'}, which is not the account's"], []
    problems: list[str] = []
    unknown: list[str] = []
    if log.role_missing:
        problems.append(f"delivery role {role} of log group {group} does not exist, so nothing is delivered")
    elif log.role is None:
        unknown.append(f"whether delivery role {role} exists and trusts Bedrock ({log.role_error or 'iam:GetRole not read'})")
    else:
        trusted, keys = _trusts_bedrock(log.role.get("AssumeRolePolicyDocument"), log.account_id, log.region,
                                        str(log.role.get("Arn") or role))
        if trusted is False:
            problems.append(f"delivery role {role} does not trust bedrock.amazonaws.com to assume it, so nothing is "
                            f"delivered to log group {group}")
        elif trusted is None:
            unknown.append(f"whether delivery role {role} lets bedrock.amazonaws.com assume it: its trust policy has a "
                           f"condition the audit cannot evaluate for Bedrock's requests ({', '.join(sorted(keys))}), "
                           "which no read settles; narrow it by aws:SourceAccount / aws:SourceArn instead")
    if log.log_group_found is None:
        unknown.append(f"whether log group {group} exists ({log.log_group_error or 'logs:DescribeLogGroups unreadable'})")
    elif not log.log_group_found:
        problems.append(f"log group {group} does not exist in {log.region}")
    elif not log.log_group_kms_key:
        problems.append(f"log group {group} is not encrypted with a KMS key (no kmsKeyId; associate one)")
    else:
        p, u = kms_key_problem(log, log.log_group_kms_key, f"log group {group}")
        problems += [p] if p else []
        unknown += [u] if u else []
    return problems, unknown


def invocation_logging_verdict(log: InvocationLogging) -> tuple[str, str]:
    """Pass when ``log.region`` delivers text invocation logs, and every destination is the account's own,
    KMS-encrypted and readable by no other account; a proven gap fails even when something else is unknown."""
    where = f"{log.region} (account {log.account_id})"
    cfg = log.config or {}
    s3 = cfg.get("s3Config") or {}
    cw = cfg.get("cloudWatchConfig") or {}
    if not s3.get("bucketName") and not cw.get("logGroupName"):
        return "fail", (f"model-invocation logging is off in {where}: no S3 bucket or CloudWatch log group receives "
                        "the key's Bedrock calls")
    if cfg.get("textDataDeliveryEnabled") is not True:
        return "fail", (f"model-invocation logging in {where} does not deliver text data "
                        "(textDataDeliveryEnabled is off), so the key's text-model calls are not logged")
    problems: list[str] = []
    unknown: list[str] = []
    good: list[str] = []
    bucket = s3.get("bucketName")
    if bucket:
        p, u = _s3_destination(log, bucket)
        problems += p
        unknown += u
        if not p and not u:
            good.append(f"S3 bucket {bucket}")
    group = cw.get("logGroupName")
    if group:
        p, u = _cloudwatch_destination(log, group, str(cw.get("roleArn") or ""))
        problems += p
        unknown += u
        if not p and not u:
            good.append(f"CloudWatch Logs group {group}")
        # Bedrock writes payloads over 100 KB and binary data of a CloudWatch Logs destination to this bucket
        # (Amazon Bedrock API Reference, CloudWatchConfig: "largeDataDeliveryS3Config"), so it holds prompts
        # and answers like any S3 destination and is judged the same way
        big = (cw.get("largeDataDeliveryS3Config") or {}).get("bucketName")
        if big:
            p, u = _s3_destination(log, big, log if big == bucket else log.large_data or BucketFacts(
                *(None, "its reads were not made") * 4))
            problems += p
            unknown += u
            if not p and not u and big != bucket:
                good.append(f"large-data S3 bucket {big}")
    if problems:
        return "fail", f"model-invocation logging in {where}: " + "; ".join(problems)
    if unknown:
        advice = "" if "no read settles" in unknown[0] else "; grant that read to the auditor"
        raise CouldNotDecide(f"model-invocation logging in {where} is configured, but the audit cannot tell "
                             f"{unknown[0]}{advice}")
    return "pass", (f"model-invocation logging in {where} delivers text data to " + " and ".join(good)
                    + ", KMS-encrypted and readable by no other account")


def effective_pab(prot: BucketProtection) -> tuple[dict[str, bool], list[str]]:
    """Each setting's effective value (either level on), and the settings that are unknown
    because a level that does not have them on could not be read."""
    eff: dict[str, bool] = {}
    unknown: list[str] = []
    for s in PAB_SETTINGS:
        levels = [prot.bucket_pab, prot.account_pab]
        if any(lvl is not None and lvl.get(s) is True for lvl in levels):
            eff[s] = True
        elif any(lvl is None for lvl in levels):
            unknown.append(s)
        else:
            eff[s] = False
    return eff, unknown


def bucket_protection_verdict(prot: BucketProtection) -> tuple[str, str]:
    """Pass when the bucket blocks every kind of public access (bucket or, for the account's own bucket,
    account level) and logs access to a bucket that exists."""
    b = f"S3 bucket {prot.bucket} of the {prot.partition} security trail"
    if prot.foreign:
        b += " (owned by another account)"
    if prot.missing:
        # bucket names are global: whoever creates a deleted trail bucket's name receives the trail's logs
        return "fail", (f"{b} does not exist, so the trail delivers nothing and anyone who creates a bucket of that "
                        "name receives its logs")
    eff, unknown = effective_pab(prot)
    off = [s for s, on in eff.items() if not on]
    gaps: list[str] = []
    if off:
        gaps.append(f"Block Public Access is off for {', '.join(off)} at both bucket and account level")
    target = (prot.logging or {}).get("TargetBucket") or "?"
    if prot.logging is not None and not prot.logging:
        gaps.append("server access logging is off")
    elif prot.logging and prot.target_exists is False:
        gaps.append(f"server access logging points at bucket {target}, which does not exist, so no access log is "
                    "written")
    elif prot.logging and prot.bucket_region and prot.target_region and prot.bucket_region != prot.target_region:
        # "All logs are saved to buckets in the same AWS Region as the source bucket" (PutBucketLogging)
        gaps.append(f"server access logging points at bucket {target}, which is in {prot.target_region}, not in "
                    f"{prot.bucket_region}; S3 delivers access logs only to a bucket in the source bucket's Region")
    elif prot.logging and prot.target_owned is False:
        gaps.append(f"server access logging points at bucket {target}, which the account does not own; S3 delivers "
                    "access logs only to a bucket of the source bucket's owner")
    if gaps:
        return "fail", f"{b}: " + " and ".join(gaps)
    if unknown:
        why = prot.account_pab_error if prot.account_pab is None else prot.bucket_pab_error
        if prot.foreign and prot.bucket_pab is None:
            why = (f"{prot.bucket_pab_error}; the owning account must let the auditor read "
                   "s3:GetBucketPublicAccessBlock and s3:GetBucketLogging in the bucket's policy")
        raise CouldNotDecide(f"cannot tell whether {b} blocks public access ({', '.join(unknown)} unreadable: {why})")
    if prot.logging is None:
        grant = (" (the owning account must let the auditor read s3:GetBucketLogging in the bucket's policy)"
                 if prot.foreign else "")
        raise CouldNotDecide(f"cannot tell whether {b} logs access: {prot.logging_error}{grant}")
    if prot.target_exists is None:
        raise CouldNotDecide(f"cannot tell whether access-log bucket {target} of {b} exists: {prot.target_error}")
    level = "at bucket level" if prot.foreign else "at bucket or account level"
    return "pass", (f"{b} blocks all public access ({level}) and logs access to bucket {target}, which exists")
