"""``endpoint.surfaces`` and ``policy.required_actions`` agree: derived when required_actions is not given,
refused at load when both are given and contradict; the unused-surfaces fixer never denies a required action."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from bedrock_key_audit.checkcore import CheckRecord
from bedrock_key_audit.config import GUIDE_ACTIONS, ConfigError, load_config
from bedrock_key_audit.remediation.fixers import endpoint as fx


def _cfg(tmp_path: Any, text: str) -> Any:
    path = tmp_path / "audit.toml"
    path.write_text(text)
    return load_config(path)


def test_mantle_only_derives_the_mantle_bearer_action_and_drops_runtimes(tmp_path: Any) -> None:
    cfg = _cfg(tmp_path, '[endpoint]\nsurfaces = ["mantle"]\n')
    assert cfg.required_actions == ["bedrock-mantle:CallWithBearerToken", "bedrock-mantle:CreateInference",
                                    "bedrock-mantle:ListModels"]


def test_runtime_openai_only_derives_the_bearer_and_invoke_model(tmp_path: Any) -> None:
    cfg = _cfg(tmp_path, '[endpoint]\nsurfaces = ["runtime-openai"]\n')
    assert cfg.required_actions == ["bedrock:CallWithBearerToken", "bedrock:InvokeModel", "bedrock:ListFoundationModels"]
    both = _cfg(tmp_path, '[endpoint]\nsurfaces = ["runtime-openai", "runtime"]\n')
    assert both.required_actions == ["bedrock:CallWithBearerToken", *GUIDE_ACTIONS]


def test_default_surfaces_keep_the_default_required_actions(tmp_path: Any) -> None:
    assert _cfg(tmp_path, "").required_actions == ["bedrock:CallWithBearerToken", *GUIDE_ACTIONS]
    both = _cfg(tmp_path, '[endpoint]\nsurfaces = ["runtime", "mantle"]\n')
    assert both.required_actions[:2] == ["bedrock-mantle:CallWithBearerToken", "bedrock:CallWithBearerToken"]
    assert {"bedrock-mantle:CreateInference", "bedrock-mantle:ListModels"} <= set(both.required_actions)


@pytest.mark.parametrize("text, message", [
    ('[endpoint]\nsurfaces = ["mantle"]\n[policy]\nrequired_actions = ["bedrock:CallWithBearerToken"]\n',
     "endpoint.surfaces uses mantle but policy.required_actions lacks bedrock-mantle:CallWithBearerToken"),
    ('[endpoint]\nsurfaces = ["mantle"]\n[policy]\nrequired_actions = '
     '["bedrock-mantle:CallWithBearerToken", "bedrock:CallWithBearerToken"]\n',
     "policy.required_actions names bedrock:CallWithBearerToken, but endpoint.surfaces uses no surface it admits"),
    ('[policy]\nrequired_actions = ["bedrock:InvokeModel"]\n',
     "endpoint.surfaces uses runtime but policy.required_actions lacks bedrock:CallWithBearerToken"),
])
def test_contradicting_surfaces_and_required_actions_stop_the_load(tmp_path: Any, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        _cfg(tmp_path, text)
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_a_wildcard_requirement_covers_the_used_surface(tmp_path: Any) -> None:
    cfg = _cfg(tmp_path, '[endpoint]\nsurfaces = ["mantle"]\n[policy]\nrequired_actions = ["bedrock-mantle:*"]\n')
    assert cfg.required_actions == ["bedrock-mantle:*"]


def _fix(required: list[str], open_: list[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(fx, "_open_actions", lambda ctx: (list(open_), []))
    cfg = SimpleNamespace(user_name="key-user", surfaces=["mantle"], required_actions=required)
    inv = SimpleNamespace(user_policies=lambda user: SimpleNamespace(documents=[]))
    rec = CheckRecord(check_id="endpoint.unused_surfaces_closed", title="t", family="endpoint", severity="high",
                      controls={}, nodeid="n", partition="commercial")
    ctx = SimpleNamespace(cfg=cfg, inv=inv, user_arn=lambda: "arn:aws:iam::111122223333:user/key-user")
    return fx.fix_unused_surfaces_closed(cast(Any, ctx), rec)


def test_the_fixer_never_denies_a_required_action(monkeypatch: pytest.MonkeyPatch) -> None:
    steps = _fix(["bedrock:*", "bedrock-mantle:CallWithBearerToken"], ["bedrock:CallWithBearerToken"], monkeypatch)
    assert len(steps) == 1 and steps[0].manual and "policy.required_actions needs it" in steps[0].action


def test_the_fixer_denies_only_the_unrequired_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    steps = _fix(["bedrock:CallWithBearerToken"], ["bedrock:CallWithBearerToken", "bedrock-mantle:CallWithBearerToken"],
                 monkeypatch)
    assert len(steps) == 1 and not steps[0].manual
    assert "denying bedrock-mantle:CallWithBearerToken " in steps[0].action
    assert "bedrock:CallWithBearerToken" not in steps[0].action


def test_the_fixer_denies_a_surface_closed_in_one_region_only() -> None:
    from bedrock_key_audit.inventory.models import PolicyDoc, UserPolicies
    from tests.unit.helpers import FakeInventory, config, probe, raw_key

    refused = probe("forbidden", 403, message="User: u is not authorized to perform: bedrock-mantle:CallWithBearerToken "
                    "with an explicit deny in an identity-based policy", name="mantle_models")
    doc: dict[str, Any] = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "bedrock-mantle:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "bedrock-mantle:*", "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}]}
    inv = FakeInventory(mantle_models=refused, key=raw_key(),
                        user_policies=UserPolicies("key-user", [PolicyDoc("inline", "p", None, None, doc)], None, []))
    ctx = SimpleNamespace(cfg=config(), inv=inv)
    assert fx._open_actions(cast(Any, ctx)) == (["bedrock-mantle:CallWithBearerToken"], [])
    # an unconditional Deny closes it everywhere: nothing to add
    doc["Statement"][1].pop("Condition")
    assert fx._open_actions(cast(Any, ctx)) == ([], [])
