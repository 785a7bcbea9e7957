"""Spatial chunks of lots: Hilbert order, the context clipped to a chunk with a halo, results put back.

The same stage functions (:func:`quitogeo.pipeline.process_lots`) run on compact patches of the city instead
of on the whole project: the dask backend (:mod:`quitogeo.backends.dask`) sends these chunks to a cluster.
(Running the chunks in a pool of threads on one machine was measured too: at 1 M lots it was no faster than
the whole-project run with its spatial stages side by side — each chunk repeats the clipping and its
results must be put back — so the local backend does not chunk.)

How a chunk sees the layers
---------------------------
The context prepared once by :func:`quitogeo.pipeline.prepare` (zone layers, the road network with its
dead-end analysis done on the *whole* network, rules, scenario) is shared. Each chunk restricts the zone
layers and the road buffers to the features whose bounding box meets the chunk's lot bounds grown by a halo;
the others are *masked* (their geometry set to None) rather than dropped, so feature positions — hence default
labels (``"ZUAE 3"``) and tie-breaks by feature order — are exactly those of the whole layer. Halo per stage
(metres):

* PIT, AIVA, ZUAE, plans, risk, administraciones zonales, official influence areas, PUOS: **0** — a polygon
  that overlaps a lot meets the lot's bounding box, so it meets the chunk's bounds;
* frontage: **0** on the road *buffers*, which already extend ``ancho/2 + frente_tolerancia_m`` from the
  centreline (equivalently a halo of ``max(ancho)/2 + tolerance`` on the centrelines);
* stations: **not clipped** — the nearest station of a lot may be anywhere; were only the radius test
  needed, the halo would be ``max(radio_metro_m, radio_cet_m)``.

A safety margin of :data:`HALO_MARGIN_M` is added to every clip, so rounding in the bounds never drops a
feature. Because masking never changes which features *could* match, the result is identical to the
whole-project run lot by lot (``tests/test_dask_parity.py``, ``tests/test_chunks.py``).

Putting the chunks back together
--------------------------------
Each chunk's text columns are categoricals of the values *it* uses (:func:`quitogeo.pipeline.compact_text`).
:func:`assemble` unites them per column (sorted union of the categories: exactly the categories of the
whole-project run, since every category of a chunk is used) and restores the input order with one take per
column — no per-lot string is ever rebuilt.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

if TYPE_CHECKING:  # the pipeline imports this module lazily; these are for annotations only
    from quitogeo.pipeline import Context

#: Metres added to every clip box so that floating-point rounding of the bounds never drops a feature.
HALO_MARGIN_M: float = 1.0

#: Layers never clipped: the nearest station of a lot may lie in any chunk.
UNCLIPPED_LAYERS: tuple[str, ...] = ("estaciones",)


# ------------------------------------------------------------------------------------------------- order


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
    return replace(ctx, layers=layers, network=red)


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


# ------------------------------------------------------------------------------------------- reassembly


def _chunk_codes(values: pd.Series) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.intp]] | None:
    """Categories and codes of a chunk's text column (None when it is not a text column of a chunk)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = values.cat.categories
        if cats.dtype != np.dtype(object) and not isinstance(cats.dtype, pd.StringDtype):
            return None
        return cats.to_numpy(dtype=object), values.cat.codes.to_numpy().astype(np.intp)
    if values.dtype == np.dtype(object) and not values.notna().any():
        # null throughout this chunk (compact_text leaves such a column object None)
        return np.empty(0, dtype=object), np.full(len(values), -1, dtype=np.intp)
    return None


def assemble(
    frames: Sequence[pd.DataFrame], positions: Sequence[npt.NDArray[np.intp]], index: pd.Index
) -> pd.DataFrame:
    """Put chunk results back into one frame in input order.

    Parameters
    ----------
    frames : sequence of DataFrame
        One per chunk, with the same columns.
    positions : sequence of numpy.ndarray of int
        For each chunk, the input positions of its rows (in its rows' order).
    index : pandas.Index
        The input lots' index.

    Returns
    -------
    DataFrame
        Aligned to ``index``: the frame the whole-project run gives (text columns as categoricals of the
        sorted distinct values, see the module notes).
    """
    from quitogeo.pipeline import compact_text

    n = len(index)
    order = np.concatenate(positions) if positions else np.empty(0, dtype=np.intp)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    columns: dict[Any, Any] = {}
    redo: list[Any] = []
    for col in frames[0].columns:
        parts = [f[col] for f in frames]
        coded = [_chunk_codes(p) for p in parts]
        if any(isinstance(p.dtype, pd.CategoricalDtype) for p in parts) and all(c is not None for c in coded):
            # union of the chunks' (sorted, all used) categories, sorted as compact_text sorts: Python's
            # order of str; each chunk's codes remapped into it and scattered to the chunk's input positions
            every = sorted(set().union(*(c[0].tolist() for c in coded if c is not None)))
            rank = {value: i for i, value in enumerate(every)}
            code_type: type[np.signedinteger[Any]] = np.int32 if len(every) >= 2**15 else np.int16
            codes: npt.NDArray[np.signedinteger[Any]] = np.full(n, -1, dtype=code_type)
            for pos, c in zip(positions, coded, strict=True):
                assert c is not None
                remap = np.array([*(rank[v] for v in c[0].tolist()), -1], dtype=codes.dtype)
                codes[pos] = remap[c[1]]
            own = [p.cat.categories.dtype for p in parts if isinstance(p.dtype, pd.CategoricalDtype)]
            names = np.empty(len(every), dtype=object)
            names[:] = every
            columns[col] = pd.Categorical.from_codes(codes, categories=pd.Index(names, dtype=own[0]))
            continue
        first = parts[0].dtype
        if isinstance(first, np.dtype) and all(p.dtype == first for p in parts):
            values = np.empty(n, dtype=first)
            for pos, p in zip(positions, parts, strict=True):
                values[pos] = p.to_numpy()
            columns[col] = values
            if values.dtype == np.dtype(object):
                redo.append(col)
            continue
        joined = pd.concat(parts, ignore_index=True)  # extension arrays (nullable booleans, integers)
        columns[col] = joined.take(inverse).array
        if joined.dtype == np.dtype(object):
            redo.append(col)
    out = pd.DataFrame(columns, index=index, copy=False)
    if redo:
        # text that is categorical in no chunk but is text (e.g. object in every chunk): as the whole run
        out[redo] = compact_text(out[redo])
    return out


__all__ = [
    "HALO_MARGIN_M",
    "UNCLIPPED_LAYERS",
    "assemble",
    "clip_context",
    "hilbert_order",
    "process_partition",
]
