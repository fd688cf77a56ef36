"""The recorded snapshot: every memo cell an audit's verdicts read, as typed JSON with no key in it.

Every AWS and HTTP read of the audit goes through one memo (``Inventory.g.once(key, fetch)``,
:mod:`bedrock_key_audit.inventory.gather`), so the memo's cells are what the verdicts looked at.
:func:`dump` writes them (with the run's clock, mode and configuration) as JSON; :func:`load`
gives back equal objects; :class:`FrozenGatherer` answers ``once`` from them without ever calling
``fetch``, so ``bedrock-key-audit rejudge`` re-runs every verdict offline.

The document (``fixtures/replay.py``): ``format``, ``run_id`` (the run whose results.json it judged),
``remediate``, ``fleet``, and either ``now`` + ``config`` + ``accounts`` (a run in one process) or ``parts``,
each with its own ``name``, ``now``, ``config``, ``accounts`` and the ``rows`` judged from them (one part per
pytest-xdist worker, or per shard of a merged run: their reads are never mixed).

Type tags (``{"__t": ...}``): model dataclasses, datetimes, tuples, frozensets, dicts with
non-string keys, ``SecretText``, known sentinels and the stored exceptions.  A cell whose value
is an internal object (a rate limiter, a thread-pool future) is *transient*: left out, and named
in ``transient``.

No key is written.  Every ``SecretText`` (and any key-shaped text elsewhere) is pseudonymised:
a long-term key keeps ``ABSK``, its decoded identity (``<user>-at-<account>``) and its length;
each character of its secret part, of a short-term ``bedrock-api-key-`` token and of any other
token-shaped run in the secret string is replaced by one of the same class (upper, lower, digit),
chosen by an HMAC-SHA256 of the original under a random per-snapshot salt that is never written.
Equal keys stay equal, JSON stays JSON, and the key's format problems stay what they were.  A piece of a key
the process has read (:mod:`bedrock_key_audit.redaction.known`) standing in any other string without its
``ABSK`` head, plain or percent-encoded, has its characters replaced the same way.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import hmac
import importlib
import re
import secrets
import string
from collections.abc import Callable
from typing import Any, TypeVar

from bedrock_key_audit.checkcore import CouldNotDecide
from bedrock_key_audit.inventory.gather import Gatherer, describe_key
from bedrock_key_audit.inventory.models import SecretText
from bedrock_key_audit.redaction import known

FORMAT = "bedrock-key-audit-snapshot/1"
FILE_NAME = "snapshot.json"
T = TypeVar("T")

#: modules whose classes a snapshot may name (load imports nothing else)
_ALLOWED_MODULES = ("bedrock_key_audit.", "builtins", "botocore.exceptions")
#: module-level sentinels the reads store (``region`` absent from the secret's JSON)
_SENTINELS = ("bedrock_key_audit.inventory.reader:_MISSING",)


class Transient(TypeError):
    """A value the snapshot does not record (an internal object, not something a verdict judges)."""


# --------------------------------------------------------------------------- pseudonymisation
_CLASSES = (string.ascii_uppercase, string.ascii_lowercase, string.digits)
_LONG_TERM = re.compile(r"ABSK[A-Za-z0-9+/]+={0,2}")
_SHORT_TERM = re.compile(r"bedrock-api-key-[^\s\"'`<>,;(){}\[\]|]+")
# token-shaped text inside a secret string: 20+ base64/url-safe characters holding a digit
_TOKEN = re.compile(r"(?<![A-Za-z0-9+/=_-])(?=[A-Za-z0-9+/=_-]*[0-9])[A-Za-z0-9+/=_-]{20,}")


class Pseudonymiser:
    """Same-class character replacement keyed by an HMAC of the original under a random salt."""

    def __init__(self, salt: bytes | None = None):
        self._salt = salt if salt is not None else secrets.token_bytes(32)

    @property
    def salt(self) -> bytes:
        """Handed to pytest-xdist workers in memory (fixtures/replay.py); never written."""
        return self._salt

    def chars(self, text: str, context: str = "") -> str:
        """``text`` with each upper/lower/digit character replaced by one of its class (others kept)."""
        stream = b""
        counter = 0
        out = []
        for i, ch in enumerate(text):
            cls = next((c for c in _CLASSES if ch in c), None)
            if cls is None:
                out.append(ch)
                continue
            if i >= len(stream):
                stream += hmac.new(self._salt, f"{context}\0{text}\0{counter}".encode("utf-8", "surrogatepass"),
                                   hashlib.sha256).digest()
                counter += 1
            out.append(cls[stream[i] % len(cls)])
        return "".join(out)

    def long_term(self, token: str) -> str:
        """``ABSK`` + base64(``<identity>:<secret>``) with only the secret's characters replaced; a token
        that does not decode so has its base64 body's characters replaced instead (same shape, same length)."""
        body = token[4:]
        try:
            raw = base64.b64decode(body + "=" * (-len(body) % 4), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return "ABSK" + self.chars(body, "absk-body")
        ident, sep, rest = raw.partition(":")
        if not sep or not rest.isascii():
            return "ABSK" + self.chars(body, "absk-body")
        new = base64.b64encode(f"{ident}:{self.chars(rest, 'absk-secret')}".encode()).decode()
        if not body.endswith("="):
            new = new.rstrip("=")
        return "ABSK" + new

    def text(self, text: str, secret: bool = False) -> str:
        """Every key in ``text`` pseudonymised; in a ``secret`` string also every other token-shaped run."""
        out = _LONG_TERM.sub(lambda m: self.long_term(m.group()), text)
        out = _SHORT_TERM.sub(lambda m: "bedrock-api-key-" + self.chars(m.group()[16:], "short-term"), out)
        if secret:
            out = _TOKEN.sub(lambda m: m.group() if m.group().startswith(("ABSK", "bedrock-api-key-"))
                             else self.chars(m.group(), "token"), out)
        # a piece of a key this process has read, without its ABSK head (AWS text a person typed it into,
        # percent-encoded in a policy document): replaced the same way, as the reports mask it
        return known.mask(out, lambda piece: self.chars(piece, "seen-key"))


# --------------------------------------------------------------------------- encode / decode
def _name(obj: Any) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def _lookup(name: str) -> Any:
    module, _, qual = name.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qual.split("."):
        obj = getattr(obj, part)
    return obj


def _resolve(name: str, kind: str = "sentinel") -> Any:
    """The class (or sentinel) a snapshot names, only if it is one a snapshot can hold: a sentinel of
    :data:`_SENTINELS`; for ``dc`` a dataclass defined in this tool; for ``exc`` an exception class defined in
    this tool, botocore.exceptions or builtins.  The class must be defined under the very name given (its own
    ``__module__`` and ``__qualname__``), so no path through another module reaches anything else: a snapshot is
    input, and naming any other class (one whose instances act when collected, say) is refused."""
    module, _, qual = name.partition(":") if isinstance(name, str) else ("", "", "")
    refused = ValueError(f"snapshot names {name!r}, which is not a class a snapshot of this tool holds")
    if kind == "sentinel":
        if name not in _SENTINELS:
            raise refused
        return _lookup(name)
    allowed = module.startswith("bedrock_key_audit.") or (kind == "exc" and module in ("builtins", "botocore.exceptions"))
    if not allowed or not qual:
        raise refused
    try:
        obj = _lookup(name)
    except (ImportError, AttributeError, ValueError):
        raise refused from None
    if not isinstance(obj, type) or obj.__module__ != module or obj.__qualname__ != qual:
        raise refused
    if kind == "dc" and not dataclasses.is_dataclass(obj):
        raise refused
    if kind == "exc" and not issubclass(obj, BaseException):
        raise refused
    return obj


def _sentinel(obj: Any) -> str | None:
    for name in _SENTINELS:
        try:
            if _resolve(name) is obj:
                return name
        except (ImportError, AttributeError):
            continue
    return None


class Encoder:
    def __init__(self, pseudo: Pseudonymiser):
        self.p = pseudo

    def __call__(self, obj: Any) -> Any:
        if obj is None or isinstance(obj, (bool, int, float)):
            return obj
        if isinstance(obj, str):
            return self.p.text(obj)
        if isinstance(obj, SecretText):
            return {"__t": "secret", "v": self.p.text(obj.reveal(), secret=True)}
        if isinstance(obj, dt.datetime):
            return {"__t": "datetime", "v": obj.isoformat()}
        if isinstance(obj, dt.date):
            return {"__t": "date", "v": obj.isoformat()}
        if isinstance(obj, bytes):
            return {"__t": "bytes", "v": base64.b64encode(obj).decode()}
        if isinstance(obj, list):
            return [self(v) for v in obj]
        if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
            return {"__t": "tuple", "v": [self(v) for v in obj]}
        if isinstance(obj, (frozenset, set)):
            items = [self(v) for v in obj]
            import json
            items.sort(key=lambda v: json.dumps(v, sort_keys=True))
            return {"__t": "frozenset" if isinstance(obj, frozenset) else "set", "v": items}
        if isinstance(obj, dict):
            if all(isinstance(k, str) for k in obj) and "__t" not in obj:
                return {self.p.text(k): self(v) for k, v in obj.items()}
            return {"__t": "dict", "v": [[self(k), self(v)] for k, v in obj.items()]}
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            self._allowed(obj)
            return {"__t": "dc", "cls": _name(obj),
                    "f": {f.name: self(getattr(obj, f.name)) for f in dataclasses.fields(obj)}}
        if isinstance(obj, BaseException):
            self._allowed(obj)
            state = {k: v for k, v in vars(obj).items() if not k.startswith("_")}
            return {"__t": "exc", "cls": _name(obj), "args": [self(a) for a in obj.args],
                    "attrs": {k: self(v) for k, v in state.items()}}
        sentinel = _sentinel(obj)
        if sentinel is not None:
            return {"__t": "sentinel", "v": sentinel}
        raise Transient(f"{_name(obj)} is not recorded")

    @staticmethod
    def _allowed(obj: Any) -> None:
        mod = type(obj).__module__
        if not (mod == "builtins" or mod.startswith(_ALLOWED_MODULES)):
            raise Transient(f"{_name(obj)} is not recorded")


def decode(obj: Any) -> Any:
    """The Python value of an encoded snapshot value."""
    if isinstance(obj, list):
        return [decode(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    tag = obj.get("__t")
    if tag is None:
        return {k: decode(v) for k, v in obj.items()}
    v: Any = obj.get("v")
    if tag == "secret":
        return SecretText(v)
    if tag == "datetime":
        return dt.datetime.fromisoformat(v)
    if tag == "date":
        return dt.date.fromisoformat(v)
    if tag == "bytes":
        return base64.b64decode(v)
    if tag == "tuple":
        return tuple(decode(x) for x in v)
    if tag == "frozenset":
        return frozenset(decode(x) for x in v)
    if tag == "set":
        return {decode(x) for x in v}
    if tag == "dict":
        return {decode(k): decode(x) for k, x in v}
    if tag == "sentinel":
        return _resolve(v)
    if tag == "dc":
        cls = _resolve(obj["cls"], "dc")
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(obj.get("f"), dict) or not set(obj["f"]) <= names:
            raise ValueError(f"snapshot: {obj.get('cls')!r} holds fields it does not have")
        fields = {k: decode(x) for k, x in obj["f"].items()}
        inst = cls.__new__(cls)
        for k, x in fields.items():
            object.__setattr__(inst, k, x)
        return inst
    if tag == "exc":
        cls = _resolve(obj["cls"], "exc")
        exc = cls.__new__(cls)
        exc.args = tuple(decode(a) for a in obj["args"])
        for k, x in obj.get("attrs", {}).items():
            if not isinstance(k, str) or k.startswith("_"):
                raise ValueError(f"snapshot: {obj.get('cls')!r} names attribute {k!r}")
            setattr(exc, k, decode(x))
        return exc
    raise ValueError(f"snapshot: unknown type tag {tag!r}")


def _freeze_key(key: Any) -> Any:
    """A decoded memo key as the reads build it (tuples all the way down)."""
    if isinstance(key, list):
        return tuple(_freeze_key(k) for k in key)
    return key


# --------------------------------------------------------------------------- dump / load
def cells_of(g: Gatherer) -> list[tuple[Any, bool, Any]]:
    """(key, is_error, value or error) of every finished cell of ``g``."""
    with g._lock:
        cells = list(g._cells.items())
    return [(k, c.error is not None, c.error if c.error is not None else c.value)
            for k, c in cells if c.event.is_set()]


def dump_cells(g: Gatherer, pseudo: Pseudonymiser) -> dict[str, Any]:
    """``{"cells": [...], "transient": [...]}`` of one gatherer."""
    enc = Encoder(pseudo)
    cells, transient = [], []
    for key, is_error, value in cells_of(g):
        try:
            ekey = enc(key)
            cell = {"key": ekey, "error": enc(value)} if is_error else {"key": ekey, "value": enc(value)}
        except Transient:
            transient.append(enc(key))
            continue
        except RecursionError:
            transient.append(enc(key))
            continue
        cells.append(cell)
    return {"cells": cells, "transient": transient}


def load_cells(doc: dict[str, Any]) -> dict[Any, tuple[bool, Any]]:
    """``key -> (is_error, value or error)`` of one dumped gatherer."""
    out: dict[Any, tuple[bool, Any]] = {}
    for cell in doc.get("cells", []):
        key = _freeze_key(decode(cell["key"]))
        out[key] = (True, decode(cell["error"])) if "error" in cell else (False, decode(cell["value"]))
    return out


def encode_value(value: Any, pseudo: Pseudonymiser | None = None) -> Any:
    return Encoder(pseudo or Pseudonymiser())(value)


# --------------------------------------------------------------------------- replay
class FrozenGatherer(Gatherer):
    """A gatherer answering from a recorded snapshot: ``once`` returns the recorded value or re-raises
    the recorded error and never calls ``fetch``; a key the snapshot lacks is ``CouldNotDecide``.

    A key the snapshot names as transient is computed again in a memo cell of its own (as in a live run,
    :meth:`Gatherer.once`), so a transient cell computed from other transient cells waits on nothing it
    holds; the reads it would make are refused (:class:`NoAws`)."""

    def __init__(self, cells: dict[Any, tuple[bool, Any]], transient: frozenset[Any] = frozenset()):
        super().__init__(workers=2)
        self.recorded = cells
        self.transient = transient

    def once(self, key: Any, fn: Callable[..., T]) -> T:
        if key in self.recorded:
            is_error, value = self.recorded[key]
            if is_error:
                raise value
            return value  # type: ignore[no-any-return]
        if key in self.transient:  # an internal object (a rate limiter): made again, it reads nothing
            return super().once(key, fn)
        raise CouldNotDecide(f"the snapshot holds no {describe_key(key)}, so this row cannot be judged from the "
                             "evidence; re-run the audit against AWS to settle it")


class NoAws:
    """The AWS layer of a replay: every attempt to make a client or session raises."""

    emulated = False
    assumed = None

    def __init__(self, cfg: Any, calls: Any, identities: dict[str, Any] | None = None):
        self.cfg = cfg
        self.calls = calls
        self.identities = dict(identities or {})

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise CouldNotDecide("a replay of recorded evidence makes no AWS call; re-run the audit against AWS to "
                             "settle this row")

    client = session = endpoint_url = _refuse

    def warm(self, *args: Any, **kwargs: Any) -> None:
        return None

    def release_clients(self) -> None:
        return None
