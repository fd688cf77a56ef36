"""Once-only memo cells plus a thread pool whose waiters help instead of blocking.

Reads are memoised (one call per distinct request for the whole run, so a policy shared
by a user and a group is fetched once) and fanned out on a thread pool.  A thread that
waits on work still queued runs it itself, so nested fan-out cannot deadlock.  A memo cell whose
computation needs, directly or through other cells on other threads, the cell itself cannot finish:
the read that would close that cycle raises :class:`ReadCycle` at once instead of waiting for ever.
"""
from __future__ import annotations

import concurrent.futures as cf
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from bedrock_key_audit.checkcore import CouldNotDecide

T = TypeVar("T")


class ReadCycle(CouldNotDecide):
    """A read needs its own result (a cycle between the audit's memo cells): the rows needing it end ``error``."""


class _Cell:
    __slots__ = ("error", "event", "owner", "value")

    def __init__(self, owner: int) -> None:
        self.event = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.owner = owner  # the thread computing it


class Gatherer:
    """Once-only memo cells plus a thread pool whose waiters help instead of blocking."""

    def __init__(self, workers: int = 32):
        self.pool = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inventory")
        self._cells: dict[Any, _Cell] = {}
        self._lock = threading.Lock()
        self._waiting: dict[int, _Cell] = {}  # thread -> the unfinished cell (or pool job) it waits on
        self._jobs: weakref.WeakKeyDictionary[cf.Future[Any], _Cell] = weakref.WeakKeyDictionary()

    def _closes_cycle(self, cell: _Cell, me: int) -> bool:
        """Would ``me`` waiting on ``cell`` wait on itself (``cell``'s owner waits, through a chain of owners,
        on a cell ``me`` computes)?  Called with ``_lock`` held."""
        if cell.event.is_set():
            return False
        owner, seen = cell.owner, set()
        while owner not in seen:
            if owner == me:
                return True
            seen.add(owner)
            waited = self._waiting.get(owner)
            if waited is None or waited.event.is_set():
                return False
            owner = waited.owner
        return False

    # Jobs are Callable[..., ...]: many are lambdas binding a loop variable as a default (``lambda a=a: ...``),
    # which mypy cannot match to Callable[[], ...]; every job is called with no argument.
    def once(self, key: Any, fn: Callable[..., T]) -> T:
        me = threading.get_ident()
        waits = False
        with self._lock:
            cell = self._cells.get(key)
            owner = cell is None
            if cell is None:
                cell = self._cells[key] = _Cell(me)
            elif not cell.event.is_set():
                if self._closes_cycle(cell, me):
                    raise _cycle(f"the {describe_key(key)}")
                self._waiting[me] = cell
                waits = True
        assert cell is not None
        if owner:
            try:
                cell.value = fn()
            except BaseException as exc:  # noqa: BLE001 -- stored, re-raised to every reader
                cell.error = exc
            finally:
                cell.event.set()
        elif waits:
            try:
                cell.event.wait()
            finally:
                with self._lock:
                    del self._waiting[me]
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
        jobs = [self._tracked(f) for f in fns]
        futs = [self.pool.submit(run) for run, _ in jobs]
        results: list[Any] = []
        first_error: BaseException | None = None
        for fut, fn, (_, cell) in zip(futs, fns, jobs, strict=True):  # futs and jobs are built from fns, one each
            try:
                results.append(fn() if fut.cancel() else self._await(fut, cell))
            except BaseException as exc:  # noqa: BLE001 -- re-raised below, after every job has finished
                results.append(None)
                first_error = first_error or exc
        if first_error is not None:
            raise first_error
        return results

    def start(self, fn: Callable[[], T]) -> Callable[[], T]:
        """``fn`` started on the pool now; the returned getter gives its result (or raises its error) when
        asked.  A getter asked before any thread took the job runs it itself, as :meth:`fanout`'s waiters do,
        so a pool of waiting jobs cannot starve the jobs they wait on.  Asked again (by one thread), a getter
        gives the same answer without running ``fn`` again."""
        run, cell = self._tracked(fn)
        fut = self.pool.submit(run)
        done: list[tuple[bool, Any]] = []

        def result() -> T:
            if not done:
                try:
                    done.append((True, fn() if fut.cancel() else self._await(fut, cell)))
                except BaseException as exc:  # noqa: BLE001 -- kept, raised to every ask
                    done.append((False, exc))
            ok, got = done[0]
            if not ok:
                raise got
            return cast(T, got)
        return result

    def background(self, fn: Callable[..., Any]) -> cf.Future[Any]:
        """``fn`` started on the pool; :meth:`wait` is how a memo cell's computation waits for its result."""
        run, cell = self._tracked(fn)
        fut = self.pool.submit(run)
        with self._lock:
            self._jobs[fut] = cell
        return fut

    def wait(self, fut: cf.Future[Any]) -> Any:
        """The result of a :meth:`background` job, or :class:`ReadCycle` when the job waits on this thread."""
        with self._lock:
            cell = self._jobs.get(fut)
        return fut.result() if cell is None else self._await(fut, cell)

    @staticmethod
    def _tracked(fn: Callable[..., Any]) -> tuple[Callable[[], Any], _Cell]:
        """``fn`` wrapped to record, in a cell of its own, the pool thread running it and when it ends."""
        cell = _Cell(0)  # 0: not started

        def run() -> Any:
            cell.owner = threading.get_ident()
            try:
                return fn()
            finally:
                cell.event.set()
        return run, cell

    def _await(self, fut: cf.Future[Any], cell: _Cell) -> Any:
        """``fut.result()``, registered as a wait on the job's thread so that a cycle through it is seen."""
        me = threading.get_ident()
        with self._lock:
            if self._closes_cycle(cell, me):
                raise _cycle("a read")
            self._waiting[me] = cell
        try:
            return fut.result()
        finally:
            with self._lock:
                del self._waiting[me]

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)



def _cycle(what: str) -> ReadCycle:
    return ReadCycle(f"{what} needs its own result (a cycle between the audit's reads, a bug of this tool), so the "
                     "rows needing it cannot be judged; report it with the run's log")


def describe_key(key: Any) -> str:
    """``key`` as words: ``("secret", "s")`` -> ``secret read for s``."""
    if isinstance(key, tuple) and key:
        rest = [str(k) for k in key[1:] if isinstance(k, (str, int))]
        return f"{key[0]} read" + (f" for {', '.join(rest)}" if rest else "")
    return f"{key} read"


def quiet(fn: Callable[..., Any]) -> Callable[[], None]:
    """``fn`` with its exception dropped (the memo cell keeps it for the reader that asks)."""
    def run() -> None:
        try:
            fn()
        except BaseException:  # noqa: BLE001 -- the memo cell keeps the error for the check that reads it
            pass
    return run
