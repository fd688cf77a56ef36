"""Every command-line option of the audit, in one group (as pytest-testinfra does).

The names are a public interface: schedulers call them.  Add, never rename.

This module is the ``pytest11`` entry point ``bedrock_key_audit`` (pyproject.toml), and
``fixtures/options.py`` re-exports it for runs where the package is not installed; the options
are registered once whichever loads first (:func:`register_options` is idempotent).  It gates
itself: it only adds options and, when one of our path options was given with a space, repairs
pytest's rootdir; it starts nothing, writes nothing, and changes nothing for another project.

Why the repair (``pytest --audit-config /etc/x.toml``): pytest determines its rootdir and
configuration file (``Config.parse`` -> ``findpaths.determine_setup``) from a first parse of the
command line made before any plugin is loaded -- entry points included (they are loaded right
after, in the same ``parse``).  That parse does not know ``--audit-config``, so it takes
``/etc/x.toml`` for a test path: the rootdir becomes ``/etc``, no ``pyproject.toml`` is read
(no ``addopts``, ``testpaths``, markers) and ``confcutdir`` keeps the project's ``conftest.py``
from loading.  The ``=`` form is one argument and does not have the problem.  No hook runs
before that first parse, so registering the options from the entry point is not enough by
itself; :func:`pytest_load_initial_conftests` (``tryfirst``: before pytest loads any conftest)
determines the setup again from the arguments parsed with our options known, and when it
differs, puts pytest's configuration where the ``=`` form would have put it.
"""
from __future__ import annotations

import copy
from typing import Any

import pytest

SEVERITY_CHOICES = ("info", "low", "medium", "high", "critical", "none")
GROUP = "bedrock-audit"
# options whose value is a path: given with a space, pytest's first parse sees a test path
PATH_OPTIONS = ("--audit-config", "--reports-dir", "--sign-key", "--org-policies")


def register_options(parser: pytest.Parser) -> None:
    """Add the audit's options to ``parser`` unless they are there already."""
    g = parser.getgroup(GROUP, "Bedrock API-key audit")
    if any("--audit-config" in opt.names() for opt in g.options):
        return
    g.addoption("--audit-config", dest="audit_config", default=None, metavar="PATH",
                help="audit configuration file (default: audit.toml in the pytest rootdir: the current directory for "
                     "the bedrock-key-audit console script, the checkout root for pytest run in the checkout)")
    g.addoption("--emulate", dest="emulate", nargs="?", const="guide", default=None, metavar="SCENARIO",
                help="audit the embedded AWS emulator instead of real AWS (default scenario: guide)")
    g.addoption("--list-scenarios", dest="list_scenarios", action="store_true", default=False,
                help="list the emulator's scenarios (for --emulate=SCENARIO) and exit")
    g.addoption("--all-keys", dest="all_keys", action="store_true", default=False,
                help="fleet mode: audit every IAM user holding a bedrock.amazonaws.com credential")
    g.addoption("--remediate", dest="remediate", nargs="?", const="apply", default=None,
                choices=("plan", "apply"), metavar="plan|apply",
                help="after the audit, plan (--remediate=plan) or apply (--remediate) fixes for failing checks")
    g.addoption("--allow-destructive", dest="allow_destructive", action="store_true", default=False,
                help="with --remediate: also run destructive steps (detach/delete policies, keys, login profiles)")
    g.addoption("--enable-invocation-logging", dest="enable_invocation_logging", action="store_true", default=False,
                help="with --remediate: turn on Bedrock model-invocation logging where it is off (it stores every "
                     "prompt and answer, in a private bucket of the account) without --allow-destructive")
    g.addoption("--reports-dir", dest="reports_dir", default=None, metavar="DIR",
                help="base directory of the run reports (default: reports/)")
    g.addoption("--no-reports", dest="no_reports", action="store_true", default=False,
                help="write no report directory for this run")
    g.addoption("--replay-snapshot", dest="replay_snapshot", default=None, metavar="PATH",
                help="judge every row from a recorded snapshot.json instead of AWS (offline; what "
                     "`bedrock-key-audit rejudge` runs)")
    g.addoption("--evidence", dest="evidence", action="store_true", default=False,
                help="also write an evidence bundle (responses, call log, control matrix, manifest, archive)")
    g.addoption("--keep-runs", dest="keep_runs", type=int, default=None, metavar="N",
                help="keep only the newest N runs under the reports directory")
    g.addoption("--fail-on", dest="fail_on", default=None, choices=SEVERITY_CHOICES, metavar="SEVERITY",
                help="lowest severity of a failing/erroring check that makes the exit status non-zero "
                     "(info|low|medium|high|critical|none; default: any)")
    g.addoption("--shard", dest="shard", default=None, metavar="K/N",
                help="audit only shard K of N of the accounts (stable: by a hash of each account id); "
                     "combine the shard runs with bedrock-key-audit merge")
    g.addoption("--org-policies", dest="org_policies", default=None, metavar="FILE",
                help="the SCPs and RCPs applying to each audited account, as a JSON export (format: "
                     "bedrock_key_audit/org_policies.py), when the auditor cannot read AWS Organizations")
    g.addoption("--sign-key", dest="sign_key", default=None, metavar="PATH",
                help="with --evidence: sign the evidence manifest with this unencrypted OpenSSH private key "
                     "(ssh-keygen -Y sign, namespace bedrock-key-audit-evidence) into manifest.json.sig")


def pytest_addoption(parser: pytest.Parser) -> None:
    register_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    if any(a in PATH_OPTIONS for a in args):
        repair_setup(early_config, parser, args)


def repair_setup(config: pytest.Config, parser: pytest.Parser, args: list[str]) -> bool:
    """Redo what ``Config.parse`` did from the first parse, with our options known.

    Returns True when the rootdir or configuration file changed.  Follows ``Config.parse`` of
    pytest 8/9 step by step: strip the ``addopts`` of the mistaken configuration file from
    ``args``, ``determine_setup`` again, prepend the right ``addopts``, parse the known
    arguments again, check ``minversion``, apply ``pythonpath`` and ``-p`` from ``addopts``, and
    reset ``confcutdir`` (pytest's ``pytest_load_initial_conftests``, which runs after this one,
    loads the conftests from there).  ``args`` is the list ``Config.parse`` goes on with.
    """
    import inspect

    from _pytest.config.findpaths import determine_setup

    mistaken_addopts = list(config.getini("addopts"))
    user_args = list(args)
    if mistaken_addopts and user_args[:len(mistaken_addopts)] == mistaken_addopts:
        user_args = user_args[len(mistaken_addopts):]
    ns = parser.parse_known_args(user_args, namespace=copy.copy(config.option))
    wanted = {"inifile": ns.inifilename, "override_ini": getattr(ns, "override_ini", None), "args": ns.file_or_dir,
              "rootdir_cmd_arg": ns.rootdir or None, "invocation_dir": config.invocation_params.dir}
    accepted = inspect.signature(determine_setup).parameters  # override_ini is newer than pytest 8.0
    setup = determine_setup(**{k: v for k, v in wanted.items() if k in accepted})
    rootpath, inipath, inicfg = setup[0], setup[1], setup[2]
    if (rootpath, inipath) == (config.rootpath, config.inipath):
        return False
    c: Any = config  # pytest's private state, set as Config.parse sets it
    if hasattr(c, "_unconfigure_python_path"):
        c._unconfigure_python_path()  # pythonpath of the mistaken file
    c._rootpath, c._inipath, c._inicfg = rootpath, inipath, inicfg
    if len(setup) > 3:
        c._ignored_config_files = setup[3]
    c._inicache.clear()
    parser.extra_info["rootdir"] = str(rootpath)
    parser.extra_info["inifile"] = str(inipath)
    addopts = c._validate_args(config.getini("addopts"), "via addopts config")
    args[:] = addopts + user_args
    config.known_args_namespace = parser.parse_known_args(args, namespace=copy.copy(config.option))
    c._checkversion()
    if hasattr(c, "_configure_python_path"):
        c._configure_python_path()
    config.pluginmanager.consider_preparse(addopts, exclude_only=False)
    if config.known_args_namespace.confcutdir is None:
        config.known_args_namespace.confcutdir = str(inipath.parent if inipath is not None else rootpath)
    return True
