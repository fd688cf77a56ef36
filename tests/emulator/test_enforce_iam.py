"""``enforce_iam``: every signed call of an IAM user or role session authorized by the emulator's
own evaluator (bedrock_key_audit/emulator/enforce_iam.py), proven by actual calls."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import urllib.request

import boto3
import botocore.config
import botocore.exceptions
import pytest

from bedrock_key_audit.emulator import enforce_iam, org_guard, partitions

COMMERCIAL = partitions.ACCOUNTS["commercial"]
GOV = partitions.ACCOUNTS["govcloud"]
CONFIG = botocore.config.Config(retries={"max_attempts": 1})


@pytest.fixture
def enforced(emu):
    emu.enforce_iam = True
    enforce_iam.clear()
    try:
        yield emu
    finally:
        emu.enforce_iam = False
        enforce_iam.clear()


def _allow(actions, resource="*", condition=None):
    st = {"Effect": "Allow", "Action": actions, "Resource": resource}
    if condition:
        st["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [st]}


def _keys(emu, name, policy=None, partition="commercial", boundary=None):
    iam = emu.client("iam", partition)
    iam.create_user(UserName=name)
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    if boundary is not None:
        arn = iam.create_policy(PolicyName=f"{name}-boundary", PolicyDocument=json.dumps(boundary))["Policy"]["Arn"]
        iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=arn)
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return k["AccessKeyId"], k["SecretAccessKey"]


def _client(emu, keys, service, partition="commercial", **kw):
    return boto3.client(service, endpoint_url=emu.url, region_name=kw.pop("region", partitions.PARTITIONS[partition].region),
                        aws_access_key_id=keys[0], aws_secret_access_key=keys[1],
                        aws_session_token=kw.pop("token", None), config=CONFIG, **kw)


def _code(call):
    try:
        call()
    except botocore.exceptions.ClientError as exc:
        return exc.response["Error"]["Code"], exc.response["Error"].get("Message", "")
    return "ok", ""


# --------------------------------------------------------------------------- action and resource mapping
def _environ(method, path, headers=None, body=b"", query=""):
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "CONTENT_LENGTH": str(len(body)),
           "wsgi.input": io.BytesIO(body)}
    for k, v in (headers or {}).items():
        env["HTTP_" + k.upper().replace("-", "_")] = v
    return env


def _auth(service, region="us-east-1"):
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential=AKIAXXXXXXXXXXXXXXXX/20260101/{region}/{service}/aws4_request, "
                             "SignedHeaders=host, Signature=0"}


@pytest.mark.parametrize("method, path, query, action, params", [
    ("GET", "/", "", "s3:ListAllMyBuckets", {}),
    ("HEAD", "/logs", "", "s3:ListBucket", {"Bucket": "logs"}),
    ("GET", "/logs", "list-type=2", "s3:ListBucket", {"Bucket": "logs"}),
    ("GET", "/logs", "publicAccessBlock=", "s3:GetBucketPublicAccessBlock", {"Bucket": "logs"}),
    ("PUT", "/logs", "publicAccessBlock=", "s3:PutBucketPublicAccessBlock", {"Bucket": "logs"}),
    ("GET", "/logs", "encryption=", "s3:GetEncryptionConfiguration", {"Bucket": "logs"}),
    ("GET", "/logs", "policyStatus=", "s3:GetBucketPolicyStatus", {"Bucket": "logs"}),
    ("GET", "/logs", "logging=", "s3:GetBucketLogging", {"Bucket": "logs"}),
    ("GET", "/logs/a/b.json", "", "s3:GetObject", {"Bucket": "logs", "Key": "a/b.json"}),
    ("GET", "/v20180820/configuration/publicAccessBlock", "", "s3:GetAccountPublicAccessBlock", {}),
])
def test_s3_operations_map_to_the_service_authorization_references_actions(method, path, query, action, params):
    req = enforce_iam.parse(_environ(method, path, _auth("s3"), query=query), "us-east-1", "aws", COMMERCIAL)
    assert req.action == action
    assert {k: req.params[k] for k in params} == params


def test_json_query_and_rest_json_operations_map_to_prefix_and_operation():
    body = json.dumps({"SecretId": "s"}).encode()
    req = enforce_iam.parse(_environ("POST", "/", {**_auth("secretsmanager"), "X-Amz-Target": "secretsmanager.DescribeSecret",
                                                   "Content-Type": "application/x-amz-json-1.1"}, body),
                            "us-east-1", "aws", COMMERCIAL)
    assert (req.action, req.params["SecretId"]) == ("secretsmanager:DescribeSecret", "s")
    req = enforce_iam.parse(_environ("POST", "/", _auth("iam"), b"Action=GetUser&Version=2010-05-08&UserName=u"),
                            "us-east-1", "aws", COMMERCIAL)
    assert (req.action, req.params["UserName"]) == ("iam:GetUser", "u")
    req = enforce_iam.parse(_environ("GET", "/logging/modelinvocations", _auth("bedrock")), "us-east-1", "aws",
                            COMMERCIAL)
    assert req.action == "bedrock:GetModelInvocationLoggingConfiguration"
    with pytest.raises(enforce_iam.Unmapped):
        enforce_iam.parse(_environ("GET", "/no/such/route/at/all", _auth("bedrock")), "us-east-1", "aws", COMMERCIAL)


def test_resources_are_the_arns_the_actions_act_on(enforced):
    emu = enforced
    emu.apply("compliant")
    user_arn = emu.client("iam").get_user(UserName="bedrock-cross-partition-user")["User"]["Arn"]

    def res(action, op, params, partition="aws", region="us-east-1", account=COMMERCIAL):
        req = enforce_iam.Request(action.split(":")[0], op, action, params, region, partition, account)
        return enforce_iam.resource_of(req, "arn:aws:iam::123456789012:user/caller")

    assert res("iam:GetUser", "GetUser", {"UserName": "bedrock-cross-partition-user"}) == user_arn
    assert res("iam:GetUser", "GetUser", {}) == "arn:aws:iam::123456789012:user/caller"
    assert res("iam:ListUsers", "ListUsers", {}) == "*"
    assert res("s3:GetBucketLogging", "GetBucketLogging", {"Bucket": "b"}) == "arn:aws:s3:::b"
    assert res("cloudtrail:GetTrailStatus", "GetTrailStatus", {"Name": "t"}) == \
        "arn:aws:cloudtrail:us-east-1:123456789012:trail/t"
    secret = emu.client("secretsmanager", "govcloud").describe_secret(SecretId="cross-partition-commercial-creds")
    assert res("secretsmanager:DescribeSecret", "DescribeSecret", {"SecretId": "cross-partition-commercial-creds"},
               "aws-us-gov", "us-gov-west-1", GOV) == secret["ARN"]
    with pytest.raises(enforce_iam.Unmapped):
        res("ec2:DescribeInstances", "DescribeInstances", {})


# --------------------------------------------------------------------------- decisions on signed calls
def test_allow_implicit_deny_and_the_protocols_refusals(enforced):
    emu = enforced
    keys = _keys(emu, "reader", _allow(["iam:ListUsers"]))
    assert _code(lambda: _client(emu, keys, "iam").list_users())[0] == "ok"
    code, msg = _code(lambda: _client(emu, keys, "iam").list_roles())
    assert code == "AccessDenied"
    assert msg == ("User: arn:aws:iam::123456789012:user/reader is not authorized to perform: iam:ListRoles on "
                   "resource: * because no identity-based policy allows the iam:ListRoles action")
    assert _code(lambda: _client(emu, keys, "kms").list_keys())[0] == "AccessDeniedException"
    assert _code(lambda: _client(emu, keys, "s3").list_buckets())[0] == "AccessDenied"
    assert _code(lambda: _client(emu, keys, "ec2").describe_regions())[0] == "UnauthorizedOperation"
    assert _code(lambda: _client(emu, keys, "bedrock").get_model_invocation_logging_configuration())[0] == \
        "AccessDeniedException"
    # GetCallerIdentity needs no permission; the emulator's own keys (the account root) are never checked
    assert _code(lambda: _client(emu, keys, "sts").get_caller_identity())[0] == "ok"
    emu.client("kms").list_keys()
    assert ("iam:ListRoles", "*") in enforce_iam.refused()


def test_resource_arns_and_conditions_of_the_policy_decide(enforced):
    emu = enforced
    pol = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "arn:aws:iam::*:user/bedrock-*"},
        {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestedRegion": "us-west-2"}}},
        {"Effect": "Allow", "Action": "iam:ListGroups", "Resource": "*",
         "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}},
    ]}
    keys = _keys(emu, "bedrock-reader", pol)
    _keys(emu, "other")
    iam = _client(emu, keys, "iam")
    assert _code(lambda: iam.get_user(UserName="bedrock-reader"))[0] == "ok"
    assert _code(lambda: iam.get_user(UserName="other"))[0] == "AccessDenied"
    assert _code(lambda: iam.list_users())[0] == "AccessDenied"
    # IAM is global: its requests name us-east-1 whatever Region the client signs for, so a us-west-2 condition
    # never holds for them (test_iam_requests_name_the_partitions_home_region_whatever_the_client_signs_for)
    assert _code(lambda: _client(emu, keys, "iam", region="us-west-2").list_users())[0] == "AccessDenied"
    assert _code(lambda: iam.list_groups())[0] == "AccessDenied"

    def from_workload(request, **_):
        request.headers["x-emulator-source-ip"] = "203.0.113.10"

    iam.meta.events.register("before-sign.iam.ListGroups", from_workload)
    assert _code(lambda: iam.list_groups())[0] == "ok"


def test_explicit_deny_and_permissions_boundary(enforced):
    emu = enforced
    deny = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:ListRoles", "Resource": "*"}]}
    keys = _keys(emu, "denied", deny)
    code, msg = _code(lambda: _client(emu, keys, "iam").list_roles())
    assert code == "AccessDenied" and msg.endswith("with an explicit deny in an identity-based policy")
    keys = _keys(emu, "bounded", _allow(["iam:ListUsers", "iam:ListRoles"]), boundary=_allow(["iam:ListUsers"]))
    assert _code(lambda: _client(emu, keys, "iam").list_users())[0] == "ok"
    code, msg = _code(lambda: _client(emu, keys, "iam").list_roles())
    assert code == "AccessDenied" and "because no permissions boundary allows the iam:ListRoles action" in msg


def test_role_sessions_and_their_session_policy(enforced):
    emu = enforced
    iam = emu.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{COMMERCIAL}:root"},
                                                     "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="auditor", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="auditor", PolicyName="p", PolicyDocument=json.dumps(_allow(["iam:ListUsers",
                                                                                                "iam:ListRoles"])))
    creds = emu.client("sts").assume_role(RoleArn=role, RoleSessionName="audit", Policy=json.dumps(
        _allow(["iam:ListUsers"])))["Credentials"]
    keys = (creds["AccessKeyId"], creds["SecretAccessKey"])
    iam_s = _client(emu, keys, "iam", token=creds["SessionToken"])
    assert _code(lambda: iam_s.list_users())[0] == "ok"
    code, msg = _code(lambda: iam_s.list_roles())
    assert code == "AccessDenied" and "assumed-role/auditor/audit" in msg and "session policy" in msg


def test_kms_key_policy_is_required_even_in_the_same_account(enforced):
    emu = enforced
    kms = emu.client("kms")
    only_root = {"Version": "2012-10-17", "Statement": [{"Sid": "Root", "Effect": "Allow", "Principal": {
        "AWS": f"arn:aws:iam::{COMMERCIAL}:root"}, "Action": "kms:*", "Resource": "*"}]}
    nobody = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "AWS": f"arn:aws:iam::{COMMERCIAL}:user/someone-else"}, "Action": "kms:*", "Resource": "*"}]}
    delegated = kms.create_key(Policy=json.dumps(only_root))["KeyMetadata"]["KeyId"]
    closed = kms.create_key(Policy=json.dumps(nobody), BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["KeyId"]
    keys = _keys(emu, "kms-reader", _allow(["kms:DescribeKey"]))
    k = _client(emu, keys, "kms")
    assert _code(lambda: k.describe_key(KeyId=delegated))[0] == "ok"
    code, msg = _code(lambda: k.describe_key(KeyId=closed))
    assert code == "AccessDeniedException" and "no resource-based policy allows" in msg


def test_bucket_policy_and_secret_policy_apply(enforced):
    emu = enforced
    s3 = emu.client("s3")
    s3.create_bucket(Bucket="evidence")
    keys = _keys(emu, "bucket-reader", _allow(["s3:GetBucketLogging"]))
    assert _code(lambda: _client(emu, keys, "s3").get_bucket_logging(Bucket="evidence"))[0] == "ok"
    s3.put_bucket_policy(Bucket="evidence", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetBucketLogging", "Resource": "arn:aws:s3:::evidence"}]}))
    code, msg = _code(lambda: _client(emu, keys, "s3").get_bucket_logging(Bucket="evidence"))
    assert code == "AccessDenied" and "explicit deny in a resource-based policy" in msg
    sm = emu.client("secretsmanager")
    arn = sm.create_secret(Name="s", SecretString="x")["ARN"]
    keys = _keys(emu, "no-identity-policy")
    assert _code(lambda: _client(emu, keys, "secretsmanager").describe_secret(SecretId="s"))[0] == "AccessDeniedException"
    sm.put_resource_policy(SecretId="s", ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{COMMERCIAL}:user/no-identity-policy"},
         "Action": "secretsmanager:DescribeSecret", "Resource": "*"}]}))
    assert _code(lambda: _client(emu, keys, "secretsmanager").describe_secret(SecretId=arn))[0] == "ok"


def test_scps_bound_a_member_accounts_principals(enforced):
    emu = enforced
    mgmt = "111111111111"
    org_guard.join(COMMERCIAL, mgmt)
    from moto.organizations.models import organizations_backends

    root = organizations_backends[mgmt]["aws"].org.root_id
    org_guard.attach(mgmt, root, org_guard.SCP, "no-list-roles", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:ListRoles", "Resource": "*"}]})
    keys = _keys(emu, "member-user", _allow(["iam:ListUsers", "iam:ListRoles"]))
    assert _code(lambda: _client(emu, keys, "iam").list_users())[0] == "ok"
    code, msg = _code(lambda: _client(emu, keys, "iam").list_roles())
    assert code == "AccessDenied" and msg.endswith("with an explicit deny in a service control policy")


def test_off_by_default_and_switched_by_the_control_endpoint(emu):
    assert emu.enforce_iam is False
    keys = _keys(emu, "nobody")
    assert _code(lambda: _client(emu, keys, "iam").list_roles())[0] == "ok"

    def post(on):
        req = urllib.request.Request(f"{emu.url}/_emulator/enforce-iam", data=json.dumps({"on": on}).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req, timeout=10) as r:
            return json.loads(r.read())

    try:
        assert post(True)["on"] is True
        assert _code(lambda: _client(emu, keys, "iam").list_roles())[0] == "AccessDenied"
        emu.reset()  # kept across reset and scenarios, as the CLI flag must be
        assert emu.enforce_iam is True
    finally:
        assert post(False) == {"on": False, "refused": []}


def test_cli_enforce_iam_flag(tmp_path):
    from tests.emulator.test_server_cli import _clean_env, _start, _stop

    proc, url = _start(["--port", "0", "--scenario", "empty", "--enforce-iam"], _clean_env(tmp_path))
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(f"{url}/_emulator/enforce-iam",
                                                                               timeout=10) as r:
            assert json.loads(r.read())["on"] is True
    finally:
        assert _stop(proc) == 0
    help_text = subprocess.run([sys.executable, "-m", "bedrock_key_audit.emulator", "--help"], capture_output=True,
                               text=True, timeout=60).stdout
    assert "--enforce-iam" in help_text


def test_a_call_the_emulator_cannot_map_is_refused_never_let_through(enforced):
    """ec2:DescribeInstances is not in the emulator's resource catalogue (the audit never calls it): even
    an ``ec2:*`` grant does not let it through unchecked; the refusal says what the emulator could not map."""
    emu = enforced
    keys = _keys(emu, "ec2-admin", _allow(["ec2:*"]))
    assert _code(lambda: _client(emu, keys, "ec2").describe_regions())[0] == "ok"
    code, msg = _code(lambda: _client(emu, keys, "ec2").describe_instances())
    assert code == "UnauthorizedOperation" and "cannot map its resource" in msg and "ec2:DescribeInstances" in msg


def test_scps_also_bound_the_calls_other_handlers_authorize(enforced):
    """iam:PutUserPolicy is authorized by iam_authz (identity policies, boundary); with IAM enforced the
    member account's SCPs bound it too, with the request's IAM condition keys (iam:PolicyARN)."""
    emu = enforced
    mgmt = "111111111111"
    org_guard.join(COMMERCIAL, mgmt)
    from moto.organizations.models import organizations_backends

    root = organizations_backends[mgmt]["aws"].org.root_id
    org_guard.attach(mgmt, root, org_guard.SCP, "no-admin-attach", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:PutUserPolicy", "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:AttachUserPolicy", "Resource": "*",
         "Condition": {"ArnLike": {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}}}]})
    keys = _keys(emu, "writer", _allow(["iam:PutUserPolicy", "iam:AttachUserPolicy"]))
    _keys(emu, "target")
    iam = _client(emu, keys, "iam")
    code, msg = _code(lambda: iam.put_user_policy(UserName="target", PolicyName="p",
                                                  PolicyDocument=json.dumps(_allow(["s3:ListAllMyBuckets"]))))
    assert code == "AccessDenied" and msg.endswith("with an explicit deny in a service control policy")
    assert _code(lambda: iam.attach_user_policy(UserName="target",
                                                PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess"))[0] == "ok"
    code, _ = _code(lambda: iam.attach_user_policy(UserName="target",
                                                   PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"))
    assert code == "AccessDenied"


@pytest.mark.parametrize("partition, home, other", [("commercial", "us-east-1", "us-west-2"),
                                                    ("govcloud", "us-gov-west-1", "us-gov-east-1")])
def test_iam_requests_name_the_partitions_home_region_whatever_the_client_signs_for(enforced, partition, home, other):
    emu = enforced
    keys = _keys(emu, "regional", _allow(["iam:GetUser"], "*", {"StringEquals": {"aws:RequestedRegion": home}}),
                 partition=partition)
    assert _code(lambda: _client(emu, keys, "iam", partition, region=other).get_user(UserName="regional"))[0] == "ok"
    elsewhere = _keys(emu, "elsewhere", _allow(["iam:GetUser"], "*", {"StringEquals": {"aws:RequestedRegion": other}}),
                      partition=partition)
    assert _code(lambda: _client(emu, elsewhere, "iam", partition, region=other).get_user(UserName="elsewhere"))[0] \
        == "AccessDenied"


def test_the_refused_list_names_the_minting_and_escalation_handlers_denials(enforced):
    emu = enforced
    keys = _keys(emu, "no-writes", _allow(["iam:GetUser"]))
    _keys(emu, "target")
    iam = _client(emu, keys, "iam")
    code, _ = _code(lambda: iam.put_user_policy(UserName="target", PolicyName="p",
                                                PolicyDocument=json.dumps(_allow(["s3:ListAllMyBuckets"]))))
    assert code == "AccessDenied"
    assert ("iam:PutUserPolicy", f"arn:aws:iam::{COMMERCIAL}:user/target") in enforce_iam.refused()
    with urllib.request.urlopen(f"{emu.url}/_emulator/enforce-iam") as resp:
        listed = json.load(resp)["refused"]
    assert {"action": "iam:PutUserPolicy", "resource": f"arn:aws:iam::{COMMERCIAL}:user/target"} in listed


def test_a_user_refused_by_an_abac_grant_tags_itself_and_reads(enforced):
    """The false PASS the minters' and readers' rows guard against (their own policies' aws:PrincipalTag/* is no
    fact when the principal may iam:TagUser itself: verdicts/access.py ``_tags_not_facts``), end to end: the
    user's own ABAC grant refuses it while tagged team=web; it tags itself team=bedrock and reads.  IAM User Guide,
    "Define permissions based on attributes with ABAC authorization"; "Tags for IAM resources" (TagUser)."""
    emu = enforced
    emu.client("secretsmanager").create_secret(Name="abac", SecretString="x")
    me = f"arn:aws:iam::{COMMERCIAL}:user/abac-intern"
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalTag/team": "bedrock"}}},
        {"Effect": "Allow", "Action": "iam:TagUser", "Resource": me}]}
    keys = _keys(emu, "abac-intern", policy)
    emu.client("iam").tag_user(UserName="abac-intern", Tags=[{"Key": "team", "Value": "web"}])
    sm = _client(emu, keys, "secretsmanager")
    assert _code(lambda: sm.get_secret_value(SecretId="abac"))[0] == "AccessDeniedException"
    _client(emu, keys, "iam").tag_user(UserName="abac-intern", Tags=[{"Key": "team", "Value": "bedrock"}])
    assert sm.get_secret_value(SecretId="abac")["SecretString"] == "x"


@pytest.mark.parametrize("condition, value, allowed", [
    ({"StringEquals": {"aws:RequestTag/team": "web"}}, "bedrock", False),
    ({"StringEquals": {"aws:RequestTag/team": "web"}}, "web", True),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["costcenter"]}}, "bedrock", False),
    ({"StringEquals": {"aws:RequestTag/team": "bedrock"}}, "bedrock", True),
])
def test_tag_user_carries_its_request_tags_and_tag_keys(enforced, condition, value, allowed):
    """iam:TagUser is authorised with aws:RequestTag/<key> and aws:TagKeys of its request, iam:UntagUser with
    aws:TagKeys (Service Authorization Reference, IAM: TagUser, UntagUser; "AWS global condition context keys":
    aws:RequestTag, aws:TagKeys).  Without them a condition on either could never hold."""
    emu = enforced
    me = f"arn:aws:iam::{COMMERCIAL}:user/tagged"
    keys = _keys(emu, "tagged", _allow("iam:TagUser", me, condition))
    iam = _client(emu, keys, "iam")
    got = _code(lambda: iam.tag_user(UserName="tagged", Tags=[{"Key": "team", "Value": value}]))[0]
    assert got == ("ok" if allowed else "AccessDenied"), got
    untag_keys = _keys(emu, "untagger", _allow("iam:UntagUser", me,
                                               {"ForAllValues:StringEquals": {"aws:TagKeys": ["costcenter"]}}))
    untag = _client(emu, untag_keys, "iam")
    assert _code(lambda: untag.untag_user(UserName="tagged", TagKeys=["team"]))[0] == "AccessDenied"
    assert _code(lambda: untag.untag_user(UserName="tagged", TagKeys=["costcenter"]))[0] == "ok"


def test_an_iam_call_carries_the_callers_principal_tags(enforced):
    """The IAM calls the emulator authorises itself (minting, the escalation writes) see aws:PrincipalTag/* of the
    calling user ("AWS global condition context keys": aws:PrincipalTag/tag-key): an ABAC mint grant refuses
    dev while tagged keyops=false; tagged keyops=true by a helper that may tag it and create its access key, the
    same key mints (RT M05: the minters row must not pass such a helper)."""
    emu = enforced
    dev = f"arn:aws:iam::{COMMERCIAL}:user/dev"
    mint = _allow("iam:CreateServiceSpecificCredential", dev, {"StringEquals": {"aws:PrincipalTag/keyops": "true"}})
    emu.client("iam").create_user(UserName="dev", Tags=[{"Key": "keyops", "Value": "false"}])
    emu.client("iam").put_user_policy(UserName="dev", PolicyName="p", PolicyDocument=json.dumps(mint))
    helper = _client(emu, _keys(emu, "helper", _allow(["iam:TagUser", "iam:CreateAccessKey"], dev)), "iam")
    k = helper.create_access_key(UserName="dev")["AccessKey"]
    as_dev = _client(emu, (k["AccessKeyId"], k["SecretAccessKey"]), "iam")

    def call():
        return as_dev.create_service_specific_credential(UserName="dev", ServiceName="bedrock.amazonaws.com",
                                                         CredentialAgeDays=30)
    assert _code(call)[0] == "AccessDenied"
    helper.tag_user(UserName="dev", Tags=[{"Key": "keyops", "Value": "true"}])
    assert _code(call)[0] == "ok"


def test_a_third_party_tags_a_reader_and_reads_as_it(enforced):
    """RT R09c, end to end: tagger (iam:TagUser and iam:CreateAccessKey on abac, no read of its own) mints abac an
    access key, which abac's ABAC grant refuses while tagged team=web; tagger tags abac team=bedrock; the key reads.
    The readers row counts such a tagger's target as one whose tags are no fact (escalation.tag_changers)."""
    emu = enforced
    emu.client("secretsmanager").create_secret(Name="abac", SecretString="x")
    abac = f"arn:aws:iam::{COMMERCIAL}:user/abac"
    read = _allow("secretsmanager:GetSecretValue", "*", {"StringEquals": {"aws:PrincipalTag/team": "bedrock"}})
    emu.client("iam").create_user(UserName="abac", Tags=[{"Key": "team", "Value": "web"}])
    emu.client("iam").put_user_policy(UserName="abac", PolicyName="p", PolicyDocument=json.dumps(read))
    tagger = _client(emu, _keys(emu, "tagger", _allow(["iam:TagUser", "iam:CreateAccessKey"], abac)), "iam")
    k = tagger.create_access_key(UserName="abac")["AccessKey"]
    as_abac = _client(emu, (k["AccessKeyId"], k["SecretAccessKey"]), "secretsmanager")
    assert _code(lambda: as_abac.get_secret_value(SecretId="abac"))[0] == "AccessDeniedException"
    tagger.tag_user(UserName="abac", Tags=[{"Key": "team", "Value": "bedrock"}])
    assert as_abac.get_secret_value(SecretId="abac")["SecretString"] == "x"


def test_principal_tag_keys_match_without_case(enforced):
    """``aws:PrincipalTag/<key>`` names the caller's IAM tag whatever the case of either: "Condition key names are
    not case-sensitive" ("IAM JSON policy elements: Condition"), and an IAM user's tag keys are not case sensitive
    ("Tags for AWS Identity and Access Management resources", Case sensitivity).  An Allow reading
    aws:PrincipalTag/Team lets a user tagged team=bedrock read; a Deny written AWS:PRINCIPALTAG/TEAM refuses one
    tagged team=quarantined.  Controls: the other value of each."""
    emu = enforced
    emu.client("secretsmanager").create_secret(Name="case", SecretString="x")
    iam = emu.client("iam")
    grant = _allow("secretsmanager:GetSecretValue", "*", {"StringEquals": {"aws:PrincipalTag/Team": "bedrock"}})
    fence = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
        {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
         "Condition": {"StringEquals": {"AWS:PRINCIPALTAG/TEAM": "quarantined"}}}]}
    outcomes = {}
    for name, policy, value in (("granted", grant, "bedrock"), ("ungranted", grant, "web"),
                                ("fenced", fence, "quarantined"), ("unfenced", fence, "ok")):
        iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": value}])
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
        k = iam.create_access_key(UserName=name)["AccessKey"]
        sm = _client(emu, (k["AccessKeyId"], k["SecretAccessKey"]), "secretsmanager")
        outcomes[name] = _code(lambda sm=sm: sm.get_secret_value(SecretId="case"))[0]
    assert outcomes == {"granted": "ok", "ungranted": "AccessDeniedException",
                        "fenced": "AccessDeniedException", "unfenced": "ok"}, outcomes


def test_tagging_a_user_or_role_replaces_a_key_differing_only_in_case(enforced):
    """"If you have tagged a user with the Department=finance tag and you add the department=hr tag, it replaces
    the first tag" (IAM User Guide, "Tags for AWS Identity and Access Management resources", Case sensitivity):
    TagUser Team=web over team=bedrock leaves one tag, and the ABAC grant on team no longer holds; UntagUser TEAM
    removes it; TagRole and UntagRole alike; one request naming team and Team is refused."""
    emu = enforced
    emu.client("secretsmanager").create_secret(Name="retag", SecretString="x")
    iam = emu.client("iam")
    keys = _keys(emu, "retagged", _allow("secretsmanager:GetSecretValue", "*",
                                         {"StringEquals": {"aws:PrincipalTag/team": "bedrock"}}))
    sm = _client(emu, keys, "secretsmanager")
    iam.tag_user(UserName="retagged", Tags=[{"Key": "team", "Value": "bedrock"}])
    assert _code(lambda: sm.get_secret_value(SecretId="retag"))[0] == "ok"
    iam.tag_user(UserName="retagged", Tags=[{"Key": "Team", "Value": "web"}])
    assert iam.list_user_tags(UserName="retagged")["Tags"] == [{"Key": "Team", "Value": "web"}]
    assert _code(lambda: sm.get_secret_value(SecretId="retag"))[0] == "AccessDeniedException"
    iam.untag_user(UserName="retagged", TagKeys=["TEAM"])
    assert iam.list_user_tags(UserName="retagged")["Tags"] == []
    assert _code(lambda: iam.tag_user(UserName="retagged", Tags=[{"Key": "team", "Value": "a"},
                                                                  {"Key": "Team", "Value": "b"}]))[0] == "InvalidInput"
    iam.create_role(RoleName="retagged-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": COMMERCIAL},
                                                "Action": "sts:AssumeRole"}]}),
        Tags=[{"Key": "team", "Value": "bedrock"}, {"Key": "costcenter", "Value": "1"}])
    iam.tag_role(RoleName="retagged-role", Tags=[{"Key": "TEAM", "Value": "web"}])
    assert sorted(t["Key"] for t in iam.list_role_tags(RoleName="retagged-role")["Tags"]) == ["TEAM", "costcenter"]
    iam.untag_role(RoleName="retagged-role", TagKeys=["Team"])
    assert [t["Key"] for t in iam.list_role_tags(RoleName="retagged-role")["Tags"]] == ["costcenter"]


def test_session_tags_need_tag_session_and_override_the_roles_tags(enforced):
    """"Passing session tags in AWS STS": AssumeRole with Tags needs sts:TagSession allowed by the role's trust
    policy (judged with aws:RequestTag/<key> and aws:TagKeys); the session's tags are its aws:PrincipalTag/*, a
    session tag replacing the role tag of the same key (keys compared without case)."""
    emu = enforced
    emu.client("secretsmanager").create_secret(Name="abac-session", SecretString="x")
    iam = emu.client("iam")
    me = f"arn:aws:iam::{COMMERCIAL}:user/session-tagger"
    keys = _keys(emu, "session-tagger", _allow(["sts:AssumeRole", "sts:TagSession"]))

    def role(name, trust_statements):
        arn = iam.create_role(RoleName=name, Tags=[{"Key": "Team", "Value": "web"}], AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": trust_statements}))["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(_allow(
            "secretsmanager:GetSecretValue", condition={"StringEquals": {"aws:PrincipalTag/team": "bedrock"}})))
        return arn
    assume = {"Effect": "Allow", "Principal": {"AWS": me}, "Action": "sts:AssumeRole"}
    plain = role("no-tag-session", [assume])
    limited = role("tag-session-web", [assume, {"Effect": "Allow", "Principal": {"AWS": me}, "Action": "sts:TagSession",
                                                "Condition": {"StringEquals": {"aws:RequestTag/team": "web"}}}])
    opened = role("tag-session-any", [assume, {"Effect": "Allow", "Principal": {"AWS": me}, "Action": "sts:TagSession"}])
    sts = _client(emu, keys, "sts")
    bedrock = [{"Key": "team", "Value": "bedrock"}]

    def read_as(creds):
        sm = _client(emu, (creds["AccessKeyId"], creds["SecretAccessKey"]), "secretsmanager", token=creds["SessionToken"])
        return _code(lambda: sm.get_secret_value(SecretId="abac-session"))[0]

    # without sts:TagSession in the trust a tagged session is refused; untagged, the role's own Team=web decides
    code, msg = _code(lambda: sts.assume_role(RoleArn=plain, RoleSessionName="ss", Tags=bedrock))
    assert code == "AccessDenied" and "sts:TagSession" in msg
    assert read_as(sts.assume_role(RoleArn=plain, RoleSessionName="ss")["Credentials"]) == "AccessDeniedException"
    # a trust allowing only team=web refuses team=bedrock and lets team=web through (which reads nothing)
    assert _code(lambda: sts.assume_role(RoleArn=limited, RoleSessionName="ss", Tags=bedrock))[0] == "AccessDenied"
    web = sts.assume_role(RoleArn=limited, RoleSessionName="ss", Tags=[{"Key": "team", "Value": "web"}])["Credentials"]
    assert read_as(web) == "AccessDeniedException"
    # an open TagSession: the session tag team=bedrock replaces the role's Team=web, and the session reads
    assert read_as(sts.assume_role(RoleArn=opened, RoleSessionName="ss", Tags=bedrock)["Credentials"]) == "ok"


def test_a_reader_tags_itself_through_a_role_it_assumes_and_reads(enforced):
    """RT2 A17, end to end: abac (team=web; reads only as team=bedrock) may not tag itself, but may assume opsrole,
    which may iam:TagUser abac.  Through the role's session abac tags itself team=bedrock; then its own key reads.
    So the readers row counts one that reaches a principal allowed to change its tags as choosing its own tags
    (escalation.tag_changers).  Control: before the tag the read and abac's own TagUser are refused."""
    emu = enforced
    emu.client("secretsmanager").create_secret(Name="abac", SecretString="x")
    abac = f"arn:aws:iam::{COMMERCIAL}:user/abac"
    ops = f"arn:aws:iam::{COMMERCIAL}:role/opsrole"
    read = _allow("secretsmanager:GetSecretValue", "*", {"StringEquals": {"aws:PrincipalTag/team": "bedrock"}})
    policy = {**read, "Statement": [*read["Statement"], *_allow("sts:AssumeRole", ops)["Statement"]]}
    keys = _keys(emu, "abac", policy)
    iam = emu.client("iam")
    iam.tag_user(UserName="abac", Tags=[{"Key": "team", "Value": "web"}])
    iam.create_role(RoleName="opsrole", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": abac}, "Action": "sts:AssumeRole"}]}))
    iam.put_role_policy(RoleName="opsrole", PolicyName="p", PolicyDocument=json.dumps(_allow("iam:TagUser", abac)))
    sm = _client(emu, keys, "secretsmanager")
    assert _code(lambda: sm.get_secret_value(SecretId="abac"))[0] == "AccessDeniedException"
    as_abac = _client(emu, keys, "iam")
    assert _code(lambda: as_abac.tag_user(UserName="abac", Tags=[{"Key": "team", "Value": "bedrock"}]))[0] == "AccessDenied"
    c = _client(emu, keys, "sts").assume_role(RoleArn=ops, RoleSessionName="s1")["Credentials"]
    as_ops = _client(emu, (c["AccessKeyId"], c["SecretAccessKey"]), "iam", token=c["SessionToken"])
    as_ops.tag_user(UserName="abac", Tags=[{"Key": "team", "Value": "bedrock"}])
    assert sm.get_secret_value(SecretId="abac")["SecretString"] == "x"


def test_delete_then_create_login_profile_replaces_a_users_password(enforced):
    """RT3 B3, end to end: CreateLoginProfile on a user that has a console password fails (EntityAlreadyExists),
    but DeleteLoginProfile then CreateLoginProfile sets the taker's password (escalation._Judge._takeover).
    Control: without iam:DeleteLoginProfile the delete is refused."""
    emu = enforced
    iam = emu.client("iam")
    iam.create_user(UserName="victim")
    iam.create_login_profile(UserName="victim", Password="Xx1!aaaaaaaaaaaaa")
    victim = f"arn:aws:iam::{COMMERCIAL}:user/victim"
    only_create = _client(emu, _keys(emu, "creator", _allow("iam:CreateLoginProfile", victim)), "iam")
    assert _code(lambda: only_create.delete_login_profile(UserName="victim"))[0] == "AccessDenied"
    taker = _client(emu, _keys(emu, "taker", _allow(["iam:CreateLoginProfile", "iam:DeleteLoginProfile"], victim)), "iam")
    assert _code(lambda: taker.create_login_profile(UserName="victim", Password="Xx1!bbbbbbbbbbbbb"))[0] == \
        "EntityAlreadyExists"
    assert _code(lambda: taker.delete_login_profile(UserName="victim"))[0] == "ok"
    assert _code(lambda: taker.create_login_profile(UserName="victim", Password="Xx1!bbbbbbbbbbbbb"))[0] == "ok"


def test_tagging_a_user_opens_a_takeover_gated_on_its_resource_tag(enforced):
    """RT3 B4, end to end: tagger's CreateAccessKey on abac is allowed only while abac's iam:ResourceTag/team is
    bedrock, and its TagUser only sets team=bedrock: refused first, allowed once it has tagged abac
    (escalation._Judge._retags)."""
    emu = enforced
    iam = emu.client("iam")
    iam.create_user(UserName="abac", Tags=[{"Key": "team", "Value": "web"}])
    abac = f"arn:aws:iam::{COMMERCIAL}:user/abac"
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:TagUser", "Resource": abac,
         "Condition": {"StringEquals": {"aws:RequestTag/team": "bedrock"}}},
        {"Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": abac,
         "Condition": {"StringEquals": {"iam:ResourceTag/team": "bedrock"}}}]}
    tagger = _client(emu, _keys(emu, "tagger", policy), "iam")
    assert _code(lambda: tagger.create_access_key(UserName="abac"))[0] == "AccessDenied"
    assert _code(lambda: tagger.tag_user(UserName="abac", Tags=[{"Key": "team", "Value": "ops"}]))[0] == "AccessDenied"
    tagger.tag_user(UserName="abac", Tags=[{"Key": "team", "Value": "bedrock"}])
    assert _code(lambda: tagger.create_access_key(UserName="abac"))[0] == "ok"


def test_a_caller_tags_itself_to_meet_a_role_trust_on_its_principal_tag(enforced):
    """RT3 B1, end to end: readrole's trust admits the account only for callers tagged team=bedrock; asker
    (team=web) is refused, tags itself, and assumes the role (bedrock_key_audit.verdicts.access: a trust reading
    aws:PrincipalTag makes the callers' tags a question of who may change them)."""
    emu = enforced
    iam = emu.client("iam")
    role = f"arn:aws:iam::{COMMERCIAL}:role/readrole"
    asker = f"arn:aws:iam::{COMMERCIAL}:user/asker"
    iam.create_role(RoleName="readrole", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{COMMERCIAL}:root"}, "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"aws:PrincipalTag/team": "bedrock"}}}]}))
    keys = _keys(emu, "asker", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role},
        {"Effect": "Allow", "Action": "iam:TagUser", "Resource": asker}]})
    iam.tag_user(UserName="asker", Tags=[{"Key": "team", "Value": "web"}])
    sts = _client(emu, keys, "sts")
    assert _code(lambda: sts.assume_role(RoleArn=role, RoleSessionName="s0"))[0] == "AccessDenied"
    _client(emu, keys, "iam").tag_user(UserName="asker", Tags=[{"Key": "team", "Value": "bedrock"}])
    assert _code(lambda: sts.assume_role(RoleArn=role, RoleSessionName="s1"))[0] == "ok"
