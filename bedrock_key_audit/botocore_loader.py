"""botocore's data loader shared by every session of the run: service models and endpoint data are read
and parsed once (about 0.1 s of CPU and tens of MB each time otherwise), not once per partition, account
or helper.  Standard library only at import, so the pure helpers that read botocore's endpoint data
(inventory/keys.py) may use it."""
from __future__ import annotations

import hashlib
import json
import marshal
import os
import stat
import sys
import tempfile
import threading
import time
from typing import Any

_LOADER: Any = None
_LOCK = threading.Lock()


class DictFileLoader:
    """botocore's ``JSONFileLoader`` (the ``file_loader`` a ``botocore.loaders.Loader`` takes), decoding
    into plain dicts instead of ``OrderedDict``: botocore's own decodes every object of a model through
    ``object_pairs_hook=OrderedDict``, which doubles the CPU of parsing it (EC2's 4 MB model: 90-110 ms
    against 40-55 ms, measured with botocore 1.44; the run's models and endpoint data together are
    0.3-0.5 s of CPU in the audit phase, under the GIL).  A dict keeps insertion order (Python 3.7+), so
    shapes, members and rules keep the order of the file, and botocore orders nothing it loads by any
    other means (no ``move_to_end``/``popitem``, no type test for ``OrderedDict``).  Same files, same
    ``.json.gz`` / ``.json`` order, same ``None`` for a missing one.  A file decoded once is kept,
    marshalled, in the user's cache directory (:func:`_cached_decode`)."""

    def exists(self, file_path: str) -> bool:
        return any(os.path.isfile(file_path + ext) for ext in _EXTENSIONS)

    def load_file(self, file_path: str) -> Any:
        for ext in _EXTENSIONS:
            path = file_path + ext
            try:
                st = os.stat(path)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            cached = _cached_decode(path, st)
            if cached is not None:
                return cached
            if ext == ".json.gz":
                import gzip

                with gzip.open(path, "rb") as fp:
                    data = json.loads(fp.read().decode("utf-8"))
            else:
                with open(path, "rb") as fp:
                    data = json.loads(fp.read().decode("utf-8"))
            _keep_decoded(path, st, data)
            return data
        return None


def _cache_dir() -> str:
    """``$XDG_CACHE_HOME/bedrock-key-audit`` (``~/.cache/bedrock-key-audit`` by default), as the IAM
    catalogue's extract (``bedrock_key_audit.policy``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "bedrock-key-audit", "botocore-data")


#: bumped when what :func:`_keep_decoded` writes changes, so an older file is not read
_CACHE_FORMAT = 1


def _cache_path(path: str, st: os.stat_result) -> str:
    # the data file's path, size and modification time, and the interpreter (marshal's format is the
    # interpreter's own: "not guaranteed across Python versions", https://docs.python.org/3/library/marshal.html)
    ident = f"{os.path.realpath(path)}\0{st.st_size}\0{st.st_mtime_ns}\0{sys.implementation.cache_tag}\0" \
            f"{marshal.version}\0{_CACHE_FORMAT}".encode()
    return os.path.join(_cache_dir(), hashlib.sha256(ident).hexdigest()[:32] + ".marshal")


def _cached_decode(path: str, st: os.stat_result) -> Any:
    """The decoded data of ``path`` kept by an earlier run (:func:`_keep_decoded`), else None.

    botocore's model and endpoint files are gzipped JSON; decoding them is most of a first client's CPU
    (gunzip and ``json.loads`` of the run's 24 files: about 0.45 s, under the GIL, in the audit phase).
    ``marshal`` reads the same dicts, lists and scalars back in about 40 % of that.  Only a mapping or a
    list is accepted (what botocore's files hold); an unreadable file is ignored and decoded from JSON."""
    try:
        with open(_cache_path(path, st), "rb") as fp:
            got = marshal.loads(fp.read())
            used = os.fstat(fp.fileno()).st_mtime
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not isinstance(got, (dict, list)):
        return None
    if time.time() - used > _TOUCH_AFTER_S:  # in use: kept by :func:`_prune` (at most one write a file a day)
        try:
            os.utime(_cache_path(path, st))
        except OSError:
            pass
    return got


#: a kept file not read for this long is deleted when the next one is written (:func:`_prune`): files of an
#: older botocore or Python are never read again, ~8 MB a version
_UNUSED_FOR_S = 30 * 86400
_TOUCH_AFTER_S = 86400
_pruned = False  # once a process


def _prune(directory: str) -> None:
    """Delete the kept files of ``directory`` no run has read for :data:`_UNUSED_FOR_S` (a read refreshes a file's
    modification time, :func:`_cached_decode`).  Runs once a process, when a file is written, that is after botocore or
    Python changed, not at every run."""
    global _pruned
    if _pruned:
        return
    _pruned = True
    cutoff = time.time() - _UNUSED_FOR_S
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.name.endswith(".marshal") and entry.is_file(follow_symlinks=False) \
                    and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
        except OSError:
            pass


def _keep_decoded(path: str, st: os.stat_result, data: Any) -> None:
    """Keep ``data`` (decoded from ``path``) for the next run: written whole or not at all (another
    process may be reading it); a cache directory that cannot be written is skipped."""
    tmp: str | None = None
    try:
        target = _cache_path(path, st)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".botocore-data-")
        with os.fdopen(fd, "wb") as fp:
            fp.write(marshal.dumps(data))
        os.replace(tmp, target)
        tmp = None
        _prune(os.path.dirname(target))
    except (OSError, ValueError):
        pass
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


#: the extensions botocore's JSONFileLoader tries, in its order (``botocore.loaders._JSON_OPEN_METHODS``)
_EXTENSIONS = (".json", ".json.gz")


def adopt(loader: Any) -> Any:
    """The shared loader: ``loader`` when none is shared yet (it becomes the shared one, reading its
    files with :class:`DictFileLoader`)."""
    global _LOADER
    with _LOCK:
        if _LOADER is None:
            import botocore.loaders

            if type(getattr(loader, "file_loader", None)) is botocore.loaders.JSONFileLoader:
                loader.file_loader = DictFileLoader()
                loader.list_available_services = _ServiceIndex(loader)
            _LOADER = loader
        return _LOADER


class _ServiceIndex:
    """``Loader.list_available_services(type_name)`` answered from one walk of the search paths.

    botocore's walks every service directory (about 450) and stats each API version's file for each
    ``type_name`` it is asked about (``service-2``, ``endpoint-rule-set-1``, ``paginators-1``, ...): 15-25 ms
    of CPU each, several in the audit phase.  This walk lists each version directory once and answers every
    type from it: the services with a ``<type_name>.json`` or ``.json.gz`` regular file in some version
    directory (what :meth:`DictFileLoader.exists` tests), sorted, as botocore returns them.  Walked again when
    the search paths change."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader
        self._index: tuple[tuple[str, ...], dict[str, set[str]]] | None = None
        self._lock = threading.Lock()

    def _walk(self, paths: tuple[str, ...]) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for root in paths:
            if not os.path.isdir(root):
                continue
            for service in os.listdir(root):
                service_dir = os.path.join(root, service)
                if not os.path.isdir(service_dir):
                    continue
                for version in os.listdir(service_dir):
                    try:
                        entries = list(os.scandir(os.path.join(service_dir, version)))
                    except OSError:
                        continue  # not a directory: botocore finds no file under it either
                    for entry in entries:
                        for ext in _EXTENSIONS:
                            if entry.name.endswith(ext) and entry.is_file():
                                found.setdefault(entry.name[:-len(ext)], set()).add(service)
        return found

    def __call__(self, type_name: str) -> list[str]:
        paths = tuple(self._loader.search_paths)
        with self._lock:
            if self._index is None or self._index[0] != paths:
                self._index = (paths, self._walk(paths))
            return sorted(self._index[1].get(type_name, ()))


def current() -> Any:
    """The shared loader, or None before the first session."""
    return _LOADER

