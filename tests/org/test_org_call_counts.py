"""An organization audit reads each account once: per-operation call counts of 3 accounts x 2 keys."""
from __future__ import annotations

import collections

from tests.audit.helpers import run_audit, statuses

CONFIG = """
[organization]
role_name = "BedrockKeyAuditRole"
govcloud_tag = "govcloud-account-id"
"""


def _org(emu):
    from bedrock_key_audit.emulator.org_builder import build_organization

    build_organization(emu.url, 2, keys_per_account=2)


def test_org_call_counts(pytester):
    cfg = pytester.makefile(".toml", audit=CONFIG)
    rows = run_audit(pytester, "compliant", "--all-keys", f"--audit-config={cfg}", setup=_org)
    config = rows["__reprec__"].getcalls("pytest_sessionfinish")[0].session.config
    from bedrock_key_audit.fixtures.aws import CALL_LOG_KEY

    ops = collections.Counter((c["service"], c["operation"]) for c in config.stash[CALL_LOG_KEY].as_dicts()
                              if c["kind"] == "aws")
    items = [r.nodeid for r in rows["__reprec__"].getreports("pytest_runtest_logreport") if r.when == "call"]
    open("/tmp/diag/order.txt", "w").write("\n".join(items))
    for k, v in sorted(ops.items(), key=lambda kv: -kv[1]):
        print(v, k)
    print(collections.Counter(statuses(rows).values()))
    assert 0
