"""Fronting roads, their widths and continuity (normativa §3, Res. 13-2016 Art. 5 c–e, 13 c–e, 16 d–e).

A lot *fronts* a road when its boundary lies within ``ancho_m / 2 + tolerancias.frente_tolerancia_m`` of the
road's centreline along at least ``tolerancias.frente_min_m`` (our reading of "frentista": a corner touch
does not
count). The distance band is a flat-capped buffer of the centreline, so a lot across a T-junction does not
"front" the side road through the end of its centreline; a lot at the very end of a pasaje fronts it when the
centreline reaches the lot's boundary.

A road is *sin continuidad* where it belongs to a dead-end branch of the street network: the centrelines are
snapped to ``tolerancias.red_vial_precision_m``, noded at every crossing, and nodes of degree 1 are pruned
iteratively; the pieces removed are dead ends. A lot is on a road sin continuidad when it fronts (with the
same
minimum length) a dead-end piece of it. The layer's ``sin_continuidad`` column, where not null, overrides the
topology for the whole road. Network caveat: a network clipped to a study area makes the roads leaving it look
like dead ends; clip with a margin or mark them ``sin_continuidad = false``.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from quitogeo import parallel
from quitogeo.rules import Rules
from quitogeo.spatial import LotIndex, concat_by_lot, feature_labels, lot_index


@dataclass(frozen=True)
class RoadNetwork:
    """The road layer prepared once for every chunk of lots: buffers, widths, labels and dead-end pieces.

    Attributes
    ----------
    ids : numpy.ndarray
        Road ids as text (the layer's ``id``/``id_via``/``codigo`` column, else its row number).
    labels : numpy.ndarray
        Readable names (``nombre``, else ``"vía <id>"``).
    ancho : numpy.ndarray
        Total width in m (NaN when unknown).
    buffers : numpy.ndarray
        Flat-capped buffer of each centreline at ``ancho/2 + tolerance`` (None when the width is unknown: such
        a road is buffered at the tolerance only, so a lot fronting it is still found).
    dead_buffers : numpy.ndarray
        Buffers of the dead-end pieces.
    dead_road : numpy.ndarray
        The road (position) of each dead-end piece.
    sin_continuidad : numpy.ndarray
        Per road: whether any of it is a dead end (after the layer's override).
    """

    ids: npt.NDArray[np.object_]
    labels: npt.NDArray[np.object_]
    ancho: npt.NDArray[np.float64]
    buffers: npt.NDArray[np.object_]
    dead_buffers: npt.NDArray[np.object_]
    dead_road: npt.NDArray[np.intp]
    sin_continuidad: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.ids)


def dead_end_pieces(
    lines: npt.NDArray[np.object_], *, precision: float
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """Split centrelines at their crossings and find the pieces on dead-end branches.

    Parameters
    ----------
    lines : numpy.ndarray
        Road centrelines (LineString/MultiLineString; None is ignored).
    precision : float
        Grid the vertices are snapped to before noding (m).

    Returns
    -------
    pieces : numpy.ndarray
        The noded pieces.
    road : numpy.ndarray of int
        The road each piece lies on.
    dead : numpy.ndarray of bool
        Whether the piece is removed by iterative pruning of degree-1 nodes (a dead-end branch, or an isolated
        road).
    """
    lines = np.asarray(lines, dtype=object)
    valid = ~(shapely.is_missing(lines) | shapely.is_empty(lines))
    if not valid.any():
        return np.empty(0, dtype=object), np.empty(0, dtype=np.intp), np.empty(0, dtype=bool)
    snapped = shapely.set_precision(lines[valid], precision)
    noded = shapely.node(shapely.multilinestrings(shapely.get_parts(snapped)))
    pieces = shapely.get_parts(noded)
    pieces = pieces[shapely.length(pieces) > 0]
    # which road each piece lies on: the road nearest to the piece's midpoint (it lies on it)
    mid = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    road_tree = shapely.STRtree(lines)
    (piece_pos, road_pos) = road_tree.query_nearest(mid, all_matches=False)
    road = np.empty(len(pieces), dtype=np.intp)
    road[piece_pos] = road_pos
    start = shapely.get_coordinates(shapely.get_point(pieces, 0))
    end = shapely.get_coordinates(shapely.get_point(pieces, -1))
    grid = np.round(np.vstack([start, end]) / precision).astype(np.int64)
    _, node = np.unique(grid, axis=0, return_inverse=True)
    node = node.ravel()
    u, v = node[: len(pieces)], node[len(pieces) :]
    alive = np.ones(len(pieces), dtype=bool)
    n_nodes = int(node.max()) + 1
    while True:
        deg = np.bincount(u[alive], minlength=n_nodes) + np.bincount(v[alive], minlength=n_nodes)
        prune = alive & ((deg[u] == 1) | (deg[v] == 1))
        if not prune.any():
            break
        alive &= ~prune
    return pieces, road, ~alive


def road_network(vias: gpd.GeoDataFrame, *, rules: Rules) -> RoadNetwork:
    """Prepare the ``vias`` layer for :func:`join_frontage` (once per run, shared by every chunk).

    Parameters
    ----------
    vias : GeoDataFrame
        Road centrelines with ``ancho_m`` and optional ``nombre``, ``sin_continuidad``.
    rules : Rules
        ``tolerancias.frente_tolerancia_m`` and ``tolerancias.red_vial_precision_m``.

    Returns
    -------
    RoadNetwork
    """
    tol = float(rules["tolerancias"]["frente_tolerancia_m"])
    lines = np.asarray(vias.geometry.array, dtype=object)
    ancho = pd.to_numeric(vias["ancho_m"], errors="coerce").to_numpy(dtype=np.float64)
    ancho = np.where(ancho > 0, ancho, np.nan)
    ids = feature_labels(vias, ("id_via", "id", "codigo"), "").astype(str)
    ids = np.char.strip(ids.astype(str)).astype(object)
    names = feature_labels(vias, ("nombre",), "vía")
    no_name = ~vias["nombre"].notna().to_numpy() if "nombre" in vias.columns else np.ones(len(vias), bool)
    labels = np.where(no_name, np.char.add("vía ", ids.astype(str)).astype(object), names)
    dist = np.where(np.isfinite(ancho), ancho / 2.0, 0.0) + tol
    buffers = shapely.buffer(lines, dist, cap_style="flat", join_style="round")

    pieces, road, dead = dead_end_pieces(lines, precision=float(rules["tolerancias"]["red_vial_precision_m"]))
    if "sin_continuidad" in vias.columns:
        override = vias["sin_continuidad"].astype("boolean")
        forced = override.notna().to_numpy(dtype=bool)
        value = override.fillna(False).to_numpy(dtype=bool)
        dead = np.where(forced[road], value[road], dead)
    else:
        forced = np.zeros(len(vias), dtype=bool)
        value = forced
    dead_pieces = pieces[dead]
    dead_road = road[dead]
    dead_buffers = shapely.buffer(dead_pieces, dist[dead_road], cap_style="flat", join_style="round")
    sin = np.zeros(len(vias), dtype=bool)
    sin[dead_road] = True
    sin = np.where(forced, value, sin)
    return RoadNetwork(
        ids=ids,
        labels=labels,
        ancho=ancho,
        buffers=buffers,
        dead_buffers=dead_buffers,
        dead_road=dead_road,
        sin_continuidad=sin,
    )


def _frontage_pairs(
    idx: LotIndex, buffers: npt.NDArray[np.object_], min_len: float
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """(lot, buffer) pairs where the lot's boundary runs inside the buffer along at least ``min_len``."""
    if len(buffers) == 0 or len(idx) == 0:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty.copy()
    buf_pos, lot_pos = parallel.query(idx.tree, buffers, predicate="intersects", min_chunk=2_000)
    if len(lot_pos) == 0:
        return lot_pos.astype(np.intp), buf_pos.astype(np.intp)

    def inside_length(
        lot_geoms: npt.NDArray[np.object_], bufs: npt.NDArray[np.object_]
    ) -> npt.NDArray[np.float64]:
        # boundary, intersection and length per chunk: GEOS work in threads, no array of all the pieces kept
        return shapely.length(shapely.intersection(shapely.boundary(lot_geoms), bufs))

    length = parallel.elementwise(inside_length, idx.geoms[lot_pos], buffers[buf_pos])
    keep = length >= min_len
    order = np.lexsort((buf_pos[keep], lot_pos[keep]))
    return lot_pos[keep][order].astype(np.intp), buf_pos[keep][order].astype(np.intp)


def join_frontage(
    lots: gpd.GeoDataFrame, red: RoadNetwork, *, rules: Rules, index: LotIndex | None = None
) -> pd.DataFrame:
    """Roads each lot fronts, the narrowest width and whether any is sin continuidad.

    Parameters
    ----------
    lots : GeoDataFrame
        Lots (or a chunk) in TM-Quito.
    red : RoadNetwork
        From :func:`road_network`.
    rules : Rules
        ``tolerancias.frente_min_m``.
    index : LotIndex, optional
        A spatial index already built for ``lots``.

    Returns
    -------
    DataFrame
        Aligned to ``lots.index``: ``n_vias_frente`` (Int64), ``vias_frente_ids``, ``vias_frente_nombres``,
        ``vias_frente_anchos`` (``"; "``-separated text, narrowest first), ``min_ancho_frente_m`` (NaN when no
        frontage), ``via_mas_angosta`` (name of the narrowest fronting road), ``ancho_desconocido`` (a
        fronting
        road has no width), ``frente_sin_continuidad`` (boolean) and ``vias_sin_continuidad`` (names).
    """
    idx = lot_index(lots, index)
    n = len(idx)
    min_len = float(rules["tolerancias"]["frente_min_m"])
    lot, road = _frontage_pairs(idx, red.buffers, min_len)
    width = red.ancho[road]
    # narrowest first; unknown widths last; ties by road position
    order = np.lexsort((road, np.where(np.isfinite(width), width, np.inf), lot))
    lot_o, road_o = lot[order], road[order]
    out = pd.DataFrame(index=lots.index)
    count = np.bincount(lot, minlength=n)
    out["n_vias_frente"] = pd.array(count, dtype="Int64")
    out["vias_frente_ids"] = concat_by_lot(lot_o, red.ids[road_o], n)
    out["vias_frente_nombres"] = concat_by_lot(lot_o, red.labels[road_o], n)
    anchos_txt = np.where(
        np.isfinite(red.ancho), pd.Series(red.ancho).map("{:g}".format).to_numpy(dtype=object), "?"
    )
    out["vias_frente_anchos"] = concat_by_lot(lot_o, anchos_txt[road_o], n)
    min_w = np.full(n, np.inf)
    fin = np.isfinite(width)
    np.minimum.at(min_w, lot[fin], width[fin])
    min_w[~np.isfinite(min_w)] = np.nan
    out["min_ancho_frente_m"] = min_w
    first = np.ones(len(lot_o), dtype=bool)
    first[1:] = lot_o[1:] != lot_o[:-1]
    narrowest = np.full(n, None, dtype=object)
    narrowest[lot_o[first]] = red.labels[road_o[first]]
    out["via_mas_angosta"] = narrowest
    unknown = np.zeros(n, dtype=bool)
    unknown[lot[~fin]] = True
    out["ancho_desconocido"] = unknown

    # continuity: the lot fronts a dead-end piece (of a road it fronts)
    dlot, dpiece = _frontage_pairs(idx, red.dead_buffers, min_len)
    droad = red.dead_road[dpiece]
    # a road forced sin continuidad by the layer counts even if its pieces are not all dead
    forced_lot = lot[red.sin_continuidad[road]]
    forced_road = road[red.sin_continuidad[road]]
    all_lot = np.concatenate([dlot, forced_lot])
    all_road = np.concatenate([droad, forced_road])
    if len(all_lot):
        pairs = np.unique(np.stack([all_lot, all_road], axis=1), axis=0)
        # keep only roads the lot actually fronts (a dead piece's band may reach a lot the road's band
        # does not, e.g. around a bend)
        key_all = pairs[:, 0].astype(np.int64) * max(len(red), 1) + pairs[:, 1]
        key_front = lot.astype(np.int64) * max(len(red), 1) + road
        pairs = pairs[np.isin(key_all, key_front)]
        sin_lot, sin_road = pairs[:, 0], pairs[:, 1]
    else:
        sin_lot = sin_road = np.empty(0, dtype=np.intp)
    flag = np.zeros(n, dtype=bool)
    flag[sin_lot] = True
    out["frente_sin_continuidad"] = pd.array(flag, dtype="boolean")
    out["vias_sin_continuidad"] = concat_by_lot(sin_lot, red.labels[sin_road], n)
    return out


def empty_frontage(lots: gpd.GeoDataFrame) -> pd.DataFrame:
    """Frontage columns when the ``vias`` layer is absent: every value null ("sin dato")."""
    n = len(lots)
    out = pd.DataFrame(index=lots.index)
    out["n_vias_frente"] = pd.array([pd.NA] * n, dtype="Int64")
    for col in ("vias_frente_ids", "vias_frente_nombres", "vias_frente_anchos"):
        out[col] = np.full(n, None, dtype=object)
    out["min_ancho_frente_m"] = np.full(n, np.nan)
    out["via_mas_angosta"] = np.full(n, None, dtype=object)
    out["ancho_desconocido"] = np.zeros(n, dtype=bool)
    out["frente_sin_continuidad"] = pd.array([pd.NA] * n, dtype="boolean")
    out["vias_sin_continuidad"] = np.full(n, None, dtype=object)
    return out


__all__ = ["RoadNetwork", "dead_end_pieces", "empty_frontage", "join_frontage", "road_network"]
