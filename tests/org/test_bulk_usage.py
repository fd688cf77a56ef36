"""credential.recently_used in fleet mode: one account-wide LookupEvents (EventSource bedrock) per region
gives the same verdicts and facts as the per-user reads (single-key mode, and fleet mode's fallback when
the account-wide read stops before the window's end); denied, every row ends error, never pass."""
from __future__ import annotations

import collections

import pytest

from bedrock_key_audit.emulator import aws_faults, clock, scenarios
from bedrock_key_audit.emulator.regions import DEFAULT_REGIONS
from bedrock_key_audit.inventory.keys import bedrock_commercial_regions
from tests.audit.helpers import run_audit, statuses

ROW = "credential.recently_used"
OWNER = scenarios.USER
# (user, calls before the clock moves 31 days, calls after): addresses of the Bedrock calls with the user's key
USERS = {
    "recent-bot": ([], [scenarios.WORKLOAD_SOURCE_IP]),
    "foreign-bot": ([scenarios.WORKLOAD_SOURCE_IP], [scenarios.FOREIGN_SOURCE_IP]),
    "idle-bot": ([scenarios.WORKLOAD_SOURCE_IP], []),
    "never-bot": ([], []),
}
EXPECTED = {"recent-bot": "pass", "foreign-bot": "fail", "idle-bot": "fail", "never-bot": "fail", OWNER: "fail"}
THIRD_REGION = "eu-west-1"
# the emulator's accounts have the 17 default Regions enabled; each where Bedrock is offered is read
REGIONS = len(DEFAULT_REGIONS & bedrock_commercial_regions())
# every fact but the times (each run builds its emulator anew, seconds apart); last use: whether there is one
FACTS = ("calls", "source_ips", "user_agents", "outside_calls", "truncated_regions", "unreadable_events",
         "sigv4_bedrock_calls", "denied_calls", "regions", "max_unused_days", "calls_by_region")


def _facts_of(facts, owner=False):
    """``owner``: without outside_calls, which counts this audit's own probes (from 127.0.0.1) when they were
    recorded before the history was read -- a matter of timing in every mode."""
    return {**{k: facts.get(k) for k in FACTS if not (owner and k == "outside_calls")},
            "used": facts.get("last_use") is not None}


def _fleet(emu):
    # the compliant organization sanctions these keyed users too (its SCP confines long-term keys)
    from bedrock_key_audit.emulator.scenarios_org import sanction_key_users

    sanction_key_users(*USERS)
    iam = emu.client("iam", "commercial")
    arn = next(p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"])
    keys = {}
    for name in USERS:
        iam.create_user(UserName=name)
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
        keys[name] = iam.create_service_specific_credential(
            UserName=name, ServiceName="bedrock.amazonaws.com", CredentialAgeDays=90)["ServiceSpecificCredential"]
    for name, (before, _) in USERS.items():
        for ip in before:
            scenarios._bearer_call(emu, keys[name]["ServiceCredentialSecret"], ip)
    clock.advance(days=31)
    for name, (_, after) in USERS.items():
        for ip in after:  # recent-bot's use is in a third Region: the account-wide read of eu-west-1 finds it
            scenarios._bearer_call(emu, keys[name]["ServiceCredentialSecret"], ip,
                                   region=THIRD_REGION if name == "recent-bot" else "us-east-1")


def _denied(emu):
    _fleet(emu)
    aws_faults.deny("cloudtrail:LookupEvents")


@pytest.fixture
def config(pytester):
    path = pytester.path / "usage.toml"
    path.write_text(f'[credential]\nmax_unused_days = 30\nallowed_source_cidrs = ["{scenarios.WORKLOAD_CIDR}"]\n')
    yield f"--audit-config={path}"
    clock.reset()


def _usage(rows):
    out = {}
    for row, status in statuses(rows).items():
        if row.startswith(ROW + "["):
            [facts] = [e["data"] for e in rows[row]["evidence"] if e["source"] == "cloudtrail:LookupEvents"]
            user = row[len(ROW) + 1:-1]
            out[user] = (status, _facts_of(facts, owner=user == OWNER))
    return out


def _lookups(rows):
    config = rows["__reprec__"].getcalls("pytest_sessionfinish")[0].session.config
    from bedrock_key_audit.fixtures.aws import CALL_LOG_KEY

    return collections.Counter(c["operation"] for c in config.stash[CALL_LOG_KEY].as_dicts())["LookupEvents"]


def test_bulk_usage_read_equals_per_user_reads(pytester, config, monkeypatch):
    bulk = run_audit(pytester, "key_used_outside_cidrs", "--all-keys", config, setup=_fleet)
    got = _usage(bulk)
    assert {u: s for u, (s, _) in got.items()} == EXPECTED
    assert _lookups(bulk) == REGIONS  # one account-wide read per enabled Bedrock Region
    assert got["foreign-bot"][1]["outside_calls"] >= 1 and got["recent-bot"][1]["calls"] == 1
    assert got["recent-bot"][1]["calls_by_region"] == {THIRD_REGION: 1}

    # the account-wide read stopped early (here: after one event): each user is read on its own instead
    from bedrock_key_audit.inventory import usage

    clock.reset()
    monkeypatch.setattr(usage, "BULK_MIN_EVENTS", 1)
    monkeypatch.setattr(usage, "PAGE_SIZE", 0)
    fallback = run_audit(pytester, "key_used_outside_cidrs", "--all-keys", config, setup=_fleet)
    assert _usage(fallback) == got
    # only us-east-1 and eu-west-1 have events: each of them is read user by user
    assert _lookups(fallback) == REGIONS + 2 * len(EXPECTED)
    from bedrock_key_audit.fixtures.inventory import BULK_NOTES_KEY

    notes = fallback["__reprec__"].getcalls("pytest_sessionfinish")[0].session.config.stash[BULK_NOTES_KEY]
    assert any("read user by user (cloudtrail:LookupEvents by Username)" in n for n in notes), notes
    monkeypatch.undo()

    # single-key mode: the owner's row is the same
    clock.reset()
    single = run_audit(pytester, "key_used_outside_cidrs", config, setup=_fleet)
    [facts] = [e["data"] for e in single[ROW]["evidence"] if e["source"] == "cloudtrail:LookupEvents"]
    assert (statuses(single)[ROW], _facts_of(facts, owner=True)) == got[OWNER]
    assert _lookups(single) == REGIONS


def test_bulk_usage_read_denied_every_row_errors(pytester, config):
    rows = run_audit(pytester, "key_used_outside_cidrs", "--all-keys", config, rows=[ROW], setup=_denied)
    got = {r: s for r, s in statuses(rows).items() if r.startswith(ROW + "[")}
    assert set(got.values()) == {"error"} and len(got) == len(EXPECTED)
    assert all("cloudtrail:LookupEvents was denied" in rows[r]["detail"] for r in got)
