"""The console script ``bedrock-key-audit`` (bedrock_key_audit/cli.py) and the plugin's gating.

Argument handling is tested on the command line it builds; one wiring test runs the emulated
audit through ``cli.main`` in-process from a temporary directory (no conftest.py, no
pyproject.toml there); one pytester run shows that an unrelated project, in this environment
where the package and its ``pytest11`` entry point are installed, gets nothing but the options.
"""
from __future__ import annotations

import json
import shlex
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from bedrock_key_audit.fixtures import audit

from bedrock_key_audit import cli, resources

ROOT = Path(__file__).resolve().parents[2]


def test_console_script_and_entry_point_are_declared():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10 (requires-python >= 3.10): the tomli backport
        import tomli as tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["bedrock-key-audit"] == "bedrock_key_audit.cli:main"
    assert project["entry-points"]["pytest11"] == {"bedrock_key_audit": "bedrock_key_audit.plugin"}


def test_pytest_args_put_ours_first_so_the_users_win(tmp_path):
    args = cli.pytest_args(["--emulate", "-k", "iam", "-c", "mine.ini"], tmp_path)
    assert args[:2] == ["-c", str(cli.ini_path())] and cli.ini_path().is_file()
    assert f"--rootdir={tmp_path}" in args
    assert args[args.index("-p") + 1] == cli.WIRING == "bedrock_key_audit.fixtures.audit"
    testpaths = args[args.index("-o") + 1]
    assert testpaths.startswith("testpaths=") and shlex.split(testpaths[len("testpaths="):]) == [
        str(resources.checks_dir())]
    assert args[-5:] == ["--emulate", "-k", "iam", "-c", "mine.ini"]  # user's, unchanged and last


def test_pytest_args_quote_a_checks_dir_with_spaces(tmp_path, monkeypatch):
    odd = tmp_path / "site packages" / "checks"
    monkeypatch.setattr(resources, "checks_dir", lambda: odd)
    args = cli.pytest_args([], tmp_path)
    assert shlex.split(args[args.index("-o") + 1][len("testpaths="):]) == [str(odd)]


def test_the_packaged_ini_does_not_name_the_wiring_twice():
    text = cli.ini_path().read_text()
    assert "[pytest]" in text and cli.WIRING not in text and "python_files = test_*.py" in text


def test_a_subcommand_gets_the_rest_of_the_line(monkeypatch):
    seen: list[list[str]] = []
    monkeypatch.setitem(cli.SUBCOMMANDS, "probe", "tests.packaging.test_cli:_probe")
    monkeypatch.setattr("tests.packaging.test_cli._SEEN", seen)
    monkeypatch.setattr(pytest, "main", lambda *a, **k: pytest.fail("pytest must not run for a subcommand"))
    assert cli.main(["probe", "a", "--b"]) == 7
    assert seen == [["a", "--b"]]


_SEEN: list[list[str]] = []


def _probe(argv: list[str]) -> int:
    _SEEN.append(argv)
    return 7


def test_anything_else_goes_to_pytest_unchanged_with_its_exit_status(monkeypatch, tmp_path, capsys):
    calls: list[list[str]] = []

    def fake_main(args: list[str]) -> int:
        calls.append(args)
        return 4

    monkeypatch.setattr(pytest, "main", fake_main)
    monkeypatch.chdir(tmp_path)
    # not a subcommand name (a path: never taken for a mistyped subcommand): a pytest argument
    assert cli.main(["merge-like/", "--emulate=compliant"]) == 4
    assert calls == [cli.pytest_args(["merge-like/", "--emulate=compliant"], tmp_path)]
    assert cli.main(["--help-pytest"]) == 4  # pytest's help, after the console script's usage
    assert calls[-1] == cli.pytest_args(["--help"], tmp_path)
    assert capsys.readouterr().out.startswith("usage: bedrock-key-audit")


def test_every_family_in_the_metadata_has_a_marker():
    families = {json.loads(p.read_text())["family"] for p in resources.metadata_dir().glob("*.json")}
    registered = {line.split(":")[0].split("(")[0] for line in audit.MARKERS}
    assert families and families | {"check"} == registered


def test_conftest_and_console_script_load_the_same_wiring():
    import ast

    tree = ast.parse((ROOT / "conftest.py").read_text())
    lists = [ast.literal_eval(n.value) for n in tree.body
             if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "pytest_plugins" for t in n.targets)]
    assert lists == [[cli.WIRING]]
    assert len(set(audit.PLUGINS)) == len(audit.PLUGINS) and audit.pytest_plugins == list(audit.PLUGINS)


def test_console_script_runs_the_emulated_audit_from_any_directory(pytester, monkeypatch):
    """In-process: ``cli.main`` with pytest.main routed through pytester (its sys.modules and
    plugin snapshots), from a directory with no conftest.py and no project configuration."""
    (pytester.path / "audit.toml").write_text('[user]\nname = "bedrock-cross-partition-user"\n')
    runs: list[pytest.HookRecorder] = []

    def inline(args: list[str]) -> int:
        rec = pytester.inline_run(*args, "-p", "no:hypothesispytest")
        runs.append(rec)
        return int(rec.ret)

    monkeypatch.setattr(pytest, "main", inline)
    code = cli.main(["--emulate=compliant", "-n", "0", "-k", "iam or secret.exists"])
    assert code == 0
    (rec,) = runs
    config = rec.getcalls("pytest_sessionstart")[0].session.config
    assert config.rootpath == pytester.path and config.inipath == cli.ini_path()
    assert config.pluginmanager.has_plugin(cli.WIRING)
    passed = [r for r in rec.getreports("pytest_runtest_logreport") if r.when == "call" and r.passed]
    assert len(passed) == 6  # five iam rows and secret.exists
    results = json.loads((pytester.path / "reports" / "latest" / "results.json").read_text())
    assert {r["id"] for r in results["checks"]} == {
        "iam.user_exists", "iam.user_no_other_credentials", "iam.policy_least_privilege",
        "iam.policy_grants_required", "iam.key_minting_restricted", "secret.exists"}
    assert {r["status"] for r in results["checks"]} == {"pass"}
    assert Path(results["run"]["config"]["path"]).resolve() == (pytester.path / "audit.toml").resolve()


def test_an_unrelated_project_gets_only_the_options(pytester):
    """pytest-html's gating: installed, the entry point adds options; nothing runs, nothing is written."""
    assert any(e.value == "bedrock_key_audit.plugin" for e in entry_points(group="pytest11"))
    pytester.makepyfile(test_mine="def test_mine():\n    assert 1 + 1 == 2\n")
    rec = pytester.inline_run("--emulate", "-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    rec.assertoutcome(passed=1)
    pm = rec.getcalls("pytest_sessionstart")[0].session.config.pluginmanager
    assert pm.has_plugin("bedrock_key_audit")  # the entry point: options only
    loaded = {name for name, _ in pm.list_name_plugin() if name}
    assert not {n for n in loaded if n.startswith("bedrock_key_audit.fixtures")}, loaded
    assert sorted(p.name for p in pytester.path.iterdir()) == ["test_mine.py"]  # no reports/, no run directory
