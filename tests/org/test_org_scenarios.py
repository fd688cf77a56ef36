"""The organization guardrail scenarios end to end: the audit's org.* rows and the SCP-bounded
grants row, and the emulator proving each outcome by an actual call."""
from __future__ import annotations


from tests.audit.helpers import run_audit, statuses

ORG_ROWS = [f"org.{c}[{p}]" for c in ("key_lifetime_capped", "long_term_keys_confined") for p in ("commercial", "govcloud")]


def _not_pass(rows):
    return {r: s for r, s in statuses(rows).items() if s != "pass"}


def test_scp_caps_key_age(pytester):
    rows = run_audit(pytester, "scp_caps_key_age")
    got = _not_pass(rows)
    assert got == {"org.long_term_keys_confined[commercial]": "fail", "org.long_term_keys_confined[govcloud]": "fail"}, \
        {r: rows[r]["detail"] for r in got}
    assert "SCP CapBedrockKeyAge" in rows["org.key_lifetime_capped[commercial]"]["detail"]
    assert "attached to OU ou-" in rows["org.key_lifetime_capped[commercial]"]["detail"]


def test_scp_denies_long_term(pytester):
    rows = run_audit(pytester, "scp_denies_long_term")
    got = _not_pass(rows)
    for row in ("iam.policy_grants_required", "endpoint.list_models", "endpoint.invoke"):
        assert got.get(row) == "fail", (row, rows[row]["detail"])
    detail = rows["iam.policy_grants_required"]["detail"]
    assert "bedrock:CallWithBearerToken (denied by SCP DenyLongTermKeys" in detail and "attached to root r-" in detail
    assert set(got) == {"iam.policy_grants_required", "endpoint.list_models", "endpoint.invoke", *ORG_ROWS}, got
    for row in ("endpoint.list_models", "endpoint.invoke"):  # the 403 explained by the SCP that causes it
        assert "(refused: SCP DenyLongTermKeys (p-" in rows[row]["detail"], rows[row]["detail"]
        assert "denies bedrock:CallWithBearerToken to this long-term key's calls" in rows[row]["detail"]


def test_no_org_access(pytester):
    rows = run_audit(pytester, "no_org_access", rows=["org.key_lifetime_capped", "org.long_term_keys_confined[commercial]",
                                                       "iam.policy_grants_required", "iam.key_minting_restricted"])
    got = _not_pass(rows)
    for row in ("org.key_lifetime_capped[commercial]", "org.long_term_keys_confined[commercial]",
                "iam.policy_grants_required"):
        assert got.get(row) == "error", (row, rows[row]["detail"])
        assert "SCPs/RCPs not read" in rows[row]["detail"] and "--org-policies" in rows[row]["detail"]
    # the GovCloud account is in no organization: nothing caps its keys
    assert got["org.key_lifetime_capped[govcloud]"] == "fail"
    assert "in no AWS organization" in rows["org.key_lifetime_capped[govcloud]"]["detail"]
    # the minters row keeps its verdict without the SCPs (they can only narrow it) and says they were not read
    minters = rows["iam.key_minting_restricted"]
    assert minters["status"] == "pass" and "SCPs/RCPs not read" in minters["detail"], minters["detail"]
    said = next(e["data"] for e in minters["evidence"] if e["source"] == "organization-policies")
    assert said["SCPs"].startswith("SCPs/RCPs not read") and "--org-policies" in said["SCPs"]


def test_rcp_blocks_outsiders(pytester, emu):
    """The secret's policies admit an outside account's user, the RCP keeps it out: readers pass,
    naming the RCP in the evidence, and the emulator refuses the partner's GetSecretValue -- while
    the same state without the RCP lets it read (so the RCP is what stops it)."""
    from bedrock_key_audit.emulator.scenarios_org import OUTSIDER_USER, admit_outsider
    from tests.emulator.test_reach import can_read, outside_user, secret_and_key

    made = {}

    def setup(e):
        made["partner"] = outside_user(e, OUTSIDER_USER)

    rows = run_audit(pytester, "rcp_blocks_outsiders", rows=["secret.readers_restricted"], setup=setup)
    row = rows["secret.readers_restricted"]
    assert row["status"] == "pass", row["detail"]
    assert "kept out by the organization's SCPs/RCPs" in row["detail"] and "user/partner" in row["detail"]
    said = str(row["evidence"])
    assert "RCP KeepSecretsInTheAccount" in said and "EnforceIdentityPerimeter" in said
    assert not can_read(emu, made["partner"], secret_and_key(emu)[0])

    def without_rcp(e):
        made["partner"] = outside_user(e, OUTSIDER_USER)
        admit_outsider(e)

    rows = run_audit(pytester, "compliant", rows=["secret.readers_restricted"], setup=without_rcp)
    assert rows["secret.readers_restricted"]["status"] == "fail"
    assert "user/partner" in rows["secret.readers_restricted"]["detail"]
    assert can_read(emu, made["partner"], secret_and_key(emu)[0])


def test_scp_keeps_a_self_escalating_reader_out(pytester, emu):
    """GovCloud user ``intern`` may iam:PutUserPolicy on itself: one step from reading the key.  With the
    SCP ``NoWritesForIntern`` denying it that call, readers pass naming intern as kept out, and the emulator
    (enforcing IAM and the SCPs) refuses intern's PutUserPolicy, so it never reads -- while without the SCP
    the row fails naming intern, and intern writes itself the grant and reads the secret."""

    from bedrock_key_audit.emulator import enforce_iam, org_guard, partitions
    from bedrock_key_audit.emulator.scenario_base import ARN_PARTITION, MANAGEMENT
    from tests.emulator.test_reach import can_read, read_all, secret_and_key, session

    gov = partitions.ACCOUNTS["govcloud"]
    intern = f"arn:aws-us-gov:iam::{gov}:user/intern"
    made = {}

    def setup(e, scp=True):
        iam = e.client("iam", "govcloud")
        iam.create_user(UserName="intern")
        iam.put_user_policy(UserName="intern", PolicyName="self", PolicyDocument=read_all([("iam:PutUserPolicy", intern)]))
        made["intern"] = session(e, iam.create_access_key(UserName="intern")["AccessKey"])
        if scp:
            org_guard.attach(MANAGEMENT["govcloud"], gov, org_guard.SCP, "NoWritesForIntern", {
                "Version": "2012-10-17", "Statement": [{
                    "Sid": "NoWritesForIntern", "Effect": "Deny", "Action": "iam:PutUserPolicy", "Resource": "*",
                    "Condition": {"ArnLike": {"aws:PrincipalArn": intern}}}]}, partition=ARN_PARTITION["govcloud"])

    def escalate_and_read():
        """intern's own calls, as AWS would authorize them: the write of a read grant on itself, then the read."""
        emu.enforce_iam = True
        enforce_iam.clear()
        try:
            iam = made["intern"].client("iam", endpoint_url=emu.url, region_name="us-gov-west-1")
            arn, key = secret_and_key(emu)
            try:
                iam.put_user_policy(UserName="intern", PolicyName="grant", PolicyDocument=read_all(
                    [("secretsmanager:GetSecretValue", arn), ("kms:Decrypt", key)]))
            except iam.exceptions.ClientError as exc:
                assert exc.response["Error"]["Code"] == "AccessDenied", exc.response["Error"]
                return False
            return can_read(emu, made["intern"], arn)
        finally:
            emu.enforce_iam = False
            enforce_iam.clear()

    rows = run_audit(pytester, "compliant", rows=["secret.readers_restricted"], setup=setup)
    row = rows["secret.readers_restricted"]
    assert row["status"] == "pass", row["detail"]
    assert "kept out by the organization's SCPs/RCPs" in row["detail"] and intern in row["detail"], row["detail"]
    assert not escalate_and_read()

    rows = run_audit(pytester, "compliant", rows=["secret.readers_restricted"], setup=lambda e: setup(e, scp=False))
    row = rows["secret.readers_restricted"]
    assert row["status"] == "fail" and intern in row["detail"], row["detail"]
    assert "iam:PutUserPolicy on itself" in row["detail"]
    assert escalate_and_read()
