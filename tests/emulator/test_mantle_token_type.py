"""The emulator's Mantle requests carry bedrock-mantle:BearerTokenType, not bedrock:BearerTokenType (AWS documents
the latter for bedrock:CallWithBearerToken only); runtime requests carry bedrock:BearerTokenType."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from bedrock_key_audit.emulator.bedrock import models


def _ctx(surface: str) -> Any:
    return SimpleNamespace(surface=surface, region="us-east-1", user_arn="arn:aws:iam::111122223333:user/u",
                           account_id="111122223333", user_name="u", environ={})


def test_mantle_requests_carry_only_mantles_token_type() -> None:
    keys = {k.lower() for k in models.request_context(_ctx("mantle"))}
    assert "bedrock-mantle:bearertokentype" in keys and "bedrock:bearertokentype" not in keys


def test_runtime_requests_carry_bedrocks_token_type() -> None:
    keys = {k.lower() for k in models.request_context(_ctx("runtime"))}
    assert "bedrock:bearertokentype" in keys and "bedrock-mantle:bearertokentype" not in keys
