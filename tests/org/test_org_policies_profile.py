"""``[partitions.<p>] org_policies_profile``: each partition's organization policies read through its own
management account (or delegated administrator), also without ``[organization]``."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bedrock_key_audit.config import ConfigError, load_config
from bedrock_key_audit.inventory import org as org_reads
from bedrock_key_audit.inventory.reader import Inventory
from bedrock_key_audit.org_policies import OrgPolicies


class FakeAws:
    def __init__(self, name: str) -> None:
        self.name = name

    def client(self, service: str, partition: str) -> Any:
        return (self.name, service, partition)


def _reads_through(inv: Inventory, partition: str, monkeypatch: pytest.MonkeyPatch) -> str:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(Inventory, "identity", lambda self, p: {"Account": "111122223333"})

    def read(member: Any, admin: Any, account: str, start: Any) -> OrgPolicies:
        seen["admin"] = admin
        return OrgPolicies(account, False)

    monkeypatch.setattr(org_reads, "read", read)
    monkeypatch.setattr("bedrock_key_audit.aws_call.call", lambda client, op, partition, **kw: {"client": client})
    inv.org_policies(partition)
    return str(seen["admin"]("ListParents")["client"][0])


def test_each_partition_reads_through_its_own_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "audit.toml"
    path.write_text('[partitions.govcloud]\nregion = "us-gov-west-1"\norg_policies_profile = "gov-mgmt"\n')
    cfg = load_config(path)
    assert cfg.data["partitions"]["govcloud"]["org_policies_profile"] == "gov-mgmt"
    inv = Inventory(FakeAws("member"), cfg)  # type: ignore[arg-type]
    inv.org_admins = {"govcloud": FakeAws("gov-admin")}  # type: ignore[dict-item]
    assert _reads_through(inv, "govcloud", monkeypatch) == "gov-admin"
    inv2 = Inventory(FakeAws("member"), cfg)  # type: ignore[arg-type]
    inv2.org_admins = {"govcloud": FakeAws("gov-admin")}  # type: ignore[dict-item]
    assert _reads_through(inv2, "commercial", monkeypatch) == "member"


def test_an_empty_profile_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.toml"
    path.write_text('[partitions.commercial]\nregion = "us-east-1"\norg_policies_profile = ""\n')
    with pytest.raises(ConfigError):
        load_config(path)


def test_the_fixture_builds_an_aws_per_partition_profile(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from bedrock_key_audit.fixtures.aws import CALL_LOG_KEY
    from bedrock_key_audit.fixtures.inventory import _org_sources

    path = tmp_path / "audit.toml"
    path.write_text('[partitions.govcloud]\nregion = "us-gov-west-1"\norg_policies_profile = "gov-mgmt"\n')
    cfg = load_config(path)
    config = SimpleNamespace(stash={CALL_LOG_KEY: []}, getoption=lambda *a, **k: None)
    inv = Inventory(FakeAws("member"), cfg)  # type: ignore[arg-type]
    _org_sources(config, inv)  # type: ignore[arg-type]
    assert inv.org_admins is not None and set(inv.org_admins) == {"govcloud"}
    assert inv.org_admins["govcloud"].cfg.profile("govcloud") == "gov-mgmt"
    assert inv.org_admin is None  # no [organization]: the commercial side reads as the audited account
