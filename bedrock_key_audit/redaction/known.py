"""The keys this process has seen, masked wherever a long enough piece of one turns up.

The patterns (:mod:`patterns`) find a key by its shape: ``ABSK`` + base64, ``bedrock-api-key-`` + base64.  A piece
of a key has no shape: pytest's assertion diff of two keys that share a prefix prints each from a few characters
before the first difference (``jc4OTAxMjp3OEpu…``, no ``ABSK``), a decoded key is ``<user>-at-<account>:<secret>``,
a key's base64 body may be printed without its prefix, and a wrapped line splits a key.  So every key the tool reads
or makes is remembered (:func:`remember`: the AWS call layer hands it each answer's secret fields), as the forms that
carry its secret and nothing public: the decoded secret part, and the characters of the base64 body that encode only
secret bytes (never those of the ``<user>-at-<account>`` alias, whose base64 is public text too: the same bytes at the
same alignment in an evidence document encode to the same characters); of a short-term key, the signature and session
token of its presigned URL, and the body characters that encode only them.  Each form is also remembered
percent-encoded (:func:`percent_encoded`: ``/`` encoded or kept, hex digits in either case).  :func:`mask` then masks every run of ``WINDOW`` or more characters that is a piece of one of them:
the secrets a CI system is given are masked in its logs the same way, here extended from the whole value to its pieces.

Standard library only (this package is a leaf).
"""
from __future__ import annotations

import base64
import binascii
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterable

from bedrock_key_audit.redaction.patterns import KEY_HEAD, MASK

WINDOW = 12  # shorter pieces are left: they are common in ordinary text, and far too short to rebuild a key from
_KEY_TOKENS = re.compile(KEY_HEAD + r"[A-Za-z0-9+/]+=*|bedrock-api-key-[A-Za-z0-9+/]+=*")
_SHORT_TERM_SECRETS = ("X-Amz-Signature", "X-Amz-Security-Token")
_PERCENT = re.compile(r"%[0-9A-F]{2}")

_lock = threading.Lock()
_windows: set[str] = set()
_chars: set[str] = set()
_candidates: re.Pattern[str] | None = None
generation = 0  # grows with every key remembered: a cache of redacted strings keys on it


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _body_encoding(body: str, start: int, end: int) -> str:
    """The characters of base64 ``body`` that encode only bytes ``start:end`` of what it decodes to (whole groups
    of 3 bytes, 4 characters each)."""
    first, last = -(-start // 3), end // 3
    return body[first * 4:last * 4] if last > first else ""


def forms(token: str) -> list[str]:
    """The strings that carry ``token``'s secret and nothing public (module docstring)."""
    out: list[str] = []
    if token.startswith("bedrock-api-key-"):
        body = token[len("bedrock-api-key-"):].rstrip("=")
        raw = _b64(body)
        if raw is not None:
            text = raw.decode("utf-8", "replace")
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(text if "://" in text else "https://" + text).query)
            for name in _SHORT_TERM_SECRETS:
                for value in query.get(name, []):
                    out.append(value)
                    for encoded in {value, urllib.parse.quote(value, safe=""), urllib.parse.quote(value, safe="/")}:
                        at = raw.find(encoded.encode())
                        if at >= 0:
                            out.append(_body_encoding(body, at, at + len(encoded)))
        else:
            out.append(body)
    else:
        body = token[token.index("ABSK") + 4:].rstrip("=")
        raw = _b64(body)
        colon = raw.find(b":") if raw is not None else -1
        if raw is None or colon < 0:
            out.append(body)  # not a well-formed key: all of it is treated as secret
        else:
            out += [raw[colon + 1:].decode("utf-8", "replace"), _body_encoding(body, colon + 1, len(raw))]
    out += [q for f in out for q in percent_encoded(f)]
    return [f for f in dict.fromkeys(out) if len(f) >= WINDOW]


def percent_encoded(text: str) -> list[str]:
    """``text`` percent-encoded as encoders write it: every reserved character encoded (JavaScript's
    ``encodeURIComponent``, IAM's policy documents) or ``/`` kept (Python's ``urllib.parse.quote``), each with
    upper- or lower-case hex digits (RFC 3986 section 2.1: equivalent, upper case recommended)."""
    out = []
    for safe in ("", "/"):
        quoted = urllib.parse.quote(text, safe=safe)
        out += [quoted, _PERCENT.sub(lambda m: m.group().lower(), quoted)]
    return [q for q in dict.fromkeys(out) if q != text]


def _texts(value: str | bytes) -> list[str]:
    """``value`` as text, and as it reads once JSON's ``\\/`` and percent-encoding are undone."""
    text = value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else value
    return list(dict.fromkeys([text, text.replace("\\/", "/"), urllib.parse.unquote(text)]))


def remember(values: Iterable[str | bytes]) -> None:
    """Remember every key inside ``values`` (a key, a secret's JSON text or bytes, any answer field holding one)."""
    found = [f for v in values if isinstance(v, (str, bytes, bytearray)) for t in _texts(v)
             for tok in _KEY_TOKENS.findall(t) for f in forms(tok)]
    if not found:
        return
    global _candidates, generation
    with _lock:
        fresh = {f[i:i + WINDOW] for f in found for i in range(len(f) - WINDOW + 1)} - _windows
        if not fresh:
            return
        _windows.update(fresh)
        chars = {c for f in found for c in f} - _chars
        if chars or _candidates is None:
            _chars.update(chars)
            _candidates = re.compile("[" + "".join(re.escape(c) for c in sorted(_chars)) + "]{%d,}" % WINDOW)
        generation += 1


def forget_all() -> None:
    """Forget every key (tests)."""
    global _candidates, generation
    with _lock:
        _windows.clear()
        _chars.clear()
        _candidates = None
        generation += 1


def mask(text: str, replace: Callable[[str], str] | None = None) -> str:
    """``text`` with every run of ``WINDOW``+ characters that is a piece of a remembered key masked (or, with
    ``replace``, replaced by ``replace(piece)``)."""
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
        out += [text[at:start], MASK if replace is None else replace(text[start:end])]
        at = end
    out.append(text[at:])
    return "".join(out)
