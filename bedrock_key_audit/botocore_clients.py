"""Clients of the run's shared botocore loader (:mod:`bedrock_key_audit.botocore_loader`) reuse, per service, what
botocore builds again for every client: the service model, the client class and the aliased event names."""
from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from bedrock_key_audit import botocore_loader

_MODELS: "weakref.WeakKeyDictionary[Any, dict[tuple[str, str | None], Any]]" = weakref.WeakKeyDictionary()
_CLASSES: "weakref.WeakKeyDictionary[Any, dict[tuple[str, int], type]]" = weakref.WeakKeyDictionary()
_PARTS_LOCK = threading.Lock()
#: event name -> its name after botocore's aliases (``botocore.hooks.EVENT_ALIASES``), shared by the clients
_ALIASED: dict[str, str] = {}


def _shared(cache: Any, owner: Any, key: Any, build: Callable[[], Any]) -> Any:
    """``cache[owner][key]``, built by ``build()`` outside the lock the first time; when two threads build it at
    once, the first stored wins and both return it."""
    with _PARTS_LOCK:
        got = cache.get(owner, {}).get(key)
    if got is None:
        got = build()
        with _PARTS_LOCK:
            got = cache.setdefault(owner, {}).setdefault(key, got)
    return got


def share_client_parts() -> None:
    """Make every client of a session reading through the shared loader
    (:func:`bedrock_key_audit.botocore_loader.adopt`) reuse, per service, the ``botocore.model.ServiceModel``
    and the generated client class its first client built.

    botocore's ``ClientCreator.create_client`` builds both again for each client: the class by generating one
    method per operation and emitting ``creating-client-class`` (boto3's handlers add their methods there),
    the model with empty caches, so each client's first call of an operation resolves its operation model
    and shapes again.  The audit makes one client per Region for some services (CloudTrail's LookupEvents in
    every enabled Region: 16 clients), one at a time (:class:`bedrock_key_audit.aws.Aws`), while the other
    reads wait for theirs.  Neither object holds anything of one client: a ``ServiceModel`` wraps the
    loader's parsed model (the same dict for every client already) with caches of what it derives from it;
    the class holds the operation methods (``self._make_api_call(name, kwargs)``) and ``_PY_TO_OP_NAME``.
    Region, endpoint, credentials, signer, configuration (retries, timeouts), the event handlers and the
    connection pool stay each client's own (``tests/unit/test_botocore_loader.py`` compares the requests).

    A class is reused only for the session event emitter that built it (the ``creating-client-class``
    handlers are that session's).  The clients also share what botocore's ``EventAliaser`` memoises per
    client: the aliased name of each event name (``before-call.cloudtrail.LookupEvents``), a pure function
    of the name and ``EVENT_ALIASES`` that each client's copy of the session's emitter otherwise computes
    again for every event it registers or emits (about 40 per client, 10-15 string splits and list
    searches each).  Any other botocore user in the process (a loader of its own) is left alone.  Installed
    once on botocore's ``ClientCreator``; idempotent."""
    import botocore.client

    import botocore.hooks

    creator = botocore.client.ClientCreator
    # private names of botocore (1.44, as locked): a botocore without them keeps its own client creation
    if not all(callable(getattr(creator, n, None)) for n in ("_load_service_model", "_create_client_class",
                                                              "_get_client_args")) \
            or not isinstance(getattr(botocore.hooks, "EVENT_ALIASES", None), dict) \
            or not hasattr(botocore.hooks, "EventAliaser"):
        return
    with _PARTS_LOCK:
        if getattr(creator, "_bka_shared_parts", False):
            return
        creator._bka_shared_parts = True
    own_model = creator._load_service_model
    own_class = creator._create_client_class
    own_args = creator._get_client_args
    aliaser, default_aliases = botocore.hooks.EventAliaser, botocore.hooks.EVENT_ALIASES

    def _load_service_model(self: Any, service_name: str, api_version: str | None = None) -> Any:
        if self._loader is not botocore_loader.current():
            return own_model(self, service_name, api_version)
        return _shared(_MODELS, self._loader, (service_name, api_version),
                       lambda: own_model(self, service_name, api_version))

    def _create_client_class(self: Any, service_name: str, service_model: Any) -> Any:
        if self._loader is not botocore_loader.current():
            return own_class(self, service_name, service_model)
        return _shared(_CLASSES, self._event_emitter, (service_name, id(service_model)),
                       lambda: own_class(self, service_name, service_model))

    def _get_client_args(self: Any, *args: Any, **kwargs: Any) -> Any:
        client_args = own_args(self, *args, **kwargs)
        events: Any = client_args.get("event_emitter") if isinstance(client_args, dict) else None
        if self._loader is botocore_loader.current() and type(events) is aliaser \
                and getattr(events, "_event_aliases", None) == default_aliases:
            events._alias_name_cache = _ALIASED
        return client_args

    creator._load_service_model = _load_service_model
    creator._create_client_class = _create_client_class
    creator._get_client_args = _get_client_args
