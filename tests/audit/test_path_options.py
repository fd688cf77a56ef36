"""``--audit-config PATH`` and ``--reports-dir DIR`` with a space work exactly like the ``=`` form.

pytest determines its rootdir from a first parse of the command line made before any plugin is
loaded, so a path after a space was taken for a test path (rootdir ``/etc``, no pyproject.toml, no
conftest).  The ``bedrock_key_audit`` plugin (``pytest11`` entry point) repairs that
(bedrock_key_audit/plugin.py).  These run pytest as a user does, in a subprocess from the project
root; where the entry point is not visible to that process (a venv made before it existed),
``-p bedrock_key_audit.plugin`` loads the same module at the same point of pytest's start-up.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.audit.helpers import ROOT

# A subprocess whose rootdir went wrong collects from the current directory, this file included:
# it must not start these runs again.
GUARD = "BKA_PATH_OPTIONS_SUBPROCESS"
if os.environ.get(GUARD):
    pytest.skip("inside a run started by this module", allow_module_level=True)

ENTRY_POINT_INSTALLED = any(e.name == "bedrock_key_audit" and e.value == "bedrock_key_audit.plugin"
                            for e in entry_points(group="pytest11"))
_SEES_ENTRY_POINT = ("from importlib.metadata import entry_points; "
                     "print(any(e.name == 'bedrock_key_audit' for e in entry_points(group='pytest11')))")


def _pytest(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "AWS_"))}
    run_env.update(env or {}, **{GUARD: "1"})
    # what pytest will see from there (an editable install's egg-info in the project root counts)
    sees = subprocess.run([sys.executable, "-c", _SEES_ENTRY_POINT], cwd=cwd, env=run_env,
                          capture_output=True, text=True, timeout=60).stdout.strip() == "True"
    plugin = [] if sees else ["-p", "bedrock_key_audit.plugin"]
    return subprocess.run([sys.executable, "-m", "pytest", *plugin, *args], cwd=cwd, env=run_env,
                          capture_output=True, text=True, timeout=600)


def _rows(reports: Path) -> list[tuple[str, str, str]]:
    data = json.loads((reports / "latest" / "results.json").read_text())
    return sorted((r["id"] + json.dumps(r.get("params") or {}), r["nodeid"], r["status"]) for r in data["checks"])


def test_path_options_with_a_space_work_like_with_equals(tmp_path):
    outside = tmp_path / "etc"
    outside.mkdir()
    cfg = outside / "x.toml"
    cfg.write_text((ROOT / "audit.toml").read_text())
    existing = tmp_path / "var" / "reports"
    existing.mkdir(parents=True)
    missing = tmp_path / "new" / "reports"

    # with a space, both paths existing outside the project: the case pytest got wrong
    # (--ignore=tests: should the rootdir go wrong, the run must not collect the project's own tests)
    spaced = _pytest("--audit-config", str(cfg), "--reports-dir", str(existing), "--emulate=compliant", "--ignore=tests")
    # with "=", and a reports directory that does not exist yet (created)
    equals = _pytest(f"--audit-config={cfg}", f"--reports-dir={missing}", "--emulate=compliant", "--ignore=tests")

    for res in (spaced, equals):
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
        assert f"rootdir: {ROOT}" in res.stdout and "configfile: pyproject.toml" in res.stdout, res.stdout[:600]
    assert missing.is_dir()
    rows = _rows(existing)
    assert len(rows) == 25 and {s for _, _, s in rows} == {"pass"}
    assert all(nodeid.startswith("checks/test_") for _, nodeid, _ in rows)
    assert rows == _rows(missing)


def test_options_are_registered_once_with_the_plugin_and_the_conftest():
    # the entry point (or -p) registers them, then the conftest's bedrock_key_audit.fixtures.options does nothing
    res = _pytest("--help")
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.count("--audit-config=PATH") == 1
    assert "--reports-dir=DIR" in res.stdout


def test_an_unrelated_project_is_untouched(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\naddopts = \"-p no:cacheprovider\"\n")
    (tmp_path / "test_other.py").write_text("def test_other():\n    assert 1 + 1 == 2\n")
    env = {"PYTHONPATH": str(ROOT)}  # importable (for -p) where the entry point is not installed
    res = _pytest("-q", cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert "1 passed" in res.stdout
    assert "bedrock audit" not in res.stdout and "emulator" not in res.stdout.lower()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml", "test_other.py"]
    # registering the options is all it does there
    assert "--audit-config=PATH" in _pytest("--help", cwd=tmp_path, env=env).stdout


def test_pyproject_installs_the_plugin_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["pytest11"] == {"bedrock_key_audit": "bedrock_key_audit.plugin"}
    assert project["tool"]["setuptools"]["packages"] == ["bedrock_key_audit"]


@pytest.mark.skipif(not ENTRY_POINT_INSTALLED, reason="the project is installed without its pytest11 entry point")
def test_entry_point_is_the_plugin_module():
    import bedrock_key_audit.plugin

    (ep,) = [e for e in entry_points(group="pytest11") if e.name == "bedrock_key_audit"]
    assert ep.load() is bedrock_key_audit.plugin
