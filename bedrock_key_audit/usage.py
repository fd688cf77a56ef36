"""Is the Bedrock API key used, and from where: the logic of ``credential.recently_used``.

Source of the facts, and what they allow:

* AWS documents that every Bedrock API call is logged in CloudTrail and that "Amazon Bedrock API
  keys are passed as authorization headers to API requests and aren't logged" (Amazon Bedrock User
  Guide, "Generate Amazon Bedrock API keys to easily authenticate to the Amazon Bedrock API",
  https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys.html), and that each Bedrock event
  names who made the request, from which IP address and when ("Log Amazon Bedrock API calls using AWS
  CloudTrail", https://docs.aws.amazon.com/bedrock/latest/userguide/logging-using-cloudtrail.html).
  A long-term key belongs to an IAM user, so the caller is that user: ``userIdentity.type``
  ``IAMUser`` with its ``arn`` and ``userName`` (CloudTrail User Guide, "CloudTrail userIdentity
  element", https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html).
* A call made with a key (not SigV4) carries ``additionalEventData.callWithBearerToken = true``:
  a *third-party* fact (BeyondTrust, "The AWS Bedrock API Keys Security Guide Part 2: Detection,
  Prevention, and Response", which shows such a record; AWS's pages do not describe the field).
  ``requestParameters.callWithBearerToken`` is accepted too (``/work/shared/reference/aws-facts.md``).
* **No field names the key.**  The record has no service-specific credential id and no
  ``accessKeyId`` for a bearer call, so a call cannot be told apart from a call made with the
  user's *other* Bedrock key (a user may hold two, for rotation), nor from a call made with an
  Inactive or deleted key of the same user before it was switched off.  The check therefore
  matches on the user: "the key was used" means "some Bedrock API key of this user was used", and
  every row message says so.  Bedrock events of the user *without* the marker are SigV4 calls (an
  access key or a console session of the user), not key use; they are counted apart.
* Event history (``cloudtrail:LookupEvents``) covers the last 90 days of one region, returns 50
  events a page, newest first, and is limited to 2 requests per second per account and region
  (CloudTrail API Reference, LookupEvents).  Bedrock events are recorded in the region the call was
  made in, and a long-term key works in every Region where Bedrock is offered and the account has
  enabled, so the audit reads every one of them (:mod:`bedrock_key_audit.inventory.usage` says how
  they are found and why a trail's store is not read instead).  Use found in any Region is use; a
  call from outside ``allowed_source_cidrs`` in any Region fails the row.

Verdicts (:func:`judge`):

* **fail, unused**: some Active key of the user is older than ``max_unused_days`` and the user made
  no key call in the last ``max_unused_days`` days.  A key younger than that passes as *not yet
  due*, used or not: it cannot have been unused for longer than it has existed.  With no Active key
  nothing is left unused (CIS 1.12 asks that unused credentials be disabled: they are).
* **error, unknowable**: ``max_unused_days`` > 90 and no key call in the 90 days of history: the
  last use may lie between 90 and ``max_unused_days`` days ago, which event history cannot show
  (a trail's S3 logs or CloudTrail Lake can).  Not a fail: nothing proves the key unused that long.
* **fail, outside**: ``allowed_source_cidrs`` is set and a key call came from an address outside
  every range (a ``sourceIPAddress`` that is no IP address, such as an AWS service name, is outside
  too: nothing proves it inside).  With no such call among those read but events left unread (more
  than :data:`MAX_EVENTS` in a region) or unreadable, the part ends ``error``.
* **error, Regions unknown**: the account's enabled Regions cannot be read (``ec2:DescribeRegions``
  denied or failing), so only the configured Region and the secret's were read and the key may have
  been used in another: "unused" and "only from the allowed ranges" are not proved (a use found, or
  a call from outside, still decides).
* **The audit's own probes.**  ``endpoint.list_models`` and ``endpoint.invoke`` call Bedrock with
  the key on every run, with the user agent :data:`AUDIT_USER_AGENT` followed by ``run/<token>``,
  a random 64-bit token made when the run starts (:func:`run_token`; shared with pytest-xdist
  workers through the environment) and sent nowhere before the probes.  Counted as use, they would
  make this check pass for any key the audit can reach; so calls whose user agent starts with
  ``bedrock-key-audit/`` are **not** use.  A user agent can be forged, so excluding them can only
  make a key look *less* used (a fail, never a wrong pass).
  For the source-address judgement only **this run's own probes** are excluded: calls whose user
  agent carries this run's token.  Nobody can send that token before this run's probes have sent it
  (it appears in the account's CloudTrail only afterwards, minutes later), so a stolen key cannot
  hide a call behind it; a forged plain ``bedrock-key-audit/`` agent, or an earlier run's token
  (which this run does not know), still counts as a call from outside.  So the auditor's probe
  address counts against ``allowed_source_cidrs`` for earlier runs' probes unless it lies inside
  the ranges: run the audit from an allowed address, or add its address to the ranges.
  **Earlier runs' probes.**  Each run that writes reports records its token with its start and end
  in ``<reports-dir>/probe-tokens.json`` (:data:`PROBE_TOKENS_FILE`; :func:`record_probe_run`, the
  last :data:`KEEP_PROBE_RUNS` runs).  A later run with the same reports directory also spares a
  call whose user agent starts with ``bedrock-key-audit/`` and ends with ``run/<token>`` of such a
  run **and** whose ``eventTime`` lies within that run's own start and end (give or take
  :data:`PROBE_CLOCK_SLACK`, a few seconds for the auditor's clock) **and** whose operation is one
  the probes make (:data:`PROBE_EVENTS`).  The token is only seen (in CloudTrail, in the
  file) once its run has probed, so anyone who learns it can send it only after that window: a
  forged call outside the window still counts.  No call without such a token is ever spared.
  What remains: a call carrying the token, of a probe's operation, made *during* the run's span
  (by someone who read the token from CloudTrail or the file while the run was going) is
  indistinguishable from the probes and is spared; the row's evidence says so.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

AUDIT_USER_AGENT = "bedrock-key-audit/0.1 (endpoint probe)"
RUN_TOKEN_ENV = "BEDROCK_KEY_AUDIT_RUN_TOKEN"
AUDIT_AGENT_PREFIX = "bedrock-key-audit/"
BEDROCK_SOURCE = "bedrock.amazonaws.com"
HISTORY_DAYS = 90  # CloudTrail event history: "the last 90 days" of a region
MAX_EVENTS = 5000  # per region: 100 pages, ~50 s at LookupEvents' 2 requests per second
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
PROBE_TOKENS_FILE = "probe-tokens.json"  # in the reports directory: earlier runs' probe tokens
KEEP_PROBE_RUNS = 500
# CloudTrail's eventTime is "the date and time the request was completed", stamped by the AWS host
# that served it, whose clock NTP keeps synchronised ("CloudTrail record contents",
# https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html).
# A run's span is stamped by the auditor's clock, before its first probe and after its last answer,
# so only the auditor's own clock error needs an allowance: a few seconds covers an NTP-synchronised
# host.  A host further off makes a later run count its probes as calls (a false fail, never a false
# pass): synchronise its clock.
PROBE_CLOCK_SLACK = dt.timedelta(seconds=5)
# The operations the audit's probes make with the key that CloudTrail records as bedrock.amazonaws.com
# events (inventory/reader.py: GET /foundation-models, POST /model/{id}/converse); a call with a
# probe token but another operation is not a probe.
PROBE_EVENTS = frozenset({"ListFoundationModels", "Converse"})


@dataclasses.dataclass(frozen=True)
class ProbeRun:
    """An earlier run's probe token and the span its probes were made in."""

    token: str
    started: dt.datetime
    ended: dt.datetime

    def sent(self, agent: str, time: dt.datetime, event_name: str | None = None) -> bool:
        """Did this run's probes make a call with ``agent`` at ``time`` (and, when given, of operation
        ``event_name``)?  Its token, its span (:data:`PROBE_CLOCK_SLACK`) and a probe's shape."""
        return (agent.startswith(AUDIT_AGENT_PREFIX) and agent.endswith(f" run/{self.token}")
                and (event_name is None or event_name in PROBE_EVENTS)
                and self.started - PROBE_CLOCK_SLACK <= time <= self.ended + PROBE_CLOCK_SLACK)


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else None


def load_probe_runs(path: Any) -> list[ProbeRun]:
    """The runs ``probe-tokens.json`` at ``path`` records; a missing or malformed file (or entry)
    records none: only an entry read whole can spare a call."""
    from pathlib import Path

    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    out: list[ProbeRun] = []
    for e in (raw.get("runs") if isinstance(raw, dict) else None) or []:
        if not isinstance(e, dict):
            continue
        token, started, ended = e.get("token"), _time(e.get("started")), _time(e.get("ended"))
        if isinstance(token, str) and len(token) >= 16 and token.isalnum() and started and ended and started <= ended:
            out.append(ProbeRun(token, started, ended))
    return out


def record_probe_run(path: Any, run: ProbeRun) -> None:
    """Add ``run`` to ``probe-tokens.json`` at ``path`` (written whole, then renamed into place)."""
    import os
    from pathlib import Path

    runs = [r for r in load_probe_runs(path) if r.token != run.token] + [run]
    body = {"version": 1, "about": "bedrock-key-audit probe tokens of earlier runs (credential.recently_used spares "
                                   "a call carrying one only within that run's start and end)",
            "runs": [{"token": r.token, "started": r.started.isoformat(), "ended": r.ended.isoformat()}
                     for r in runs[-KEEP_PROBE_RUNS:]]}
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, target)


def run_token() -> str:
    """This run's random probe token (made once per run; xdist workers inherit it from the controller)."""
    import os
    import secrets

    return os.environ.setdefault(RUN_TOKEN_ENV, secrets.token_hex(8))


def probe_user_agent() -> str:
    """The user agent of this run's probes: :data:`AUDIT_USER_AGENT` and ``run/<token>``."""
    return f"{AUDIT_USER_AGENT} run/{run_token()}"


@dataclasses.dataclass(frozen=True)
class KeyCall:
    """One Bedrock call of the user, read from its CloudTrail record."""

    time: dt.datetime
    region: str
    event_name: str
    source_ip: str
    user_agent: str
    bearer: bool  # made with a Bedrock API key (the callWithBearerToken marker)
    own: bool  # this audit's own probe (its user agent)
    this_run: bool = False  # this run's own probe (its user agent carries this run's token)
    earlier_run: bool = False  # an earlier run's probe (its token, within that run's span: ProbeRun.sent)
    error_code: str | None = None


@dataclasses.dataclass
class RegionRead:
    """What ``LookupEvents`` (Username = the user) answered in one region."""

    region: str
    events: list[dict[str, Any]]
    truncated: bool = False


@dataclasses.dataclass
class Parsed:
    calls: list[KeyCall]
    sigv4_bedrock: int = 0  # Bedrock events of the user without the bearer marker
    unreadable: int = 0  # events of the user whose CloudTrailEvent is not a JSON object
    truncated: list[str] = dataclasses.field(default_factory=list)  # regions with more than MAX_EVENTS


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _parse_time(value: Any, fallback: Any) -> dt.datetime | None:
    for v in (fallback, value):
        if isinstance(v, dt.datetime):
            return v if v.tzinfo else v.replace(tzinfo=dt.timezone.utc)
        if isinstance(v, str):
            try:
                t = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
            except ValueError:
                continue
            return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)
    return None


def is_users_record(body: dict[str, Any], user_name: str, user_arn: str | None) -> bool:
    """The record's caller is the IAM user itself (not a role session or another user of that name
    in another account): ``userIdentity.type`` ``IAMUser`` and its ARN (or, without one, its name)."""
    ident = body.get("userIdentity")
    if not isinstance(ident, dict) or ident.get("type") != "IAMUser":
        return False
    if user_arn and ident.get("arn"):
        return str(ident["arn"]) == user_arn
    return str(ident.get("userName", "")).lower() == user_name.lower()


def parse(reads: Iterable[RegionRead], user_name: str, user_arn: str | None, token: str | None = None,
          earlier: Iterable[ProbeRun] = ()) -> Parsed:
    """The user's Bedrock calls out of the raw ``LookupEvents`` answers of each region (``token``: this
    run's probe token, :func:`run_token` by default; ``earlier``: earlier runs' probe tokens)."""
    earlier = tuple(earlier)
    out = Parsed(calls=[])
    mark = f" run/{token or run_token()}"
    for read in reads:
        if read.truncated:
            out.truncated.append(read.region)
        for ev in read.events:
            try:
                body = json.loads(ev.get("CloudTrailEvent") or "")
            except (TypeError, ValueError):
                body = None
            if not isinstance(body, dict):
                out.unreadable += 1
                continue
            source = body.get("eventSource") or ev.get("EventSource")
            if source != BEDROCK_SOURCE or not is_users_record(body, user_name, user_arn):
                continue
            extra_raw, req_raw = body.get("additionalEventData"), body.get("requestParameters")
            extra: dict[str, Any] = extra_raw if isinstance(extra_raw, dict) else {}
            req: dict[str, Any] = req_raw if isinstance(req_raw, dict) else {}
            bearer = _truthy(extra.get("callWithBearerToken")) or _truthy(req.get("callWithBearerToken"))
            if not bearer:
                out.sigv4_bedrock += 1
                continue
            time = _parse_time(body.get("eventTime"), ev.get("EventTime"))
            if time is None:
                out.unreadable += 1
                continue
            agent = str(body.get("userAgent") or "")
            event_name = str(body.get("eventName") or ev.get("EventName") or "?")
            out.calls.append(KeyCall(
                time=time, region=str(body.get("awsRegion") or read.region),
                event_name=event_name,
                source_ip=str(body.get("sourceIPAddress") or ""), user_agent=agent, bearer=True,
                own=agent.startswith(AUDIT_AGENT_PREFIX), error_code=body.get("errorCode"),
                this_run=agent.startswith(AUDIT_AGENT_PREFIX) and agent.endswith(mark) and event_name in PROBE_EVENTS,
                earlier_run=any(r.sent(agent, time, event_name) for r in earlier)))
    return out


def networks(cidrs: Iterable[str]) -> list[IpNetwork]:
    return [ipaddress.ip_network(c, strict=False) for c in cidrs]


def inside(address: str, allowed: list[IpNetwork]) -> bool:
    """``address`` is an IP address in one of ``allowed`` (an IPv4-mapped IPv6 address counts as its IPv4)."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return any((ip in n) or (mapped is not None and mapped in n) for n in allowed)


@dataclasses.dataclass
class Verdict:
    status: str  # pass | fail | error
    message: str
    facts: dict[str, Any]


def _days(delta: dt.timedelta) -> int:
    return int(delta.total_seconds() // 86400)


def _top(counter: Counter[str], n: int = 5) -> str:
    items = [f"{k or '(none)'} ×{v}" for k, v in counter.most_common(n)]
    more = len(counter) - n
    return ", ".join(items) + (f" and {more} more" if more > 0 else "")


def _where(regions: list[str]) -> str:
    """The Regions read, for a sentence: named when few, counted when many (the facts list them all)."""
    if len(regions) <= 3:
        return "/".join(regions)
    return f"{len(regions)} Regions ({', '.join(regions[:2])} and {len(regions) - 2} more)"


def judge(parsed: Parsed, *, user: str, now: dt.datetime, key_created: list[dt.datetime], max_unused_days: int,
          allowed_cidrs: list[str] | None, regions: list[str], window_start: dt.datetime,
          region_unknown: str | None = None) -> Verdict:
    """The verdict of ``credential.recently_used`` (see the module docstring) and the facts behind it.

    ``key_created``: the CreateDate of each Active Bedrock key of ``user`` (none: nothing can be left unused;
    calls of the window are still judged for their source).
    ``window_start``: the StartTime of the lookups (the history read covers it to ``now``).
    ``region_unknown``: why Regions where the key works may have gone unread (one sentence, ending in what
    would settle it).  The key may then be used in a Region whose history was not read, so neither
    "unused" nor "only from the allowed ranges" can be proved (a use found, or a call from outside,
    still decides).
    """
    uses = sorted((c for c in parsed.calls if not c.own), key=lambda c: c.time, reverse=True)
    own = [c for c in parsed.calls if c.own]
    last = uses[0].time if uses else None
    where = _where(regions)
    scope = (f"(CloudTrail event history in {where}; records do not say which of {user}'s Bedrock keys made a call, "
             "so calls are matched on the user)")
    facts: dict[str, Any] = {
        "regions": regions, "window_start": window_start.isoformat(), "calls": len(uses),
        "last_use": last.isoformat() if last else None,
        "calls_by_region": dict(Counter(c.region for c in uses)), "regions_unread": region_unknown,
        "source_ips": dict(Counter(c.source_ip for c in uses)), "user_agents": dict(Counter(c.user_agent for c in uses)),
        "denied_calls": sum(1 for c in uses if c.error_code), "audit_probe_calls": len(own),
        "sigv4_bedrock_calls": parsed.sigv4_bedrock, "unreadable_events": parsed.unreadable,
        "truncated_regions": parsed.truncated, "max_unused_days": max_unused_days,
        "allowed_source_cidrs": allowed_cidrs,
    }
    fails: list[str] = []
    unknown: list[str] = []
    fine: list[str] = []

    # -- unused
    limit = dt.timedelta(days=max_unused_days)
    oldest = min(key_created) if key_created else now
    if not key_created:
        fine.append("no Active Bedrock API key, so none is left unused (an Inactive or Expired key cannot be used; "
                    "see credential.active)")
    elif now - oldest <= limit:
        fine.append(f"key created {_days(now - oldest)} day(s) ago is not yet due (max_unused_days {max_unused_days})"
                    + (f", last used {last:%Y-%m-%d}" if last else ""))
    elif last is not None and now - last <= limit:
        fine.append(f"last used {last:%Y-%m-%d %H:%M} UTC ({_days(now - last)} day(s) ago)")
    elif region_unknown:
        unknown.append(f"no call with the key of {user} in {where} since {window_start:%Y-%m-%d}, but "
                       f"{region_unknown}")
    elif window_start <= now - limit:
        seen = (f"last use {last:%Y-%m-%d} ({_days(now - last)} days ago)" if last
                else f"no call with it in the {_days(now - window_start)} days of event history")
        fails.append(f"the Bedrock API key of {user} was not used for more than max_unused_days {max_unused_days} "
                     f"({seen}; key created {_days(now - oldest)} days ago): deactivate it if no workload needs it")
    else:
        unknown.append(f"no call with the key of {user} in the {_days(now - window_start)} days event history "
                       f"covers, and max_unused_days is {max_unused_days}: whether it was used before that is "
                       "unknown; read the trail's S3 logs or set max_unused_days to at most 90")

    # -- where from
    if allowed_cidrs:
        nets = networks(allowed_cidrs)
        # this run's own probes are not calls from elsewhere (the module docstring says why only they)
        outside = [c for c in parsed.calls if not inside(c.source_ip, nets) and not c.this_run and not c.earlier_run]
        facts["outside_calls"] = len(outside)
        facts["spared_as_probes"] = sum(1 for c in parsed.calls if not inside(c.source_ip, nets)
                                        and (c.this_run or c.earlier_run))
        facts["probes_spared_when"] = (
            f"a call carries this run's or a recorded earlier run's probe token, is a probe's operation "
            f"({', '.join(sorted(PROBE_EVENTS))}) and was made within that run's span, give or take "
            f"{int(PROBE_CLOCK_SLACK.total_seconds())} s of clock error; not decidable: such a call replayed during "
            "the run's own span is indistinguishable from the probes")
        if outside:
            ips = Counter(c.source_ip for c in outside)
            own_out = sum(1 for c in outside if c.own)
            note = f" ({own_out} of them with this audit's user agent)" if own_out else ""
            in_regions = Counter(c.region for c in outside)
            fails.append(f"{len(outside)} call(s) with the key of {user} came from outside allowed_source_cidrs: "
                         f"{_top(ips)}{note}, in {_top(in_regions)}; if they are not yours, rotate the key")
        elif parsed.truncated or parsed.unreadable:
            why = (f"more than {MAX_EVENTS} events in {', '.join(parsed.truncated)} were not read"
                   if parsed.truncated else f"{parsed.unreadable} event(s) could not be read")
            unknown.append(f"the calls read all came from allowed_source_cidrs, but {why}, so a call from "
                           "elsewhere cannot be ruled out")
        elif region_unknown:
            unknown.append(f"the calls read all came from allowed_source_cidrs, but {region_unknown}")
        else:
            fine.append(f"every call came from allowed_source_cidrs ({', '.join(allowed_cidrs)})")

    probes = f" (and {len(own)} of this audit's own probes, not counted)" if own else ""
    summary = (f"{len(uses)} call(s) since {window_start:%Y-%m-%d} in {_top(Counter(c.region for c in uses), 3)} "
               f"from {_top(Counter(c.source_ip for c in uses))}; "
               f"user agents {_top(Counter(c.user_agent for c in uses), 3)}{probes}" if uses
               else f"no call since {window_start:%Y-%m-%d}{probes}")
    if fails:
        return Verdict("fail", "; ".join(fails) + f" {scope}", facts)
    if unknown:
        return Verdict("error", "; ".join(unknown) + f" {scope}", facts)
    return Verdict("pass", f"{user}: " + "; ".join(fine) + f"; {summary} {scope}", facts)


@dataclasses.dataclass(frozen=True)
class KeyUseRegions:
    """Where the key's user made key calls, as the key-use read (:func:`parse` per Region) shows.

    ``used``: Regions with at least one call made with a Bedrock API key of the user (the audit's own
    probes included: they prove the key works there).  ``unsure``: Regions read only in part (more than
    :data:`MAX_EVENTS` events, or records that are not JSON) with no call found, so use there is not
    ruled out.  ``unknown``: why Regions may not have been read at all (the enabled Regions, or the whole
    read, could not be read); None when every Region where the key works was read."""

    used: frozenset[str] = frozenset()
    unsure: frozenset[str] = frozenset()
    unknown: str | None = None


def key_use_regions(reads: Iterable[RegionRead], user_name: str, user_arn: str | None,
                    region_unknown: str | None = None) -> KeyUseRegions:
    """The Regions where the key's user called Bedrock with a key, out of ``credential.recently_used``'s
    reads (the same facts: no further call)."""
    used: set[str] = set()
    unsure: set[str] = set()
    for read in reads:
        p = parse([read], user_name, user_arn)
        found = {c.region for c in p.calls}
        used |= found
        if not found and (read.truncated or p.unreadable):
            unsure.add(read.region)
    return KeyUseRegions(frozenset(used), frozenset(unsure - used), region_unknown)
