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


def _second_botocore_exceptions() -> Any:
    """Another copy of ``botocore.exceptions`` (same names, other classes), as a process holds after a test runner
    restored ``sys.modules`` between two in-process runs and the second imported botocore again."""
    import importlib.util

    spec = importlib.util.find_spec("botocore.exceptions")
    assert spec is not None and spec.loader is not None
    other = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(other)
    assert other.ClientError is not botocore.exceptions.ClientError
    return other


def test_another_copy_of_botocores_errors_is_mapped_the_same() -> None:
    """A ClientError raised by a client of another copy of botocore is still an expected code (None), a throttle
    (the one sentence) or a denial, never the raw botocore text."""
    other = _second_botocore_exceptions()

    def error(code: str) -> BaseException:
        return other.ClientError({"Error": {"Code": code, "Message": "m"}}, "GetUser")
    assert aws_call.call(iam_client(), "GetUser", partition="commercial", expected={"NoSuchEntity"},
                         via=raising(error("NoSuchEntity"))) is None
    for exc, kind, message in [(error("Throttling"), "throttled", CASES[1][2]), (error("AccessDenied"), "denied", CASES[0][2]),
                               (other.NoCredentialsError(), "no_credentials", CASES[3][2]),
                               (other.EndpointConnectionError(endpoint_url="https://iam.amazonaws.com"), "unreachable",
                                CASES[4][2])]:
        with pytest.raises(aws_call.AwsCallError) as info:
            aws_call.call(iam_client(), "GetUser", partition="commercial", region="us-east-1", via=raising(exc))
        assert (info.value.kind, str(info.value)) == (kind, message)
    assert aws_call.error_code(error("NoSuchEntity")) == "NoSuchEntity"
    with pytest.raises(KeyError):  # anything else is not botocore's to map
        aws_call.call(iam_client(), "GetUser", partition="commercial", via=raising(KeyError("k")))


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


def _client(service: str, region: str = "us-gov-west-1") -> Any:
    return boto3.client(service, region_name=region, aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x")


def _denied(service: str, operation: str, code: str, message: str, **kw: Any) -> aws_call.AwsCallError:
    exc = botocore.exceptions.ClientError({"Error": {"Code": code, "Message": message}}, operation)
    with pytest.raises(aws_call.AwsCallError) as info:
        aws_call.call(_client(service), operation, partition="govcloud", via=raising(exc), **kw)
    return info.value


def test_secrets_manager_refused_by_kms_names_kms_decrypt_on_the_secrets_key() -> None:
    err = _denied("secretsmanager", "GetSecretValue", "AccessDeniedException", "Access to KMS is not allowed")
    assert err.action == "kms:Decrypt" and err.kind == "denied"
    assert str(err).startswith("kms:Decrypt on the secret's KMS key was denied to the auditor in govcloud")
    assert "grant secretsmanager:GetSecretValue" not in str(err)
    assert "`bedrock-key-audit policy auditor --partition govcloud`" in str(err)
    # AWS names no cause: the sentence offers every policy that can refuse it, not only a missing grant
    assert all(w in str(err) for w in ("the key policy (an explicit Deny", "a grant", "IAM policies")), str(err)
    write = _denied("secretsmanager", "PutSecretValue", "AccessDeniedException", "Access to KMS is not allowed",
                    who=aws_call.REMEDIATOR)
    assert write.action == "kms:GenerateDataKey"


def test_a_bodyless_403_of_head_bucket_names_s3_list_bucket_and_the_policy_command() -> None:
    err = _denied("s3", "HeadBucket", "403", "Forbidden")
    assert err.kind == "denied" and err.action == "s3:ListBucket"
    assert str(err) == ("s3:ListBucket was denied to the auditor in govcloud (us-gov-west-1); grant s3:ListBucket to "
                        "the auditing principal (`bedrock-key-audit policy auditor --partition govcloud` prints the "
                        "policy)")


@pytest.mark.parametrize("operation, action", [
    ("HeadBucket", "s3:ListBucket"), ("GetBucketEncryption", "s3:GetEncryptionConfiguration"),
    ("PutBucketEncryption", "s3:PutEncryptionConfiguration"), ("DeletePublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
    ("GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock"), ("ListBuckets", "s3:ListAllMyBuckets"),
    ("GetBucketPolicy", "s3:GetBucketPolicy"), ("GetBucketLogging", "s3:GetBucketLogging"),
])
def test_s3_operations_name_their_iam_action(operation: str, action: str) -> None:
    from bedrock_key_audit import policy

    assert aws_call.iam_action(_client("s3"), operation) == action
    assert policy.access_level(action) != "Unknown"  # an action of the Service Authorization Reference


def test_every_s3_override_names_a_real_action() -> None:
    from bedrock_key_audit import policy

    assert all(policy.access_level(a) != "Unknown" for a in aws_call.IAM_ACTION_OVERRIDES.values())


SCP = ("User: arn:aws:iam::123456789012:user/remediator is not authorized to perform: "
       "iam:CreateServiceSpecificCredential on resource: arn:aws:iam::123456789012:user/k with an explicit deny in a "
       "service control policy")


def test_an_scp_denial_names_the_scp_never_a_grant() -> None:
    err = _denied("iam", "CreateServiceSpecificCredential", "AccessDenied", SCP, who=aws_call.REMEDIATOR)
    text = str(err)
    assert "explicit Deny in a service control policy" in text and "must exempt the remediating principal" in text
    assert "grant" not in text.replace("no IAM grant", "") and "prints the policy" not in text
    implicit = _denied("iam", "GetUser", "AccessDenied", "User: x is not authorized to perform: iam:GetUser on "
                       "resource: y because no service control policy allows the iam:GetUser action")
    assert "because no service control policy of the account's organization allows it" in str(implicit)
    assert "prints the policy" not in str(implicit)


@pytest.mark.parametrize("words, expected", [
    ("with an explicit deny in a permissions boundary", "explicit Deny in the permissions boundary"),
    ("because no permissions boundary allows the iam:GetUser action", "the permissions boundary of the auditing "
                                                                      "principal, which does not allow it"),
    ("with an explicit deny in a session policy", "explicit Deny in the session policy"),
    ("with an explicit deny in an identity-based policy", "explicit Deny in an identity-based policy"),
    ("with an explicit deny in a resource control policy", "explicit Deny in a resource control policy"),
])
def test_each_policy_type_aws_names_is_the_cause_said(words: str, expected: str) -> None:
    err = _denied("iam", "GetUser", "AccessDenied", f"User: x is not authorized to perform: iam:GetUser on resource: y "
                  f"{words}")
    assert expected in str(err) and "prints the policy" not in str(err), str(err)


class PathCfg:
    path = "/tmp/my audit.toml"

    def partition_account(self, partition: str) -> str | None:
        return "210987654321" if partition == "govcloud" else None


def test_the_policy_command_names_the_runs_config_and_account() -> None:
    err = _denied("iam", "GetUser", "AccessDenied", "because no identity-based policy allows the iam:GetUser action",
                  audit_cfg=PathCfg())
    assert ("`bedrock-key-audit policy auditor --partition govcloud --account 210987654321 --audit-config "
            "'/tmp/my audit.toml'` prints the policy") in str(err)


def test_refused_credentials_are_never_a_missing_grant() -> None:
    err = _denied("iam", "GetUser", "InvalidClientTokenId", "The security token included in the request is invalid.")
    assert err.kind == "denied" and "grant" not in str(err) and "bedrock-key-audit doctor" in str(err)
