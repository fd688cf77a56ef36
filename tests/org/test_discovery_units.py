"""bedrock_key_audit.organization.discover on a hand-built Organizations client (pages, OUs, tags)."""
from __future__ import annotations

from typing import Any

from bedrock_key_audit.organization import Member, active, discover

ACCOUNTS = [
    {"Id": "111111111111", "Name": "mgmt", "Status": "ACTIVE", "State": "ACTIVE"},
    {"Id": "222222222222", "Name": "prod", "Status": "ACTIVE", "State": "ACTIVE"},
    {"Id": "333333333333", "Name": "gone", "Status": "SUSPENDED", "State": "SUSPENDED"},
    {"Id": "444444444444", "Name": "closing", "Status": "PENDING_CLOSURE", "State": "PENDING_CLOSURE"},
    {"Id": "555555555555", "Name": "dev", "Status": "ACTIVE"},
]
TREE = {"r-root": (["111111111111"], ["ou-aaaa-11111111"]),
        "ou-aaaa-11111111": (["222222222222", "333333333333"], ["ou-aaaa-22222222"]),
        "ou-aaaa-22222222": (["555555555555"], [])}
TAGS = {"222222222222": [{"Key": "govcloud-account-id", "Value": "922222222222"}],
        "555555555555": [{"Key": "govcloud-account-id", "Value": "not-an-id"}]}


class Paginator:
    def __init__(self, client: FakeOrg, op: str) -> None:
        self.client, self.op = client, op

    def paginate(self, **params: Any):
        self.client.calls.append((self.op, params))
        if self.op == "list_accounts":  # two pages, as ListAccounts returns at most 20 a page
            yield {"Accounts": ACCOUNTS[:2]}
            yield {"Accounts": ACCOUNTS[2:]}
        elif self.op == "list_accounts_for_parent":
            yield {"Accounts": [{"Id": i} for i in TREE[params["ParentId"]][0]]}
        elif self.op == "list_organizational_units_for_parent":
            yield {"OrganizationalUnits": [{"Id": i} for i in TREE[params["ParentId"]][1]]}
        elif self.op == "list_tags_for_resource":
            yield {"Tags": TAGS.get(params["ResourceId"], [])}


class FakeOrg:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get_paginator(self, op: str) -> Paginator:
        return Paginator(self, op)


def test_every_page_and_only_active_accounts():
    got = discover(FakeOrg(), {"role_name": "r"})
    assert [m.id for m in got] == ["111111111111", "222222222222", "555555555555"]
    assert not active(ACCOUNTS[3]) and active(ACCOUNTS[4])  # State absent: Status decides


def test_ou_include_is_recursive_and_exclude_wins():
    got = discover(FakeOrg(), {"role_name": "r", "include_ous": ["ou-aaaa-11111111"],
                               "exclude_accounts": ["555555555555"]})
    assert [m.id for m in got] == ["222222222222"]
    got = discover(FakeOrg(), {"role_name": "r", "exclude_ous": ["ou-aaaa-22222222"]})
    assert [m.id for m in got] == ["111111111111", "222222222222"]


def test_govcloud_pairs_from_table_then_tag():
    org = FakeOrg()
    got = discover(org, {"role_name": "r", "govcloud_accounts": {"111111111111": "911111111111"},
                         "govcloud_tag": "govcloud-account-id"})
    assert got == [Member("111111111111", "mgmt", "911111111111"), Member("222222222222", "prod", "922222222222"),
                   Member("555555555555", "dev", None)]  # a tag value that is no account id maps nothing
    tagged = [p["ResourceId"] for op, p in org.calls if op == "list_tags_for_resource"]
    assert tagged == ["222222222222", "555555555555"]  # the table's account is not looked up
