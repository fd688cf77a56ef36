"""The check core: outcomes, the record of one check's row, and what a check uses to state its verdict.

A check id (``credential.unexpired``) names four things: the verdict (:func:`verdict` on a function
in ``bedrock_key_audit/verdicts/<module>.py``, from which the pytest wiring generates the test
``@pytest.mark.check(id)`` in ``checks/test_<module>.py``), its metadata (``checks/metadata/<id>.json``,
validated against ``schemas/check-metadata.schema.json``), its fixer
(``bedrock_key_audit.remediation.fixers``) and its row in every report.

Outcomes (decided by the pytest wiring, ``bedrock_key_audit.fixtures.checks``, from what a check raised):

* ``pass``  — the test returned;
* ``fail``  — the check asserted (``check.require`` / ``assert``) and the assertion failed;
* ``error`` — the check could not decide: an inventory read raised
  :class:`CouldNotDecide` (AccessDenied, throttled past retries, endpoint unreachable …)
  or anything else went wrong.  An error is never a pass;
* ``skip``  — deselected by configuration (e.g. fleet mode with no secret for a user).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, TypeVar

from bedrock_key_audit import resources
from bedrock_key_audit.jsonable import to_jsonable
from bedrock_key_audit.redaction import redact_obj, redact_text

METADATA_DIR = resources.metadata_dir()
SEVERITIES = ("info", "low", "medium", "high", "critical")
_SCHEMA_PATH = resources.schema("check-metadata.schema.json")


class CouldNotDecide(Exception):
    """Raised by inventory data when a check cannot reach a verdict.

    The message is one sentence saying what failed and what to do
    ("iam:GetUser was denied to arn:…; grant it to the auditor").
    """


class CheckFailed(AssertionError):
    """A check's verdict is fail; the message is the verdict sentence."""

    __module__ = "builtins"  # shows as "AssertionError"-like without our module path


@dataclasses.dataclass
class CheckRecord:
    check_id: str
    title: str
    family: str
    severity: str
    controls: dict[str, list[str]]
    nodeid: str
    params: dict[str, str] = dataclasses.field(default_factory=dict)
    partition: str | None = None
    resource: str | None = None
    status: str = "error"
    detail: str = ""
    evidence: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    remediation: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    started: str | None = None
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-safe data (datetimes as ISO text), redacted: safe for xdist and every report."""
        d = dataclasses.asdict(self)
        d["evidence"] = redact_obj(d["evidence"])
        d["detail"] = redact_text(d["detail"])
        plain: dict[str, Any] = to_jsonable(d)
        return plain


class Check:
    """What a check test uses to state its resource, evidence and verdict.

    >>> def test_user_exists(check, iam_user):
    ...     check.resource = iam_user.arn
    ...     check.require(iam_user.exists, "IAM user bob does not exist")
    ...     check.passed("IAM user bob exists")
    """

    def __init__(self, record: CheckRecord):
        self._record = record

    @property
    def id(self) -> str:
        return self._record.check_id

    @property
    def resource(self) -> str | None:
        return self._record.resource

    @resource.setter
    def resource(self, value: str | None) -> None:
        self._record.resource = value

    @property
    def severity(self) -> str:
        return self._record.severity

    @severity.setter
    def severity(self, value: str) -> None:
        """A check may grade its own finding (``iam.policy_least_privilege``: bedrock-only extras are medium)."""
        if value not in SEVERITIES:
            raise ValueError(f"unknown severity {value!r}")
        self._record.severity = value

    def evidence(self, source: str, data: Any) -> None:
        """Attach what AWS answered (redacted later, before anything is written)."""
        self._record.evidence.append({"source": source, "data": data})

    def require(self, condition: Any, verdict: str) -> None:
        """Fail the check with ``verdict`` (one sentence about the resource) unless ``condition``."""
        __tracebackhide__ = True
        if not condition:
            self._record.detail = verdict
            raise CheckFailed(verdict)

    def fail(self, verdict: str) -> None:
        __tracebackhide__ = True
        self.require(False, verdict)

    def passed(self, verdict: str) -> None:
        """The sentence shown for a passing check."""
        self._record.detail = verdict

    def undecided(self, why: str) -> None:
        """End the check ``error``: it could not look."""
        __tracebackhide__ = True
        self._record.detail = why
        raise CouldNotDecide(why)


@dataclasses.dataclass(frozen=True)
class VerdictDecl:
    """One check's home: its id, the verdict function that judges it, and how pytest calls it.

    ``derived`` maps a verdict parameter to a function whose own parameters are the fixtures it is
    made from (``max_days=lambda audit_config: audit_config.max_key_age_days``); every other
    parameter is the fixture (or ``parametrize`` argument, e.g. ``partition``) of the same name.
    ``reads`` names the parts of the snapshot (the ``Inventory`` reads) a verdict that takes the whole
    ``inventory`` uses; it is handed an :class:`InventoryView` that answers only those.
    """

    check_id: str
    fn: Callable[..., None]
    test_name: str
    derived: dict[str, Callable[..., Any]]
    reads: frozenset[str] = frozenset()

    @property
    def module(self) -> str:
        return self.fn.__module__


# every declared verdict, by check id, in declaration order (module import order, then line order)
VERDICTS: dict[str, VerdictDecl] = {}

_V = TypeVar("_V", bound=Callable[..., None])


def verdict(check_id: str, *, test: str | None = None, reads: tuple[str, ...] = (),
            **derived: Callable[..., Any]) -> Callable[[_V], _V]:
    """Declare ``fn`` the verdict of ``check_id``; the pytest wiring makes its test from this.

    The test is ``test_<family>_<name>`` (``test_secret_exists``) unless ``test`` names it, and is
    generated into ``checks/test_<module>.py`` for the verdict module ``verdicts/<module>.py``.
    ``reads``: the ``Inventory`` reads the verdict uses when it takes the whole ``inventory``
    (``reads=("kms_key", "key_policy")``); any other is refused (:class:`InventoryView`).
    """
    def deco(fn: _V) -> _V:
        if check_id in VERDICTS and VERDICTS[check_id].fn.__qualname__ != fn.__qualname__:
            raise ValueError(f"check {check_id!r} has two verdicts: {VERDICTS[check_id].fn.__qualname__} and {fn.__qualname__}")
        VERDICTS[check_id] = VerdictDecl(check_id, fn, test or "test_" + check_id.replace(".", "_"), dict(derived),
                                         frozenset(reads))
        return fn
    return deco


class UndeclaredRead(RuntimeError):
    """A verdict asked the inventory for a part of the snapshot its ``@verdict(reads=...)`` does not name.

    Not an ``AttributeError``: ``getattr(inventory, name, default)`` must not turn it into a default."""


# what every verdict may ask of the inventory besides its reads: the audit's clock (a replay judges at the same
# instant) and the gatherer that runs reads side by side
ALWAYS = frozenset({"run_started", "g"})


class InventoryView:
    """The inventory as one verdict sees it: only the reads it declares (and :data:`ALWAYS`)."""

    __slots__ = ("_allowed", "_check", "_inventory")

    def __init__(self, inventory: Any, allowed: frozenset[str], check_id: str):
        object.__setattr__(self, "_inventory", inventory)
        object.__setattr__(self, "_allowed", allowed | ALWAYS)
        object.__setattr__(self, "_check", check_id)

    def __getattr__(self, name: str) -> Any:
        if name in self._allowed:
            return getattr(self._inventory, name)
        raise UndeclaredRead(f"check {self._check} reads inventory.{name}, which its @verdict(reads=...) does not "
                             "declare; add it there")

    def __setattr__(self, name: str, value: Any) -> None:
        raise UndeclaredRead(f"check {self._check} sets inventory.{name}: a verdict only reads")
