"""Run the audit with --remediate in-process; snapshot the emulator's state; build fixer contexts."""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from tests.audit.helpers import SkipDiscardedTracebacks

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ROOT / "checks"
USER = "bedrock-cross-partition-user"
SECRET = "cross-partition-commercial-creds"


class Capture:
    """Keeps what a run left in config.stash (plan, actions) and every final check record."""

    def __init__(self, setup=None):
        self.setup = setup
        self.actions: list[dict[str, Any]] = []
        self.plan: list[Any] = []
        self.records: dict[str, Any] = {}
        self.before: Any = None

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config):
        from bedrock_key_audit.fixtures.emulator.plugin import EMULATOR_KEY

        emu = config.stash.get(EMULATOR_KEY, None)
        if self.setup and emu is not None:
            self.setup(emu)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session):
        from bedrock_key_audit.fixtures.checks import RECORD
        from bedrock_key_audit.fixtures.remediation.plugin import ACTIONS_KEY, PLAN_KEY

        self.actions = list(session.config.stash[ACTIONS_KEY])
        self.plan = list(session.config.stash[PLAN_KEY])
        for item in session.items:
            rec = item.stash.get(RECORD, None)
            if rec is not None:
                key = rec.check_id + (f"[{rec.partition}]" if rec.partition else "")
                self.records[key] = rec

    def statuses(self) -> dict[str, str]:
        return {k: r.status for k, r in self.records.items()}


def run(pytester, *args: str, scenario: str | None = None, setup=None, plugins_extra=()) -> tuple[Any, Capture]:
    """One in-process audit run (``scenario``: --emulate=scenario; None: the current emulator state)."""
    cap = Capture(setup)
    extra = [f"--emulate={scenario}"] if scenario else []
    result = pytester.runpytest_inprocess(
        str(CHECKS), *extra, "--no-reports", "-p", "no:cacheprovider", f"--rootdir={ROOT}",
        "-c", str(ROOT / "pyproject.toml"), *args, plugins=[cap, SkipDiscardedTracebacks(), *plugins_extra])
    return result, cap


class PlanPoint:
    """What an apply run (``--remediate``) held at the moment its plan was complete, before its first write:
    the plan's steps (copies: apply_plan then sets their status), the audit's records the plan was built
    from, and ``state``, what ``at()`` returned then (a snapshot of the account).

    Apply builds its plan with the very code plan mode runs (fixtures/remediation/plugin.py ``_plan``: the
    same ``build_plan(ctx, records)``, dry runs included, on the records of the same audit; only
    ``apply=True`` adds ``apply_plan`` after it), so the account at this point is the account after a
    ``--remediate=plan`` run of the same arguments, and these steps are that run's plan."""

    def __init__(self, at: Any = None):
        self.at = at
        self.plan: list[Any] = []
        self.records: dict[str, Any] = {}
        self.state: Any = None
        self.seen = False

    def statuses(self) -> dict[str, str]:
        return {k: r.status for k, r in self.records.items()}


@contextlib.contextmanager
def plan_point(at: Any = None) -> Iterator[PlanPoint]:
    """Within the block, every apply run records a :class:`PlanPoint` (a test-only wrapper on the plugin's
    ``_plan`` and ``apply_plan`` seam; nothing of the run changes)."""
    from bedrock_key_audit.fixtures.remediation import plugin

    point = PlanPoint(at)
    orig_plan, orig_apply = plugin._plan, vars(plugin)["apply_plan"]  # as the plugin calls it (a test may wrap it)

    def _plan(config: Any, records: list[Any], apply: bool) -> Any:
        if apply:
            point.records = {r.check_id + (f"[{r.partition}]" if r.partition else ""): r for r in records}
        return orig_plan(config, records, apply)

    def apply_plan(ctx: Any, steps: list[Any], on_action: Any) -> Any:
        point.plan = [dataclasses.replace(s, **{f.name: list(getattr(s, f.name)) for f in dataclasses.fields(s)
                                                if isinstance(getattr(s, f.name), list)}) for s in steps]
        point.state = point.at() if point.at else None
        point.seen = True
        return orig_apply(ctx, steps, on_action)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plugin, "_plan", _plan)
        mp.setattr(plugin, "apply_plan", apply_plan)
        yield point


def point_env_at(monkeypatch, emu) -> None:
    """The environment --emulate sets, for a run (or a client) that must not reset the emulator."""
    for k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"):
        monkeypatch.delenv(k, raising=False)
    for k, v in emu.env().items():
        monkeypatch.setenv(k, v)
    fd, empty = tempfile.mkstemp(prefix="remediation-aws-config-")
    os.close(fd)
    monkeypatch.setenv("AWS_CONFIG_FILE", empty)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", empty)


def snapshot(emu) -> dict[str, Any]:
    """Everything remediation could change: users, policies, credentials, secret versions, keys, trails, buckets."""
    iam = emu.client("iam")
    out: dict[str, Any] = {"users": sorted(u["UserName"] for u in iam.list_users()["Users"])}
    out["local_policies"] = sorted((p["PolicyName"], p["DefaultVersionId"]) for p in iam.list_policies(Scope="Local")["Policies"])
    if USER in out["users"]:
        out["attached"] = sorted(a["PolicyArn"] for a in iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"])
        out["inline"] = sorted(iam.list_user_policies(UserName=USER)["PolicyNames"])
        out["access_keys"] = sorted(k["AccessKeyId"] for k in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"])
        out["credentials"] = sorted((c["ServiceSpecificCredentialId"], c["Status"]) for c in
                                    iam.list_service_specific_credentials(UserName=USER)["ServiceSpecificCredentials"])
    for part in ("commercial", "govcloud"):
        sm = emu.client("secretsmanager", part)
        out[f"secrets:{part}"] = sorted(
            (s["Name"], json.dumps(s.get("SecretVersionsToStages", {}), sort_keys=True), s.get("KmsKeyId"))
            for s in sm.list_secrets()["SecretList"])
        out[f"kms:{part}"] = sorted(a["AliasName"] for a in emu.client("kms", part).list_aliases()["Aliases"]
                                    if not a["AliasName"].startswith("alias/aws/"))
        ct = emu.client("cloudtrail", part)
        trails = ct.describe_trails()["trailList"]
        out[f"trails:{part}"] = sorted(json.dumps({**t, "IsLogging": ct.get_trail_status(Name=t["TrailARN"])["IsLogging"],
                                                   "Selectors": ct.get_event_selectors(TrailName=t["TrailARN"]).get("EventSelectors")},
                                                  sort_keys=True, default=str) for t in trails)
        out[f"buckets:{part}"] = sorted(b["Name"] for b in emu.client("s3", part).list_buckets()["Buckets"])
    return out


def current_key_answers(emu) -> int:
    """Status of GET /foundation-models with the key the secret's AWSCURRENT holds."""
    value = emu.client("secretsmanager", "govcloud").get_secret_value(SecretId=SECRET)["SecretString"]
    key = json.loads(value)["bedrock_api_key"]
    with httpx.Client(timeout=10) as c:
        return c.get(f"{emu.url}/foundation-models", headers={"Authorization": f"Bearer {key}"}).status_code


def credential_count(emu) -> int:
    return len(emu.client("iam").list_service_specific_credentials(UserName=USER)["ServiceSpecificCredentials"])
