"""The fourth property of every plan: every allowed reader can still read.

Over generated accounts (hypothesis, few examples: it runs in CI): the secret under the AWS managed key
or a customer key of the account, a workload role that may or may not hold ``kms:Decrypt`` in IAM, listed
in ``secret.allowed_readers`` or not, and a nightly auditor role listed in ``secret.auditors`` or not.
The plan of the rows that change who can read the secret (``secret.encrypted_with_cmk``,
``secret.readers_restricted``) is applied -- first without ``--allow-destructive``, then with it -- and
each principal is asked *of the emulator* (a real ``GetSecretValue`` as a session of that role; Secrets
Manager decrypts through KMS for it), never of the audit's evaluator:

* after the non-destructive steps, every principal that read before still reads (nobody is cut off);
* after the whole plan, every configured reader and every principal that runs the audit (the
  configured auditors) that read before still reads.
"""
from __future__ import annotations

import json

import botocore.exceptions
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bedrock_key_audit.checkcore import CheckRecord
from tests.remediation.helpers import ROOT, SECRET, point_env_at

GOV = "210987654321"
WORKLOAD = f"arn:aws-us-gov:iam::{GOV}:role/apps/bedrock-workload"
AUDITOR = f"arn:aws-us-gov:iam::{GOV}:role/BedrockKeyAudit"
ROWS = ("secret.encrypted_with_cmk", "secret.readers_restricted")


def _role(emu, path: str, name: str, actions: list[str]) -> None:
    iam = emu.client("iam", "govcloud")
    try:  # a scenario keeps roles an earlier example made: start each example from the same role
        iam.delete_role_policy(RoleName=name, PolicyName="read")
        iam.delete_role(RoleName=name)
    except botocore.exceptions.ClientError:
        pass
    iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws-us-gov:iam::{GOV}:root"}, "Action": "sts:AssumeRole"}]}))
    iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": "*"}]}))


def reads(emu, role_arn: str) -> bool:
    """The emulator's own answer: can a session of ``role_arn`` GetSecretValue the secret now?"""
    c = emu.client("sts", "govcloud").assume_role(RoleArn=role_arn, RoleSessionName="probe")["Credentials"]
    sm = emu.client("secretsmanager", "govcloud", aws_access_key_id=c["AccessKeyId"],
                    aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
    try:
        sm.get_secret_value(SecretId=SECRET)
    except botocore.exceptions.ClientError:
        return False
    return True


@settings(max_examples=2, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(scenario=st.sampled_from(["secret_default_kms", "compliant"]), decrypt=st.booleans(),
       configured=st.booleans(), auditor=st.booleans())
@example(scenario="secret_default_kms", decrypt=False, configured=True, auditor=True)  # the CMK move needs grants
@example(scenario="secret_default_kms", decrypt=False, configured=False, auditor=False)  # ... and cuts the unlisted
def test_every_allowed_reader_can_still_read(emu, monkeypatch, tmp_path, scenario, decrypt, configured, auditor):
    from bedrock_key_audit.emulator import clock
    from bedrock_key_audit.aws import Aws, CallLog
    from bedrock_key_audit.config import load_config
    from bedrock_key_audit.fixtures.remediation.plugin import context_for
    from bedrock_key_audit.remediation import fixers  # noqa: F401 -- registers the fixers
    from bedrock_key_audit.remediation.core import apply_plan, build_plan

    emu.reset()  # every example from the same empty account
    emu.apply(scenario)
    point_env_at(monkeypatch, emu)
    _role(emu, "/apps/", "bedrock-workload", ["secretsmanager:GetSecretValue"] + (["kms:Decrypt"] if decrypt else []))
    _role(emu, "/", "BedrockKeyAudit", ["secretsmanager:GetSecretValue", "kms:Decrypt"])
    readers = [WORKLOAD] if configured else []
    auditors = [AUDITOR] if auditor else []
    cfg_file = tmp_path / "readers.toml"
    cfg_file.write_text(f"[secret]\nallowed_readers = {json.dumps(readers)}\nauditors = {json.dumps(auditors)}\n")
    cfg = load_config(cfg_file, ROOT)
    principals = [WORKLOAD, AUDITOR]
    before = {p: reads(emu, p) for p in principals}

    def records():
        return [CheckRecord(c, c, "secret", "high", {}, f"checks/x::{c}", status="fail", detail="") for c in ROWS]

    ctx = context_for(Aws(cfg, CallLog(), emulated=True), cfg, clock.now(), False)
    steps = build_plan(ctx, records())
    apply_plan(ctx, steps, lambda s, e: None)
    middle = {p: reads(emu, p) for p in principals}
    cut = [p for p in principals if before[p] and not middle[p]]
    assert not cut, (f"non-destructive steps cut off {cut}", [(s.key, s.status, s.message) for s in steps])

    skipped = [s for s in steps if s.status == "skipped"]
    for s in skipped:
        s.status, s.message = "planned", ""
    ctx2 = context_for(Aws(cfg, CallLog(), emulated=True), cfg, clock.now(), True)
    apply_plan(ctx2, skipped, lambda s, e: None)
    after = {p: reads(emu, p) for p in principals}
    must_keep = readers + auditors
    lost = [p for p in must_keep if before[p] and not after[p]]
    assert not lost, (f"the plan cut off {lost}", [(s.key, s.status, s.message, s.action) for s in steps])
    # whoever the whole plan cut off is named in a step that ran, so a person saw it in the plan
    for p in principals:
        if before[p] and not after[p]:
            assert any(p in s.action for s in steps if s.status == "applied"), \
                (p, [(s.key, s.status, s.action) for s in steps])
