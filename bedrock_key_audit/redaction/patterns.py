"""Every pattern that says what a secret looks like, in one place.

The long-term key format (``ABSK`` + base64) is a third-party fact (see
../shared/reference/aws-facts.md); it is matched loosely on purpose.  This package is a leaf:
it imports only the standard library, so the audit, the reports and the emulator can all use it.
"""
from __future__ import annotations

import re

MASK = "***REDACTED***"

# Field names whose values are secrets wherever they appear (AWS responses, our configs).
SECRET_FIELDS = frozenset(
    {
        "ServiceCredentialSecret",
        "ServicePassword",
        "SecretString",
        "SecretBinary",
        "SecretAccessKey",
        "SessionToken",
        "Password",
        "bedrock_api_key",
        "authorization",
        "Authorization",
        "aws_secret_access_key",
        "aws_session_token",
    }
)

# The rest of a key-shaped token: everything up to a character that ends a token in text, a
# repr, JSON or a header.  Not just the base64 alphabet: a key with a stray character (non-ASCII,
# "%", a repr escape such as "\x85") must be masked whole, not only up to that character, or its
# base64 tail is printed (``key = '***REDACTED***é<tail>'`` under ``pytest -l``).
TOKEN_REST = r"""[^\s"'`<>,;(){}\[\]|]"""

# Where a key's ``ABSK`` head starts.  AWS's own unique ids (``ACCA…`` service-specific credential ids, ``AIDA…``
# user ids: "IAM identifiers", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids)
# are runs of capital letters and digits that can hold the four letters ``ABSK``; such a run is left alone so the
# id a log names stays readable, whatever follows it (``.``, ``:session``, ``/path``, ``&``).  Everything else is
# masked: an ``ABSK`` not glued to a capital or a digit, and an ``ABSK`` whose run of capitals and digits goes on
# into a lowercase letter, ``+`` or ``=``, as a key's base64 body does.
KEY_HEAD = r"""(?:(?<![A-Z0-9])ABSK|ABSK(?=[A-Z0-9]*[a-z+=]))"""

# Patterns for any text.  A pattern with a group keeps group 1 (the label) and masks the rest.
TEXT_PATTERNS = [
    # long-term Bedrock API key: ABSK + base64 (the base64 of "<user>-at-<account>:<secret>")
    re.compile(KEY_HEAD + TOKEN_REST + r"{8,}"),
    # short-term Bedrock API key
    re.compile(r"bedrock-api-key-" + TOKEN_REST + r"{8,}"),
    # a token after "Bearer" (not the end of a name such as "deny-bearer (via …"): token-shaped text only,
    # i.e. a run of 20+ characters (every base64 key body, JWT or opaque token of that size), or of 8+ that
    # holds a digit or a base64 sign (+/=); prose such as "a bearer call by the user" stays readable.  The
    # Bedrock keys themselves (ABSK…, bedrock-api-key-…) are masked by the two patterns above wherever they
    # stand, after "Bearer" or not.
    re.compile(r"(?i)((?<![\w-])bearer[ \t]+)(?!\()"
               r"(?=[^\s\"',}]{20}|(?=[^\s\"',}]{8})[^\s\"',}]*[0-9+/=])[^\s\"',}]+"),
    # a SecretString / ServicePassword etc. rendered inside text (JSON or repr)
    re.compile(
        r"(?i)([\"']?(?:ServiceCredentialSecret|ServicePassword|SecretString|SecretAccessKey|bedrock_api_key)[\"']?\s*[:=]\s*)"
        r"(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[^\s,}]+)"
    ),
]

# What each of ``TEXT_PATTERNS`` cannot match without, in order: (case-insensitive, literals of which a match holds
# one).  ``redact_text`` skips a pattern on text holding none of them (a long evidence document: thousands of
# action names), which changes nothing; tests/reporting/test_redaction.py checks every literal against its pattern.
TEXT_PATTERN_NEEDS: list[tuple[bool, tuple[str, ...]]] = [
    (False, ("ABSK",)),
    (False, ("bedrock-api-key-",)),
    (True, ("bearer",)),
    (True, ("servicecredentialsecret", "servicepassword", "secretstring", "secretaccesskey", "bedrock_api_key")),
]

# pytest's ``saferepr`` shortens long reprs to head + ``...`` + tail, so a key inside a long
# dict can appear as a bare base64 tail with no ``ABSK`` prefix; terminal text therefore gets
# these two patterns on top of ``TEXT_PATTERNS``.
TERMINAL_PATTERNS = [
    # an ABSK head cut short by saferepr ("ABSKabc...")
    re.compile(KEY_HEAD + TOKEN_REST + r"+"),
    # a key tail left after saferepr's elision ("...dGVzdA==", also past a non-ASCII character)
    re.compile(r"(?<=\.\.\.)" + TOKEN_REST + r"{6,}"),
]

# What each of ``TERMINAL_PATTERNS`` cannot match without, as ``TEXT_PATTERN_NEEDS``.
TERMINAL_PATTERN_NEEDS: list[tuple[bool, tuple[str, ...]]] = [
    (False, ("ABSK",)),
    (False, ("...",)),
]
