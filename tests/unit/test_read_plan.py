"""The single-key audit's reads: no read repeated, independent reads side by side, and the bench's critical
path over a call timeline (hand-built data; no emulator)."""
from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest

from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.inventory import org as org_reads
from bedrock_key_audit.inventory import traces as trace_reads
from bedrock_key_audit.inventory.gather import Gatherer
from bedrock_key_audit.org_policies import RCP, SCP

from benchmarks.timeline import analyse

ACCOUNT = "111122223333"
FULL = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'


def _organizations(calls: Counter[str]) -> Any:
    """Organizations as the admin sees it: the account in an OU under the root; FullAWSAccess and
    RCPFullAWSAccess at every level, and one more SCP on the OU."""
    parents = {ACCOUNT: ("ou-1", "ORGANIZATIONAL_UNIT"), "ou-1": ("r-1", "ROOT")}
    attached = {(t, SCP): ["p-full"] + (["p-guard"] if t == "ou-1" else []) for t in (ACCOUNT, "ou-1", "r-1")}
    attached |= {(t, RCP): ["p-rfull"] for t in (ACCOUNT, "ou-1", "r-1")}

    def call(operation: str, **params: Any) -> dict[str, Any]:
        calls[operation] += 1
        if operation == "DescribeOrganization":
            return {"Organization": {"MasterAccountId": "999988887777"}}
        if operation == "ListParents":
            got = parents.get(params["ChildId"])
            return {"Parents": [{"Id": got[0], "Type": got[1]}] if got else []}
        if operation == "ListPoliciesForTarget":
            return {"Policies": [{"Id": p, "Name": p} for p in attached[(params["TargetId"], params["Filter"])]]}
        if operation == "DescribePolicy":
            return {"Policy": {"PolicySummary": {"Id": params["PolicyId"], "Name": params["PolicyId"].upper()},
                               "Content": FULL}}
        raise AssertionError(operation)
    return call


def test_a_policy_attached_at_several_levels_is_described_once_and_still_applies_at_each() -> None:
    calls: Counter[str] = Counter()
    call = _organizations(calls)
    g = Gatherer(workers=4)
    got = org_reads.read(call, call, ACCOUNT, start=g.start)
    assert [(lv.target, lv.type) for lv in got.levels] == [("r-1", "ROOT"), ("ou-1", "ORGANIZATIONAL_UNIT"),
                                                          (ACCOUNT, "ACCOUNT")]
    assert [[p.name for p in lv.scps] for lv in got.levels] == [["P-FULL"], ["P-FULL", "P-GUARD"], ["P-FULL"]]
    assert [[p.name for p in lv.rcps] for lv in got.levels] == [["P-RFULL"]] * 3
    assert calls == Counter({"DescribeOrganization": 1, "ListParents": 2, "ListPoliciesForTarget": 6,
                             "DescribePolicy": 3})


def _rounds(spans: list[tuple[float, float]]) -> int:
    """The longest chain of calls each started after the one before ended (calls side by side: one round)."""
    depth: dict[tuple[float, float], int] = {}
    for span in sorted(spans):
        depth[span] = 1 + max((d for other, d in depth.items() if other[1] <= span[0]), default=0)
    return max(depth.values(), default=0)


class _Timed:
    """Calls that sleep ``delay`` and record when each ran, to count the rounds of a read."""

    def __init__(self, call: Any, delay: float = 0.1) -> None:
        self.call, self.delay, self._lock = call, delay, threading.Lock()
        self.spans: list[tuple[float, float]] = []

    def __call__(self, operation: str, **params: Any) -> dict[str, Any]:
        start = time.perf_counter()
        time.sleep(self.delay)
        try:
            got: dict[str, Any] = self.call(operation, **params)
            return got
        finally:
            with self._lock:
                self.spans.append((start, time.perf_counter()))

    def rounds(self) -> int:
        return _rounds(self.spans)


def test_the_organization_read_follows_the_data_each_call_needs() -> None:
    """DescribeOrganization and the first ListParents side by side (both need only the account id); a level's
    listings once the level is known; a policy described once a listing names it: 3 rounds for an account in
    an OU under the root, where one after another they took 5."""
    calls: Counter[str] = Counter()
    timed = _Timed(_organizations(calls))
    got = org_reads.read(timed, timed, ACCOUNT, start=Gatherer(workers=16).start)
    assert [[p.name for p in lv.scps] for lv in got.levels] == [["P-FULL"], ["P-FULL", "P-GUARD"], ["P-FULL"]]
    assert calls == Counter({"DescribeOrganization": 1, "ListParents": 2, "ListPoliciesForTarget": 6,
                             "DescribePolicy": 3})
    assert timed.rounds() == 3, sorted(timed.spans)


def _failing(codes: dict[str, str], calls: Counter[str]) -> Any:
    from botocore.exceptions import ClientError

    inner = _organizations(calls)

    def call(operation: str, **params: Any) -> dict[str, Any]:
        if operation in codes:
            calls[operation] += 1
            raise ClientError({"Error": {"Code": codes[operation], "Message": "m"}}, operation)
        return inner(operation, **params)
    return call


def test_an_account_in_no_organization_is_answered_by_describe_organization_whatever_list_parents_says() -> None:
    calls: Counter[str] = Counter()
    call = _failing({"DescribeOrganization": "AWSOrganizationsNotInUseException",
                     "ListParents": "AccountNotFoundException"}, calls)
    got = org_reads.read(call, call, ACCOUNT, start=Gatherer(workers=4).start)
    assert (got.in_organization, got.levels) == (False, ())
    # the first ListParents was asked beside DescribeOrganization and dropped; nothing was listed
    assert calls == Counter({"DescribeOrganization": 1, "ListParents": 1})


def test_describe_organization_failing_is_the_sentence_even_when_list_parents_fails_too() -> None:
    for parents in ("AccessDeniedException", None):
        codes = {"DescribeOrganization": "AccessDeniedException"} | ({"ListParents": parents} if parents else {})
        calls: Counter[str] = Counter()
        call = _failing(codes, calls)
        with pytest.raises(CouldNotDecide) as err:
            org_reads.read(call, call, ACCOUNT, start=Gatherer(workers=4).start)
        assert "organizations:DescribeOrganization" in str(err.value) and "AccessDeniedException" in str(err.value)
        assert calls["ListPoliciesForTarget"] == calls["DescribePolicy"] == 0


def test_a_listing_failing_after_the_walk_is_one_sentence_and_no_read_outlives_the_organization_read() -> None:
    calls: Counter[str] = Counter()
    call = _failing({"ListPoliciesForTarget": "TooManyRequestsException"}, calls)
    with pytest.raises(CouldNotDecide) as err:
        org_reads.read(call, call, ACCOUNT, start=Gatherer(workers=4).start)
    assert "Organizations answered TooManyRequestsException" in str(err.value)
    assert calls["ListPoliciesForTarget"] == 6  # every started listing finished before the read raised


class _Inventory:
    """What bedrock_key_audit.inventory.traces needs of the inventory: ``_read``, ``_paginated``, ``identity``,
    ``g``; every call sleeps, so reads issued one after another show in the elapsed time."""

    def __init__(self, delay: float) -> None:
        self.g = Gatherer(workers=8)
        self.calls: Counter[str] = Counter()
        self.delay = delay
        self._lock = threading.Lock()
        self.spans: list[tuple[float, float]] = []

    def identity(self, partition: str) -> dict[str, Any]:
        return {"Account": ACCOUNT}

    def _count(self, what: str) -> None:
        with self._lock:
            self.calls[what] += 1
        start = time.perf_counter()
        time.sleep(self.delay)
        with self._lock:
            self.spans.append((start, time.perf_counter()))

    def rounds(self) -> int:
        return _rounds(self.spans)

    def _read(self, partition: str, service: str, operation: str, *, region: str | None = None,
              expected: Any = (), via: Any = None, **params: Any) -> dict[str, Any] | None:
        self._count(f"{service}.{operation}:{params.get('Bucket', '')}")
        if operation == "GetBucketLocation":
            return {"LocationConstraint": "us-west-2" if params["Bucket"] == "access-logs" else None}
        if service == "s3control":
            return None  # NoSuchPublicAccessBlockConfiguration: nothing set at account level
        if operation == "GetPublicAccessBlock":
            return {"PublicAccessBlockConfiguration": {"BlockPublicAcls": True}}
        if operation == "GetBucketLogging":
            return {"LoggingEnabled": {"TargetBucket": "access-logs", "TargetPrefix": "trail/"}}
        raise AssertionError(operation)

    def _paginated(self, partition: str, service: str, operation: str, result_key: str, **_: Any) -> list[Any]:
        self._count(f"{service}.{operation}")
        return [{"Name": "trail-bucket"}, {"Name": "access-logs"}]


def test_bucket_protection_reads_each_location_once_and_its_independent_reads_side_by_side() -> None:
    inv = _Inventory(delay=0.1)
    t0 = time.perf_counter()
    prot = trace_reads.bucket_protection(inv, "commercial", "trail-bucket", "us-east-1")
    elapsed = time.perf_counter() - t0
    assert (prot.missing, prot.foreign, prot.bucket_pab, prot.account_pab) == (False, False, {"BlockPublicAcls": True}, {})
    assert (prot.target_exists, prot.target_owned) == (True, True)
    assert (prot.bucket_region, prot.target_region) == ("us-east-1", "us-west-2")
    assert inv.calls == Counter({"s3.GetBucketLocation:trail-bucket": 1, "s3.ListBuckets": 1,
                                 "s3.GetPublicAccessBlock:trail-bucket": 1, "s3.GetBucketLogging:trail-bucket": 1,
                                 "s3control.GetPublicAccessBlock:": 1, "s3.GetBucketLocation:access-logs": 1})
    # two rounds (existence, ListBuckets, Block Public Access, logging side by side; then the account's
    # settings and the target's Region), not six calls in a row
    assert inv.rounds() == 2, inv.spans
    assert elapsed < 5 * 0.1, elapsed
    # a later ask for the bucket's Region is the existence read's answer, not another call
    assert trace_reads.bucket_region(inv, "commercial", "trail-bucket", "us-east-1") == "us-east-1"
    assert inv.calls["s3.GetBucketLocation:trail-bucket"] == 1


def _call(service: str, operation: str, start: float, end: float, partition: str = "commercial") -> dict[str, Any]:
    return {"kind": "aws", "service": service, "operation": operation, "partition": partition, "region": "r",
            "outcome": "ok", "started": 1000.0 + start, "duration_ms": (end - start) * 1000}


def test_critical_path_follows_data_dependencies_not_the_order_calls_were_made_in() -> None:
    calls = [
        _call("sts", "GetCallerIdentity", 0.0, 0.1),
        _call("organizations", "DescribeOrganization", 0.1, 0.2),
        _call("organizations", "ListParents", 0.2, 0.3),
        _call("organizations", "ListParents", 0.3, 0.4),
        _call("organizations", "ListPoliciesForTarget", 0.4, 0.5),
        _call("organizations", "DescribePolicy", 0.5, 0.6),
        # independent reads made one after another: a serialisation, not a dependency
        _call("iam", "GetUser", 0.6, 0.7),
        _call("iam", "ListAccessKeys", 0.7, 0.8),
        _call("secretsmanager", "DescribeSecret", 0.8, 0.9, "govcloud"),
        _call("kms", "DescribeKey", 0.9, 1.0, "govcloud"),
        _call("kms", "GetKeyPolicy", 1.0, 1.1, "govcloud"),
    ]
    tl = analyse(calls, latency_ms=100)
    assert tl["critical_path_calls"] == 5
    assert [p.split(" ")[0] for p in tl["critical_path"]] == [
        "sts.GetCallerIdentity", "organizations.ListParents", "organizations.ListParents",
        "organizations.ListPoliciesForTarget", "organizations.DescribePolicy"]
    assert {r["op"]: r["chain"] for r in tl["calls"]}["kms.GetKeyPolicy"] == 3
    assert tl["audit_phase_s"] == 1.1 and tl["critical_path_observed_s"] == 0.5
    assert tl["ratio_nominal"] == 2.2


def test_without_a_pool_an_account_in_no_organization_makes_one_call() -> None:
    calls: Counter[str] = Counter()
    call = _failing({"DescribeOrganization": "AWSOrganizationsNotInUseException"}, calls)
    assert org_reads.read(call, call, ACCOUNT).in_organization is False
    assert calls == Counter({"DescribeOrganization": 1})
