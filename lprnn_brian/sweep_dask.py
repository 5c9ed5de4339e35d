"""Dask for sweeps and whole-dataset evaluation: the cluster connection, the chunk tasks of a sweep
(:func:`run_on_dask`) and :func:`simulate_distributed` (``lprnn-brian simulate --scheduler``).

A worker keeps one open :class:`lprnn_brian.targets.Runner` per network (:func:`lprnn_brian.sweep_tasks.
simulate_chunk`), so a standalone binary is compiled once per worker and model and re-used for all its samples.
Needs Dask ``distributed`` (the ``sweep`` extra).
"""
from __future__ import annotations

import contextlib
import importlib

import numpy as np

from .errors import UserInputError
from .sweep_tasks import TARGETS, chunk_bounds, run_chunk, simulate_chunk
from .targets import resolve_layout


def _import_brian2_on_worker(dask_worker=None) -> None:
    """Brian2 installs a SIGINT handler when first imported, which Python allows only in the main thread: import
    it there (a worker's event loop), before a task (run in the worker's executor thread) needs it."""
    importlib.import_module("brian2")


def connect(scheduler: str | None, workers: int):
    """A Dask client: a new LocalCluster of ``workers`` single-threaded processes (``scheduler`` None or
    ``'local'``) or the scheduler at an address; every worker, including one that joins or restarts later, imports
    Brian2 on its main thread first. Returns (client, cluster or None)."""
    try:
        from distributed import Client, LocalCluster
        from distributed.diagnostics.plugin import WorkerPlugin
    except ImportError:
        raise UserInputError("distributed runs need Dask: pip install 'lprnn_brian[sweep]' (or use --scheduler "
                             "serial)") from None

    class ImportBrian2(WorkerPlugin):
        def setup(self, worker):
            _import_brian2_on_worker(worker)

    cluster = None
    if scheduler in (None, "local"):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="20s")
        except ValueError as e:  # not an address (no port, unknown protocol)
            raise UserInputError(f"--scheduler {scheduler!r} is not a Dask scheduler address ({e}); give "
                                 "tcp://host:8786, 'local' (simulate) or 'serial' (sweep)") from None
        except (OSError, TimeoutError) as e:
            raise UserInputError(f"no Dask scheduler at {scheduler} ({e}); start one (dask scheduler) or leave "
                                 "--scheduler out for a local cluster") from None
    client.register_plugin(ImportBrian2(), name="lprnn-brian-import-brian2")
    return client, cluster


@contextlib.contextmanager
def _dask(scheduler: str | None, workers: int):
    """:func:`connect`, closing the client (and the local cluster) afterwards."""
    client, cluster = connect(scheduler, workers)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _gather(futures: dict, record, bar) -> None:
    """``record(futures[f], f.result())`` for each future as it completes, advancing the progress bar."""
    from distributed import as_completed

    for fut in as_completed(futures):
        record(futures[fut], fut.result())
        if bar is not None:
            bar.update(1)


def run_on_dask(tasks, cfg, cfg_d, x, labels, scheduler, workers, build_root, record, bar, say) -> None:
    """Submit a sweep's chunk ``tasks`` (point, point id, first, stop, chunk file) to a Dask cluster, the inputs
    scattered to every worker once; ``record(task, result)`` each result as it arrives."""
    with _dask(scheduler, workers) as client:
        say(f"Dask dashboard: {client.dashboard_link}")
        x_f = client.scatter(x, broadcast=True)
        y_f = None if labels is None else client.scatter(labels, broadcast=True)
        futures = {}
        for task in tasks:
            point, pid, first, stop, f = task
            fut = client.submit(_dask_chunk, cfg.model, point, cfg_d, first, stop, x_f, y_f, build_root,
                                key=f"chunk-{pid}-{first}-{stop}-{cfg.digest()}", pure=False, retries=2)
            futures[fut] = task
        _gather(futures, record, bar)


def _dask_chunk(model_path, point, cfg_d, first, stop, x, labels, build_root):
    return run_chunk(model_path, point, cfg_d, first, stop, x[first:stop],
                     None if labels is None else labels[first:stop], build_root)


def simulate_distributed(spec, x: np.ndarray, *, scheduler: str | None = None, workers: int = 2,
                         target: str = "cpp_standalone", batch: int | None = None, chunk: int = 16, build_root=None,
                         progress: bool = False):
    """:func:`lprnn_brian.simulation.simulate` split into chunks of samples over a Dask cluster (``scheduler``:
    None or ``'local'`` for a LocalCluster of ``workers`` processes, else an address); every worker compiles the
    network once and re-uses it. ``batch``: samples per run inside a chunk (None: the target's choice for
    ``chunk`` samples, :func:`lprnn_brian.targets.resolve_layout`). Returns the merged :class:`SimulationResult`
    (same spikes and decodes as one serial run)."""
    from .simulation import merge_results

    if target not in TARGETS:
        raise UserInputError(f"distributed simulation runs Brian2 targets {TARGETS}, not {target!r}")
    if chunk < 1 or (batch is not None and batch < 1):
        raise UserInputError("chunk and batch must be ≥ 1")
    if batch is None:
        batch = resolve_layout(target, n_samples=min(chunk, x.shape[0]), want="frames")["batch"]
    bounds = chunk_bounds(x.shape[0], chunk)
    results: dict = {}
    bar = None
    try:
        with _dask(scheduler, workers) as client:  # connected (or refused) before the progress bar starts
            if progress:
                from tqdm import tqdm

                bar = tqdm(total=len(bounds), desc=f"simulating ({target}, Dask)", unit="chunk")
            spec_f = client.scatter(spec, broadcast=True)
            futures = {client.submit(simulate_chunk, spec_f, x[first:stop], target, batch, build_root, pure=False,
                                     retries=2): (first, stop) for first, stop in bounds}
            _gather(futures, results.__setitem__, bar)
    finally:
        if bar is not None:
            bar.close()
    merged = merge_results([results[b] for b in bounds])
    merged.target = target
    return merged


