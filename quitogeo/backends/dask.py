"""Distributed backend: the same stage functions per spatial partition, on a ``dask.distributed`` cluster.

How a run is split
------------------
1. **Partitions.** The lots are sorted along a Hilbert curve of their bounding-box centres
   (:meth:`geopandas.GeoSeries.hilbert_distance`, level 16 over the lots' total bounds) and cut into
   ``npartitions`` contiguous, equal-count chunks with :func:`dask_geopandas.from_geopandas`
   (``sort=False`` keeps the Hilbert order): each partition is a compact patch of the city. Every lot lies
   in exactly one partition; lots without geometry go first (Hilbert distance 0).
2. **Context.** The context prepared once by :func:`quitogeo.pipeline.prepare` (zone layers, the road
   network with its dead-end analysis done on the *whole* network, rules, scenario) is sent to every worker
   once (``Client.scatter(..., broadcast=True)``).
3. **Clipping with a halo.** Inside each task the zone layers and the road buffers are restricted to the
   features whose bounding box meets the partition's lot bounds grown by a halo; the others are *masked*
   (their geometry set to None) rather than dropped, so feature positions — hence default labels
   (``"ZUAE 3"``) and tie-breaks by feature order — are exactly those of the whole layer. Halo per stage
   (metres):

   * PIT, AIVA, ZUAE, plans, risk, administraciones zonales, official influence areas, PUOS: **0** — a
     polygon that overlaps a lot meets the lot's bounding box, so it meets the partition's bounds;
   * frontage: **0** on the road *buffers*, which already extend ``ancho/2 + frente_tolerancia_m`` from the
     centreline (equivalently a halo of ``max(ancho)/2 + tolerance`` on the centrelines);
   * stations: **not clipped** — the nearest station of a lot may be anywhere; were only the radius test
     needed, the halo would be ``max(radio_metro_m, radio_cet_m)``.

   A safety margin of :data:`HALO_MARGIN_M` is added to every clip, so rounding in the bounds never drops a
   feature. Because masking never changes which features *could* match, the result is identical to the
   local backend lot by lot (``tests/test_dask_parity.py``).
4. **Gather.** Each task returns its lots' columns (aligned to their original index) and per-stage seconds;
   the driver concatenates them in partition order and restores the input order.

On one machine the default cluster is a ``LocalCluster`` of one worker with one thread per core and no
process boundary (``processes=False``): GEOS releases the GIL, so threads overlap the geometric work without
pickling the lots; process workers pickle every partition and the context. The partitioning cost (Hilbert
sort, split, cluster start, scatter) is recorded in ``timings`` as ``dask_particion`` and ``dask_cluster``.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from quitogeo.backends.chunks import (
    HALO_MARGIN_M,
    UNCLIPPED_LAYERS,
    assemble,
    clip_context,
    hilbert_order,
    process_partition,
)
from quitogeo.errors import QuitogeoError

if TYPE_CHECKING:  # the pipeline imports this module lazily; these are for annotations only
    from quitogeo.pipeline import Context

#: Lots per partition aimed at when ``npartitions`` is not given (at least two partitions per thread).
TARGET_LOTS_PER_PARTITION: int = 125_000

# ---------------------------------------------------------------------------------------------- partitions


def default_npartitions(n_lots: int, *, threads: int) -> int:
    """Choose the number of partitions for ``n_lots`` lots on ``threads`` threads.

    At least two per thread, about :data:`TARGET_LOTS_PER_PARTITION` lots each, never more than ``n_lots``.
    """
    want = max(2 * max(threads, 1), math.ceil(n_lots / TARGET_LOTS_PER_PARTITION))
    return max(1, min(want, n_lots))


def partition_lots(lots: gpd.GeoDataFrame, npartitions: int) -> tuple[Any, npt.NDArray[np.intp]]:
    """Hilbert-sorted spatial partitions of ``lots`` as a dask-geopandas GeoDataFrame.

    Parameters
    ----------
    lots : GeoDataFrame
        The lots (their index is kept).
    npartitions : int
        Number of partitions wanted (fewer only when there are fewer lots).

    Returns
    -------
    ddf : dask_geopandas.GeoDataFrame
        Contiguous chunks of the Hilbert-sorted lots, in curve order.
    order : numpy.ndarray of int
        The Hilbert permutation (``lots.iloc[order]`` is the concatenation of the partitions).
    """
    import dask_geopandas

    order = hilbert_order(lots)
    ddf = dask_geopandas.from_geopandas(lots.iloc[order], npartitions=max(1, npartitions), sort=False)
    return ddf, order


# ----------------------------------------------------------------------------------------------- cluster


def get_client(scheduler: str | None = None) -> tuple[Any, Any]:
    """Connect a ``dask.distributed`` client: to ``scheduler`` when given, else to a new local cluster.

    Without ``scheduler``, dask's ``scheduler-address`` setting (environment variable
    ``DASK_SCHEDULER_ADDRESS``)
    is used when set.

    Returns
    -------
    client : distributed.Client
    cluster : distributed.LocalCluster or None
        The cluster created here (to close it afterwards), None when connected to ``scheduler``.

    Raises
    ------
    QuitogeoError
        When the scheduler cannot be reached.
    """
    import dask
    from distributed import Client, LocalCluster

    # dask's own setting (DASK_SCHEDULER_ADDRESS or the dask config file) names a cluster when no address
    # is given
    scheduler = scheduler or dask.config.get("scheduler-address", None)
    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError) as exc:
            raise QuitogeoError(
                f"no se pudo conectar con el scheduler dask {scheduler!r} ({exc}); revise la dirección "
                "(p. ej. tcp://host:8786) o ejecute sin --scheduler para usar un clúster local"
            ) from exc
    threads = os.cpu_count() or 1
    cluster = LocalCluster(n_workers=1, threads_per_worker=threads, processes=False, dashboard_address=":0")
    return Client(cluster), cluster


def process(
    lots: gpd.GeoDataFrame,
    ctx: Context,
    *,
    progress: bool = False,
    timings: dict[str, float] | None = None,
    scheduler: str | None = None,
    client: Any = None,
    npartitions: int | None = None,
    halo: float = HALO_MARGIN_M,
    clip: bool = True,
) -> pd.DataFrame:
    """Run every stage on ``lots`` partitioned spatially on a dask cluster; same result as the local backend.

    Parameters
    ----------
    lots : GeoDataFrame
        Lots in TM-Quito with ``clave_catastral``.
    ctx : Context
        From :func:`quitogeo.pipeline.prepare`.
    progress : bool, optional
        Show a bar over the partitions.
    timings : dict, optional
        Filled with ``dask_particion`` and ``dask_cluster`` (wall seconds), ``dask_computo`` (wall seconds
        of the
        distributed work) and every stage's seconds summed over the partitions (CPU-side, they overlap).
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``); a local cluster when None.
    client : distributed.Client, optional
        An existing client (takes precedence over ``scheduler``; not closed here).
    npartitions : int, optional
        Number of partitions (:func:`default_npartitions` when None).
    halo : float, optional
        Clip margin in metres (see the module notes).
    clip : bool, optional
        Clip the layers per partition.

    Returns
    -------
    DataFrame
        Aligned to ``lots.index`` (input order), without geometry: the columns of
        :func:`quitogeo.pipeline.process_lots`.
    """
    import dask

    timings = timings if timings is not None else {}
    t0 = time.perf_counter()
    own_cluster = None
    if client is None:
        client, own_cluster = get_client(scheduler)
    timings["dask_cluster"] = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        threads = sum(client.nthreads().values()) or (os.cpu_count() or 1)
        k = npartitions if npartitions is not None else default_npartitions(len(lots), threads=threads)
        ddf, order = partition_lots(lots, k)
        # the road network built here, once, and shipped with the context (Context.red is built on first
        # use: every partition would build the whole network again)
        ctx_future = client.scatter(replace(ctx, network=ctx.red), broadcast=True, hash=False)
        tasks = [
            dask.delayed(process_partition)(part, ctx_future, halo=halo, clip=clip)
            for part in ddf.to_delayed()
        ]
        timings["dask_particion"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        futures = client.compute(tasks)
        if progress:
            from distributed import as_completed
            from tqdm.auto import tqdm

            for _ in tqdm(
                as_completed(futures), total=len(futures), desc="quitogeo run (dask)", unit="partición"
            ):
                pass
        results = client.gather(futures)
        timings["dask_computo"] = time.perf_counter() - t0
    finally:
        if own_cluster is not None:
            client.close()
            own_cluster.close()
    t0 = time.perf_counter()
    frames = [frame for frame, _ in results]
    for _, part_times in results:
        for name, seconds in part_times.items():
            timings[name] = timings.get(name, 0.0) + seconds
    if sum(len(f) for f in frames) != len(lots):
        from quitogeo.errors import DataIntegrityError

        raise DataIntegrityError(
            f"el backend dask devolvió {sum(len(f) for f in frames)} filas para {len(lots)} predios; no se "
            "escribe nada (informe este error)"
        )
    # partition k holds the lots order[start_k:stop_k] (dask keeps the Hilbert order it was given)
    positions = np.split(order, np.cumsum([len(f) for f in frames])[:-1]) if frames else []
    joined = assemble(frames, positions, lots.index) if frames else pd.DataFrame(index=lots.index[:0])
    timings["dask_reunion"] = time.perf_counter() - t0
    return joined


__all__ = [
    "HALO_MARGIN_M",
    "TARGET_LOTS_PER_PARTITION",
    "UNCLIPPED_LAYERS",
    "clip_context",
    "default_npartitions",
    "get_client",
    "hilbert_order",
    "partition_lots",
    "process",
    "process_partition",
]
