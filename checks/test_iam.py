"""IAM: the key's user exists, holds no other credentials, and has exactly the permissions it needs."""
from __future__ import annotations

import pytest

from fixtures import iam_verdicts
from fixtures.checks import CouldNotDecide
from fixtures.inventory import fleet_mode


@pytest.mark.check("iam.user_exists")
def test_user_exists(check, iam_user):
    check.resource = iam_user.arn or f"iam user {iam_user.name}"
    check.evidence("iam:GetUser", iam_user.raw or {"UserName": iam_user.name, "exists": False})
    check.require(iam_user.exists, f"IAM user {iam_user.name} does not exist in the commercial account")
    check.passed(f"IAM user {iam_user.name} exists ({iam_user.arn})")


@pytest.mark.check("iam.user_no_other_credentials")
def test_user_no_other_credentials(check, existing_user, other_credentials):
    check.resource = existing_user.arn
    check.evidence("iam:GetLoginProfile+ListAccessKeys", {
        "LoginProfile": other_credentials.login_profile,
        "AccessKeys": [{k: v for k, v in a.items() if k in ("AccessKeyId", "Status", "CreateDate")}
                       for a in other_credentials.access_keys],
    })
    problems = []
    if other_credentials.login_profile:
        problems.append("a console password (login profile)")
    for ak in other_credentials.access_keys:
        problems.append(f"{ak.get('Status', '').lower()} access key {ak['AccessKeyId'][:8]}…")
    check.require(not problems, f"key-only user {existing_user.name} also has " + ", ".join(problems)
                  + "; delete them so a leak of one credential cannot become console or SigV4 access")
    check.passed(f"{existing_user.name} has no console password and no access keys")


def _report(check, verdict) -> None:
    for source, data in verdict.evidence.items():
        check.evidence(source, data)
    if verdict.severity:
        check.severity = verdict.severity
    if verdict.passed:
        check.passed(verdict.message)
    else:
        check.fail(verdict.message)


@pytest.mark.check("iam.policy_least_privilege")
def test_policy_least_privilege(check, existing_user, user_policies, audit_config):
    check.resource = existing_user.arn
    _report(check, iam_verdicts.least_privilege(existing_user, user_policies, audit_config))


@pytest.mark.check("iam.policy_grants_required")
def test_policy_grants_required(check, existing_user, user_policies, audit_config, inventory, pytestconfig, now):
    check.resource = existing_user.arn
    # the secret's region is read only if a statement needs it, and never makes this row error by itself
    def secret_region():
        try:
            return iam_verdicts.secret_region(inventory.secret(), existing_user.name, fleet_mode(pytestconfig))
        except CouldNotDecide:
            return None
    hint = (f"make secret {audit_config.secret_id} readable with its region field "
            "(where the key is used: aws:RequestedRegion)")
    _report(check, iam_verdicts.grants_required(existing_user, user_policies, audit_config, now, secret_region, hint))
