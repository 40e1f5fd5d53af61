"""Where ``fastnn compare`` runs its training runs: joblib on this machine, or a dask or Ray
cluster.

An engine takes a module-level function and a list of small payloads (a run's configuration as
a plain dict) and yields the results as the runs finish, in any order. Nothing else travels:
each worker loads the bundled data set itself, once per process (the loaders cache it), so the
60,000 images are never shipped per run. dask and Ray are optional (``pip install
'fastnn[dask]'``, ``'fastnn[ray]'``) and imported only when chosen.

A cluster's workers need fastnn installed (the same version) to import the run function.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from ._threads import usable_cores

__all__ = ["ENGINES", "EngineUnavailableError", "make_engine", "LocalEngine", "DaskEngine",
           "RayEngine", "CONNECT_TIMEOUT"]

ENGINES = ("local", "dask", "ray")
#: Seconds to wait for a scheduler or head node before saying it cannot be reached.
CONNECT_TIMEOUT = 5.0


class EngineUnavailableError(RuntimeError):
    """The engine cannot be used: its library is missing or its cluster cannot be reached.
    Raised before any run starts."""


def make_engine(name, *, address=None, jobs=None, threads=1):
    """The engine called ``name``.

    Parameters
    ----------
    name : {"local", "dask", "ray"}
    address : str, optional
        dask: the scheduler (``tcp://host:8786``); Ray: the head node (``host:6379``,
        ``ray://host:10001`` or ``"auto"``). Without one, dask starts a ``LocalCluster`` of
        processes and Ray a local instance, on this machine's cores.
    jobs : int, optional
        local: the runs at a time (default: the usable cores divided by ``threads``).
    threads : int, default 1
        Threads each run uses (a Ray task reserves that many CPUs).

    Raises
    ------
    ValueError
        For an unknown name, or an address given to the local engine.
    EngineUnavailableError
        When the library is not installed or the cluster cannot be reached.
    """
    if name == "local":
        if address is not None:
            raise ValueError("address (--scheduler / --address) is for --engine dask or ray; "
                             "the local engine runs on this machine")
        return LocalEngine(jobs or max(1, usable_cores() // threads))
    if name == "dask":
        return DaskEngine(address)
    if name == "ray":
        return RayEngine(address, threads)
    raise ValueError(f"engine={name!r} is not known; expected one of "
                     f"{', '.join(repr(e) for e in ENGINES)}")


class LocalEngine:
    """joblib's process pool (the ``loky`` backend): ``jobs`` worker processes, reused
    between calls in one Python session. With ``jobs=1`` the runs go one after the other in
    this process (joblib runs them in place)."""

    name = "local"

    def __init__(self, jobs):
        self.jobs = int(jobs)
        self.slots = self.jobs

    def map_unordered(self, fn, payloads):
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=self.jobs, backend="loky", return_as="generator_unordered",
                            batch_size=1, pre_dispatch="n_jobs")
        yield from parallel(delayed(fn)(p) for p in payloads)

    def close(self):
        pass

    def describe(self):
        return f"joblib (loky), {self.jobs} process{'es' if self.jobs > 1 else ''}"


def check_reachable(address, default_port, what, timeout=CONNECT_TIMEOUT):
    """Fail fast (``EngineUnavailableError``) when nothing listens at ``address``'s host and
    port: the clients would otherwise retry for a minute or more."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port or default_port
    except ValueError as exc:
        raise EngineUnavailableError(f"{what} address {address!r} is not host:port ({exc})") \
            from None
    if not host:
        raise EngineUnavailableError(f"{what} address {address!r} names no host; expected "
                                     f"host:port, e.g. 192.0.2.10:{default_port}")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise EngineUnavailableError(
            f"cannot reach the {what} at {address} ({exc.strerror or exc}); is it running, "
            f"and is port {port} open from here? No run was started") from None


class DaskEngine:
    """dask.distributed: the runs as tasks of a ``Client`` on the scheduler at ``address``, or
    on a ``LocalCluster`` of processes (one thread each) started here and stopped after."""

    name = "dask"

    def __init__(self, address=None):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:
            raise EngineUnavailableError(
                f"--engine dask needs dask.distributed, which is not importable ({exc}); "
                "install it with: pip install 'fastnn[dask]'") from None
        self.address, self.cluster = address, None
        if address is None:
            self.cluster = LocalCluster(n_workers=usable_cores(), threads_per_worker=1,
                                        processes=True, dashboard_address=None)
            self.client = Client(self.cluster)
        else:
            check_reachable(address, 8786, "dask scheduler")
            try:
                self.client = Client(address, timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError) as exc:
                raise EngineUnavailableError(f"cannot connect to the dask scheduler at "
                                             f"{address}: {exc}; no run was started") from None
        self.slots = max(1, sum(self.client.nthreads().values()))
        self._futures = []

    def map_unordered(self, fn, payloads):
        from dask.distributed import as_completed

        # pure=False: two equal configurations are two runs, not one cached result
        self._futures = self.client.map(fn, list(payloads), pure=False)
        for future in as_completed(self._futures):
            yield future.result()

    def close(self):
        if self._futures:
            self.client.cancel(self._futures)
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def describe(self):
        where = self.address or "a LocalCluster on this machine"
        return f"dask at {where}, {self.slots} worker thread{'s' if self.slots > 1 else ''}"


class RayEngine:
    """Ray: each run a task reserving ``threads`` CPUs, on the cluster at ``address`` or on a
    Ray instance started here (and shut down after)."""

    name = "ray"

    def __init__(self, address=None, threads=1):
        try:
            import ray
        except ImportError as exc:
            raise EngineUnavailableError(
                f"--engine ray needs Ray, which is not importable ({exc}); install it with: "
                "pip install 'fastnn[ray]'") from None
        self.ray, self.address, self.threads = ray, address, int(threads)
        if address not in (None, "auto"):
            check_reachable(address, 10001 if address.startswith("ray://") else 6379,
                            "Ray head node")
        self.started_here = not ray.is_initialized()
        if self.started_here:
            kwargs = dict(include_dashboard=False, log_to_driver=False)
            if address is None:
                kwargs["num_cpus"] = usable_cores()
            ray.init(address=address, **kwargs)
        self.slots = max(1, int(ray.cluster_resources().get("CPU", 1)) // self.threads)
        self._pending = []

    def map_unordered(self, fn, payloads):
        ray = self.ray
        remote = ray.remote(num_cpus=self.threads)(fn)
        self._pending = [remote.remote(p) for p in payloads]
        while self._pending:
            done, self._pending = ray.wait(self._pending, num_returns=1)
            yield ray.get(done[0])

    def close(self):
        for ref in self._pending:
            self.ray.cancel(ref, force=True)
        self._pending = []
        if self.started_here:
            self.ray.shutdown()

    def describe(self):
        return f"Ray at {self.address or 'a local instance'}, {self.slots} slots"
