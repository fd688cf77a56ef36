"""bedrock_key_audit.resources: the one locator of checks, metadata and schemas."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from bedrock_key_audit import resources

ROOT = Path(__file__).resolve().parents[2]


def test_source_checkout_paths_are_the_checkouts_directories():
    # the editable install maps bedrock_key_audit.checks/.schemas onto the checkout's directories
    assert resources.checks_dir() == ROOT / "checks"
    assert resources.metadata_dir() == ROOT / "checks" / "metadata"
    assert resources.schemas_dir() == ROOT / "schemas"
    assert resources.source_root() == ROOT


def test_every_check_module_and_metadata_file_is_found():
    modules = sorted(p.name for p in resources.checks_dir().glob("test_*.py"))
    assert modules == sorted(p.name for p in (ROOT / "checks").glob("test_*.py")) and modules
    ids = {p.stem for p in resources.metadata_dir().glob("*.json")}
    assert ids and all(json.loads((resources.metadata_dir() / f"{i}.json").read_text())["id"] == i for i in ids)


def test_schema_by_relative_name():
    assert json.loads(resources.schema("results.schema.json").read_text())["type"] == "object"
    nested = resources.schema("oscal/oscal_assessment-results_schema.json")
    assert nested == ROOT / "schemas" / "oscal" / "oscal_assessment-results_schema.json" and nested.is_file()


def test_every_schema_the_code_names_exists():
    from bedrock_key_audit import checkcore, config
    from bedrock_key_audit.reporting import evidence, oscal, results

    for path in (evidence.MANIFEST_SCHEMA, evidence.RUN_SCHEMA, evidence.CHECK_SCHEMA, evidence.MATRIX_SCHEMA,
                 results.RESULTS_SCHEMA, oscal.OSCAL_SCHEMA, config.SCHEMA_PATH, checkcore._SCHEMA_PATH):
        assert path.is_file(), path
        assert path.is_relative_to(resources.schemas_dir())


def test_every_package_directory_ships_in_the_wheel():
    """``[tool.setuptools] packages`` is an explicit list: a new sub-package missing from it would be
    absent from the wheel (scripts/wheel-check would find out, minutes later)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10 (requires-python >= 3.10): the tomli backport
        import tomli as tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    dirs = {"bedrock_key_audit": "bedrock_key_audit", **setuptools["package-dir"]}
    missing = []
    for package, directory in dirs.items():
        for init in sorted((ROOT / directory).rglob("__init__.py")):
            rel = init.parent.relative_to(ROOT / directory)
            name = ".".join([package, *rel.parts])
            if name not in listed:
                missing.append(name)
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_every_data_directory_is_a_listed_package_so_setuptools_does_not_warn():
    """setuptools treats every directory with an importable name under a package as a package, ``__init__.py``
    or not, and warns "Package would be ignored" at build time for one that ``packages`` leaves out, even
    when its files ship as the parent's package data.  (``ocsf-1.5.0`` is no identifier: it stays data.)
    Source: setuptools' "Data Files Support" and "Package Discovery and Namespace Packages" pages,
    https://setuptools.pypa.io/en/latest/userguide/datafiles.html"""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10 (requires-python >= 3.10): the tomli backport
        import tomli as tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    data = setuptools["package-data"]
    dirs = {"bedrock_key_audit": "bedrock_key_audit", **setuptools["package-dir"]}
    missing, no_data = [], []
    for package, directory in dirs.items():
        for sub in sorted(p for p in (ROOT / directory).rglob("*") if p.is_dir()):
            rel = sub.relative_to(ROOT / directory)
            if not all(part.isidentifier() for part in rel.parts) or "__pycache__" in rel.parts:
                continue
            if not any(f.is_file() for f in sub.iterdir()):
                continue
            name = ".".join([package, *rel.parts])
            if name not in listed:
                missing.append(name)
            elif not (sub / "__init__.py").exists() and name not in data:
                no_data.append(name)
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"
    assert not no_data, f"a data-only package without [tool.setuptools.package-data]: {no_data}"
