"""Once-only memo cells plus a thread pool whose waiters help instead of blocking.

Reads are memoised (one call per distinct request for the whole run, so a policy shared
by a user and a group is fetched once) and fanned out on a thread pool.  A thread that
waits on work still queued runs it itself, so nested fan-out cannot deadlock.
"""
from __future__ import annotations

import concurrent.futures as cf
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

T = TypeVar("T")


class _Cell:
    __slots__ = ("error", "event", "value")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class Gatherer:
    """Once-only memo cells plus a thread pool whose waiters help instead of blocking."""

    def __init__(self, workers: int = 16):
        self.pool = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inventory")
        self._cells: dict[Any, _Cell] = {}
        self._lock = threading.Lock()

    # Jobs are Callable[..., ...]: many are lambdas binding a loop variable as a default (``lambda a=a: ...``),
    # which mypy cannot match to Callable[[], ...]; every job is called with no argument.
    def once(self, key: Any, fn: Callable[..., T]) -> T:
        with self._lock:
            cell = self._cells.get(key)
            owner = cell is None
            if owner:
                cell = self._cells[key] = _Cell()
        assert cell is not None
        if owner:
            try:
                cell.value = fn()
            except BaseException as exc:  # noqa: BLE001 -- stored, re-raised to every reader
                cell.error = exc
            finally:
                cell.event.set()
        else:
            cell.event.wait()
        if cell.error is not None:
            raise cell.error
        return cast(T, cell.value)  # the value fn() returned for this key

    def fanout(self, fns: Iterable[Callable[..., Any]]) -> list[Any]:
        """Run ``fns`` concurrently; the first exception (in order) is raised after all finish.

        The jobs return different types (a user, a list, None), which a list cannot type per element:
        callers unpack the results into names of their own types."""
        fns = list(fns)
        if len(fns) <= 1:
            return [f() for f in fns]
        futs = [self.pool.submit(f) for f in fns]
        results: list[Any] = []
        first_error: BaseException | None = None
        for fut, fn in zip(futs, fns, strict=True):  # futs is built from fns, one each
            try:
                results.append(fn() if fut.cancel() else fut.result())
            except BaseException as exc:  # noqa: BLE001 -- re-raised below, after every job has finished
                results.append(None)
                first_error = first_error or exc
        if first_error is not None:
            raise first_error
        return results

    def background(self, fn: Callable[..., Any]) -> cf.Future[Any]:
        return self.pool.submit(fn)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)



def quiet(fn: Callable[..., Any]) -> Callable[[], None]:
    """``fn`` with its exception dropped (the memo cell keeps it for the reader that asks)."""
    def run() -> None:
        try:
            fn()
        except BaseException:  # noqa: BLE001 -- the memo cell keeps the error for the check that reads it
            pass
    return run
