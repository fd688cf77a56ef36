"""Plan and apply name the same state for each step: a Mantle-only workload on ``mantle_open`` (the user
holds ``AmazonBedrockMantleInferenceAccess`` and the runtime grant), whose least-privilege fix replaces both
managed policies by ours.  The plan's dry run and apply judge the replacement grant alike (the managed
policy's ``project/*`` resource covers every project, so our ``"*"`` grant widens nothing), and a step
whose required step cannot run is ``blocked`` in the plan as apply leaves it."""
from __future__ import annotations

from typing import Any

from bedrock_key_audit.emulator.scenarios import USER
from bedrock_key_audit.remediation.core import Step, _block_dependents, manual_step
from tests.remediation.helpers import run

# the state apply gives a step the plan shows in each state
APPLIED_AS = {"planned": "applied", "manual": "manual", "blocked": "blocked", "skipped": "skipped"}


def _config(tmp_path: Any) -> str:
    path = tmp_path / "audit.toml"
    path.write_text('[endpoint]\nsurfaces = ["mantle"]\n')
    return f"--audit-config={path}"


def test_mantle_only_least_privilege_plan_states_equal_apply_states(pytester, emu, tmp_path):
    _, plan = run(pytester, _config(tmp_path), "--remediate=plan", scenario="mantle_open")
    planned = {s.key: s.status for s in plan.plan}
    assert planned.get("iam.ensure-policy") == "planned", [(s.key, s.status, s.message) for s in plan.plan]
    detaches = [k for k in planned if k.startswith("iam.detach:")]
    assert any(k.endswith("/AmazonBedrockMantleInferenceAccess") for k in detaches), planned
    _, applied = run(pytester, _config(tmp_path), "--remediate", "--allow-destructive", scenario="mantle_open")
    got = {s.key: s.status for s in applied.plan}
    assert {k: APPLIED_AS[v] for k, v in planned.items()} == got, [(s.key, s.status, s.message) for s in applied.plan]
    attached = [p["PolicyName"] for p in emu.client("iam").list_attached_user_policies(UserName=USER)["AttachedPolicies"]]
    assert "AmazonBedrockMantleInferenceAccess" not in attached and "BedrockApiKeyLeastPrivilege" in attached, attached
    assert applied.records["iam.policy_least_privilege"].status == "pass", applied.records["iam.policy_least_privilege"].detail
    for row in ("endpoint.list_models", "endpoint.invoke"):  # the workload still answers on Mantle
        assert applied.records[row].status == "pass", applied.records[row].detail


def test_a_step_whose_required_step_is_manual_is_blocked_in_the_plan():
    first = manual_step("iam.ensure-policy", "refused")
    second = Step(key="iam.detach:x", order=25, action="detach x", calls=[], target="t", requires=["iam.ensure-policy"],
                  run=lambda c, s: (None, None))
    third = Step(key="later", order=30, action="after", calls=[], target="t", requires=["iam.detach:x"],
                 run=lambda c, s: (None, None))
    free = Step(key="free", order=30, action="free", calls=[], target="t", run=lambda c, s: (None, None))
    _block_dependents([first, second, third, free])
    assert (second.status, third.status, free.status) == ("blocked", "blocked", "planned")
    assert second.message == "not run: step iam.ensure-policy is manual"
    assert third.message == "not run: step iam.detach:x is blocked"


def test_a_step_only_for_dependents_that_will_not_run_is_skipped_in_the_plan_as_in_apply():
    """Our KMS key is made only for the steps that need it: when each of them is manual (a waiver, a refusal)
    or destructive without consent, the plan shows it ``skipped`` with the sentence apply gives it."""
    from types import SimpleNamespace

    from bedrock_key_audit.remediation.core import apply_plan

    def steps(users_manual: bool, destructive: bool) -> list[Step]:
        key = Step(key="kms.create:govcloud", order=10, action="create our key", calls=[], target="t",
                   run=lambda c, s: (None, None), for_dependents=True)
        user = (manual_step("secret.kms", "waived") if users_manual else
                Step(key="secret.kms", order=20, action="move", calls=[], target="t", requires=[key.key],
                     run=lambda c, s: (None, None), destructive=destructive))
        user.requires = [key.key]
        return [key, user]

    for manual, destructive, allow, want in [(True, False, False, "skipped"), (False, True, False, "skipped"),
                                             (False, True, True, "planned"), (False, False, False, "planned")]:
        ctx = SimpleNamespace(allow_destructive=allow, opt_ins=set())
        planned = steps(manual, destructive)
        _block_dependents(planned, ctx)  # type: ignore[arg-type]
        assert planned[0].status == want, (manual, destructive, allow, planned[0].message)
        if want == "skipped":  # apply leaves it as the plan said, with the same sentence
            applied = steps(manual, destructive)
            apply_plan(ctx, applied, lambda s, e: None)  # type: ignore[arg-type]
            assert applied[0].status == "skipped" and applied[0].message == planned[0].message
