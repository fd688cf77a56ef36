"""Every scenario builds, and has exactly the property it claims (read back through boto3).

A small independent evaluator reads the state the way an auditor would and names what is
wrong; ``compliant`` must show nothing, each fault scenario exactly its own finding.
Also the ``--emulate`` pytest plugin, through pytester.
"""
from __future__ import annotations

import datetime as dt
import json
import os

import botocore.exceptions
import pytest

from bedrock_key_audit.emulator import clock, scenarios
from bedrock_key_audit.emulator.iam_ssc import lookup_bedrock_key

S = scenarios
FAULTS = {
    "expired_key", "inactive_key", "never_expiring_key", "two_active_keys", "overprivileged_inline",
    "full_access_attached", "mantle_open", "no_user", "user_with_access_key", "secret_not_json", "secret_missing",
    "secret_foreign_key", "secret_default_kms", "trail_stopped", "trail_single_region",
    "trail_no_validation", "trail_write_only", "trail_no_kms", "key_expiring_soon",
    "secret_reader_role", "secret_reader_group", "extra_minter",
    "key_unused", "key_used_outside_cidrs",
    "no_invocation_logging", "invocation_logs_foreign_bucket", "trail_bucket_public", "trail_bucket_no_access_logs",
}
EXPECTED = {
    "compliant": set(),
    # AmazonBedrockFullAccess grants bedrock-mantle:* (CallWithBearerToken included): the key answers on Mantle
    "guide": {"full_access_attached", "mantle_open", "secret_default_kms", "trail_single_region", "trail_no_validation", "trail_no_kms",
              "trail_bucket_no_access_logs", "no_invocation_logging"},
    # the guide's step 4 to the letter: "None" (ServicePassword) stored instead of the key
    "guide_service_password": {"full_access_attached", "secret_default_kms", "trail_single_region",
                               "trail_no_validation", "trail_no_kms", "secret_foreign_key",
                               "trail_bucket_no_access_logs", "no_invocation_logging"},
    **{name: {name} for name in FAULTS},
    "full_access_attached": {"full_access_attached", "mantle_open"},
    # the Deny closes Mantle; the managed policy's Allows are no finding of this evaluator
    "mantle_closed_by_deny": set(),
    # the organization guardrail scenarios change nothing collect() reads: their SCPs are proven by
    # actual calls in tests/emulator/test_org_guard.py
    "scp_caps_key_age": set(), "scp_denies_long_term": set(), "no_org_access": set(),
    # the outsider the secret's policies admit is kept out by the RCP (tests/emulator/test_org_guard.py)
    "rcp_blocks_outsiders": set(),
}
# a fault scenario that declares the audit rows it breaks (scenarios.py @breaks) and is not listed above
# shows none of the faults collect() reads: what it changes is proven by its rows in tests/audit/test_scenarios.py
EXPECTED.update({name: set() for name in S.BREAKS if name not in EXPECTED})


def _code(exc: botocore.exceptions.ClientError) -> str:
    return exc.response["Error"]["Code"]


def _ok(cond: object, what: str) -> None:
    """Assert without letting pytest print the operands: they may hold (fake) keys."""
    assert bool(cond), what


def collect(emu) -> dict:
    """Read what an auditor reads, through boto3 only."""
    iam = emu.client("iam")
    st: dict = {"user": None, "trails": {}}
    try:
        iam.get_user(UserName=S.USER)
        attached = iam.list_attached_user_policies(UserName=S.USER)["AttachedPolicies"]
        docs = {}
        for p in attached:
            pol = iam.get_policy(PolicyArn=p["PolicyArn"])["Policy"]
            docs[p["PolicyName"]] = iam.get_policy_version(
                PolicyArn=p["PolicyArn"], VersionId=pol["DefaultVersionId"])["PolicyVersion"]["Document"]
        try:
            iam.get_login_profile(UserName=S.USER)
            password = True
        except botocore.exceptions.ClientError as exc:
            assert _code(exc) == "NoSuchEntity"
            password = False
        st["user"] = {
            "attached": docs,
            "inline": {n: iam.get_user_policy(UserName=S.USER, PolicyName=n)["PolicyDocument"]
                       for n in iam.list_user_policies(UserName=S.USER)["PolicyNames"]},
            "access_keys": iam.list_access_keys(UserName=S.USER)["AccessKeyMetadata"],
            "password": password,
            "keys": iam.list_service_specific_credentials(UserName=S.USER, ServiceName=S.BEDROCK)["ServiceSpecificCredentials"],
        }
    except botocore.exceptions.ClientError as exc:
        assert _code(exc) == "NoSuchEntity"
    sm = emu.client("secretsmanager", "govcloud")
    try:
        st["secret_meta"] = sm.describe_secret(SecretId=S.SECRET_NAME)
        st["secret"] = sm.get_secret_value(SecretId=S.SECRET_NAME)["SecretString"]
    except botocore.exceptions.ClientError as exc:
        assert _code(exc) == "ResourceNotFoundException"
        st["secret_meta"] = st["secret"] = None
    # inline policies of roles and groups (with members), per partition: who else may read or mint
    st["grants"] = {}
    for partition in ("commercial", "govcloud"):
        piam = emu.client("iam", partition)
        grants = []
        for r in piam.list_roles()["Roles"]:
            for name in piam.list_role_policies(RoleName=r["RoleName"])["PolicyNames"]:
                grants.append(("role", piam.get_role_policy(RoleName=r["RoleName"], PolicyName=name)["PolicyDocument"]))
        for g in piam.list_groups()["Groups"]:
            if piam.get_group(GroupName=g["GroupName"])["Users"]:
                for name in piam.list_group_policies(GroupName=g["GroupName"])["PolicyNames"]:
                    grants.append(("group", piam.get_group_policy(GroupName=g["GroupName"], PolicyName=name)["PolicyDocument"]))
        st["grants"][partition] = grants
    for partition in ("commercial", "govcloud"):
        ct = emu.client("cloudtrail", partition)
        trails = []
        for t in ct.describe_trails()["trailList"]:
            trails.append({
                **t,
                "status": ct.get_trail_status(Name=t["TrailARN"]),
                "selectors": ct.get_event_selectors(TrailName=t["TrailARN"]).get("EventSelectors", []),
                "bucket_policy": emu.client("s3", partition).get_bucket_policy(Bucket=t["S3BucketName"])["Policy"],
                "bucket_logging": emu.client("s3", partition).get_bucket_logging(Bucket=t["S3BucketName"]).get(
                    "LoggingEnabled"),
                "bucket_pab": _pab(emu.client("s3", partition), t["S3BucketName"]),
            })
        st["trails"][partition] = trails
    st["emu_url"] = emu.url
    st["invocation_logging"] = emu.client("bedrock").get_model_invocation_logging_configuration().get("loggingConfig")
    st["buckets"] = {b["Name"] for b in emu.client("s3").list_buckets()["Buckets"]}
    # the key user's Bedrock calls made with a key, by CloudTrail event history: (time, source address)
    st["usage"] = []
    for page in emu.client("cloudtrail").get_paginator("lookup_events").paginate(
            LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": S.USER}]):
        for e in page["Events"]:
            body = json.loads(e["CloudTrailEvent"])
            if body["eventSource"] == "bedrock.amazonaws.com" and (body.get("additionalEventData") or {}).get(
                    "callWithBearerToken"):
                st["usage"].append((e["EventTime"], body["sourceIPAddress"]))
    return st


def emu_url(st: dict) -> str:
    return st["emu_url"]


def mantle_status(url: str, api_key: str) -> int:
    """``GET /v1/models`` on Mantle with the key (the override URL plus the surface header): its HTTP status."""
    import httpx

    r = httpx.get(f"{url}/v1/models", headers={"Authorization": "Bearer " + api_key, "x-emulator-surface": "mantle"},
                  timeout=10)
    return r.status_code


def _pab(s3, bucket: str) -> dict:
    try:
        return s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except botocore.exceptions.ClientError as exc:
        assert _code(exc) == "NoSuchPublicAccessBlockConfiguration"
        return {}


def findings(st: dict) -> set[str]:
    out: set[str] = set()
    user = st["user"]
    if user is None:
        out.add("no_user")
    else:
        if "AmazonBedrockFullAccess" in user["attached"]:
            out.add("full_access_attached")
        if any(x["Effect"] == "Allow" for d in user["inline"].values()
               for x in (d["Statement"] if isinstance(d["Statement"], list) else [d["Statement"]])):
            out.add("overprivileged_inline")
        if user["access_keys"]:
            out.add("user_with_access_key")
        keys = user["keys"]
        if sum(k["Status"] == "Active" for k in keys) > 1:
            out.add("two_active_keys")
        for k in keys:
            if k["Status"] == "Expired":
                out.add("expired_key")
            elif k["Status"] == "Inactive":
                out.add("inactive_key")
            elif "ExpirationDate" not in k:
                out.add("never_expiring_key")
            elif k["ExpirationDate"] - clock.now() < dt.timedelta(days=30):
                out.add("key_expiring_soon")
    if st["secret_meta"] is None:
        out.add("secret_missing")
    else:
        if "KmsKeyId" not in st["secret_meta"]:
            out.add("secret_default_kms")
        try:
            api_key = json.loads(st["secret"])["bedrock_api_key"]
        except (ValueError, KeyError, TypeError):
            out.add("secret_not_json")
        else:
            st["mantle_status"] = mantle_status(emu_url(st), api_key)
            if st["mantle_status"] == 200:
                out.add("mantle_open")
            found = lookup_bedrock_key(api_key)
            if user is not None and (found is None or found.credential_id not in
                                     {k["ServiceSpecificCredentialId"] for k in user["keys"]}):
                out.add("secret_foreign_key")
    def allows(doc: dict, action: str) -> bool:
        stmts = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
        return any(x["Effect"] == "Allow" and action in ([x["Action"]] if isinstance(x["Action"], str) else x["Action"])
                   for x in stmts)
    for kind, doc in st["grants"]["govcloud"]:
        if allows(doc, "secretsmanager:GetSecretValue"):
            out.add("secret_reader_role" if kind == "role" else "secret_reader_group")
    for _, doc in st["grants"]["commercial"]:
        if allows(doc, "iam:CreateServiceSpecificCredential"):
            out.add("extra_minter")
    usage = st.get("usage")
    if usage is not None and user is not None:
        created = [k["CreateDate"] for k in user["keys"] if k["Status"] == "Active"]
        recent = [t for t, _ in usage if clock.now() - t <= dt.timedelta(days=90)]
        if created and min(created) < clock.now() - dt.timedelta(days=90) and not recent:
            out.add("key_unused")
        if any(not ip.startswith("203.0.113.") for _, ip in usage):
            out.add("key_used_outside_cidrs")
    log = st.get("invocation_logging") or {}
    if not (log.get("s3Config") or log.get("cloudWatchConfig")):
        out.add("no_invocation_logging")
    elif (log.get("s3Config") or {}).get("bucketName") not in st["buckets"]:
        out.add("invocation_logs_foreign_bucket")
    for trails in st["trails"].values():
        if not trails:
            out.add("no_trail")
        for t in trails:
            if not t["status"]["IsLogging"]:
                out.add("trail_stopped")
            if not t["IsMultiRegionTrail"]:
                out.add("trail_single_region")
            if not t["LogFileValidationEnabled"]:
                out.add("trail_no_validation")
            if "KmsKeyId" not in t:
                out.add("trail_no_kms")
            if any(s["ReadWriteType"] != "All" or not s["IncludeManagementEvents"] for s in t["selectors"]):
                out.add("trail_write_only")
            if not all(t["bucket_pab"].get(k) for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                                                        "RestrictPublicBuckets")):
                out.add("trail_bucket_public")
            if not t["bucket_logging"]:
                out.add("trail_bucket_no_access_logs")
    return out


def test_registry_names_and_docs():
    assert set(S.SCENARIOS) == {"empty"} | set(EXPECTED)
    for name, doc in S.describe().items():
        assert doc, f"scenario {name} has no docstring"
    with pytest.raises(KeyError, match="compliant"):
        S.get("no-such-scenario")


def test_empty(emu):
    emu.apply("empty")
    st = collect(emu)
    assert st["user"] is None and st["secret_meta"] is None
    assert st["trails"] == {"commercial": [], "govcloud": []}
    got = findings(st)
    assert got == {"no_user", "secret_missing", "no_trail", "no_invocation_logging"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_scenario_has_exactly_its_findings(emu, name):
    emu.apply(name)
    st = collect(emu)  # holds the secret value: never an assertion operand
    got = findings(st)
    assert got == EXPECTED[name]
    assert clock.offset() == dt.timedelta(0)  # no scenario leaves the clock moved


def test_compliant_details(emu):
    emu.apply("compliant")
    st = collect(emu)
    user = st["user"]
    assert list(user["attached"]) == [S.POLICY_NAME]
    stmt = user["attached"][S.POLICY_NAME]["Statement"]
    assert [s["Effect"] for s in stmt] == ["Allow"]
    assert sorted(stmt[0]["Action"]) == sorted(S.GUIDE_ACTIONS + ["bedrock:CallWithBearerToken"])
    assert user["password"] is False and user["access_keys"] == [] and user["inline"] == {}
    [key] = user["keys"]
    assert key["Status"] == "Active" and key["ExpirationDate"] - key["CreateDate"] == dt.timedelta(days=180)
    secret = json.loads(st["secret"])
    assert set(secret) == {"bedrock_api_key", "region"}
    assert secret["region"] == "us-east-1"
    _ok(lookup_bedrock_key(secret["bedrock_api_key"]).credential_id == key["ServiceSpecificCredentialId"],
        "the secret holds the Active key")
    kms = emu.client("kms", "govcloud").describe_key(KeyId=st["secret_meta"]["KmsKeyId"])["KeyMetadata"]
    assert kms["KeyManager"] == "CUSTOMER" and kms["Arn"].startswith("arn:aws-us-gov:kms:us-gov-west-1:")
    for partition, trails in st["trails"].items():
        [t] = trails
        assert t["IncludeGlobalServiceEvents"] is True and t["HasCustomEventSelectors"] is False
        assert t["selectors"] == [{"ReadWriteType": "All", "IncludeManagementEvents": True,
                                   "DataResources": [], "ExcludeManagementEventSources": []}]
        assert t["KmsKeyId"].startswith("arn:aws-us-gov:kms:" if partition == "govcloud" else "arn:aws:kms:")
        assert "cloudtrail.amazonaws.com" in t["bucket_policy"]


def test_guide_details(emu):
    emu.apply("guide")
    st = collect(emu)
    assert set(st["user"]["attached"]) == {"AmazonBedrockFullAccess", S.POLICY_NAME}
    assert sorted(st["user"]["attached"][S.POLICY_NAME]["Statement"][0]["Action"]) == sorted(S.GUIDE_ACTIONS)
    assert len(S.GUIDE_ACTIONS) == 11
    [key] = st["user"]["keys"]
    assert key["ExpirationDate"] - key["CreateDate"] == dt.timedelta(days=180)
    # created, then updated as in the guide's step 4: the current version holds the key
    assert len(st["secret_meta"]["VersionIdsToStages"]) == 2
    _ok(lookup_bedrock_key(json.loads(st["secret"])["bedrock_api_key"]) is not None, "the secret holds a live key")
    for trails in st["trails"].values():
        [t] = trails
        assert t["status"]["IsLogging"] is True


def test_expired_key_lies_in_the_real_past(emu):
    emu.apply("expired_key")
    [key] = emu.client("iam").list_service_specific_credentials(UserName=S.USER)["ServiceSpecificCredentials"]
    real_now = dt.datetime.now(dt.timezone.utc)
    assert key["Status"] == "Expired" and key["CreateDate"] < key["ExpirationDate"] < real_now


# --------------------------------------------------------------------------- the --emulate plugin
PLUGIN_ARGS = ("-p", "bedrock_key_audit.fixtures.options", "-p", "bedrock_key_audit.fixtures.emulator.plugin", "-p", "no:cacheprovider")


@pytest.fixture(autouse=True)
def _no_plugin_autoload(monkeypatch):
    # inner pytester runs: only the plugins named above (entry-point plugins cost seconds)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def test_plugin_points_sdk_at_the_emulator(pytester, emulator, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "real-profile-must-not-be-used")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    pytester.makepyfile(test_inner="""
        import os, boto3
        from bedrock_key_audit.fixtures.emulator.plugin import EMULATOR_KEY

        def test_env(emulator_instance, pytestconfig):
            assert pytestconfig.stash[EMULATOR_KEY] is emulator_instance
            url = emulator_instance.url
            for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"):
                assert os.environ[var] == url
            assert "AWS_PROFILE" not in os.environ and "AWS_SESSION_TOKEN" not in os.environ
            assert open(os.environ["AWS_CONFIG_FILE"]).read() == ""
            iam = boto3.client("iam", region_name="us-east-1")
            keys = iam.list_service_specific_credentials(UserName="bedrock-cross-partition-user")
            assert [k["Status"] for k in keys["ServiceSpecificCredentials"]] == ["Expired"]
    """)
    result = pytester.runpytest_inprocess(*PLUGIN_ARGS, "--emulate=expired_key")
    result.assert_outcomes(passed=1)
    assert os.environ["AWS_PROFILE"] == "real-profile-must-not-be-used"
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert emulator.scenario == "expired_key"  # the same process-wide emulator was reused


def test_plugin_default_scenario_is_guide(pytester, emulator):
    pytester.makepyfile(test_inner="""
        def test_scenario(emulator_instance):
            assert emulator_instance.scenario == "guide"
    """)
    pytester.runpytest_inprocess(*PLUGIN_ARGS, "--emulate").assert_outcomes(passed=1)


def test_plugin_off_without_option(pytester, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    pytester.makepyfile(test_inner="""
        import os
        def test_none(emulator_instance):
            assert emulator_instance is None
            assert "AWS_ENDPOINT_URL" not in os.environ
    """)
    pytester.runpytest_inprocess(*PLUGIN_ARGS).assert_outcomes(passed=1)


def test_plugin_unknown_scenario_is_a_usage_error(pytester):
    pytester.makepyfile(test_inner="def test_x():\n    pass\n")
    result = pytester.runpytest_inprocess(*PLUGIN_ARGS, "--emulate=nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if "nope" in line]
    assert len(errors) == 1 and "compliant" in errors[0]
