"""The check tests generated from the verdicts' ``@verdict`` declarations keep the node ids, markers,
keywords and fixtures the hand-written checks/test_*.py had (taken from the tree before generation).

A check added since appears as new nodes only; every pinned node stays as it was.
"""
from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from bedrock_key_audit import registry, resources

ROOT = resources.source_root()

# node id -> its markers (the family marker is added at collection from the metadata)
PINNED: dict[str, tuple[str, ...]] = {
    "checks/test_access.py::test_secret_readers_restricted": ("check('secret.readers_restricted',)", 'secret()'),
    "checks/test_access.py::test_key_minting_restricted": ("check('iam.key_minting_restricted',)", 'iam()'),
    "checks/test_bedrock.py::test_bedrock_invocation_logging": ('bedrock()', "check('bedrock.invocation_logging',)"),
    "checks/test_cloudtrail.py::test_cloudtrail_logging[commercial]": ("check('cloudtrail.logging',)", 'cloudtrail()'),
    "checks/test_cloudtrail.py::test_cloudtrail_logging[govcloud]": ("check('cloudtrail.logging',)", 'cloudtrail()'),
    "checks/test_cloudtrail.py::test_cloudtrail_multi_region[commercial]": ("check('cloudtrail.multi_region',)", 'cloudtrail()'),
    "checks/test_cloudtrail.py::test_cloudtrail_multi_region[govcloud]": ("check('cloudtrail.multi_region',)", 'cloudtrail()'),
    "checks/test_cloudtrail.py::test_cloudtrail_log_file_validation[commercial]": ("check('cloudtrail.log_file_validation',)", 'cloudtrail()'),
    "checks/test_cloudtrail.py::test_cloudtrail_log_file_validation[govcloud]": ("check('cloudtrail.log_file_validation',)", 'cloudtrail()'),
    "checks/test_cloudtrail.py::test_cloudtrail_management_events[commercial]": ("check('cloudtrail.management_events',)", 'cloudtrail()'),
    "checks/test_cloudtrail.py::test_cloudtrail_management_events[govcloud]": ("check('cloudtrail.management_events',)", 'cloudtrail()'),
    "checks/test_cloudtrail.py::test_cloudtrail_kms[commercial]": ("check('cloudtrail.kms',)", 'cloudtrail()'),
    "checks/test_cloudtrail.py::test_cloudtrail_kms[govcloud]": ("check('cloudtrail.kms',)", 'cloudtrail()'),
    "checks/test_cloudtrail.py::test_cloudtrail_bucket_protected[commercial]": ("check('cloudtrail.bucket_protected',)", 'cloudtrail()'),
    "checks/test_cloudtrail.py::test_cloudtrail_bucket_protected[govcloud]": ("check('cloudtrail.bucket_protected',)", 'cloudtrail()'),
    "checks/test_credential.py::test_credential_active": ("check('credential.active',)", 'credential()'),
    "checks/test_credential.py::test_credential_unexpired": ("check('credential.unexpired',)", 'credential()'),
    "checks/test_credential.py::test_credential_bounded_lifetime": ("check('credential.bounded_lifetime',)", 'credential()'),
    "checks/test_credential.py::test_credential_single_active": ("check('credential.single_active',)", 'credential()'),
    "checks/test_credential.py::test_credential_recently_used": ("check('credential.recently_used',)", 'credential()'),
    "checks/test_endpoint.py::test_endpoint_list_models": ("check('endpoint.list_models',)", 'endpoint()'),
    "checks/test_endpoint.py::test_endpoint_invoke": ("check('endpoint.invoke',)", 'endpoint()'),
    "checks/test_endpoint.py::test_endpoint_unused_surfaces_closed": ("check('endpoint.unused_surfaces_closed',)", 'endpoint()'),
    "checks/test_iam.py::test_user_exists": ("check('iam.user_exists',)", 'iam()'),
    "checks/test_iam.py::test_user_no_other_credentials": ("check('iam.user_no_other_credentials',)", 'iam()'),
    "checks/test_iam.py::test_policy_least_privilege": ("check('iam.policy_least_privilege',)", 'iam()'),
    "checks/test_iam.py::test_policy_grants_required": ("check('iam.policy_grants_required',)", 'iam()'),
    "checks/test_org.py::test_org_key_lifetime_capped[commercial]": ("check('org.key_lifetime_capped',)", 'org()'),
    "checks/test_org.py::test_org_key_lifetime_capped[govcloud]": ("check('org.key_lifetime_capped',)", 'org()'),
    "checks/test_org.py::test_org_long_term_keys_confined[commercial]": ("check('org.long_term_keys_confined',)", 'org()'),
    "checks/test_org.py::test_org_long_term_keys_confined[govcloud]": ("check('org.long_term_keys_confined',)", 'org()'),
    "checks/test_secret.py::test_secret_exists": ("check('secret.exists',)", 'secret()'),
    "checks/test_secret.py::test_secret_schema": ("check('secret.schema',)", 'secret()'),
    "checks/test_secret.py::test_secret_key_matches_credential": ("check('secret.key_matches_credential',)", 'secret()'),
    "checks/test_secret.py::test_secret_encrypted_with_cmk": ("check('secret.encrypted_with_cmk',)", 'secret()'),}

_COLLECT = """
import json, sys, pytest
class P:
    items = []
    def pytest_collection_modifyitems(self, items):
        for i in items:
            self.items.append({"nodeid": i.nodeid, "check": i.get_closest_marker("check").args[0],
                               "marks": sorted({f"{m.name}{tuple(m.args)}" for m in i.iter_markers() if m.name != "parametrize"}),
                               "fixtures": sorted(i.fixturenames)})
p = P()
pytest.main(["checks", "--collect-only", "-q", "-p", "no:cacheprovider", "--no-reports"], plugins=[p])
print("@@" + json.dumps(p.items))
"""


def collected() -> list[dict[str, Any]]:
    assert ROOT is not None, "collected from the source checkout"
    out = subprocess.run([sys.executable, "-c", _COLLECT], cwd=ROOT, capture_output=True, text=True, timeout=300).stdout
    items: list[dict[str, Any]] = json.loads(out.split("@@", 1)[1])
    return items


def test_generated_check_nodes_are_the_pinned_ones() -> None:
    items = collected()
    got = {str(i["nodeid"]): tuple(i["marks"]) for i in items}
    assert {n: got.get(n) for n in PINNED} == PINNED
    # a node not pinned belongs to a check declared since; every row of every check is one node
    rows = {f"{i['check']}{'[' + str(i['nodeid']).split('[', 1)[1] if '[' in str(i['nodeid']) else ''}" for i in items}
    assert sorted(rows) == sorted(registry.row_ids())
    assert len(items) == registry.row_count()
    # every check test reads the record through the ``check`` fixture
    assert all("check" in i["fixtures"] for i in items)
