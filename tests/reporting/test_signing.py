"""--sign-key: manifest.json signed with ssh-keygen -Y sign; verified by the stock tool and by
verify-evidence, which names what changed when any byte of the bundle or the signature does."""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from bedrock_key_audit.reporting import signing
from bedrock_key_audit.reporting import verify as verify_mod

ROOT = Path(__file__).resolve().parents[2]
SSH_KEYGEN = shutil.which("ssh-keygen")
pytestmark = pytest.mark.skipif(SSH_KEYGEN is None, reason="OpenSSH ssh-keygen is not installed")

AUDIT = '''
import pytest

@pytest.mark.check("cloudtrail.log_file_validation")
def test_validation(check):
    check.resource = "arn:aws:cloudtrail:us-east-1:123456789012:trail/main"
    check.evidence("cloudtrail:DescribeTrails", {"trailList": [{"Name": "main", "LogFileValidationEnabled": True}]})
    check.passed("trail main validates its log files")

@pytest.mark.check("cloudtrail.kms")
def test_kms(check):
    check.resource = "arn:aws:cloudtrail:us-east-1:123456789012:trail/main"
    check.require(False, "trail main has no KMS key")
'''


def _keygen(path: Path, comment: str = "auditee", passphrase: str = "") -> Path:
    subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", passphrase, "-C", comment, "-f", str(path)],
                   check=True, capture_output=True, timeout=30)
    return path


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    key, other = _keygen(d / "signer"), _keygen(d / "other")
    allowed = d / "allowed_signers"
    allowed.write_text(f'auditee namespaces="{signing.NAMESPACE}" {(d / "signer.pub").read_text().strip()}\n')
    wrong = d / "wrong_signers"
    wrong.write_text(f'auditee namespaces="{signing.NAMESPACE}" {(d / "other.pub").read_text().strip()}\n')
    return {"key": key, "other": other, "allowed": allowed, "wrong": wrong, "dir": d,
            "fpr": signing.check_key(key)[1]}


@pytest.fixture
def signed(audit_dir, keys):
    audit_dir.pytester.makepyfile(test_audit=AUDIT)
    res = audit_dir.run("--evidence", f"--sign-key={keys['key']}")
    assert res.ret == pytest.ExitCode.TESTS_FAILED, res.stdout.str()
    return audit_dir.latest()


def _main(capsys, *args: str) -> tuple[int, str]:
    code = verify_mod.main([str(a) for a in args])
    cap = capsys.readouterr()
    return code, cap.out + cap.err


def test_signed_bundle_verifies_with_the_stock_tool_and_ours(signed, keys, capsys):
    ev = signed / "evidence"
    assert (ev / "manifest.json.sig").read_text().startswith("-----BEGIN SSH SIGNATURE-----")
    manifest = json.loads((ev / "manifest.json").read_text())
    assert manifest["signature"] == {"file": "manifest.json.sig", "namespace": signing.NAMESPACE,
                                     "key_fingerprint": keys["fpr"]}
    with (ev / "manifest.json").open("rb") as fh:
        stock = subprocess.run([SSH_KEYGEN, "-Y", "verify", "-f", str(keys["allowed"]), "-I", "auditee",
                                "-n", signing.NAMESPACE, "-s", str(ev / "manifest.json.sig")],
                               stdin=fh, capture_output=True, text=True, timeout=30)
    assert stock.returncode == 0 and keys["fpr"] in stock.stdout, stock.stdout + stock.stderr

    archive = signed / f"evidence-{signed.name}.tar.gz"
    with tarfile.open(archive) as tar:
        assert "evidence/manifest.json.sig" in tar.getnames()
    for target in (archive, ev, signed):
        code, out = _main(capsys, target, "--allowed-signers", keys["allowed"])
        assert code == 0, out
        assert f'good signature by "auditee" with ED25519 key {keys["fpr"]}' in out
        assert f"signed by key {keys['fpr']}" in out
    code, out = _main(capsys, ev, "--public-key", keys["dir"] / "signer.pub", "--identity", "auditee")
    assert code == 0 and keys["fpr"] in out, out
    code, out = _main(capsys, ev)  # no signer given: intact, but says the signer was not checked
    assert code == 0 and "signer NOT checked" in out and keys["fpr"] in out, out


def test_a_signer_not_in_allowed_signers_fails(signed, keys, capsys):
    code, out = _main(capsys, signed / "evidence", "--allowed-signers", keys["wrong"])
    assert code == 1
    assert f"signing key {keys['fpr']} is not in" in out


def _flip(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if offset is None else offset
    data[i] = (data[i] + 1) % 256 if chr(data[i]) not in "\n" else data[i]
    if bytes(data) == path.read_bytes():
        data[i - 1] = (data[i - 1] + 1) % 256
    path.write_bytes(bytes(data))


def test_one_changed_byte_in_any_file_or_the_signature_fails_and_is_named(signed, keys, tmp_path, capsys):
    ev = signed / "evidence"
    files = sorted(p.relative_to(ev).as_posix() for p in ev.rglob("*") if p.is_file())
    assert {"manifest.json", "manifest.json.sig", "findings.ocsf.json", "oscal/assessment-results.json"} <= set(files)
    for rel in files:
        copy = tmp_path / rel.replace("/", "_")
        shutil.copytree(ev, copy)
        _flip(copy / rel)
        code, out = _main(capsys, copy, "--allowed-signers", keys["allowed"])
        assert code != 0, f"{rel}: one changed byte still verifies\n{out}"
        if rel in ("manifest.json", "manifest.json.sig"):
            # the signature no longer matches, or the manifest no longer parses (exit 2, named)
            assert ("changed: manifest.json or manifest.json.sig (signature does not verify" in out
                    or (code == 2 and "manifest.json" in out)), out
        else:
            assert f"changed: {rel}" in out, out


def test_a_tampered_signature_in_the_archive_fails(signed, keys, tmp_path, capsys):
    archive = signed / f"evidence-{signed.name}.tar.gz"
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(archive) as tin, tarfile.open(bad, "w:gz") as tout:
        for m in tin.getmembers():
            data = tin.extractfile(m).read()
            if m.name == "evidence/manifest.json.sig":
                lines = data.split(b"\n")
                body = bytearray(lines[3])
                body[10] = ord("A") if body[10] != ord("A") else ord("B")
                lines[3] = bytes(body)
                data = b"\n".join(lines)
            info = tarfile.TarInfo(m.name)
            info.size = len(data)
            tout.addfile(info, io.BytesIO(data))
    code, out = _main(capsys, bad, "--allowed-signers", keys["allowed"])
    assert code == 1
    assert "changed: manifest.json or manifest.json.sig (signature does not verify" in out


def test_a_removed_signature_is_missing_even_without_a_signer_list(signed, capsys):
    (signed / "evidence" / "manifest.json.sig").unlink()
    code, out = _main(capsys, signed / "evidence")
    assert code == 1
    assert "missing: manifest.json.sig" in out and "removed" in out


def test_unsigned_bundle_verifies_and_says_unsigned_unless_a_signer_is_required(audit_dir, keys, capsys):
    audit_dir.pytester.makepyfile(test_audit=AUDIT)
    audit_dir.run("--evidence")
    ev = audit_dir.latest() / "evidence"
    code, out = _main(capsys, ev)
    assert code == 0 and "unsigned" in out, out
    code, out = _main(capsys, ev, "--allowed-signers", keys["allowed"])
    assert code == 1 and "unsigned, but a signer was required" in out
    # a signature planted next to an unsigned manifest is not taken as one
    shutil.copyfile(keys["key"], ev / "manifest.json.sig")
    code, out = _main(capsys, ev)
    assert code == 1 and "added: manifest.json.sig" in out


def test_verify_evidence_script_checks_the_signature(signed, keys):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run([str(ROOT / "scripts" / "verify-evidence"), str(signed), "--allowed-signers",
                          str(keys["allowed"])], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert keys["fpr"] in res.stdout


def _usage(audit_dir, *args: str) -> str:
    audit_dir.pytester.makepyfile(test_audit=AUDIT)
    res = audit_dir.run(*args)
    assert res.ret == pytest.ExitCode.USAGE_ERROR, res.stdout.str()
    assert not audit_dir.reports.exists() or not any(audit_dir.reports.iterdir())
    err = [ln for ln in res.stderr.str().splitlines() if ln.strip()]
    assert len(err) == 1, err
    return err[0]


def test_sign_key_bad_input_is_a_one_line_usage_error_and_writes_nothing(audit_dir, keys, tmp_path):
    garbage = tmp_path / "garbage"
    garbage.write_text("not a key\n")
    locked = _keygen(tmp_path / "locked", passphrase="correct horse")
    too_open = tmp_path / "too_open"
    shutil.copyfile(keys["key"], too_open)
    too_open.chmod(0o644)
    unreadable = tmp_path / "unreadable"
    shutil.copyfile(keys["key"], unreadable)
    cases = {
        "no such file": ("--evidence", f"--sign-key={tmp_path / 'nope'}"),
        "not a file": ("--evidence", f"--sign-key={tmp_path}"),
        "not a private key": ("--evidence", f"--sign-key={keys['dir'] / 'signer.pub'}"),
        "not a private key ": ("--evidence", f"--sign-key={garbage}"),
        "passphrase-protected": ("--evidence", f"--sign-key={locked}"),
        "add --evidence": (f"--sign-key={keys['key']}",),
        "chmod 600": ("--evidence", f"--sign-key={too_open}"),
    }
    if os.geteuid() != 0:  # root reads any file
        unreadable.chmod(0)
        cases["cannot read it"] = ("--evidence", f"--sign-key={unreadable}")
    for expected, args in cases.items():
        line = _usage(audit_dir, *args)
        assert expected.strip() in line and "--sign-key" in line, line
