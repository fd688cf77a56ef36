"""botocore's data loader shared by every session of the run: service models and endpoint data are read
and parsed once (about 0.1 s of CPU and tens of MB each time otherwise), not once per partition, account
or helper.  Standard library only at import, so the pure helpers that read botocore's endpoint data
(inventory/keys.py) may use it."""
from __future__ import annotations

import json
import os
import threading
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
    ``.json.gz`` / ``.json`` order, same ``None`` for a missing one."""

    def exists(self, file_path: str) -> bool:
        return any(os.path.isfile(file_path + ext) for ext in _EXTENSIONS)

    def load_file(self, file_path: str) -> Any:
        for ext in _EXTENSIONS:
            path = file_path + ext
            if not os.path.isfile(path):
                continue
            if ext == ".json.gz":
                import gzip

                with gzip.open(path, "rb") as fp:
                    return json.loads(fp.read().decode("utf-8"))
            with open(path, "rb") as fp:
                return json.loads(fp.read().decode("utf-8"))
        return None


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
            _LOADER = loader
        return _LOADER


def current() -> Any:
    """The shared loader, or None before the first session."""
    return _LOADER
