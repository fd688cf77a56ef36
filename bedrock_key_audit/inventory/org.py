"""Read the SCPs and RCPs that apply to one account (judged by :mod:`bedrock_key_audit.org_policies`).

* ``organizations:DescribeOrganization`` with the audited account's own credentials (any account
  of an organization may call it): ``AWSOrganizationsNotInUseException`` means the account is in
  no organization; otherwise it names the management account.
* From the management account or a delegated administrator (``[organization] policies_profile``,
  else ``[organization] profile``, else the audited account's own credentials):
  ``organizations:ListParents`` from the account up to the root, then at each level (root, each
  OU, the account) ``organizations:ListPoliciesForTarget`` for ``SERVICE_CONTROL_POLICY`` and
  ``RESOURCE_CONTROL_POLICY``, and ``organizations:DescribePolicy`` of each policy, concurrently.
  A policy type that is not enabled in the organization (``PolicyTypeNotEnabledException``)
  contributes no policy at that level -- for RCPs that is AWS's own behaviour (no RCP applies),
  for SCPs it means SCPs are off ("Enabling a policy type").
AWS: "ListParents", "ListPoliciesForTarget", "DescribePolicy", "DescribeOrganization" in the
AWS Organizations API Reference (https://docs.aws.amazon.com/organizations/latest/APIReference/).

When the policies cannot be read the read raises :class:`CouldNotDecide` with the one sentence
"SCPs/RCPs not read: ..." naming what to grant or ``--org-policies``; nothing assumes "no SCPs".
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.org_policies import NOT_READ_HINT, RCP, SCP, Level, OrgPolicies, OrgPolicy
from bedrock_key_audit.permissions import ORGANIZATION_POLICIES, Read, reads

Call = Callable[..., dict[str, Any]]


def _code(exc: BaseException) -> str:
    if isinstance(getattr(exc, "code", None), str):
        return str(exc.code)  # type: ignore[attr-defined]
    resp = getattr(exc, "response", None) or {}
    return str(resp.get("Error", {}).get("Code") or type(exc).__name__)


def _pages(call: Call, operation: str, key: str, **params: Any) -> list[Any]:
    out: list[Any] = []
    while True:
        resp = call(operation, **params)
        out.extend(resp.get(key, []))
        token = resp.get("NextToken")
        if not token:
            return out
        params = {**params, "NextToken": token}


@reads(Read("organizations:DescribeOrganization", ORGANIZATION_POLICIES),
    Read("organizations:ListParents", ORGANIZATION_POLICIES),
    Read("organizations:ListPoliciesForTarget", ORGANIZATION_POLICIES),
    Read("organizations:DescribePolicy", ORGANIZATION_POLICIES))
def read(own: Call, admin: Call, account: str,
         fanout: Callable[[list[Callable[[], Any]]], list[Any]] | None = None) -> OrgPolicies:
    """The account's SCPs/RCPs.  ``own(operation, **params)`` calls Organizations as the audited
    account, ``admin`` as the management account or delegated administrator; both raise botocore's
    ClientError (or any exception) on failure."""
    try:
        org = own("DescribeOrganization").get("Organization", {})
    except Exception as exc:  # noqa: BLE001 -- classified below; anything else is "not read"
        code = _code(exc)
        if code == "AWSOrganizationsNotInUseException":
            return OrgPolicies(account, False)
        raise CouldNotDecide(f"SCPs/RCPs not read: organizations:DescribeOrganization as account {account} "
                             f"answered {code}; {NOT_READ_HINT}") from None
    mgmt = org.get("MasterAccountId")
    try:
        path: list[tuple[str, str]] = [(account, "ACCOUNT")]
        child = account
        while True:
            parents = _pages(admin, "ListParents", "Parents", ChildId=child)
            if not parents:
                break
            child, kind = parents[0]["Id"], parents[0]["Type"]
            path.append((child, kind))
            if kind == "ROOT":
                break
        path.reverse()

        def summaries_of(target: str, ptype: str) -> list[dict[str, Any]]:
            try:
                got: list[dict[str, Any]] = _pages(admin, "ListPoliciesForTarget", "Policies", TargetId=target, Filter=ptype)
                return got
            except Exception as exc:
                if _code(exc) == "PolicyTypeNotEnabledException":
                    return []
                raise

        run = fanout if fanout is not None else (lambda fns: [f() for f in fns])
        jobs = [(t, ptype) for t, _ in path for ptype in (SCP, RCP)]
        def job(target: str, ptype: str) -> Callable[[], list[dict[str, Any]]]:
            return lambda: summaries_of(target, ptype)
        listed = dict(zip(jobs, run([job(*j) for j in jobs]), strict=True))
        # A policy attached at several levels (FullAWSAccess at the root, an OU and the account) is
        # described once; every policy side by side.
        ids = sorted({str(s["Id"]) for summaries in listed.values() for s in summaries})
        def describe(pid: str) -> Callable[[], dict[str, Any]]:
            return lambda: admin("DescribePolicy", PolicyId=pid).get("Policy", {})
        described = dict(zip(ids, run([describe(i) for i in ids]), strict=True))

        def policies(target: str, ptype: str) -> tuple[OrgPolicy, ...]:
            out = []
            for s in listed[(target, ptype)]:
                pol = described[str(s["Id"])]
                summary = pol.get("PolicySummary", s)
                out.append(OrgPolicy(summary.get("Id", s["Id"]), summary.get("Name", s["Id"]), ptype, pol.get("Content")))
            return tuple(out)

        found = {j: policies(*j) for j in jobs}
        levels = tuple(Level(t, kind, found[(t, SCP)], found[(t, RCP)]) for t, kind in path)
    except CouldNotDecide:
        raise
    except Exception as exc:  # noqa: BLE001 -- one sentence, the row ends error
        raise CouldNotDecide(f"SCPs/RCPs not read: Organizations answered {_code(exc)} for account {account}; "
                             f"{NOT_READ_HINT}") from None
    return OrgPolicies(account, True, mgmt, levels, organization_id=org.get("Id"))
