"""The console script ``bedrock-key-audit``: run the packaged audit from any directory.

``bedrock-key-audit [pytest options]`` is ``pytest`` with the audit wired in, whatever the
current directory holds (no conftest.py or pyproject.toml is needed there, and theirs are not
read):

- the checks are the packaged ones (:func:`bedrock_key_audit.resources.checks_dir`); select
  rows with ``-k`` / ``-m`` as with ``pytest`` (``-k iam.user_exists``, ``-m cloudtrail``);
- the audit's plugins load through ``-p bedrock_key_audit.fixtures.audit`` (one module listing
  the wiring, as the repository's ``conftest.py`` does);
- pytest's configuration is the packaged ``pytest.ini`` of the console script
  (``bedrock_key_audit/cli.ini``), not a configuration file found in the current directory or
  above it, and the rootdir is the current directory.  So the defaults are relative to where
  you run it: ``./audit.toml`` when it exists (else the built-in defaults; ``--audit-config
  PATH`` names another) and the run directories under ``./reports`` (``--reports-dir DIR``);
- every option of the audit and of pytest passes through unchanged (``--emulate``,
  ``--remediate=plan``, ``--evidence``, ``-x``, ``-v`` ...), and the exit status is pytest's.

Inside the repository ``pytest`` keeps working as before (rootdir = the checkout, its
``pyproject.toml`` and ``conftest.py``); the console script there runs the same checks.

Subcommands: when the first argument names one in :data:`SUBCOMMANDS`, the rest of the command
line goes to that function (``bedrock-key-audit NAME ARGS...``) instead of pytest.  A new one
is one line: ``"name": "module:function"`` with ``function(argv: list[str]) -> int``.
"""
from __future__ import annotations

import importlib
import importlib.resources
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bedrock_key_audit import resources

PROG = "bedrock-key-audit"
#: the plugin module that lists the audit's wiring (the repository's conftest.py names it too)
WIRING = "bedrock_key_audit.fixtures.audit"
#: ``name -> "module:function"``; the function takes the remaining arguments, returns the exit status
SUBCOMMANDS: dict[str, str] = {
    "merge": "bedrock_key_audit.merge:main",  # combine shard run directories into one (--shard K/N)
    "doctor": "bedrock_key_audit.doctor:main",  # configuration, identities, credential problems, permissions
    "init": "bedrock_key_audit.init:main",  # write audit.toml from the AWS profiles
    "policy": "bedrock_key_audit.policies:main",  # the IAM policy to attach (auditor | remediator)
    "verify": "bedrock_key_audit.reporting.verify:main",  # an evidence bundle against its manifest and signature
    "rejudge": "bedrock_key_audit.rejudge:main",  # every row again, offline, from a bundle's snapshot.json
}

USAGE = f"""\
usage: {PROG} [pytest and audit options]   run the packaged audit from this directory
       {PROG} SUBCOMMAND [ARGS...]        ({", ".join(SUBCOMMANDS) or "no subcommands yet"})

Defaults are relative to the current directory: ./audit.toml (if present) and ./reports/.
Examples: {PROG} --emulate --no-reports      {PROG} --audit-config /etc/audit.toml -m cloudtrail
The pytest help follows.
"""

#: one line per subcommand for ``--help``
SUBCOMMAND_HELP: dict[str, str] = {
    "init": "write ./audit.toml from your AWS profiles (flags for every answer; --force to overwrite)",
    "doctor": "check the configuration, each partition's identity and the audit's permissions",
    "policy": "print the IAM policy to attach: policy auditor|remediator [--partition P [--account ID]] [--organization]",
    "verify": "verify an evidence bundle: verify PATH [--allowed-signers FILE]",
    "merge": "combine --shard K/N run directories into one: merge RUN_DIR...",
    "rejudge": "re-judge every row offline from an evidence bundle's snapshot: rejudge BUNDLE",
}


class _Option:
    def __init__(self, names: tuple[str, ...], attrs: dict[str, object]) -> None:
        self._names, self._attrs = list(names), attrs

    def names(self) -> list[str]:
        return self._names

    def attrs(self) -> dict[str, object]:
        return self._attrs


class _OptionRecorder:
    """Stands for ``pytest.Parser`` in :func:`bedrock_key_audit.plugin.register_options`: one group, its options."""

    def __init__(self) -> None:
        self.options: list[_Option] = []

    def getgroup(self, name: str, description: str = "") -> "_OptionRecorder":
        return self

    def addoption(self, *names: str, **attrs: object) -> None:
        self.options.append(_Option(names, attrs))


def help_text() -> str:
    """``bedrock-key-audit --help``: what the project is, its subcommands and options; then where pytest's are."""
    import textwrap

    from bedrock_key_audit.plugin import GROUP, register_options

    parser = _OptionRecorder()
    register_options(parser)  # type: ignore[arg-type]  # records what a pytest.Parser would get
    lines = [f"usage: {PROG} [audit and pytest options]    audit the accounts configured in ./audit.toml",
             f"       {PROG} SUBCOMMAND [ARGS...]",
             "",
             "A compliance audit of an Amazon Bedrock long-term API key (IAM user in a commercial account, the key",
             "in a GovCloud Secrets Manager secret, CloudTrail watching). Run from any directory: ./audit.toml if",
             "present (else the built-in defaults, said at the top of the run), reports under ./reports/.",
             "",
             "first steps:  init -> doctor -> bedrock-key-audit      (or --emulate: no AWS account needed)",
             "",
             "subcommands (each has --help):"]
    for name in SUBCOMMANDS:
        lines.append(f"  {name:8} {SUBCOMMAND_HELP.get(name, '')}")
    lines += ["", "audit options:"]
    for opt in parser.getgroup(GROUP).options:
        attrs = opt.attrs()
        names = ", ".join(opt.names())
        meta = attrs.get("metavar")
        if meta and attrs.get("nargs") == "?":
            names += f"[={meta}]"
        elif meta:
            names += f" {meta}"
        help_ = str(attrs.get("help") or "")
        wrapped = textwrap.wrap(help_, 76) or [""]
        lines.append(f"  {names}")
        lines += [f"      {w}" for w in wrapped]
    lines += ["", "select rows as with pytest: -k iam.user_exists, -k CIS-3.1, -m cloudtrail; -x, -v, -q ... pass through.",
              f"pytest's own options: {PROG} --help-pytest"]
    return "\n".join(lines)


def ini_path() -> Path:
    """The console script's pytest configuration file (package data of ``bedrock_key_audit``)."""
    return Path(str(importlib.resources.files("bedrock_key_audit").joinpath("cli.ini")))


def pytest_args(args: Sequence[str], cwd: Path) -> list[str]:
    """The pytest command line for ``bedrock-key-audit ARGS`` run in ``cwd``.

    Ours come first so that the user's own ``-c``, ``--rootdir`` or ``-o testpaths=...`` (later
    on the line) win.  ``testpaths`` makes the packaged checks the default selection: pytest
    uses it when no test path is given and the invocation directory is the rootdir.
    """
    return [
        "-c", str(ini_path()),
        f"--rootdir={cwd}",
        "-p", WIRING,
        "-o", f"testpaths={shlex.quote(str(resources.checks_dir()))}",
        *args,
    ]


def _subcommand(name: str) -> Callable[[list[str]], int]:
    module, _, function = SUBCOMMANDS[name].partition(":")
    func: Callable[[list[str]], int] = getattr(importlib.import_module(module), function)
    return func


def _mistyped_subcommand(word: str) -> str | None:
    """The subcommand ``word`` looks like a typo of, when it cannot be a pytest path (no option, no
    path separator or dot, nothing of that name here); else None and pytest gets the line."""
    import difflib

    if word.startswith("-") or any(c in word for c in "/.:\\") or Path(word).exists():
        return None
    close = difflib.get_close_matches(word, list(SUBCOMMANDS), n=1, cutoff=0.6)
    return close[0] if close else None


#: set by the console script's SIGINT handler.  CPython ignores an exception raised in a weakref
#: callback ("Exception ignored in: <function _get_module_lock.<locals>.cb>"), so a Ctrl-C that lands
#: while start-up imports modules raises a KeyboardInterrupt nobody sees; the latch keeps it, and the
#: wiring (:mod:`bedrock_key_audit.fixtures.audit`) raises it again before collection and before each check.
_SIGINT: list[bool] = []


def interrupted() -> bool:
    """Whether the user pressed Ctrl-C since the console script started (even if it was swallowed)."""
    return bool(_SIGINT)


def _on_sigint(signum: int, frame: object) -> None:
    _SIGINT.append(True)
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``bedrock-key-audit``: a subcommand, or pytest with the audit wired in."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return _main(argv)
    _SIGINT.clear()
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        return _main(argv)
    finally:
        signal.signal(signal.SIGINT, previous)
        _SIGINT.clear()  # the latch is this run's (tests call main in one process)


def _main(argv: Sequence[str] | None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in SUBCOMMANDS:
        return int(_subcommand(args[0])(args[1:]))
    mistyped = _mistyped_subcommand(args[0]) if args else None
    if mistyped:
        print(f"error: {PROG}: unknown subcommand {args[0]!r}; did you mean {mistyped!r}? "
              f"(subcommands: {', '.join(SUBCOMMANDS)})", file=sys.stderr)
        return 2
    try:
        import pytest

        if "--help-pytest" in args:
            print(USAGE)
            args = ["--help" if a == "--help-pytest" else a for a in args]
        elif any(a in ("-h", "--help") for a in args):
            print(help_text())
            return 0
        if interrupted():
            raise KeyboardInterrupt
        code = int(pytest.main(pytest_args(args, Path.cwd())))
        sys.stdout.flush()
    except KeyboardInterrupt:  # before pytest started (its own handling reports one during the run)
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 2  # pytest.ExitCode.INTERRUPTED
    except BrokenPipeError:  # | head: as pytest's own console script does, no traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover - python -m bedrock_key_audit.cli
    sys.exit(main())
