"""[organization]: accounts discovered, each audited under an assumed role; a broken one ends error alone."""
from __future__ import annotations

from bedrock_key_audit.emulator import partitions
from tests.audit.helpers import run_audit, statuses

CONFIG = """
[organization]
role_name = "BedrockKeyAuditRole"
external_id = "xid"
govcloud_tag = "govcloud-account-id"
"""
BUILT: dict = {}


def _org(emu):
    from bedrock_key_audit.emulator.org_builder import build_organization

    BUILT.update(build_organization(emu.url, 3, broken=(1,), suspended=(2,), external_id="xid"))


def test_organization_accounts_audited_broken_role_errors_alone(pytester):
    cfg = pytester.makefile(".toml", audit=CONFIG)
    rows = run_audit(pytester, "compliant", f"--audit-config={cfg}", setup=_org)
    got = statuses(rows)
    accounts = {row.split("[", 1)[1].split(",")[0].rstrip("]") for row in got if "[" in row}
    broken, = BUILT["broken"]
    suspended, = BUILT["suspended"]
    healthy = set(BUILT["accounts"]) - {broken, suspended}
    assert suspended not in accounts
    assert healthy | {broken} <= accounts
    for row, status in got.items():
        if f"[{broken}" in row:
            assert status == "error", row
        elif row.startswith("org."):
            # the builder's organization attaches no guardrail SCP, and SCPs do not affect its management
            # account; only the emulator's own GovCloud account keeps the compliant scenario's guardrails
            want = "pass" if row.endswith(f"[{partitions.ACCOUNTS['commercial']},govcloud]") else "fail"
            if status == "error":
                # a GovCloud member may not list its organization's policies (only the management account or a
                # delegated administrator may), and this configuration names no GovCloud policies profile
                want = "error" if row.endswith(",govcloud]") and "SCPs/RCPs not read" in rows[row]["detail"] else want
            assert status == want, (row, status, rows[row]["detail"])
        elif row.startswith(("secret.readers_restricted[", "iam.key_minting_restricted[")) and status != "pass":
            # each member's OrganizationAccountAccessRole holds AdministratorAccess (as AWS makes it, in both
            # partitions): a reader of the secret and a minter of keys nobody listed in secret.allowed_readers /
            # credential.allowed_minters, which the audit reports truthfully
            assert status == "fail" and "role/OrganizationAccountAccessRole" in rows[row]["detail"], (row, status)
        else:
            assert status == "pass", (row, status, rows[row]["detail"])
