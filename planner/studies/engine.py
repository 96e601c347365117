"""Where stress solves run (issue 22, items 5 and 6): in this process, in local worker
processes (`--workers N`), or on a Dask cluster (`--scheduler ADDRESS`, the optional extra
`planner[distributed]`). Results always come back in task order, so the numbers never depend on
the engine or the worker count; a progress line on stderr says how far a long run is.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TextIO

from planner.errors import InputError, SolverError

PROGRESS_AFTER_S = 2.0  # a run shorter than this shows no progress at all
TERMINAL_EVERY_S = 0.25  # a terminal's line is rewritten at most this often
LOG_EVERY_S = 10.0  # a log (stderr not a terminal) gets a line at most this often
CONNECT_TIMEOUT_S = 10.0  # waiting for a Dask scheduler to answer


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Progress:
    """`label: done/total solved, rate/s, time left` on stderr once a run has taken
    PROGRESS_AFTER_S; rewritten in place on a terminal, a line every LOG_EVERY_S in a log."""

    def __init__(self, label: str, total: int, enabled: bool, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.label, self.total, self.enabled = label, total, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.began = clock()
        self.shown_at: float | None = None
        self.terminal = bool(getattr(self.stream, "isatty", lambda: False)())

    def line(self, done: int) -> str:
        elapsed = self.clock() - self.began
        rate = done / elapsed if elapsed > 0 else 0.0
        text = f"{self.label}: {done:,}/{self.total:,} solved, {rate:.1f}/s"
        if 0 < done < self.total and rate > 0:
            text += f", {_duration((self.total - done) / rate)} left"
        elif done >= self.total:
            text += f", {_duration(elapsed)}"
        return text

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = self.clock()
        if now - self.began < PROGRESS_AFTER_S and self.shown_at is None:
            return
        every = TERMINAL_EVERY_S if self.terminal else LOG_EVERY_S
        if self.shown_at is not None and now - self.shown_at < every and done < self.total:
            return
        self.shown_at = now
        end = "" if self.terminal and done < self.total else "\n"
        prefix = "\r" if self.terminal else ""
        self.stream.write(f"{prefix}{self.line(done)}{end}")
        self.stream.flush()


@dataclass(frozen=True)
class Engine:
    """workers: local processes (1: in this process); scheduler: a Dask scheduler address
    (tcp://host:8786), which takes precedence."""

    workers: int = 1
    scheduler: str | None = None

    @property
    def name(self) -> str:
        if self.scheduler:
            return f"dask ({self.scheduler})"
        return "serial" if self.workers <= 1 else f"{self.workers} processes"


def run_all(fn: Callable[[Any], Any], tasks: Sequence[Any], engine: Engine, label: str,
            progress: bool, initializer: Callable[[], None] | None = None,
            preload: Sequence[str] = ()) -> list[Any]:
    """fn(task) for every task on `engine`; the results in task order. A worker that dies
    ends the run with SolverError (exit 4) naming what happened. `preload`: modules the
    forkserver imports once, so that each worker process starts with them imported (local
    processes only)."""
    tasks = list(tasks)
    shown = Progress(label, len(tasks), progress)
    if not tasks:
        return []
    if engine.scheduler:
        return _run_dask(fn, tasks, engine.scheduler, shown)
    results: list[Any] = [None] * len(tasks)
    if engine.workers <= 1 or len(tasks) == 1:
        if initializer is not None:
            initializer()
        for i, task in enumerate(tasks):
            results[i] = fn(task)
            shown.update(i + 1)
        return results
    try:
        # forkserver, not fork: a process forked after this one ran HiGHS (its threads, the
        # time limit's watchdog) can spin for ever waiting on threads the child does not have.
        pool = ProcessPoolExecutor(max_workers=min(engine.workers, len(tasks)),
                                   initializer=initializer, mp_context=_forkserver(preload))
        try:
            pending = {pool.submit(fn, task): i for i, task in enumerate(tasks)}
            for done, future in enumerate(as_completed(pending), start=1):
                results[pending[future]] = future.result()
                shown.update(done)
        except BaseException:
            # Ctrl-C or a failed task: the queued solves are dropped and the running ones
            # stopped at once (a plain shutdown waits for every queued solve: minutes; the
            # executor's own process table is the only handle on a running task)
            for process in list((pool._processes or {}).values()):
                process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    except BrokenProcessPool as exc:
        raise SolverError(f"{label}: a worker process died ({exc or 'killed'}); nothing was "
                          "lost but this run: run again, or lower --workers if memory is "
                          "short") from None
    return results


def _forkserver(preload: Sequence[str]) -> multiprocessing.context.BaseContext:
    """The forkserver context, the server importing `preload` before it forks any worker:
    a worker then starts in milliseconds instead of importing planner (0.8 s), once per pool
    and worker (at 20 samples on 2 workers that was half of a sample's time). The server
    itself never runs a solver, so forking it is safe. Takes effect when the server starts
    (the first pool of this process)."""
    context = multiprocessing.get_context("forkserver")
    if preload:
        context.set_forkserver_preload(list(preload))
    return context


def dask_client(address: str):
    """A Dask client connected to `address` (the optional extra planner[distributed])."""
    try:
        from distributed import Client
    except ImportError:
        raise InputError("--scheduler needs Dask distributed: pip install "
                         "'planner[distributed]'") from None
    try:
        return Client(address, timeout=f"{CONNECT_TIMEOUT_S:g}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"--scheduler {address}: cannot connect to a Dask scheduler there "
                         f"({type(exc).__name__}: {str(exc)[:120]}); allowed: the address of "
                         "a running scheduler, e.g. tcp://10.0.0.5:8786") from None


def _run_dask(fn: Callable[[Any], Any], tasks: list[Any], address: str,
              shown: Progress) -> list[Any]:
    from distributed import as_completed as dask_completed

    client = dask_client(address)
    try:
        futures = client.map(fn, tasks, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(tasks)
        try:
            for done, future in enumerate(dask_completed(futures), start=1):
                results[index[future.key]] = future.result()
                shown.update(done)
        except Exception as exc:  # KilledWorker, CommClosedError, ... (Dask's own types)
            if isinstance(exc, InputError | SolverError):
                raise
            raise SolverError(f"the Dask cluster at {address} failed a solve "
                              f"({type(exc).__name__}: {str(exc)[:160]}); run again, or "
                              "check the workers' logs") from None
        return results
    finally:
        client.close()


__all__ = ["Engine", "Progress", "dask_client", "run_all"]
