"""``credential.recently_used`` end to end: the real audit against the emulator's event history.

Calls made with the key through the emulator are reported (last use, source addresses); once the
emulator clock moves past ``max_unused_days`` the row fails, and a call from outside
``allowed_source_cidrs`` fails it too.  The logic's classes are unit-tested in test_usage_units.py.
"""
from __future__ import annotations

from bedrock_key_audit.emulator import clock, scenarios
from tests.audit.helpers import run_audit, statuses

ROW = "credential.recently_used"


def test_calls_through_the_emulator_are_reported(pytester):
    rows = run_audit(pytester, "key_used_outside_cidrs")
    got = statuses(rows)
    assert {r for r, s in got.items() if s != "pass"} == set(), {r: rows[r]["detail"] for r, s in got.items() if s != "pass"}
    detail = rows[ROW]["detail"]
    assert "2 call(s)" in detail and f"{scenarios.WORKLOAD_SOURCE_IP} ×1" in detail
    assert f"{scenarios.FOREIGN_SOURCE_IP} ×1" in detail and scenarios.WORKLOAD_USER_AGENT in detail
    assert "not yet due" in detail and "last used" in detail and "matched on the user" in detail
    # the audit's own probes ran (endpoint rows) and are not counted as use
    [facts] = [e["data"] for e in rows[ROW]["evidence"] if e["source"] == "cloudtrail:LookupEvents"]
    assert facts["calls"] == 2 and facts["last_use"] is not None


def test_fails_past_max_unused_days_and_for_a_call_from_elsewhere(pytester):
    config = pytester.path / "usage.toml"
    config.write_text(f'[credential]\nmax_unused_days = 30\nallowed_source_cidrs = ["{scenarios.WORKLOAD_CIDR}"]\n')
    try:
        rows = run_audit(pytester, "key_used_outside_cidrs", f"--audit-config={config}",
                         setup=lambda emu: clock.advance(days=31))
    finally:
        clock.reset()
    got = statuses(rows)
    assert {r for r, s in got.items() if s != "pass"} == {ROW}, {r: rows[r]["detail"] for r, s in got.items() if s != "pass"}
    detail = rows[ROW]["detail"]
    assert "was not used for more than max_unused_days 30" in detail and "(31 days ago" in detail
    assert "came from outside allowed_source_cidrs" in detail and f"{scenarios.FOREIGN_SOURCE_IP} ×1" in detail
    # this run's own probes (from 127.0.0.1, outside the range) carry this run's token: they are neither use
    # nor judged for their source; the call from elsewhere still fails the row
    assert "127.0.0.1" not in detail


def test_every_enabled_region_is_read_even_when_the_secrets_region_is_unreadable(pytester):
    # key_unused fails the row.  The history of every enabled Bedrock Region is read, so a deleted secret
    # (its region unreadable) no longer leaves a Region unread: the row still fails (it used to end error)
    def drop_secret(emu):
        emu.client("secretsmanager", "govcloud").delete_secret(
            SecretId="cross-partition-commercial-creds", ForceDeleteWithoutRecovery=True)

    rows = run_audit(pytester, "key_unused", rows=[ROW, "bedrock.invocation_logging"], setup=drop_secret)
    assert rows[ROW]["status"] == "fail", rows[ROW]["detail"]
    [facts] = [e["data"] for e in rows[ROW]["evidence"] if e["source"] == "cloudtrail:LookupEvents"]
    assert {"us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"} <= set(facts["regions"])
    assert "me-central-1" not in facts["regions"]  # an opt-in Region the account has not enabled
    assert rows["bedrock.invocation_logging"]["status"] == "error"


def _key(emu) -> str:
    import json

    return json.loads(emu.client("secretsmanager", "govcloud").get_secret_value(
        SecretId=scenarios.SECRET_NAME)["SecretString"])["bedrock_api_key"]


def test_use_in_a_third_region_is_use_and_an_outside_call_there_fails(pytester):
    config = pytester.path / "usage.toml"
    config.write_text(f'[credential]\nallowed_source_cidrs = ["{scenarios.WORKLOAD_CIDR}"]\n')

    def opt_in_and_call(emu):
        emu.client("account", "commercial").enable_region(RegionName="me-central-1")
        scenarios._bearer_call(emu, _key(emu), scenarios.WORKLOAD_SOURCE_IP, region="eu-west-1")
        scenarios._bearer_call(emu, _key(emu), scenarios.FOREIGN_SOURCE_IP, region="me-central-1")

    rows = run_audit(pytester, "key_unused", rows=[ROW], setup=opt_in_and_call)  # no ranges: the eu-west-1 call is use
    assert rows[ROW]["status"] == "pass", rows[ROW]["detail"]
    [facts] = [e["data"] for e in rows[ROW]["evidence"] if e["source"] == "cloudtrail:LookupEvents"]
    assert facts["calls_by_region"] == {"eu-west-1": 1, "me-central-1": 1}
    rows = run_audit(pytester, "key_unused", f"--audit-config={config}", rows=[ROW], setup=opt_in_and_call)
    assert rows[ROW]["status"] == "fail", rows[ROW]["detail"]
    assert f"{scenarios.FOREIGN_SOURCE_IP} ×1" in rows[ROW]["detail"] and "me-central-1 ×1" in rows[ROW]["detail"]


def test_denied_enabled_regions_read_leaves_an_unused_key_undecided(pytester):
    from bedrock_key_audit.emulator import aws_faults

    rows = run_audit(pytester, "key_unused", rows=[ROW], setup=lambda emu: aws_faults.deny("ec2:DescribeRegions"))
    assert rows[ROW]["status"] == "error", rows[ROW]["detail"]
    assert "the account's enabled Regions cannot be read" in rows[ROW]["detail"]
    assert "ec2:DescribeRegions" in rows[ROW]["detail"]


def test_an_earlier_runs_recorded_probes_are_spared_the_source_address_judgement(pytester):
    """A probe of an earlier run (its token in ``<reports-dir>/probe-tokens.json``, the call within
    that run's span) from outside ``allowed_source_cidrs`` is not a call from elsewhere; without the
    file the same call fails the row."""
    import datetime as dt
    import urllib.request

    from bedrock_key_audit.usage import AUDIT_USER_AGENT, PROBE_TOKENS_FILE, ProbeRun, record_probe_run

    token = "a1b2c3d4e5f60718"
    config = pytester.path / "usage.toml"
    config.write_text(f'[credential]\nallowed_source_cidrs = ["{scenarios.WORKLOAD_CIDR}"]\n')

    def earlier_probe(emu):
        req = urllib.request.Request(f"{emu.url}/foundation-models", method="GET", headers={
            "Authorization": f"Bearer {_key(emu)}", "x-emulator-region": "us-east-1",
            "x-emulator-source-ip": scenarios.FOREIGN_SOURCE_IP, "User-Agent": f"{AUDIT_USER_AGENT} run/{token}"})
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req, timeout=10) as resp:
            resp.read()
        scenarios._bearer_call(emu, _key(emu), scenarios.WORKLOAD_SOURCE_IP)

    recorded = pytester.path / "recorded"
    recorded.mkdir()
    now = clock.now()
    record_probe_run(recorded / PROBE_TOKENS_FILE, ProbeRun(token, now - dt.timedelta(minutes=5),
                                                             now + dt.timedelta(minutes=30)))
    rows = run_audit(pytester, "compliant", f"--audit-config={config}", f"--reports-dir={recorded}", rows=[ROW],
                     setup=earlier_probe)
    assert rows[ROW]["status"] == "pass", rows[ROW]["detail"]
    rows = run_audit(pytester, "compliant", f"--audit-config={config}", f"--reports-dir={pytester.path / 'none'}", rows=[ROW],
                     setup=earlier_probe)
    assert rows[ROW]["status"] == "fail" and f"{scenarios.FOREIGN_SOURCE_IP} ×1" in rows[ROW]["detail"]
