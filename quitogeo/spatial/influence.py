"""Influence areas of the SITM (Res. 13-2016 Art. 16 c, Anexo 2): Metro and CET kept apart.

The official polygons (layer ``areas_influencia``) are used when given (``influencia_fuente = "capa"``); else
a lot
is in the influence area of a system when it lies within the rules' radius (``influencia.radio_metro_m``,
``influencia.radio_cet_m``) of one of its stations (``influencia_fuente = "buffer"``). The distance test is
exact
(``dwithin`` against the points), so there are no buffer-polygon segment artefacts at the edge. The nearest
station
and its distance are recorded whenever the ``estaciones`` layer is given.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from quitogeo import parallel
from quitogeo.categories import labelled
from quitogeo.rules import Rules
from quitogeo.spatial import LotIndex, feature_labels, lot_index, overlaps

SYSTEMS: tuple[str, ...] = ("metro", "cet")


def _system(layer: gpd.GeoDataFrame) -> np.ndarray:
    return layer["sistema"].astype(str).str.strip().str.casefold().to_numpy(dtype=object)


def join_influence(
    lots: gpd.GeoDataFrame,
    *,
    estaciones: gpd.GeoDataFrame | None,
    areas_influencia: gpd.GeoDataFrame | None,
    rules: Rules,
    index: LotIndex | None = None,
) -> pd.DataFrame:
    """Influence area (Metro, CET or none) of each lot and its nearest station.

    Parameters
    ----------
    lots : GeoDataFrame
        Lots (or a chunk) in TM-Quito.
    estaciones : GeoDataFrame or None
        Points with ``nombre`` and ``sistema`` (``metro``/``cet``).
    areas_influencia : GeoDataFrame or None
        Official polygons with ``sistema``; they take precedence over station radii.
    rules : Rules
        Radii (``[influencia]``) and ``tolerancias.zona_min_overlap_m2`` for the official polygons.
    index : LotIndex, optional
        A spatial index already built for ``lots``.

    Returns
    -------
    DataFrame
        Aligned to ``lots.index``: ``en_influencia_metro``, ``en_influencia_cet`` (boolean, null when neither
        layer is given), ``influencia`` (``metro`` when in a Metro area, even if also in a CET one — the more
        favourable column of Cuadro 1 —, else ``cet`` or ``ninguna``; null without data),
        ``influencia_fuente``
        (``capa``/``buffer``), ``estacion_cercana``, ``estacion_sistema``, ``distancia_estacion_m``.
    """
    idx = lot_index(lots, index)
    n = len(idx)
    out = pd.DataFrame(index=lots.index)
    flags: dict[str, np.ndarray] = {}
    fuente: str | None = None
    if areas_influencia is not None:
        fuente = "capa"
        tol = float(rules["tolerancias"]["zona_min_overlap_m2"])
        ov = overlaps(idx, np.asarray(areas_influencia.geometry.array, dtype=object))
        sistema = _system(areas_influencia)
        keep = ov.above(tol)
        lot, zone = ov.lot, ov.zone
        for name in SYSTEMS:
            hit = np.zeros(n, dtype=bool)
            sel = keep & (sistema[zone] == name)
            hit[lot[sel]] = True
            flags[name] = hit
    elif estaciones is not None:
        fuente = "buffer"
        sistema = _system(estaciones)
        pts = np.asarray(estaciones.geometry.array, dtype=object)
        radius = {
            "metro": float(rules["influencia"]["radio_metro_m"]),
            "cet": float(rules["influencia"]["radio_cet_m"]),
        }
        for name in SYSTEMS:
            hit = np.zeros(n, dtype=bool)
            sel = pts[sistema == name]
            if len(sel) and n:
                _, lot = idx.tree.query(sel, predicate="dwithin", distance=radius[name])
                hit[lot] = True
            flags[name] = hit
    for name in SYSTEMS:
        col = f"en_influencia_{name}"
        if fuente is None:
            out[col] = pd.array([pd.NA] * n, dtype="boolean")
        else:
            out[col] = pd.array(flags[name], dtype="boolean")
    # texts as the run stores them (quitogeo.categories.labelled): per lot a code into a few labels
    if fuente is None:
        out["influencia"] = np.full(n, None, dtype=object)
        out["influencia_fuente"] = np.full(n, None, dtype=object)
    else:
        which = np.where(flags["metro"], 0, np.where(flags["cet"], 1, 2))
        out["influencia"] = labelled(which, np.array(["metro", "cet", "ninguna"], dtype=object))
        out["influencia_fuente"] = labelled(np.zeros(n, dtype=np.intp), np.array([fuente], dtype=object))

    nearest = np.full(n, -1, dtype=np.intp)
    dist = np.full(n, np.nan)
    names = sistemas = np.empty(0, dtype=object)
    if estaciones is not None and len(estaciones) and n:
        pts = np.asarray(estaciones.geometry.array, dtype=object)
        lot, st, d = nearest_station(idx, pts)
        names = feature_labels(estaciones, ("nombre",), "estación")
        sistemas = _system(estaciones)
        nearest[lot] = st
        dist[lot] = d
    out["estacion_cercana"] = labelled(nearest, names)
    out["estacion_sistema"] = labelled(nearest, sistemas)
    out["distancia_estacion_m"] = dist
    return out


def nearest_station(
    idx: LotIndex, stations: npt.NDArray[np.object_]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Nearest station of each lot and its distance: ``STRtree.query_nearest`` of the lots, made cheap.

    A nearest-neighbour search from every lot polygon is dear. Most lots lie well inside one station's
    Voronoi cell, and that station is their nearest (:func:`_voronoi_settled`): one distance per lot. For
    the others, each cell of the lots' quadtree (a
    small box holding a few lots, :func:`quitogeo.spatial.overlaps`) keeps only the stations that can be
    nearest to one of its lots — those no farther from the box than the box's farthest point is from its
    best station (the bound holds for every lot inside the box) — in numpy. Most cells keep one station; the
    exact lot–station distance (GEOS) is computed only for the kept pairs. A lot whose two nearest stations
    are exactly equidistant takes the one ``query_nearest`` itself picks, so the result is the direct
    search's, lot by lot.

    Parameters
    ----------
    idx : LotIndex
        The lots.
    stations : numpy.ndarray
        Station geometries (points; other geometries are searched directly).

    Returns
    -------
    lot, station : numpy.ndarray of int
        Lots with geometry and the position of their nearest station.
    distance : numpy.ndarray of float
        Lot–station distance in m (0 when the station lies in the lot).
    """
    stations = np.asarray(stations, dtype=object)
    stree = shapely.STRtree(stations)
    real = ~shapely.is_missing(stations) & ~shapely.is_empty(stations)
    if not (shapely.get_type_id(stations[real]) == 0).all() or not real.any():
        (lot, st), dist = stree.query_nearest(idx.geoms, return_distance=True, all_matches=False)
        return lot.astype(np.intp), st.astype(np.intp), np.asarray(dist, dtype=np.float64)
    settled, station = _voronoi_settled(idx, stations, real)
    if not settled.any():
        return _nearest_by_bounds(idx, stations, stree, real)
    d = np.asarray(
        parallel.elementwise(shapely.distance, idx.geoms[settled], stations[station[settled]]),
        dtype=np.float64,
    )
    rest = np.flatnonzero(~settled & ~shapely.is_missing(idx.geoms))
    lot, st, dist = np.flatnonzero(settled).astype(np.intp), station[settled], d
    if len(rest):
        geoms = idx.geoms[rest]
        sub = LotIndex(geoms=geoms, area=idx.area[rest], tree=shapely.STRtree(geoms), index=idx.index[rest])
        rl, rs, rd = _nearest_by_bounds(sub, stations, stree, real)
        lot = np.concatenate([lot, rest[rl].astype(np.intp)])
        st, dist = np.concatenate([st, rs]), np.concatenate([dist, rd])
        order = np.argsort(lot, kind="stable")
        lot, st, dist = lot[order], st[order], dist[order]
    return lot, st.astype(np.intp), dist


#: How far (m) inside its station's Voronoi cell a lot must lie to take that station without comparing
#: distances: every other station is then farther from every point of the lot by far more than GEOS's
#: rounding of a distance (the cells themselves are computed to ~1e-9 m), so there are no ties to settle.
VORONOI_MARGIN_M: float = 0.05


def _voronoi_settled(
    idx: LotIndex, stations: npt.NDArray[np.object_], real: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.intp]]:
    """Lots inside one station's Voronoi cell (shrunk by :data:`VORONOI_MARGIN_M`): that is their nearest.

    For a lot inside the cell of station ``s``, every point ``p`` of the lot is nearer ``s`` than any other
    station, so the point of the lot nearest to any other station is farther from it than the lot is from
    ``s``. The cells are matched to the lots with the quadtree of :func:`quitogeo.spatial.overlaps` (a lot
    covered by a cell), so most lots need only their one lot–station distance. Stations sharing a position
    (their nearest is a tie) make every lot go the general way.

    Returns
    -------
    settled : numpy.ndarray of bool
        Lots settled here.
    station : numpy.ndarray of int
        Their nearest station (position in ``stations``; -1 elsewhere).
    """
    n = len(idx)
    station = np.full(n, -1, dtype=np.intp)
    pos = np.flatnonzero(real)
    xy = shapely.get_coordinates(stations[pos])
    if len(pos) < 2 or len(np.unique(xy, axis=0)) < len(pos):
        return station >= 0, station
    b = idx.bounds
    lo = np.nanmin(np.vstack([b[:, :2], xy]), axis=0) - 1.0
    hi = np.nanmax(np.vstack([b[:, 2:], xy]), axis=0) + 1.0
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=shapely.box(*lo, *hi), ordered=True)
    )
    # ``ordered`` gives the cells in the points' order: checked, as every later step relies on it
    if len(cells) != len(pos) or not shapely.contains_xy(cells, xy[:, 0], xy[:, 1]).all():
        return station >= 0, station
    inner = np.asarray(shapely.buffer(cells, -VORONOI_MARGIN_M), dtype=object)
    ov = overlaps(idx, inner, boundary=False)
    covered = ov.exact  # the lots a shrunk cell covers (the cells do not overlap), all the pairs asked for
    station[ov.lot[covered]] = pos[ov.zone[covered]]
    return station >= 0, station


def _nearest_by_bounds(
    idx: LotIndex, stations: npt.NDArray[np.object_], stree: shapely.STRtree, real: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Nearest station of each lot by box bounds per quadtree cell, then per lot (:func:`nearest_station`)."""
    from quitogeo.spatial import _cell_lots, _levels

    levels = _levels(idx)
    env = levels.env[0]
    boxes = shapely.box(*env.T)
    # any station bounds the distance from every lot of the cell: the farthest corner of the box from the
    # station nearest the box's centre; a station nearer to the box than that may be a lot's nearest
    (ci, si) = stree.query_nearest(shapely.centroid(boxes), all_matches=False)
    s_xy = shapely.get_coordinates(stations[si])
    far = np.hypot(
        np.maximum(np.abs(s_xy[:, 0] - env[ci, 0]), np.abs(s_xy[:, 0] - env[ci, 2])),
        np.maximum(np.abs(s_xy[:, 1] - env[ci, 1]), np.abs(s_xy[:, 1] - env[ci, 3])),
    )
    reach = np.full(len(env), np.inf)
    reach[ci] = far * (1 + 1e-9) + 1e-6  # slack for the bound's own rounding
    cell_q, st_q = stree.query(boxes, predicate="dwithin", distance=reach)
    lot_q, st_q = _cell_lots(levels, 0, cell_q.astype(np.intp), st_q.astype(np.intp))
    # the same bounds lot by lot, with the lot's own box (far from the stations a cell keeps several)
    lb = idx.bounds[lot_q]
    sxy = shapely.get_coordinates(stations)[np.cumsum(real) - 1][st_q]  # the point of each kept station
    dx0, dx1 = lb[:, 0] - sxy[:, 0], sxy[:, 0] - lb[:, 2]
    dy0, dy1 = lb[:, 1] - sxy[:, 1], sxy[:, 1] - lb[:, 3]
    near = np.hypot(np.maximum(np.maximum(dx0, dx1), 0.0), np.maximum(np.maximum(dy0, dy1), 0.0))
    upper = np.hypot(np.maximum(-dx0, -dx1), np.maximum(-dy0, -dy1))  # the box's farthest corner
    best = np.full(len(idx), np.inf)
    np.minimum.at(best, lot_q, upper)
    keep = near <= best[lot_q] * (1 + 1e-9) + 1e-6
    lot_q, st_q = lot_q[keep], st_q[keep]
    d = np.asarray(parallel.elementwise(shapely.distance, idx.geoms[lot_q], stations[st_q]), dtype=np.float64)
    order = np.lexsort((d, lot_q))
    lot_q, st_q, d = lot_q[order], st_q[order], d[order]
    first = np.r_[True, lot_q[1:] != lot_q[:-1]]
    tie = np.zeros(len(first), dtype=bool)
    tie[:-1] = first[:-1] & ~first[1:] & (d[1:] == d[:-1])
    lot, st, dist = lot_q[first], st_q[first].astype(np.intp), d[first]
    tied = tie[first]
    if tied.any():
        (ti, ts), td = stree.query_nearest(idx.geoms[lot[tied]], return_distance=True, all_matches=False)
        where = np.flatnonzero(tied)[ti]
        st[where], dist[where] = ts, td
    return lot.astype(np.intp), st, dist


__all__ = ["SYSTEMS", "join_influence", "nearest_station"]
