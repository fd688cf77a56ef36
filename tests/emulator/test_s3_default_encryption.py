"""S3 default encryption as AWS answers it: every bucket has SSE-S3 unless it set its own, and deleting its
configuration returns it to SSE-S3 (moto 5.2.5 answered ServerSideEncryptionConfigurationNotFoundError)."""
from __future__ import annotations


def _algorithm(s3, bucket: str) -> str:
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    return rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]


def test_new_bucket_has_sse_s3_and_keeps_its_own_configuration(emu):
    s3 = emu.client("s3", "commercial")
    s3.create_bucket(Bucket="plain-bucket")
    assert _algorithm(s3, "plain-bucket") == "AES256"
    s3.put_bucket_encryption(Bucket="plain-bucket", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]})
    assert _algorithm(s3, "plain-bucket") == "aws:kms"
    s3.delete_bucket_encryption(Bucket="plain-bucket")
    assert _algorithm(s3, "plain-bucket") == "AES256"
