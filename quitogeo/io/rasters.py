"""Raster layers (a DEM, a risk-susceptibility grid) summarised per lot with rasterio.

The raster is warped once onto a TM-Quito grid covering the lots (bilinear for continuous values, nearest for
classes), the lots are burnt into that grid as integer ids, and the statistics come from
``numpy.bincount`` over
the ids: one pass over the cells, no loop per lot. Lots smaller than a cell take the value at a point inside
them, so every lot with a geometry over the raster gets a value.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from pyproj import Transformer
from rasterio.enums import Resampling
from rasterio.features import rasterize
from rasterio.transform import from_origin, rowcol
from rasterio.warp import reproject

from quitogeo.errors import CRSError, LayerError
from quitogeo.io.crs import TM_QUITO, recognise_crs

Stat = Literal["mean", "min", "max", "majority", "slope_mean"]

#: Largest working grid (cells); the resolution is coarsened to stay below it.
MAX_GRID_CELLS = 40_000_000
_M_PER_DEGREE = 111_320.0


def _raster_crs(ds: Any, crs: Any, path: Path) -> Any:
    if crs is not None:
        return recognise_crs(crs)
    if ds.crs is None:
        raise CRSError(f"el ráster {path.name} no tiene sistema de coordenadas; declárelo en [rasters]")
    return recognise_crs(ds.crs.to_wkt())


def _dst_crs() -> rasterio.crs.CRS:
    return rasterio.crs.CRS.from_wkt(TM_QUITO.to_wkt())


def sample_raster(points: gpd.GeoSeries, path: str | Path, *, band: int = 1, crs: Any = None) -> np.ndarray:
    """Read the raster's value under each point (nearest cell, no interpolation).

    Parameters
    ----------
    points : GeoSeries
        Points in TM-Quito (any CRS is accepted and reprojected).
    path : str or Path
        The raster file.
    band : int, optional
        Band to read (1-based).
    crs : optional
        The raster's CRS when the file does not declare it.

    Returns
    -------
    numpy.ndarray of float
        One value per point; NaN for nodata, missing points, or points outside the raster.
    """
    path = Path(path)
    pts = points if points.crs is None else points.to_crs(TM_QUITO)
    geoms = pts.to_numpy()
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    out = np.full(len(geoms), np.nan)
    if not ok.any():
        return out
    xy = shapely.get_coordinates(shapely.centroid(geoms[ok]))
    with rasterio.open(path) as ds:
        src_crs = _raster_crs(ds, crs, path)
        tr = Transformer.from_crs(TM_QUITO, src_crs, always_xy=True)
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        rows, cols = rowcol(ds.transform, np.asarray(x), np.asarray(y))
        rows, cols = np.asarray(rows), np.asarray(cols)
        inside = (rows >= 0) & (rows < ds.height) & (cols >= 0) & (cols < ds.width)
        data = ds.read(band, masked=True)
        vals = np.full(len(rows), np.nan)
        picked = data[rows[inside], cols[inside]]
        vals[inside] = np.ma.filled(picked.astype(float), np.nan)
    out[np.flatnonzero(ok)] = vals
    return out


def _native_resolution_m(ds: Any, src_crs: Any) -> float:
    res = float(min(abs(ds.transform.a), abs(ds.transform.e)))
    return res * _M_PER_DEGREE if src_crs.is_geographic else res


def zonal_stats(
    polygons: gpd.GeoSeries | gpd.GeoDataFrame,
    path: str | Path,
    *,
    stat: Stat = "mean",
    band: int = 1,
    resolution: float | None = None,
    crs: Any = None,
) -> pd.Series:
    """Summarise a raster inside each polygon (lot).

    Parameters
    ----------
    polygons : GeoSeries or GeoDataFrame
        The lots, in TM-Quito (reprojected when in another CRS).
    path : str or Path
        The raster (any CRS rasterio reads; warped to TM-Quito).
    stat : {"mean", "min", "max", "majority", "slope_mean"}, optional
        ``mean``/``min``/``max`` of a continuous raster (e.g. elevation, m); ``majority`` the most frequent
        class of a categorical raster (ties → the smaller class); ``slope_mean`` the mean slope in degrees of
        an elevation raster, computed on the TM-Quito grid (metres both ways).
    band : int, optional
        Band to read (1-based).
    resolution : float, optional
        Cell size of the working grid in metres; default: the raster's native cell size, refined so that a
        median lot holds a few cells, and coarsened to keep the grid below :data:`MAX_GRID_CELLS`.
    crs : optional
        The raster's CRS when the file does not declare it.

    Returns
    -------
    pandas.Series
        Aligned to ``polygons``' index, float; NaN where the lot has no geometry or lies on nodata/outside.

    Raises
    ------
    LayerError
        When ``stat`` is unknown.
    CRSError
        When the raster has no CRS and none is given.
    """
    if stat not in ("mean", "min", "max", "majority", "slope_mean"):
        raise LayerError(f"estadística desconocida {stat!r}; use mean, min, max, majority o slope_mean")
    path = Path(path)
    series = polygons.geometry if isinstance(polygons, gpd.GeoDataFrame) else polygons
    if series.crs is not None:
        series = series.to_crs(TM_QUITO)
    geoms = series.to_numpy()
    result = pd.Series(np.nan, index=series.index, dtype=float)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not ok.any():
        return result
    minx, miny, maxx, maxy = shapely.total_bounds(geoms[ok])
    categorical = stat == "majority"
    with rasterio.open(path) as ds:
        src_crs = _raster_crs(ds, crs, path)
        native = _native_resolution_m(ds, src_crs)
        if resolution is None:
            median_side = float(np.sqrt(np.median(shapely.area(geoms[ok]))))
            resolution = max(1.0, min(native, median_side / 3.0))
        pad = 2.0 * resolution + (native if stat == "slope_mean" else 0.0)
        minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
        cells = (maxx - minx) * (maxy - miny) / resolution**2
        if cells > MAX_GRID_CELLS:
            resolution *= math.sqrt(cells / MAX_GRID_CELLS)
        width = math.ceil((maxx - minx) / resolution)
        height = math.ceil((maxy - miny) / resolution)
        dst_transform = from_origin(minx, maxy, resolution, resolution)
        values = np.full((height, width), np.nan, dtype=np.float64)
        src_nodata = ds.nodatavals[band - 1]
        reproject(
            source=rasterio.band(ds, band),
            destination=values,
            src_crs=rasterio.crs.CRS.from_wkt(src_crs.to_wkt()),
            src_nodata=src_nodata,
            dst_transform=dst_transform,
            dst_crs=_dst_crs(),
            dst_nodata=np.nan,
            resampling=Resampling.nearest if categorical else Resampling.bilinear,
        )

    if stat == "slope_mean":
        dzdy, dzdx = np.gradient(values, resolution)
        values = np.degrees(np.arctan(np.hypot(dzdx, dzdy)))
    ids = np.zeros(len(geoms), dtype=np.int64)
    ids[ok] = np.arange(1, int(ok.sum()) + 1)
    burnt = rasterize(
        zip(geoms[ok], ids[ok].tolist(), strict=True),
        out_shape=(height, width),
        transform=dst_transform,
        fill=0,
        dtype="int32",
    ).ravel()
    flat = values.ravel()
    valid = (burnt > 0) & np.isfinite(flat)
    n = int(ok.sum()) + 1
    lot = burnt[valid]
    val = flat[valid]
    stats = np.full(n, np.nan)
    if categorical:
        cls = np.round(val).astype(np.int64)
        order = np.lexsort((cls, lot))
        lot_s, cls_s = lot[order], cls[order]
        change = np.ones(len(lot_s), dtype=bool)
        change[1:] = (lot_s[1:] != lot_s[:-1]) | (cls_s[1:] != cls_s[:-1])
        starts = np.flatnonzero(change)
        counts = np.diff(np.append(starts, len(lot_s)))
        run_lot, run_cls = lot_s[starts], cls_s[starts]
        best = np.lexsort((run_cls, -counts, run_lot))  # per lot: most cells first, then smaller class
        first = np.ones(len(best), dtype=bool)
        first[1:] = run_lot[best][1:] != run_lot[best][:-1]
        stats[run_lot[best][first]] = run_cls[best][first]
    elif stat in ("mean", "slope_mean"):
        sums = np.bincount(lot, weights=val, minlength=n)
        counts_f = np.bincount(lot, minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            stats = np.where(counts_f > 0, sums / np.maximum(counts_f, 1), np.nan)
    else:
        fill = np.inf if stat == "min" else -np.inf
        stats = np.full(n, fill)
        (np.minimum if stat == "min" else np.maximum).at(stats, lot, val)
        stats[~np.isfinite(stats)] = np.nan
    per_lot = stats[1:]
    # Lots that no cell centre falls in: the value at a point inside the lot.
    empty = np.isnan(per_lot)
    if empty.any():
        inner = shapely.get_coordinates(shapely.point_on_surface(geoms[ok][empty]))
        r, c = rowcol(dst_transform, inner[:, 0], inner[:, 1])
        r, c = np.clip(np.asarray(r), 0, height - 1), np.clip(np.asarray(c), 0, width - 1)
        per_lot[empty] = values[r, c]
    result[result.index[ok]] = per_lot
    return result


__all__ = ["MAX_GRID_CELLS", "sample_raster", "zonal_stats"]
