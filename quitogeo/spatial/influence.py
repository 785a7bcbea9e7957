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
        sub = LotIndex(geoms=geoms, area=idx.area[rest], index=idx.index[rest])
        rl, rs, rd = _nearest_by_bounds(sub, stations, stree, real)
        lot = np.concatenate([lot, rest[rl].astype(np.intp)])
        st, dist = np.concatenate([st, rs]), np.concatenate([dist, rd])
        order = np.argsort(lot, kind="stable")
        lot, st, dist = lot[order], st[order], dist[order]
    return lot, st.astype(np.intp), dist


#: How far (m) inside its station's Voronoi cell a lot must lie to take that station without comparing
#: distances: every other station is then farther from every point of the lot by far more than GEOS's
#: rounding of a distance (the bisectors are tested in numpy from the stations' own coordinates, to ~1e-9 m),
#: so there are no ties to settle.
VORONOI_MARGIN_M: float = 0.05

#: Steps of the walk from cell to neighbouring cell that finds the cell holding a lot's box centre, starting
#: from the station nearest to the centre of the lot's grid box (most lots need none; one that is still
#: walking after these goes the general way).
VORONOI_WALK_STEPS: int = 8

#: Boxes a side of the grid the walk starts from (its station per box found by brute force: 4 096 boxes ×
#: the stations, a few ms).
VORONOI_GRID: int = 64


def _voronoi_neighbours(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.intp] | None:
    """Each station's Voronoi neighbours (its Delaunay edges), a row per station padded with -1.

    None when some station has no edge (a triangulation that cannot be trusted to list every neighbour).
    The stations' positions are distinct (checked by the caller), so each edge end is found by its exact
    coordinates (GEOS copies them).
    """
    edges = shapely.get_parts(shapely.delaunay_triangles(shapely.multipoints(xy), only_edges=True))
    ends = shapely.get_coordinates(edges)
    if len(ends) != 2 * len(edges) or len(edges) < len(xy) - 1:
        return None
    key = xy[:, 0] + 1j * xy[:, 1]  # complex numbers sort by real, then imaginary part: a 2-D lookup
    order = np.argsort(key)
    at = np.searchsorted(key[order], ends[:, 0] + 1j * ends[:, 1])
    at = np.minimum(at, len(xy) - 1)
    who = order[at]
    if not np.array_equal(xy[who], ends):
        return None
    a, b = who[0::2], who[1::2]
    a, b = np.concatenate([a, b]), np.concatenate([b, a])  # both directions
    deg = np.bincount(a, minlength=len(xy))
    if (deg == 0).any():
        return None
    sort = np.lexsort((b, a))
    a, b = a[sort], b[sort]
    slot = np.arange(len(a)) - (np.cumsum(deg) - deg)[a]
    table = np.full((len(xy), int(deg.max())), -1, dtype=np.intp)
    table[a, slot] = b
    return table


def _voronoi_settled(
    idx: LotIndex, stations: npt.NDArray[np.object_], real: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.intp]]:
    """Lots inside one station's Voronoi cell (shrunk by :data:`VORONOI_MARGIN_M`): that is their nearest.

    For a lot inside the cell of station ``s``, every point ``p`` of the lot is nearer ``s`` than any other
    station, so the point of the lot nearest to any other station is farther from it than the lot is from
    ``s``. The cell of ``s`` is the intersection of the half-planes bounded by the bisectors between ``s``
    and its Voronoi neighbours (its Delaunay edges): a lot is tested against those half-planes in numpy,
    by its bounding box first and, where the box crosses a bisector, by its vertices (a polygon lies in the
    convex hull of its vertices, and the shrunk cell is convex). Each lot's station is found by a walk over
    the cells: it starts at the station nearest to the centre of the lot's box in a coarse grid, and moves
    across the bisector the lot's centre lies farthest beyond, until the centre is in the cell. So most lots
    need only their one lot–station distance, with no GEOS predicate. Stations sharing a position (their
    nearest is a tie) make every lot go the general way.

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
    table = _voronoi_neighbours(xy)
    if table is None:
        return station >= 0, station
    sx, sy = xy[:, 0], xy[:, 1]
    # per (station, neighbour slot): the unit vector towards the neighbour and half their distance; a padded
    # slot gets a half-plane every point is inside (0·p − ∞)
    has = table >= 0
    nb = np.where(has, table, 0)
    ux, uy = sx[nb] - sx[:, None], sy[nb] - sy[:, None]
    length = np.hypot(ux, uy)
    length = np.where(has, length, 1.0)
    ux, uy = np.where(has, ux / length, 0.0), np.where(has, uy / length, 0.0)
    half = np.where(has, length / 2.0, np.inf)
    aux, auy = np.abs(ux), np.abs(uy)
    b = idx.bounds
    lots = np.flatnonzero(np.isfinite(b).all(axis=1))
    bl = b[lots]
    cx, cy = (bl[:, 0] + bl[:, 2]) / 2.0, (bl[:, 1] + bl[:, 3]) / 2.0
    hx, hy = (bl[:, 2] - bl[:, 0]) / 2.0, (bl[:, 3] - bl[:, 1]) / 2.0
    # the walk starts at the station nearest to the centre of the lot's grid box
    cand = np.zeros(len(lots), dtype=np.intp)
    if len(lots):
        lo_x, lo_y = cx.min(), cy.min()
        step_x = max((cx.max() - lo_x) / VORONOI_GRID, 1e-6)
        step_y = max((cy.max() - lo_y) / VORONOI_GRID, 1e-6)
        centre = np.arange(VORONOI_GRID) + 0.5
        gx, gy = lo_x + centre * step_x, lo_y + centre * step_y
        near = np.argmin(
            (gx[:, None, None] - sx) ** 2 + (gy[None, :, None] - sy) ** 2, axis=2
        )  # (box x, box y) → station
        ix = np.minimum(((cx - lo_x) / step_x).astype(np.intp), VORONOI_GRID - 1)
        iy = np.minimum(((cy - lo_y) / step_y).astype(np.intp), VORONOI_GRID - 1)
        cand = near[ix, iy]
    settled = np.zeros(len(lots), dtype=bool)
    crossing = np.zeros(len(lots), dtype=bool)  # centre in the cell, box across a bisector
    # contiguous columns per neighbour slot: a slot's values for many lots are one 1-D gather
    ux_s, uy_s, half_s = ux.T.copy(), uy.T.copy(), half.T.copy()
    aux_s, auy_s, table_s = aux.T.copy(), auy.T.copy(), table.T.copy()
    deg = has.sum(axis=1)
    todo = np.arange(len(lots))
    for _ in range(VORONOI_WALK_STEPS):
        if len(todo) == 0:
            break
        # lots by their station's number of neighbours, descending: those a slot applies to are a prefix
        todo = todo[np.argsort(-deg[cand[todo]], kind="stable")]
        a = cand[todo]
        upto = np.searchsorted(-deg[a], -np.arange(table.shape[1]), side="left")
        dx, dy = cx[todo] - sx[a], cy[todo] - sy[a]
        ex, ey = hx[todo], hy[todo]
        # the box's farthest corner towards each neighbour, against the bisector shifted by the margin
        box_out = np.zeros(len(todo), dtype=bool)
        for j, m in enumerate(upto.tolist()):
            aj = a[:m]
            reach = dx[:m] * ux_s[j][aj] + dy[:m] * uy_s[j][aj] - half_s[j][aj]
            reach += ex[:m] * aux_s[j][aj] + ey[:m] * auy_s[j][aj]
            box_out[:m] |= reach > -VORONOI_MARGIN_M
        settled[todo[~box_out]] = True
        # the others: the bisector the centre lies farthest beyond (positive: a neighbour is nearer to it)
        out = np.flatnonzero(box_out)
        a, dx, dy = a[out], dx[out], dy[out]
        beyond = np.full(len(out), -np.inf)
        toward = a.copy()
        for j in range(table.shape[1]):
            d = dx * ux_s[j][a] + dy * uy_s[j][a] - half_s[j][a]
            farther = d > beyond
            beyond[farther] = d[farther]
            toward[farther] = table_s[j][a[farther]]
        moves = beyond > 0
        crossing[todo[out[~moves]]] = True
        cand[todo[out[moves]]] = toward[moves]
        todo = todo[out[moves]]
    # a box across a bisector: the lot's own vertices decide
    check = np.flatnonzero(crossing)
    if len(check):
        xy_v, of = shapely.get_coordinates(idx.geoms[lots[check]], return_index=True)
        a = cand[check][of]
        dx, dy = xy_v[:, 0] - sx[a], xy_v[:, 1] - sy[a]
        out_v = np.zeros(len(of), dtype=bool)
        for j in range(table.shape[1]):
            out_v |= dx * ux[a, j] + dy * uy[a, j] - half[a, j] > -VORONOI_MARGIN_M
        settled[check] = np.bincount(of, weights=out_v, minlength=len(check)) == 0
    station[lots[settled]] = pos[cand[settled]]
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
