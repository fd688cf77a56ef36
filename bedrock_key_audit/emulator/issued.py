"""Credentials the emulator's sts:AssumeRole issued: which account and partition each access key acts in, and
until when.  The AssumeRole patches (``organization``, ``reach``) record them; request routing (``server``,
``partitions``) reads them.  Imports only the emulator's clock."""
from __future__ import annotations

import datetime as dt
import re
import threading
from typing import Any

from bedrock_key_audit.emulator import clock

_lock = threading.Lock()
# access key id -> (account id, arn partition, expiration)
_issued: dict[str, tuple[str, str, dt.datetime]] = {}
# access key id -> the session tags AssumeRole(Tags=...) gave the session ("Passing session tags in AWS STS")
_session_tags: dict[str, dict[str, str]] = {}
_KEY_ID = re.compile(r"Credential=([A-Z0-9]{16,128})/")
_QUERY_KEY_ID = re.compile(r"(?:^|&)X-Amz-Credential=([A-Z0-9]{16,128})(?:/|%2F)", re.I)


def reset() -> None:
    with _lock:
        _issued.clear()
        _session_tags.clear()


def record(key: str, account: str, arn_partition: str, expires: dt.datetime,
           tags: dict[str, str] | None = None) -> None:
    """AssumeRole issued ``key``: it acts in ``account`` of ``arn_partition`` until ``expires``, with the
    session tags ``tags``."""
    with _lock:
        _issued[key] = (account, arn_partition, expires)
        if tags:
            _session_tags[key] = dict(tags)


def session_tags(key: str | None) -> dict[str, str]:
    """The session tags of the role session ``key`` signs for ({} when it has none)."""
    with _lock:
        return dict(_session_tags.get(key or "", {}))


def access_key_id(environ: dict[str, Any]) -> str | None:
    """The access key id a SigV4 request is signed with (header or presigned query), or None."""
    m = _KEY_ID.search(environ.get("HTTP_AUTHORIZATION", "") or "")
    if m:
        return m.group(1)
    q = _QUERY_KEY_ID.search(environ.get("QUERY_STRING", "") or "")
    return q.group(1) if q else None


def issued_partition(key: str | None) -> str | None:
    """The ARN partition of assumed-role credentials this module issued, or None."""
    with _lock:
        issued = _issued.get(key or "")
    return issued[1] if issued else None


def account_for_request(environ: dict[str, Any], arn_partition: str) -> str | None:
    """The account a request acts in when it is signed with credentials AssumeRole issued here
    (and not expired), in the same partition; None otherwise."""
    key = access_key_id(environ)
    with _lock:
        issued = _issued.get(key or "")
    if issued is None or issued[1] != arn_partition or issued[2] <= clock.now():
        return None
    return issued[0]


def expired_request(environ: dict[str, Any]) -> bool:
    """Signed with assumed-role credentials issued here that have expired (AWS: ``ExpiredToken``)."""
    key = access_key_id(environ)
    with _lock:
        issued = _issued.get(key or "")
    return issued is not None and issued[2] <= clock.now()
