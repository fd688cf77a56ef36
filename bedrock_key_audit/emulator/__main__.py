"""Standalone emulator: ``python -m bedrock_key_audit.emulator --port 4566 --scenario guide``.

Prints the URL on one line, then serves until interrupted (SIGINT/SIGTERM).  Binds
loopback only: any other ``--host`` is refused with exit status 2.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading


def main(argv: list[str] | None = None) -> int:
    from bedrock_key_audit.emulator import scenarios
    from bedrock_key_audit.emulator.server import partitions_is_loopback

    parser = argparse.ArgumentParser(prog="python -m bedrock_key_audit.emulator",
                                     description="Embedded AWS emulator (moto + IAM API keys + Bedrock), loopback only.")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--scenario", default="empty", help="state to build at start (default: empty)")
    parser.add_argument("--latency-ms", dest="latency_ms", type=int, default=0, help="delay added to every request")
    parser.add_argument("--enforce-iam", dest="enforce_iam", action="store_true",
                        help="authorize every signed call of an IAM user or role session by its policies "
                             "(identity, boundary, session, resource, SCPs); the emulator's own keys stay root")
    parser.add_argument("--warm", action="store_true",
                        help="before printing the URL, answer one read of each service an audit makes, so the "
                             "first request of a service costs what later ones do (moto builds its state lazily: "
                             "seconds of CPU at the first EC2 request); for benchmarks")
    parser.add_argument("--list-scenarios", action="store_true", help="list the scenarios and exit")
    args = parser.parse_args(argv)

    if os.environ.get("INITIAL_NO_AUTH_ACTION_COUNT") not in (None, "", "inf"):
        # moto's own switch: it refuses the emulator's keys while the scenario is built, and where it
        # does enforce it is not AWS's evaluation (resource-level ARNs, S3, CloudTrail error codes)
        print("error: INITIAL_NO_AUTH_ACTION_COUNT (moto's IAM enforcement) is not supported by the standalone "
              "emulator: it refuses the emulator's own keys while the scenario is built and drops resource ARNs "
              "and conditions; use --enforce-iam, which authorizes every call of an IAM user or role session",
              file=sys.stderr)
        return 2
    if args.list_scenarios:
        for name, doc in scenarios.describe().items():
            print(f"{name:24} {doc}")
        return 0
    if not partitions_is_loopback(args.host):
        print(f"error: --host {args.host!r} is not a loopback address; the emulator binds loopback only",
              file=sys.stderr)
        return 2
    if args.scenario not in scenarios.SCENARIOS:
        print(f"error: unknown scenario {args.scenario!r}; known: {', '.join(scenarios.SCENARIOS)}", file=sys.stderr)
        return 2
    if args.latency_ms < 0 or not 0 <= args.port <= 65535:
        print("error: --latency-ms must be >= 0 and --port within 0..65535", file=sys.stderr)
        return 2

    from bedrock_key_audit import guard
    from bedrock_key_audit.emulator.server import Emulator

    guard.install()
    emu = Emulator(host=args.host, port=args.port, latency_ms=args.latency_ms, enforce_iam=args.enforce_iam)
    try:
        emu.start(ready=False)  # /_emulator/health answers ready once the scenario is built
    except OSError as exc:
        print(f"error: cannot bind {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        emu.apply(args.scenario)
    except Exception as exc:  # noqa: BLE001 -- any scenario failure is a one-line error
        print(f"error: scenario {args.scenario!r} failed: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        emu.stop()
        return 1
    if args.warm:
        emu.warm_reads()
    emu.mark_ready()
    print(emu.url, flush=True)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
