"""Clients of fixtures/aws.py: the S3 Control loopback rewrite, and client creation racing pytest's os.environ changes."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from bedrock_key_audit.envrace import made_despite_env_changes
from bedrock_key_audit.aws import _loopback_s3control


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



def test_a_client_made_while_pytest_pops_an_environment_variable_is_made_again():
    # botocore and httpx iterate os.environ for proxies while pytest's main thread pops PYTEST_CURRENT_TEST
    calls = []

    def make():
        calls.append(1)
        if len(calls) == 1:
            raise KeyError("PYTEST_CURRENT_TEST")
        return "client"

    assert made_despite_env_changes(make) == "client" and len(calls) == 2


def test_a_key_error_that_persists_is_not_hidden():
    def make():
        raise KeyError("always")

    with pytest.raises(KeyError):
        made_despite_env_changes(make)




def test_a_made_client_is_not_waited_for_while_another_is_being_made():
    import threading

    from bedrock_key_audit.aws import Aws, CallLog

    started, release = threading.Event(), threading.Event()

    class Session:
        def client(self, service, region_name, config):
            if service == "ec2":  # a slow first client (its model parsed)
                started.set()
                assert release.wait(10)
            events = SimpleNamespace(register=lambda *a, **k: None, register_first=lambda *a, **k: None)
            return SimpleNamespace(meta=SimpleNamespace(events=events, service_model=SimpleNamespace(service_name=service)))

    cfg = SimpleNamespace(region=lambda p: "us-east-1", profile=lambda p: None)
    aws = Aws(cfg, CallLog(), emulated=True)  # type: ignore[arg-type]
    aws.session = lambda partition: Session()  # type: ignore[method-assign]
    iam = aws.client("iam", "commercial")
    slow = threading.Thread(target=aws.client, args=("ec2", "commercial"))
    slow.start()
    try:
        assert started.wait(10)
        got: list[object] = []
        lookup = threading.Thread(target=lambda: got.append(aws.client("iam", "commercial")))
        lookup.start()
        lookup.join(5)
        assert got == [iam], "the lookup of a made client waited for the EC2 client being made"
    finally:
        release.set()
        slow.join(10)
    assert aws.client("ec2", "commercial") is aws.client("ec2", "commercial")
