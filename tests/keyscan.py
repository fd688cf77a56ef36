"""Is a Bedrock key's ``ABSK`` head in this text?  For tests that search output for a leaked key.

A bare ``"ABSK" in text`` also matches inside AWS's own unique ids: a service-specific credential id
(``ACCA…``) is a run of capital letters and digits that can hold those four letters, so such a test fails by
chance.  AWS unique ids ("IAM identifiers",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids) are
16+ capitals and digits; a key's base64 body holds lowercase letters, ``+``, ``/`` or ``=``.  Runs shaped like an
id are removed before the search, and nothing else is.
"""
from __future__ import annotations

import re

AWS_ID = re.compile(r"(?<![A-Za-z0-9+/])[A-Z0-9]{16,}(?![A-Za-z0-9+/=])")


def holds_key_head(text: str | bytes) -> bool:
    """``ABSK`` anywhere in ``text`` outside a run shaped like an AWS unique id."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    return "ABSK" in AWS_ID.sub("", text)
