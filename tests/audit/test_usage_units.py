"""``credential.recently_used`` on hand-built CloudTrail records: each class of verdict, no AWS.

Classes: used recently (pass), not yet due (pass, used or not), unused past max_unused_days (fail),
unknowable beyond the 90-day history (error), the audit's own probes (not use; but judged for
their source), SigV4 calls of the user (not key use), other principals' records (ignored), calls from
outside allowed_source_cidrs (fail, also a non-IP source), truncated or unreadable history with
CIDRs (error), and the config keys.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, cast

import pytest
from bedrock_key_audit.config import ConfigError, load_config

from bedrock_key_audit.usage import (
    AUDIT_USER_AGENT,
    MAX_EVENTS,
    RegionRead,
    inside,
    judge,
    networks,
    parse,
)

USER = "bedrock-cross-partition-user"
ARN = f"arn:aws:iam::123456789012:user/{USER}"
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)
START = NOW - dt.timedelta(days=90)


def event(days_ago: float, *, ip: str = "203.0.113.10", agent: str = "workload/1.0", bearer: bool | str = True,
          source: str = "bedrock.amazonaws.com", identity: dict | None = None, error: str | None = None,
          marker_in_request: bool = False) -> dict:
    t = NOW - dt.timedelta(days=days_ago)
    body = {"eventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "eventSource": source, "eventName": "Converse",
            "awsRegion": "us-east-1", "sourceIPAddress": ip, "userAgent": agent,
            "userIdentity": identity or {"type": "IAMUser", "arn": ARN, "userName": USER, "accountId": "123456789012"}}
    if bearer and not marker_in_request:
        body["additionalEventData"] = {"callWithBearerToken": bearer}
    if marker_in_request:
        body["requestParameters"] = {"callWithBearerToken": True, "modelId": "m"}
    if error:
        body["errorCode"] = error
    return {"EventId": "e", "EventName": "Converse", "EventTime": t, "EventSource": source, "Username": USER,
            "CloudTrailEvent": json.dumps(body)}


def verdict(events, *, created_days_ago: float = 200, max_unused: int = 90, cidrs=None, truncated=False,
            window_start=START, extra_created=(), region_unknown=None):
    parsed = parse([RegionRead("us-east-1", events, truncated)], USER, ARN)
    created = [NOW - dt.timedelta(days=created_days_ago), *(NOW - dt.timedelta(days=d) for d in extra_created)]
    return judge(parsed, user=USER, now=NOW, key_created=created, max_unused_days=max_unused,
                 allowed_cidrs=cidrs, regions=["us-east-1"], window_start=window_start,
                 region_unknown=region_unknown)


def test_recent_use_passes_with_last_use_sources_and_count():
    v = verdict([event(3, ip="203.0.113.10"), event(1, ip="203.0.113.11", agent="workload/2.0"), event(50)])
    assert v.status == "pass"
    assert "last used 2026-11-29 12:00 UTC (1 day(s) ago)" in v.message
    assert "3 call(s) since 2026-09-01" in v.message and "203.0.113.10 ×2" in v.message and "workload/2.0" in v.message
    assert "matched on the user" in v.message
    assert v.facts["calls"] == 3 and v.facts["source_ips"] == {"203.0.113.10": 2, "203.0.113.11": 1}


def test_unused_past_max_unused_days_fails():
    v = verdict([event(95)], created_days_ago=200)  # 95 days: older than the history, not returned in AWS either
    assert v.status == "fail" and "was not used for more than max_unused_days 90" in v.message
    assert "last use 2026-08-27 (95 days ago)" in v.message and "key created 200 days ago" in v.message
    v = verdict([], created_days_ago=120)
    assert v.status == "fail" and "no call with it in the 90 days of event history" in v.message


def test_boundary_exactly_max_unused_days_passes_a_second_more_fails():
    assert verdict([event(90)]).status == "pass"
    assert verdict([event(90 + 1 / 86400)]).status == "fail"


def test_young_key_is_not_yet_due_used_or_not():
    v = verdict([], created_days_ago=10)
    assert v.status == "pass" and "not yet due" in v.message and "no call since 2026-09-01" in v.message
    assert verdict([], created_days_ago=90).status == "pass"
    # two Active keys: the oldest decides whether use is due
    assert verdict([], created_days_ago=10, extra_created=[100]).status == "fail"


def test_no_active_key_leaves_nothing_unused_but_sources_are_still_judged():
    parsed = parse([RegionRead("us-east-1", [event(100), event(5, ip="198.51.100.9")])], USER, ARN)
    v = judge(parsed, user=USER, now=NOW, key_created=[], max_unused_days=90, allowed_cidrs=None,
              regions=["us-east-1"], window_start=START)
    assert v.status == "pass" and "no Active Bedrock API key" in v.message
    v = judge(parsed, user=USER, now=NOW, key_created=[], max_unused_days=90, allowed_cidrs=["203.0.113.0/24"],
              regions=["us-east-1"], window_start=START)
    assert v.status == "fail" and "198.51.100.9 ×1" in v.message


def test_the_audits_own_probes_are_not_use():
    v = verdict([event(1, agent=AUDIT_USER_AGENT), event(2, agent=AUDIT_USER_AGENT)], created_days_ago=120)
    assert v.status == "fail" and v.facts["audit_probe_calls"] == 2 and v.facts["calls"] == 0
    v = verdict([event(1, agent=AUDIT_USER_AGENT)], created_days_ago=10)
    assert v.status == "pass" and "(and 1 of this audit's own probes, not counted)" in v.message


def test_sigv4_calls_and_other_principals_are_not_key_use():
    role = {"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/r/" + USER, "userName": USER}
    other = {"type": "IAMUser", "arn": "arn:aws:iam::999999999999:user/" + USER, "userName": USER}
    v = verdict([event(1, bearer=False), event(1, identity=role), event(1, identity=other),
                 event(1, source="iam.amazonaws.com")], created_days_ago=120)
    assert v.status == "fail" and v.facts["sigv4_bedrock_calls"] == 1 and v.facts["calls"] == 0


def test_marker_forms_accepted():
    assert verdict([event(1, bearer="true")], created_days_ago=120).status == "pass"
    assert verdict([event(1, marker_in_request=True)], created_days_ago=120).status == "pass"


def test_beyond_the_history_cannot_be_decided():
    v = verdict([], created_days_ago=200, max_unused=120)
    assert v.status == "error" and "whether it was used before that is unknown" in v.message
    # but a use inside the history decides it, and a young key is not due
    assert verdict([event(80)], created_days_ago=200, max_unused=120).status == "pass"
    assert verdict([], created_days_ago=100, max_unused=120).status == "pass"


def test_calls_from_outside_the_allowed_cidrs_fail():
    v = verdict([event(1), event(2, ip="198.51.100.23"), event(3, ip="198.51.100.23")], cidrs=["203.0.113.0/24"])
    assert v.status == "fail" and "2 call(s)" in v.message and "198.51.100.23 ×2" in v.message
    assert verdict([event(1)], cidrs=["203.0.113.0/24"]).status == "pass"
    # an AWS service name as source is not proven inside
    assert verdict([event(1, ip="bedrock.amazonaws.com")], cidrs=["203.0.113.0/24"]).status == "fail"
    # both findings in one sentence
    v = verdict([event(1, ip="198.51.100.23", agent=AUDIT_USER_AGENT)], cidrs=["203.0.113.0/24"], created_days_ago=120)
    assert v.status == "fail" and "was not used for more than" in v.message and "with this audit's user agent" in v.message


def test_outside_cidrs_with_history_left_unread_is_an_error_not_a_pass():
    v = verdict([event(1)], cidrs=["203.0.113.0/24"], truncated=True)
    assert v.status == "error" and f"more than {MAX_EVENTS} events" in v.message
    broken = {**event(1), "CloudTrailEvent": "not json"}
    v = verdict([event(1), broken], cidrs=["203.0.113.0/24"])
    assert v.status == "error" and "1 event(s) could not be read" in v.message
    # an outside call among those read is a fail whatever was not read
    assert verdict([event(1, ip="198.51.100.1")], cidrs=["203.0.113.0/24"], truncated=True).status == "fail"


def test_inside_handles_ipv6_and_mapped_addresses():
    nets = networks(["203.0.113.0/24", "2001:db8::/32"])
    assert inside("2001:db8::1", nets) and inside("::ffff:203.0.113.9", nets)
    assert not inside("203.0.114.1", nets) and not inside("", nets) and not inside("AWS Internal", nets)


def test_config_keys(tmp_path):
    cfg = load_config(None)
    assert cfg.max_unused_days == 90 and cfg.allowed_source_cidrs is None
    p = tmp_path / "a.toml"
    p.write_text('[credential]\nmax_unused_days = 45\nallowed_source_cidrs = ["203.0.113.0/24", "2001:db8::/32"]\n')
    cfg = load_config(p)
    assert cfg.max_unused_days == 45 and cfg.allowed_source_cidrs == ["203.0.113.0/24", "2001:db8::/32"]
    for bad, where in (('max_unused_days = 0', "credential.max_unused_days"),
                       ('allowed_source_cidrs = ["10.0.0.0/33"]', "credential.allowed_source_cidrs"),
                       ('allowed_source_cidrs = []', "credential.allowed_source_cidrs")):
        p.write_text(f"[credential]\n{bad}\n")
        with pytest.raises(ConfigError, match=where.replace(".", r"\.")):
            load_config(p)


# --------------------------------------------------------------------------- the reader (botocore Stubber, no network)
class _Aws:
    emulated = True

    def __init__(self, client):
        self._client = client

    def client(self, service, partition, region=None):
        return self._client


def _reader(monkeypatch, pages=None, error=None, max_events=None):
    import boto3
    from bedrock_key_audit.inventory import usage as reader
    from bedrock_key_audit.inventory.reader import Inventory
    from botocore.stub import ANY, Stubber

    client = boto3.client("cloudtrail", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    expected = {"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": USER}], "StartTime": START}
    if error:
        stub.add_client_error("lookup_events", service_error_code=error, http_status_code=400)
    for i, page in enumerate(pages or []):
        resp = {"Events": page, **({"NextToken": f"t{i}"} if i < len(pages) - 1 else {})}
        stub.add_response("lookup_events", resp, {**expected, **({"NextToken": ANY} if i else {})})
    stub.activate()
    if max_events:
        monkeypatch.setattr(reader, "MAX_EVENTS", max_events)
    return reader.lookup_user_events(Inventory(cast(Any, _Aws(client)), load_config(None)), USER, "us-east-1", START)


def test_reader_pages_through_every_page(monkeypatch):
    read = _reader(monkeypatch, pages=[[event(1), event(2)], [event(3)]])
    assert len(read.events) == 3 and not read.truncated


def test_reader_stops_at_max_events_and_says_so(monkeypatch):
    read = _reader(monkeypatch, pages=[[event(1), event(2)], [event(3)]], max_events=2)
    assert len(read.events) == 2 and read.truncated


def test_reader_throttled_past_retries_is_an_error(monkeypatch):
    from bedrock_key_audit.checkcore import CouldNotDecide

    with pytest.raises(CouldNotDecide, match="cloudtrail:LookupEvents in commercial .* still throttled after retries"):
        _reader(monkeypatch, error="ThrottlingException")
    with pytest.raises(CouldNotDecide, match="cloudtrail:LookupEvents was denied to the auditor"):
        _reader(monkeypatch, error="AccessDeniedException")


# --------------------------------------------------------------------------- the fixer: manual steps, nothing changes
def test_fixer_names_the_keys_and_changes_nothing():
    from types import SimpleNamespace

    from bedrock_key_audit.checkcore import CheckRecord
    from bedrock_key_audit.inventory.models import Credential

    from bedrock_key_audit.remediation.fixers import usage  # noqa: F401 -- registers the fixer
    from bedrock_key_audit.remediation.core import FIXERS

    key = Credential("ACCAEXAMPLEKEYID00001", USER, "Active", NOW, None, f"{USER}-at-123456789012", None)
    ctx = SimpleNamespace(cfg=load_config(None), inv=SimpleNamespace(bedrock_credentials=lambda user: [key]))
    rec = CheckRecord("credential.recently_used", "t", "credential", "medium", {}, "n", status="fail")
    rec.detail = verdict([event(1, ip="198.51.100.2")], created_days_ago=120, cidrs=["203.0.113.0/24"]).message
    rec.detail = verdict([], created_days_ago=120).message + "; " + rec.detail
    steps = FIXERS["credential.recently_used"](cast(Any, ctx), rec)
    assert [s.key for s in steps] == ["manual:recently_used:unused", "manual:recently_used:outside"]
    assert all(s.manual and not s.calls for s in steps) and "ACCAEXAMPLEKEYID00001" in steps[0].action
    rec.status = "error"
    assert FIXERS["credential.recently_used"](cast(Any, ctx), rec) == []


def test_unread_regions_leave_unused_and_sources_undecided():
    # the enabled Regions could not be read: only some Regions were, and the key works in every one
    why = ("the account's enabled Regions cannot be read (ec2:DescribeRegions was denied), so Bedrock calls in "
           "Regions other than these were not read; grant ec2:DescribeRegions to the auditor")
    v = verdict([], created_days_ago=120, region_unknown=why)
    assert v.status == "error" and "but the account's enabled Regions cannot be read" in v.message
    assert "grant ec2:DescribeRegions" in v.message
    v = verdict([event(1)], cidrs=["203.0.113.0/24"], region_unknown=why)
    assert v.status == "error" and "the calls read all came from allowed_source_cidrs, but the account's" in v.message
    # what was read still decides: a recent use passes the unused part, an outside call fails
    assert verdict([event(1)], region_unknown=why).status == "pass"
    assert verdict([event(1, ip="198.51.100.1")], cidrs=["203.0.113.0/24"], region_unknown=why).status == "fail"


# --------------------------------------------------------------------------- every Region the key works in
def _in(region: str, ev: dict) -> dict:
    body = json.loads(ev["CloudTrailEvent"])
    body["awsRegion"] = region
    return {**ev, "CloudTrailEvent": json.dumps(body)}


def test_use_in_any_region_is_use_and_an_outside_call_in_any_region_fails_naming_it():
    reads = [RegionRead("us-east-1", []), RegionRead("us-west-2", []),
             RegionRead("eu-west-1", [_in("eu-west-1", event(3))])]
    regions = [r.region for r in reads]
    parsed = parse(reads, USER, ARN)
    v = judge(parsed, user=USER, now=NOW, key_created=[NOW - dt.timedelta(days=200)], max_unused_days=30,
              allowed_cidrs=None, regions=regions, window_start=START)
    assert v.status == "pass" and "in eu-west-1 ×1" in v.message and v.facts["calls_by_region"] == {"eu-west-1": 1}
    reads[2] = RegionRead("eu-west-1", [_in("eu-west-1", event(3, ip="198.51.100.7"))])
    v = judge(parse(reads, USER, ARN), user=USER, now=NOW, key_created=[NOW - dt.timedelta(days=200)],
              max_unused_days=30, allowed_cidrs=["203.0.113.0/24"], regions=regions, window_start=START)
    assert v.status == "fail" and "198.51.100.7 ×1, in eu-west-1 ×1" in v.message


def test_many_regions_are_counted_in_the_sentence_and_listed_in_the_facts():
    regions = [f"r-{i}" for i in range(17)]
    v = judge(parse([], USER, ARN), user=USER, now=NOW, key_created=[NOW - dt.timedelta(days=200)],
              max_unused_days=30, allowed_cidrs=None, regions=regions, window_start=START)
    assert v.status == "fail" and "17 Regions (r-0, r-1 and 15 more)" in v.message and v.facts["regions"] == regions


def _region_inventory(describe=None, error=None, secret_region="us-west-2"):
    import boto3
    from botocore.stub import Stubber

    from bedrock_key_audit.inventory.reader import Inventory
    from bedrock_key_audit.inventory.reader import KeyRegions

    client = boto3.client("ec2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    if error:
        stub.add_client_error("describe_regions", service_error_code=error, http_status_code=403)
    else:
        stub.add_response("describe_regions", {"Regions": describe}, {})
    stub.activate()
    inv = Inventory(cast(Any, _Aws(client)), load_config(None))
    inv.key_regions = lambda: KeyRegions("us-east-1", secret=secret_region)  # type: ignore[method-assign]
    return inv


def test_usage_regions_are_the_enabled_regions_where_bedrock_is_offered():
    from bedrock_key_audit.inventory.keys import bedrock_commercial_regions
    from bedrock_key_audit.inventory.usage import usage_scope

    assert {"eu-west-1", "us-east-1", "me-central-1"} <= bedrock_commercial_regions()
    inv = _region_inventory([
        {"RegionName": "eu-west-1", "OptInStatus": "opt-in-not-required"},
        {"RegionName": "us-west-2", "OptInStatus": "opt-in-not-required"},
        {"RegionName": "us-east-1", "OptInStatus": "opt-in-not-required"},
        {"RegionName": "me-central-1", "OptInStatus": "opted-in"},
        {"RegionName": "ap-east-2", "OptInStatus": "not-opted-in"},  # listed, but not enabled: not read
        {"RegionName": "no-bedrock-1", "OptInStatus": "opt-in-not-required"},  # Bedrock not offered there
    ])
    scope = usage_scope(inv)
    assert scope.regions == ["us-east-1", "eu-west-1", "me-central-1", "us-west-2"] and scope.unknown is None
    assert usage_scope(inv) == scope  # memoised: the Stubber holds one answer only


def test_denied_enabled_regions_read_falls_back_to_the_keys_regions_and_says_so():
    from bedrock_key_audit.inventory.usage import usage_scope

    scope = usage_scope(_region_inventory(error="UnauthorizedOperation"))
    assert scope.regions == ["us-west-2", "us-east-1"]
    assert scope.unknown and "ec2:DescribeRegions" in scope.unknown and "enabled Regions cannot be read" in scope.unknown


class _FakeClock:
    def __init__(self):
        self.t = 100.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.slept.append(round(s, 3))
        self.t += s


def test_rate_limiter_spaces_requests_and_queues_concurrent_callers():
    import threading

    from bedrock_key_audit.inventory.usage import RateLimiter

    fake = _FakeClock()
    lim = RateLimiter(0.5, clock=fake.now, sleep=fake.sleep)
    for _ in range(3):
        lim.acquire()
    assert fake.slept == [0.5, 0.5]  # the first request goes at once, then two per second
    # concurrent callers each reserve their own slot: with the clock held still, the times they wake at are
    # one interval apart whatever order the threads run in (no real sleeping: nothing here depends on load)
    held = 100.0
    woke: list[float] = []
    woke_lock = threading.Lock()

    def record(s: float) -> None:
        with woke_lock:
            woke.append(round(held + s, 6))

    queued = RateLimiter(0.05, clock=lambda: held, sleep=record)
    threads = [threading.Thread(target=queued.acquire) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(woke) == [100.05, 100.1, 100.15], woke  # the first goes at once, the others queue


def test_reader_pages_go_through_the_regions_limiter(monkeypatch):
    import boto3
    from botocore.stub import ANY, Stubber

    from bedrock_key_audit.inventory.reader import Inventory
    from bedrock_key_audit.inventory import usage as reader

    client = boto3.client("cloudtrail", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    expected = {"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": USER}], "StartTime": START}
    pages = [[event(1)], [event(2)], [event(3)]]
    for i, page in enumerate(pages):
        stub.add_response("lookup_events", {"Events": page, **({"NextToken": f"t{i}"} if i < 2 else {})},
                          {**expected, **({"NextToken": ANY} if i else {})})
    stub.activate()
    aws = _Aws(client)
    aws.emulated = False
    inv = Inventory(cast(Any, aws), load_config(None))
    fake = _FakeClock()
    inv.g.once(("lookup-limiter", "us-east-1"), lambda: reader.RateLimiter(0.5, clock=fake.now, sleep=fake.sleep))
    read = reader.lookup_user_events(inv, USER, "us-east-1", START)
    assert len(read.events) == 3 and fake.slept == [0.5, 0.5]  # 3 pages: the first at once, two spaced


def test_key_use_regions_names_where_the_key_was_used_and_where_the_read_was_partial():
    from bedrock_key_audit.inventory.reader import KeyRegions
    from bedrock_key_audit.usage import key_use_regions
    from bedrock_key_audit.verdicts.bedrock import logging_regions

    reads = [RegionRead("us-east-1", []), RegionRead("eu-west-1", [_in("eu-west-1", event(3))]),
             RegionRead("ap-south-1", [_in("ap-south-1", event(2, bearer=False))]),  # SigV4: not key use
             RegionRead("us-east-2", [], truncated=True)]
    use = key_use_regions(reads, USER, ARN)
    assert use.used == {"eu-west-1"} and use.unsure == {"us-east-2"}
    regions, gap = logging_regions(KeyRegions("us-east-1", secret="us-west-2"), use)
    assert regions == ["us-east-1", "us-west-2", "eu-west-1"]
    assert gap and "us-east-2" in gap and "read only in part" in gap
    # a partial read of a Region that is judged anyway leaves nothing undecided
    assert logging_regions(KeyRegions("us-east-2"), use)[1] is None
    regions, gap = logging_regions(KeyRegions("us-east-1"), key_use_regions(reads[:2], USER, ARN, "DescribeRegions denied"))
    assert regions == ["us-east-1", "eu-west-1"] and gap and "DescribeRegions denied" in gap


def test_only_this_runs_own_probes_are_spared_the_source_address_judgement():
    from bedrock_key_audit.usage import probe_user_agent, run_token

    cidrs = ["203.0.113.0/24"]
    ours = event(1, ip="198.51.100.23", agent=probe_user_agent())
    v = verdict([ours, event(2)], cidrs=cidrs)
    assert v.status == "pass", v.message
    assert f"run/{run_token()}" in probe_user_agent()
    # the plain agent (forgeable by anyone holding the key) and an earlier run's token still count
    for agent in (AUDIT_USER_AGENT, f"{AUDIT_USER_AGENT} run/0123456789abcdef",
                  f"{AUDIT_USER_AGENT} run/{run_token()}x", f"evil {AUDIT_USER_AGENT} run/{run_token()}"):
        v = verdict([event(1, ip="198.51.100.23", agent=agent), event(2)], cidrs=cidrs)
        assert v.status == "fail" and "198.51.100.23 ×1" in v.message, agent


def test_earlier_runs_probes_are_spared_only_with_their_token_and_within_their_span(tmp_path):
    """An earlier run's token, recorded in ``probe-tokens.json`` with the run's start and end, spares
    a call that carries it and was made within that span; a call with the token outside the span
    (sent by someone who read it afterwards), with another token, or with none, still counts."""
    from bedrock_key_audit.usage import PROBE_TOKENS_FILE, ProbeRun, load_probe_runs, record_probe_run

    path = tmp_path / PROBE_TOKENS_FILE
    began = NOW - dt.timedelta(days=1, minutes=5)
    record_probe_run(path, ProbeRun("0123456789abcdef", began, began + dt.timedelta(minutes=10)))
    record_probe_run(path, ProbeRun("fedcba9876543210", NOW - dt.timedelta(days=3), NOW - dt.timedelta(days=3) + dt.timedelta(minutes=5)))
    runs = load_probe_runs(path)
    assert [r.token for r in runs] == ["0123456789abcdef", "fedcba9876543210"]
    cidrs = ["203.0.113.0/24"]

    def judged(agent: str, days_ago: float):
        parsed = parse([RegionRead("us-east-1", [event(days_ago, ip="198.51.100.23", agent=agent), event(2)])],
                       USER, ARN, earlier=runs)
        return judge(parsed, user=USER, now=NOW, key_created=[NOW - dt.timedelta(days=200)], max_unused_days=90,
                     allowed_cidrs=cidrs, regions=["us-east-1"], window_start=START)

    assert judged(f"{AUDIT_USER_AGENT} run/0123456789abcdef", 1).status == "pass"
    for agent, days_ago in ((f"{AUDIT_USER_AGENT} run/0123456789abcdef", 0.5),  # after that run ended
                            (f"{AUDIT_USER_AGENT} run/fedcba9876543210", 1),  # another run's token, not its span
                            (f"{AUDIT_USER_AGENT} run/0000000000000000", 1), (AUDIT_USER_AGENT, 1),
                            (f"evil {AUDIT_USER_AGENT} run/0123456789abcdef", 1)):
        v = judged(agent, days_ago)
        assert v.status == "fail" and "198.51.100.23 ×1" in v.message, agent
    # a malformed file or entry spares nothing
    path.write_text('{"runs": [{"token": "x", "started": "nope"}]}')
    assert load_probe_runs(path) == []
    path.write_text("not json")
    assert load_probe_runs(path) == []


def test_an_earlier_runs_token_spares_only_a_probe_shaped_call_within_seconds_of_its_span(tmp_path):
    """A replay of an earlier run's token a minute after that run ended, or with an operation the
    probes do not make, counts as a call from outside; a probe's operation at the span's edge (within
    the few seconds of clock allowance) is spared."""
    from bedrock_key_audit.usage import PROBE_CLOCK_SLACK, PROBE_EVENTS, ProbeRun

    began, ended = NOW - dt.timedelta(days=1, minutes=3), NOW - dt.timedelta(days=1)
    runs = [ProbeRun("0123456789abcdef", began, ended)]
    agent = f"{AUDIT_USER_AGENT} run/0123456789abcdef"
    assert PROBE_CLOCK_SLACK <= dt.timedelta(seconds=10) and "Converse" in PROBE_EVENTS

    def judged(at: dt.datetime, name: str = "Converse"):
        ev = event((NOW - at).total_seconds() / 86400, ip="198.51.100.23", agent=agent)
        body = json.loads(ev["CloudTrailEvent"])
        body["eventName"] = name
        ev["CloudTrailEvent"] = json.dumps(body)
        parsed = parse([RegionRead("us-east-1", [ev, event(2)])], USER, ARN, earlier=runs)
        return judge(parsed, user=USER, now=NOW, key_created=[NOW - dt.timedelta(days=200)], max_unused_days=90,
                     allowed_cidrs=["203.0.113.0/24"], regions=["us-east-1"], window_start=START)

    assert judged(ended).status == "pass"
    assert judged(ended + dt.timedelta(seconds=3)).status == "pass"  # the auditor's clock allowance
    for at, name in ((ended + dt.timedelta(seconds=60), "Converse"), (began - dt.timedelta(seconds=60), "Converse"),
                     (ended - dt.timedelta(minutes=1), "InvokeModel")):
        v = judged(at, name)
        assert v.status == "fail" and "198.51.100.23 ×1" in v.message, (at, name)
        assert "indistinguishable" in v.facts["probes_spared_when"]
