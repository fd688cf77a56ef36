"""Build an organization on a running emulator, through boto3 and the control API only.

    build_organization(url, members=49, keys_per_account=20)

The emulator's own accounts are the management accounts: commercial ``123456789012`` creates
the organization and its member accounts (``CreateAccount``, which makes
``OrganizationAccountAccessRole`` in each), GovCloud ``210987654321`` stands for the GovCloud
side of ``CreateGovCloudAccount`` (``POST /_emulator/govcloud-account``).  Each commercial
account is tagged ``govcloud-account-id`` with its GovCloud account.  In every account of both
partitions (the management accounts too) the builder creates the audit role
(:data:`AUDIT_ROLE`, trusting its partition's management account, optionally requiring an
external id) and the ``compliant`` scenario's state, plus ``keys_per_account - 1`` more keyed
users sharing the compliant policy.  Accounts listed in ``broken`` get no audit role (AssumeRole
is refused); ``suspended`` ones are closed (``CloseAccount``: Status ``SUSPENDED``).
Every even member account is moved into the OU ``workloads``.
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import urllib.request
from typing import Any

import boto3
import botocore.config

from bedrock_key_audit.emulator import partitions, scenario_base, scenarios

AUDIT_ROLE = "BedrockKeyAuditRole"
GOV_TAG = "govcloud-account-id"
FAKE = {"aws_access_key_id": "AKIAEMULATORFAKEKEY0", "aws_secret_access_key": "emulator/fake/secret/access/key/not-real0"}
_CFG = botocore.config.Config(retries={"max_attempts": 2, "mode": "standard"}, max_pool_connections=32)


class AccountView:
    """What scenarios.py's builders need of an emulator (``client``, ``session``, ``accounts``,
    ``url``), acting in one account pair through ``OrganizationAccountAccessRole``."""

    def __init__(self, url: str, accounts: dict[str, str]) -> None:
        self.url = url
        self.accounts = dict(accounts)
        self._sessions: dict[str, boto3.Session] = {}
        self._clients: dict[tuple[str, str], Any] = {}

    def session(self, partition: str = "commercial") -> boto3.Session:
        if partition not in self._sessions:
            part = partitions.PARTITIONS[partition]
            if self.accounts[partition] == part.account_id:
                self._sessions[partition] = boto3.Session(region_name=part.region, **FAKE)
            else:
                sts = boto3.client("sts", endpoint_url=self.url, region_name=part.region, config=_CFG, **FAKE)
                c = sts.assume_role(RoleArn=f"arn:{part.arn_partition}:iam::{self.accounts[partition]}:role/"
                                            f"{'OrganizationAccountAccessRole'}", RoleSessionName="org-builder")["Credentials"]
                self._sessions[partition] = boto3.Session(
                    region_name=part.region, aws_access_key_id=c["AccessKeyId"],
                    aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
        return self._sessions[partition]

    def client(self, service: str, partition: str = "commercial", **kwargs: Any) -> Any:
        key = (service, partition)
        if kwargs or key not in self._clients:
            c = self.session(partition).client(service, endpoint_url=self.url, config=_CFG, **kwargs)
            if kwargs:
                return c
            self._clients[key] = c
        return self._clients[key]


def _post(url: str, path: str, payload: dict[str, Any]) -> Any:
    req = urllib.request.Request(f"{url}{path}", method="POST", data=json.dumps(payload).encode(),
                                 headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=30) as resp:
        return json.loads(resp.read())


def _audit_role_trust(trusted_account: str, arn_partition: str, external_id: str | None) -> str:
    st: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": f"arn:{arn_partition}:iam::{trusted_account}:root"},
                          "Action": "sts:AssumeRole"}
    if external_id:
        st["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return json.dumps({"Version": "2012-10-17", "Statement": [st]})


def _secret_read_policy() -> str:
    """What docs/auditor-policy.json grants beyond SecurityAudit to read the GovCloud secret."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadTheGovCloudSecret", "Effect": "Allow",
         "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:GetResourcePolicy"],
         "Resource": f"arn:aws-us-gov:secretsmanager:*:*:secret:{scenarios.SECRET_NAME}-??????"},
        {"Sid": "DecryptTheSecretThroughSecretsManagerOnly", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}}}]})


def _build_account(view: AccountView, keys_per_account: int, audit_role: bool, external_id: str | None,
                   state: bool) -> None:
    for partition in partitions.PARTITIONS:
        part = partitions.PARTITIONS[partition]
        if audit_role:
            iam = view.client("iam", partition)
            iam.create_role(RoleName=AUDIT_ROLE, AssumeRolePolicyDocument=_audit_role_trust(
                part.account_id, part.arn_partition, external_id))
            iam.attach_role_policy(RoleName=AUDIT_ROLE, PolicyArn=f"arn:{part.arn_partition}:iam::aws:policy/SecurityAudit")
            if partition == "govcloud":  # SecurityAudit reads no secret value: the auditor policy's secret statements
                iam.put_role_policy(RoleName=AUDIT_ROLE, PolicyName="read-the-secret", PolicyDocument=_secret_read_policy())
    if state:
        scenarios._compliant(view, organization=False)
    iam = view.client("iam")
    arn = next(p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"] if p["PolicyName"] == scenario_base.POLICY_NAME)
    for i in range(keys_per_account - 1):
        name = f"fleet-user-{i:04d}"
        iam.create_user(UserName=name)
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
        iam.create_service_specific_credential(UserName=name, ServiceName=scenario_base.BEDROCK, CredentialAgeDays=90)


def build_organization(url: str, members: int, keys_per_account: int = 1, *, broken: tuple[int, ...] = (),
                       suspended: tuple[int, ...] = (), external_id: str | None = None,
                       management_state: bool = False, workers: int = 8) -> dict[str, Any]:
    """Build it; returns ``{"management": id, "accounts": {commercial id: govcloud id}, "broken": [...],
    "suspended": [...], "ou": ou id}`` (member indexes in ``broken``/``suspended`` count from 0).

    ``management_state``: also build the compliant state in the management accounts (leave it
    False when the emulator already runs the ``compliant`` scenario)."""
    com, gov = partitions.PARTITIONS["commercial"], partitions.PARTITIONS["govcloud"]
    org = boto3.client("organizations", endpoint_url=url, region_name=com.region, config=_CFG, **FAKE)
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    ou = org.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
    pairs: dict[str, str] = {com.account_id: gov.account_id}
    ids: list[str] = []
    for i in range(members):
        acct = org.create_account(Email=f"member-{i:03d}@example.com", AccountName=f"member-{i:03d}")[
            "CreateAccountStatus"]["AccountId"]
        # the GovCloud pair has an id of its own (never the commercial id: an id starting with 3 would repeat)
        gov_id = f"{4 if acct.startswith('3') else 3}{int(acct) % 10**11:011d}"
        _post(url, "/_emulator/govcloud-account", {"account_id": gov_id})
        pairs[acct] = gov_id
        ids.append(acct)
        if i % 2 == 0:
            org.move_account(AccountId=acct, SourceParentId=root, DestinationParentId=ou)
    for acct, gov_id in pairs.items():
        org.tag_resource(ResourceId=acct, Tags=[{"Key": GOV_TAG, "Value": gov_id}])

    def one(acct: str) -> None:
        index = ids.index(acct) if acct in ids else -1
        view = AccountView(url, {"commercial": acct, "govcloud": pairs[acct]})
        _build_account(view, keys_per_account, audit_role=index not in broken, external_id=external_id,
                       state=index >= 0 or management_state)

    with cf.ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, list(pairs)))
    for i in suspended:
        org.close_account(AccountId=ids[i])
    return {"management": com.account_id, "accounts": pairs, "ou": ou,
            "broken": [ids[i] for i in broken], "suspended": [ids[i] for i in suspended]}
