"""Reads for ``credential.recently_used``: the key user's CloudTrail event history in every Region the key works in.

The logic and its sources are in :mod:`bedrock_key_audit.usage`; the pytest wiring is
``fixtures/usage.py``.  Every read goes through the inventory's one AWS-call wrapper (its retries
and error sentences: a throttle past botocore's retries ends the check ``error``) and memo.

**Which Regions.**  A long-term Amazon Bedrock API key is an IAM user's credential, and IAM is
global: the key authenticates in every Region where Bedrock is offered and the account has enabled
("Generate Amazon Bedrock API keys", https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys.html;
the Region is only the endpoint the caller picks).  Bedrock events are recorded in the Region of the
call.  So the history is read in every Region of

* botocore's endpoint data for ``bedrock`` in the ``aws`` partition
  (:func:`bedrock_key_audit.inventory.keys.bedrock_commercial_regions`; ``bedrock-runtime`` has no
  list of its own, its endpoints come from rules), intersected with
* the Regions the account has enabled: ``ec2:DescribeRegions`` without ``AllRegions`` "describes the
  Regions that are enabled for your account" (Amazon EC2 API Reference, DescribeRegions,
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRegions.html); an opt-in Region
  the account has not enabled refuses every credential of the account, the key included ("Specify
  which AWS Regions your account can use",
  https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html).  DescribeRegions
  is used rather than ``account:ListRegions`` because it is one call any read-only auditor role
  already holds (``SecurityAudit`` and ``ReadOnlyAccess`` grant ``ec2:Describe*``) and the answer is
  the same list.

If DescribeRegions cannot be read the configured Region and the secret's are read, as before, and
the row says that other Regions were not read (a use found, or a call from outside the allowed
ranges, still decides).

**Why event history, one Region at a time.**  ``cloudtrail:LookupEvents`` answers for one Region
only.  One read could serve every Region only through a trail's store: the S3 objects of a
multi-Region trail (one gzip file per Region and ~5 minutes: some 26,000 ``GetObject`` calls per
Region for 90 days, each also a ``kms:Decrypt`` of the trail's key, and often in a log-archive
account the auditor cannot read), or a CloudTrail Lake event data store (which exists only when the
account pays for one, and whose queries are billed per GB scanned).  Neither is cheaper than one
LookupEvents per Region, so neither is used.

**Call budget** (stated in the README): 1 ``ec2:DescribeRegions`` + for each of the R Regions
``ceil(events / 50)`` LookupEvents pages, at least 1: R + 1 calls for a quiet key (R = 17 for an
account with only the default Regions enabled).  The reads of the Regions run concurrently; the
pages of one (account, Region) go through one :class:`RateLimiter` at LookupEvents' documented "two
[requests] per second, per account, per Region" (CloudTrail API Reference, LookupEvents,
https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html), which returns
at most 50 events a page, newest first.  Against the emulator the limiter does not wait.

* **One key** (and the fallback below): ``LookupAttributes=[{Username: <user>}]`` per region, at
  most :data:`bedrock_key_audit.usage.MAX_EVENTS` events (the rest is reported as not read).
* **Fleet and organization mode** (``--all-keys``): per region ONE read for the whole account,
  ``LookupAttributes=[{EventSource: bedrock.amazonaws.com}]`` (LookupEvents takes one attribute
  only, so user and source cannot both be filtered), split by each event's ``Username`` field --
  the very attribute the per-user read filters on.  A user's share is therefore exactly the
  per-user read's Bedrock events, in the same newest-first order; the verdict's own matching
  (:func:`bedrock_key_audit.usage.parse`: ``eventSource`` Bedrock, ``userIdentity`` the user's ARN,
  the audit's own probes by user agent) is unchanged and applied to it.  The per-user read also
  returns the user's non-Bedrock events, which ``parse`` drops unread, except that a record whose
  ``CloudTrailEvent`` is not JSON counts as *unreadable*: the account-wide read only sees such
  records among Bedrock events.  The bulk read is used only when complete: it stops at
  ``max(MAX_EVENTS, 50 x keyed users)`` events (never more pages than one per user would take) and,
  stopped there, the region is read user by user instead (one-line note), so a truncated bulk
  read never stands for a user's history.  Denied or throttled past retries, it raises: every
  row that needs it ends ``error`` with that sentence (the per-user read needs the same permission).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore import xform_name

from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.inventory.keys import bedrock_commercial_regions
from bedrock_key_audit.permissions import COMMERCIAL, EVENT_HISTORY, REGION_LISTING, Read, reads
from bedrock_key_audit.usage import BEDROCK_SOURCE, HISTORY_DAYS, MAX_EVENTS, RegionRead

if TYPE_CHECKING:  # the reader calls these functions (prefetch); they only name its type
    from bedrock_key_audit.inventory.reader import Inventory

PAGE_INTERVAL_S = 0.5  # LookupEvents: "limited to two per second, per account, per Region"
PAGE_SIZE = 50  # LookupEvents' maximum (and default) MaxResults
BULK_MIN_EVENTS = MAX_EVENTS  # the account-wide read may always read as many events as one user's read


class UsageHistory:
    """The user's event history, as read: ``reads`` per region and the window's start."""

    def __init__(self, reads: list[RegionRead], window_start: dt.datetime, regions: list[str],
                 region_unknown: str | None = None, earlier_probes: tuple[Any, ...] = ()):
        self.reads = reads
        # earlier runs' probe tokens (bedrock_key_audit.usage.ProbeRun), from the reports directory
        self.earlier_probes = earlier_probes
        # this run's probe token (bedrock_key_audit.usage.run_token); None: the process's own
        self.run_token: str | None = None
        self.window_start = window_start
        self.regions = regions
        # why Regions where the key works may have gone unread (the enabled Regions could not be read)
        self.region_unknown = region_unknown


@dataclasses.dataclass(frozen=True)
class UsageRegions:
    """The commercial Regions whose history is read, and why others the key works in may be missing."""

    regions: list[str]
    unknown: str | None = None


class RateLimiter:
    """At most one request per ``interval`` seconds, shared by every thread that calls :meth:`acquire`.

    Each caller reserves the next free slot under the lock and sleeps outside it, so concurrent
    readers of one (account, Region) queue up instead of bursting."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.interval = interval
        self._clock, self._sleep = clock, sleep
        self._next = float("-inf")
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            at = max(now, self._next)
            self._next = at + self.interval
        if at > now:
            self._sleep(at - now)


def window_start(now: dt.datetime) -> dt.datetime:
    """The lookups' ``StartTime``: 90 days (event history's reach) before the audit's clock, whole seconds."""
    return (now - dt.timedelta(days=HISTORY_DAYS)).replace(microsecond=0)


@reads(Read("ec2:DescribeRegions", REGION_LISTING, partitions=COMMERCIAL))
def enabled_regions(inv: Inventory) -> frozenset[str]:
    """``ec2:DescribeRegions`` (no ``AllRegions``: the Regions enabled for the account) in the configured
    commercial Region; once per run.  A Region reported ``not-opted-in`` is left out even if listed."""
    def fetch() -> frozenset[str]:
        resp = inv._read("commercial", "ec2", "DescribeRegions") or {}
        return frozenset(str(r["RegionName"]) for r in resp.get("Regions", [])
                         if r.get("RegionName") and r.get("OptInStatus") != "not-opted-in")
    got: frozenset[str] = inv.g.once(("enabled-regions",), fetch)
    return got


def usage_scope(inv: Inventory) -> UsageRegions:
    """Every enabled commercial Region where Bedrock is offered (the configured Region first); when the
    enabled Regions cannot be read, the configured Region and the secret's, and why that may not be all."""
    configured = inv.cfg.region("commercial")
    try:
        enabled = enabled_regions(inv)
    except CouldNotDecide as exc:
        return UsageRegions(inv.key_regions().regions(secret_first=True),
                            f"the account's enabled Regions cannot be read ({exc}), so Bedrock calls in Regions "
                            "other than these were not read; grant ec2:DescribeRegions to the auditor")
    offered = sorted(bedrock_commercial_regions() & enabled)
    return UsageRegions([configured] + [r for r in offered if r != configured])


def usage_regions(inv: Inventory) -> list[str]:
    """The commercial Regions whose history is read (:func:`usage_scope`)."""
    return usage_scope(inv).regions


def _limiter(inv: Inventory, region: str) -> RateLimiter:
    """The one LookupEvents limiter of this account (one Inventory per account) in ``region``."""
    interval = 0.0 if inv.aws.emulated else PAGE_INTERVAL_S
    got: RateLimiter = inv.g.once(("lookup-limiter", region), lambda: RateLimiter(interval))
    return got


@reads(Read("cloudtrail:LookupEvents", EVENT_HISTORY, partitions=COMMERCIAL))
def _lookup(inv: Inventory, region: str, start: dt.datetime, key: str, value: str, limit: int) -> RegionRead:
    """One paged ``LookupEvents`` (one attribute) of ``region`` from ``start``, at most ``limit`` events."""
    truncated = [False]
    limiter = _limiter(inv, region)

    def via(client: Any) -> dict[str, Any]:
        events: list[dict[str, Any]] = []
        pages = iter(client.get_paginator(xform_name("LookupEvents")).paginate(
            LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}], StartTime=start))
        while True:
            limiter.acquire()  # each page is one request: paced under the Region's 2-per-second limit
            page = next(pages, None)
            if page is None:
                break
            events.extend(page.get("Events", []))
            if len(events) >= limit:
                truncated[0] = True
                break
            if not page.get("NextToken"):  # the last page: no further request to pace
                break
        return {"events": events[:limit]}

    resp = inv._read("commercial", "cloudtrail", "LookupEvents", region=region, via=via)
    return RegionRead(region=region, events=(resp or {}).get("events", []), truncated=truncated[0])


def lookup_user_events(inv: Inventory, user: str, region: str, start: dt.datetime) -> RegionRead:
    """``cloudtrail:LookupEvents`` (Username = ``user``) in ``region`` from ``start``; memoised for the run."""
    read: RegionRead = inv.g.once(("lookup-user-events", user, region, start.isoformat()),
                                  lambda: _lookup(inv, region, start, "Username", user, MAX_EVENTS))
    return read


def bedrock_events_by_user(inv: Inventory, region: str, start: dt.datetime) -> dict[str, list[dict[str, Any]]] | None:
    """Fleet mode: the account's Bedrock events of ``region`` from ``start`` (one ``LookupEvents`` with
    EventSource = bedrock.amazonaws.com), keyed by the events' ``Username``; None when the read stopped
    before the window's end (then each user's history is read on its own)."""
    def fetch() -> dict[str, list[dict[str, Any]]] | None:
        try:
            users = len(inv.fleet_users())
        except CouldNotDecide:
            users = 1
        limit = max(BULK_MIN_EVENTS, PAGE_SIZE * users)
        read = _lookup(inv, region, start, "EventSource", BEDROCK_SOURCE, limit)
        if read.truncated:
            inv._bulk_note(f"more than {limit} Bedrock events in {region}'s CloudTrail event history, so it was read "
                           "user by user (cloudtrail:LookupEvents by Username) instead")
            return None
        by_user: dict[str, list[dict[str, Any]]] = {}
        for ev in read.events:
            by_user.setdefault(str(ev.get("Username") or ""), []).append(ev)
        return by_user
    got: dict[str, list[dict[str, Any]]] | None = inv.g.once(("bedrock-events", region, start.isoformat()), fetch)
    return got


def user_region_read(inv: Inventory, user: str, region: str, start: dt.datetime) -> RegionRead:
    """The user's history in ``region``: its share of the account-wide read in fleet mode (when that
    read is complete), else its own ``LookupEvents``."""
    if inv.bulk:
        everyone = bedrock_events_by_user(inv, region, start)
        if everyone is not None:
            return RegionRead(region=region, events=list(everyone.get(user, [])))
    return lookup_user_events(inv, user, region, start)


def usage_history(inv: Inventory, user: str, now: dt.datetime) -> UsageHistory:
    """The user's CloudTrail event history of the last 90 days in every Region the key works in (:func:`usage_scope`)."""
    start = window_start(now)
    scope = usage_scope(inv)
    reads = inv.g.fanout([(lambda r=r: user_region_read(inv, user, r, start)) for r in scope.regions])
    return UsageHistory(reads, start, scope.regions, scope.unknown)
