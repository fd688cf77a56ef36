"""The run's shared botocore loader reads the same data as botocore's own file loader, in plain dicts."""
from __future__ import annotations

import glob
import json
import os
from collections import OrderedDict
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
