"""IAM service-specific credentials on the emulator, through boto3 (wire format from botocore)."""
from __future__ import annotations

import base64
import datetime as dt
import importlib.util
import pathlib
import re

import botocore.config
import botocore.exceptions
import botocore.session
import pytest

from bedrock_key_audit.emulator import clock, iam_ssc
from bedrock_key_audit.emulator.iam_ssc import KeyLookup, decode_long_term_key, lookup_bedrock_key
from tests.keyscan import holds_key_head

BEDROCK = "bedrock.amazonaws.com"
ACTIONS = ["CreateServiceSpecificCredential", "ListServiceSpecificCredentials",
           "UpdateServiceSpecificCredential", "ResetServiceSpecificCredential",
           "DeleteServiceSpecificCredential"]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _error(exc_info: pytest.ExceptionInfo) -> tuple[str, int]:
    resp = exc_info.value.response
    return resp["Error"]["Code"], resp["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def iam(emu):
    c = emu.client("iam")
    c.create_user(UserName="alice")
    return c


def _create(iam, user="alice", service=BEDROCK, **kw):
    return iam.create_service_specific_credential(UserName=user, ServiceName=service, **kw)["ServiceSpecificCredential"]


def _ok(cond: object, what: str) -> None:
    """Assert without letting pytest print the operands: they may hold (fake) keys."""
    assert bool(cond), what


# --------------------------------------------------------------------------- upstream watch
def test_installed_moto_still_lacks_the_actions():
    """The day moto ships these actions, this fails: then drop our patch in favour of moto's."""
    spec = importlib.util.find_spec("moto.iam.responses")
    source = pathlib.Path(spec.origin).read_text()
    models = pathlib.Path(importlib.util.find_spec("moto.iam.models").origin).read_text()
    for action in ACTIONS:
        assert f"def {_snake(action)}" not in source, f"moto now implements {action}"
        assert _snake(action) not in models, f"moto's IAM models now mention {action}"


def test_botocore_model_is_the_contract():
    model = botocore.session.get_session().get_service_model("iam")
    for action in ACTIONS:
        assert action in model.operation_names
    shape = model.shape_for("ServiceSpecificCredential")
    for field in ("ServiceCredentialAlias", "ServiceCredentialSecret", "ExpirationDate", "ServicePassword"):
        assert field in shape.members
    assert "AllUsers" in model.operation_model("ListServiceSpecificCredentials").input_shape.members


def test_install_is_idempotent(emu):
    from moto.iam.models import IAMBackend
    from moto.iam.responses import IamResponse

    before = (IamResponse.create_service_specific_credential, IAMBackend.delete_user)  # type: ignore[attr-defined]  # added by iam_ssc
    iam_ssc.install()
    iam_ssc.install()
    assert (IamResponse.create_service_specific_credential, IAMBackend.delete_user) == before  # type: ignore[attr-defined]  # as above


# --------------------------------------------------------------------------- create
def test_create_bedrock_key_fields_and_format(iam):
    cred = _create(iam, CredentialAgeDays=180)
    assert set(cred) == {"CreateDate", "ExpirationDate", "ServiceName", "ServiceCredentialAlias",
                         "ServiceCredentialSecret", "ServiceSpecificCredentialId", "UserName", "Status"}
    assert cred["ServiceName"] == BEDROCK and cred["UserName"] == "alice" and cred["Status"] == "Active"
    assert re.fullmatch(r"ACCA[A-Z0-9]{17}", cred["ServiceSpecificCredentialId"])
    assert cred["ExpirationDate"] - cred["CreateDate"] == dt.timedelta(days=180)
    key = cred["ServiceCredentialSecret"]
    _ok(key.startswith("ABSK"), "Bedrock key has the ABSK prefix")
    service_user, secret = base64.b64decode(key[4:]).decode().split(":", 1)
    assert service_user == "alice-at-123456789012" == cred["ServiceCredentialAlias"]
    _ok(len(secret) >= 20, "secret part has >= 20 characters")
    _ok(decode_long_term_key(key) == (service_user, secret), "decode_long_term_key splits the key")


@pytest.mark.parametrize("service", ["codecommit.amazonaws.com", "cassandra.amazonaws.com"])
def test_create_password_style_credential(iam, service):
    cred = _create(iam, service=service)
    assert cred["ServiceUserName"] == "alice-at-123456789012"
    _ok(len(cred["ServicePassword"]) >= 20, "ServicePassword has >= 20 characters")
    assert not {"ServiceCredentialSecret", "ServiceCredentialAlias"} & set(cred)
    assert "ExpirationDate" not in set(cred)


def test_no_age_means_never_expires(iam):
    cred = _create(iam)
    assert "ExpirationDate" not in set(cred)
    clock.advance(days=40000)
    listed = iam.list_service_specific_credentials(UserName="alice")["ServiceSpecificCredentials"]
    assert listed[0]["Status"] == "Active"


@pytest.mark.parametrize("days", [1, 36600])
def test_age_bounds_accepted(iam, days):
    cred = _create(iam, CredentialAgeDays=days)
    assert cred["ExpirationDate"] - cred["CreateDate"] == dt.timedelta(days=days)


@pytest.mark.parametrize("days", [0, -5, 36601])
def test_age_out_of_range_is_validation_error(emu, iam, days):
    # botocore would refuse 0/-5 client-side; the server must refuse them too.
    raw = emu.client("iam", config=botocore.config.Config(parameter_validation=False))
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        raw.create_service_specific_credential(UserName="alice", ServiceName=BEDROCK, CredentialAgeDays=days)
    assert _error(ei) == ("ValidationError", 400)
    assert iam.list_service_specific_credentials(UserName="alice")["ServiceSpecificCredentials"] == []


def test_age_days_refused_for_password_services(iam):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        _create(iam, service="codecommit.amazonaws.com", CredentialAgeDays=30)
    assert _error(ei) == ("InvalidInput", 400)


def test_unsupported_service(iam):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        _create(iam, service="s3.amazonaws.com")
    assert _error(ei) == ("NotSupportedService", 404)


def test_unknown_user(iam):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        _create(iam, user="nobody")
    assert _error(ei) == ("NoSuchEntity", 404)


def test_third_credential_for_service_and_user_is_limit_exceeded(iam):
    _create(iam)
    _create(iam)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        _create(iam)
    assert _error(ei) == ("LimitExceeded", 409)
    # the limit is per user and service
    _create(iam, service="codecommit.amazonaws.com")
    iam.create_user(UserName="bob")
    _create(iam, user="bob")
    assert len(iam.list_service_specific_credentials(UserName="alice", ServiceName=BEDROCK)["ServiceSpecificCredentials"]) == 2


# --------------------------------------------------------------------------- list
def test_list_never_returns_secrets(emu, iam):
    cred = _create(iam, CredentialAgeDays=30)
    _create(iam, service="codecommit.amazonaws.com")
    resp = iam.list_service_specific_credentials(UserName="alice")
    items = resp["ServiceSpecificCredentials"]
    assert resp["IsTruncated"] is False and "Marker" not in resp
    assert len(items) == 2
    for item in items:
        assert not {"ServiceCredentialSecret", "ServicePassword"} & set(item)
    bedrock = next(i for i in items if i["ServiceName"] == BEDROCK)
    assert bedrock["ServiceCredentialAlias"] == "alice-at-123456789012"
    assert bedrock["ExpirationDate"] == cred["ExpirationDate"]
    # and not anywhere on the wire either
    seen: list[bytes] = []
    raw = emu.client("iam", region_name="us-east-1")  # a fresh client: the handler must not leak
    raw.meta.events.register("after-call.iam.ListServiceSpecificCredentials",
                             lambda http_response, **_: seen.append(http_response.content))
    raw.list_service_specific_credentials(UserName="alice")
    secret = decode_long_term_key(cred["ServiceCredentialSecret"])[1]
    _ok(seen and secret.encode() not in seen[0] and not holds_key_head(seen[0]), "no secret on the List wire")


def test_list_service_filter_all_users_and_errors(iam):
    iam.create_user(UserName="bob")
    _create(iam)
    _create(iam, user="bob")
    _create(iam, user="bob", service="cassandra.amazonaws.com")
    assert len(iam.list_service_specific_credentials(UserName="bob")["ServiceSpecificCredentials"]) == 2
    only = iam.list_service_specific_credentials(UserName="bob", ServiceName=BEDROCK)["ServiceSpecificCredentials"]
    assert [c["ServiceName"] for c in only] == [BEDROCK]
    everyone = iam.list_service_specific_credentials(AllUsers=True, ServiceName=BEDROCK)["ServiceSpecificCredentials"]
    assert sorted(c["UserName"] for c in everyone) == ["alice", "bob"]
    assert len(iam.list_service_specific_credentials(AllUsers=True)["ServiceSpecificCredentials"]) == 3
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        iam.list_service_specific_credentials(UserName="nobody")
    assert _error(ei) == ("NoSuchEntity", 404)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        iam.list_service_specific_credentials(UserName="bob", AllUsers=True)
    assert _error(ei) == ("InvalidInput", 400)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        iam.list_service_specific_credentials(UserName="bob", ServiceName="s3.amazonaws.com")
    assert _error(ei) == ("NotSupportedService", 404)


def test_list_pagination_with_marker(iam):
    for i in range(5):
        iam.create_user(UserName=f"u{i}")
        _create(iam, user=f"u{i}")
    seen, marker, pages = [], None, 0
    while True:
        kw = {"AllUsers": True, "MaxItems": 2}
        if marker:
            kw["Marker"] = marker
        resp = iam.list_service_specific_credentials(**kw)
        pages += 1
        assert len(resp["ServiceSpecificCredentials"]) <= 2
        seen += [c["ServiceSpecificCredentialId"] for c in resp["ServiceSpecificCredentials"]]
        if not resp["IsTruncated"]:
            assert "Marker" not in resp
            break
        marker = resp["Marker"]
    assert pages == 3 and len(seen) == len(set(seen)) == 5


def test_list_max_items_out_of_range(emu, iam):
    raw = emu.client("iam", config=botocore.config.Config(parameter_validation=False))
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        raw.list_service_specific_credentials(UserName="alice", MaxItems=0)
    assert _error(ei) == ("ValidationError", 400)


# --------------------------------------------------------------------------- update / reset / delete
def test_update_status_and_lookup_follows(iam):
    cred = _create(iam, CredentialAgeDays=10)
    cid = cred["ServiceSpecificCredentialId"]
    iam.update_service_specific_credential(UserName="alice", ServiceSpecificCredentialId=cid, Status="Inactive")
    assert iam.list_service_specific_credentials(UserName="alice")["ServiceSpecificCredentials"][0]["Status"] == "Inactive"
    _ok(lookup_bedrock_key(cred["ServiceCredentialSecret"]).status == "Inactive", "lookup says Inactive")
    iam.update_service_specific_credential(UserName="alice", ServiceSpecificCredentialId=cid, Status="Active")
    _ok(lookup_bedrock_key(cred["ServiceCredentialSecret"]).status == "Active", "lookup says Active")


def test_update_errors(emu, iam):
    cid = _create(iam)["ServiceSpecificCredentialId"]
    iam.create_user(UserName="bob")
    for kw in ({"UserName": "alice", "ServiceSpecificCredentialId": "ACCA" + "X" * 17},
               {"UserName": "bob", "ServiceSpecificCredentialId": cid},
               {"UserName": "nobody", "ServiceSpecificCredentialId": cid}):
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            iam.update_service_specific_credential(Status="Inactive", **kw)
        assert _error(ei) == ("NoSuchEntity", 404)
    raw = emu.client("iam", config=botocore.config.Config(parameter_validation=False))
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        raw.update_service_specific_credential(UserName="alice", ServiceSpecificCredentialId=cid, Status="Expired")
    assert _error(ei) == ("ValidationError", 400)


def test_reset_gives_new_secret_and_kills_old_at_once(iam):
    cred = _create(iam, CredentialAgeDays=90)
    old = cred["ServiceCredentialSecret"]
    new = iam.reset_service_specific_credential(
        UserName="alice", ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"])["ServiceSpecificCredential"]
    assert new["ServiceSpecificCredentialId"] == cred["ServiceSpecificCredentialId"]
    assert new["CreateDate"] == cred["CreateDate"] and new["ExpirationDate"] == cred["ExpirationDate"]
    _ok(new["ServiceCredentialSecret"] != old, "reset gives a new key")
    _ok(lookup_bedrock_key(old) is None, "the old key is dead at once")
    _ok(lookup_bedrock_key(new["ServiceCredentialSecret"]).credential_id == cred["ServiceSpecificCredentialId"],
        "the new key belongs to the same credential")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        iam.reset_service_specific_credential(UserName="alice", ServiceSpecificCredentialId="ACCA" + "Y" * 17)
    assert _error(ei) == ("NoSuchEntity", 404)


def test_reset_password_style(iam):
    cred = _create(iam, service="codecommit.amazonaws.com")
    new = iam.reset_service_specific_credential(
        UserName="alice", ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"])["ServiceSpecificCredential"]
    _ok(new["ServicePassword"] != cred["ServicePassword"], "reset gives a new password")
    assert "ServiceCredentialSecret" not in set(new)


def test_delete(iam):
    cred = _create(iam)
    cid = cred["ServiceSpecificCredentialId"]
    iam.delete_service_specific_credential(UserName="alice", ServiceSpecificCredentialId=cid)
    assert iam.list_service_specific_credentials(UserName="alice")["ServiceSpecificCredentials"] == []
    _ok(lookup_bedrock_key(cred["ServiceCredentialSecret"]) is None, "a deleted key is unknown")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        iam.delete_service_specific_credential(UserName="alice", ServiceSpecificCredentialId=cid)
    assert _error(ei) == ("NoSuchEntity", 404)


def test_delete_user_refused_while_credentials_exist(iam):
    cred = _create(iam)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        iam.delete_user(UserName="alice")
    assert _error(ei) == ("DeleteConflict", 409)
    assert iam.get_user(UserName="alice")["User"]["UserName"] == "alice"
    iam.delete_service_specific_credential(UserName="alice", ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"])
    iam.delete_user(UserName="alice")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        iam.delete_user(UserName="alice")
    assert _error(ei) == ("NoSuchEntity", 404)


# --------------------------------------------------------------------------- expiry, clock, reset
def test_expired_is_derived_from_the_clock(emu, iam):
    cred = _create(iam, CredentialAgeDays=30)
    assert iam.list_service_specific_credentials(UserName="alice")["ServiceSpecificCredentials"][0]["Status"] == "Active"
    clock.advance(days=29)
    _ok(lookup_bedrock_key(cred["ServiceCredentialSecret"]).status == "Active", "Active one day before expiry")
    clock.advance(days=1, seconds=1)
    items = iam.list_service_specific_credentials(UserName="alice")["ServiceSpecificCredentials"]
    assert items[0]["Status"] == "Expired"
    _ok(lookup_bedrock_key(cred["ServiceCredentialSecret"]).status == "Expired", "lookup says Expired")
    # an Inactive key past its expiry reads Expired too, as in AWS's statusType
    iam.update_service_specific_credential(UserName="alice", ServiceSpecificCredentialId=items[0]["ServiceSpecificCredentialId"],
                                           Status="Inactive")
    assert iam.list_service_specific_credentials(UserName="alice")["ServiceSpecificCredentials"][0]["Status"] == "Expired"
    emu.reset()
    assert clock.offset() == dt.timedelta(0)


def test_emulator_reset_clears_credentials(emu, iam):
    cred = _create(iam)
    emu.reset()
    _ok(lookup_bedrock_key(cred["ServiceCredentialSecret"]) is None, "reset forgets every key")
    iam.create_user(UserName="alice")
    assert iam.list_service_specific_credentials(UserName="alice")["ServiceSpecificCredentials"] == []


# --------------------------------------------------------------------------- lookup API
def test_lookup_returns_the_credential(iam):
    cred = _create(iam, CredentialAgeDays=180)
    found = lookup_bedrock_key(cred["ServiceCredentialSecret"])
    assert found == KeyLookup(account_id="123456789012", partition="aws", user_name="alice",
                              credential_id=cred["ServiceSpecificCredentialId"], status="Active",
                              user_arn="arn:aws:iam::123456789012:user/alice")


def test_lookup_in_govcloud(emu):
    giam = emu.client("iam", "govcloud")
    giam.create_user(UserName="gov")
    cred = _create(giam, user="gov")
    found = lookup_bedrock_key(cred["ServiceCredentialSecret"])
    assert found.partition == "aws-us-gov" and found.account_id == "210987654321"
    assert found.user_arn == "arn:aws-us-gov:iam::210987654321:user/gov"
    # the commercial partition does not see it
    emu.client("iam").create_user(UserName="gov")
    assert emu.client("iam").list_service_specific_credentials(UserName="gov")["ServiceSpecificCredentials"] == []


def test_lookup_refuses_non_bedrock_and_tampered_keys(iam):
    cred = _create(iam)
    pw = _create(iam, service="codecommit.amazonaws.com")
    service_user, secret = decode_long_term_key(cred["ServiceCredentialSecret"])
    forged_pw = iam_ssc.encode_long_term_key(service_user, pw["ServicePassword"])
    other_account = iam_ssc.encode_long_term_key("alice-at-210987654321", secret)
    other_user = iam_ssc.encode_long_term_key("mallory-at-123456789012", secret)
    for i, key in enumerate((forged_pw, other_account, other_user, cred["ServiceCredentialSecret"][:-4] + "AAAA")):
        _ok(lookup_bedrock_key(key) is None, f"tampered key #{i} is refused")


@pytest.mark.parametrize("key", [
    "", "ABSK", "absk" + base64.b64encode(b"a-at-123456789012:s").decode(), "ABSK!!!notbase64",
    "ABSK" + base64.b64encode(b"no-colon-at-123456789012").decode(),
    "ABSK" + base64.b64encode(b"noat:secret").decode(),
    "ABSK" + base64.b64encode(b"a-at-12345:secret").decode(),
    "ABSK" + base64.b64encode(b"a-at-123456789012:").decode(),
    "ABSK" + base64.b64encode(b"\xff\xfe-at-123456789012:x").decode(),
    "bedrock-api-key-abcdefgh", None, 12345,
], ids=lambda k: "case")  # ids must not look like keys
def test_malformed_keys(key):
    _ok(decode_long_term_key(key) is None, "malformed key does not decode")
    _ok(lookup_bedrock_key(key) is None, "malformed key is unknown")


def test_decode_accepts_well_formed():
    key = iam_ssc.encode_long_term_key("bedrock-cross-partition-user-at-123456789012", "s3cr3t/+x")
    _ok(decode_long_term_key(key) == ("bedrock-cross-partition-user-at-123456789012", "s3cr3t/+x"), "well-formed key decodes")


# --------------------------------------------------------------------------- second key's alias
def test_second_key_gets_its_own_alias_and_the_key_encodes_it(emu, iam):
    first = _create(iam)
    second = _create(iam)
    assert first["ServiceCredentialAlias"] == "alice-at-123456789012"
    assert second["ServiceCredentialAlias"] == "alice+1-at-123456789012"
    for cred in (first, second):
        alias, _ = decode_long_term_key(cred["ServiceCredentialSecret"])
        _ok(alias == cred["ServiceCredentialAlias"], "the key encodes its own alias")
        _ok(lookup_bedrock_key(cred["ServiceCredentialSecret"]).credential_id == cred["ServiceSpecificCredentialId"],
            "each key finds its credential")
    listed = {c["ServiceSpecificCredentialId"]: c["ServiceCredentialAlias"]
              for c in iam.list_service_specific_credentials(UserName="alice")["ServiceSpecificCredentials"]}
    assert sorted(listed.values()) == ["alice+1-at-123456789012", "alice-at-123456789012"]
    # a reset keeps the alias; a deleted first key frees the plain alias for the next one
    reset = iam.reset_service_specific_credential(
        UserName="alice", ServiceSpecificCredentialId=second["ServiceSpecificCredentialId"])["ServiceSpecificCredential"]
    assert reset["ServiceCredentialAlias"] == "alice+1-at-123456789012"
    iam.delete_service_specific_credential(UserName="alice",
                                           ServiceSpecificCredentialId=first["ServiceSpecificCredentialId"])
    assert _create(iam)["ServiceCredentialAlias"] == "alice-at-123456789012"


def test_second_codecommit_credential_follows_awss_example(iam):
    _create(iam, service="codecommit.amazonaws.com")
    assert _create(iam, service="codecommit.amazonaws.com")["ServiceUserName"] == "alice+1-at-123456789012"
    assert _create(iam)["ServiceCredentialAlias"] == "alice-at-123456789012"  # per service
