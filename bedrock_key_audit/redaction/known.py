"""The keys this process has seen, masked wherever a long enough piece of one turns up.

The patterns (:mod:`patterns`) find a key by its shape: ``ABSK`` + base64, ``bedrock-api-key-`` + base64.  A piece
of a key has no shape: pytest's assertion diff of two keys that share a prefix prints each from a few characters
before the first difference (``jc4OTAxMjp3OEpu…``, no ``ABSK``), a decoded key is ``<user>-at-<account>:<secret>``,
a key's base64 body may be printed without its prefix, and a wrapped line splits a key.  So every key the tool reads
or makes is remembered (:func:`remember`: the AWS call layer hands it each answer's secret fields), with the forms
that carry its secret: the key, its base64 body, and the decoded secret part (never the public ``<user>-at-<account>``
alias); a short-term key's presigned URL gives its signature and session token.  :func:`mask` then masks every run
of ``WINDOW`` or more characters that is a piece of one of them: the secrets a CI system is given are masked in its
logs the same way, here extended from the whole value to its pieces.

Standard library only (this package is a leaf).
"""
from __future__ import annotations

import base64
import binascii
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterable

from bedrock_key_audit.redaction.patterns import MASK

WINDOW = 12  # shorter pieces are left: they are common in ordinary text, and far too short to rebuild a key from
_KEY_TOKENS = re.compile(r"ABSK[A-Za-z0-9+/]+=*|bedrock-api-key-[A-Za-z0-9+/]+=*")
_SHORT_TERM_SECRETS = ("X-Amz-Signature", "X-Amz-Security-Token")

_lock = threading.Lock()
_windows: frozenset[str] = frozenset()
_candidates: re.Pattern[str] | None = None
_on_change: list[Callable[[], None]] = []


def _b64(text: str) -> str | None:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def forms(token: str) -> list[str]:
    """The strings that carry ``token``'s secret: the token, its base64 body, and what the body decodes to
    past the public part (a long-term key's secret after ``:``; a short-term key's signature and session token)."""
    out = [token]
    if token.startswith("ABSK"):
        body = token[4:]
        out.append(body)
        decoded = _b64(body.rstrip("="))
        if decoded and ":" in decoded:
            out.append(decoded.split(":", 1)[1])
    elif token.startswith("bedrock-api-key-"):
        body = token[len("bedrock-api-key-"):]
        out.append(body)
        decoded = _b64(body.rstrip("="))
        if decoded:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(decoded if "://" in decoded else "https://" + decoded).query)
            out += [v for name in _SHORT_TERM_SECRETS for v in query.get(name, [])]
    return [f for f in out if len(f) >= WINDOW]


def remember(values: Iterable[str]) -> None:
    """Remember every key inside ``values`` (a key, a secret's JSON text, any answer field that holds one)."""
    found = [f for v in values if isinstance(v, str) for t in _KEY_TOKENS.findall(v) for f in forms(t)]
    if not found:
        return
    global _windows, _candidates
    with _lock:
        fresh = {f[i:i + WINDOW] for f in found for i in range(len(f) - WINDOW + 1)} - _windows
        if not fresh:
            return
        _windows = _windows | fresh
        chars = sorted({c for w in _windows for c in w})
        _candidates = re.compile("[" + "".join(re.escape(c) for c in chars) + "]{%d,}" % WINDOW)
    for callback in list(_on_change):
        callback()


def on_change(callback: Callable[[], None]) -> None:
    """Call ``callback`` whenever a key is remembered (a cache of redacted strings must then be dropped)."""
    _on_change.append(callback)


def forget_all() -> None:
    """Forget every key (tests)."""
    global _windows, _candidates
    with _lock:
        _windows, _candidates = frozenset(), None
    for callback in list(_on_change):
        callback()


def mask(text: str) -> str:
    """``text`` with every run of ``WINDOW``+ characters that is a piece of a remembered key masked."""
    windows, candidates = _windows, _candidates
    if candidates is None or len(text) < WINDOW:
        return text
    spans: list[tuple[int, int]] = []
    for m in candidates.finditer(text):
        run, base = m.group(), m.start()
        j, last = 0, len(run) - WINDOW
        while j <= last:
            if run[j:j + WINDOW] in windows:
                end = j + WINDOW
                while end < len(run) and run[end - WINDOW + 1:end + 1] in windows:
                    end += 1
                spans.append((base + j, base + end))
                j = end
            else:
                j += 1
    if not spans:
        return text
    out, at = [], 0
    for start, end in spans:
        out += [text[at:start], MASK]
        at = end
    out.append(text[at:])
    return "".join(out)
