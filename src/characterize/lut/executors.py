"""Sweep items as tasks on a Dask cluster: a scheduler address, or a LocalCluster of local worker processes.

The executor takes a factory of per-process state (built once per worker from
the sweep's config, e.g. the library and reference design), the config, and
the items to measure, and yields `(item, result)` pairs as they finish, in any
order. The sweep stores each result in its cache the moment it arrives, so a
crash loses only the items in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any, Protocol

from characterize.errors import SimulationError

LOCAL_CLUSTER = "local"
# Dask's nannies set MALLOC_TRIM_THRESHOLD_ in their workers, which also turns off glibc's adaptive mmap
# threshold: every large numpy array is then mapped and unmapped anew, and a sweep task runs about twice
# as long. The workers of a LocalCluster keep glibc's defaults.
KEEP_MALLOC_DEFAULTS = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


class ItemRunner(Protocol):
    def run(self, item: Any) -> dict: ...


Factory = Callable[[Any], ItemRunner]

_state: dict[tuple[Factory, Hashable], ItemRunner] = {}


def run_item(factory: Factory, config: Hashable, item: Any) -> tuple[Any, dict]:
    """Measure one item with this process's state for `config` (built on first use and kept)."""
    key = (factory, config)
    if key not in _state:
        _state.clear()  # one sweep's state at a time: it holds a library and designs
        _state[key] = factory(config)
    return item, _state[key].run(item)


class DaskExecutor:
    """One Dask task per item on a cluster: a scheduler address (`tcp://host:8786`), or `local` for a LocalCluster
    of `jobs` single-threaded worker processes.

    Dask reschedules the tasks of a worker that dies, so a lost worker costs
    only its tasks in flight. Workers need the same gatedse installation, and
    a `--library` file at the same path (a shared file system).
    """

    def __init__(self, scheduler: str, jobs: int = 1):
        self.scheduler = scheduler
        self.jobs = jobs

    def run(self, factory: Factory, config: Hashable, items: Sequence) -> Iterator[tuple[Any, dict]]:
        try:
            import dask
            from dask.distributed import Client, LocalCluster
            from dask.distributed import as_completed as dask_completed
        except ImportError:
            raise SimulationError("--dask needs Dask: pip install 'gatedse[dask]'") from None
        if not items:
            return
        cluster = None
        try:
            if self.scheduler == LOCAL_CLUSTER:
                with dask.config.set(KEEP_MALLOC_DEFAULTS):
                    cluster = LocalCluster(n_workers=self.jobs, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
            try:
                client = Client(cluster or self.scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise SimulationError(f"--dask {self.scheduler}: cannot reach the scheduler: {exc}") from None
            with client:
                futures = client.map(run_item, [factory] * len(items), [config] * len(items), list(items), pure=False)
                try:
                    # with_results: results are gathered in the background as tasks finish, not one round trip each
                    for future, result in dask_completed(futures, with_results=True):
                        future.release()
                        yield result
                finally:
                    client.cancel(futures)
        finally:
            if cluster is not None:
                cluster.close()

