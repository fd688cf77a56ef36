"""The one AWS-call wrapper (bedrock_key_audit.aws_call): every failure class becomes one sentence,
and the inventory and remediation each turn it into their own exception with the same text."""
from __future__ import annotations

from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.parsers import ResponseParserError

from bedrock_key_audit import aws_call
from bedrock_key_audit.inventory.errors import ReadError
from bedrock_key_audit.inventory.reader import Inventory
from bedrock_key_audit.remediation.core import Context
from bedrock_key_audit.remediation.errors import RemediationError


def iam_client() -> Any:
    return boto3.client("iam", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x")


def client_error(code: str, message: str = "m") -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": message}}, "GetUser")


def raising(exc: BaseException) -> Any:
    def via(client: Any) -> dict[str, Any]:
        raise exc
    return via


CASES = [
    (client_error("AccessDenied"), "denied",
     ("iam:GetUser was denied to the auditor in commercial (us-east-1); grant iam:GetUser to the auditing principal "
      "(`bedrock-key-audit policy auditor --partition commercial` prints the policy)")),
    (client_error("Throttling"), "throttled",
     "iam:GetUser in commercial (us-east-1) was still throttled after retries; rerun later or lower concurrency"),
    (client_error("ServiceFailure", "x" * 300), "client_error",
     "iam:GetUser in commercial (us-east-1) failed with ServiceFailure: " + "x" * 200),
    (botocore.exceptions.NoCredentialsError(), "no_credentials",
     "no AWS credentials for commercial; configure a profile or the standard chain"),
    (botocore.exceptions.EndpointConnectionError(endpoint_url="https://iam.amazonaws.com"), "unreachable",
     "iam:GetUser: could not reach iam in commercial: EndpointConnectionError"),
    (botocore.exceptions.ParamValidationError(report="bad"), "botocore",
     "iam:GetUser in commercial failed: ParamValidationError"),
    (ResponseParserError("junk"), "unparseable",
     ("iam:GetUser in commercial: AWS answered with a response that cannot be parsed; the endpoint may not implement "
      "this action")),
]


@pytest.mark.parametrize("exc, kind, message", CASES, ids=[c[1] for c in CASES])
def test_each_failure_class_is_one_sentence(exc: BaseException, kind: str, message: str) -> None:
    with pytest.raises(aws_call.AwsCallError) as info:
        aws_call.call(iam_client(), "GetUser", partition="commercial", region="us-east-1", via=raising(exc))
    assert (info.value.kind, str(info.value)) == (kind, message)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_expected_code_is_none_and_metadata_is_dropped() -> None:
    assert aws_call.call(iam_client(), "GetUser", partition="commercial", expected={"NoSuchEntity"},
                         via=raising(client_error("NoSuchEntity"))) is None
    got = aws_call.call(iam_client(), "GetUser", partition="commercial",
                        via=lambda c: {"User": {"UserName": "bob"}, "ResponseMetadata": {"RequestId": "r"}})
    assert got == {"User": {"UserName": "bob"}}


def test_remediator_is_named_in_a_denial() -> None:
    with pytest.raises(aws_call.AwsCallError, match=r"denied to the remediator in commercial \(us-east-1\); grant "
                       r"iam:GetUser to the remediating principal \(`bedrock-key-audit policy remediator --partition commercial` "
                       r"prints the policy\)"):
        aws_call.call(iam_client(), "GetUser", partition="commercial", region="us-east-1", who=aws_call.REMEDIATOR,
                      via=raising(client_error("AccessDenied")))


class FakeAws:
    """``client()`` hands out an IAM client whose GetUser fails with ``code`` (no network)."""

    def __init__(self, code: str):
        self.code = code

    def client(self, service: str, partition: str, region: str | None = None) -> Any:
        c = iam_client()
        err = client_error(self.code, "no")

        def get_user(**params: Any) -> dict[str, Any]:
            raise err
        c.get_user = get_user
        return c


class FakeCfg:
    def region(self, partition: str) -> str:
        return "us-east-1"


def test_inventory_and_remediation_share_the_mapping() -> None:
    inv = Inventory(FakeAws("InvalidInput"), FakeCfg())  # type: ignore[arg-type]
    with pytest.raises(ReadError) as read:
        inv._read("commercial", "iam", "GetUser", UserName="bob")
    ctx = Context(FakeAws("InvalidInput"), FakeCfg(), inv, now=None)  # type: ignore[arg-type]
    with pytest.raises(RemediationError) as fix:
        ctx.call("iam", "commercial", "GetUser", UserName="bob")
    assert str(read.value) == str(fix.value) == "iam:GetUser in commercial (us-east-1) failed with InvalidInput: no"
    inv.g.close()
