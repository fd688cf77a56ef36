"""A remediation run in its own process, for the signal tests (``test_rotation_signals.py``).

    python -m tests.remediation.rotation_driver <run dir> [<earlier run dir> ...]

Plans the credential rows' fixes from the emulator the environment points at (``AWS_ENDPOINT_URL``),
waits for a line on stdin (the test arms its pause meanwhile), applies them with ``--allow-destructive``, journals into ``<run dir>``, and prints one JSON line per
action entry (redacted, as the plugin logs them).  It prints ``planned`` once the plan is built.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from bedrock_key_audit import guard
from bedrock_key_audit.emulator import clock
from bedrock_key_audit.aws import Aws, CallLog
from bedrock_key_audit.checkcore import CheckRecord
from bedrock_key_audit.config import load_config
from bedrock_key_audit.inventory.reader import Inventory
from bedrock_key_audit.remediation import fixers as _fixers  # noqa: F401 -- registers the fixers
from bedrock_key_audit.remediation import rotation
from bedrock_key_audit.remediation.core import Context, apply_plan, build_plan
from bedrock_key_audit.remediation.journal import Journal

ROWS = ("credential.unexpired", "credential.single_active")


def main(argv: list[str]) -> int:
    guard.install()
    rotation.EMULATED_DELAY = 0.0
    cfg = load_config(None)
    aws = Aws(cfg, CallLog(), emulated=True)
    ctx = Context(aws, cfg, Inventory(aws, cfg), clock.now(), allow_destructive=True)
    ctx.journal = Journal(Path(argv[0]), [Path(p) for p in argv[1:]])
    records = [CheckRecord(cid, cid, "credential", "high", {}, f"checks/x::{cid}", status="fail", detail="")
               for cid in ROWS]
    steps = build_plan(ctx, records)
    print("planned", flush=True)
    sys.stdin.readline()  # the test arms its pause, then says go
    apply_plan(ctx, steps, lambda st, entry: print(json.dumps(entry, default=str), flush=True))
    ctx.inv.g.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
