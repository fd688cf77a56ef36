"""The generated policies, scoped to concrete accounts and Regions, allow every call a run makes.

A run of the audit (or remediation) records every AWS call it makes through botocore (service,
operation, Region, parameters, credentials); each call becomes the IAM action and resource ARN AWS
authorizes it as ("Actions, resources, and condition keys for AWS services",
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html),
and the generated policy of that call's partition must allow it: an Allow statement naming the action
whose Resource patterns match the ARN (``*`` and ``?`` wildcards, "IAM JSON policy elements: Resource",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html), and whose
``iam:PolicyARN`` ``ArnLike`` condition, where it has one, matches the call's ``PolicyArn``.  The
emulator's moto authorizes every request against resource ``*`` (tests/remediation/test_policies.py),
so the ARNs are proven here.  Each test also shows the scoping is real: the same resource in another
account (or the secret in another Region) is not allowed.
"""
from __future__ import annotations

import fnmatch
import threading
from typing import Any

import boto3
import botocore.client
import botocore.exceptions
import pytest

from bedrock_key_audit import policies
from bedrock_key_audit.emulator.partitions import ACCOUNTS
from tests.remediation.helpers import SECRET, USER, point_env_at, run

REGIONS = {"commercial": "us-east-1", "govcloud": "us-gov-west-1"}
OTHER_ACCOUNT = "999988887777"

# operations whose IAM action is not "<signing name>:<operation>"
ACTION_NAMES = {
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "PutBucketEncryption"): "s3:PutEncryptionConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
}
# what needs no permission ("GetCallerIdentity": AWS answers it even under an explicit Deny)
FREE = {"sts:GetCallerIdentity"}


class Recorder:
    """Every botocore API call of this process while installed (the run is in-process)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        original = botocore.client.BaseClient._make_api_call
        recorder = self

        def _make_api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            creds = client._request_signer._credentials
            if creds is not None:  # a bearer-token client (the key) is not the audit's principal
                frozen = creds.get_frozen_credentials()
                meta = client.meta.service_model
                with recorder._lock:
                    recorder.calls.append({
                        "service": meta.service_name, "prefix": meta.signing_name, "operation": operation,
                        "region": client.meta.region_name, "params": dict(params),
                        "creds": (frozen.access_key, frozen.secret_key, frozen.token)})
            return original(client, operation, params)

        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", _make_api_call)


def _partition(region: str) -> str:
    return "govcloud" if region.startswith("us-gov-") else "commercial"


class Resolver:
    """Turns a recorded call into (action, resource ARN, PolicyArn) with the emulator's help."""

    def __init__(self, emu: Any):
        self.emu = emu
        self._accounts: dict[str, str] = {}

    def account(self, call: dict[str, Any]) -> str:
        key, secret, token = call["creds"]
        if key not in self._accounts:
            sts = boto3.client("sts", region_name=call["region"], endpoint_url=self.emu.url, aws_access_key_id=key,
                               aws_secret_access_key=secret, aws_session_token=token)
            self._accounts[key] = sts.get_caller_identity()["Account"]
        return self._accounts[key]

    def resource(self, call: dict[str, Any]) -> str:
        p, region, prefix = call["params"], call["region"], call["prefix"]
        arn_p = policies.ARN_PARTITION[_partition(region)]
        if prefix in ("iam", "sts"):
            for param, kind in (("UserName", "user"), ("GroupName", "group"), ("RoleName", "role")):
                if param in p:
                    return f"arn:{arn_p}:iam::{self.account(call)}:{kind}/{p[param]}"
            if "RoleArn" in p:
                return str(p["RoleArn"])
            if "PolicyArn" in p:
                return str(p["PolicyArn"])
            if call["operation"] == "CreatePolicy":
                return f"arn:{arn_p}:iam::{self.account(call)}:policy/{p['PolicyName']}"
            return "*"
        if prefix == "secretsmanager":
            sid = p.get("SecretId") or p.get("Name")
            if not sid:
                return "*"
            if str(sid).startswith("arn:"):
                return str(sid)
            try:
                got = self.emu.client("secretsmanager", _partition(region), region_name=region).describe_secret(SecretId=sid)
                return str(got["ARN"])
            except botocore.exceptions.ClientError:  # created by this call (remediation): its ARN ends with six random characters
                return f"arn:{arn_p}:secretsmanager:{region}:{self.account(call)}:secret:{sid}-AbCdEf"
        if prefix == "kms":
            if call["operation"] == "CreateAlias":
                # authorized on the alias and on the key it targets ("Controlling access to aliases": kms:CreateAlias
                # on both); the alias is the narrower grant, the key's ARN is proven under --enforce-iam
                return f"arn:{arn_p}:kms:{region}:{ACCOUNTS[_partition(region)]}:{p['AliasName']}"
            kid = p.get("KeyId")
            if not kid:
                return "*"
            kid = str(kid)
            if kid.startswith("arn:") and ":key/" in kid:
                return kid
            meta = self.emu.client("kms", _partition(region), region_name=region).describe_key(KeyId=kid)["KeyMetadata"]
            return str(meta["Arn"])
        if prefix == "cloudtrail":
            name = p.get("Name") or p.get("TrailName")
            if not name:
                return "*"
            name = str(name)
            return name if name.startswith("arn:") else f"arn:{arn_p}:cloudtrail:{region}:{self.account(call)}:trail/{name}"
        if prefix == "s3" and "Bucket" in p:
            return f"arn:{arn_p}:s3:::{p['Bucket']}"
        return "*"

    def request(self, call: dict[str, Any]) -> tuple[str, str, str | None]:
        action = ACTION_NAMES.get((call["service"], call["operation"]), f"{call['prefix']}:{call['operation']}")
        policy_arn = call["params"].get("PolicyArn") if call["operation"] == "AttachUserPolicy" else None
        return action, self.resource(call), policy_arn


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def allows(doc: dict[str, Any], action: str, resource: str, policy_arn: str | None = None) -> bool:
    """An Allow statement of ``doc`` names ``action`` and ``resource`` (``*``: only a ``*`` Resource
    covers a call that names no resource); its ``iam:PolicyARN`` condition, if any, matches."""
    for st in doc["Statement"]:
        if st["Effect"] != "Allow" or not any(fnmatch.fnmatchcase(action, a) for a in _list(st["Action"])):
            continue
        if not any(r == "*" or (resource != "*" and fnmatch.fnmatchcase(resource, r)) for r in _list(st["Resource"])):
            continue
        wanted = st.get("Condition", {}).get("ArnLike", {}).get("iam:PolicyARN")
        if wanted is not None and not (policy_arn and any(fnmatch.fnmatchcase(policy_arn, w) for w in _list(wanted))):
            continue
        return True
    return False


def _denied(emu: Any, recorder: Recorder, docs: dict[str, dict[str, Any]]) -> tuple[list[tuple[str, str]], set[str]]:
    resolver = Resolver(emu)
    denied, seen = [], set()
    for call in recorder.calls:
        action, resource, policy_arn = resolver.request(call)
        if action in FREE:
            continue
        seen.add(resource)
        if not allows(docs[_partition(call["region"])], action, resource, policy_arn):
            denied.append((action, resource))
    return sorted(set(denied)), seen


def _scoped(role: str, **extra: Any) -> dict[str, dict[str, Any]]:
    return {p: policies.generate(role, partition=p, accounts={p: ACCOUNTS[p]}, regions=REGIONS, **extra)
            for p in policies.ARN_PARTITION}


def _run(pytester, monkeypatch, emu, *args: str) -> tuple[Recorder, Any]:
    point_env_at(monkeypatch, emu)
    recorder = Recorder()
    recorder.install(monkeypatch)
    result, cap = run(pytester, *args)
    monkeypatch.undo()
    return recorder, cap


def _replica(emu: Any) -> str:
    east = "us-gov-east-1"
    key = emu.client("kms", "govcloud", region_name=east).create_key(Description="replica key")["KeyMetadata"]["Arn"]
    emu.client("secretsmanager", "govcloud").replicate_secret_to_regions(
        SecretId=SECRET, AddReplicaRegions=[{"Region": east, "KmsKeyId": key}])
    return east


def test_the_scoped_auditor_policy_allows_every_call_of_an_audit_with_a_replica(pytester, emu, monkeypatch):
    emu.apply("compliant")
    east = _replica(emu)
    recorder, cap = _run(pytester, monkeypatch, emu)
    assert cap.records and all(r.status == "pass" for r in cap.records.values())
    docs = _scoped("auditor")
    denied, seen = _denied(emu, recorder, docs)
    assert not denied, denied
    gov, com = ACCOUNTS["govcloud"], ACCOUNTS["commercial"]
    secret_arn = emu.client("secretsmanager", "govcloud").describe_secret(SecretId=SECRET)["ARN"]
    replica_arn = secret_arn.replace(f":{REGIONS['govcloud']}:", f":{east}:")
    user_arn = f"arn:aws:iam::{com}:user/{USER}"
    # the run read the replica in its own Region, the user in its account
    assert {secret_arn, replica_arn, user_arn} <= seen
    # and the scoping is real: another account's user, the secret elsewhere are not allowed
    assert not allows(docs["commercial"], "iam:GetUser", user_arn.replace(com, OTHER_ACCOUNT))
    assert not allows(docs["govcloud"], "secretsmanager:GetSecretValue", replica_arn)
    assert not allows(docs["govcloud"], "secretsmanager:GetSecretValue", secret_arn.replace(gov, OTHER_ACCOUNT))
    assert not allows(docs["govcloud"], "secretsmanager:DescribeSecret", replica_arn.replace(gov, OTHER_ACCOUNT))
    # the same calls fail a policy without the replicas' statement, or scoped to another account
    no_replicas = {p: {**d, "Statement": [st for st in d["Statement"] if st.get("Sid") not in policies.REPLICA_SIDS]}
                   for p, d in docs.items()}
    assert ("secretsmanager:DescribeSecret", replica_arn) in _denied(emu, recorder, no_replicas)[0]
    elsewhere = {p: policies.generate("auditor", partition=p, accounts={p: OTHER_ACCOUNT}, regions=REGIONS)
                 for p in policies.ARN_PARTITION}
    assert ("iam:GetUser", user_arn) in _denied(emu, recorder, elsewhere)[0]


def test_the_scoped_remediator_policy_allows_every_call_of_a_remediation(pytester, emu, monkeypatch):
    emu.apply("guide")
    iam = emu.client("iam")
    iam.create_login_profile(UserName=USER, Password="Not-a-real-password-1!")
    iam.create_group(GroupName="bedrock-admins")
    iam.add_user_to_group(GroupName="bedrock-admins", UserName=USER)
    ct = emu.client("cloudtrail")
    ct.stop_logging(Name=ct.describe_trails()["trailList"][0]["TrailARN"])
    recorder, cap = _run(pytester, monkeypatch, emu, "--remediate", "--allow-destructive")
    assert [s for s in cap.plan if s.status == "applied"]
    docs = _scoped("remediator")
    denied, seen = _denied(emu, recorder, docs)
    assert not denied, denied
    com = ACCOUNTS["commercial"]
    assert f"arn:aws:iam::{com}:user/{USER}" in seen
    assert not allows(docs["commercial"], "iam:DeleteLoginProfile", f"arn:aws:iam::{OTHER_ACCOUNT}:user/{USER}")
    assert not allows(docs["commercial"], "iam:AttachUserPolicy", f"arn:aws:iam::{com}:user/{USER}",
                      f"arn:aws:iam::{OTHER_ACCOUNT}:policy/BedrockApiKeyLeastPrivilege")


ORG_CONFIG = """
[organization]
role_name = "BedrockKeyAuditRole"
external_id = "xid"
govcloud_tag = "govcloud-account-id"
"""


def test_the_organization_policy_allows_every_call_of_an_organization_audit(pytester, emu, monkeypatch):
    """Organization mode: the management principal's policy (account ``*``, shared by the members'
    role) allows every call, in the management account and under each member's assumed role."""
    from bedrock_key_audit.emulator.org_builder import build_organization

    emu.apply("compliant")
    built = build_organization(emu.url, 2, external_id="xid")
    cfg = pytester.makefile(".toml", audit=ORG_CONFIG)
    recorder, cap = _run(pytester, monkeypatch, emu, f"--audit-config={cfg}")
    org = {"role_name": "BedrockKeyAuditRole"}
    docs = {p: policies.generate("auditor", partition=p, organization=org, regions=REGIONS) for p in policies.ARN_PARTITION}
    denied, seen = _denied(emu, recorder, docs)
    assert not denied, denied
    members = [a for a in built["accounts"] if a not in ACCOUNTS.values()]
    assert members and any(f"iam::{m}:user/" in r for m in members for r in seen)  # the members were read
    assert any(r.endswith(":role/BedrockKeyAuditRole") for r in seen)  # through the assumed role
