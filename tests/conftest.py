"""Fixtures for the project's own tests: an in-process emulator, reset per test."""
from __future__ import annotations

from typing import Iterator

import pytest

from bedrock_key_audit import guard
from bedrock_key_audit.fixtures.emulator.plugin import get_emulator
from bedrock_key_audit.emulator.server import Emulator

pytest_plugins = ["pytester"]


def pytest_configure(config):
    """Fewer cyclic garbage collections in the test process (and each xdist worker).

    A test session holds about a million objects (moto's backends, botocore's models) and every in-process
    audit or scenario build allocates hundreds of thousands more; with CPython's default thresholds
    (700, 10, 10) the collector ran some 800 times per audit test, full collections included, and took
    half to three quarters of the test process's CPU time.  These thresholds cut that to a fifth while a full
    collection still runs every ten million or so net allocations (a score of audit tests), which keeps memory
    bounded (the same peak within a third).  Only when objects are freed changes: no test observes it.
    Source: Python docs, "gc -- Garbage Collector interface", gc.set_threshold.
    """
    import gc

    gc.set_threshold(50_000, 20, 10)


_frozen = False


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item):
    """Once the in-process emulator runs, what the process holds then is moved out of the collector's sight.

    By then the process holds its long-lived objects (the modules pytest, moto, botocore and the audit import,
    botocore's models, the emulator); each later full collection walked all of them again, as did
    ``unraisableexception``'s collection at the session's end.  ``gc.freeze`` (after one collection, so no
    garbage is frozen) keeps them alive and unscanned; what later tests allocate is collected as before.  The
    state of the test just torn down is frozen with them and stays until the process ends: one scenario's
    worth.  Source: Python docs, "gc -- Garbage Collector interface", gc.freeze.
    """
    global _frozen
    if _frozen:
        return
    from bedrock_key_audit.fixtures.emulator import plugin as emulator_plugin

    if emulator_plugin._singleton is not None:
        import gc

        gc.collect()
        gc.freeze()
        _frozen = True


@pytest.fixture(autouse=True)
def _keep_sys_modules(monkeypatch):
    """In-process audit runs share this process with the emulator's server thread.

    pytester restores ``sys.modules`` after every in-process run, deleting whatever the run
    imported, including modules the emulator thread loaded lazily while serving it, which
    then breaks its next request.  Keep every module but test modules and conftests, which
    pytester runs may define again under the same name in another directory.
    """
    from _pytest import pytester as _pytester

    monkeypatch.setattr(
        _pytester.Pytester,
        "_Pytester__take_sys_modules_snapshot",
        lambda self: _pytester.SysModulesSnapshot(preserve=lambda name: not name.startswith(("test_", "conftest"))),
    )


@pytest.fixture(autouse=True)
def _no_keys_remembered_from_earlier_tests():
    """Each test starts with no remembered key pieces, as the first test of a process (and every audit process) does.

    The redaction memory (bedrock_key_audit/redaction/known.py) lives for the process: a key an earlier test's
    audit read (a hostile one holding an ARN after its colon, say) stayed remembered, so a later test's
    snapshot masked pieces its results.json did not, and its rejudge differed -- only when xdist happened to
    run the two in one worker.
    """
    from bedrock_key_audit.redaction import known

    known.forget_all()


@pytest.fixture(scope="session")
def emulator() -> Emulator:
    """One emulator for the whole test session (the network guard is installed first)."""
    guard.install()
    return get_emulator()


@pytest.fixture
def emu(emulator: Emulator) -> Iterator[Emulator]:
    """The emulator with empty state, clock and faults reset."""
    emulator.reset()
    yield emulator


_CHECKOUT_REPORTS = __import__("pathlib").Path(__file__).resolve().parent.parent / "reports"


def _checkout_reports() -> set[str]:
    try:
        return {p.name for p in _CHECKOUT_REPORTS.iterdir()}
    except FileNotFoundError:
        return set()


@pytest.fixture(autouse=True)
def _no_run_directory_in_the_checkout() -> Iterator[None]:
    """A test that runs the audit gives it a tmp ``--reports-dir`` (or ``--no-reports``): one that
    writes into ``<checkout>/reports`` (the default of a run rooted at the checkout) fails, naming
    what it wrote, and what it wrote is removed so the next test starts from the same checkout."""
    import shutil

    before = _checkout_reports()
    yield
    added = sorted(_checkout_reports() - before)
    for name in added:
        path = _CHECKOUT_REPORTS / name
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    # under xdist another worker's test (or a subprocess it started) may be the writer: only a serial run can
    # name the test, so the guard fails only there (it still removes what appeared)
    if added and not __import__("os").environ.get("PYTEST_XDIST_WORKER"):
        pytest.fail(f"the test wrote into the checkout's reports/ ({', '.join(added)}): pass --reports-dir "
                    "under tmp_path or --no-reports", pytrace=False)
