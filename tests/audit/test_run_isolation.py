"""Several audits in one process: nothing one run reads, plans or caches reaches the next."""
from __future__ import annotations

from tests.audit.helpers import run_audit

#: the secret rows a GetSecretValue throttled past botocore's retries leaves standing (DescribeSecret, the
#: policies and the key are read without the value) and the ones it ends ``error``
_WITHOUT_VALUE = {"secret.readers_restricted", "secret.exists", "secret.encrypted_with_cmk", "secret.replicas_in_sync"}
_NEED_VALUE = {"secret.schema", "secret.key_matches_credential"}


def _verdicts(rows):
    """{row: (status, detail of a row that did not pass)}: a pass's detail names the run's own ARNs and key ids."""
    return {k: (v["status"], None if v["status"] == "pass" else v.get("detail"))
            for k, v in rows.items() if not k.startswith("__")}


def _throttle_secret_value(emu):
    from bedrock_key_audit.emulator import aws_faults

    aws_faults.throttle("secretsmanager:GetSecretValue")  # every call, for the whole run


def test_audits_in_one_process_judge_as_each_alone(pytester, emu, monkeypatch):
    """A whole audit, a ``-m secret`` audit with GetSecretValue throttled, and a whole audit again, each on a fresh
    scenario: the selection judges its rows as a whole run does (the throttle is the one "rerun later" sentence on the
    rows needing the value, the others pass), and the third run's rows are the first's."""
    from botocore.retries import standard

    # botocore's standard retry mode waits rand(0, 1) x 2**i s before throttled attempt i+1: the retries are what the
    # throttled run exercises, not the waits, so they are zero (as tests/audit/test_read_errors.py no_backoff); every
    # attempt still happens and is throttled
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    first = _verdicts(run_audit(pytester, "compliant"))
    emu.reset()
    selection = _verdicts(run_audit(pytester, "compliant", "-m", "secret", setup=_throttle_secret_value))
    emu.reset()
    third = _verdicts(run_audit(pytester, "compliant"))

    assert {k: (first.get(k), v) for k, v in third.items() if first.get(k) != v} == {}
    assert {k for k, (status, _) in selection.items() if status == "pass"} == _WITHOUT_VALUE
    for row in _NEED_VALUE:
        status, detail = selection[row]
        assert status == "error" and detail.endswith("was still throttled after retries; rerun later or lower "
                                                     "concurrency"), (row, detail)
