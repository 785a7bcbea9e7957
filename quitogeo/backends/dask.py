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
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from quitogeo.errors import QuitogeoError

if TYPE_CHECKING:  # the pipeline imports this module lazily; these are for annotations only
    from quitogeo.pipeline import Context

#: Metres added to every clip box so that floating-point rounding of the bounds never drops a feature.
HALO_MARGIN_M: float = 1.0

#: Layers never clipped: the nearest station of a lot may lie in any partition.
UNCLIPPED_LAYERS: tuple[str, ...] = ("estaciones",)

#: Lots per partition aimed at when ``npartitions`` is not given (at least two partitions per thread).
TARGET_LOTS_PER_PARTITION: int = 125_000

# ---------------------------------------------------------------------------------------------- partitions


def hilbert_order(lots: gpd.GeoDataFrame, *, level: int = 16) -> npt.NDArray[np.intp]:
    """Positions of ``lots`` sorted along a Hilbert curve of their bounding-box centres.

    Lots without geometry (None or empty) sort first; ties keep input order (stable sort), so the order is the
    same on every machine.

    Parameters
    ----------
    lots : GeoDataFrame
        The lots.
    level : int, optional
        Hilbert curve level (``2**level`` cells per axis over the lots' total bounds).

    Returns
    -------
    numpy.ndarray of int
        A permutation of ``range(len(lots))``.
    """
    geoms = np.asarray(lots.geometry.array, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    dist = np.zeros(len(lots), dtype=np.int64)
    if (~missing).any():
        present = gpd.GeoSeries(geoms[~missing], crs=lots.crs)
        dist[~missing] = present.hilbert_distance(total_bounds=present.total_bounds, level=level).to_numpy()
    return np.argsort(dist, kind="stable").astype(np.intp)


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


# --------------------------------------------------------------------------------------------- clipping


def _box(bounds: Sequence[float], halo: float) -> shapely.Geometry:
    x0, y0, x1, y1 = bounds
    return shapely.box(x0 - halo, y0 - halo, x1 + halo, y1 + halo)


def _copy(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Make independent GEOS copies (a WKB round trip is lossless).

    Tasks running in threads of one worker must not share geometry objects: GEOS builds a prepared geometry's
    internal index lazily on first use, and not thread-safely.
    """
    out = np.full(len(geoms), None, dtype=object)
    present = ~shapely.is_missing(geoms)
    if present.any():
        out[present] = shapely.from_wkb(shapely.to_wkb(geoms[present]))
    return out


def _mask_outside(geoms: npt.NDArray[np.object_], box: shapely.Geometry | None) -> npt.NDArray[np.object_]:
    """Copy ``geoms``, with None where the bounding box misses ``box`` (positions kept)."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return geoms
    if box is None:
        return _copy(geoms)
    b = shapely.bounds(geoms)
    x0, y0, x1, y1 = shapely.bounds(box)
    with np.errstate(invalid="ignore"):
        keep = (b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1) & (b[:, 3] >= y0)
    out = np.full(len(geoms), None, dtype=object)
    out[keep] = _copy(geoms[keep])
    return out


def clip_context(ctx: Context, bounds: Sequence[float] | None, *, halo: float = HALO_MARGIN_M) -> Context:
    """Restrict the context to a partition whose lots have total ``bounds`` (module notes: halos).

    Features out of reach are masked (geometry None), never dropped, so every join sees the same feature
    positions and labels as on the whole layer.

    Parameters
    ----------
    ctx : Context
        The run's context.
    bounds : sequence of float or None
        ``(minx, miny, maxx, maxy)`` of the partition's lots; None keeps every feature (still copied).
    halo : float, optional
        Margin added around ``bounds`` (m).

    Returns
    -------
    Context
        A shallow copy sharing attributes with ``ctx`` but owning copies of the kept geometries.
    """
    finite = bounds is not None and bool(np.all(np.isfinite(np.asarray(bounds, dtype=np.float64))))
    # no finite bounds (no clipping asked, or a partition of lots without geometry): keep every feature
    box = _box(bounds, halo) if finite and bounds is not None else None
    layers: dict[str, gpd.GeoDataFrame] = {}
    for name, layer in ctx.layers.items():
        if not isinstance(layer, gpd.GeoDataFrame) or len(layer) == 0:
            layers[name] = layer
            continue
        masked = layer.copy(deep=False)
        clip_box = None if name in UNCLIPPED_LAYERS else box
        geom = _mask_outside(np.asarray(layer.geometry.array, dtype=object), clip_box)
        masked[layer.geometry.name] = gpd.GeoSeries(geom, index=layer.index, crs=layer.crs)
        layers[name] = masked
    red = ctx.red
    if red is not None:
        # the buffers already reach ancho/2 + tolerance beyond the centreline: no further halo needed
        red = replace(
            red, buffers=_mask_outside(red.buffers, box), dead_buffers=_mask_outside(red.dead_buffers, box)
        )
    return replace(ctx, layers=layers, red=red)


# ------------------------------------------------------------------------------------------------- tasks


def process_partition(
    lots: gpd.GeoDataFrame, ctx: Context, *, halo: float = HALO_MARGIN_M, clip: bool = True
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Run every stage on one partition (the task each worker executes).

    Parameters
    ----------
    lots : GeoDataFrame
        The partition's lots.
    ctx : Context
        The whole run's context (clipped here to the partition when ``clip``).
    halo : float, optional
        Clip margin (m).
    clip : bool, optional
        Restrict the layers to the partition (else use them whole; the result is the same). Either way the
        task works on its own copies of the geometries.

    Returns
    -------
    columns : DataFrame
        Aligned to ``lots.index``.
    timings : dict of str to float
        Seconds per stage in this task.
    """
    from quitogeo.pipeline import process_lots

    timings: dict[str, float] = {}
    if len(lots) == 0:
        return pd.DataFrame(index=lots.index), timings
    t0 = time.perf_counter()
    local = clip_context(ctx, lots.total_bounds if clip else None, halo=halo)
    timings["recorte"] = time.perf_counter() - t0
    return process_lots(lots, local, timings=timings), timings


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
        ctx_future = client.scatter(ctx, broadcast=True, hash=False)
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
    joined = pd.concat(frames, axis=0) if frames else pd.DataFrame(index=lots.index[:0])
    # partitions whose text categories differ concatenate as object: the local run's categoricals again
    from quitogeo.pipeline import compact_text

    joined = compact_text(joined)
    if len(joined) != len(lots):
        from quitogeo.errors import DataIntegrityError

        raise DataIntegrityError(
            f"el backend dask devolvió {len(joined)} filas para {len(lots)} predios; no se escribe nada "
            "(informe este error)"
        )
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    joined = joined.iloc[inverse]
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
