"""Review classes of defect, each built on the emulator with boto3 and audited for real:
every credential type on the key-only user, the secret's CMK state, and a rotation's
AWSPENDING proof for two Active keys.  (CloudTrail's security-trail cases are in
test_trails_hostile.py; units for all of them in tests/audit/test_*_units.py.)
"""
from __future__ import annotations

import datetime as dt
import json
import uuid

from tests.hostile.helpers import BEDROCK, SECRET, USER, audit, expect


def _self_signed_cert() -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "audit-test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _ssh_public_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def test_every_other_credential_type_fails_the_key_only_user(pytester):
    """Signing certificate, SSH key, a CodeCommit credential and an *inactive* access key: each
    named; the user's Bedrock keys are not counted here."""
    def setup(emu):
        iam = emu.client("iam")
        cert = iam.upload_signing_certificate(UserName=USER, CertificateBody=_self_signed_cert())["Certificate"]
        ssh = iam.upload_ssh_public_key(UserName=USER, SSHPublicKeyBody=_ssh_public_key())["SSHPublicKey"]
        cc = iam.create_service_specific_credential(UserName=USER, ServiceName="codecommit.amazonaws.com")
        ak = iam.create_access_key(UserName=USER)["AccessKey"]
        iam.update_access_key(UserName=USER, AccessKeyId=ak["AccessKeyId"], Status="Inactive")
        ids.update(cert=cert["CertificateId"], ssh=ssh["SSHPublicKeyId"], ak=ak["AccessKeyId"],
                   cc=cc["ServiceSpecificCredential"]["ServiceSpecificCredentialId"])

    ids: dict[str, str] = {}
    rows = audit(pytester, setup)
    expect(rows, {"iam.user_no_other_credentials": ("fail", "key-only user")})
    detail = rows["iam.user_no_other_credentials"]["detail"]
    for phrase in (f"X.509 signing certificate {ids['cert'][:8]}", f"SSH public key {ids['ssh'][:8]}",
                   f"codecommit.amazonaws.com credential {ids['cc'][:8]}", f"inactive access key {ids['ak'][:8]}",
                   "an inactive one can be switched back on"):
        assert phrase in detail, (phrase, detail)
    assert "bedrock.amazonaws.com" not in detail


def test_secret_cmk_disabled_then_pending_deletion(pytester):
    """A disabled CMK fails; a CMK pending deletion fails naming its DeletionDate."""
    seen: dict[str, object] = {}

    def key_of(emu):
        sm = emu.client("secretsmanager", "govcloud")
        kms = emu.client("kms", "govcloud")
        return kms, kms.describe_key(KeyId=sm.describe_secret(SecretId=SECRET)["KmsKeyId"])["KeyMetadata"]["KeyId"]

    def disable(emu):
        kms, key = key_of(emu)
        kms.disable_key(KeyId=key)

    rows = audit(pytester, disable)
    # A disabled key also makes GetSecretValue fail in AWS; the emulator (moto) still decrypts,
    # so only the CMK row changes here.
    assert rows["secret.encrypted_with_cmk"]["status"] == "fail"
    assert "whose state is Disabled" in rows["secret.encrypted_with_cmk"]["detail"]

    def schedule(emu):
        kms, key = key_of(emu)
        seen["date"] = kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)["DeletionDate"]

    rows = audit(pytester, schedule)
    detail = rows["secret.encrypted_with_cmk"]["detail"]
    assert rows["secret.encrypted_with_cmk"]["status"] == "fail"
    assert f"pending deletion (deleted on {seen['date']:%Y-%m-%d}" in detail and "cancel-key-deletion" in detail


def _second_key_pending(emu, token=None, same_as_current=False):
    """A rotation half done: a second Active key whose key is written to AWSPENDING."""
    iam = emu.client("iam")
    made = iam.create_service_specific_credential(UserName=USER, ServiceName=BEDROCK, CredentialAgeDays=180)
    made = made["ServiceSpecificCredential"]
    sm = emu.client("secretsmanager", "govcloud")
    current = sm.get_secret_value(SecretId=SECRET)["SecretString"]
    value = current if same_as_current else json.dumps({**json.loads(current),
                                                         "bedrock_api_key": made["ServiceCredentialSecret"]})
    token = token(made["ServiceSpecificCredentialId"]) if token else uuid.uuid4().hex + "-x"
    sm.put_secret_value(SecretId=SECRET, SecretString=value, VersionStages=["AWSPENDING"], ClientRequestToken=token)
    return made


def test_rotation_in_progress_proven_by_the_pending_version(pytester):
    """The rotation's own version id (<credential id>-<hex>) names the new key: two Active keys pass."""
    rows = audit(pytester, lambda emu: _second_key_pending(emu, token=lambda cid: f"{cid}-{uuid.uuid4().hex}"))
    expect(rows, {})
    assert "AWSPENDING holds the new key" in rows["credential.single_active"]["detail"]


def test_pending_version_without_a_credential_name(pytester):
    """A random version id: proven only if IAM gives the two keys different aliases
    (``user+1-at-account`` for the second, as AWS documents for CodeCommit); with one shared
    alias the audit cannot tell which key AWSPENDING holds and says so (error, never pass)."""
    aliases = {}

    def setup(emu):
        _second_key_pending(emu)
        creds = emu.client("iam").list_service_specific_credentials(UserName=USER, ServiceName=BEDROCK)
        aliases["distinct"] = len({c["ServiceCredentialAlias"] for c in creds["ServiceSpecificCredentials"]}) == 2

    rows = audit(pytester, setup)
    if aliases["distinct"]:
        expect(rows, {})
    else:
        expect(rows, {"credential.single_active": ("error", "cannot tell which key it is")})


def test_pending_copy_of_the_current_key_is_not_a_rotation(pytester):
    rows = audit(pytester, lambda emu: _second_key_pending(emu, token=lambda cid: f"{cid}-{uuid.uuid4().hex}",
                                                           same_as_current=True))
    expect(rows, {"credential.single_active": ("fail", "holds the same key as AWSCURRENT")})
