"""``bedrock-key-audit doctor``: can this configuration audit these accounts? A preflight.

It says which configuration file is used (loudly when it is the built-in defaults), which
identity runs in each partition (``sts:GetCallerIdentity``: account and ARN), which credential
problems there are, each named as what it is, and which of the audit's reads are denied.

Credential problems, each one line:

- a profile that does not exist in the AWS config files;
- no credentials at all;
- an SSO profile whose token is missing or expired (``aws sso login --profile NAME``);
- the credentials of the other partition: IAM in AWS GovCloud (US) is separate from the commercial
  partition's, so a commercial access key is refused there with ``InvalidClientTokenId`` and the
  other way round ("AWS GovCloud (US) compared to standard AWS Regions",
  https://docs.aws.amazon.com/govcloud-us/latest/UserGuide/govcloud-differences.html). The doctor
  then tries the same credentials in the other partition: when they work there, it says which
  partition they belong to and which setting fixes it;
- the same account in both partitions (a GovCloud account is never a commercial one: "Signing up
  for AWS GovCloud (US)", https://docs.aws.amazon.com/govcloud-us/latest/UserGuide/getting-started-sign-up.html);
- expired temporary credentials (``ExpiredToken``).

``sts:GetCallerIdentity`` needs no permission ("GetCallerIdentity",
https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html: "No permissions are
required to perform this operation"), so a refusal there is about the credentials, never a policy.

The identity part (:func:`check_identities`) also runs at the start of every real audit
(fixtures/aws.py): a credential problem stops the run with its one line (exit status 4), and the
identities it read are the run's (no second call).

Permissions (:data:`READS`): each read the audit needs is tried once, the cheapest form of it
(one item, the configured user and secret); a denial (``AccessDenied``...) lists the action as
missing, with the command that prints the policy to attach. A read that finds nothing
(``NoSuchEntity``, ``ResourceNotFoundException``) was allowed. The calls are reads only.

Where the caller may simulate its own principal (:func:`simulate`), one ``iam:SimulatePrincipalPolicy``
call answers for every read whose authorization only identity-based policies decide: an IAM user is
simulated as itself, a role session as its role (the role ARN, path included, from ``iam:GetRole``).
The simulator does not retrieve resource-based policies ("SimulatePrincipalPolicy", IAM API Reference,
https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html: "The simulation
does not automatically retrieve policies for the specified resources"), so the reads a resource policy
also decides (KMS key policies, a secret's resource policy, bucket policies: :data:`TRIED_SERVICES`)
are always tried.  A simulated denial is final for the principal (a session policy can only narrow
it); a simulated allow of a role does not see the session's own policy, so a read that later reads
what it finds is still made, and its real answer wins.  Without the permission (or for the account
root, a federated user, or an error) every read is tried as above: ``iam:SimulatePrincipalPolicy``
is optional (docs/real-accounts.md).
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import dataclasses
import os
import re
import sys
from typing import Any, Callable

import botocore.exceptions

from bedrock_key_audit.aws_call import error_code

PARTITIONS = ("commercial", "govcloud")
ARN_PARTITION = {"commercial": "aws", "govcloud": "aws-us-gov"}
TITLE = {"commercial": "commercial", "govcloud": "GovCloud"}
OTHER = {"commercial": "govcloud", "govcloud": "commercial"}
#: a Region of the other partition where the same credentials are tried (STS is in every Region)
PROBE_REGION = {"commercial": "us-east-1", "govcloud": "us-gov-west-1"}
#: AWS error codes that mean "this principal may not"; a bare ``403`` is what botocore reports for a
#: refused request whose answer has no body (S3's HeadBucket: "HeadBucket", Amazon S3 API Reference)
DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "403"}
#: the credentials themselves were refused
REFUSED = {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "InvalidAccessKeyId"}
EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}
#: the read was allowed and found nothing (or nothing configured)
NOT_FOUND = {"NoSuchEntity", "ResourceNotFoundException", "NoSuchPublicAccessBlockConfiguration",
             "TrailNotFoundException", "NoSuchBucket", "AWSOrganizationsNotInUseException", "NoSuchBucketPolicy",
             "ServerSideEncryptionConfigurationNotFoundError", "ReportNotPresent", "ReportExpired",
             "ReportInProgress"}
SSO_ERRORS = (botocore.exceptions.SSOTokenLoadError, botocore.exceptions.UnauthorizedSSOTokenError,
              botocore.exceptions.TokenRetrievalError, botocore.exceptions.SSOError)


def policy_command(partition: str, organization: bool = False, account: str | None = None,
                   config_path: str | None = None) -> str:
    """The command that prints the auditor policy to attach in ``partition`` (``account``: the account
    the identity is in, when the configuration names none, so the printed ARNs name it; ``config_path``:
    the configuration file doctor read, whose names the printed ARNs carry)."""
    from bedrock_key_audit.aws_call import policy_command as command

    return command("auditor", partition, account=account, organization=organization, config_path=config_path)


@dataclasses.dataclass
class Report:
    config_source: str
    identities: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    problems: list[str] = dataclasses.field(default_factory=list)
    missing: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    unchecked: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    allowed: dict[str, int] = dataclasses.field(default_factory=dict)
    #: partition → (simulated principal ARN, actions the simulation answered)
    simulated: dict[str, tuple[str, int]] = dataclasses.field(default_factory=dict)
    #: partition → reads refused by something a grant cannot fix (a boundary, an explicit Deny, an SCP...),
    #: one sentence each naming it (aws_call.denied_error's wording)
    refused: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    #: what does not stop an audit but should be fixed (one line each)
    warnings: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not any(self.missing.values()) and not any(self.refused.values())


def _source(aws: Any, partition: str) -> str:
    prof = aws.cfg.profile(partition)
    return f"profile {prof!r}" if prof else "the standard credential chain"


def _profile_setting(aws: Any, partition: str) -> str:
    prof = aws.cfg.profile(partition)
    if prof:
        return f"partitions.{partition}.profile ({prof!r}) names {TITLE[OTHER[partition]]} credentials: point it at a " \
               f"{TITLE[partition]} profile"
    return f"set partitions.{partition}.profile"


def profile_env() -> tuple[str, str] | None:
    """``(variable, value)`` of the environment variable that names the profile of the standard chain."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        if os.environ.get(var):
            return var, os.environ[var]
    return None


def profile_not_found(partition: str, prof: str | None) -> str:
    """One line for botocore's ``ProfileNotFound``: the setting that named the missing profile.  Without
    ``partitions.<p>.profile`` the SDK's chain takes the profile from ``AWS_PROFILE`` (a stale one in the
    shell is the usual cause), so that variable is named, not the audit's setting."""
    files = "(AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE or ~/.aws/config, ~/.aws/credentials)"
    env = profile_env()
    if not prof and env:
        return (f"{partition}: the environment variable {env[0]}={env[1]!r} names an AWS profile not found in the AWS "
                f"config files {files}: unset it, or set partitions.{partition}.profile")
    return f"partitions.{partition}.profile: AWS profile {prof!r} not found in the AWS config files {files}"


def load_problem(partition: str, prof: str | None, exc: Exception) -> str:
    """One line for credentials that could not be loaded, naming the profile.  A failing
    ``credential_process`` makes botocore raise with the process's stderr as the whole message (empty
    when it printed nothing): the line says it was the process and gives the tail of its stderr, redacted
    (a process may print a token)."""
    from bedrock_key_audit.redaction import redact_text

    where = f"profile {prof!r}" if prof else "the standard credential chain"
    if isinstance(exc, botocore.exceptions.CredentialRetrievalError) and getattr(exc, "kwargs", {}).get(
            "provider") == "custom-process":
        tail = " ".join(str(exc.kwargs.get("error_msg") or "").split())[-200:]
        program = (_profile_value(prof, "credential_process") or "").split(" ")[0]
        return (f"{partition}: the credential_process of {where}{' (' + program + ')' if program else ''} failed: "
                + (redact_text(tail) if tail else "it exited with an error and printed nothing on stderr")
                + "; run it yourself to see why")
    return f"{partition}: cannot load AWS credentials ({where}): {redact_text(str(exc)) or type(exc).__name__}"


def _credentials_problem(aws: Any, partition: str) -> str | None:
    """The profile exists and yields credentials, else the one-line problem (no AWS call)."""
    prof = aws.cfg.profile(partition)
    try:
        sess = aws.session(partition)
    except botocore.exceptions.ProfileNotFound:
        return profile_not_found(partition, prof)
    try:
        creds = sess.get_credentials()
    except SSO_ERRORS:
        return _sso_problem(partition, prof)
    except botocore.exceptions.BotoCoreError as exc:
        return load_problem(partition, prof, exc)
    if creds is None:
        return (f"{partition}: no AWS credentials found ({_source(aws, partition)}); configure them, set "
                f"partitions.{partition}.profile in audit.toml, or run with --emulate")
    return None


def _sso_problem(partition: str, prof: str | None) -> str:
    return (f"{partition}: the SSO token of profile {prof!r} is missing or expired: run "
            f"`aws sso login --profile {prof}`")


def provider_problem(exc: botocore.exceptions.ClientError, prof: str | None) -> str | None:
    """The credential provider's own call, when that is what failed: botocore makes it while the first
    request is signed, so its error surfaces from that request (GetCallerIdentity) with the provider's
    operation name.  ``role_arn`` profiles call ``sts:AssumeRole`` ("Use an IAM role in the AWS CLI",
    https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-role.html); SSO profiles call the
    IAM Identity Center portal's ``GetRoleCredentials`` ("GetRoleCredentials", AWS IAM Identity
    Center Portal API Reference)."""
    op = getattr(exc, "operation_name", None)
    code = error_code(exc)
    where = f"profile {prof!r}" if prof else "the standard credential chain"
    if op in ("AssumeRole", "AssumeRoleWithWebIdentity"):
        role = _profile_value(prof, "role_arn") or "the profile's role_arn"
        if code in REFUSED | EXPIRED:
            return (f"sts:{op} of {role} ({where}) failed with {code}: the source credentials were refused; "
                    "check source_profile / credential_source")
        return (f"sts:{op} of {role} ({where}) failed with {code}: the role must exist, trust the source "
                f"principal (its trust policy) and the source principal must be allowed sts:AssumeRole on it")
    if op == "GetRoleCredentials":
        return (f"SSO GetRoleCredentials ({where}) failed with {code}: check sso_account_id and sso_role_name, "
                f"or run `aws sso login --profile {prof}`")
    return None


def _profile_value(prof: str | None, key: str) -> str | None:
    import botocore.session

    env = profile_env()
    name = prof or (env[1] if env else None)
    if not name:
        return None
    value = botocore.session.Session().full_config.get("profiles", {}).get(name, {}).get(key)
    return str(value) if value else None


def _who(aws: Any, partition: str, region: str | None = None) -> dict[str, Any]:
    resp = aws.client("sts", partition, region).get_caller_identity()
    return {k: resp.get(k) for k in ("Account", "Arn", "UserId")}


def identity_problem(aws: Any, partition: str) -> tuple[dict[str, Any] | None, str | None]:
    """``(identity, None)`` or ``(None, one-line problem)`` for the partition's credentials."""
    problem = _credentials_problem(aws, partition)
    if problem:
        return None, problem
    prof = aws.cfg.profile(partition)
    try:
        who = _who(aws, partition)
    except SSO_ERRORS:
        return None, _sso_problem(partition, prof)
    except botocore.exceptions.ClientError as exc:
        code = error_code(exc)
        provider = provider_problem(exc, prof)
        if provider:
            return None, f"{partition}: {provider}"
        if code in EXPIRED:
            return None, f"{partition}: the credentials ({_source(aws, partition)}) have expired ({code}); refresh them"
        if code not in REFUSED:
            return None, f"{partition}: sts:GetCallerIdentity failed with {code} ({_source(aws, partition)})"
        other = OTHER[partition]
        try:
            theirs = _who(aws, partition, PROBE_REGION[other])
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError):
            theirs = None
        if theirs and str(theirs.get("Arn") or "").startswith(f"arn:{ARN_PARTITION[other]}:"):
            return None, (f"the {partition} partition got {TITLE[other]} credentials (account {theirs.get('Account')}, "
                          f"{_source(aws, partition)}): {_profile_setting(aws, partition)}")
        return None, (f"{partition}: the credentials ({_source(aws, partition)}) were refused ({code}): they are not "
                      f"valid in the {TITLE[partition]} partition")
    except botocore.exceptions.BotoCoreError as exc:
        return None, f"{partition}: cannot reach STS in {aws.cfg.region(partition)}: {type(exc).__name__}: {exc}"
    arn = str(who.get("Arn") or "")
    if not arn.startswith(f"arn:{ARN_PARTITION[partition]}:"):
        # answered, but by the other partition (an endpoint override pointing there)
        return None, (f"the {partition} partition got {TITLE[OTHER[partition]]} credentials (account "
                      f"{who.get('Account')}, {arn}): {_profile_setting(aws, partition)}")
    return who, None


def check_identities(aws: Any) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Every partition's identity and every credential problem (one line each).  The partitions are
    asked side by side: nothing one answers changes the other's call."""
    identities: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    with cf.ThreadPoolExecutor(max_workers=len(PARTITIONS), thread_name_prefix="identity") as pool:
        answers = list(pool.map(lambda part: identity_problem(aws, part), PARTITIONS))
    for part, (who, problem) in zip(PARTITIONS, answers, strict=True):
        if problem:
            problems.append(problem)
        elif who is not None:
            identities[part] = who
    accounts = {p: w.get("Account") for p, w in identities.items()}
    if len(accounts) == 2 and accounts["commercial"] == accounts["govcloud"]:
        problems.append(f"both partitions run as account {accounts['commercial']}: a GovCloud account is never the "
                        f"commercial one; set partitions.govcloud.profile to the GovCloud account's credentials")
    return identities, problems


# --------------------------------------------------------------------------- permissions
#: what earlier reads found, per partition, for the reads that need a resource (the secret's KMS key,
#: the trail, its bucket): ``kms_key``, ``trail``, ``bucket``, ``log_bucket``, ``group``, ``policy_arn``...
Seen = dict[str, Any]
Params = Callable[[Any, dict[str, Any], Seen], "dict[str, Any] | None"]
#: a name no resource is expected to have: IAM authorizes a call before it looks the entity up, so an
#: allowed read of it answers NoSuchEntity and a denied one AccessDenied
PROBE_NAME = "bedrock-key-audit-doctor-probe"


@dataclasses.dataclass(frozen=True)
class Read:
    """One read the audit makes, in its cheapest form.  ``params`` returns None when the resource it
    needs was not found by the reads before it (no trail: no trail status to read; the audit needs
    none either); ``record`` keeps what later reads need from the answer."""
    partition: str
    service: str
    method: str
    action: str
    params: Params = lambda cfg, who, seen: {}
    record: Callable[[dict[str, Any], Seen], None] | None = None


def _user(cfg: Any, who: dict[str, Any], seen: Seen) -> dict[str, Any]:
    return {"UserName": cfg.user_name}


def _secret(cfg: Any, who: dict[str, Any], seen: Seen) -> dict[str, Any]:
    return {"SecretId": cfg.secret_id}


def _needs(key: str, make: Callable[[Any], dict[str, Any]]) -> Params:
    """Params built from ``seen[key]``; the read is skipped when no earlier read found one."""
    return lambda cfg, who, seen: make(seen[key]) if seen.get(key) else None


def _first(key: str, items: str, field: str) -> Callable[[dict[str, Any], Seen], None]:
    def record(out: dict[str, Any], seen: Seen) -> None:
        listed = out.get(items) or []
        if listed:
            seen[key] = listed[0][field] if field else listed[0]
    return record


def _secret_key(out: dict[str, Any], seen: Seen) -> None:
    if out.get("KmsKeyId"):
        seen["kms_key"] = out["KmsKeyId"]


def _trail(out: dict[str, Any], seen: Seen) -> None:
    trails = out.get("trailList") or []
    if trails:
        seen["trail"] = trails[0].get("TrailARN") or trails[0].get("Name")
        seen["bucket"] = trails[0].get("S3BucketName")
        if trails[0].get("KmsKeyId"):
            seen.setdefault("kms_key", trails[0]["KmsKeyId"])


def _log_bucket(out: dict[str, Any], seen: Seen) -> None:
    bucket = ((out.get("loggingConfig") or {}).get("s3Config") or {}).get("bucketName")
    if bucket:
        seen["log_bucket"] = bucket


def _policy_version(out: dict[str, Any], seen: Seen) -> None:
    version = (out.get("Policy") or {}).get("DefaultVersionId")
    if version:
        seen["policy_version"] = version


def _gaad(partition: str) -> Read:
    return Read(partition, "iam", "get_account_authorization_details", "iam:GetAccountAuthorizationDetails",
                lambda c, w, s: {"MaxItems": 1, "Filter": ["User"]})


def _trail_reads(partition: str) -> tuple[Read, ...]:
    bucket = _needs("bucket", lambda b: {"Bucket": b})
    return (
        Read(partition, "cloudtrail", "describe_trails", "cloudtrail:DescribeTrails", record=_trail),
        Read(partition, "cloudtrail", "get_trail_status", "cloudtrail:GetTrailStatus", _needs("trail", lambda t: {"Name": t})),
        Read(partition, "cloudtrail", "get_event_selectors", "cloudtrail:GetEventSelectors",
             _needs("trail", lambda t: {"TrailName": t})),
        Read(partition, "s3", "get_bucket_location", "s3:GetBucketLocation", bucket),
        Read(partition, "s3", "get_bucket_logging", "s3:GetBucketLogging", bucket),
        Read(partition, "s3", "get_public_access_block", "s3:GetBucketPublicAccessBlock", bucket),
        Read(partition, "s3control", "get_public_access_block", "s3:GetAccountPublicAccessBlock",
             lambda c, w, s: {"AccountId": w.get("Account")}),
    )


def _key_reads(partition: str) -> tuple[Read, ...]:
    return (
        Read(partition, "kms", "describe_key", "kms:DescribeKey", _needs("kms_key", lambda k: {"KeyId": k})),
        Read(partition, "kms", "get_key_policy", "kms:GetKeyPolicy",
             _needs("kms_key", lambda k: {"KeyId": k, "PolicyName": "default"})),
        Read(partition, "kms", "list_grants", "kms:ListGrants", _needs("kms_key", lambda k: {"KeyId": k, "Limit": 1})),
    )


#: the reads the audit makes, each in its cheapest form, in an order where each finds what the next
#: needs (docs/auditor-policy.json names the same actions; NOT_TRIED says why the others are not tried)
READS: tuple[Read, ...] = (
    Read("commercial", "iam", "get_user", "iam:GetUser", _user),
    Read("commercial", "iam", "list_users", "iam:ListUsers", lambda c, w, s: {"MaxItems": 1}),
    Read("commercial", "iam", "get_login_profile", "iam:GetLoginProfile", _user),
    Read("commercial", "iam", "list_access_keys", "iam:ListAccessKeys", _user),
    Read("commercial", "iam", "list_signing_certificates", "iam:ListSigningCertificates", _user),
    Read("commercial", "iam", "list_ssh_public_keys", "iam:ListSSHPublicKeys", _user),
    Read("commercial", "iam", "list_service_specific_credentials", "iam:ListServiceSpecificCredentials", _user),
    Read("commercial", "iam", "list_attached_user_policies", "iam:ListAttachedUserPolicies", _user,
         _first("policy_arn", "AttachedPolicies", "PolicyArn")),
    Read("commercial", "iam", "list_user_policies", "iam:ListUserPolicies", _user, _first("user_policy", "PolicyNames", "")),
    Read("commercial", "iam", "get_user_policy", "iam:GetUserPolicy",
         lambda c, w, s: {"UserName": c.user_name, "PolicyName": s.get("user_policy") or PROBE_NAME}),
    Read("commercial", "iam", "list_groups_for_user", "iam:ListGroupsForUser", _user, _first("group", "Groups", "GroupName")),
    Read("commercial", "iam", "list_attached_group_policies", "iam:ListAttachedGroupPolicies",
         lambda c, w, s: {"GroupName": s.get("group") or PROBE_NAME, "MaxItems": 1}),
    Read("commercial", "iam", "list_group_policies", "iam:ListGroupPolicies",
         lambda c, w, s: {"GroupName": s.get("group") or PROBE_NAME, "MaxItems": 1},
         _first("group_policy", "PolicyNames", "")),
    Read("commercial", "iam", "get_group_policy", "iam:GetGroupPolicy",
         lambda c, w, s: {"GroupName": s.get("group") or PROBE_NAME, "PolicyName": s.get("group_policy") or PROBE_NAME}),
    Read("commercial", "iam", "get_policy", "iam:GetPolicy",
         lambda c, w, s: {"PolicyArn": s.get("policy_arn") or f"arn:aws:iam::{w.get('Account')}:policy/{PROBE_NAME}"},
         _policy_version),
    Read("commercial", "iam", "get_policy_version", "iam:GetPolicyVersion",
         lambda c, w, s: {"PolicyArn": s.get("policy_arn") or f"arn:aws:iam::{w.get('Account')}:policy/{PROBE_NAME}",
                          "VersionId": s.get("policy_version") or "v1"}),
    Read("commercial", "iam", "get_role", "iam:GetRole", lambda c, w, s: {"RoleName": PROBE_NAME}),
    Read("commercial", "iam", "get_credential_report", "iam:GetCredentialReport"),
    _gaad("commercial"),
    *_trail_reads("commercial"),
    Read("commercial", "cloudtrail", "lookup_events", "cloudtrail:LookupEvents", lambda c, w, s: {"MaxResults": 1}),
    Read("commercial", "bedrock", "get_model_invocation_logging_configuration",
         "bedrock:GetModelInvocationLoggingConfiguration", record=_log_bucket),
    Read("commercial", "s3", "get_bucket_encryption", "s3:GetEncryptionConfiguration",
         lambda c, w, s: ({"Bucket": s.get("log_bucket") or s["bucket"]} if s.get("log_bucket") or s.get("bucket")
                          else None)),
    Read("commercial", "s3", "get_bucket_policy", "s3:GetBucketPolicy",
         lambda c, w, s: ({"Bucket": s.get("log_bucket") or s["bucket"]} if s.get("log_bucket") or s.get("bucket")
                          else None)),
    Read("commercial", "s3", "list_buckets", "s3:ListAllMyBuckets"),
    Read("commercial", "logs", "describe_log_groups", "logs:DescribeLogGroups", lambda c, w, s: {"limit": 1}),
    Read("commercial", "ec2", "describe_regions", "ec2:DescribeRegions"),
    *_key_reads("commercial"),
    Read("govcloud", "secretsmanager", "describe_secret", "secretsmanager:DescribeSecret", _secret, _secret_key),
    Read("govcloud", "secretsmanager", "get_resource_policy", "secretsmanager:GetResourcePolicy", _secret),
    # the value is read and dropped at once (the audit needs it; kms:Decrypt on the secret's key with it)
    Read("govcloud", "secretsmanager", "get_secret_value", "secretsmanager:GetSecretValue", _secret),
    *_key_reads("govcloud"),
    _gaad("govcloud"),
    *_trail_reads("govcloud"),
    # any account of an organization may call it (AWSOrganizationsNotInUseException: in none, allowed)
    Read("commercial", "organizations", "describe_organization", "organizations:DescribeOrganization"),
    Read("govcloud", "organizations", "describe_organization", "organizations:DescribeOrganization"),
)
#: actions of the auditor policy (generated: bedrock_key_audit/permissions.py) the doctor does not try, and why; a
#: test holds READS + NOT_TRIED equal to the policy's actions, so a new read cannot be forgotten here
NOT_TRIED: dict[str, str] = {
    "kms:Decrypt": "allowed only through Secrets Manager (kms:ViaService): secretsmanager:GetSecretValue exercises it",
    "iam:GenerateCredentialReport": "it starts the generation of a report (fleet mode only); iam:GetCredentialReport "
                                    "is tried from the same statement",
    **{a: "only the organization's management account or a delegated administrator may call it (AWS Organizations "
          "API Reference), so a member account's AccessDenied says nothing about its policy; the org.* rows end "
          "error naming it when it cannot be read ([organization] policies_profile, or --org-policies)"
       for a in ("organizations:ListParents", "organizations:ListPoliciesForTarget", "organizations:DescribePolicy")},
}
ORGANIZATION_READS: tuple[Read, ...] = (
    Read("commercial", "organizations", "list_accounts", "organizations:ListAccounts",
         lambda c, w, s: {"MaxResults": 1}),
)


#: services whose reads a resource-based policy also decides: never simulated, always tried
TRIED_SERVICES = frozenset({"kms", "secretsmanager", "s3"})


def policy_actions(partition: str, organization: bool = False) -> frozenset[str]:
    """The actions of the auditor policy ``bedrock-key-audit policy auditor --partition P`` prints: the
    same generator (:func:`bedrock_key_audit.policies.generate`), so the doctor tries in each partition
    exactly the reads the printed policy grants there (a read :data:`READS` lists for a partition whose
    policy leaves its action out is one the audit does not make there: the generated policy is proven
    by running the whole audit as a principal holding only it)."""
    from bedrock_key_audit import policies

    doc = policies.generate("auditor", partition=partition, organization={} if organization else None)
    return frozenset(a for st in doc["Statement"] if st.get("Effect") == "Allow"
                     for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]]))
#: the resource each simulated read acts on (the Service Authorization Reference's resource type of the
#: action, as the auditor policy scopes it); an action absent here acts on ``*``
SIM_RESOURCE: dict[str, str] = {
    **{a: "user" for a in ("iam:GetUser", "iam:GetLoginProfile", "iam:ListAccessKeys", "iam:ListSigningCertificates",
                           "iam:ListSSHPublicKeys", "iam:ListServiceSpecificCredentials",
                           "iam:ListAttachedUserPolicies", "iam:ListUserPolicies", "iam:GetUserPolicy",
                           "iam:ListGroupsForUser")},
    **{a: "group" for a in ("iam:ListAttachedGroupPolicies", "iam:ListGroupPolicies", "iam:GetGroupPolicy")},
    "iam:GetPolicy": "policy", "iam:GetPolicyVersion": "policy", "iam:GetRole": "role",
    "cloudtrail:GetTrailStatus": "trail", "cloudtrail:GetEventSelectors": "trail",
}


def _sim_resource(action: str, partition: str, account: str, cfg: Any) -> str:
    p = ARN_PARTITION[partition]
    kind = SIM_RESOURCE.get(action)
    if kind == "user":
        return f"arn:{p}:iam::{account}:user/{cfg.user_name}"
    if kind in ("group", "policy", "role"):
        return f"arn:{p}:iam::{account}:{kind}/{PROBE_NAME}"
    if kind == "trail":
        return f"arn:{p}:cloudtrail:{cfg.region(partition)}:{account}:trail/{PROBE_NAME}"
    return "*"


def simulation_source(aws: Any, partition: str, arn: str) -> str | None:
    """The principal ``iam:SimulatePrincipalPolicy`` can simulate for the caller ``arn``: an IAM user
    itself; for a role session the role (``iam:GetRole`` gives its ARN with its path, which the
    assumed-role ARN leaves out); None for the account root, a federated user or anything else."""
    m = re.fullmatch(r"arn:([\w-]+):iam::(\d{12}):user/.+", arn)
    if m:
        return arn
    m = re.fullmatch(r"arn:([\w-]+):sts::(\d{12}):assumed-role/([\w+=,.@-]+)/.+", arn)
    if not m:
        return None
    fallback = f"arn:{m.group(1)}:iam::{m.group(2)}:role/{m.group(3)}"
    try:
        return str(aws.client("iam", partition).get_role(RoleName=m.group(3))["Role"]["Arn"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError):
        return fallback  # a role without a path (the common case); a wrong guess fails the simulation: tried


def simulate(aws: Any, partition: str, who: dict[str, Any], actions: list[str]
             ) -> tuple[str, dict[str, bool]] | None:
    """``(principal ARN, {action: allowed})`` from one ``iam:SimulatePrincipalPolicy`` call over ``actions``,
    each judged on its own resource (:data:`SIM_RESOURCE`); None when it cannot answer (no principal to
    simulate, the call denied or failed): the caller then tries each read."""
    source = simulation_source(aws, partition, str(who.get("Arn") or ""))
    if source is None or not actions:
        return None
    account = str(who.get("Account") or "")
    wanted = {a: _sim_resource(a, partition, account, aws.cfg) for a in actions}
    results: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"PolicySourceArn": source, "ActionNames": list(wanted),
                              "ResourceArns": sorted(set(wanted.values()))}
    try:
        iam = aws.client("iam", partition)
        while True:
            out = iam.simulate_principal_policy(**kwargs)
            results += out.get("EvaluationResults") or []
            if not out.get("IsTruncated") or not out.get("Marker"):
                break
            kwargs["Marker"] = out["Marker"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError):
        return None
    lower = {a.lower(): a for a in wanted}
    answer: dict[str, bool] = {}
    for entry in results:
        action = lower.get(str(entry.get("EvalActionName") or "").lower())
        if action is None:
            continue
        resource = wanted[action]
        decision = next((r.get("EvalResourceDecision") for r in entry.get("ResourceSpecificResults") or []
                         if r.get("EvalResourceName") == resource), None)
        if decision is None and entry.get("EvalResourceName") in (resource, None):
            decision = entry.get("EvalDecision")
        boundary = (entry.get("PermissionsBoundaryDecisionDetail") or {}).get("AllowedByPermissionsBoundary")
        if decision == "allowed":
            answer[action] = True
        elif decision == "implicitDeny" and boundary is not False:
            answer[action] = False
        # an explicit Deny or a boundary refusing: left out, so the read is tried and AWS's answer names the
        # cause (a grant would change nothing: "Policy evaluation logic", IAM User Guide)
    return (source, answer) if answer else None


def denied_action(read: Read, exc: botocore.exceptions.ClientError) -> str:
    """The action a refused read lacked: Secrets Manager's "Access to KMS is not allowed" is the
    caller's kms:Decrypt on the secret's key, not the Secrets Manager action (aws_call's wording)."""
    from bedrock_key_audit.inventory.errors import KMS_VIA_SECRETS_MANAGER

    message = str(exc.response.get("Error", {}).get("Message", "") or "").lower()
    if read.service == "secretsmanager" and KMS_VIA_SECRETS_MANAGER in message:
        return "kms:Decrypt"
    return read.action


def _refusal_not_a_missing_grant(read: Read, exc: botocore.exceptions.ClientError, where: str) -> str | None:
    """The sentence of a refusal AWS attributes to something other than a missing grant (a permissions
    boundary, an SCP/RCP, a session or VPC endpoint policy, any explicit Deny) or to no cause at all (KMS
    behind Secrets Manager: the key policy, a grant or IAM), else None.  AWS names
    the policy type in the message ("Troubleshoot access denied error messages", IAM User Guide,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html); attaching the
    printed policy changes nothing there."""
    from bedrock_key_audit.aws_call import denial_cause, denied_error
    from bedrock_key_audit.inventory.errors import KMS_VIA_SECRETS_MANAGER

    message = str(exc.response.get("Error", {}).get("Message", "") or "")
    cause = denial_cause(message)
    # Secrets Manager's "Access to KMS is not allowed" names no cause: the key policy, a grant or IAM
    kms_behind = read.service == "secretsmanager" and KMS_VIA_SECRETS_MANAGER in message.lower()
    if not (kms_behind or (cause is not None and (cause[1] or cause[0] != "identity-based policy"))
            or (cause is None and "explicit deny" in message.lower())):
        return None
    operation = read.action.split(":", 1)[1]
    return str(denied_error(read.service, operation, read.action, error_code(exc), message, where=where,
                            partition=read.partition))


def check_permissions(aws: Any, identities: dict[str, dict[str, Any]], organization: bool = False,
                      simulated: dict[str, tuple[str, int]] | None = None,
                      refused: dict[str, list[str]] | None = None
                      ) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, int]]:
    """``(missing, unchecked, allowed)`` per partition: denied actions, reads that failed otherwise
    (``action (code)``) and the number allowed (tried or simulated). Partitions without an identity are
    not tried.  ``simulated`` receives, per partition, the principal simulated and how many actions the
    simulation answered; ``refused``, per partition, the refusals a grant cannot fix, named (a boundary,
    an explicit Deny...), which are not in ``missing``."""
    missing: dict[str, list[str]] = {p: [] for p in identities}
    unchecked: dict[str, list[str]] = {p: [] for p in identities}
    allowed: dict[str, int] = {p: 0 for p in identities}
    seen: dict[str, Seen] = {p: {} for p in identities}
    granted = {p: policy_actions(p, organization) for p in identities}
    reads = tuple(r for r in READS + (ORGANIZATION_READS if organization else ())
                  if r.partition in granted and r.action in granted[r.partition])
    verdicts: dict[str, dict[str, bool]] = {}
    for part in identities:
        actions = list(dict.fromkeys(r.action for r in reads if r.partition == part and r.service not in TRIED_SERVICES))
        sim = simulate(aws, part, identities[part], actions)
        if sim is not None:
            verdicts[part] = sim[1]
            if simulated is not None:
                simulated[part] = (sim[0], len(sim[1]))
    for read in reads:
        if read.partition not in identities:
            continue
        verdict = verdicts.get(read.partition, {}).get(read.action)
        if verdict is False:
            if read.action not in missing[read.partition]:
                missing[read.partition].append(read.action)
            continue
        if verdict is True and read.record is None:
            allowed[read.partition] += 1
            continue  # the simulation answered; a read whose answer later reads need is still made
        params = read.params(aws.cfg, identities[read.partition], seen[read.partition])
        if params is None:
            continue  # the resource it reads does not exist: the audit does not read it either
        try:
            out = getattr(aws.client(read.service, read.partition), read.method)(**params)
            if read.record is not None:
                read.record(out, seen[read.partition])
            del out  # GetSecretValue's answer holds the key: dropped unread
        except botocore.exceptions.ClientError as exc:
            code = error_code(exc)
            if code in DENIED:
                named = _refusal_not_a_missing_grant(read, exc, f"{read.partition} ({aws.cfg.region(read.partition)})")
                if named is not None:
                    if refused is not None and named not in refused.setdefault(read.partition, []):
                        refused[read.partition].append(named)
                    continue
                action = denied_action(read, exc)
                if action not in missing[read.partition]:
                    missing[read.partition].append(action)
                continue
            if code not in NOT_FOUND:
                unchecked[read.partition].append(f"{read.action} ({code})")
                continue
        except botocore.exceptions.BotoCoreError as exc:
            unchecked[read.partition].append(f"{read.action} ({type(exc).__name__})")
            continue
        allowed[read.partition] += 1
    return missing, unchecked, allowed


def secret_region_problem(aws: Any) -> str | None:
    """The configured secret is in the configured GovCloud Region (``DescribeSecret``), else one line.

    Secrets Manager is regional: a secret exists in the one Region it was created in ("What is AWS
    Secrets Manager?", https://docs.aws.amazon.com/secretsmanager/latest/userguide/intro.html), so a
    profile whose Region is us-gov-east-1 does not see a secret of us-gov-west-1.  When it is not
    found, the partition's other Regions (botocore's endpoint data) are tried; found there, the line
    names the setting that fixes it; found nowhere, the line says so (doctor does not call a
    configuration naming no secret ready).  A denied or failed DescribeSecret is left to the permission
    checks."""
    from bedrock_key_audit.config import partition_regions

    region, sid = aws.cfg.region("govcloud"), aws.cfg.secret_id

    def found(where: str) -> bool | None:
        try:
            aws.client("secretsmanager", "govcloud", where).describe_secret(SecretId=sid)
        except botocore.exceptions.ClientError as exc:
            return False if error_code(exc) == "ResourceNotFoundException" else None
        except botocore.exceptions.BotoCoreError:
            return None
        return True

    if found(region) is not False:
        return None
    others = [r for r in partition_regions("govcloud") if r != region]
    there = next((r for r in others if found(r)), None)
    if there:
        return (f"govcloud: secret {sid} is not in {region} but in {there} (Secrets Manager is regional): set "
                f"partitions.govcloud.region = \"{there}\"")
    # In no Region: doctor must not call the configuration ready (the audit would report every
    # secret row against a name nobody created); a typo or a guessed name is the usual cause.
    return (f"govcloud: secret {sid} is in no GovCloud Region ({', '.join([region] + others)}; "
            "secretsmanager:DescribeSecret): set secret.id to the secret holding the key")


def user_problem(aws: Any) -> str | None:
    """The configured IAM user exists (``iam:GetUser``), else one line; a denied or failed GetUser is
    left to the permission checks, which list it."""
    name = aws.cfg.user_name
    try:
        aws.client("iam", "commercial").get_user(UserName=name)
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return f"commercial: IAM user {name} does not exist (iam:GetUser): set user.name to the key's owner"
    except botocore.exceptions.BotoCoreError:
        pass
    return None


def account_warnings(cfg: Any, identities: dict[str, dict[str, Any]]) -> list[str]:
    """``partitions.<p>.account`` differs from the account the partition's credentials are in: the
    audit itself reads whatever account the credentials reach, but the policy ``bedrock-key-audit
    policy`` prints names the configured account, so attached there it would deny every read."""
    out = []
    for part, who in identities.items():
        configured = cfg.partition_account(part)
        if configured and who.get("Account") and configured != who.get("Account"):
            out.append(f"partitions.{part}.account is {configured} but the {part} credentials are account "
                       f"{who.get('Account')} ({who.get('Arn')}): the printed policy names {configured}; correct "
                       f"partitions.{part}.account or the {part} credentials")
    return out


def diagnose(aws: Any, config_source: str, organization: bool = False, permissions: bool = True) -> Report:
    identities, problems = check_identities(aws)
    if permissions and "commercial" in identities:
        problem = user_problem(aws)
        if problem:
            problems.append(problem)
    if permissions and "govcloud" in identities:
        problem = secret_region_problem(aws)
        if problem:
            problems.append(problem)
    report = Report(config_source=config_source, identities=identities, problems=problems,
                    warnings=account_warnings(aws.cfg, identities))
    if permissions:
        report.missing, report.unchecked, report.allowed = check_permissions(aws, identities, organization,
                                                                             report.simulated, report.refused)
    return report


def _unconfigured_account(aws: Any, partition: str, report: Report) -> str | None:
    """The identity's account when ``partitions.<p>.account`` is not set (else the policy names that)."""
    if aws.cfg.partition_account(partition):
        return None
    account = (report.identities.get(partition) or {}).get("Account")
    return str(account) if account else None


def _path(aws: Any) -> str | None:
    path = getattr(aws.cfg, "path", None)
    return str(path) if path is not None else None


def render(report: Report, aws: Any, organization: bool = False) -> list[str]:
    lines = [f"config: {report.config_source}"]
    for part in PARTITIONS:
        where = f"{_source(aws, part)}, region {aws.cfg.region(part)}"
        who = report.identities.get(part)
        if who:
            lines.append(f"{part}: account {who.get('Account')}, {who.get('Arn')} ({where})")
        else:
            lines.append(f"{part}: no identity ({where})")
    for problem in report.problems:
        lines.append(f"problem: {problem}")
    for warning in report.warnings:
        lines.append(f"warning: {warning}")
    for part in PARTITIONS:
        if part not in report.identities:
            continue
        missing = report.missing.get(part) or []
        if missing:
            lines.append(f"missing permissions ({part}): {', '.join(missing)}; attach the policy printed by "
                         f"`{policy_command(part, organization, _unconfigured_account(aws, part, report), _path(aws))}`")
        for sentence in report.refused.get(part) or []:
            lines.append(f"refused ({part}): {sentence}")
        if not missing and not report.refused.get(part) and part in report.allowed:
            lines.append(f"permissions ({part}): the {report.allowed[part]} reads tried were allowed")
        if part in report.simulated:
            arn, n = report.simulated[part]
            lines.append(f"simulated ({part}): {n} actions checked with iam:SimulatePrincipalPolicy as {arn}; the "
                         "reads a resource policy also decides (KMS, Secrets Manager, S3) were tried")
        for item in report.unchecked.get(part) or []:
            lines.append(f"not checked ({part}): {item}")
    lines.append("ok: ready to audit" if report.ok else "not ready: fix the lines above, then run doctor again")
    return lines


def main(argv: list[str] | None = None) -> int:
    """``bedrock-key-audit doctor [--audit-config PATH] [--no-permissions]``: 0 ready, 1 problems, 4 bad config."""
    from bedrock_key_audit.aws import Aws, CallLog
    from bedrock_key_audit.config import ConfigError, load_config
    from bedrock_key_audit.redaction import redact_text

    parser = argparse.ArgumentParser(prog="bedrock-key-audit doctor",
                                     description="Check the configuration, credentials and permissions before an audit.")
    parser.add_argument("--audit-config", metavar="PATH", default=None,
                        help="audit configuration file (default: ./audit.toml, else the built-in defaults)")
    parser.add_argument("--no-permissions", action="store_true",
                        help="only the configuration and the identities (no read is tried)")
    ns = parser.parse_args(argv)
    try:
        cfg = load_config(ns.audit_config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 4
    organization = bool(cfg.data.get("organization"))
    aws = Aws(cfg, CallLog())
    report = diagnose(aws, cfg.source, organization, permissions=not ns.no_permissions)
    for line in render(report, aws, organization):
        print(redact_text(line))
    return 0 if report.ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
