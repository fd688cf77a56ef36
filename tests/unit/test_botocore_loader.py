"""The run's shared botocore loader reads the same data as botocore's own file loader, in plain dicts."""
from __future__ import annotations

import glob
import json
import os
import re
from collections import OrderedDict
from types import SimpleNamespace
from typing import Any

import botocore.loaders
import pytest

from bedrock_key_audit import botocore_loader
from bedrock_key_audit.botocore_loader import DictFileLoader

DATA = os.path.join(os.path.dirname(botocore.loaders.__file__), "data")
# services of each protocol the audit calls (query, rest-xml, json), and the files every session reads
SERVICES = ("sts", "ec2", "iam", "cloudtrail", "s3", "secretsmanager")


def _same(a: Any, b: Any) -> bool:
    """Equal, with every mapping's keys in the same order (an OrderedDict of botocore's loader against a dict
    of ours): the JSON texts are the same, and json writes a mapping's keys in its order."""
    return a == b and json.dumps(a) == json.dumps(b)


def _bases() -> list[str]:
    # each service's newest API version, the one botocore loads
    files = [f for s in SERVICES for f in glob.glob(f"{sorted(glob.glob(f'{DATA}/{s}/*/'))[-1]}*.json*")]
    return sorted({f.removesuffix(".gz").removesuffix(".json") for f in files}) + [
        f"{DATA}/{name}" for name in ("endpoints", "partitions", "sdk-default-configuration", "_retry")]


def test_every_file_the_audit_loads_decodes_as_botocores_own_loader_does() -> None:
    ours, theirs = DictFileLoader(), botocore.loaders.JSONFileLoader()
    bases = _bases()
    assert len(bases) > 20
    for base in bases:
        got, want = ours.load_file(base), theirs.load_file(base)
        assert _same(want, got), base
        assert ours.exists(base) == theirs.exists(base)
    assert not isinstance(ours.load_file(f"{DATA}/ec2/2016-11-15/service-2")["shapes"], OrderedDict)


def test_a_missing_file_is_none_as_with_botocore() -> None:
    ours = DictFileLoader()
    assert ours.load_file(f"{DATA}/no-such-service/service-2") is None
    assert not ours.exists(f"{DATA}/no-such-service/service-2")


def test_the_shared_loader_reads_with_dicts_unless_someone_chose_another_file_loader(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(botocore_loader, "_LOADER", None)
    own = botocore.loaders.create_loader()
    assert botocore_loader.adopt(own) is own
    assert isinstance(own.file_loader, DictFileLoader)
    assert botocore_loader.adopt(botocore.loaders.create_loader()) is own  # the first one stays shared
    model = own.load_service_model("cloudtrail", "service-2")
    assert "LookupEvents" in model["operations"]

    class Custom(botocore.loaders.JSONFileLoader):  # type: ignore[misc]  # botocore ships no types
        pass

    monkeypatch.setattr(botocore_loader, "_LOADER", None)
    custom = botocore.loaders.Loader(file_loader=Custom())
    botocore_loader.adopt(custom)
    assert isinstance(custom.file_loader, Custom)


def test_the_shared_loader_lists_the_services_of_each_type_as_botocore_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(botocore_loader, "_LOADER", None)
    ours = botocore_loader.adopt(botocore.loaders.create_loader())
    theirs = botocore.loaders.create_loader()
    types = {f.removesuffix(".gz").removesuffix(".json") for f in os.listdir(f"{sorted(glob.glob(f'{DATA}/s3/*/'))[-1]}")}
    assert {"service-2", "endpoint-rule-set-1", "paginators-1", "waiters-2"} <= types
    for type_name in sorted(types | {"no-such-type"}):
        assert ours.list_available_services(type_name) == theirs.list_available_services(type_name), type_name
    assert "cloudtrail" in ours.list_available_services("service-2")


def test_a_decoded_file_is_kept_and_read_back_the_same(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    base = f"{sorted(glob.glob(f'{DATA}/cloudtrail/*/'))[-1]}service-2"
    first = DictFileLoader().load_file(base)
    kept = list((tmp_path / "bedrock-key-audit" / "botocore-data").iterdir())
    assert len(kept) == 1 and kept[0].suffix == ".marshal"
    again = DictFileLoader().load_file(base)
    assert again is not first and _same(first, again)
    assert _same(botocore.loaders.JSONFileLoader().load_file(base), again)
    kept[0].write_bytes(b"\x00not marshal")  # unreadable: decoded from the JSON again
    assert _same(first, DictFileLoader().load_file(base))


def test_kept_files_no_run_read_for_a_month_are_deleted_when_one_is_written(monkeypatch: pytest.MonkeyPatch,
                                                                            tmp_path: Any) -> None:
    """Files of an older botocore are never read again: the next write deletes them; a file read now is refreshed
    and stays."""
    import time

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(botocore_loader, "_pruned", False)
    kept_dir = tmp_path / "bedrock-key-audit" / "botocore-data"
    used = f"{sorted(glob.glob(f'{DATA}/sts/*/'))[-1]}service-2"
    DictFileLoader().load_file(used)
    [used_file] = list(kept_dir.iterdir())
    stale, other = kept_dir / ("0" * 32 + ".marshal"), kept_dir / "notes.txt"
    stale.write_bytes(b"old botocore")
    other.write_text("not ours")
    month_ago = time.time() - 31 * 86400
    for p in (used_file, stale, other):
        os.utime(p, (month_ago, month_ago))
    DictFileLoader().load_file(used)  # read: refreshed
    assert used_file.stat().st_mtime > month_ago + 86400
    monkeypatch.setattr(botocore_loader, "_pruned", False)  # a new process
    DictFileLoader().load_file(f"{sorted(glob.glob(f'{DATA}/iam/*/'))[-1]}service-2")  # written: prunes
    names = {p.name for p in kept_dir.iterdir()}
    assert stale.name not in names and {used_file.name, other.name} <= names and len(names) == 3


def test_a_cache_directory_that_cannot_be_made_is_skipped(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    base = f"{sorted(glob.glob(f'{DATA}/sts/*/'))[-1]}service-2"
    assert _same(botocore.loaders.JSONFileLoader().load_file(base), DictFileLoader().load_file(base))


def _requests(client: Any, calls: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, str, list[tuple[str, str]], bytes]]:
    """What ``client`` sends for ``calls``: method, URL, headers (without the signature, its date and the
    per-request invocation id) and body, captured as botocore sends them (``before-send``).  The user agent's
    feature ids (``m/a,b``) are sorted: botocore writes them from a set, in no defined order."""
    sent: list[tuple[str, str, list[tuple[str, str]], bytes]] = []
    varying = {"authorization", "x-amz-date", "amz-sdk-invocation-id"}

    def capture(request: Any, **_: Any) -> None:
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        headers = {k.lower(): v.decode() if isinstance(v, bytes) else str(v) for k, v in request.headers.items()
                   if k.lower() not in varying}
        headers["user-agent"] = re.sub(r"(?<= m/)[^ ]+", lambda m: ",".join(sorted(m.group(0).split(","))),
                                       headers["user-agent"])
        sent.append((request.method, request.url, sorted(headers.items()), body))

    client.meta.events.register("before-send", capture)
    for operation, params in calls:
        getattr(client, xform(operation))(**params)
    client.meta.events.unregister("before-send", capture)
    return sent


def xform(operation: str) -> str:
    from botocore import xform_name

    return str(xform_name(operation))


def test_clients_sharing_a_model_and_class_send_what_botocores_own_clients_send(
        emu: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run's clients reuse each service's model and client class (``share_client_parts``); requests of a
    second client of a service (another Region) equal, byte for byte apart from the signature, its date and
    the invocation id, those of a client botocore builds alone; each keeps its own Region, endpoint,
    configuration and event handlers."""
    import boto3

    from bedrock_key_audit.aws import Aws, CallLog

    for k, v in emu.env().items():
        monkeypatch.setenv(k, v)
    emu.apply("compliant")
    cfg: Any = SimpleNamespace(region=lambda p: "us-east-1", profile=lambda p: None)
    aws = Aws(cfg, CallLog(), emulated=True)
    calls: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "cloudtrail": [("LookupEvents", {"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "u"}],
                                         "MaxResults": 5}), ("DescribeTrails", {})],
        "iam": [("ListUsers", {}), ("GetAccountSummary", {})],
        "s3": [("ListBuckets", {})],
        "kms": [("ListKeys", {"Limit": 5})],
    }
    for service, ops in calls.items():
        first = aws.client(service, "commercial", "us-east-1")
        shared = aws.client(service, "commercial", "eu-west-1")
        assert type(shared) is type(first) and shared.meta.service_model is first.meta.service_model
        assert shared.meta.events is not first.meta.events and shared.meta.region_name == "eu-west-1"
        assert shared.meta.config.retries == {"mode": "standard", "total_max_attempts": 5}  # max_attempts 4 retries
        assert shared.meta.config.read_timeout == 20 and shared.meta.config.max_pool_connections == 50
        # the same two clients of a session of botocore's own (its own loader: nothing shared)
        plain = boto3.Session(region_name="us-east-1")
        plain.client(service, region_name="us-east-1", config=aws.botocore_config)
        alone = plain.client(service, region_name="eu-west-1", config=aws.botocore_config)
        assert botocore_loader.current() is not alone._loader and type(alone) is not type(shared)
        assert _requests(shared, ops) == _requests(alone, ops), service


def test_a_shared_clients_retries_are_its_own(emu: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's standard retry mode (``max_attempts`` 4) applies to a client that reuses its service's
    model and class: a throttled call is retried on that client, and answered."""
    from bedrock_key_audit.aws import Aws, CallLog
    from bedrock_key_audit.emulator import aws_faults

    for k, v in emu.env().items():
        monkeypatch.setenv(k, v)
    cfg: Any = SimpleNamespace(region=lambda p: "us-east-1", profile=lambda p: None)
    aws = Aws(cfg, CallLog(), emulated=True)
    aws.client("cloudtrail", "commercial", "us-east-1").describe_trails()
    shared = aws.client("cloudtrail", "commercial", "us-west-2")
    aws_faults.throttle("cloudtrail:DescribeTrails", n=2)
    try:
        resp = shared.describe_trails()
    finally:
        aws_faults.reset()
    assert resp["ResponseMetadata"]["RetryAttempts"] == 2
