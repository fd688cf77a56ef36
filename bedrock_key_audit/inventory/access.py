"""Reads of the access checks (secret.readers_restricted, iam.key_minting_restricted), memoised on the
run's :class:`~bedrock_key_audit.inventory.reader.Inventory` like every other read.

Calls (and so the auditor's permissions):

* ``iam:GetAccountAuthorizationDetails`` (``Filter`` User, Role, Group, LocalManagedPolicy; MaxItems
  1000, Marker loop; one read per partition and run, shared with fleet mode's bulk reads) in the
  partition in question: every user (with its groups), group and role with inline and attached
  policies and boundaries, and every customer managed policy with its versions;
* ``iam:GetPolicy`` and ``iam:GetPolicyVersion`` (default version) of each AWS managed policy
  attached there (the filtered answer does not carry them);
* ``secretsmanager:GetResourcePolicy`` of the secret;
* ``kms:GetKeyPolicy`` (policy ``default``) and ``kms:ListGrants`` of the secret's KMS key;
* for a replicated secret (``DescribeSecret`` ``ReplicationStatus``), in each replica Region:
  ``secretsmanager:DescribeSecret`` of the replica (its ``KmsKeyId``; absent: that Region's
  ``aws/secretsmanager``), and ``kms:DescribeKey``, ``kms:GetKeyPolicy`` and ``kms:ListGrants`` of
  its key in that Region;
* ``iam:ListAccessKeys`` and ``iam:GetLoginProfile`` of each user whose takeover by a new access key
  or console password would decide who can mint (:func:`user_facts`);
* ``sts:GetCallerIdentity`` (the principal running the audit, allowed by default -- see
  checks/test_access.py).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bedrock_key_audit.checkcore import CouldNotDecide

from bedrock_key_audit.escalation import UserFacts
from bedrock_key_audit.access import attached_arns, principals_from_gaad
from bedrock_key_audit.inventory.models import AccountAuthorization, Replica
from bedrock_key_audit.permissions import GOVCLOUD, KEY_USER, MANAGED_POLICY, SECRET, SECRET_KEY, SECRET_REPLICA, Read, reads

if TYPE_CHECKING:  # the reader calls these functions (prefetch); they only name its type
    from bedrock_key_audit.inventory.reader import Inventory


def _gaad(inv: Inventory, partition: str) -> dict[str, Any]:
    """The partition's GetAccountAuthorizationDetails pages merged: the one read per account that
    fleet mode's user and policy reads share (:meth:`~bedrock_key_audit.inventory.bulk.BulkReads.gaad_pages`)."""
    merged: dict[str, list[Any]] = {k: [] for k in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")}
    for page in inv.gaad_pages(partition):
        for k, items in merged.items():
            items.extend(page.get(k) or [])
    return merged


@reads(Read("iam:GetPolicy", MANAGED_POLICY), Read("iam:GetPolicyVersion", MANAGED_POLICY))
def _managed_document(inv: Inventory, partition: str, arn: str) -> Any:
    if partition == "commercial":  # the same memo as the users' policies: one GetPolicy per ARN and run
        return inv.managed_policy(arn).document

    def fetch() -> Any:
        pol: dict[str, Any] = (inv._read(partition, "iam", "GetPolicy", PolicyArn=arn) or {})["Policy"]
        ver: dict[str, Any] = (inv._read(partition, "iam", "GetPolicyVersion", PolicyArn=arn,
                                         VersionId=pol["DefaultVersionId"]) or {})["PolicyVersion"]
        return ver["Document"]
    return inv.g.once(("access-managed-policy", partition, arn), fetch)


def account_authorization(inv: Inventory, partition: str) -> AccountAuthorization:
    """Every principal of ``partition``'s account with its identity policies (see the module docstring)."""
    def fetch() -> AccountAuthorization:
        gaad = _gaad(inv, partition)
        have = {p["Arn"] for p in gaad["Policies"]}
        missing = sorted(attached_arns(gaad) - have)
        docs = inv.g.fanout([(lambda a=a: _managed_document(inv, partition, a)) for a in missing])
        try:
            principals = principals_from_gaad(gaad, dict(zip(missing, docs, strict=True)))
        except ValueError as exc:  # AccessError / PolicyError: one sentence
            raise CouldNotDecide(f"the {partition} account's authorization details cannot be evaluated: {exc}") from None
        users = [(u["Arn"], {str(t.get("Key")): str(t.get("Value")) for t in u.get("Tags") or []})
                 for u in gaad["UserDetailList"]]
        counts = {"users": len(gaad["UserDetailList"]), "groups": len(gaad["GroupDetailList"]),
                  "roles": len(gaad["RoleDetailList"]), "customer_managed_policies": len(gaad["Policies"]),
                  "aws_managed_policies_read": len(missing)}
        try:
            caller = inv.identity(partition)
        except CouldNotDecide:
            caller = {}  # then the caller is not allowed by default: stricter, never laxer
        return AccountAuthorization(partition, principals, users, counts, caller, gaad,
                                    dict(zip(missing, docs, strict=True)))
    got: AccountAuthorization = inv.g.once(("account-authorization", partition), fetch)
    return got


@reads(Read("iam:ListAccessKeys", KEY_USER), Read("iam:GetLoginProfile", KEY_USER))
def user_facts(inv: Inventory, partition: str, user_arns: Any) -> dict[str, UserFacts]:
    """Each user's access-key count (``iam:ListAccessKeys``, botocore's paginator: active and
    inactive keys alike, both count against the quota of two) and console password
    (``iam:GetLoginProfile``; NoSuchEntity: none), memoised per user.  A read that fails leaves
    that fact None (undecided), never assumed."""
    def one(arn: str) -> tuple[str, UserFacts]:
        name = arn.rsplit("/", 1)[-1]

        def fetch() -> UserFacts:
            def keys() -> int | None:
                try:
                    got = inv._paginated(partition, "iam", "ListAccessKeys", "AccessKeyMetadata", UserName=name)
                except (CouldNotDecide, ValueError):
                    return None
                return None if got is None else len(got)

            def login() -> bool | None:
                try:
                    return inv._read(partition, "iam", "GetLoginProfile", expected={"NoSuchEntity"},
                                     UserName=name) is not None
                except (CouldNotDecide, ValueError):
                    return None
            count, profile = inv.g.fanout([keys, login])
            return UserFacts(count, profile)
        facts: UserFacts = inv.g.once(("user-facts", partition, arn), fetch)
        return arn, facts
    return dict(inv.g.fanout([(lambda a=a: one(a)) for a in sorted(user_arns)]))


@reads(Read("secretsmanager:GetResourcePolicy", SECRET, partitions=GOVCLOUD))
def secret_resource_policy(inv: Inventory) -> str | None:
    """``secretsmanager:GetResourcePolicy``: the secret's resource policy, or None when it has none."""
    def fetch() -> str | None:
        resp = inv._read("govcloud", "secretsmanager", "GetResourcePolicy", SecretId=inv.cfg.secret_id) or {}
        policy = resp.get("ResourcePolicy")
        return policy if isinstance(policy, str) and policy.strip() else None
    got: str | None = inv.g.once(("secret-resource-policy", inv.cfg.secret_id), fetch)
    return got


def _key_region(key_arn: str) -> str | None:
    parts = key_arn.split(":")
    return parts[3] if key_arn.startswith("arn:") and len(parts) > 3 and parts[3] else None


@reads(Read("kms:GetKeyPolicy", SECRET_KEY, partitions=GOVCLOUD))
def key_policy(inv: Inventory, key_arn: str) -> str:
    """``kms:GetKeyPolicy`` (``default``, the only name a key policy has) of a GovCloud key (in the
    Region its ARN names)."""
    def fetch() -> str:
        resp = inv._read("govcloud", "kms", "GetKeyPolicy", region=_key_region(key_arn), KeyId=key_arn,
                         PolicyName="default") or {}
        return str(resp.get("Policy") or "")
    got: str = inv.g.once(("key-policy", key_arn), fetch)
    return got


@reads(Read("kms:ListGrants", SECRET_KEY, partitions=GOVCLOUD))
def key_grants(inv: Inventory, key_arn: str) -> list[dict[str, Any]]:
    """``kms:ListGrants`` of a GovCloud key (botocore's paginator)."""
    def fetch() -> list[dict[str, Any]]:
        region = _key_region(key_arn)
        if region and region != inv.cfg.region("govcloud"):
            items: list[dict[str, Any]] = inv._read("govcloud", "kms", "ListGrants", region=region, via=lambda client: {
                "Grants": [g for page in client.get_paginator("list_grants").paginate(KeyId=key_arn)
                           for g in page.get("Grants", [])]}, KeyId=key_arn)["Grants"]  # type: ignore[index]
            return items
        items = inv._paginated("govcloud", "kms", "ListGrants", "Grants", KeyId=key_arn) or []
        return items
    got: list[dict[str, Any]] = inv.g.once(("key-grants", key_arn), fetch)
    return got


@reads(Read("secretsmanager:DescribeSecret", SECRET_REPLICA, partitions=GOVCLOUD))
def secret_replicas(inv: Inventory, secret_arn: str, describe: dict[str, Any]) -> list[Replica]:
    """Each replica Region of the secret (``ReplicationStatus``), with the key ``DescribeSecret`` in
    that Region names.  A replica whose replication ``Failed`` holds no copy and is left out."""
    out: list[Replica] = []
    for entry in describe.get("ReplicationStatus") or []:
        region = str(entry.get("Region") or "")
        status = str(entry.get("Status") or "")
        if not region or status == "Failed":
            continue
        parts = secret_arn.split(":")
        arn = ":".join([*parts[:3], region, *parts[4:]])

        def fetch(region: str = region, arn: str = arn) -> dict[str, Any]:
            got: dict[str, Any] = inv._read("govcloud", "secretsmanager", "DescribeSecret", region=region,
                                            SecretId=arn) or {}
            return got
        desc = inv.g.once(("secret-replica", arn), fetch)
        out.append(Replica(region, arn, desc.get("KmsKeyId"), status))
    return out
