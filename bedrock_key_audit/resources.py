"""Where the audit's data lives: the one resource locator.

The checks (``checks/``), their metadata (``checks/metadata/*.json``) and the JSON schemas
(``schemas/``) ship inside the package as ``bedrock_key_audit.checks`` and
``bedrock_key_audit.schemas`` (``[tool.setuptools.package-dir]`` in pyproject.toml maps the
top-level directories of the source tree onto those names, as it maps ``fixtures/`` onto
``bedrock_key_audit.fixtures``).  Everything here goes through :mod:`importlib.resources`, so the
same call answers from the source checkout (editable install: the paths are the checkout's
``checks/`` and ``schemas/``) and from an installed wheel (paths in ``site-packages``).

API (keep it small; other modules import these names):

- :func:`checks_dir` -- the directory holding ``test_*.py``, the checks pytest collects;
- :func:`metadata_dir` -- ``checks/metadata``, one ``<check id>.json`` per check;
- :func:`schemas_dir` -- ``schemas/``; :func:`schema` -- one file in it, by relative name;
- :func:`source_root` -- the source checkout the package runs from, or ``None`` when it runs
  from an installed wheel (for the tool's git commit and the checkout's ``pyproject.toml``).

All return :class:`pathlib.Path`: the package is installed as files (``zip-safe`` is not
claimed), and pytest needs real paths to collect the checks.
"""
from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

__all__ = ["checks_dir", "metadata_dir", "schema", "schemas_dir", "source_root"]

CHECKS_PACKAGE = "bedrock_key_audit.checks"
SCHEMAS_PACKAGE = "bedrock_key_audit.schemas"


def _package_dir(package: str) -> Path:
    # files() of a regular package on the file system is a pathlib.Path (a Traversable); the
    # wheel is never imported from a zip file, so anything else is a broken install
    root = resources.files(package)
    if not isinstance(root, Path):
        raise TypeError(f"{package} is not installed as files on disk ({root!r}); reinstall bedrock-key-audit")
    return root


@functools.cache
def checks_dir() -> Path:
    """The directory of the check modules (``checks/test_*.py``)."""
    return _package_dir(CHECKS_PACKAGE)


def metadata_dir() -> Path:
    """The directory of the checks' metadata (``checks/metadata/<check id>.json``)."""
    return checks_dir() / "metadata"


@functools.cache
def schemas_dir() -> Path:
    """The directory of the JSON schemas (``schemas/``)."""
    return _package_dir(SCHEMAS_PACKAGE)


def schema(name: str) -> Path:
    """One schema file by its name relative to ``schemas/`` (``"results.schema.json"``,
    ``"oscal/oscal_assessment-results_schema.json"``)."""
    return schemas_dir().joinpath(*name.split("/"))


@functools.cache
def source_root() -> Path | None:
    """The source checkout the package is imported from, or ``None`` (installed wheel).

    A checkout is recognised by the layout the wheel does not have: ``checks/`` is a sibling
    of the package directory (not inside it) and a ``pyproject.toml`` sits next to both.
    """
    root = checks_dir().parent
    if _package_dir("bedrock_key_audit").parent == root and (root / "pyproject.toml").is_file():
        return root
    return None
