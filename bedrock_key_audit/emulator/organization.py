"""An AWS organization in the emulator: member accounts in both partitions, sts:AssumeRole into them.

What AWS does and plain moto 5.2 does not, added by ``install()``:

* **sts:AssumeRole checks the role.**  moto issued credentials for any role ARN, existing or
  not.  AWS ("AssumeRole", https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html)
  refuses with ``AccessDenied`` unless the role exists in the target account of the caller's
  partition and its trust policy allows the caller (here: an ``Allow`` for ``sts:AssumeRole`` whose
  ``Principal.AWS`` names the caller's account, its root ARN or ``*``), and, when the trust policy
  has ``sts:ExternalId`` in a ``StringEquals`` condition, the request's ``ExternalId`` matches.
* **Assumed-role credentials act in the role's account.**  The server routes a request by the
  partition of its region to that partition's default account; a request signed with credentials
  this module issued acts in the role's account (:func:`account_for_request`), and once they
  expire (emulator clock) AWS answers ``ExpiredToken`` (:func:`expired_request`).
* **Organizations CreateAccount makes ``OrganizationAccountAccessRole``** in the new account,
  trusting the management account, with ``AdministratorAccess`` ("Accessing a member account that
  has a management account access role", https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_access-cross-account-role.html).
* **ListAccounts / ListAccountsForParent page at most 20** (``MaxResults`` 1..20 in botocore's
  model; moto's default page was 100, so 50 accounts never paged).

GovCloud: AWS pairs a GovCloud account with a commercial one (CreateGovCloudAccount); moto has
no such call, so :func:`create_govcloud_pair` stands in for it: it makes the GovCloud account's
``OrganizationAccountAccessRole`` trusting the emulator's GovCloud account (210987654321, the
GovCloud side's management account).
"""
from __future__ import annotations

import datetime as dt
import json
import re
import threading
from typing import Any

from bedrock_key_audit.emulator import clock, issued, partitions

ACCESS_ROLE = "OrganizationAccountAccessRole"
_lock = threading.Lock()
_installed = False


def installed() -> bool:
    return _installed


def reset() -> None:
    issued.reset()


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        _fix_assume_role()
        _fix_create_account()
        _fix_list_accounts_paging()
        _installed = True


def _statements(doc: Any) -> list[dict[str, Any]]:
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except ValueError:
            return []
    st = doc.get("Statement", []) if isinstance(doc, dict) else []
    return [s for s in (st if isinstance(st, list) else [st]) if isinstance(s, dict)]


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def trust_allows(trust_policy: Any, caller_account: str, arn_partition: str, external_id: str | None) -> bool:
    """Whether a role's trust policy lets ``caller_account`` assume it (see the module docstring)."""
    root = f"arn:{arn_partition}:iam::{caller_account}:root"
    for s in _statements(trust_policy):
        if s.get("Effect") != "Allow":
            continue
        if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in _as_list(s.get("Action", []))):
            continue
        principal = s.get("Principal", {})
        aws = _as_list(principal.get("AWS", [])) if isinstance(principal, dict) else _as_list(principal)
        if not any(p in ("*", caller_account, root) for p in aws):
            continue
        wanted = ((s.get("Condition") or {}).get("StringEquals") or {}).get("sts:ExternalId")
        if wanted is not None and external_id not in _as_list(wanted):
            continue
        return True
    return False


def _fix_assume_role() -> None:
    from moto.iam.models import iam_backends
    from moto.sts.exceptions import STSClientError
    from moto.sts.responses import TokenResponse

    class AccessDenied(STSClientError):
        def __init__(self, message: str) -> None:
            super().__init__("AccessDenied", message)
            self.code = "AccessDenied"

    original = TokenResponse.assume_role

    def assume_role(self: Any) -> Any:
        role_arn = self._get_param("RoleArn") or ""
        external_id = self._get_param("ExternalId")
        arn_partition = partitions.arn_partition_of_region(self.region)
        caller = self.current_account
        m = re.fullmatch(r"arn:([\w-]+):iam::(\d{12}):role/(?:.*/)?([\w+=,.@-]+)", role_arn)
        denied = AccessDenied(f"User: arn:{arn_partition}:iam::{caller}:root is not authorized to perform: "
                              f"sts:AssumeRole on resource: {role_arn}")
        if not m or m.group(1) != arn_partition:
            raise denied
        account, name = m.group(2), m.group(3)
        role = next((r for r in iam_backends[account][arn_partition].roles.values() if r.name == name), None)
        from bedrock_key_audit.emulator import reach

        principal = reach.caller_of(self.headers.get("Authorization", "") or "")
        tags = _session_tags(self._get_params().get("Tags"))
        if principal is not None:  # a user or role session: its trust and identity policies decide
            denied = AccessDenied(f"User: {principal.identity_arn} is not authorized to perform: sts:AssumeRole on "
                                  f"resource: {role_arn}")
            extra = {"sts:ExternalId": external_id} if external_id else {}
            if role is None or not reach.may_assume(role, account, principal, caller, arn_partition, "sts:AssumeRole",
                                                    extra, region=self.region):
                raise denied
            # the RCPs of the role's account bound every caller's AssumeRole ("Resource control policies (RCPs)":
            # AWS STS is one of the services they cover; the management account's roles are beyond them)
            from bedrock_key_audit.emulator import org_guard

            rcp = org_guard.refusal(org_guard.RCP, account, "sts:AssumeRole", role_arn,
                                    {**reach.caller_context(principal, self.region), **extra})
            if rcp is not None:
                raise AccessDenied(f"User: {principal.identity_arn} is not authorized to perform: sts:AssumeRole on "
                                   f"resource: {role_arn} {rcp}")
            # "Passing session tags in AWS STS": a session tagged at AssumeRole needs sts:TagSession, allowed by
            # the role's trust policy (and the caller's identity policy as for sts:AssumeRole), judged with the
            # request's aws:RequestTag/<key> and aws:TagKeys
            if tags and not reach.may_assume(role, account, principal, caller, arn_partition, "sts:TagSession",
                                             {**extra, **{f"aws:RequestTag/{k}": v for k, v in tags.items()},
                                              "aws:TagKeys": list(tags)}, region=self.region):
                raise AccessDenied(f"User: {principal.identity_arn} is not authorized to perform: sts:TagSession on "
                                   f"resource: {role_arn}")
        elif role is None or not trust_allows(role.assume_role_policy_document, caller, arn_partition, external_id):
            raise denied
        result = original(self)
        creds: Any = result.result["Credentials"]  # type: ignore[index]
        # expiry on the emulator clock (tests move it), DurationSeconds from now as AWS counts it
        expires = clock.now() + dt.timedelta(seconds=self._get_int_param("DurationSeconds", 3600))
        issued.record(creds.access_key_id, account, arn_partition, expires, tags)
        return result

    TokenResponse.assume_role = assume_role  # type: ignore[method-assign]


def _session_tags(given: Any) -> dict[str, str]:
    """AssumeRole's ``Tags`` (``[{"Key": .., "Value": ..}]``) as a dict; a key given twice up to case is refused by
    AWS ("tag keys can't be repeated ... case-insensitive"), here the last one stands."""
    out: dict[str, str] = {}
    for t in given if isinstance(given, list) else []:
        if isinstance(t, dict) and t.get("Key") is not None:
            key = str(t["Key"])
            for k in [k for k in out if k.lower() == key.lower()]:
                del out[k]
            out[key] = str(t.get("Value", ""))
    return out


def access_role_trust(account: str, arn_partition: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:{arn_partition}:iam::{account}:root"},
        "Action": "sts:AssumeRole"}]})


def _make_access_role(account: str, arn_partition: str, trusted: str) -> None:
    from moto.iam.models import iam_backends

    iam = iam_backends[account][arn_partition]
    if not any(r.name == ACCESS_ROLE for r in iam.roles.values()):
        iam.create_role(role_name=ACCESS_ROLE, assume_role_policy_document=access_role_trust(trusted, arn_partition),
                        path="/", permissions_boundary=None, description="", tags=[], max_session_duration="3600",
                        linked_service=None)
    # moto's CreateAccount makes the role without a permissions policy; AWS's has AdministratorAccess
    admin = f"arn:{arn_partition}:iam::aws:policy/AdministratorAccess"
    if admin not in iam.get_role(ACCESS_ROLE).managed_policies:
        iam.attach_role_policy(admin, ACCESS_ROLE)


def _fix_create_account() -> None:
    from moto.organizations.models import OrganizationsBackend

    original = OrganizationsBackend.create_account

    def create_account(self: Any, **kwargs: Any) -> dict[str, Any]:
        status = original(self, **kwargs)
        _make_access_role(status["CreateAccountStatus"]["AccountId"], self.partition, self.account_id)
        return status

    OrganizationsBackend.create_account = create_account  # type: ignore[method-assign]


def _fix_list_accounts_paging() -> None:
    from moto.organizations import utils

    for op in ("list_accounts", "list_accounts_for_parent"):
        utils.PAGINATION_MODEL[op]["limit_default"] = 20


def create_govcloud_pair(govcloud_account: str) -> None:
    """Stand-in for CreateGovCloudAccount's GovCloud side: the account's access role, trusting the
    emulator's GovCloud management account."""
    gov = partitions.PARTITIONS["govcloud"]
    _make_access_role(govcloud_account, gov.arn_partition, gov.account_id)


def _commercial_account(account: str) -> bool:
    """``account`` is the emulator's commercial account or an account of a commercial organization."""
    from moto.organizations.models import organizations_backends

    got = organizations_backends.master_accounts.get(account)
    return account == partitions.PARTITIONS["commercial"].account_id or (got is not None and got[1] == "aws")


def handle_control(method: str, payload: dict[str, Any]) -> tuple[int, Any]:
    """``POST /_emulator/govcloud-account {"account_id": "..."}``: the GovCloud half of
    CreateGovCloudAccount (:func:`create_govcloud_pair`)."""
    if method != "POST":
        return 405, {"error": "use POST /_emulator/govcloud-account"}
    account = payload.get("account_id")
    if not isinstance(account, str) or not re.fullmatch(r"\d{12}", account):
        return 400, {"error": "account_id must be a 12-digit account id"}
    if _commercial_account(account):
        # CreateGovCloudAccount answers two ids, AccountId (commercial) and GovCloudAccountId, "the unique identifier
        # (ID) of the new account in the AWS GovCloud (US) Region" (Organizations API reference, CreateAccountStatus);
        # one id in both partitions would be one account to moto's organizations
        return 409, {"error": f"account_id {account} is a commercial account; a GovCloud account's id differs from "
                              "its commercial pair's"}
    create_govcloud_pair(account)
    return 200, {"ok": True, "account_id": account, "role": ACCESS_ROLE}
