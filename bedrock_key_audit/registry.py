"""The one registry of checks: their ids, metadata, and the rows a run reports, from ``checks/metadata/``.

Every list of check ids or rows, and every count of them, comes from here (tests, docs
consistency, reports).  One metadata file per check (``checks/metadata/<id>.json``, validated
against ``schemas/check-metadata.schema.json``) is the source; a check that runs once per
partition says so with ``"params": {"partition": ["commercial", "govcloud"]}``, and its rows are
the id times every combination of those values (``cloudtrail.logging[commercial]``).

A new check touches its metadata file (which also holds its README table cell: ``scripts/gen-docs``),
its verdict declared with ``@verdict("<id>")`` in ``bedrock_key_audit/verdicts/<module>.py`` (its
pytest test in ``checks/test_<module>.py`` is generated from that), its unit test, its fixer
(``bedrock_key_audit/remediation/fixers/``) and a scenario that breaks it (``@breaks``);
tests/unit/test_registry.py holds them consistent.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
import json
from typing import Any

import jsonschema

from bedrock_key_audit import resources

PARTITIONS: tuple[str, ...] = ("commercial", "govcloud")


class MetadataError(ValueError):
    """A metadata file is invalid; the message names the file and the problem in one line."""


@dataclasses.dataclass(frozen=True)
class Row:
    """One row of a run: a check id and the values of its parameters (in metadata order)."""

    check_id: str
    params: tuple[tuple[str, str], ...] = ()

    @property
    def id(self) -> str:
        """``cloudtrail.logging[commercial]`` -- how a row is named in tests and ``-k``."""
        return self.check_id + (f"[{','.join(v for _, v in self.params)}]" if self.params else "")


def metadata() -> dict[str, dict[str, Any]]:
    """Every check's metadata, keyed by id, sorted by id (a copy the caller may change);
    :class:`MetadataError` if a file is invalid."""
    return copy.deepcopy(_load())


@functools.cache
def _load() -> dict[str, dict[str, Any]]:
    schema = json.loads(resources.schema("check-metadata.schema.json").read_text())
    # the schema checked against its metaschema once, not once per file as jsonschema.validate does
    # (40 metaschema validations were a quarter of a second of every audit process)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(resources.metadata_dir().glob("*.json")):
        try:
            meta = json.loads(path.read_text())
        except ValueError as exc:
            raise MetadataError(f"{path.name}: not JSON ({exc})") from None
        try:
            error = jsonschema.exceptions.best_match(validator.iter_errors(meta))
        except jsonschema.ValidationError as exc:  # pragma: no cover -- iter_errors yields, it does not raise
            error = exc
        if error is not None:
            raise MetadataError(f"{path.name}: {error.message}") from None
        if meta["id"] != path.stem:
            raise MetadataError(f"{path.name}: id {meta['id']!r} does not match its file name")
        out[meta["id"]] = meta
    return out


def check_ids() -> tuple[str, ...]:
    """Every check id, sorted."""
    return tuple(_load())


def ids_of(*families: str) -> tuple[str, ...]:
    """The check ids of ``families`` (``ids_of("credential")``), sorted."""
    return tuple(i for i, m in _load().items() if m["family"] in families)


def params(check_id: str) -> dict[str, list[str]]:
    """The parameters a check runs over (``{"partition": ["commercial", "govcloud"]}``), ``{}`` when none."""
    return {k: list(v) for k, v in _load()[check_id].get("params", {}).items()}


def rows_of(check_id: str) -> tuple[Row, ...]:
    """The rows of one check: one per combination of its parameters' values."""
    ps = params(check_id)
    names = list(ps)
    return tuple(Row(check_id, tuple(zip(names, combo, strict=True))) for combo in itertools.product(*(ps[n] for n in names)))


def rows() -> tuple[Row, ...]:
    """Every row a one-key run reports, in check-id order."""
    return tuple(r for i in check_ids() for r in rows_of(i))


def row_ids() -> tuple[str, ...]:
    """``Row.id`` of every row."""
    return tuple(r.id for r in rows())


def row_count() -> int:
    return len(rows())
