"""Reads for ``credential.recently_used``: the key user's CloudTrail event history.

The logic and its sources are in :mod:`bedrock_key_audit.usage`; the pytest wiring is
``fixtures/usage.py``.  Every read goes through the inventory's one AWS-call wrapper (its retries
and error sentences: a throttle past botocore's retries ends the check ``error``) and memo.

``cloudtrail:LookupEvents``, in the commercial partition, ``StartTime`` 90 days before the audit's
clock, in each region the key is used in (the region the secret names, and the configured
commercial region), through botocore's ``lookup_events`` paginator.  LookupEvents allows "two
[requests] per second, per account, per Region" and returns at most 50 events a page, newest first
(CloudTrail API Reference, LookupEvents,
https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html), so against AWS
the pages of one read are at least 0.5 s apart.

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

import datetime as dt
import time
from typing import Any

from botocore import xform_name

from bedrock_key_audit.fixtures.checks import CouldNotDecide
from bedrock_key_audit.inventory.reader import Inventory
from bedrock_key_audit.usage import BEDROCK_SOURCE, HISTORY_DAYS, MAX_EVENTS, RegionRead

PAGE_INTERVAL_S = 0.5  # LookupEvents: "limited to two per second, per account, per Region"
PAGE_SIZE = 50  # LookupEvents' maximum (and default) MaxResults
BULK_MIN_EVENTS = MAX_EVENTS  # the account-wide read may always read as many events as one user's read


class UsageHistory:
    """The user's event history, as read: ``reads`` per region and the window's start."""

    def __init__(self, reads: list[RegionRead], window_start: dt.datetime, regions: list[str],
                 region_unknown: str | None = None):
        self.reads = reads
        self.window_start = window_start
        self.regions = regions
        # why the secret's region (where the workload calls Bedrock) could not be read, if it could not
        self.region_unknown = region_unknown


def window_start(now: dt.datetime) -> dt.datetime:
    """The lookups' ``StartTime``: 90 days (event history's reach) before the audit's clock, whole seconds."""
    return (now - dt.timedelta(days=HISTORY_DAYS)).replace(microsecond=0)


def usage_regions(inv: Inventory) -> list[str]:
    """The commercial regions whose history is read: the secret's region (when it names a usable one)
    and the configured commercial region."""
    return inv.key_regions().regions(secret_first=True)


def _lookup(inv: Inventory, region: str, start: dt.datetime, key: str, value: str, limit: int) -> RegionRead:
    """One paged ``LookupEvents`` (one attribute) of ``region`` from ``start``, at most ``limit`` events."""
    truncated = [False]

    def via(client: Any) -> dict[str, Any]:
        events: list[dict[str, Any]] = []
        pages = client.get_paginator(xform_name("LookupEvents")).paginate(
            LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}], StartTime=start)
        last = 0.0
        for page in pages:
            events.extend(page.get("Events", []))
            if len(events) >= limit:
                truncated[0] = True
                break
            if not inv.aws.emulated:  # pace the next page request under the 2-per-second limit
                time.sleep(max(0.0, PAGE_INTERVAL_S - (time.monotonic() - last)))
                last = time.monotonic()
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
    """The user's CloudTrail event history of the last 90 days in the key's regions."""
    start = window_start(now)
    kr = inv.key_regions()
    regions = kr.regions(secret_first=True)
    reads = inv.g.fanout([(lambda r=r: user_region_read(inv, user, r, start)) for r in regions])
    return UsageHistory(reads, start, regions, kr.unknown)
