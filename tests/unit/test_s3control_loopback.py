"""S3 Control's account-prefixed host: rewritten for an emulator on loopback, never for AWS."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from bedrock_key_audit.fixtures.aws import _loopback_s3control


@pytest.mark.parametrize("url, want", [
    ("http://123456789012.127.0.0.1:5000/v20180820/configuration/publicAccessBlock",
     "http://127.0.0.1:5000/v20180820/configuration/publicAccessBlock"),
    ("https://123456789012.localhost/v20180820/x", "https://localhost/v20180820/x"),
    # AWS's own hosts, and loopback without an account prefix, are left alone
    ("https://123456789012.s3-control.us-east-1.amazonaws.com/v20180820/x",
     "https://123456789012.s3-control.us-east-1.amazonaws.com/v20180820/x"),
    ("http://127.0.0.1:5000/v20180820/x", "http://127.0.0.1:5000/v20180820/x"),
    ("http://123456789012.127.0.0.1.example.com/x", "http://123456789012.127.0.0.1.example.com/x"),
])
def test_only_an_account_prefixed_loopback_host_is_rewritten(url, want):
    request = SimpleNamespace(url=url)
    _loopback_s3control(request)
    assert request.url == want
