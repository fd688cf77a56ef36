"""Benchmark: the audit against the standalone emulator with real-AWS-like latency.

    scripts/bench                     # = python -m benchmarks.run --latency-ms 100 --fleet 10,100,1000

What it measures, for one single-key audit (scenario ``compliant``) and for fleet audits
(``--all-keys``) of N keyed users:

* wall time of the whole pytest process, and of the audit phase (first AWS call → last call end);
* AWS calls and HTTP (Bedrock) calls made, from the audit's own call log;
* the critical path (from the call log: ``benchmarks/timeline.py``) and ``audit phase ÷ (critical path ×
  latency)`` (target ≤ 1.5); with ``--timeline FILE`` the call timeline and the process CPU time;
* peak RSS of the pytest process (target < 300 MB at 1,000 users).

The minimum the checks need, call by call (single key, scenario ``compliant``: one attached
customer-managed policy, no inline or group policies, one trail per partition, a CMK):

    commercial IAM  GetUser, ListAttachedUserPolicies, ListUserPolicies, ListGroupsForUser,
                    GetPolicy, GetPolicyVersion (per attached policy: 1), GetLoginProfile,
                    ListAccessKeys, ListSigningCertificates, ListSSHPublicKeys,
                    ListServiceSpecificCredentials (Bedrock; and unfiltered, for the
                    other services' credentials)                                       = 12
    govcloud SM     DescribeSecret, GetSecretValue                                     =  2
    govcloud KMS    DescribeKey (the secret's key: customer-managed and Enabled)       =  1
    CloudTrail      per partition DescribeTrails, GetTrailStatus, GetEventSelectors,
                    and KMS DescribeKey of the trail's key (Enabled)                   =  8
    STS             GetCallerIdentity per partition (run metadata for the reports)     =  2
    access checks   GetAccountAuthorizationDetails per partition (one page each),
                    GetResourcePolicy of the secret, GetKeyPolicy and ListGrants of
                    its key (AWS managed policies attached anywhere: GetPolicy and
                    GetPolicyVersion each; none in ``compliant``)                     =  5
    traces checks   bedrock GetModelInvocationLoggingConfiguration, S3 ListBuckets
                    (the log bucket is the account's); per partition the trail
                    bucket's GetPublicAccessBlock, S3 Control GetPublicAccessBlock
                    (account level), GetBucketLogging and GetBucketLocation            = 10

    CloudTrail      LookupEvents of the key's user in the secret's region (= the
                    configured commercial region; one page)                            =  1
                                                                            AWS total  = 41
    Bedrock HTTP    GET /foundation-models, POST /model/{id}/converse, and (Mantle
                    unused: endpoint.unused_surfaces_closed) Mantle's GET /v1/models   =  3

Since then the single-key audit also reads the organization's SCPs/RCPs in both partitions
(DescribeOrganization, ListParents up to the root, ListPoliciesForTarget per level and type, DescribePolicy
once per policy), the key user's history in every enabled Region where Bedrock is offered
(ec2 DescribeRegions, then LookupEvents in each: 17 in the emulator), the secret's replicas, the invocation
logs' destinations and the delivery role: 91 AWS calls in scenario ``compliant`` (2026-12-07).

Critical path (longest chain of calls that depend on each other, derived from each run's call log by
``benchmarks/timeline.py``): sts GetCallerIdentity (the account id) → ListParents → ListParents (the
account's OU, then the root) → ListPoliciesForTarget → DescribePolicy = 5 calls.  The others: the user's
policies (ListAttachedUserPolicies → GetPolicy → GetPolicyVersion) and the secret's key
(DescribeSecret → DescribeKey → GetKeyPolicy / ListGrants) = 3, key use (DescribeRegions → LookupEvents)
= 2.  ``--timeline FILE`` prints every call with its thread and start/end and writes them to FILE.
Fleet mode adds one ListServiceSpecificCredentials(AllUsers) before the per-user reads.

Fleet mode (``--all-keys``) per account: 3 calls per keyed user (ListAccessKeys,
ListSigningCertificates, ListSSHPublicKeys) plus the account-wide reads, each made once:
GetAccountAuthorizationDetails per partition (one page per 1,000 entries; the bulk IAM reads and the
access checks share it), GenerateCredentialReport + GetCredentialReport,
ListServiceSpecificCredentials(AllUsers) twice (Bedrock only, and every service), one LookupEvents
(EventSource bedrock.amazonaws.com) per usage region (one page per 50 Bedrock events), and the
single-key audit's secret, trail, traces and access reads.  Measured at 0 ms (2026-11-30,
``--fleet 100``): 333 AWS calls = 3.33 per key (was 434 = 4.34: LookupEvents was per user).
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIN_AWS_CALLS = 41
MIN_HTTP_CALLS = 3
CRITICAL_PATH = 5  # when a run's call log yields none (see benchmarks/timeline.py)


def start_emulator(scenario: str, latency_ms: int) -> tuple[subprocess.Popen, str]:
    # --warm: moto's lazy first request of a service (seconds for EC2) is paid before the audit starts
    proc = subprocess.Popen([sys.executable, "-m", "bedrock_key_audit.emulator", "--scenario", scenario,
                             "--latency-ms", str(latency_ms), "--warm"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1"):
        proc.kill()
        raise SystemExit(f"emulator did not start: {url!r}")
    return proc, url


def env_for(url: str) -> dict[str, str]:
    empty = tempfile.NamedTemporaryFile(prefix="bench-aws-", delete=False).name
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ENDPOINT_URL": url, "AWS_ENDPOINT_URL_BEDROCK": url, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": url,
        "AWS_ACCESS_KEY_ID": "AKIABENCHMARK0000000", "AWS_SECRET_ACCESS_KEY": "benchmark",
        "AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty, "AWS_EC2_METADATA_DISABLED": "true",
    })
    return env


def add_fleet(url: str, n: int) -> None:
    """N more users holding a Bedrock key, sharing the compliant user's policy (built via boto3)."""
    import boto3

    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1",
                       aws_access_key_id="AKIABENCHMARK0000000", aws_secret_access_key="benchmark",
                       config=__import__("botocore.config").config.Config(max_pool_connections=64))
    arn = next(p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"])

    def one(i: int) -> None:
        name = f"fleet-user-{i:04d}"
        iam.create_user(UserName=name)
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
        iam.create_service_specific_credential(UserName=name, ServiceName="bedrock.amazonaws.com", CredentialAgeDays=90)

    with cf.ThreadPoolExecutor(48) as pool:
        list(pool.map(one, range(n - 1)))  # the compliant user is the n-th


def run_audit(url: str, *args: str, reports: bool = False, env_extra: dict[str, str] | None = None,
              latency_ms: float = 100) -> dict:
    """One audit process; ``reports``: the whole user-visible run (report.html, results.json, JUnit,
    OCSF written to a temporary reports directory), else ``--no-reports``.  Peak RSS is the
    process's own (``os.wait4``), so it covers the report writing at the end."""
    out = tempfile.NamedTemporaryFile(prefix="bench-calls-", suffix=".json", delete=False).name
    env = env_for(url) | {"BKA_CALLSTATS_OUT": out} | (env_extra or {})
    where = ["--reports-dir", tempfile.mkdtemp(prefix="bench-reports-")] if reports else ["--no-reports"]
    with tempfile.TemporaryFile(mode="w+") as log:
        t0 = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "pytest", "checks", "-q", "-p", "no:cacheprovider", *where,
                                  "-p", "benchmarks.callstats", *args], cwd=ROOT, env=env, stdout=log,
                                 stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        log.seek(0)
        proc = subprocess.CompletedProcess(child.args, child.returncode, log.read(), "")
    if proc.returncode not in (0, 1):
        raise SystemExit(f"audit failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
    stats = json.load(open(out))
    calls = stats["calls"]
    first = min(c["started"] for c in calls)
    last = max(c["started"] + c["duration_ms"] / 1000 for c in calls)
    from benchmarks.timeline import from_stats

    tl = from_stats(stats, latency_ms)
    return {
        "wall_s": round(wall, 2),
        "session_s": round(stats["session_end"] - stats["session_start"], 2),
        "audit_phase_s": round(last - first, 3),
        "aws_calls": sum(1 for c in calls if c["kind"] == "aws"),
        "http_calls": sum(1 for c in calls if c["kind"] == "http"),
        "items": stats["items"],
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "reports": reports,
        "outcome": proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "",
        "critical_path_calls": tl["critical_path_calls"],
        "critical_path_observed_s": tl.get("critical_path_observed_s"),
        "cpu_in_phase_s": tl.get("cpu_in_phase_s"),
        "timeline": tl,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run")
    ap.add_argument("--latency-ms", type=int, default=100)
    ap.add_argument("--fleet", default="10,100,1000", help="comma-separated fleet sizes ('' for none)")
    ap.add_argument("--json", dest="json_out", default=None, help="also write the figures to this file")
    ap.add_argument("--reports", action="store_true",
                    help="measure the whole user-visible run: write report.html, results.json, JUnit, OCSF")
    ap.add_argument("--no-single", action="store_true", help="skip the single-key audit")
    ap.add_argument("--timeline", default=None, metavar="FILE",
                    help="single-key audit: print its call timeline (thread, start/end, the audit frames that "
                         "asked, critical path, process CPU time) and write it to FILE as JSON; off by default")
    ap.add_argument("--org", default="", metavar="AxK",
                    help="also audit an organization of A accounts with K keyed users each (e.g. 50x20)")
    args = ap.parse_args(argv)
    lat = args.latency_ms / 1000
    results: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                     "latency_ms": args.latency_ms}

    if not args.no_single:
        proc, url = start_emulator("compliant", args.latency_ms)
        try:
            single = run_audit(url, reports=args.reports, latency_ms=args.latency_ms,
                               env_extra={"BKA_TIMELINE": "1"} if args.timeline else None)
        finally:
            proc.terminate()
            proc.wait()
        tl = single.pop("timeline")
        if args.timeline:
            from benchmarks.timeline import print_timeline

            print_timeline(tl)
            Path(args.timeline).write_text(json.dumps(tl, indent=1))
        cp = single["critical_path_calls"] or CRITICAL_PATH
        single["critical_path"] = tl.get("critical_path")
        single["ratio"] = round(single["audit_phase_s"] / (cp * lat), 2) if lat else None
        single["aws_calls_vs_min"] = f"{single['aws_calls']}/{MIN_AWS_CALLS}"
        results["single"] = single
        print(f"single key: {json.dumps(single)}", flush=True)

    fleet = []
    for n in [int(x) for x in args.fleet.split(",") if x.strip()]:
        proc, url = start_emulator("compliant", args.latency_ms)
        try:
            add_fleet(url, n)
            r = run_audit(url, "--all-keys", reports=args.reports, latency_ms=args.latency_ms)
            r.pop("timeline")
        finally:
            proc.terminate()
            proc.wait()
        r["users"] = n
        r["aws_calls_per_user"] = round(r["aws_calls"] / n, 2)
        r["audit_phase_per_user_ms"] = round(r["audit_phase_s"] / n * 1000, 1)
        fleet.append(r)
        print(f"fleet {n}: {json.dumps(r)}", flush=True)
    results["fleet"] = fleet
    if args.org:
        from benchmarks.org import run_org

        accounts, keys = (int(x) for x in args.org.lower().split("x"))
        results["organization"] = run_org(accounts, keys, args.latency_ms, reports=args.reports)
        print(f"organization {args.org}: {json.dumps(results['organization'])}", flush=True)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
