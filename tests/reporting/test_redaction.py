"""A planted key reaches none of the run's artifacts nor the terminal.

The canary is an ``ABSK…`` long-term key and a ``Bearer …`` header, planted in a local
variable (shown by ``-l``), the frames of a check that errors inside httpx with a non-ASCII
variant of the key (httpx's own locals then hold the whole header), an assertion message, a log record (with and without an
exception), a print, an exception raised by a fixture, a warning, a junit property, a
pytest-html extra, and a check's evidence payload.  The run fails, runs with ``-l -rA -vv``,
live logging and ``--evidence``; then every file under the reports directory — archive
members and the HTML's base64 ``data:`` URIs included — and the terminal output are searched
for any recognisable fragment of either secret.
"""
from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from bedrock_key_audit.redaction import LoggingRedaction, redact_longrepr, redact_obj, redact_terminal, redact_text
from tests.keyscan import holds_key_head

SECRET = "cnry" + secrets.token_hex(20)
KEY = "ABSK" + base64.b64encode(f"bedrock-canary-at-123456789012:{SECRET}".encode()).decode()
# the key with one non-ASCII character inside: a redaction that stops at it prints the tail
ODD_KEY = KEY[:24] + "é" + KEY[24:]
TOKEN = "tok" + secrets.token_hex(16)
BEARER = f"Bearer {TOKEN}"


def fragments() -> list[str]:
    """Pieces of the secrets that must never show: the key, its base64 body and tail, the token."""
    body = KEY[4:]
    return [KEY, body[8:40], body[-24:], SECRET, TOKEN]


CANARY_MODULE = f'''
import json, logging, warnings
import pytest

KEY = {KEY!r}
ODD_KEY = {ODD_KEY!r}
BEARER = {BEARER!r}
log = logging.getLogger("bedrock_audit.canary")


@pytest.mark.check("secret.key_matches_credential")
def test_check_erroring_in_httpx_with_a_non_ascii_key(check):
    import httpx

    key = KEY
    odd = ODD_KEY
    headers = {{"Authorization": "Bearer " + odd, "X-Key": key}}
    with httpx.Client() as client:
        # UnicodeEncodeError inside httpx: every frame down there holds the header value
        client.build_request("GET", "http://127.0.0.1:9/foundation-models", headers=headers)


@pytest.mark.check("secret.schema")
def test_check_with_key_everywhere(check, extras, record_property):
    from pytest_html import extras as html_extras

    key = KEY
    headers = {{"Authorization": BEARER, "X-Trace": "t"}}
    # report.html's "What was audited" prints the secret and user ARNs it finds in resources
    check.resource = ("arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:s-AbCdEf -> "
                      "arn:aws:iam::123456789012:user/" + key)
    check.evidence("secretsmanager:GetSecretValue", {{
        "SecretString": json.dumps({{"api_key": key}}), "Note": "the value was " + key,
        "Request": {{"headers": headers}}, "Raw": "auth: " + BEARER}})
    print("printing", key, BEARER)
    log.warning("using key %s with %s", key, BEARER)
    try:
        raise ValueError("bad key " + key)
    except ValueError:
        log.exception("lookup failed")
    warnings.warn("deprecated key " + key)
    record_property("leaky", key)
    extras.append(html_extras.text("extra " + key + " " + BEARER, name="leaky extra"))
    check.require(key.startswith("nope"), f"the stored key {{key}} does not match (sent {{BEARER}})")


@pytest.fixture
def broken_inventory():
    raise RuntimeError("endpoint answered 500 to " + BEARER + " for " + KEY)


@pytest.mark.check("secret.exists")
def test_check_whose_fixture_breaks(check, broken_inventory):
    check.passed("never")


def test_plain_assert_with_locals():
    key = KEY
    blob = {{"filler": "x" * 300, "key": KEY}}  # saferepr cuts this to head...tail
    header = BEARER
    assert key == "expected", f"got {{key}} and {{header}}"


@pytest.fixture
def leaky_fixture():
    token = BEARER
    raise ConnectionError(f"refused with {{token}}")


def test_error_in_setup(leaky_fixture):
    pass
'''


def _texts_of(path: Path) -> list[str]:
    """The file's text, its archive members' texts, and any base64 data: URIs inside it."""
    raw = path.read_bytes()
    out = []
    if path.name.endswith(".tar.gz"):
        with tarfile.open(path) as tar:
            for m in tar.getmembers():
                if m.isfile():
                    out.append(tar.extractfile(m).read().decode("utf-8", "replace"))
    else:
        out.append(raw.decode("utf-8", "replace"))
    decoded = []
    for text in out:
        for b64 in re.findall(r"base64,([A-Za-z0-9+/=]+)", text):
            try:
                decoded.append(base64.b64decode(b64).decode("utf-8", "replace"))
            except ValueError:
                pass
    return out + decoded


def test_canary_leaks_into_no_artifact_and_not_the_terminal(audit_dir):
    audit_dir.pytester.makepyfile(test_canary=CANARY_MODULE)
    sign: list[str] = []
    if shutil.which("ssh-keygen"):  # the signature joins the haystack where OpenSSH is installed
        key = audit_dir.path / "signing-key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30)
        sign = [f"--sign-key={key}"]
    res = audit_dir.run("-l", "-rA", "-vv", "--evidence", *sign, "--log-cli-level=INFO", "-W", "default")
    assert res.ret == pytest.ExitCode.TESTS_FAILED
    run = audit_dir.latest()
    files = [p for p in audit_dir.reports.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"report.html", "results.json", "junit.xml", "manifest.json", "run.json",
            f"evidence-{run.name}.tar.gz", "findings.ocsf.json", "assessment-results.json"} <= names
    assert not sign or "manifest.json.sig" in names
    terminal = res.stdout.str() + "\n" + res.stderr.str()

    # the plants were really there (so the test can fail): redaction marks show where they were
    assert "***REDACTED***" in terminal
    assert "Captured log call" in terminal and "lookup failed" in terminal
    assert "deprecated key" in terminal
    assert "got ***REDACTED***" in terminal
    # the erroring check's traceback, with httpx's locals, was really printed (and redacted)
    assert "UnicodeEncodeError" in terminal and re.search(r"\bodd\s+= '\*\*\*REDACTED", terminal)
    html = (run / "report.html").read_text()
    assert "leaky extra" in html
    posture = html[html.index("id='bka-posture'"):html.index("id='bka-controls'")]
    assert "secret:s-AbCdEf" in posture  # the new section printed this row's resource (the key part is gone)

    haystacks = [(str(p), t) for p in files for t in _texts_of(p)] + [("terminal", terminal)]
    leaks = [(where, frag) for where, text in haystacks for frag in fragments() if frag in text]
    assert not leaks, f"secret fragments found in: {sorted({w for w, _ in leaks})}"

    ev = run / "evidence" / "checks" / "secret.schema.json"
    assert "***REDACTED***" in ev.read_text()
    # the verdict sentence carried the key: the OCSF and OSCAL documents hold it redacted
    for doc in (run / "findings.ocsf.json", run / "evidence" / "findings.ocsf.json",
                run / "evidence" / "oscal" / "assessment-results.json"):
        assert "***REDACTED***" in doc.read_text(), doc


def test_terminal_redaction_catches_saferepr_fragments():
    from _pytest._io.saferepr import saferepr

    cut = saferepr({"filler": "x" * 300, "key": KEY}, maxsize=240)
    assert "..." in cut and KEY[-20:] in cut  # the tail survives pytest's shortening
    clean = redact_terminal(cut)
    assert not any(f in clean for f in fragments())
    head = saferepr(KEY + "y" * 400, maxsize=40)
    assert not any(f in redact_terminal(head) for f in fragments()[:1])
    assert "ABSK" not in redact_terminal(head)


def test_longrepr_is_redacted_in_place_keeping_its_structure():
    from _pytest._code.code import ExceptionInfo

    def boom(secret=KEY):
        raise ValueError("bad " + secret)

    try:
        boom()
    except ValueError:
        info = ExceptionInfo.from_current()
    rep = info.getrepr(showlocals=True, style="long")
    out = redact_longrepr(rep)
    assert out is rep  # the same object: terminal colours and reprcrash survive
    text = str(out)
    assert "bad ***REDACTED***" in text and not any(f in text for f in fragments())
    assert out.reprcrash.message == "ValueError: bad ***REDACTED***"


def test_log_records_are_redacted_at_birth(caplog):
    before = logging.getLogRecordFactory()
    redaction = LoggingRedaction()
    redaction.install()
    try:
        logger = logging.getLogger("bedrock_audit.test")
        with caplog.at_level(logging.INFO):
            logger.info("key %s and %s", KEY, BEARER)
            try:
                raise KeyError(KEY)
            except KeyError:
                logger.exception("failed")
    finally:
        redaction.uninstall()
    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "key ***REDACTED*** and Bearer ***REDACTED***" in text
    assert "KeyError" in text
    assert not any(f in text for f in fragments())
    assert logging.getLogRecordFactory() is before
    assert redaction.filter not in logging.getLogger().filters


@pytest.mark.parametrize("prose", [
    "the bearer call by key-user was refused",
    "Bearer tokens are accepted on both endpoints",
    "a long-term key's bearer calls carry bedrock:BearerTokenType",
    "lacks bedrock:CallWithBearerToken (denied by inline policy deny-bearer (via group no-keys))",
])
def test_prose_after_bearer_stays_readable(prose):
    assert redact_text(prose) == prose


@pytest.mark.parametrize("token", [
    KEY, ODD_KEY, TOKEN, "bedrock-api-key-" + base64.b64encode(b"short-term:" + SECRET.encode()).decode(),
    base64.b64encode(SECRET.encode()).decode()[:20],  # a bare base64 body of 20 characters
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",  # a JWT
    "dGVzdA==", "Ab3defgh",  # short, but token-shaped: a base64 sign or a digit
], ids=["key", "odd-key", "token", "short-term-key", "base64-body", "jwt", "short-base64", "short-with-digit"])
def test_every_token_shape_after_bearer_is_still_masked(token):
    for text in (f"Authorization: Bearer {token}", f"sent bearer {token}, refused", f'{{"auth": "Bearer {token}"}}'):
        out = redact_text(text)
        assert token not in out and "***REDACTED***" in out
        assert not any(f in out for f in fragments() if f in token)


@pytest.mark.parametrize("text", [
    "deleted ACCA1QM7KGFKABSK12345678 (inactive)",  # a service-specific credential id holding the four letters
    "user AIDAABSKXYZ0123456789 has no key",
])
def test_an_aws_id_holding_absk_stays_readable(text):
    """A log must still name the credential it deleted: an all-capitals id is not a key's head."""
    assert redact_text(text) == text and redact_terminal(text) == text


@pytest.mark.parametrize("glue", ["", "ACCA", "x", "%3A", "Bearer ", "AIDAQ1"])
def test_a_key_glued_to_anything_is_still_masked(glue):
    """A key right after capitals, digits, lowercase, a URL escape or a header: its body has lowercase, +, / or =."""
    for redact in (redact_text, redact_terminal):
        out = redact(f"{glue}{KEY} tail")
        assert SECRET not in out and KEY[4:20] not in out, glue


def test_the_key_scan_of_the_tests_ignores_ids_and_finds_keys():
    assert not holds_key_head("ACCA1QM7KGFKABSK12345678, AIDAABSKXYZ0123456789")
    assert holds_key_head(f"x {KEY}") and holds_key_head(f"ACCA{KEY}") and holds_key_head(b"'ABSKQm...'")


@pytest.fixture
def seen_key():
    """A key the tool has read (through the call layer's answer hook), forgotten afterwards."""
    from bedrock_key_audit.aws import remember_keys
    from bedrock_key_audit.redaction import known

    remember_keys({"SecretString": '{"bedrock_api_key": "%s"}' % KEY})
    yield KEY
    known.forget_all()


def _pieces(text: str) -> list[str]:
    """The 12-character pieces of the secret part and of the key's body still in ``text``."""
    body = KEY[4:]
    return [p for src in (SECRET, body[44:]) for p in (src[i:i + 12] for i in range(len(src) - 11)) if p in text]


def test_a_piece_of_a_seen_key_is_masked_wherever_it_turns_up(seen_key):
    """pytest's diff of two keys that share the user's prefix prints each from a few characters before the first
    difference, with no ABSK: every such piece, the decoded secret, the bare body and a wrapped key are masked."""
    other = KEY[:60] + ("A" if KEY[60] != "A" else "B") + KEY[61:]
    diff = f"E   - {KEY[50:]}\nE   + {other[50:]}\nE   ? {' ' * 10}^"
    decoded = f"raw = b'bedrock-canary-at-123456789012:{SECRET}'"
    wrapped = "\n".join(KEY[i:i + 40] for i in range(0, len(KEY), 40))
    for text in (diff, decoded, f"body = {KEY[4:]!r}", wrapped, f"{KEY[70:]}"):
        for redact in (redact_text, redact_terminal):
            assert not _pieces(redact(text)), redact(text).replace(SECRET, "<secret>")
    assert not _pieces(str(redact_obj({KEY: 1, "keys": {KEY}, "t": (KEY[30:],)})))


def test_the_public_alias_of_a_seen_key_stays_readable(seen_key):
    text = "credential ACCA1QM7KGFK0EXAMPLE alias bedrock-canary-at-123456789012, 2 keys"
    assert redact_text(text) == text and redact_terminal(text) == text


@pytest.mark.parametrize("text", [
    "Deleted credential ACCAQ2ABSK3EXAMPLE7Z.", "ACCAQ2ABSK3EXAMPLE7Z: Inactive", "reports/ACCAQ2ABSK3EXAMPLE7Z/x.json",
    "?ServiceSpecificCredentialId=ACCAQ2ABSK3EXAMPLE7Z&UserName=bob", "AROAABSKXYZ0123456789:session",
    "ACCAQ2ABSK3EXAMPLE7Z-row", "'ACCAQ2ABSK3EXAMPLE7Z...'",
])
def test_an_id_holding_absk_stays_readable_whatever_follows_it(text):
    assert redact_text(text) == text and redact_terminal(text) == text


@pytest.mark.parametrize("pad", ["", "x", "xy"])
def test_the_base64_of_public_text_is_not_masked_after_a_key_is_seen(seen_key, pad):
    """The key's body encodes its public alias first; only the characters that encode secret bytes are remembered,
    so an evidence document naming the same user and account, base64-encoded at any alignment, stays intact."""
    doc = pad + json.dumps({"user": "bedrock-canary", "alias": "bedrock-canary-at-123456789012",
                            "account": "123456789012", "partition": "govcloud"})
    uri = base64.b64encode(doc.encode()).decode()
    assert redact_text(uri) == uri


def test_an_id_stored_beside_the_key_stays_readable(seen_key):
    from bedrock_key_audit.aws import remember_keys

    remember_keys({"SecretString": json.dumps({"bedrock_api_key": KEY, "credential_id": "ACCAQ2ABSK3EXAMPLE7Z"})})
    assert redact_text("deleted ACCAQ2ABSK3EXAMPLE7Z.") == "deleted ACCAQ2ABSK3EXAMPLE7Z."


def test_a_key_stored_as_bytes_or_escaped_is_remembered():
    from bedrock_key_audit.aws import remember_keys
    from bedrock_key_audit.redaction import known

    try:
        remember_keys({"SecretBinary": KEY.encode()})
        assert SECRET not in redact_text(f"secret={SECRET}")
        known.forget_all()
        remember_keys({"SecretString": json.dumps({"k": KEY}).replace("/", "\\/")})
        assert SECRET not in redact_text(f"secret={SECRET}")
    finally:
        known.forget_all()


def _lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), text)


def test_a_seen_key_percent_encoded_another_way_reaches_no_artifact(pytester):
    """The emulator's real key, read by the audit from its secret, also stands percent-encoded in text AWS hands
    back verbatim (the secret's description, in the evidence of secret.exists), without its ``ABSK`` head and
    encoded as other encoders write it: ``/`` kept (Python's ``quote``) and lower-case hex (RFC 3986 section 2.1
    allows both cases), and plain.  No 12-character piece of its secret part or of the body characters encoding it reaches
    any file of the run, once the file's percent-encoding is undone."""
    import io
    import urllib.parse

    from bedrock_key_audit.redaction import known
    from tests.audit.helpers import CHECKS, ROOT, _AfterScenario

    seen: dict[str, str] = {}
    user, sid = "bedrock-cross-partition-user", "cross-partition-commercial-creds"

    def plant(emu):
        iam, sm = emu.client("iam"), emu.client("secretsmanager", "govcloud")
        doc = json.loads(sm.get_secret_value(SecretId=sid)["SecretString"])
        cred = iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"][0]
        key = doc["bedrock_api_key"]
        while not ("+" in _secret_part(key) and "/" in _secret_part(key)):  # something to percent-encode
            key = iam.reset_service_specific_credential(
                UserName=user, ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"],
            )["ServiceSpecificCredential"]["ServiceCredentialSecret"]
        sm.put_secret_value(SecretId=sid, SecretString=json.dumps(dict(doc, bedrock_api_key=key)))
        seen["key"] = key
        forms = [f(text) for text in (_secret_part(key), key[4:]) for f in (
            lambda t: urllib.parse.quote(t, safe="/"), lambda t: _lower_hex(urllib.parse.quote(t, safe="/")),
            lambda t: _lower_hex(urllib.parse.quote(t, safe="")))]
        forms.append(_secret_part(key)[5:])  # and plain, as pytest's diff of two keys prints a piece
        sm.update_secret(SecretId=sid, Description="rotate: " + " ".join(f"?k={f}&" for f in forms))

    reports = pytester.path / "reports"
    try:
        pytester.inline_run(str(CHECKS), "--emulate=guide", "--evidence", f"--reports-dir={reports}",
                            "-k", "secret.exists or secret.schema", "-p", "no:cacheprovider", f"--rootdir={ROOT}",
                            "-c", str(ROOT / "pyproject.toml"), plugins=[_AfterScenario(plant)])
    finally:
        known.forget_all()
    key = seen["key"]
    body = key[4:].rstrip("=")
    colon = base64.b64decode(body + "=" * (-len(body) % 4)).index(b":")
    pieces = {s[i:i + 12] for s in (_secret_part(key), body[-(-(colon + 1) // 3) * 4:]) for i in range(len(s) - 11)}
    files = {p.relative_to(reports).as_posix(): p.read_bytes() for p in reports.rglob("*") if p.is_file()}
    for name, data in list(files.items()):
        if name.endswith(".tar.gz"):
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                for m in tar.getmembers():
                    fh = tar.extractfile(m)
                    if fh is not None:
                        files[f"{name}!{m.name}"] = fh.read()
    holding = {name.rpartition("/")[2] for name, data in files.items() if b"rotate: " in data}
    assert {"snapshot.json", "secret.exists.json"} <= holding, holding
    for name, data in files.items():
        text = urllib.parse.unquote(data.decode("utf-8", "replace"))
        leaked = [p for p in pieces if p in text]
        assert not leaked, f"{name} holds {len(leaked)} piece(s) of the key"


def _secret_part(key: str) -> str:
    body = key[4:]
    return base64.b64decode(body + "=" * (-len(body) % 4)).decode().partition(":")[2]


def _every_pattern(text: str) -> str:
    """``redact_text`` without its skip of patterns whose literals the text lacks (the reference)."""
    from bedrock_key_audit.redaction import known
    from bedrock_key_audit.redaction.patterns import MASK, TEXT_PATTERNS
    text = known.mask(text)
    for pat in TEXT_PATTERNS:
        text = pat.sub((lambda m: m.group(1) + MASK) if pat.groups else MASK, text)
    return text


def test_each_pattern_names_literals_it_cannot_match_without():
    from bedrock_key_audit.redaction.patterns import (
        TERMINAL_PATTERN_NEEDS,
        TERMINAL_PATTERNS,
        TEXT_PATTERN_NEEDS,
        TEXT_PATTERNS,
    )
    assert len(TEXT_PATTERN_NEEDS) == len(TEXT_PATTERNS) and len(TERMINAL_PATTERN_NEEDS) == len(TERMINAL_PATTERNS)
    for pat, (ignore_case, literals) in [*zip(TEXT_PATTERNS, TEXT_PATTERN_NEEDS, strict=True),
                                         *zip(TERMINAL_PATTERNS, TERMINAL_PATTERN_NEEDS, strict=True)]:
        assert bool(pat.flags & re.IGNORECASE) == ignore_case
        assert all(lit == lit.lower() for lit in literals) or not ignore_case
        source = (pat.pattern.lower() if ignore_case else pat.pattern).replace("\\.", ".")
        assert all(lit in source for lit in literals)


@pytest.mark.parametrize("text", [
    "Authorization: Bearer abcdefghijklmnopqrstuvwxyz", "BEARER 12345678abc", "bEaReR x/y+z=12345678",
    "{'SecretString': 'hunter2'}", '"SERVICEPASSWORD": "p4ss"', "bedrock_API_KEY=abc", "ſecretString: 'x'",
    "SecretAcceſsKey=abc", "\u212aey ServicePassword=x", "ABSKQmVkcm9ja0FQSUtleS1hdC0xMjM0NTY3ODkwMTI6c2VjcmV0",
    "é ABSKQmVkcm9ja0FQSUtleS1hdC0xMjM0NTY3ODkwMTI6c2VjcmV0", "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t",
    "s3:GetObject", "iam:PassRole", "arn:aws:iam::123456789012:user/bob", "", "bearer", "<td>bearer</td>",
])
def test_skipping_patterns_a_text_cannot_match_changes_nothing(text):
    from bedrock_key_audit.redaction.patterns import MASK, TERMINAL_PATTERNS
    big = " ".join([text] * 3 + ["bedrock:InvokeModel"] * 500)
    for t in (text, big, "xx..." + text[-20:], "ABSKab..." + text):
        assert redact_text(t) == _every_pattern(t)
        expected = _every_pattern(t)
        for pat in TERMINAL_PATTERNS:
            expected = pat.sub(MASK, expected)
        assert redact_terminal(t) == expected


def test_a_large_record_redacts_as_each_of_its_strings_does():
    """``redact_obj`` looks plain strings up in its cache directly: the same result as one ``redact_text`` each."""
    key = "ABSKQmVkcm9ja0FQSUtleS1hdC0xMjM0NTY3ODkwMTI6c2VjcmV0"
    record: dict[str, object] = {
        "extra_actions": [{"action": f"svc{i}:Action{i}", "note": f"Bearer {key}", "n": i, "Password": "pw",
                           "tags": (f"t{i}", b"raw", None)} for i in range(30000)],
        "long": "x" * 300 + key, key: [key]}
    out = redact_obj(record)
    assert out["extra_actions"][29999] == {"action": "svc29999:Action29999", "note": redact_text(f"Bearer {key}"),
                                           "n": 29999, "Password": "***REDACTED***",
                                           "tags": ["t29999", "***REDACTED***", None]}
    assert out["long"] == redact_text(str(record["long"])) and key not in json.dumps(out)
