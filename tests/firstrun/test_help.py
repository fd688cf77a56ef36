"""``bedrock-key-audit --help``: the project's subcommands and options first, then where pytest's are;
``--list-scenarios`` works on the audit (console script and plain pytest), not only on the emulator module."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bedrock_key_audit import cli
from bedrock_key_audit.emulator import scenarios
from bedrock_key_audit.plugin import GROUP, register_options

ROOT = Path(__file__).resolve().parents[2]


def test_help_is_the_projects_not_pytests(monkeypatch, capsys):
    monkeypatch.setattr(pytest, "main", lambda *a, **k: pytest.fail("--help must not run pytest"))
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("usage: bedrock-key-audit") and len(out) < 80
    for name in cli.SUBCOMMANDS:
        assert any(line.startswith(f"  {name} ") for line in out), name
    parser = cli._OptionRecorder()
    register_options(parser)  # type: ignore[arg-type]
    for opt in parser.getgroup(GROUP).options:
        assert any(line.startswith(f"  {opt.names()[0]}") for line in out), opt.names()
    assert out[-1] == "pytest's own options: bedrock-key-audit --help-pytest"


def test_every_subcommand_has_a_help_line():
    assert set(cli.SUBCOMMAND_HELP) == set(cli.SUBCOMMANDS)


@pytest.mark.parametrize("command", [
    [str(Path(sys.executable).parent / "bedrock-key-audit"), "--list-scenarios"],
    [sys.executable, "-m", "pytest", "--list-scenarios", "-p", "no:cacheprovider"],
])
def test_list_scenarios_on_the_audit(command, tmp_path):
    cwd = tmp_path if "pytest" not in command else ROOT
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines() if line.strip()] == list(scenarios.describe())
    assert not (tmp_path / "reports").exists()


def test_audit_config_help_says_where_the_console_script_looks():
    from bedrock_key_audit import cli

    text = " ".join(cli.help_text().split())
    assert ("audit configuration file (default: audit.toml in the pytest rootdir: the current directory for the "
            "bedrock-key-audit console script, the checkout root for pytest run in the checkout)") in text
    assert "at the project root" not in text
