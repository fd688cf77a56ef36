"""Read the SCPs and RCPs that apply to one account (judged by :mod:`bedrock_key_audit.org_policies`).

* ``organizations:DescribeOrganization`` with the audited account's own credentials (any account
  of an organization may call it): ``AWSOrganizationsNotInUseException`` means the account is in
  no organization; otherwise it names the management account.
* From the management account or a delegated administrator (``[organization] policies_profile``,
  else ``[organization] profile``, else the audited account's own credentials):
  ``organizations:ListParents`` from the account up to the root, then at each level (root, each
  OU, the account) ``organizations:ListPoliciesForTarget`` for ``SERVICE_CONTROL_POLICY`` and
  ``RESOURCE_CONTROL_POLICY``, and ``organizations:DescribePolicy`` of each policy, concurrently.
  The reads follow the data each needs, not each other: the first ``ListParents`` runs beside
  ``DescribeOrganization`` (it needs only the account id; its answer is dropped when the account is in
  no organization); a level's two listings start once ``DescribeOrganization`` has answered and the
  level is known; a policy is described as soon as a listing names it (once, however many levels).
  A policy type that is not enabled in the organization (``PolicyTypeNotEnabledException``)
  contributes no policy at that level -- for RCPs that is AWS's own behaviour (no RCP applies),
  for SCPs it means SCPs are off ("Enabling a policy type").
AWS: "ListParents", "ListPoliciesForTarget", "DescribePolicy", "DescribeOrganization" in the
AWS Organizations API Reference (https://docs.aws.amazon.com/organizations/latest/APIReference/).

When the policies cannot be read the read raises :class:`CouldNotDecide` with the one sentence
"SCPs/RCPs not read: ..." naming what to grant or ``--org-policies``; nothing assumes "no SCPs".
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.org_policies import NOT_READ_HINT, RCP, SCP, Level, OrgPolicies, OrgPolicy
from bedrock_key_audit.permissions import ORGANIZATION_POLICIES, Read, reads

Call = Callable[..., dict[str, Any]]
T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")
# start(fn) -> a getter of fn's result: fn runs meanwhile (the inventory's pool) or when asked (none)
Start = Callable[[Callable[[], Any]], Callable[[], Any]]


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
def read(own: Call, admin: Call, account: str, start: Start | None = None) -> OrgPolicies:
    """The account's SCPs/RCPs.  ``own(operation, **params)`` calls Organizations as the audited
    account, ``admin`` as the management account or delegated administrator; both raise botocore's
    ClientError (or any exception) on failure.  ``start(fn)`` starts ``fn`` and returns a getter of its
    result (the inventory's thread pool: :meth:`Gatherer.start`); without it every read runs when asked."""
    begin: Start = start if start is not None else _when_asked
    # reads started on a pool are waited for before the read returns or raises; reads made when asked are not
    # made at all when their answer is not needed
    drop = _drop if start is not None else (lambda getter: None)
    drop_all = _drop_all if start is not None else (lambda *_: None)
    org_answer = begin(lambda: own("DescribeOrganization").get("Organization", {}))
    first_parents = begin(lambda: _pages(admin, "ListParents", "Parents", ChildId=account))
    try:
        org = org_answer()
    except Exception as exc:  # noqa: BLE001 -- classified below; anything else is "not read"
        drop(first_parents)
        code = _code(exc)
        if code == "AWSOrganizationsNotInUseException":
            return OrgPolicies(account, False)
        raise CouldNotDecide(f"SCPs/RCPs not read: organizations:DescribeOrganization as account {account} "
                             f"answered {code}; {NOT_READ_HINT}") from None
    mgmt = org.get("MasterAccountId")
    lock = threading.Lock()
    described: dict[str, Callable[[], dict[str, Any]]] = {}

    def describe(pid: str) -> None:
        with lock:
            if pid not in described:
                described[pid] = begin(lambda: admin("DescribePolicy", PolicyId=pid).get("Policy", {}))

    def summaries_of(target: str, ptype: str) -> list[dict[str, Any]]:
        try:
            got: list[dict[str, Any]] = _pages(admin, "ListPoliciesForTarget", "Policies", TargetId=target, Filter=ptype)
        except Exception as exc:
            if _code(exc) == "PolicyTypeNotEnabledException":
                return []
            raise
        for s in got:  # a policy attached at several levels (FullAWSAccess at the root, an OU, the account): once
            describe(str(s["Id"]))
        return got

    listed: dict[tuple[str, str], Callable[[], list[dict[str, Any]]]] = {}

    def list_level(target: str) -> None:
        for ptype in (SCP, RCP):
            listed[(target, ptype)] = begin(lambda t=target, p=ptype: summaries_of(t, p))  # type: ignore[misc]

    try:
        path: list[tuple[str, str]] = [(account, "ACCOUNT")]
        list_level(account)
        parents = first_parents()
        while parents:
            child, kind = parents[0]["Id"], parents[0]["Type"]
            path.append((child, kind))
            list_level(child)
            if kind == "ROOT":
                break
            parents = _pages(admin, "ListParents", "Parents", ChildId=child)
        path.reverse()
        jobs = [(t, ptype) for t, _ in path for ptype in (SCP, RCP)]
        found_lists = _all({j: listed[j] for j in jobs})
        with lock:
            pending = dict(described)
        found_docs = _all(pending)

        def policies(target: str, ptype: str) -> tuple[OrgPolicy, ...]:
            out = []
            for s in found_lists[(target, ptype)]:
                pol = found_docs[str(s["Id"])]
                summary = pol.get("PolicySummary", s)
                out.append(OrgPolicy(summary.get("Id", s["Id"]), summary.get("Name", s["Id"]), ptype, pol.get("Content")))
            return tuple(out)

        found = {j: policies(*j) for j in jobs}
        levels = tuple(Level(t, kind, found[(t, SCP)], found[(t, RCP)]) for t, kind in path)
    except CouldNotDecide:
        drop_all(listed, described, lock)
        raise
    except Exception as exc:  # noqa: BLE001 -- one sentence, the row ends error
        drop_all(listed, described, lock)
        raise CouldNotDecide(f"SCPs/RCPs not read: Organizations answered {_code(exc)} for account {account}; "
                             f"{NOT_READ_HINT}") from None
    return OrgPolicies(account, True, mgmt, levels, organization_id=org.get("Id"))


def _when_asked(fn: Callable[[], T]) -> Callable[[], T]:
    """No pool: the read is made when its result is asked for (once)."""
    done: list[T] = []

    def result() -> T:
        if not done:
            done.append(fn())
        return done[0]
    return result


def _drop(getter: Callable[[], Any]) -> None:
    """Wait for a started read whose answer is not used (its error too), so no read outlives this one."""
    try:
        getter()
    except Exception:  # noqa: BLE001 -- the answer (or error) is not used
        pass


def _drop_all(listed: dict[Any, Callable[[], Any]], described: dict[str, Callable[[], Any]], lock: threading.Lock) -> None:
    for getter in list(listed.values()):
        _drop(getter)
    with lock:
        left = list(described.values())
    for getter in left:
        _drop(getter)


def _all(getters: dict[K, Callable[[], V]]) -> dict[K, V]:
    """Every getter's result; the first error (in order) raised once all have finished."""
    out: dict[K, V] = {}
    first: BaseException | None = None
    for key, getter in getters.items():
        try:
            out[key] = getter()
        except Exception as exc:  # noqa: BLE001 -- re-raised below, after every read has finished
            first = first or exc
    if first is not None:
        raise first
    return out
