"""Service control policies and resource control policies in the emulator's own decisions.

moto stores an organization's policies (CreatePolicy, AttachPolicy, ListParents,
ListPoliciesForTarget) but enforces none.  This module decides with the emulator's evaluator
(:mod:`bedrock_key_audit.emulator.iam_eval`), independent of the audit's code, as AWS documents:

* "SCP evaluation" (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html):
  a request by a principal of a member account needs an Allow at every level from the root to
  the account, and a Deny at any level refuses it.
* "Service control policies (SCPs)": SCPs do not affect principals of the management account.
* "Resource control policies (RCPs)" and "RCP evaluation"
  (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html):
  the same logic over the RCPs of the account that owns the resource, for the services RCPs
  support (S3, STS, KMS, SQS, Secrets Manager, Cognito, CloudWatch Logs, DynamoDB, ECR, OpenSearch
  Serverless), whoever calls; never for resources of the management account.

Used by the bearer calls (``bedrock``), ``CreateServiceSpecificCredential`` (``iam_ssc``), and
``GetSecretValue`` with the ``kms:Decrypt`` it implies (``reach``).
"""
from __future__ import annotations

import json
from typing import Any

from bedrock_key_audit.emulator import iam_eval

SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"
_RCP_SERVICES = {"s3", "sts", "kms", "sqs", "secretsmanager", "cognito-idp", "logs", "dynamodb", "ecr", "aoss"}
WORDS = {SCP: "service control policy", RCP: "resource control policy"}
_joined: set[str] = set()  # accounts join() made members (moto keeps master_accounts across its reset)
_delegated: set[str] = set()  # members join() made delegated administrators (they read the organization's policies)
_installed = False
_READS = ("list_parents", "list_policies_for_target", "describe_policy")
_WRITES = ("create_policy", "update_policy", "delete_policy", "attach_policy", "detach_policy",
           "enable_policy_type", "disable_policy_type")


def install() -> None:
    """Route a member account's ListParents / ListPoliciesForTarget / DescribePolicy to its
    organization when it is a delegated administrator ("Delegated administrator for AWS
    Organizations": it may call the read-only Organizations operations); any other member is
    refused ``AccessDeniedException``, as AWS refuses them (moto answered from an empty
    organization of the member's own)."""
    global _installed
    if _installed:
        return
    from moto.organizations import models

    for name in _READS:
        original = getattr(models.OrganizationsBackend, name)

        def routed(self: Any, *args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            got = models.organizations_backends.master_accounts.get(self.account_id)
            if self.org is None and got is not None and got[0] != self.account_id:
                if self.account_id not in _delegated:
                    from moto.organizations.exceptions import OrganizationsClientError

                    raise OrganizationsClientError("AccessDeniedException",
                                                   "You don't have permissions to access this resource.")
                return getattr(models.organizations_backends[got[0]][got[1]], _name)(*args, **kwargs)
            return _original(self, *args, **kwargs)

        setattr(models.OrganizationsBackend, name, routed)

    for name in _WRITES:
        original = getattr(models.OrganizationsBackend, name)

        def guarded(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            # policy management belongs to the management account ("Managing organization policies"):
            # a member (even a delegated administrator without a resource-based delegation policy)
            # is answered AccessDeniedException; moto failed with an AttributeError (HTTP 500)
            got = models.organizations_backends.master_accounts.get(self.account_id)
            if self.org is None and got is not None and got[0] != self.account_id:
                from moto.organizations.exceptions import OrganizationsClientError

                raise OrganizationsClientError("AccessDeniedException",
                                               "You don't have permissions to access this resource.")
            return _original(self, *args, **kwargs)

        setattr(models.OrganizationsBackend, name, guarded)

    describe = models.OrganizationsBackend.describe_organization

    def describe_organization(self: Any) -> Any:
        # AvailablePolicyTypes (deprecated, "use ListRoots instead": DescribeOrganization API
        # reference) mirrors the root's enabled types, as ListRoots' PolicyTypes shows them;
        # moto always said SERVICE_CONTROL_POLICY only
        out = describe(self)
        got = models.organizations_backends.master_accounts.get(self.account_id)
        backend = self if self.org is not None else (models.organizations_backends[got[0]][got[1]] if got else None)
        if backend is not None and backend.org is not None:
            root: Any = next((r for r in backend.ou if r.id == backend.org.root_id), None)
            if root is not None:
                out = {**out, "Organization": {**out["Organization"],
                                               "AvailablePolicyTypes": [dict(t) for t in root.policy_types]}}
        return out

    setattr(models.OrganizationsBackend, "describe_organization", describe_organization)  # noqa: B010

    create = models.OrganizationsBackend.create_organization

    def create_organization(self: Any, *args: Any, **kwargs: Any) -> Any:
        # a scenario's stand-in membership yields to an organization built on top of it
        # (org_builder makes the emulator's account a management account): it leaves first
        if self.account_id in _joined:
            leave(self.account_id)
        return create(self, *args, **kwargs)

    setattr(models.OrganizationsBackend, "create_organization", create_organization)  # noqa: B010 -- a method replaced
    _installed = True


def leave(account: str) -> None:
    """Take ``account`` out of the organization :func:`join` put it in."""
    from moto.organizations.models import organizations_backends

    got = organizations_backends.master_accounts.pop(account, None)
    _joined.discard(account)
    _delegated.discard(account)
    if got is not None:
        backend = organizations_backends[got[0]][got[1]]
        backend.accounts = [a for a in backend.accounts if a.id != account]


def reset() -> None:
    """Forget the memberships :func:`join` made (the emulator's reset; moto's does not clear them)."""
    from moto.organizations.models import organizations_backends

    for account in list(_joined):
        organizations_backends.master_accounts.pop(account, None)
    _joined.clear()
    _delegated.clear()


def _member_backend(account: str) -> Any | None:
    """moto's organizations backend of the organization ``account`` is a *member* (not the management) of."""
    from moto.organizations.models import organizations_backends

    got = organizations_backends.master_accounts.get(account)
    if got is None:
        return None
    mgmt, partition = got
    if mgmt == account:
        return None
    backend = organizations_backends[mgmt][partition]
    return backend if backend.org is not None else None


def _levels(backend: Any, account: str) -> list[str]:
    path = [account]
    child = account
    while True:
        parents = backend.list_parents(ChildId=child).get("Parents", [])
        if not parents:
            break
        child = parents[0]["Id"]
        path.append(child)
        if parents[0]["Type"] == "ROOT":
            break
    return list(reversed(path))


def _documents(backend: Any, target: str, kind: str) -> list[Any]:
    """The documents of the ``kind`` policies attached to ``target`` (the root, an OU or an account)."""
    obj = next((o for o in backend.ou if o.id == target), None) or next(
        (a for a in backend.accounts if a.id == target), None)
    out = []
    for p in getattr(obj, "attached_policies", []):
        if p.type == kind:
            out.append(json.loads(p.content) if isinstance(p.content, str) else p.content)
    return out


def refusal(kind: str, account: str, action: str, resource: str, context: dict[str, Any]) -> str | None:
    """None when the organization's ``kind`` policies let the request through (or none apply);
    else AWS's reason: ``with an explicit deny in a service control policy`` or ``because no
    service control policy allows the <action> action``."""
    if kind == RCP and action.split(":", 1)[0].lower() not in _RCP_SERVICES:
        return None
    backend = _member_backend(account)
    if backend is None:
        return None
    allowed_everywhere = True
    for target in _levels(backend, account):
        verdict = iam_eval.evaluate(_documents(backend, target, kind), action, resource, context)
        if verdict == iam_eval.DENY:
            return f"with an explicit deny in a {WORDS[kind]}"
        if verdict != iam_eval.ALLOW:
            allowed_everywhere = False
    return None if allowed_everywhere else f"because no {WORDS[kind]} allows the {action} action"


def join(member: str, management: str, *, partition: str = "aws", ou: str | None = None,
         delegated_admin: bool = False) -> str:
    """Make ``member`` (an existing emulator account id) a member account of ``management``'s
    organization (created with all features when missing), optionally inside a new OU ``ou``;
    returns the id of the member's parent.  moto's CreateAccount picks a random id, so the
    account it creates is renamed to ``member`` (scenario setup only)."""
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[management][partition]
    if backend.org is None:
        backend.create_organization(region="us-east-1" if partition == "aws" else "us-gov-west-1", FeatureSet="ALL")
    backend.create_account(AccountName=f"member-{member}", Email=f"{member}@example.com")
    acct = backend.accounts[-1]
    organizations_backends.master_accounts.pop(acct.id, None)
    acct.id = member
    organizations_backends.master_accounts[member] = (management, partition)
    _joined.add(member)
    if delegated_admin:
        _delegated.add(member)
    assert backend.org is not None
    parent = backend.org.root_id
    if ou is not None:
        made = backend.create_organizational_unit(ParentId=parent, Name=ou)["OrganizationalUnit"]
        backend.move_account(AccountId=member, SourceParentId=parent, DestinationParentId=made["Id"])
        parent = made["Id"]
    return str(parent)


def attach(management: str, target: str, kind: str, name: str, document: dict[str, Any], *,
           partition: str = "aws") -> str:
    """Create the ``kind`` policy ``name`` in ``management``'s organization and attach it to ``target``."""
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[management][partition]
    assert backend.org is not None
    # AWS attaches a policy only once its type is enabled at the root (EnablePolicyType); ListRoots
    # then lists the type with Status ENABLED
    try:
        backend.enable_policy_type(RootId=backend.org.root_id, PolicyType=kind)
    except Exception:  # noqa: BLE001 -- already enabled
        pass
    pid = backend.create_policy(Name=name, Description=name, Type=kind, Content=json.dumps(document))["Policy"][
        "PolicySummary"]["Id"]
    backend.attach_policy(PolicyId=pid, TargetId=target)
    return str(pid)


def org_id_of(account: str | None) -> str | None:
    """The id of the organization ``account`` belongs to (management account or member), else None:
    ``aws:PrincipalOrgID`` is in the request context of every call by a principal of an account in an
    organization (IAM User Guide, "AWS global condition context keys": aws:PrincipalOrgID, "This key is
    included in the request context only if the principal is a member of an organization")."""
    if not account:
        return None
    from moto.organizations.models import organizations_backends

    got = organizations_backends.master_accounts.get(account)
    if got is None:
        return None
    org = getattr(organizations_backends[got[0]][got[1]], "org", None)
    return str(org.id) if org is not None else None
