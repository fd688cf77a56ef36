"""The conftest guard fails a test that writes a run directory into the checkout's reports/."""
from __future__ import annotations

pytest_plugins = ["pytester"]


def test_a_test_writing_into_the_checkout_reports_fails(pytester, monkeypatch, tmp_path):
    from tests import conftest

    # a stand-in for <checkout>/reports: the real one is watched by the tests running beside this one on the
    # other xdist worker, whose guard would see the probe appear
    monkeypatch.setattr(conftest, "_CHECKOUT_REPORTS", tmp_path / "reports")
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # the inner run is serial: its guard names the test

    name = "20000101T000000Z-guard-probe"
    pytester.makepyfile(test_writes=f"""
        def test_writes():
            ({str(conftest._CHECKOUT_REPORTS)!r} and __import__("pathlib").Path({str(conftest._CHECKOUT_REPORTS / name)!r}).mkdir(parents=True))
    """)
    pytester.makeconftest("from tests.conftest import _no_run_directory_in_the_checkout  # noqa: F401\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([f"*the test wrote into the checkout's reports/ ({name})*"])
    assert not (conftest._CHECKOUT_REPORTS / name).exists()
