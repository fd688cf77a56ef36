"""The audit phase's call timeline and its critical path (``scripts/bench --timeline FILE``).

The timeline is every AWS and HTTP call with its start and end relative to the first call, the thread
that made it, the audit frames that asked for it and the pytest row running then (``benchmarks/callstats.py``
records them under ``$BKA_TIMELINE``).

The critical path is the longest chain of calls that must run one after another because each needs
data the one before answered.  ``DEPENDS`` names, per operation, the operations whose answers it needs
(its alternatives: a kms:DescribeKey needs the key id from the secret *or* a trail *or* the logging
configuration).  A call's chain is one more than the longest chain of the latest call of a needed
operation that ended before it started: the instance a dependency means is resolved by the order of the
run, the kind of dependency by this table.  Two lengths come out:

* ``critical_path_calls``: the longest chain in calls; at ``L`` ms a call the audit phase cannot be
  shorter than ``critical_path_calls × L`` (the target is ≤ 1.5 × that);
* ``critical_path_observed_s``: the same chains with each call's measured duration, so what is left
  of the audit phase beyond it is time no data dependency explains (calls issued one after another,
  rows starting reads lazily, CPU between calls).

Dependencies are the data the request needs, not what the audit happens to do first: ListParents needs
the account id (sts:GetCallerIdentity), not DescribeOrganization; a trail bucket's Block Public Access
needs the bucket name (DescribeTrails), not its GetBucketLocation.
"""
from __future__ import annotations

import json
from typing import Any

# operation -> alternatives, each a set of operations whose answers it needs ("svc.Op" in the same
# partition; "svc.Op@any" in either).  An operation not listed needs only the configuration.
DEPENDS: dict[str, list[set[str]]] = {
    # the user's policies
    "iam.GetPolicy": [{"iam.ListAttachedUserPolicies"}, {"iam.ListAttachedGroupPolicies"},
                      {"iam.GetAccountAuthorizationDetails"}],
    "iam.GetPolicyVersion": [{"iam.GetPolicy"}],
    "iam.GetUserPolicy": [{"iam.ListUserPolicies"}],
    "iam.ListGroupPolicies": [{"iam.ListGroupsForUser"}],
    "iam.ListAttachedGroupPolicies": [{"iam.ListGroupsForUser"}],
    "iam.GetGroupPolicy": [{"iam.ListGroupPolicies"}],
    "iam.GetRole": [{"bedrock.GetModelInvocationLoggingConfiguration"}],
    # the secret's key, its policy and grants; a replica's DescribeSecret needs the primary's
    "kms.DescribeKey": [{"secretsmanager.DescribeSecret"}, {"cloudtrail.DescribeTrails"},
                        {"bedrock.GetModelInvocationLoggingConfiguration"}],
    "kms.GetKeyPolicy": [{"kms.DescribeKey"}],
    "kms.ListGrants": [{"kms.DescribeKey"}],
    "secretsmanager.DescribeSecret": [{"secretsmanager.DescribeSecret"}],
    # trails
    "cloudtrail.GetTrailStatus": [{"cloudtrail.DescribeTrails"}],
    "cloudtrail.GetEventSelectors": [{"cloudtrail.DescribeTrails"}],
    # key use: the enabled Regions (or, when unreadable, the secret's Region), then each Region's pages
    "cloudtrail.LookupEvents": [{"ec2.DescribeRegions"}, {"secretsmanager.GetSecretValue@any"}],
    # buckets: the trail's (DescribeTrails names it) and the invocation logs' (the logging configuration)
    "s3.GetBucketLocation": [{"cloudtrail.DescribeTrails"}, {"bedrock.GetModelInvocationLoggingConfiguration"},
                             {"s3.GetBucketLogging"}],
    "s3.GetPublicAccessBlock": [{"cloudtrail.DescribeTrails"}, {"bedrock.GetModelInvocationLoggingConfiguration"}],
    "s3.GetBucketLogging": [{"cloudtrail.DescribeTrails"}],
    "s3.GetBucketEncryption": [{"bedrock.GetModelInvocationLoggingConfiguration", "s3.ListBuckets"}],
    "s3.GetBucketPolicy": [{"bedrock.GetModelInvocationLoggingConfiguration", "s3.ListBuckets"}],
    "s3control.GetPublicAccessBlock": [{"s3.ListBuckets", "sts.GetCallerIdentity"}],
    "logs.DescribeLogGroups": [{"bedrock.GetModelInvocationLoggingConfiguration"}],
    # the organization's policies: the account's parents up to the root, each level's policies, each policy
    "organizations.ListParents": [{"organizations.ListParents"}, {"sts.GetCallerIdentity"}],
    "organizations.ListPoliciesForTarget": [{"organizations.ListParents"}],
    "organizations.DescribePolicy": [{"organizations.ListPoliciesForTarget"}],
    # the endpoint probes need the key (and the Region) the secret holds
    "http": [{"secretsmanager.GetSecretValue@any"}],
}


# Operations whose alternatives are in order of preference: the first one an earlier call satisfies is the
# dependency (a ListParents after another one climbs from the parent it found; the first one starts from
# the account id).  For the others the shortest satisfied alternative counts, so the critical path is a
# lower bound where a call could have had either of two sources.
PREFER_FIRST = {"organizations.ListParents", "secretsmanager.DescribeSecret"}


def _op(c: dict[str, Any]) -> str:
    return "http" if c["kind"] == "http" else f"{c['service']}.{c['operation']}"


def analyse(calls: list[dict[str, Any]], latency_ms: float) -> dict[str, Any]:
    """The timeline of ``calls`` (the call log's dicts) and its critical path; see the module docstring."""
    if not calls:
        return {"calls": [], "critical_path_calls": 0}
    cs = sorted(calls, key=lambda c: c["started"])
    t0 = cs[0]["started"]
    rows: list[dict[str, Any]] = []
    for c in cs:
        start = c["started"] - t0
        rows.append({"start": round(start, 3), "end": round(start + c["duration_ms"] / 1000, 3),
                     "kind": c["kind"], "op": _op(c), "partition": c["partition"], "region": c["region"],
                     "outcome": c["outcome"], "thread": c.get("thread", ""), "item": c.get("item", ""),
                     "site": c.get("site", [])})
    depth: list[int] = []
    finish: list[float] = []  # earliest end under the dependencies with measured durations
    prev: list[int | None] = []
    for i, r in enumerate(rows):
        best: tuple[int, float, int | None] = (0, 0.0, None)
        alternatives = DEPENDS.get(r["op"], [])
        options: list[tuple[int, float, int | None]] = []
        for needs in alternatives:
            chain: tuple[int, float, int | None] = (0, 0.0, None)
            ok = True
            for need in needs:
                name, _, scope = need.partition("@")
                cands = [j for j in range(i) if rows[j]["op"] == name and rows[j]["end"] <= r["start"] + 0.002
                         and (scope == "any" or rows[j]["partition"] == r["partition"])]
                if not cands:
                    ok = False
                    break
                j = max(cands, key=lambda k: rows[k]["end"])
                if (depth[j], finish[j]) > chain[:2]:
                    chain = (depth[j], finish[j], j)
            if ok:
                options.append(chain)
        if options:
            best = options[0] if r["op"] in PREFER_FIRST else min(options, key=lambda o: (o[0], o[1]))
        depth.append(best[0] + 1)
        finish.append(best[1] + (r["end"] - r["start"]))
        prev.append(best[2])
        r["chain"] = depth[-1]
    last = max(range(len(rows)), key=lambda k: (depth[k], finish[k]))
    path: list[str] = []
    k: int | None = last
    while k is not None:
        path.append(f"{rows[k]['op']} ({rows[k]['partition']}, {rows[k]['region']})")
        k = prev[k]
    phase = max(r["end"] for r in rows)
    cp_calls = depth[last]
    return {
        "audit_phase_s": round(phase, 3),
        "critical_path_calls": cp_calls,
        "critical_path": list(reversed(path)),
        "critical_path_nominal_s": round(cp_calls * latency_ms / 1000, 3),
        "critical_path_observed_s": round(max(finish), 3),
        "ratio_nominal": round(phase / (cp_calls * latency_ms / 1000), 2) if latency_ms else None,
        "ratio_observed": round(phase / max(finish), 2) if max(finish) else None,
        "threads": len({r["thread"] for r in rows}),
        "calls": rows,
    }


def cpu_in_phase(samples: list[list[float]], start: float, end: float) -> float | None:
    """Process CPU seconds between wall times ``start`` and ``end``, from (wall, cpu) samples."""
    inside = [s for s in samples if start <= s[0] <= end]
    before = [s for s in samples if s[0] < start]
    after = [s for s in samples if s[0] > end]
    lo = before[-1] if before else (inside[0] if inside else None)
    hi = after[0] if after else (inside[-1] if inside else None)
    if lo is None or hi is None:
        return None
    return round(hi[1] - lo[1], 3)


def from_stats(stats: dict[str, Any], latency_ms: float) -> dict[str, Any]:
    """The timeline of one callstats file (``benchmarks/callstats.py``), with the process CPU time."""
    calls = stats["calls"]
    out = analyse(calls, latency_ms)
    if calls:
        first = min(c["started"] for c in calls)
        last = max(c["started"] + c["duration_ms"] / 1000 for c in calls)
        cpu = cpu_in_phase(stats.get("cpu_samples") or [], first, last)
        out["cpu_in_phase_s"] = cpu
        out["cpu_share_of_phase"] = round(cpu / (last - first), 2) if cpu is not None and last > first else None
    out["cpu_total_s"] = stats.get("cpu_total_s")
    return out


def print_timeline(tl: dict[str, Any]) -> None:
    for r in tl["calls"]:
        where = " < ".join(r["site"][1:4]) if r["site"] else ""
        row = r["item"].split("::")[-1] if r["item"] else "(prefetch before the first row)"
        print(f"{r['start']:7.3f} {r['end']:7.3f} [{r['chain']}] {r['thread'][:14]:14} {r['partition'][:4]} "
              f"{r['region']:14} {r['op'][:48]:48} {r['outcome'][:12]:12} {row[:40]:40} {where}")
    print("critical path: " + " -> ".join(tl["critical_path"]))
    keys = ("audit_phase_s", "critical_path_calls", "critical_path_nominal_s", "critical_path_observed_s",
            "ratio_nominal", "ratio_observed", "cpu_in_phase_s", "cpu_share_of_phase", "cpu_total_s", "threads")
    print(json.dumps({k: tl.get(k) for k in keys}))
