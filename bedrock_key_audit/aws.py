"""AWS sessions per partition, one place that makes clients, and the call log.

Clients use botocore's ``standard`` retry mode (throttling and 5xx are retried with
backoff, a bounded number of times) and honour boto3's own endpoint overrides
(``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``, and ``services`` sections of the
profile).  Every call is recorded — service, operation, region, partition, outcome,
duration — and never its parameters, which may carry secrets.
"""
from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import botocore.config

from bedrock_key_audit import botocore_clients, botocore_loader
from bedrock_key_audit.config import AuditConfig
from bedrock_key_audit.envrace import made_despite_env_changes

log = logging.getLogger("bedrock_audit.aws")


@dataclasses.dataclass
class Call:
    kind: str  # "aws" | "http"
    service: str
    operation: str
    region: str
    partition: str
    outcome: str  # "ok" or the error code / exception name
    duration_ms: float
    started: float
    status: int | None = None


class CallLog:
    """Thread-safe record of every AWS and HTTP call of the run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[Call] = []

    def add(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)
        log.debug("%s %s.%s %s %s %.0fms", call.kind, call.service, call.operation, call.region, call.outcome, call.duration_ms)

    def as_dicts(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dataclasses.asdict(c) for c in self.calls]

    def count(self, kind: str | None = None) -> int:
        with self._lock:
            return sum(1 for c in self.calls if kind is None or c.kind == kind)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.as_dicts())

    def __len__(self) -> int:
        return self.count()


_LOOPBACK_ACCOUNT_HOST = re.compile(r"^\d{12}\.(?P<host>127\.0\.0\.1|localhost)(?P<port>:\d+)?$")


def _loopback_s3control(request: Any, **_: Any) -> None:
    """S3 Control's endpoint rules put the account id in front of the host (``<account>.s3-control...``);
    against the emulator on 127.0.0.1 that name does not resolve, so the prefix is dropped before
    the request is signed.  Registered on every S3 Control client: only a loopback host
    (``<account>.127.0.0.1`` / ``<account>.localhost``, an endpoint URL pointing at an emulator, as
    the benchmarks' standalone one) is rewritten; an AWS host never matches."""
    parts = urlsplit(request.url)
    m = _LOOPBACK_ACCOUNT_HOST.match(parts.netloc)
    if m:
        request.url = urlunsplit(parts._replace(netloc=m.group("host") + (m.group("port") or "")))


# The operations whose answers carry a key or a secret's value: a key the tool has read or made is remembered, so
# that any piece of it is masked wherever it turns up (bedrock_key_audit/redaction/known.py)
_ANSWERS_WITH_KEYS = frozenset({"GetSecretValue", "BatchGetSecretValue", "CreateServiceSpecificCredential",
                                "ResetServiceSpecificCredential"})


def remember_keys(parsed: Any, depth: int = 0) -> None:
    """Hand every string of ``parsed``'s secret fields (``SECRET_FIELDS``) to the redactor's memory."""
    from bedrock_key_audit.redaction import SECRET_FIELDS, known

    if depth > 4:
        return
    if isinstance(parsed, dict):
        known.remember(v for k, v in parsed.items() if k in SECRET_FIELDS and isinstance(v, (str, bytes)))
        for v in parsed.values():
            if isinstance(v, (dict, list)):
                remember_keys(v, depth + 1)
    elif isinstance(parsed, list):
        for v in parsed:
            remember_keys(v, depth + 1)


class Aws:
    """Sessions and clients for both partitions; ``client(service, partition, region=None)``."""

    def __init__(self, cfg: AuditConfig, calls: CallLog, emulated: bool = False):
        self.cfg = cfg
        self.calls = calls
        self.emulated = emulated
        self._sessions: dict[str, boto3.Session] = {}
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()  # the sessions and the client dict; held for lookups only
        # Clients are made one at a time (a boto3 session is not thread-safe), under their own lock, so a
        # thread whose client exists never waits behind another one's creation (tens to hundreds of ms
        # of CPU: a service's model is loaded by its first client).
        self._making = threading.Lock()
        # an organization account's assumed-role credentials (bedrock_key_audit.organization.AssumedAccount), or None
        self.assumed: Any = None
        # sts:GetCallerIdentity answers of the credential preflight (bedrock_key_audit/doctor.py), per partition
        self.identities: dict[str, dict[str, Any]] = {}
        self.botocore_config = botocore.config.Config(
            retries={"mode": "standard", "max_attempts": 4},
            connect_timeout=5,
            read_timeout=20,
            max_pool_connections=50,
            user_agent_extra="bedrock-key-audit/0.1",
        )

    def session(self, partition: str) -> boto3.Session:
        with self._lock:
            if partition not in self._sessions:
                sess = boto3.Session(
                    profile_name=None if self.emulated else self.cfg.profile(partition),
                    region_name=self.cfg.region(partition),
                )
                # One loader for every session of the run (both partitions of every account): service
                # models and endpoint data are read and parsed once (~100 ms of CPU and tens of MB
                # each time otherwise), not once per partition and account.
                own = sess._session.get_component("data_loader")
                shared = botocore_loader.adopt(own)
                if shared is not own:
                    sess._session.register_component("data_loader", shared)
                # its clients reuse each service's model and client class (botocore_clients.share_client_parts)
                botocore_clients.share_client_parts()
                if self.assumed is not None:
                    self.assumed.apply(partition, sess)
                self._sessions[partition] = sess
            return self._sessions[partition]

    def client(self, service: str, partition: str, region: str | None = None) -> Any:
        if self.assumed is not None:
            self.assumed.check(partition)  # CouldNotDecide: the account's role cannot be assumed
        region = region or self.cfg.region(partition)
        key = (service, partition, region)
        with self._lock:
            cached = self._clients.get(key)
        if cached is not None:
            return cached
        sess = self.session(partition)
        with self._making:
            with self._lock:
                cached = self._clients.get(key)
            if cached is not None:
                return cached
            c = made_despite_env_changes(lambda: sess.client(service, region_name=region, config=self.botocore_config))
            if service == "s3control":
                c.meta.events.register_first("request-created", _loopback_s3control)
            self._instrument(c, partition, region)
            with self._lock:
                self._clients[key] = c
            return c

    def release_clients(self) -> None:
        """Close and drop the clients (their connection pools and models), once the account's reads
        are done; a later ``client()`` makes a new one."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for c in clients:
            c.close()

    def _instrument(self, client: Any, partition: str, region: str) -> None:
        service = client.meta.service_model.service_name

        def before(model: Any, context: dict[str, Any], **_: Any) -> None:
            context["_bka_t0"] = time.perf_counter()
            context["_bka_wall"] = time.time()

        def after(http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
            if model.name in _ANSWERS_WITH_KEYS:
                remember_keys(parsed)
            t0 = context.get("_bka_t0", time.perf_counter())
            status = getattr(http_response, "status_code", None)
            outcome = "ok" if status is not None and status < 300 else parsed.get("Error", {}).get("Code", f"HTTP{status}")
            self.calls.add(Call("aws", service, model.name, region, partition, outcome,
                                round((time.perf_counter() - t0) * 1000, 2), context.get("_bka_wall", 0.0), status))

        def after_error(exception: Exception, context: dict[str, Any], event_name: str = "", **_: Any) -> None:
            # botocore passes no operation model with after-call-error: the event name ends with it
            t0 = context.get("_bka_t0", time.perf_counter())
            self.calls.add(Call("aws", service, event_name.rsplit(".", 1)[-1], region, partition, type(exception).__name__,
                                round((time.perf_counter() - t0) * 1000, 2), context.get("_bka_wall", 0.0)))

        ev = client.meta.events
        ev.register("before-call", before)
        ev.register("after-call", after)
        ev.register("after-call-error", after_error)

    def warm(self, services: list[tuple[str, str, str | None]]) -> None:
        """Create the clients a run will use, up front: creation is CPU-bound (GIL), and made
        lazily inside concurrent reads it delays every call behind it."""
        for service, partition, region in services:
            if self.assumed is not None and partition in self.assumed.problems:
                continue  # its reads end error with the account's sentence; the other partition still runs
            self.client(service, partition, region)

    def endpoint_url(self, service: str, partition: str, region: str | None = None) -> str:
        """The URL boto3 would use for ``service`` in ``region`` (the partition's configured region by
        default), so overrides and FIPS settings apply to httpx too."""
        url: str = self.client(service, partition, region).meta.endpoint_url
        return url
