"""A snapshot of an emulated account, read with boto3, to prove what remediation changed.

``account_snapshot(emu)`` maps each resource (by ARN) to its state: IAM users (attached and
inline policies, groups, boundary, access keys and Bedrock keys by id and status only, console
password), groups and roles (policies), customer-managed policies (every version's document and
what the default version allows), secrets (versions, KMS key, deletion, the current value's
fields *except the key*), trails (settings, logging, selectors and what they record), S3 buckets
(policy) and KMS keys (state, keyed by their alias).  Never a key or a secret value.

Two comparisons:

* ``superset_violations(before, after)``: every resource of ``before`` still exists and its state
  is a superset -- dict keys kept, list items kept, scalars equal except that an absent/false/
  empty value may become anything (a trail starting to log, a key gaining an expiry is *not*
  allowed: a scalar that was set must stay).  Fields named in ``VOLATILE`` (which version is the
  default, the raw selector documents, secret stages) are judged by their meaning instead:
  ``grants`` (what the default version allows) and ``records`` (what a trail records).
* ``changed_outside(before, after, targets)``: resources added, removed or changed whose ARN is
  not named by any step target.
"""
from __future__ import annotations

import json
from typing import Any

from bedrock_key_audit.policy import Evaluator, PolicyError, decode_document

# judged by meaning, not equality, in superset_violations: which version is the default (``grants``
# says what it allows), raw selector documents (``records`` says what they record), secret stages
# and version ids (AWS itself drops a version once no stage label is left on it)
VOLATILE = {"default_version", "raw_selectors", "stages", "versions_with_labels"}
PARTITIONS = ("commercial", "govcloud")


def _doc(d: Any) -> Any:
    try:
        return decode_document(d)
    except ValueError:
        return d


def _grants(doc: Any) -> list[str]:
    try:
        return sorted(Evaluator([("doc", doc)]).allowed())
    except PolicyError:
        return ["<unevaluable>"]


_CLIENTS: dict[tuple[int, str, str], Any] = {}


def _client(emu: Any, service: str, part: str) -> Any:
    """One boto3 client per emulator, service and partition (making clients is the slow part)."""
    key = (id(emu), service, part)
    if key not in _CLIENTS:
        _CLIENTS[key] = emu.client(service, part)
    return _CLIENTS[key]


def _pages(client: Any, op: str, key: str, **kw: Any) -> list[Any]:
    return [x for page in client.get_paginator(op).paginate(**kw) for x in page.get(key, [])]


def _iam(emu: Any, part: str, out: dict[str, Any]) -> None:
    iam = _client(emu, "iam", part)
    for u in _pages(iam, "list_users", "Users"):
        name = u["UserName"]
        full = iam.get_user(UserName=name)["User"]
        try:
            iam.get_login_profile(UserName=name)
            login = True
        except iam.exceptions.NoSuchEntityException:
            login = False
        out[u["Arn"]] = {
            "kind": "user",
            "attached": sorted(a["PolicyArn"] for a in _pages(iam, "list_attached_user_policies", "AttachedPolicies", UserName=name)),
            "inline": {n: _doc(iam.get_user_policy(UserName=name, PolicyName=n)["PolicyDocument"])
                       for n in _pages(iam, "list_user_policies", "PolicyNames", UserName=name)},
            "groups": sorted(g["GroupName"] for g in _pages(iam, "list_groups_for_user", "Groups", UserName=name)),
            "boundary": (full.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
            "access_keys": {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]},
            "login_profile": login,
            "credentials": {c["ServiceSpecificCredentialId"]: c["Status"] for c in
                            iam.list_service_specific_credentials(UserName=name)["ServiceSpecificCredentials"]},
            "signing_certificates": {c["CertificateId"]: c["Status"] for c in
                                     iam.list_signing_certificates(UserName=name)["Certificates"]},
            "ssh_public_keys": {k["SSHPublicKeyId"]: k["Status"] for k in
                                iam.list_ssh_public_keys(UserName=name)["SSHPublicKeys"]},
        }
    for g in _pages(iam, "list_groups", "Groups"):
        name = g["GroupName"]
        out[g["Arn"]] = {
            "kind": "group",
            "attached": sorted(a["PolicyArn"] for a in _pages(iam, "list_attached_group_policies", "AttachedPolicies", GroupName=name)),
            "inline": {n: _doc(iam.get_group_policy(GroupName=name, PolicyName=n)["PolicyDocument"])
                       for n in _pages(iam, "list_group_policies", "PolicyNames", GroupName=name)},
        }
    for r in _pages(iam, "list_roles", "Roles"):
        name = r["RoleName"]
        out[r["Arn"]] = {
            "kind": "role",
            "attached": sorted(a["PolicyArn"] for a in _pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name)),
            "inline": {n: _doc(iam.get_role_policy(RoleName=name, PolicyName=n)["PolicyDocument"])
                       for n in _pages(iam, "list_role_policies", "PolicyNames", RoleName=name)},
        }
    for p in _pages(iam, "list_policies", "Policies", Scope="Local"):
        versions = {v["VersionId"]: _doc(iam.get_policy_version(PolicyArn=p["Arn"], VersionId=v["VersionId"])
                                         ["PolicyVersion"]["Document"])
                    for v in _pages(iam, "list_policy_versions", "Versions", PolicyArn=p["Arn"])}
        out[p["Arn"]] = {"kind": "policy", "versions": {k: json.dumps(v, sort_keys=True) for k, v in versions.items()},
                         "default_version": p["DefaultVersionId"], "grants": _grants(versions[p["DefaultVersionId"]])}


def _secrets(emu: Any, part: str, out: dict[str, Any]) -> None:
    sm = _client(emu, "secretsmanager", part)
    for s in _pages(sm, "list_secrets", "SecretList", IncludePlannedDeletion=True):
        d = sm.describe_secret(SecretId=s["ARN"])
        fields: Any = None
        if not d.get("DeletedDate"):
            try:
                value = sm.get_secret_value(SecretId=s["ARN"]).get("SecretString")
            except sm.exceptions.ResourceNotFoundException:
                value = None
            try:
                parsed = json.loads(value) if value is not None else None
            except ValueError:
                parsed = "<not JSON>"
            # the fields, never the key: its presence only
            # a value that is not a JSON object has no fields to keep (None: anything may replace it)
            fields = {k: ("<present>" if k == "bedrock_api_key" else v) for k, v in parsed.items()} \
                if isinstance(parsed, dict) else None
        out[s["ARN"]] = {
            "kind": "secret", "kms": d.get("KmsKeyId"), "pending_deletion": bool(d.get("DeletedDate")),
            "versions_with_labels": sorted(d.get("VersionIdsToStages", {})), "stages": d.get("VersionIdsToStages", {}),
            "current_fields": fields,
        }


def _records(sel: dict[str, Any]) -> dict[str, Any]:
    """What a trail's selectors record: management read/write, excluded sources, data selectors."""
    read = write = False
    excluded: list[str] = []
    data: list[str] = []
    if sel.get("AdvancedEventSelectors"):
        for s in sel["AdvancedEventSelectors"]:
            fields = {f["Field"]: f for f in s.get("FieldSelectors", [])}
            if "Management" in (fields.get("eventCategory") or {}).get("Equals", []):
                ro = fields.get("readOnly")
                vals = set(ro.get("Equals", [])) if ro and ro.get("Equals") else {"true", "false"}
                read |= "true" in vals
                write |= "false" in vals
                excluded += (fields.get("eventSource") or {}).get("NotEquals", [])
            else:
                data.append(json.dumps(s.get("FieldSelectors"), sort_keys=True))
    else:
        for s in sel.get("EventSelectors") or []:
            rw = s.get("ReadWriteType", "All")
            if s.get("IncludeManagementEvents", True):
                read |= rw in ("All", "ReadOnly")
                write |= rw in ("All", "WriteOnly")
                excluded += s.get("ExcludeManagementEventSources") or []
            for r in s.get("DataResources") or []:
                for v in r.get("Values", []):
                    data.append(f"{r.get('Type')}|{v}|{rw}")
    return {"management_read": read, "management_write": write, "every_source": not excluded,
            "data": sorted(data)}


def _trails(emu: Any, part: str, out: dict[str, Any]) -> None:
    ct = _client(emu, "cloudtrail", part)
    for t in ct.describe_trails(includeShadowTrails=False)["trailList"]:
        arn = t["TrailARN"]
        sel = ct.get_event_selectors(TrailName=arn)
        sel.pop("ResponseMetadata", None)
        sel.pop("TrailARN", None)
        out[arn] = {
            "kind": "trail",
            **{k: t.get(k) for k in ("S3BucketName", "IsMultiRegionTrail", "IncludeGlobalServiceEvents",
                                     "LogFileValidationEnabled", "KmsKeyId", "IsOrganizationTrail",
                                     "CloudWatchLogsLogGroupArn")},
            "IsLogging": ct.get_trail_status(Name=arn)["IsLogging"],
            "raw_selectors": json.dumps(sel, sort_keys=True, default=str),
            "records": _records(sel),
        }


def _buckets(emu: Any, part: str, out: dict[str, Any]) -> None:
    s3 = _client(emu, "s3", part)
    arn_part = "aws-us-gov" if part == "govcloud" else "aws"
    for b in s3.list_buckets()["Buckets"]:
        try:
            policy = json.loads(s3.get_bucket_policy(Bucket=b["Name"])["Policy"])
        except s3.exceptions.ClientError:
            policy = None
        out[f"arn:{arn_part}:s3:::{b['Name']}"] = {"kind": "bucket", "policy": policy}


def _kms(emu: Any, part: str, out: dict[str, Any]) -> None:
    kms = _client(emu, "kms", part)
    aliases: dict[str, list[str]] = {}
    for a in _pages(kms, "list_aliases", "Aliases"):
        if a.get("TargetKeyId"):
            aliases.setdefault(a["TargetKeyId"], []).append(a["AliasArn"])
    for k in _pages(kms, "list_keys", "Keys"):
        meta = kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]
        if meta.get("KeyManager") == "AWS":
            continue
        names = sorted(aliases.get(k["KeyId"], []))
        out[names[0] if names else meta["Arn"]] = {"kind": "kms", "KeyArn": meta["Arn"], "KeyState": meta["KeyState"],
                                                   "aliases": names}


def account_snapshot(emu: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in PARTITIONS:
        for read in (_iam, _secrets, _trails, _buckets, _kms):
            read(emu, part, out)
    return out


def _superset(old: Any, new: Any, path: str, bad: list[str]) -> None:
    if old in (None, False, "", [], {}):
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for k, v in old.items():
            if k in VOLATILE:
                continue
            if k not in new:
                bad.append(f"{path}.{k} removed")
            else:
                _superset(v, new[k], f"{path}.{k}", bad)
        return
    if isinstance(old, list) and isinstance(new, list):
        missing = [x for x in old if x not in new]
        if missing:
            bad.append(f"{path} lost {missing[:3]}")
        return
    if old != new:
        bad.append(f"{path}: {old!r} -> {new!r}")


def superset_violations(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    bad: list[str] = []
    for key, state in before.items():
        if key not in after:
            bad.append(f"{key} no longer exists")
        else:
            _superset(state, after[key], key, bad)
    return bad


def _name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def covered(key: str, targets: list[str]) -> bool:
    """Is the resource ``key`` (an ARN) named by a target (its ARN, a sub-resource ARN, or its name;
    a secret's ARN ends in ``<name>-<6 characters>``)?"""
    name = _name(key)
    for t in targets:
        if t == key or t.startswith(key + "/") or t == name:
            return True
        if ":secret:" in key and name.rsplit("-", 1)[0] in (t, _name(t)):
            return True
    return False


def changed_outside(before: dict[str, Any], after: dict[str, Any], targets: list[str]) -> list[str]:
    out = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key) and not covered(key, targets):
            what = "added" if key not in before else "removed" if key not in after else "changed"
            out.append(f"{key} {what}")
    return out
