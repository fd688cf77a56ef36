"""``--enforce-iam``: every SigV4 call of an IAM user or role session authorized as AWS authorizes it.

Off by default.  When on (``Emulator(enforce_iam=True)``, ``python -m bedrock_key_audit.emulator
--enforce-iam``, or ``POST /_emulator/enforce-iam {"on": true}``), the WSGI front of the emulator
decides each signed request made with an IAM user's access key or a role session's credentials
BEFORE moto sees it.  The emulator's own default keys act as the account root and stay unchecked:
AWS never restricts the root user by identity policy.  Decided with the emulator's own evaluator
(:mod:`bedrock_key_audit.emulator.iam_eval`, never the audit's), as AWS documents it:

* "Policy evaluation logic" (IAM User Guide,
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
  an explicit Deny in the identity policies (inline, attached default version, the groups'), the
  permissions boundary, the session policy, the resource policy or an SCP refuses; otherwise the
  request needs an Allow from the identity policies within the boundary and the session policy,
  or -- in the resource's own account -- a resource policy naming the caller; SCPs of a member
  account must allow it at every level ("SCP evaluation",
  https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html,
  via :mod:`org_guard`), and RCPs of the resource's account likewise.
* KMS: "Key policies in AWS KMS" (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html):
  "Every KMS key must have exactly one key policy ... Unless the key policy explicitly allows it,
  you cannot use IAM policies to allow access to a KMS key" -- a key policy is required even in
  the same account: naming the caller suffices, naming the account delegates to the identity policy.
* "Cross-account policy evaluation logic"
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html):
  from another account both the identity policy and the resource policy must allow.
* The IAM action of a request is ``<service prefix>:<Operation>`` of botocore's service model,
  except where the Service Authorization Reference maps an operation to another action: S3's
  table "API operations defined by Amazon S3" ("Actions, resources, and condition keys for Amazon
  S3", https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html):
  ListBuckets -> s3:ListAllMyBuckets, HeadBucket/ListObjects/ListObjectsV2 -> s3:ListBucket,
  GetPublicAccessBlock -> s3:GetBucketPublicAccessBlock, GetBucketEncryption ->
  s3:GetEncryptionConfiguration, and S3 Control's account-level GetPublicAccessBlock ->
  s3:GetAccountPublicAccessBlock (:data:`ACTION_EXCEPTIONS`).
* The resource is the ARN the action acts on (:func:`resource_of`); ``*`` for the actions the
  Service Authorization Reference lists without a resource type (:data:`NO_RESOURCE`).  A request
  the emulator cannot map is refused with an AccessDenied that says so -- never let through.
* ``sts:GetCallerIdentity`` is answered whatever the policies say ("GetCallerIdentity", STS API
  Reference: "No permissions are required to perform this operation. If an administrator attaches a
  policy to your identity that explicitly denies access to the sts:GetCallerIdentity action, you
  can still perform this operation").
* Calls another part of the emulator already decides with the same evaluator keep their identity
  and resource policy decision there: ``secretsmanager:GetSecretValue`` and the ``kms:Decrypt`` it
  implies (:mod:`reach`), ``sts:AssumeRole`` (:mod:`organization`), the IAM minting and escalation
  writes and ``SimulatePrincipalPolicy`` (:mod:`iam_authz`); here they get the caller's SCPs, with
  the IAM condition keys of the request (``iam:PolicyARN``, ``iam:PermissionsBoundary``,
  ``iam:ServiceSpecificCredentialServiceName``/``…AgeDays``).
* Request context ("AWS global condition context keys",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html):
  aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:username, aws:PrincipalTag/*,
  aws:RequestedRegion (the signing Region; for the global IAM and Organizations the partition's home
  Region, us-east-1 or us-gov-west-1), aws:SecureTransport (``true``: the emulator stands for
  AWS's HTTPS endpoints), aws:SourceIp (the ``x-emulator-source-ip`` header, else the peer),
  aws:CurrentTime/aws:EpochTime (the emulator clock), aws:PrincipalOrgID; an IAM request that tags or untags
  carries aws:RequestTag/* and aws:TagKeys (:func:`_tag_keys`).  A key the emulator
  does not supply is absent, as AWS treats an unknown key.
* Refusals are each protocol's AccessDenied: ``AccessDenied`` in the query protocol's
  ``ErrorResponse`` (IAM, STS), ``UnauthorizedOperation`` for EC2, ``AccessDeniedException`` for
  the JSON protocols (HTTP 400) and REST-JSON (403), S3's ``<Error><Code>AccessDenied``, worded
  "User: <arn> is not authorized to perform: <action> on resource: <arn> because no
  identity-based policy allows the <action> action" (or "with an explicit deny in a ... policy").
"""
from __future__ import annotations

import dataclasses
import io
import json
import re
import threading
import urllib.parse
from typing import Any, Callable

from bedrock_key_audit.emulator import clock, iam_eval, refusals

_models: dict[str, Any] = {}
_models_lock = threading.Lock()

# signing name -> IAM service prefix, where they differ
PREFIX = {"monitoring": "cloudwatch", "email": "ses"}

# (botocore service, operation) -> IAM action, where it is not "<prefix>:<Operation>"
ACTION_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3", "DeletePublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "PutBucketEncryption"): "s3:PutEncryptionConfiguration",
    ("s3", "DeleteBucketEncryption"): "s3:PutEncryptionConfiguration",
    ("s3", "GetBucketLifecycleConfiguration"): "s3:GetLifecycleConfiguration",
    ("s3", "PutBucketLifecycleConfiguration"): "s3:PutLifecycleConfiguration",
    ("s3", "DeleteBucketPolicy"): "s3:DeleteBucketPolicy",
    ("s3", "DeleteBucketTagging"): "s3:PutBucketTagging",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
    ("s3control", "PutPublicAccessBlock"): "s3:PutAccountPublicAccessBlock",
    ("s3control", "DeletePublicAccessBlock"): "s3:PutAccountPublicAccessBlock",
}

# actions the Service Authorization Reference lists with no resource type: Resource "*"
NO_RESOURCE = frozenset({
    "iam:ListUsers", "iam:ListRoles", "iam:ListGroups", "iam:ListPolicies", "iam:GetAccountAuthorizationDetails",
    "iam:GenerateCredentialReport", "iam:GetCredentialReport", "iam:GetAccountSummary", "iam:ListAccountAliases",
    "iam:GetAccountPasswordPolicy", "iam:ListOpenIDConnectProviders", "iam:ListSAMLProviders",
    "iam:ListVirtualMFADevices",
    "secretsmanager:ListSecrets", "secretsmanager:BatchGetSecretValue", "secretsmanager:GetRandomPassword",
    "kms:ListKeys", "kms:ListAliases", "kms:CreateKey", "kms:GenerateRandom",
    "cloudtrail:DescribeTrails", "cloudtrail:ListTrails", "cloudtrail:LookupEvents",
    "s3:ListAllMyBuckets", "s3:GetAccountPublicAccessBlock", "s3:PutAccountPublicAccessBlock",
    "ec2:DescribeRegions", "ec2:DescribeAvailabilityZones",
    "bedrock:GetModelInvocationLoggingConfiguration", "bedrock:PutModelInvocationLoggingConfiguration",
    "bedrock:DeleteModelInvocationLoggingConfiguration", "bedrock:ListFoundationModels",
    "bedrock:ListInferenceProfiles",
    "organizations:DescribeOrganization", "organizations:ListAccounts", "organizations:ListRoots",
    "organizations:ListPolicies", "organizations:ListDelegatedAdministrators",
    "logs:DescribeLogGroups",
    "sts:GetCallerIdentity", "sts:GetSessionToken",
})

# decided elsewhere in the emulator with the same evaluator (see the module docstring)
DECIDED_ELSEWHERE = frozenset({"secretsmanager:GetSecretValue", "sts:AssumeRole", "sts:GetCallerIdentity",
                               "iam:SimulatePrincipalPolicy"})


# answered whatever the policies say (see the module docstring)
ALWAYS_ANSWERED = frozenset({"sts:GetCallerIdentity"})


def _iam_keys(req: Request) -> dict[str, Any]:
    """The IAM condition keys of an IAM write's request ("Actions, resources, and condition keys for AWS
    Identity and Access Management", https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html)."""
    p = req.params
    out: dict[str, Any] = {}
    for key, param in (("iam:PolicyARN", "PolicyArn"), ("iam:PermissionsBoundary", "PermissionsBoundary"),
                       ("iam:ServiceSpecificCredentialServiceName", "ServiceName"),
                       ("iam:ServiceSpecificCredentialAgeDays", "CredentialAgeDays")):
        if p.get(param) is not None:
            out[key] = str(p[param])
    return out


def _tag_keys(req: Request) -> dict[str, Any]:
    """``aws:RequestTag/*`` and ``aws:TagKeys`` of an IAM request that tags or untags (Service Authorization
    Reference, IAM: TagUser/TagRole/CreateUser/CreateRole carry ``aws:RequestTag/${TagKey}`` and
    ``aws:TagKeys``, UntagUser/UntagRole ``aws:TagKeys``; "AWS global condition context keys": aws:TagKeys
    is the list of tag keys in the request).  The query protocol's ``Tags.member.N.Key``/``.Value`` and
    ``TagKeys.member.N``."""
    if req.service != "iam":
        return {}
    p = req.params
    out: dict[str, Any] = {}
    keys: list[str] = []
    i = 1
    while f"Tags.member.{i}.Key" in p:
        key = str(p[f"Tags.member.{i}.Key"])
        out[f"aws:RequestTag/{key}"] = str(p.get(f"Tags.member.{i}.Value", ""))
        keys.append(key)
        i += 1
    i = 1
    while f"TagKeys.member.{i}" in p:
        keys.append(str(p[f"TagKeys.member.{i}"]))
        i += 1
    if keys:
        out["aws:TagKeys"] = keys
    return out


def _elsewhere() -> frozenset[str]:
    from bedrock_key_audit.emulator import iam_authz

    return DECIDED_ELSEWHERE | frozenset(a for a, _, _ in iam_authz.ACTIONS.values())


# --------------------------------------------------------------------------- the request
@dataclasses.dataclass
class Request:
    """What the emulator understood of a signed request."""

    service: str  # botocore service name
    operation: str
    action: str
    params: dict[str, Any]
    region: str
    partition: str  # ARN partition
    account: str  # the account the request acts in (moto's routing)


class Unmapped(Exception):
    """The emulator cannot tell the action or resource of the request."""


def _model(name: str) -> Any:
    with _models_lock:
        if name not in _models:
            import botocore.session

            _models[name] = botocore.session.get_session().get_service_model(name)
        return _models[name]


_SCOPE = re.compile(r"Credential=[^/\s,]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")


def signing_service(environ: dict[str, Any]) -> str | None:
    m = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", "") or "")
    return m.group(2) if m else None


def _body(environ: dict[str, Any]) -> bytes:
    """The request body, read once and put back for moto."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return b""  # no declared length (a chunked upload): moto reads the stream itself
    raw = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(raw)
    return bytes(raw)


def _flat_query(text: str) -> dict[str, Any]:
    return {k: v[0] for k, v in urllib.parse.parse_qs(text, keep_blank_values=True).items()}


def _candidates(signing: str, path: str) -> list[str]:
    if signing == "s3":
        return ["s3control"] if path.startswith("/v20180820/") else ["s3"]
    if signing == "bedrock":
        return ["bedrock", "bedrock-runtime"]
    return [signing]


def _match_template(tsegs: list[str], segs: list[str]) -> tuple[dict[str, Any], int] | None:
    labels: dict[str, Any] = {}
    literal = 0
    for i, t in enumerate(tsegs):
        greedy = re.fullmatch(r"\{(\w+)\+\}", t)
        if greedy:
            rest = "/".join(segs[i:])
            return ({**labels, greedy.group(1): rest}, literal) if rest else None
        if i >= len(segs):
            return None
        label = re.fullmatch(r"\{(\w+)\}", t)
        if label:
            if not segs[i]:
                return None
            labels[label.group(1)] = segs[i]
        elif t != segs[i]:
            return None
        else:
            literal += 1
    return (labels, literal) if len(tsegs) == len(segs) else None


def _match_rest(model: Any, method: str, path: str, query: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The operation of a REST request: the same method, the URI template's path (``{Label}`` one
    segment, ``{Label+}`` the rest) and its literal query keys; the most specific template wins."""
    segs = [urllib.parse.unquote(s) for s in path.split("/")[1:]]
    if segs and segs[-1] == "" and len(segs) > 1:
        segs = segs[:-1]
    best: tuple[int, str, dict[str, Any]] | None = None
    for name in model.operation_names:
        http = model.operation_model(name).http
        if http.get("method", "").upper() != method:
            continue
        uri = http.get("requestUri", "/")
        tpath, _, tquery = uri.partition("?")
        wanted = [q.partition("=") for q in tquery.split("&") if q]
        if any(k not in query or (sep and query[k] != v) for k, sep, v in wanted):
            continue
        got = _match_template(tpath.split("/")[1:], segs)
        if got is None:
            continue
        labels, literal = got
        score = len(wanted) * 100 + literal * 10 + len(labels)
        if best is None or score > best[0]:
            best = (score, name, labels)
    return (best[1], best[2]) if best else None


def parse(environ: dict[str, Any], region: str, partition: str, account: str) -> Request:
    """The service, operation, IAM action and parameters of a signed request (raises Unmapped)."""
    signing = signing_service(environ)
    if not signing:
        raise Unmapped("the request carries no SigV4 credential scope")
    method = (environ.get("REQUEST_METHOD") or "GET").upper()
    path = environ.get("PATH_INFO", "") or "/"
    query = _flat_query(environ.get("QUERY_STRING", "") or "")
    body = _body(environ)
    for service in _candidates(signing, path):
        try:
            model = _model(service)
        except Exception:  # noqa: BLE001 -- botocore knows no such service
            continue
        protocol = model.metadata.get("protocol")
        found: tuple[str, dict[str, Any]] | None = None
        if protocol in ("query", "ec2"):
            params = {**query, **_flat_query(body.decode("utf-8", "replace"))}
            op = str(params.get("Action") or "")
            found = (op, params) if op in model.operation_names else None
        elif protocol == "json":
            target = environ.get("HTTP_X_AMZ_TARGET", "") or ""
            op = target.rsplit(".", 1)[-1]
            try:
                params = json.loads(body) if body.strip() else {}
            except ValueError:
                params = {}
            found = (op, params if isinstance(params, dict) else {}) if op in model.operation_names else None
        else:  # rest-xml, rest-json
            got = _match_rest(model, method, path, query)
            if got is not None:
                params = dict(query)
                if protocol == "rest-json" and body.strip():
                    try:
                        loaded = json.loads(body)
                        params.update(loaded if isinstance(loaded, dict) else {})
                    except ValueError:
                        pass
                params.update(got[1])
                found = (got[0], params)
        if found is None:
            continue
        op, params = found
        prefix = model.metadata.get("signingName") or model.metadata.get("endpointPrefix") or service
        prefix = "s3" if service == "s3control" else PREFIX.get(prefix, prefix)
        action = ACTION_EXCEPTIONS.get((service, op), f"{prefix}:{op}")
        return Request(service, op, action, params, region, partition, account)
    raise Unmapped(f"no operation of {signing} matches {method} {path}")


# --------------------------------------------------------------------------- resources
def _iam_backend(req: Request) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[req.account][req.partition]


def _user_arn(req: Request, name: str) -> str:
    user = _iam_backend(req).users.get(name)
    return str(user.arn) if user is not None else f"arn:{req.partition}:iam::{req.account}:user/{name}"


def _role_arn(req: Request, name: str) -> str:
    role = next((r for r in _iam_backend(req).roles.values() if r.name == name), None)
    return str(role.arn) if role is not None else f"arn:{req.partition}:iam::{req.account}:role/{name}"


def _group_arn(req: Request, name: str) -> str:
    group = _iam_backend(req).groups.get(name)
    return str(group.arn) if group is not None else f"arn:{req.partition}:iam::{req.account}:group/{name}"


def _iam_resource(req: Request, caller_arn: str) -> str:
    p = req.params
    if p.get("UserName"):
        return _user_arn(req, str(p["UserName"]))
    if p.get("RoleName"):
        return _role_arn(req, str(p["RoleName"]))
    if p.get("GroupName"):
        return _group_arn(req, str(p["GroupName"]))
    if p.get("PolicyArn"):
        return str(p["PolicyArn"])
    if req.operation == "CreatePolicy" and p.get("PolicyName"):
        return f"arn:{req.partition}:iam::{req.account}:policy{p.get('Path') or '/'}{p['PolicyName']}"
    if p.get("PolicySourceArn"):
        return str(p["PolicySourceArn"])
    # the operations whose UserName is optional act on the caller itself ("GetUser": "If you do not
    # specify a user name, IAM determines the user name implicitly based on the AWS access key ID")
    if req.operation in {"GetUser", "ListAccessKeys", "ListServiceSpecificCredentials", "ListSigningCertificates",
                         "ListSSHPublicKeys", "UpdateAccessKey", "DeleteAccessKey", "ListMFADevices",
                         "UpdateServiceSpecificCredential", "DeleteServiceSpecificCredential"}:
        return caller_arn
    raise Unmapped(f"the emulator does not know the resource iam:{req.operation} acts on")


def _secret_arn(req: Request) -> str:
    from moto.secretsmanager.models import secretsmanager_backends

    sid = str(req.params.get("SecretId") or req.params.get("Name") or "")
    if sid.startswith("arn:"):
        return sid
    backend = secretsmanager_backends[req.account][req.region]
    if backend._is_valid_identifier(sid):
        return str(backend.secrets[sid].arn)
    # a secret that does not exist (or CreateSecret): its name, with the six characters AWS will append
    # unknown ("Permissions policy examples": "secret:SecretName-??????")
    return f"arn:{req.partition}:secretsmanager:{req.region}:{req.account}:secret:{sid}-??????"


def _kms_key(req: Request) -> Any:
    from moto.kms.models import kms_backends

    ref = str(req.params.get("KeyId") or req.params.get("TargetKeyId") or "")
    if not ref:
        raise Unmapped(f"kms:{req.operation} names no key")
    backend = kms_backends[req.account][req.region]
    try:
        return backend.describe_key(ref)
    except Exception:  # noqa: BLE001 -- no such key: KMS answers NotFound, which moto will give
        return None


def _kms_resource(req: Request) -> str:
    key = _kms_key(req)
    if key is not None:
        return str(key.arn)
    ref = str(req.params.get("KeyId") or "")
    return ref if ref.startswith("arn:") else f"arn:{req.partition}:kms:{req.region}:{req.account}:key/{ref}"


def _trail_arn(req: Request) -> str:
    name = str(req.params.get("Name") or req.params.get("TrailName") or "")
    if name.startswith("arn:"):
        return name
    if not name:
        raise Unmapped(f"cloudtrail:{req.operation} names no trail")
    return f"arn:{req.partition}:cloudtrail:{req.region}:{req.account}:trail/{name}"


def _s3_resource(req: Request) -> str:
    bucket = req.params.get("Bucket")
    if not bucket:
        raise Unmapped(f"the emulator does not know the resource s3:{req.operation} acts on")
    key = req.params.get("Key")
    return f"arn:{req.partition}:s3:::{bucket}" + (f"/{key}" if key else "")


def _org_arn(req: Request) -> str:
    """Organizations' resource ARNs ("Actions, resources, and condition keys for AWS Organizations",
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsorganizations.html):
    ``account/o-…/<id>``, ``ou/o-…/ou-…``, ``root/o-…/r-…``, ``policy/o-…/<type>/p-…`` under the
    management account, AWS managed policies as ``arn:<partition>:organizations::aws:policy/<type>/p-…``.
    An account in no organization has no such ARN: its own account and ``o-none`` stand in (AWS answers
    AWSOrganizationsNotInUseException to those who may call)."""
    from moto.organizations.models import organizations_backends

    got = organizations_backends.master_accounts.get(req.account)
    mgmt, org_id, backend = req.account, "o-none", None
    if got is not None:
        backend = organizations_backends[got[0]][got[1]]
        if backend.org is not None:
            mgmt, org_id = got[0], str(backend.org.id)
    base = f"arn:{req.partition}:organizations::{mgmt}"
    target = str(req.params.get("ChildId") or req.params.get("TargetId") or req.params.get("ResourceId")
                 or req.params.get("ParentId") or "")
    policy = str(req.params.get("PolicyId") or "")
    if policy:
        kind = "service_control_policy"
        found = next((x for x in getattr(backend, "policies", []) if x.id == policy), None) if backend else None
        if found is not None:
            kind = str(found.type).lower()
        if policy == "p-FullAWSAccess" or getattr(found, "aws_managed", False):
            return f"arn:{req.partition}:organizations::aws:policy/{kind}/{policy}"
        return f"{base}:policy/{org_id}/{kind}/{policy}"
    if target.startswith("ou-"):
        return f"{base}:ou/{org_id}/{target}"
    if target.startswith("r-"):
        return f"{base}:root/{org_id}/{target}"
    if re.fullmatch(r"\d{12}", target):
        return f"{base}:account/{org_id}/{target}"
    raise Unmapped(f"the emulator does not know the resource {req.action} acts on")


def resource_of(req: Request, caller_arn: str) -> str:
    """The ARN ``req.action`` acts on ("Resource types" of the Service Authorization Reference)."""
    if req.action in NO_RESOURCE:
        return "*"
    prefix = req.action.split(":", 1)[0]
    if prefix == "iam":
        return _iam_resource(req, caller_arn)
    if prefix == "secretsmanager":
        return _secret_arn(req)
    if prefix == "kms":
        return _kms_resource(req)
    if prefix == "cloudtrail":
        return _trail_arn(req)
    if prefix == "s3":
        return _s3_resource(req)
    if prefix == "organizations":
        return _org_arn(req)
    if prefix == "sts" and req.params.get("RoleArn"):
        return str(req.params["RoleArn"])
    raise Unmapped(f"the emulator does not know the resource {req.action} acts on")


# --------------------------------------------------------------------------- policies of the caller
def _documents(values: list[Any]) -> list[Any]:
    out = []
    for d in values:
        if isinstance(d, str):
            try:
                d = json.loads(d)
            except ValueError:
                continue
        out.append(d)
    return out


def session_policy(caller: Any) -> list[Any] | None:
    """A role session's session policy (``AssumeRole(Policy=…)``), or None."""
    if caller.kind != "role" or caller.session_arn is None:
        return None
    from moto.sts.models import sts_backends

    name = caller.session_arn.rsplit("/", 1)[-1]
    for ar in list(sts_backends[caller.account][caller.partition].assumed_roles):
        if ar.role_arn == caller.arn and ar.session_name == name and getattr(ar, "policy", None):
            return _documents([ar.policy])
    return None


def resource_policy(req: Request, resource: str) -> tuple[str | None, Any]:
    """(the owner account, the policy document) of the resource the request acts on, where the
    service has resource policies (Secrets Manager secrets, KMS key policies, S3 bucket policies)."""
    prefix = req.action.split(":", 1)[0]
    if prefix == "kms":
        key = _kms_key(req) if req.params.get("KeyId") else None
        if key is None:
            return None, None
        return str(key.account_id), key.policy
    if prefix == "secretsmanager" and resource != "*":
        from moto.secretsmanager.models import secretsmanager_backends

        m = re.fullmatch(r"arn:[\w-]+:secretsmanager:([\w-]+):(\d{12}):secret:(.+)", resource)
        if not m:
            return None, None
        backend = secretsmanager_backends[m.group(2)][m.group(1)]
        secret = backend.secrets[resource] if backend._is_valid_identifier(resource) else None
        return m.group(2), getattr(secret, "policy", None)
    if prefix == "s3" and resource.startswith(f"arn:{req.partition}:s3:::"):
        from moto.s3.models import s3_backends

        bucket_name = resource.split(":::", 1)[1].split("/", 1)[0]
        bucket = s3_backends[req.account][req.partition].buckets.get(bucket_name)
        if bucket is None:
            return None, None
        policy = bucket.policy.decode() if isinstance(bucket.policy, bytes) else bucket.policy
        return str(bucket.account_id), policy
    return None, None


# --------------------------------------------------------------------------- the decision
def context_of(caller: Any, req: Request, environ: dict[str, Any]) -> dict[str, Any]:
    from bedrock_key_audit.emulator import org_guard, reach

    ctx = reach.caller_context(caller, req.region)
    if req.service in GLOBAL_SERVICES:
        # a global service's requests name its partition's home Region whatever Region the client signs
        # for ("AWS: Denies access to AWS based on the requested Region", IAM User Guide,
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_aws_deny-requested-region.html:
        # their requests "are made to the us-east-1 Region"; us-gov-west-1 is AWS GovCloud (US)'s IAM Region)
        ctx["aws:RequestedRegion"] = GLOBAL_REGION.get(req.partition, "us-east-1")
    ctx["aws:SourceIp"] = (environ.get("HTTP_X_EMULATOR_SOURCE_IP") or environ.get("REMOTE_ADDR") or "127.0.0.1")
    now = clock.now()
    ctx["aws:CurrentTime"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    ctx["aws:EpochTime"] = str(int(now.timestamp()))
    org = org_guard.org_id_of(caller.account)
    if org:
        ctx["aws:PrincipalOrgID"] = org
    if req.action == "kms:Decrypt" or req.action.startswith("kms:"):
        ctx.setdefault("kms:CallerAccount", caller.account)
    return ctx


def refusal(caller: Any, action: str, resource: str, ctx: dict[str, Any], owner: str | None,
            rpolicy: Any) -> str | None:
    """None when ``caller`` may ``action`` on ``resource``; else AWS's message."""
    from bedrock_key_audit.emulator import org_guard, reach

    who = f"User: {caller.identity_arn} is not authorized to perform: {action} on resource: {resource}"
    identity, boundary = reach.identity_policies(caller)
    session = session_policy(caller)
    ident = iam_eval.evaluate(identity, action, resource, ctx)
    bound = iam_eval.evaluate(boundary, action, resource, ctx) if boundary is not None else None
    sess = iam_eval.evaluate(session, action, resource, ctx) if session is not None else None
    rp, how = (reach.resource_policy(rpolicy, action, resource, caller, caller.account, ctx)
               if rpolicy else (iam_eval.NEUTRAL, ""))
    for verdict, words in ((ident, "an identity-based policy"), (bound, "a permissions boundary"),
                           (sess, "a session policy"), (rp, "a resource-based policy")):
        if verdict == iam_eval.DENY:
            return f"{who} with an explicit deny in {words}"
    why = org_guard.refusal(org_guard.SCP, caller.account, action, resource, ctx)
    if why is None and owner is not None:
        why = org_guard.refusal(org_guard.RCP, owner, action, resource, ctx)
    if why is not None:
        return f"{who} {why}"
    within = bound in (None, iam_eval.ALLOW) and sess in (None, iam_eval.ALLOW)
    id_ok = ident == iam_eval.ALLOW and within
    is_kms = action.startswith("kms:") and owner is not None
    same = owner is None or owner == caller.account
    if is_kms:
        # the key policy must allow: naming the caller, or its account (then the identity policy must too)
        if rp != iam_eval.ALLOW:
            return f"{who} because no resource-based policy allows the {action} action"
        if how == "direct" and same and within:
            return None
        return None if id_ok else f"{who} because no identity-based policy allows the {action} action"
    if same:
        if id_ok or (rp == iam_eval.ALLOW and how == "direct" and (caller.kind == "user" or within)):
            return None
        if ident == iam_eval.ALLOW and bound not in (None, iam_eval.ALLOW):
            return f"{who} because no permissions boundary allows the {action} action"
        if ident == iam_eval.ALLOW:
            return f"{who} because no session policy allows the {action} action"
        return f"{who} because no identity-based policy allows the {action} action"
    if not id_ok:
        return f"{who} because no identity-based policy allows the {action} action"
    return None if rp == iam_eval.ALLOW else f"{who} because no resource-based policy allows the {action} action"


def decide(environ: dict[str, Any], region: str, partition: str, account: str) -> tuple[str, str] | None:
    """None: let the request through; else (protocol, message) of the refusal."""
    from bedrock_key_audit.emulator import reach

    caller = reach.caller_of(environ.get("HTTP_AUTHORIZATION", "") or "")
    if caller is None:
        return None  # the emulator's own keys (the account root), or an unknown key moto refuses itself
    try:
        req = parse(environ, region, partition, account)
    except Unmapped as exc:
        return _protocol_of(environ), (f"User: {caller.identity_arn} is not authorized: the emulator enforcing IAM "
                                       f"cannot map this request to an IAM action ({exc})")
    protocol = _model(req.service).metadata.get("protocol", "query")
    if req.action in ALWAYS_ANSWERED:
        return None
    try:
        resource = resource_of(req, caller.identity_arn)
    except Unmapped as exc:
        return protocol, (f"User: {caller.identity_arn} is not authorized to perform: {req.action}: the emulator "
                          f"enforcing IAM cannot map its resource ({exc})")
    ctx = {**context_of(caller, req, environ), **_tag_keys(req)}
    if req.action in _elsewhere():
        # the identity and resource policies are decided where the call is served; what those handlers
        # leave out is the caller's SCPs, applied here
        from bedrock_key_audit.emulator import org_guard

        scp = org_guard.refusal(org_guard.SCP, caller.account, req.action, resource, {**ctx, **_iam_keys(req)})
        why = None if scp is None else (f"User: {caller.identity_arn} is not authorized to perform: {req.action} on "
                                        f"resource: {resource} {scp}")
    else:
        owner, rpolicy = resource_policy(req, resource)
        why = refusal(caller, req.action, resource, ctx, owner, rpolicy)
    if why is None:
        _allowed.add((req.action, resource))
        return None
    _refused.append((req.action, resource))
    return protocol, why


#: services whose requests AWS treats as made in the partition's home Region (IAM, Organizations)
GLOBAL_SERVICES = frozenset({"iam", "organizations"})
GLOBAL_REGION = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1"}

_refused = refusals.REFUSED  # (action, resource) of every refusal, for tests and the control endpoint


_allowed: set[tuple[str, str]] = set()  # (action, resource) of every call this module decided and let through


def refused() -> list[tuple[str, str]]:
    return list(_refused)



def allowed() -> set[tuple[str, str]]:
    return set(_allowed)


def clear() -> None:
    _refused.clear()
    _allowed.clear()


def _protocol_of(environ: dict[str, Any]) -> str:
    if environ.get("HTTP_X_AMZ_TARGET"):
        return "json"
    return "rest-xml" if signing_service(environ) == "s3" else "query"


# --------------------------------------------------------------------------- the refusal on the wire
def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def respond(start_response: Callable[..., Any], protocol: str, service: str | None, message: str) -> list[bytes]:
    """AWS's AccessDenied in the request's protocol."""
    msg = _xml_escape(message)
    status = "403 Forbidden"
    headers: list[tuple[str, str]] = []
    if protocol == "json":
        status = "400 Bad Request"
        data = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
        ctype = "application/x-amz-json-1.1"
    elif protocol == "rest-json":
        data = json.dumps({"message": message}).encode()
        ctype = "application/json"
        headers.append(("x-amzn-ErrorType", "AccessDeniedException"))
    elif protocol == "rest-xml":
        data = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>{msg}</Message>"
                "<RequestId>emulator</RequestId><HostId>emulator</HostId></Error>").encode()
        ctype = "application/xml"
    elif protocol == "ec2":
        data = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>UnauthorizedOperation"
                f"</Code><Message>You are not authorized to perform this operation. {msg}</Message></Error></Errors>"
                "<RequestID>emulator</RequestID></Response>").encode()
        ctype = "text/xml"
    else:
        data = (f"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{msg}</Message></Error>"
                "<RequestId>emulator</RequestId></ErrorResponse>").encode()
        ctype = "text/xml"
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(data))),
                            ("x-emulator-enforce-iam", "denied"), *headers])
    return [data]
