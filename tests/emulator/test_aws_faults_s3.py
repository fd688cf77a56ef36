"""``aws_faults`` on S3 (rest-xml): the operation is decoded from method, path and sub-resource with
botocore's S3 model, and the refusal is S3's own XML error, which botocore parses as it would AWS's."""
from __future__ import annotations

import threading
import time

import botocore.exceptions
import httpx
import pytest

from bedrock_key_audit.emulator import aws_faults


@pytest.fixture
def s3(emu):
    client = emu.client("s3")
    client.create_bucket(Bucket="faulted")
    yield client
    aws_faults.reset()


def test_a_denied_s3_write_is_an_s3_access_denied_and_only_that_operation(s3):
    aws_faults.deny("s3:PutBucketTagging")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_bucket_tagging(Bucket="faulted", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    e = err.value.response
    assert e["Error"]["Code"] == "AccessDenied" and e["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "s3:PutBucketTagging" in e["Error"]["Message"]
    # the same bucket, other sub-resources and methods: not faulted
    s3.put_public_access_block(Bucket="faulted", PublicAccessBlockConfiguration={"BlockPublicAcls": True})
    with pytest.raises(botocore.exceptions.ClientError):
        s3.get_bucket_tagging(Bucket="faulted")  # NoSuchTagSet: moto answered, the tagging was never written
    s3.put_object(Bucket="faulted", Key="k/tagging", Body=b"x")  # a key, not the ?tagging sub-resource
    assert [h["operation"] for h in aws_faults.hits()] == ["PutBucketTagging"]


@pytest.mark.parametrize("op, call", [
    ("CreateBucket", lambda c: c.create_bucket(Bucket="another")),
    ("ListObjectsV2", lambda c: c.list_objects_v2(Bucket="faulted")),
    ("ListObjects", lambda c: c.list_objects(Bucket="faulted")),
    ("GetObject", lambda c: c.get_object(Bucket="faulted", Key="a/b")),
    ("GetBucketPolicy", lambda c: c.get_bucket_policy(Bucket="faulted")),
])
def test_s3_operations_are_told_apart(s3, op, call):
    aws_faults.fail(f"s3:{op}", status=500)  # every attempt: botocore retries a 500
    with pytest.raises(botocore.exceptions.ClientError) as err:
        call(s3)
    assert err.value.response["Error"]["Code"] == "InternalError", err.value.response
    assert {h["operation"] for h in aws_faults.hits()} == {op}


def test_a_throttled_s3_call_is_slow_down_and_retried(s3):
    aws_faults.throttle("s3:GetBucketTagging", n=1)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.get_bucket_tagging(Bucket="faulted")
    assert err.value.response["Error"]["Code"] == "NoSuchTagSet"  # retried after SlowDown, then moto answered
    assert [h["kind"] for h in aws_faults.hits()] == ["throttle"]


def test_a_stalled_put_bucket_tagging_is_held_then_carried_out(s3, emu):
    with httpx.Client(trust_env=False, timeout=10) as http:
        armed = http.post(f"{emu.url}/_emulator/aws-faults",
                          json={"action": "stall", "target": "s3:PutBucketTagging", "seconds": 30, "n": 1})
        assert armed.status_code == 200, armed.text
    done: list[bool] = []

    def tag() -> None:
        s3.put_bucket_tagging(Bucket="faulted", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
        done.append(True)
    worker = threading.Thread(target=tag)
    worker.start()
    deadline = time.monotonic() + 10
    while not aws_faults.hits() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert aws_faults.hits() == [{"kind": "stall", "service": "s3", "operation": "PutBucketTagging"}]
    time.sleep(0.3)
    assert not done
    aws_faults.reset()
    worker.join(timeout=10)
    assert done and s3.get_bucket_tagging(Bucket="faulted")["TagSet"] == [{"Key": "a", "Value": "b"}]
