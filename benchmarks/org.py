"""Organization benchmark: A accounts (the management account and A-1 members) x K keyed users.

The organization is built at 0 ms (bedrock_key_audit/emulator/org_builder.py), then the
emulator's added latency is set (``POST /_emulator/latency``) and the audit runs with
``[organization]`` and ``--all-keys``: every account under its assumed role, IAM read in bulk.

Expected calls: 1 ListAccounts, then per account 2 sts:AssumeRole (one per partition), 1
organizations:ListTagsForResource (the GovCloud pairing tag), the fleet-mode reads of
``benchmarks/run.py`` (3 per key + about 40 account-wide reads, most of them once per partition),
and one GetPolicy + GetPolicyVersion per AWS managed policy attached in the account; 2 HTTP calls
(the endpoint probes) per account.  Each account's rows run together (fixtures/inventory.py), so
each account's reads are made once; tests/org/test_org_call_counts.py pins the counts.  Measured
at 0 ms, 5 x 20 (2026-11-30): 509 AWS calls = 5.09 per key, 10 HTTP calls (was 7,239 = 72.4 per key
and 180 HTTP calls, when pytest interleaved the accounts' rows and each account's inventory was
built again and again).
"""
from __future__ import annotations

import json
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.run import run_audit, start_emulator

CONFIG = """
[organization]
role_name = "BedrockKeyAuditRole"
govcloud_tag = "govcloud-account-id"
"""


def _post(url: str, path: str, payload: dict[str, Any]) -> Any:
    req = urllib.request.Request(f"{url}{path}", method="POST", data=json.dumps(payload).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req, timeout=30) as resp:
        return json.loads(resp.read())


def run_org(accounts: int, keys: int, latency_ms: int, reports: bool = False) -> dict[str, Any]:
    from bedrock_key_audit.emulator.org_builder import build_organization

    proc, url = start_emulator("compliant", 0)
    try:
        t0 = time.perf_counter()
        build_organization(url, accounts - 1, keys_per_account=keys)
        built_s = time.perf_counter() - t0
        _post(url, "/_emulator/latency", {"ms": latency_ms})
        cfg = Path(tempfile.mkdtemp(prefix="bench-org-")) / "audit.toml"
        cfg.write_text(CONFIG)
        r = run_audit(url, "--all-keys", f"--audit-config={cfg}", reports=reports, latency_ms=latency_ms)
        r.pop("timeline")
    finally:
        proc.terminate()
        proc.wait()
    r.update({"accounts": accounts, "keys_per_account": keys, "keys": accounts * keys,
              "aws_calls_per_key": round(r["aws_calls"] / (accounts * keys), 2), "latency_ms": latency_ms,
              "build_s": round(built_s, 1)})
    return r
