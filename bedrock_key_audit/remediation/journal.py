"""The remediation journal: what a rotation (or a KMS key creation) is about to do, written before it does it.

A run can stop anywhere: a SIGKILL, a SIGTERM, a denied or throttled write, a crash.  AWS
itself keeps part of the record (the secret version id a rotation writes names the credential
it holds: ``<credential id>-<hex>``, :func:`bedrock_key_audit.remediation.rotation.version_token`);
what AWS cannot keep -- "a key is being created for this user now, and these are the keys it
already has", "this KMS key was created for the alias" -- is appended here *before* the call,
so the next run can tell its own leftovers from another workload's keys.  A service-specific credential
carries nothing of its own to mark it: ``CreateServiceSpecificCredential`` takes only ``UserName``,
``ServiceName`` and ``CredentialAgeDays`` (IAM API Reference, "CreateServiceSpecificCredential",
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateServiceSpecificCredential.html), so between
that call and the secret write only this journal -- and, for a run that reads another run directory, the
intent marker the rotation tags on the secret (:data:`bedrock_key_audit.remediation.rotation.INTENT_TAG`) --
knows the key is the tool's.

One JSON object per line in ``remediation-journal.jsonl`` of the run directory, flushed and
fsynced per event (a SIGKILL after the write still leaves it on disk).  The next run reads the
journals of every run directory under the reports base (``history.run_dirs``).  Events hold ids,
ARNs, version ids and times, never a key.

Events (``kind``/``phase``):

* ``rotation``: ``create_key`` (``user``, ``secret``, ``before_ids``: the user's credential ids,
  ``at``: the audit clock), ``created`` (``credential``), ``write_pending`` (``credential``,
  ``version``), ``promote``, ``committed`` or ``rolled_back`` (the end).
* ``kms``: ``create_key`` (``partition``, ``at``), ``created`` (``arn``), ``aliased`` (the end).
* ``bucket`` (id: the bucket name): ``create`` (``partition``) before ``CreateBucket``, then ``tagged``
  (the end: the bucket carries ``created-by=bedrock-key-audit``) or ``rolled_back`` (AWS refused it).
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any, Iterable

from bedrock_key_audit.redaction import redact_obj

FILE = "remediation-journal.jsonl"
END_PHASES = {"committed", "rolled_back", "aliased", "tagged"}


class Journal:
    """Append-only events of this run (``write_dir``) plus those of earlier runs (``read_dirs``)."""

    def __init__(self, write_dir: Path | None = None, read_dirs: Iterable[Path] = ()):
        self.write_dir = write_dir
        self.read_dirs = [d for d in read_dirs if d != write_dir]
        self.mine: list[dict[str, Any]] = []
        self._earlier: list[dict[str, Any]] | None = None  # earlier runs' journals do not change: read once

    def record(self, kind: str, ident: str, phase: str, **fields: Any) -> None:
        event: dict[str, Any] = redact_obj({"kind": kind, "id": ident, "phase": phase,
                                            "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                                            **{k: _plain(v) for k, v in fields.items()}})
        self.mine.append(event)
        if self.write_dir is None:
            return
        try:
            self.write_dir.mkdir(parents=True, exist_ok=True)
            with open(self.write_dir / FILE, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(event, sort_keys=True) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError:
            pass  # the journal is a help to the next run; AWS's own record (version ids) still holds

    def scratch(self) -> "Journal":
        """A journal that reads what this one reads and writes nowhere (a plan's dry run)."""
        other = Journal(None, [])
        other._earlier = self.events()
        return other

    def events(self) -> list[dict[str, Any]]:
        """Every event of earlier runs (oldest run first), then this run's."""
        if self._earlier is None:
            self._earlier = [ev for d in sorted(self.read_dirs) for ev in read(d)]
        return self._earlier + list(self.mine)

    def open_entries(self, kind: str) -> dict[str, dict[str, Any]]:
        """Per id of ``kind`` that never reached an end phase: its events merged (later fields win), with
        ``phases`` listing what it started."""
        merged: dict[str, dict[str, Any]] = {}
        for ev in self.events():
            if ev.get("kind") != kind or not ev.get("id"):
                continue
            m = merged.setdefault(str(ev["id"]), {"phases": []})
            m["phases"].append(ev.get("phase"))
            m.update({k: v for k, v in ev.items() if k not in ("phase", "time")})
        return {k: v for k, v in merged.items() if not END_PHASES & set(v["phases"])}

    def ended(self, kind: str) -> set[str]:
        """Ids of ``kind`` that reached an end phase (in any journal this one reads)."""
        return {str(ev["id"]) for ev in self.events()
                if ev.get("kind") == kind and ev.get("id") and ev.get("phase") in END_PHASES}


def read(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        try:
            ev = json.loads(line)
        except ValueError:
            continue  # a line cut short by a kill: the events before it still count
        if isinstance(ev, dict):
            out.append(ev)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def parse_time(text: Any) -> dt.datetime | None:
    try:
        t = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)
