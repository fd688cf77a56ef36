"""Waivers: accepted risks recorded in ``audit.toml`` (``[[waivers]]``), with an expiry.

    [[waivers]]
    check = "cloudtrail.kms[govcloud]"      # which row(s); see below
    justification = "trail logs are encrypted by the log archive account's bucket policy"
    approved_by = "ciso@example.com"
    expires = 2027-03-31                    # a TOML date (or "2027-03-31"); required

``check`` selects rows:

* ``<check id>``: every row of that check;
* ``<check id>[<item>,...]``: the rows whose params match every item, an item being
  ``value`` (any param has that value: ``cloudtrail.kms[govcloud]``) or ``name=value``
  (``iam.user_exists[account=prod]``);
* either of these followed by ``@<resource>``: only rows whose resource (the ARN the row
  names) matches, exactly or as a shell-style pattern (``*``, ``?``):
  ``iam.policy_least_privilege@arn:aws:iam::*:user/bedrock-cross-partition-user``.

``expires`` is the last day (UTC) the waiver holds; it may be at most :data:`MAX_DAYS`
days after the run's date.  "Now" is the audit's clock (the ``now`` fixture: with
``--emulate`` the emulator's clock).

What a waiver does to a row (:func:`apply_to_record`):

* a ``fail`` row under a live waiver ends ``waived`` (not pass; the exit status and
  ``--fail-on`` ignore it), carrying ``waiver`` = the waiver's check, justification,
  approver, expiry and ``state: "live"``;
* a ``fail`` row under a lapsed waiver stays ``fail`` and carries the waiver with
  ``state: "lapsed"`` (the report says it lapsed after ``expires``);
* ``pass``, ``error`` (could not decide: nothing to accept), ``skip`` rows are unchanged.

Each waiver's own state for the run (:func:`waiver_states`): ``live`` (it waived a row),
``lapsed`` (expired), ``stale`` (unknown check id, or every row it matches passes, or it
matches no row of a check that ran), ``undecided`` (its rows could not decide or were
skipped; or it names a resource a remediation step creates and the plan weighed it: :func:`weighed_by_plan`), ``not_run`` (its check did not run, e.g. deselected with ``-k``).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

MAX_DAYS = 365
WAIVED = "waived"
LIVE, LAPSED, STALE, UNDECIDED, NOT_RUN = "live", "lapsed", "stale", "undecided", "not_run"

_SELECTOR = re.compile(r"^(?P<id>[a-z0-9_]+(?:\.[a-z0-9_]+)+)(?:\[(?P<params>[^\]]*)\])?(?:@(?P<resource>\S+))?$")
_ITEM = re.compile(r"^(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)=)?(?P<value>[^,=\s]+)$")


@dataclasses.dataclass(frozen=True)
class Waiver:
    check: str                                   # the selector as written
    check_id: str
    params: tuple[tuple[str | None, str], ...]   # (param name or None for "any", value)
    resource: str | None
    justification: str
    approved_by: str
    expires: dt.date

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check, "check_id": self.check_id, "justification": self.justification,
                "approved_by": self.approved_by, "expires": self.expires.isoformat()}

    def live_at(self, now: dt.datetime) -> bool:
        """Holds through the whole of its ``expires`` day (UTC)."""
        return _utc_date(now) <= self.expires

    def matches(self, row: Mapping[str, Any]) -> bool:
        """``row`` is a check record (``check_id``) or a results.json row (``id``)."""
        if str(row.get("id") or row.get("check_id") or "") != self.check_id:
            return False
        params = {str(k): str(v) for k, v in (row.get("params") or {}).items()}
        for name, value in self.params:
            if name is None:
                if value not in params.values():
                    return False
            elif params.get(name) != value:
                return False
        if self.resource is not None:
            resource = row.get("resource")
            if not resource or not fnmatch.fnmatchcase(str(resource), self.resource):
                return False
        return True


def _utc_date(now: dt.datetime) -> dt.date:
    return (now.astimezone(dt.timezone.utc) if now.tzinfo else now).date()


def parse_selector(text: str) -> tuple[str, tuple[tuple[str | None, str], ...], str | None]:
    """``id[items]@resource`` → (check id, param items, resource pattern).  Raises ValueError."""
    m = _SELECTOR.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a check selector (expected <check id>, <check id>[<param>,...] "
                         "or either followed by @<resource>)")
    items: list[tuple[str | None, str]] = []
    if m.group("params") is not None:
        for raw in m.group("params").split(","):
            im = _ITEM.match(raw.strip())
            if not im:
                raise ValueError(f"{text!r}: {raw.strip()!r} is not a param (expected value or name=value)")
            items.append((im.group("name"), im.group("value")))
        if not items:
            raise ValueError(f"{text!r}: empty [] (name a param or drop the brackets)")
    return m.group("id"), tuple(items), m.group("resource")


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValueError(  # bad input, reported as one line like every other
            f"{value.isoformat()!r} is a date-time; give a date (YYYY-MM-DD)")
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def parse_waivers(entries: Iterable[Mapping[str, Any]], today: dt.date | None) -> list[Waiver]:
    """The ``[[waivers]]`` entries (already schema-checked), with ``expires`` at most
    :data:`MAX_DAYS` after ``today`` (the run's date; None: not checked, for a configuration
    already validated).  Raises ValueError naming the entry."""
    out = []
    for i, entry in enumerate(entries):
        where = f"waivers.{i}"
        try:
            check_id, params, resource = parse_selector(str(entry["check"]))
        except ValueError as exc:
            raise ValueError(f"{where}.check: {exc}") from None
        try:
            expires = _as_date(entry["expires"])
        except ValueError as exc:
            raise ValueError(f"{where}.expires: {exc}") from None
        if today is not None and expires > today + dt.timedelta(days=MAX_DAYS):
            raise ValueError(f"{where}.expires: {expires.isoformat()} is more than {MAX_DAYS} days after the run's "
                             f"date ({today.isoformat()}); renew the waiver for at most {MAX_DAYS} days")
        out.append(Waiver(check=str(entry["check"]).strip(), check_id=check_id, params=params, resource=resource,
                          justification=str(entry["justification"]).strip(),
                          approved_by=str(entry["approved_by"]).strip(), expires=expires))
    return out


def waiver_for(row: Mapping[str, Any], waivers: Iterable[Waiver], now: dt.datetime) -> tuple[Waiver, bool] | None:
    """The waiver that governs ``row`` and whether it is live: a live one (the latest expiry)
    before a lapsed one (the latest expiry), None when none matches."""
    matching = [w for w in waivers if w.matches(row)]
    if not matching:
        return None
    live = [w for w in matching if w.live_at(now)]
    pool = live or matching
    best = max(pool, key=lambda w: w.expires)
    return best, bool(live)


def waiver_note(waiver: Mapping[str, Any]) -> str:
    """One line for terminals and tables: what the waiver says, and whether it lapsed."""
    who = f"approved by {waiver.get('approved_by')}"
    if waiver.get("state") == LAPSED:
        return (f"waiver lapsed: it expired at the end of {waiver.get('expires')} ({who}: "
                f"{waiver.get('justification')})")
    return f"waived until {waiver.get('expires')}, {who}: {waiver.get('justification')}"


def apply_to_record(record: dict[str, Any], waivers: Iterable[Waiver], now: dt.datetime) -> bool:
    """Apply the waivers to one check record (``CheckRecord.as_dict()``) in place; True when
    the row became ``waived``.  Only a ``fail`` row is waived (an ``error`` row could not
    decide: there is no known risk to accept)."""
    if record.get("status") != "fail":
        return False
    found = waiver_for(record, waivers, now)
    if found is None:
        return False
    waiver, live = found
    record["waiver"] = dict(waiver.as_dict(), state=LIVE if live else LAPSED)
    if live:
        record["status"] = WAIVED
    return live


def waiver_states(waivers: Iterable[Waiver], rows: Sequence[Mapping[str, Any]], known_ids: Iterable[str],
                  now: dt.datetime, selection: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Each waiver's state in this run (module docstring), the rows it matched and one reason.  ``selection``:
    the filters of a run that audited part of the checks (results.json ``run.selection``); there a waiver that
    matches no row of a check that ran may cover a row the selection left out, so it did not run (not stale)."""
    known = set(known_ids)
    out = []
    for w in waivers:
        matched = [r for r in rows if w.matches(r)]
        ran = any(str(r.get("id") or r.get("check_id")) == w.check_id for r in rows)
        statuses = {str(r.get("status")) for r in matched}
        labels = [_label(r) for r in matched]
        if w.check_id not in known:
            state, reason = STALE, f"{w.check_id} is not a check id of this audit"
        elif statuses & {WAIVED}:
            state, reason = LIVE, f"waives {', '.join(_label(r) for r in matched if r.get('status') == WAIVED)}"
        elif not w.live_at(now):
            state, reason = LAPSED, f"expired at the end of {w.expires.isoformat()}"
        elif not ran:
            state, reason = NOT_RUN, f"{w.check_id} did not run"
        elif not matched and selection:
            state, reason = NOT_RUN, f"matches no row of {w.check_id} that this selection ran ({', '.join(selection)})"
        elif not matched:
            state, reason = STALE, f"matches no row of {w.check_id}"
        elif statuses <= {"pass"}:
            state, reason = STALE, f"{', '.join(labels)} passed: the waiver is no longer needed"
        else:
            state, reason = UNDECIDED, f"{', '.join(labels)} ended {', '.join(sorted(statuses))}: nothing waived"
        out.append(dict(w.as_dict(), state=state, reason=reason, rows=labels))
    return out


def weighed_by_plan(states: list[dict[str, Any]], shaped: Mapping[str, str]) -> None:
    """A waiver scoped to a resource that does not exist yet matches no row (the row fails for its absence, under
    another resource name), yet remediation weighed it against what a step creates (``shaped``: the waiver's
    sentence, ``<selector>, until <date>, approved by <who>``, -> the resource pattern it names): it stopped or
    adapted that step, so it is not stale.  Such an entry is ``undecided`` (it waived no row) with a reason
    that says what it did; in place."""
    for entry in states:
        scope = next((sc for sentence, sc in shaped.items() if sentence.startswith(f"{entry['check']}, until ")), None)
        if entry["state"] == STALE and scope is not None and not entry["rows"]:
            entry["state"], entry["reason"] = UNDECIDED, (
                f"matches no row of {entry['check_id']} yet: it names {scope}, which a remediation step creates, "
                "and the plan left the property it judges as the waiver accepts (or made the step manual)")


def _label(row: Mapping[str, Any]) -> str:
    params = row.get("params") or {}
    cid = str(row.get("id") or row.get("check_id"))
    return cid + ("[" + ",".join(f"{k}={v}" for k, v in sorted(params.items())) + "]" if params else "")
