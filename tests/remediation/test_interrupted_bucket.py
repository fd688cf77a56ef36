"""A bucket of ours whose creation stopped between CreateBucket and tagging it converges on the next run:
the journal names it, the next run tags it and carries on; without that journal it is never adopted."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bedrock_key_audit.remediation import journal
from bedrock_key_audit.remediation.guard import OWNER_TAG, taken_bucket
from tests.remediation.test_guard import _apply, _step, ctx_for  # noqa: F401 -- fixture

BUCKET = "bedrock-key-audit-access-logs-123456789012-us-east-1"


def _create_step():
    def run(ctx: Any, st: Any) -> tuple[Any, Any]:
        ctx.call("s3", "commercial", "CreateBucket", expected={"BucketAlreadyOwnedByYou"}, Bucket=BUCKET)
        ctx.call("s3", "commercial", "PutPublicAccessBlock", Bucket=BUCKET, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
        return {"bucket": None}, {"bucket": BUCKET}
    return _step("s3.access-log-bucket:commercial:us-east-1", [BUCKET], run)


@pytest.fixture
def refuse(monkeypatch):
    """Make the guard's AWS call of one operation fail as a denied write does (S3's REST calls are beyond the
    emulator's aws-faults): what a run killed before that call, or refused by it, leaves behind."""
    from bedrock_key_audit.remediation import guard
    from bedrock_key_audit.remediation.errors import RemediationError

    real = guard.Guard._raw
    state: dict[str, str | None] = {"op": None}

    def raw(self, service, partition, operation, region, expected, params):
        if operation == state["op"]:
            raise RemediationError(f"s3:{operation} was denied to the remediator")
        return real(self, service, partition, operation, region, expected, params)

    monkeypatch.setattr(guard.Guard, "_raw", raw)

    def set_op(op: str | None) -> None:
        state["op"] = op
    return set_op


def _ctx(make: Any, run_dir: Path, earlier: list[Path]) -> Any:
    ctx = make()
    ctx.journal = journal.Journal(run_dir, earlier)
    return ctx


def test_an_untagged_bucket_of_an_interrupted_run_is_recognised_and_tagged(emu, ctx_for, tmp_path, refuse):  # noqa: F811
    emu.apply("compliant")
    s3 = emu.client("s3")
    refuse("PutBucketTagging")  # the run stops between the two writes
    first = _apply(_ctx(ctx_for, tmp_path / "run1", []), _create_step())
    refuse(None)
    assert first["status"] == "failed", first
    assert BUCKET in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "TagSet" not in _tags(s3)
    # another --reports-dir: no journal of run 1, so the bucket cannot be told to be ours and is not adopted
    assert taken_bucket(_ctx(ctx_for, tmp_path / "elsewhere", []), "commercial", BUCKET) is not None
    # the next run reads run 1's journal: the bucket is ours, tagged, and the step completes
    ctx2 = _ctx(ctx_for, tmp_path / "run2", [tmp_path / "run1"])
    assert taken_bucket(ctx2, "commercial", BUCKET) is None
    second = _apply(ctx2, _create_step())
    assert second["status"] == "applied", second
    assert OWNER_TAG in _tags(s3)["TagSet"]
    ctx3 = _ctx(ctx_for, tmp_path / "run3", [tmp_path / "run1", tmp_path / "run2"])
    assert ctx3.journal.open_entries("bucket") == {}


def test_a_refused_create_leaves_no_claim_on_the_name(emu, ctx_for, tmp_path, refuse):  # noqa: F811
    """AWS refuses CreateBucket: the journal says so, and a bucket of that name made later by someone else
    is not taken for ours."""
    emu.apply("compliant")
    refuse("CreateBucket")
    entry = _apply(_ctx(ctx_for, tmp_path / "run1", []), _create_step())
    refuse(None)
    assert entry["status"] == "failed", entry
    emu.client("s3").create_bucket(Bucket=BUCKET)  # another team takes the name
    assert taken_bucket(_ctx(ctx_for, tmp_path / "run2", [tmp_path / "run1"]), "commercial", BUCKET) is not None


def _tags(s3: Any) -> dict[str, Any]:
    try:
        got: dict[str, Any] = s3.get_bucket_tagging(Bucket=BUCKET)
    except s3.exceptions.ClientError:
        return {}
    return got
