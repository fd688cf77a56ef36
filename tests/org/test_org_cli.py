"""``--org-policies FILE``: a bad file is a usage error (one line, exit 4); a good one decides the org rows."""
from __future__ import annotations

import json

import pytest

from bedrock_key_audit.emulator import partitions
from bedrock_key_audit.org_policies import confine_scp, lifetime_scp
from tests.audit.helpers import CHECKS, ROOT, run_audit, statuses

FULL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


_BARE_OU = json.dumps({"accounts": {partitions.ACCOUNTS["commercial"]: {
    "organization": True, "management_account": "999988887777", "levels": [
        {"target": "r-ab12", "type": "ROOT", "scps": [{"id": "p-FullAWSAccess", "content": FULL}]},
        {"target": "ou-ab12-11111111", "type": "ORGANIZATIONAL_UNIT", "scps": []},
        {"target": partitions.ACCOUNTS["commercial"], "type": "ACCOUNT", "scps": [{"id": "p-FullAWSAccess",
                                                                                   "content": FULL}]}]}}})


@pytest.mark.parametrize(("text", "said"), [('{"accounts": {"12": {}}}', "keys must be 12-digit account ids"),
                                            (_BARE_OU, "ORGANIZATIONAL_UNIT ou-ab12-11111111 lists no SCP")])
def test_bad_org_policies_file_is_a_usage_error(pytester, text, said):
    bad = pytester.makefile(".json", org=text)
    result = pytester.runpytest_inprocess(str(CHECKS), "--emulate=guide", "--no-reports", "-p", "no:cacheprovider",
                                          f"--rootdir={ROOT}", "-c", str(ROOT / "pyproject.toml"),
                                          f"--org-policies={bad}")
    assert result.ret == 4
    errors = [line for line in result.errlines if "ERROR" in line]
    assert errors and said in errors[0], result.errlines


def test_org_policies_export_decides_the_rows(pytester):
    commercial, gov = partitions.ACCOUNTS["commercial"], partitions.ACCOUNTS["govcloud"]
    user = f"arn:aws:iam::{commercial}:user/bedrock-cross-partition-user"
    export = {"accounts": {
        commercial: {"organization": True, "management_account": "999988887777", "levels": [
            {"target": "r-ab12", "type": "ROOT", "scps": [{"id": "p-FullAWSAccess", "name": "FullAWSAccess",
                                                          "content": json.dumps(FULL)}]},
            {"target": commercial, "type": "ACCOUNT", "scps": [
                {"id": "p-FullAWSAccess", "name": "FullAWSAccess", "content": FULL},
                {"id": "p-cap11111", "name": "Cap", "content": lifetime_scp(180)},
                {"id": "p-conf1111", "name": "Confine", "content": confine_scp([user])}]}]},
        gov: {"organization": False}}}
    path = pytester.makefile(".json", org=json.dumps(export))
    rows = run_audit(pytester, "guide", f"--org-policies={path}",
                     rows=["org.key_lifetime_capped", "org.long_term_keys_confined[commercial]"])
    got = statuses(rows)
    assert got["org.key_lifetime_capped[commercial]"] == "pass", rows["org.key_lifetime_capped[commercial]"]["detail"]
    assert got["org.long_term_keys_confined[commercial]"] == "pass"
    assert "SCP Cap (p-cap11111) attached to account" in rows["org.key_lifetime_capped[commercial]"]["detail"]
    assert got["org.key_lifetime_capped[govcloud]"] == "fail"
    assert "in no AWS organization" in rows["org.key_lifetime_capped[govcloud]"]["detail"]
