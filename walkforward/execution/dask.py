"""The `dask` executor: fold links on a Dask cluster. Imported only when chosen (`dask[distributed]` is optional).

- Without a scheduler address, a `LocalCluster` of `n_jobs` worker processes with one thread each is started for
  the run and closed after it; its workers ignore Ctrl-C (the parent stops scheduling and lets them finish). Its
  nannies live in this process and set their workers' environment in it (`OMP_NUM_THREADS=1`...): the caller's
  values are put back once the workers have started, and again when the cluster closes.
- With one (`tcp://HOST:8786`), the run connects as a client and uses every worker thread the cluster has
  (`n_jobs` does not apply), waiting up to `WORKER_WAIT_SECONDS` for a first worker.

A worker gets only the rows of the feature matrix that its links read: each link is a task carrying the fold job cut
to its task (`FoldJob.for_task`: the fold's training and test windows, and for one asset's model that asset's rows
of them), so a worker holds the cuts of the links it is running, never the whole matrix. The cut travels inside the
task (the scheduler keeps it until the link has finished), not scattered: a scattered cut's only copy would die with
its worker, while a task can be rerun. A job that cannot be cut is scattered to every worker once
(`broadcast=True`). Each link is retried up to `RETRIES` times if it raises. A worker that dies (killed, out of
memory) costs its running link only: the scheduler runs it again on another worker — up to
`distributed.scheduler.allowed-failures` times (default 3), and a previous model lost with the worker is recomputed
from its own link. Every rerun computes the same result: seeds depend on the task only.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
import uuid
import warnings
from typing import Any

import dask
from distributed import Client, Future, LocalCluster
from distributed.diagnostics.plugin import WorkerPlugin

from walkforward.errors import ConfigError
from walkforward.execution.link import Job, run_link

RETRIES = 2
CONNECT_SECONDS = 20
WORKER_WAIT_SECONDS = 60
CAPACITY_REFRESH_SECONDS = 2.0


class IgnoreSigint(WorkerPlugin):
    """Run on each worker of the run's LocalCluster (restarted ones too): a Ctrl-C reaches the parent only."""

    name = "walkforward-ignore-sigint"
    idempotent = True

    def setup(self, worker: Any) -> None:  # noqa: ARG002
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)


class SavedEnviron:
    """The caller's values of the environment variables a LocalCluster's nannies set in this process before they
    spawn a worker (`distributed.nanny.pre-spawn-environ`: OMP_NUM_THREADS, MKL_NUM_THREADS, OPENBLAS_NUM_THREADS,
    MALLOC_TRIM_THRESHOLD_; and PYTHONHASHSEED, __DASK_PARENT_PID), to put back: the workers have their copies."""

    def __init__(self) -> None:
        self.before = dict(os.environ)
        self.keys = set(dask.config.get("distributed.nanny.pre-spawn-environ", {})) | {"PYTHONHASHSEED"}
        self.started = False

    def restore(self) -> None:
        """Put back the pre-spawn variables and, the first time (once the cluster has started), whatever else
        starting it changed; later (at close: a nanny that restarts a worker sets them again), the same ones."""
        if not self.started:
            self.started = True
            current = os.environ.keys() | self.before.keys()
            self.keys |= {k for k in current if os.environ.get(k) != self.before.get(k)}
        for key in self.keys:
            if key in self.before:
                os.environ[key] = self.before[key]
            else:
                os.environ.pop(key, None)


def _key(task: Any) -> str:
    """A task's part of its Dask key: `3-AAPL` for (3, "AAPL"), `0.2-3-AAPL` for a sweep's ((0, 2), 3, "AAPL"); a
    group of more than four configurations is named by their count and a hash (`16c3f9a1b2c-3-AAPL`)."""
    if not isinstance(task, tuple):
        return str(task)
    parts = []
    for part in task:
        if isinstance(part, tuple):
            joined = ".".join(map(str, part))
            part = joined if len(part) <= 4 else f"{len(part)}c{hashlib.sha1(joined.encode()).hexdigest()[:8]}"
        parts.append(str(part))
    return "-".join(parts)


def _result_only(output: tuple[Any, Any]) -> tuple[None, Any]:
    return None, output[1]


class DaskPool:
    def __init__(self, job: Job, *, n_jobs: int, scheduler: str | None):
        self.cluster: LocalCluster | None = None
        self.client: Client | None = None
        self.environ: SavedEnviron | None = None
        try:
            if scheduler is None:
                self.environ = SavedEnviron()
                # the scheduler's HTTP server (the dashboard, with bokeh) on a free port: 8787 may be in use
                self.cluster = LocalCluster(
                    n_workers=n_jobs, threads_per_worker=1, processes=True, dashboard_address=":0"
                )
                self.environ.restore()
                self.client = Client(self.cluster, set_as_default=False)
                self.client.register_plugin(IgnoreSigint())
                # the Active Memory Manager would drop a broadcast job's copies (a job that cannot be cut) down to
                # one (no task needs them between links); this cluster is ours, so every worker keeps its copy
                self.client.amm.stop()
            else:
                self.client = _connect(scheduler)
            self.run = uuid.uuid4().hex[:8]
            # a job that can be cut goes out one task's rows at a time; any other is scattered to every worker
            self.cut = getattr(job, "for_task", None)
            self.job = job if self.cut is not None else self.client.scatter(job, broadcast=True, hash=False)
        except BaseException:
            self.close(wait=False)
            raise
        self._capacity, self._checked = 1, 0.0

    def capacity(self) -> int:
        """Worker threads in the cluster now (refreshed every few seconds: workers may come and go)."""
        now = time.monotonic()
        if now - self._checked > CAPACITY_REFRESH_SECONDS:
            self._capacity = max(1, sum(self.client.nthreads().values()))
            self._checked = now
        return self._capacity

    def submit(self, task: Any, carry: Any, keep_model: bool) -> tuple[Future, Future]:
        """A link's future; when its chain continues, the future of its result alone (the model stays put)."""
        key = f"wf-{self.run}-{_key(task)}"
        job = self.job if self.cut is None else self.cut(task)
        with warnings.catch_warnings():
            # a fold's cut is sent once, with its task, on purpose (see the module docstring): not a graph to fix
            warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
            fut = self.client.submit(run_link, job, task, carry, keep_model, key=key, retries=RETRIES)
        if not keep_model:
            return fut, fut
        return self.client.submit(_result_only, fut, key=f"{key}-result", retries=RETRIES), fut

    def next_carry(self, handle: Future, output: tuple[Any, Any]) -> Future:  # noqa: ARG002
        return handle  # the next link reads the model from this one's output, where it already is

    def close(self, wait: bool) -> None:  # noqa: ARG002 - the loop has waited for every link in flight
        try:
            if self.client is not None:
                self.client.close()
        finally:
            try:
                if self.cluster is not None:
                    self.cluster.close()
            finally:
                if self.environ is not None:
                    self.environ.restore()


def check_scheduler(address: str) -> None:
    """Connect to the scheduler at `address` and let go: a ConfigError, in one line, when it cannot be reached or
    has no worker. A sweep calls it before it writes anything."""
    _connect(address).close()


def _connect(address: str) -> Client:
    try:
        client = Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:  # ValueError: an address distributed cannot parse
        raise ConfigError(
            f"cannot reach the Dask scheduler at {address!r} ({exc}); start one with `dask scheduler` and pass its "
            "address as --scheduler tcp://HOST:8786"
        ) from None
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
    except (OSError, TimeoutError):
        client.close()
        raise ConfigError(
            f"the Dask scheduler at {address!r} has no workers after {WORKER_WAIT_SECONDS} s; start some with "
            f"`dask worker {address} --nthreads 1`"
        ) from None
    return client
