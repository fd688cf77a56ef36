"""Bedrock API keys: their shape, what a long-term key's alias names, and the secret's region.

Nothing here calls AWS or keeps a fragment of a key in a local.
"""
from __future__ import annotations

import base64
import binascii
import functools
import re
from typing import Any

from bedrock_key_audit.inventory.models import DecodedKey, SecretText

LONG_TERM_PREFIX = "ABSK"
SHORT_TERM_PREFIX = "bedrock-api-key-"

# 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".  A value outside it cannot be
# sent as it is (httpx refuses non-ASCII header values, h11 refuses a newline) and no Bedrock
# key has that shape.  https://www.rfc-editor.org/rfc/rfc6750#section-2.1
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_LONG_TERM_SHAPE = re.compile(r"ABSK[A-Za-z0-9+/]+={0,2}")


def _reveal(key: str | SecretText) -> str:
    return key.reveal() if isinstance(key, SecretText) else key


def bearer_token_problem(key: str | SecretText) -> str | None:
    """Why ``key`` cannot be sent as a bearer token, in one clause that never quotes it; None if it can.

    Checks the RFC 6750 ``b64token`` syntax with ``fullmatch`` (no ``$``: it would accept a
    trailing newline).  The key stays in the argument: no fragment is bound to a local.
    """
    if _B64TOKEN.fullmatch(_reveal(key)):
        return None
    if _reveal(key) != _reveal(key).strip():
        return "has leading or trailing whitespace (a newline?); store the key without it"
    if not _reveal(key).isascii():
        return "contains non-ASCII characters, which no Bedrock API key has and no HTTP header can carry"
    if not _reveal(key):
        return "is empty"
    return "contains characters a bearer token cannot have (whitespace, control or punctuation characters)"


def _split_alias(raw: str) -> tuple[str, bool]:
    """(identity, has a secret part) of a decoded ``<alias>:<secret>``; the secret is never bound."""
    ident, sep, rest = raw.partition(":")
    return ident, bool(sep and rest)


def decode_key(key: str | SecretText) -> DecodedKey:
    """Parse a Bedrock API key without ever returning its secret part.

    Long-term keys are ``ABSK`` + base64(``<alias>:<secret>``) where the alias is
    ``<user>-at-<account>`` possibly with a suffix on the user part (third-party fact).  The
    whole key must have that shape (``fullmatch``): a key with surrounding whitespace or
    non-ASCII characters is ``unknown``, never an exception.  No partial key (the base64 body,
    the decoded text, the secret) is kept in a local of this frame, so ``pytest -l`` cannot
    print one.
    """
    if _reveal(key).startswith(SHORT_TERM_PREFIX):
        return DecodedKey("short-term")
    if not _LONG_TERM_SHAPE.fullmatch(_reveal(key)):
        return DecodedKey("unknown")
    try:
        ident, has_secret = _split_alias(base64.b64decode(
            _reveal(key)[len(LONG_TERM_PREFIX):] + "=" * (-(len(_reveal(key)) - len(LONG_TERM_PREFIX)) % 4),
            validate=True).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return DecodedKey("unknown")
    if not has_secret:
        return DecodedKey("unknown")
    m = re.match(r"^(?P<user>.+)-at-(?P<account>\d{12})\Z", ident)
    if not m:
        return DecodedKey("long-term", identity=ident)
    return DecodedKey("long-term", identity=ident, user_name=m["user"], account_id=m["account"])


@functools.lru_cache(maxsize=1)
def bedrock_commercial_regions() -> frozenset[str]:
    """The regions of the commercial partition (``aws``) where Amazon Bedrock is offered.

    Source: botocore's endpoint data (``botocore/data/endpoints.json``), read through
    ``botocore.regions.EndpointResolver.get_available_endpoints("bedrock", "aws")`` -- what
    ``boto3.session.Session().get_available_regions("bedrock", partition_name="aws")`` answers.
    Only real region names are kept (the resolver drops the ``bedrock-runtime-<region>`` and
    ``bedrock-fips-<region>`` host aliases).  ``bedrock-runtime`` has no entry of its own in
    that file (its endpoints come from rules), so the control plane's list stands for both.
    AWS's page: "Amazon Bedrock endpoints and quotas",
    https://docs.aws.amazon.com/general/latest/gr/bedrock.html
    """
    import botocore.loaders
    import botocore.regions

    from bedrock_key_audit import botocore_loader

    # the run's sessions' loader has parsed endpoints.json already (a new loader parses it again: ~0.1 s)
    loader = botocore_loader.current() or botocore.loaders.create_loader()
    resolver = botocore.regions.EndpointResolver(loader.load_data("endpoints"))
    return frozenset(resolver.get_available_endpoints("bedrock", "aws"))


def secret_region_problem(region: Any) -> str | None:
    """Why the secret's ``region`` is not one the workload can call Bedrock in; None when it is."""
    if not isinstance(region, str):
        return "region is not a string"
    if region not in bedrock_commercial_regions():
        return "region is not a commercial AWS region where Amazon Bedrock is offered (botocore's endpoint data)"
    return None
